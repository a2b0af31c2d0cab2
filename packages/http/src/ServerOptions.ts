/**
 * The option schemas every server of mcpgate shares, decoded once at startup: the gate's
 * options (`rateLimit`, `trustProxy`, `logger`, or a `gate` given whole), the public health
 * path, and the small checks built on them. Public on purpose, so that an adapter outside
 * this repository refuses the same mistakes in the same words
 * (docs/behaviour.md#keys-and-tokens: configuration errors surface at startup and name
 * their field). No `node:*` module is imported here.
 *
 * @example
 * ```ts
 * import { ServerOptions } from "@mcpgate/http"
 * import { Options } from "@mcpgate/auth-core"
 * import { Schema } from "effect"
 *
 * const MyServerOptions = Schema.Struct({
 *   endpoint: Schema.optionalWith(Options.Path, { default: () => "/mcp" }),
 *   healthEndpoint: ServerOptions.healthEndpoint,
 *   onError: Schema.optional(ServerOptions.Fn),
 *   ...ServerOptions.gateFields
 * }).pipe(Schema.filter(ServerOptions.oneGateSource))
 * const decoded = Options.decode(MyServerOptions, input, "my server") // Either<..., ConfigurationError>
 * ```
 *
 * @since 0.1.0
 */
import { isProviderInput, isServiceInput } from "@mcpgate/auth-core/CustomProvider"
import { Path, Seconds } from "@mcpgate/auth-core/Options"
import type * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as ClientAddress from "./ClientAddress.js"
import * as EndpointPolicy from "./EndpointPolicy.js"
import * as ProtectedResource from "./ProtectedResource.js"
import * as RateLimiter from "./RateLimiter.js"
import * as RequestGate from "./RequestGate.js"
import * as ScopeHierarchy from "./ScopeHierarchy.js"
import * as ToolScopes from "./ToolScopes.js"

/**
 * The public health path when none is configured.
 *
 * @since 0.1.0
 */
export const DEFAULT_HEALTH_ENDPOINT = "/health"

/**
 * A health path, or `false` for none.
 *
 * @since 0.1.0
 */
export const HealthEndpoint = Schema.Union(Path, Schema.Literal(false))

/**
 * The field `healthEndpoint`: a path, or `false` for none; default `DEFAULT_HEALTH_ENDPOINT`.
 *
 * @since 0.1.0
 */
export const healthEndpoint = Schema.optionalWith(HealthEndpoint, {
  default: (): string | false => DEFAULT_HEALTH_ENDPOINT
})

/**
 * A function, such as `onError` or `onSession`: called later, so only its kind is checked.
 *
 * @since 0.1.0
 */
export const Fn = Schema.declare((value: unknown): value is (...args: Array<never>) => unknown => typeof value === "function", {
  message: () => "must be a function"
})

/**
 * The `provider` option of servers that take mcp-framework-style providers too: ours, an
 * `AuthProvider` service, or an object with `authenticate(req)` (`CustomProvider.isProviderInput`).
 *
 * @since 0.1.0
 */
export const ProviderInputSchema = Schema.declare(isProviderInput, {
  message: () =>
    "provider must be an APIKeyAuthProvider, a JWTAuthProvider, an AuthProvider service, " +
    "or an object with authenticate(req)"
})

/**
 * The `provider` option of the guards that take mcpgate providers only
 * (`CustomProvider.isServiceInput`).
 *
 * @since 0.1.0
 */
export const ServiceInputSchema = Schema.declare(isServiceInput, {
  message: () =>
    "provider must be an mcpgate provider: an APIKeyAuthProvider, a JWTAuthProvider, or an AuthProvider service"
})

/**
 * A duration in seconds (`Options.Seconds`) of more than 0.
 *
 * @since 0.1.0
 */
export const PositiveSeconds = Seconds.pipe(
  Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds")
)

/**
 * What `rateLimit` decodes to.
 *
 * @since 0.1.0
 */
export type RateLimitOption = false | RateLimiter.RateLimiter | typeof RateLimiter.OptionsSchema.Type

/**
 * `rateLimit`: options, a limiter to share (`RateLimiter.make`), or `false` for none. Decoded
 * by hand rather than as a `Union`, so that a bad option is reported once, as the options'
 * own problem, not once per alternative.
 *
 * @since 0.1.0
 */
export const RateLimit = Schema.transformOrFail(
  Schema.Unknown,
  Schema.declare((_: unknown): _ is RateLimitOption => true, { identifier: "RateLimitOption" }),
  {
    strict: true,
    decode: (input, options, ast): Effect.Effect<RateLimitOption, ParseResult.ParseIssue> => {
      if (input === false || RateLimiter.isRateLimiter(input)) return ParseResult.succeed(input)
      if (typeof input !== "object" || input === null) {
        return ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            "must be false, a RateLimiter, or options { maxFailures, window, store, maxClients, onStoreUnavailable }"
          )
        )
      }
      return ParseResult.decodeUnknown(RateLimiter.OptionsSchema)(input, options)
    },
    encode: ParseResult.succeed
  }
)

/**
 * `trustProxy`: addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`.
 *
 * @since 0.1.0
 */
export const TrustProxy = Schema.Array(Schema.String).pipe(
  Schema.filter((entries) => {
    try {
      ClientAddress.trustedProxies(entries)
      return true
    } catch (error) {
      // The message names the option itself; the decoder names it already.
      return (error instanceof Error ? error.message : String(error)).replace(/^trustProxy /, "")
    }
  })
)

/**
 * `logger`: an Effect `Logger`, replacing the default one for the gate's log lines.
 *
 * @since 0.1.0
 */
export const LoggerOption = Schema.declare(
  (value: unknown): value is Logger.Logger<unknown, unknown> => Logger.isLogger(value),
  { message: () => "logger must be an Effect Logger (Logger.make, Logger.json, ...)" }
)

/**
 * The fields of the gate every adapter puts in front of its endpoints: `rateLimit`,
 * `trustProxy`, `logger`, or a `gate` given whole (`RequestGate.isRequestGate`).
 *
 * @since 0.1.0
 */
export const gateFields = {
  rateLimit: Schema.optional(RateLimit),
  trustProxy: Schema.optional(TrustProxy),
  logger: Schema.optional(LoggerOption),
  gate: Schema.optional(Schema.declare(RequestGate.isRequestGate, { message: () => "gate must be made by NodeHttp.gate" }))
}

/**
 * A gate given whole replaces the options it is made from: both at once are a mistake.
 *
 * @since 0.1.0
 */
export const oneGateSource = (options: {
  readonly gate?: unknown
  readonly rateLimit?: unknown
  readonly trustProxy?: unknown
  readonly logger?: unknown
}): true | string =>
  options.gate === undefined ||
  (options.rateLimit === undefined && options.trustProxy === undefined && options.logger === undefined) ||
  "gate already carries rateLimit, trustProxy and logger: give either gate or those options"

/**
 * A gate given whole with `protectedResource` must have been made with it: otherwise its
 * challenges would not name the metadata served, nor its checks hold JWTs to the resource.
 *
 * @since 0.1.0
 */
export const gateKnowsResource = (options: {
  readonly gate?: RequestGate.RequestGate | undefined
  readonly protectedResource?: { readonly resource: string } | undefined
}): true | string =>
  options.gate === undefined || options.protectedResource === undefined ||
  options.gate.gate.challenge.resourceMetadata === ProtectedResource.metadataUrlOf(options.protectedResource.resource) ||
  "gate was made without this protectedResource: make it with " +
    "NodeHttp.gate(provider, { protectedResource: ProtectedResource.unsafeMake(...) })"

/**
 * The metadata paths (RFC 9728) are routes of their own: no endpoint may take one.
 *
 * @since 0.1.0
 */
export const metadataPathsFree = (
  paths: ReadonlyArray<string | false>,
  protectedResource: { readonly resource: string } | undefined
): true | string => {
  if (protectedResource === undefined) return true
  const metadataPaths = ProtectedResource.metadataPathsOf(protectedResource.resource)
  const taken = paths.find((path) => path !== false && metadataPaths.includes(path))
  return taken === undefined ||
    `${JSON.stringify(taken)} is where the protected-resource metadata is served: give the endpoint another path`
}

/**
 * The scope options every server that checks scopes takes, under one name each:
 * `toolScopes` (tool name → scopes), `requiredScopes` (the scopes every request needs) and
 * `scopeHierarchy` (broad scope → the narrower scopes it implies, or `"*"`). Give the
 * decoded options to `scopePolicyOf`, and check them with `scopesKnown`.
 *
 * @since 0.1.0
 */
export const scopeFields = {
  toolScopes: Schema.optional(ToolScopes.ToolScopesSchema),
  requiredScopes: Schema.optional(EndpointPolicy.RequiredScopesSchema),
  scopeHierarchy: Schema.optional(ScopeHierarchy.ScopeHierarchySchema)
}

/**
 * The scope options beyond `toolScopes`, as written by users, documented once for every
 * server that takes them.
 *
 * @since 0.1.0
 */
export interface ScopeOptions {
  /**
   * The scopes every caller needs, whatever it calls: named in every Bearer 401 challenge
   * (`scope`), and a credential without them gets the 403 `insufficient_scope`, which also
   * names the scopes of the tools the request calls (docs/behaviour.md#endpoint-policy).
   * Default none.
   */
  readonly requiredScopes?: ReadonlyArray<string>
  /**
   * Broad scope → the narrower scopes it implies, or `"*"` for every scope, honoured by
   * `requiredScopes` and `toolScopes` alike (`ScopeHierarchy`), e.g.
   * `{ "files:write": ["files:read"], admin: "*" }`. Default none: scopes match exactly.
   */
  readonly scopeHierarchy?: ScopeHierarchy.Options
}

interface DecodedScopes {
  readonly toolScopes?: ToolScopes.ToolScopes | undefined
  readonly requiredScopes?: ReadonlyArray<string> | undefined
  readonly scopeHierarchy?: ScopeHierarchy.ScopeHierarchy | undefined
  readonly protectedResource?: { readonly scopesSupported?: ReadonlyArray<string> | undefined } | undefined
}

/**
 * Every narrower scope of `scopeHierarchy` must be one the server requires (`toolScopes`,
 * `requiredScopes`) or announces (`protectedResource.scopesSupported`), or a broad scope of
 * the hierarchy itself: a name nothing asks for is most likely misspelled.
 *
 * @since 0.1.0
 */
export const scopesKnown = (options: DecodedScopes): true | string => {
  if (options.scopeHierarchy === undefined) return true
  const known = [
    ...[...(options.toolScopes?.values() ?? [])].flat(),
    ...(options.requiredScopes ?? []),
    ...(options.protectedResource?.scopesSupported ?? [])
  ]
  const unknown = ScopeHierarchy.unknownScopes(options.scopeHierarchy, known)
  return unknown.length === 0 ||
    `scopeHierarchy names ${unknown.map((scope) => JSON.stringify(scope)).join(", ")}, which no toolScopes, ` +
      "requiredScopes or protectedResource.scopesSupported names: a misspelling? Name it there, or leave it out"
}

/**
 * The scope policy of decoded options (`ToolScopes.Policy`): what the transports check.
 *
 * @since 0.1.0
 */
export const scopePolicyOf = (options: DecodedScopes): ToolScopes.Policy => ToolScopes.policyOf(options)
