/**
 * mcp-framework's OAuth configuration (`OAuthAuthProvider`, `JWTValidator`,
 * `IntrospectionValidator`), with its option names, read into the options of mcpgate's own
 * providers (`Jwt`, `Introspection`, `Issuers`). Where mcp-framework is weaker than the MCP
 * specification, the specification wins: a token must be addressed to the resource (`aud`,
 * RFC 8707) on introspection too, so `audience` defaults to `resource`, may not name anything
 * else, and may not be mcp-framework's wildcard `"*"` (docs/behaviour.md#introspection).
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { IntrospectionOptionsInput } from "./introspectionOptions.js"
import type { JwtOptionsInput } from "./jwtOptions.js"
import { configurationError, decodeOptions, HeaderName, HttpUrl, Realm, SecretString, secretMessage } from "./options.js"

/** mcp-framework's durations are milliseconds (`cacheTTL: 300000`); kept so its code runs unchanged. */
const Milliseconds = Schema.Number.pipe(
  Schema.filter((ms) => Number.isFinite(ms) && ms >= 0 || `${ms} is not a number of milliseconds (mcp-framework's cacheTTL unit)`)
)

/** mcp-framework's default algorithms for tokens checked against a JWKS. */
export const DEFAULT_ALGORITHMS = ["RS256", "ES256"] as const

const Algorithms = Schema.NonEmptyArray(Schema.String)

/** `validation.introspection` and `IntrospectionValidator`'s configuration. */
const IntrospectionConfigFields = {
  /** Without it, found from the issuer's metadata (RFC 8414). */
  endpoint: Schema.optional(HttpUrl),
  clientId: Schema.String.pipe(Schema.filter((id) => id.length > 0 || "clientId must not be empty")),
  clientSecret: SecretString.annotations(secretMessage("clientSecret must be a string or a Redacted string")),
  /** How long an active answer is kept, in milliseconds (never past the token's `exp`). */
  cacheTTL: Schema.optional(Milliseconds)
}

const JwtValidation = Schema.Struct({
  type: Schema.Literal("jwt"),
  /** Without it, the `jwks_uri` of the issuer's metadata (RFC 8414, else OpenID discovery). */
  jwksUri: Schema.optional(HttpUrl),
  audience: Schema.optional(Schema.String),
  issuer: Schema.optional(Schema.String),
  algorithms: Schema.optional(Algorithms)
})

const IntrospectionValidation = Schema.Struct({
  type: Schema.Literal("introspection"),
  audience: Schema.optional(Schema.String),
  issuer: Schema.optional(Schema.String),
  introspection: Schema.Struct(IntrospectionConfigFields)
})

/** RFC 9728 1.2: a resource identifier has no fragment. */
const Resource = HttpUrl.pipe(
  Schema.filter((url) => !url.includes("#") || `${JSON.stringify(url)} has a fragment, which a resource identifier may not have (RFC 9728 1.2)`)
)

export const OAuthOptionsSchema = Schema.Struct({
  authorizationServers: Schema.NonEmptyArray(HttpUrl),
  resource: Resource,
  validation: Schema.Union(JwtValidation, IntrospectionValidation),
  headerName: Schema.optionalWith(HeaderName, { default: () => "Authorization" }),
  realm: Schema.optionalWith(Realm, { default: () => "mcp" })
})

export type OAuthOptionsInput = Schema.Schema.Encoded<typeof OAuthOptionsSchema>
export type OAuthOptions = Schema.Schema.Type<typeof OAuthOptionsSchema>

export const JwtValidatorSchema = Schema.Struct({
  jwksUri: HttpUrl,
  audience: Schema.String,
  issuer: Schema.String,
  algorithms: Schema.optional(Algorithms),
  /** How long fetched keys are trusted, in milliseconds (mcp-framework's default: 15 minutes). */
  cacheTTL: Schema.optional(Milliseconds),
  // jwks-rsa's knobs in mcp-framework: jose fetches the whole set at most once per cooldown
  // and keeps every key of it, so these are accepted and change nothing.
  rateLimit: Schema.optional(Schema.Boolean),
  cacheMaxEntries: Schema.optional(Schema.Number)
})

export type JwtValidatorInput = Schema.Schema.Encoded<typeof JwtValidatorSchema>

export const IntrospectionValidatorSchema = Schema.Struct({
  ...IntrospectionConfigFields,
  endpoint: HttpUrl,
  /** Required here: mcp-framework did not check `aud` on introspection, the MCP specification does. */
  audience: Schema.String,
  issuer: Schema.optional(Schema.String)
})

export type IntrospectionValidatorInput = Schema.Schema.Encoded<typeof IntrospectionValidatorSchema>

/** The RFC 9728 3.1 metadata URL of a resource: the well-known segment between host and path, the query kept. */
export const metadataUrlOf = (resource: string): string => {
  const url = new URL(resource)
  const path = url.pathname === "/" ? "" : url.pathname
  return `${url.origin}/.well-known/oauth-protected-resource${path}${url.search}`
}

/** The audience a token must name; mcp-framework's `"*"` and a value other than the resource are refused. */
const audienceProblem = (audience: string, resource: string | undefined, where: string): string | undefined => {
  if (audience === "*") {
    return `${where} is "*": the MCP specification requires the server to check that a token was issued for it (RFC 8707); ` +
      (resource === undefined ? "give the resource's identifier" : `leave it out, and tokens must name ${resource}`)
  }
  if (resource !== undefined && audience !== resource) {
    return `${where} (${audience}) is not the resource (${resource}): a token for this server names the resource in aud ` +
      "(RFC 8707, MCP specification); leave validation.audience out or make it the resource"
  }
  return undefined
}

const renamed = (error: ConfigurationError, what: string) =>
  configurationError(error.message.replace(/^Invalid [A-Za-z ]+ options:/, `Invalid ${what} options:`))

/** Which of mcpgate's providers serves an OAuth configuration, with its options. */
export type OAuthPlan =
  | { readonly _tag: "Jwt"; readonly options: JwtOptionsInput }
  | { readonly _tag: "DiscoveredJwt"; readonly issuers: ReadonlyArray<string>; readonly jwt: JwtOptionsInput; readonly shared: Shared }
  | { readonly _tag: "Introspection"; readonly options: IntrospectionOptionsInput }

interface Shared {
  readonly headerName: string
  readonly realm: string
  readonly resourceMetadata: string
}

interface Planned {
  readonly options: OAuthOptions
  readonly plan: OAuthPlan
}

/** Decodes `OAuthAuthProvider`'s options and plans the provider behind it. */
export const planOAuth = (input: unknown): Either.Either<Planned, ConfigurationError> =>
  Either.flatMap(decodeOptions(OAuthOptionsSchema, input, "OAuth"), (options): Either.Either<Planned, ConfigurationError> => {
    const { resource, validation } = options
    const problem = audienceProblem(validation.audience ?? resource, resource, "validation.audience")
    if (problem !== undefined) return Either.left(configurationError(`Invalid OAuth options:\n  - ${problem}`))
    const shared: Shared = { headerName: options.headerName, realm: options.realm, resourceMetadata: metadataUrlOf(resource) }
    // Without an issuer, a token may come from any of the authorization servers announced.
    const issuers: ReadonlyArray<string> = validation.issuer === undefined ? options.authorizationServers : [validation.issuer]
    const issuer = issuers.length === 1 ? issuers[0]! : issuers
    if (validation.type === "jwt") {
      const jwt = { audience: resource, algorithms: validation.algorithms ?? [...DEFAULT_ALGORITHMS] } as JwtOptionsInput
      const plan: OAuthPlan = validation.jwksUri === undefined
        ? { _tag: "DiscoveredJwt", issuers, jwt, shared }
        : { _tag: "Jwt", options: { ...jwt, ...shared, jwksUrl: validation.jwksUri, issuer } as JwtOptionsInput }
      return Either.right({ options, plan })
    }
    const { cacheTTL, clientId, clientSecret, endpoint } = validation.introspection
    const plan: OAuthPlan = {
      _tag: "Introspection",
      options: {
        ...shared,
        ...(endpoint === undefined ? {} : { endpoint }),
        issuer,
        audience: resource,
        clientId,
        clientSecret,
        ...(cacheTTL === undefined ? {} : { cache: { ttl: cacheTTL / 1000 } })
      }
    }
    return Either.right({ options, plan })
  })

/** `JWTValidator`'s configuration as the JWT provider's options. */
export const jwtValidatorOptions = (input: unknown): Either.Either<JwtOptionsInput, ConfigurationError> =>
  Either.flatMap(decodeOptions(JwtValidatorSchema, input, "JWTValidator"), (config) => {
    const problem = audienceProblem(config.audience, undefined, "audience")
    if (problem !== undefined) return Either.left(configurationError(`Invalid JWTValidator options:\n  - ${problem}`))
    return Either.right({
      jwksUrl: config.jwksUri,
      audience: config.audience,
      issuer: config.issuer,
      algorithms: config.algorithms ?? [...DEFAULT_ALGORITHMS],
      jwksCacheMaxAge: (config.cacheTTL ?? 15 * 60 * 1000) / 1000
    } as JwtOptionsInput)
  })

/** `IntrospectionValidator`'s configuration as the introspection provider's options. */
export const introspectionValidatorOptions = (input: unknown): Either.Either<IntrospectionOptionsInput, ConfigurationError> =>
  Either.flatMap(
    Either.mapLeft(decodeOptions(IntrospectionValidatorSchema, input, "IntrospectionValidator"), (error) =>
      // The audience is the one option mcp-framework's users will not have written: say why it is needed.
      /audience/.test(error.message) && /is missing/.test(error.message)
        ? configurationError(
          `${error.message}\n  - audience: the MCP specification requires a resource server to check that a token was issued for it ` +
            "(RFC 8707); mcp-framework did not check aud on introspection. Give the resource's identifier, e.g. \"https://mcp.example.com/mcp\""
        )
        : error),
    (config) => {
      const problem = audienceProblem(config.audience, undefined, "audience")
      if (problem !== undefined) return Either.left(configurationError(`Invalid IntrospectionValidator options:\n  - ${problem}`))
      return Either.right({
        endpoint: config.endpoint,
        audience: config.audience,
        ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
        clientId: config.clientId,
        clientSecret: config.clientSecret,
        ...(config.cacheTTL === undefined ? {} : { cache: { ttl: config.cacheTTL / 1000 } })
      })
    }
  )

/** A provider's option errors, told as the OAuth configuration's. */
export const asOAuthError = renamed
