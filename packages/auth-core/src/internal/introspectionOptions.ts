/**
 * The introspection provider's options: their schema, and the claim rules they share with the
 * JWT provider. The claim rules are the JWT provider's own (`jwtStandardClaims.ts`,
 * `jwtClaims.ts`), read from a `JwtOptions` decoded from the same fields, so that an
 * introspection answer and a JWT are held to one rule book.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "../ConfigurationError.js"
import { DpopOptionsSchema } from "./dpopOptions.js"
import type { JwtOptions } from "./jwtOptions.js"
import { decodeJwtOptions } from "./jwtOptions.js"
import { configurationError, decodeOptions, HeaderName, HttpUrl, PositiveInt, Realm, Seconds, SecretString, secretMessage } from "./options.js"

const StringOrStrings = Schema.Union(Schema.String, Schema.Array(Schema.String))

/** How the resource server authenticates to the introspection endpoint (RFC 7662 2.1, RFC 6749 2.3.1). */
export const CLIENT_AUTHENTICATION = ["client_secret_basic", "client_secret_post"] as const

/** The fields of one introspection configuration, without the request-reading ones. */
export const IntrospectionFields = {
  /** The introspection endpoint; without it, found by discovery from `issuer`. */
  endpoint: Schema.optional(HttpUrl),
  issuer: Schema.optional(StringOrStrings),
  audience: Schema.optional(StringOrStrings),
  clientId: Schema.String.pipe(Schema.filter((id) => id.length > 0 || "clientId must not be empty")),
  clientSecret: SecretString.annotations(secretMessage("clientSecret must be a string or a Redacted string")),
  clientAuthentication: Schema.optionalWith(Schema.Literal(...CLIENT_AUTHENTICATION), { default: () => "client_secret_basic" as const }),
  clockTolerance: Schema.optionalWith(Seconds, { default: () => 30 }),
  maxTokenAge: Schema.optional(Seconds),
  maxTokenLifetime: Schema.optional(Seconds.pipe(Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds"))),
  requiredClaims: Schema.optional(Schema.Array(Schema.String)),
  /** How long one introspection call may take before the request is answered 503. */
  timeout: Schema.optionalWith(Seconds, { default: () => 5 }),
  /**
   * The cache of answers, by the SHA-256 of the token: `false` turns it off. An active answer
   * is kept for `ttl` (60 s) and never past the token's `exp`; an inactive one for
   * `inactiveTtl` (5 s); at most `maxEntries` (10,000) tokens.
   */
  cache: Schema.optionalWith(
    Schema.Union(
      Schema.Boolean,
      Schema.Struct({
        ttl: Schema.optional(Seconds),
        inactiveTtl: Schema.optional(Seconds),
        maxEntries: Schema.optional(PositiveInt)
      })
    ),
    { default: () => true }
  ),
  /** How long a discovered metadata document is used before it is fetched again. */
  discoveryCacheMaxAge: Schema.optionalWith(Seconds, { default: () => 600 })
}

/** How the provider reads a request and what its challenge says. */
export const RequestFields = {
  headerName: Schema.optionalWith(HeaderName, { default: () => "Authorization" }),
  requireBearer: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  realm: Schema.optionalWith(Realm, { default: () => "mcp" }),
  resourceMetadata: Schema.optional(HttpUrl)
}

export const IntrospectionOptionsSchema = Schema.Struct({
  ...IntrospectionFields,
  ...RequestFields,
  /** DPoP (RFC 9449): an answer's `cnf.jkt` needs a proof (docs/behaviour.md#dpop). */
  dpop: Schema.optional(DpopOptionsSchema)
})

export type IntrospectionOptionsInput = Schema.Schema.Encoded<typeof IntrospectionOptionsSchema>
export type IntrospectionOptions = Schema.Schema.Type<typeof IntrospectionOptionsSchema>

/** The cache's settings in milliseconds, or undefined when it is off. */
export interface CacheSettings {
  readonly ttlMillis: number
  readonly inactiveTtlMillis: number
  readonly maxEntries: number
}

export const cacheSettingsOf = (options: IntrospectionOptions): CacheSettings | undefined => {
  if (options.cache === false) return undefined
  const chosen = options.cache === true ? {} : options.cache
  return {
    ttlMillis: (chosen.ttl ?? 60) * 1000,
    inactiveTtlMillis: (chosen.inactiveTtl ?? 5) * 1000,
    maxEntries: chosen.maxEntries ?? 10_000
  }
}

/** Decoded options, and the JWT provider's claim rules for the same fields. */
export interface ParsedIntrospection {
  readonly options: IntrospectionOptions
  readonly claimRules: JwtOptions
}

/** Decodes the options, synchronously: the Promise API throws from its constructor. */
export const parseIntrospectionOptions = (input: unknown): Either.Either<ParsedIntrospection, ConfigurationError> =>
  Either.flatMap(decodeOptions(IntrospectionOptionsSchema, input, "introspection"), (options) => {
    if (options.endpoint === undefined && typeof options.issuer !== "string") {
      return Either.left(configurationError(
        "Invalid introspection options: give the introspection endpoint as `endpoint`, or one `issuer` to discover it from (RFC 8414)"
      ))
    }
    return Either.map(claimRulesOf(options), (claimRules) => ({ options, claimRules }))
  })

/** The JWT claim rules of these options (issuer, audience, times, required claims). */
export const claimRulesOf = (options: IntrospectionOptions): Either.Either<JwtOptions, ConfigurationError> =>
  Either.mapLeft(
    decodeJwtOptions({
      clockTolerance: options.clockTolerance,
      realm: options.realm,
      headerName: options.headerName,
      requireBearer: options.requireBearer,
      ...(options.issuer === undefined ? {} : { issuer: options.issuer }),
      ...(options.audience === undefined ? {} : { audience: options.audience }),
      ...(options.maxTokenAge === undefined ? {} : { maxTokenAge: options.maxTokenAge }),
      ...(options.maxTokenLifetime === undefined ? {} : { maxTokenLifetime: options.maxTokenLifetime }),
      ...(options.requiredClaims === undefined ? {} : { requiredClaims: options.requiredClaims }),
      ...(options.resourceMetadata === undefined ? {} : { resourceMetadata: options.resourceMetadata }),
      ...(options.dpop === undefined ? {} : { dpop: options.dpop })
    }),
    (error) => configurationError(error.message.replace("Invalid JWT options", "Invalid introspection options"))
  )
