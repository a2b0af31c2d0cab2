/**
 * The options of the SSE server and the guard, decoded once at startup.
 */
import { CustomProvider, Options } from "@mcpgate/auth-core"
import { ClientAddress, EndpointPolicy, ProtectedResource, RateLimiter, RequestGate, ToolScopes } from "@mcpgate/http"
import type * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { StreamLimitSettings } from "./streamLimits.js"

export const Provider = Schema.declare(CustomProvider.isServiceInput, {
  message: () =>
    "provider must be an mcpgate provider: an APIKeyAuthProvider, a JWTAuthProvider, or an AuthProvider service"
})

const Path = Options.Path

const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n > 0 || `${n} is not a positive whole number`)
)

const PositiveSeconds = Options.Seconds.pipe(
  Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds")
)

const Fn = Schema.declare((value: unknown): value is (...args: Array<never>) => unknown => typeof value === "function", {
  message: () => "must be a function"
})

const isLimiter = (value: unknown): value is RateLimiter.RateLimiter =>
  typeof value === "object" && value !== null &&
  typeof (value as { check?: unknown }).check === "function" &&
  typeof (value as { recordFailure?: unknown }).recordFailure === "function" &&
  "fallback" in value

type RateLimitOption = false | RateLimiter.RateLimiter | typeof RateLimiter.OptionsSchema.Type

/**
 * `rateLimit`: options, a limiter to share (`RateLimiter.make`), or `false` for none. Decoded
 * by hand rather than as a `Union`, so that a bad option is reported once, as the options'
 * own problem, not once per alternative.
 */
export const RateLimit = Schema.transformOrFail(
  Schema.Unknown,
  Schema.declare((_: unknown): _ is RateLimitOption => true, { identifier: "RateLimitOption" }),
  {
    strict: true,
    decode: (input, options, ast): Effect.Effect<RateLimitOption, ParseResult.ParseIssue> => {
      if (input === false || isLimiter(input)) return ParseResult.succeed(input)
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

/** `trustProxy`: addresses, CIDR ranges and the names `loopback`, `linklocal`, `uniquelocal`. */
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

const LoggerOption = Schema.declare(
  (value: unknown): value is Logger.Logger<unknown, unknown> => Logger.isLogger(value),
  { message: () => "logger must be an Effect Logger (Logger.make, Logger.json, ...)" }
)


/** The options of the gate every adapter puts in front of its endpoints. */
export const gateFields = {
  rateLimit: Schema.optional(RateLimit),
  trustProxy: Schema.optional(TrustProxy),
  logger: Schema.optional(LoggerOption),
  gate: Schema.optional(Schema.declare(RequestGate.isRequestGate, { message: () => "gate must be made by NodeHttp.gate" }))
}

/** A gate given whole replaces the options it is made from: both at once are a mistake. */
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
 */
export const gateKnowsResource = (options: {
  readonly gate?: RequestGate.RequestGate | undefined
  readonly protectedResource?: { readonly resource: string } | undefined
}): true | string =>
  options.gate === undefined || options.protectedResource === undefined ||
  options.gate.gate.challenge.resourceMetadata === ProtectedResource.metadataUrlOf(options.protectedResource.resource) ||
  "gate was made without this protectedResource: make it with " +
    "NodeHttp.gate(provider, { protectedResource: ProtectedResource.make(...) })"

/** The metadata paths (RFC 9728) are routes of their own: no endpoint may take one. */
const metadataPathsFree = (
  paths: ReadonlyArray<string | false>,
  protectedResource: { readonly resource: string } | undefined
): true | string => {
  if (protectedResource === undefined) return true
  const metadataPaths = ProtectedResource.metadataPathsOf(protectedResource.resource)
  const taken = paths.find((path) => path !== false && metadataPaths.includes(path))
  return taken === undefined ||
    `${JSON.stringify(taken)} is where the protected-resource metadata is served: give the endpoint another path`
}

// setTimeout takes at most 2^31 - 1 ms.
const MAX_TIMER_SECONDS = 24 * 24 * 60 * 60

/**
 * The caps on open SSE streams (`streamLimits.ts`). Optional here, their defaults applied by
 * `streamLimitsOf`, so that adapters passing them on (`MCPServer`, `McpHttp`) check them at
 * construction with the same words.
 */
export const streamLimitFields = {
  maxStreams: Schema.optional(PositiveInt),
  maxAnonymousStreams: Schema.optional(PositiveInt),
  maxAnonymousStreamsPerClient: Schema.optional(PositiveInt),
  // A timer cannot wait longer (Node fires a longer one at once), and a bound is the point.
  anonymousStreamTimeout: Schema.optional(PositiveSeconds.pipe(
    Schema.filter((seconds) => seconds <= MAX_TIMER_SECONDS || `must be at most ${MAX_TIMER_SECONDS} seconds (24 days)`)
  ))
}

type StreamLimitOptions = {
  readonly [K in keyof typeof streamLimitFields]?: number | undefined
}

const DEFAULT_MAX_STREAMS = 1000
const DEFAULT_MAX_ANONYMOUS_PER_CLIENT = 16
const DEFAULT_ANONYMOUS_TIMEOUT_SECONDS = 60

/**
 * Anonymous streams must leave room under `maxStreams`: the room that a client sending its
 * credential finds whatever an anonymous flood holds.
 */
export const anonymousBelowTotal = (options: StreamLimitOptions): true | string => {
  const { maxAnonymousStreams, maxStreams = DEFAULT_MAX_STREAMS } = options
  return maxAnonymousStreams === undefined || maxAnonymousStreams < maxStreams ||
    `maxAnonymousStreams (${maxAnonymousStreams}) must be below maxStreams (${maxStreams}), ` +
      "so that streams opened with a credential always find room"
}

/** The stream caps with their defaults: 1,000 streams, a quarter of them anonymous, 16 a client, 60 s unclaimed. */
export const streamLimitsOf = (options: StreamLimitOptions): StreamLimitSettings => {
  const maxStreams = options.maxStreams ?? DEFAULT_MAX_STREAMS
  return {
    maxStreams,
    maxAnonymousStreams: options.maxAnonymousStreams ?? Math.floor(maxStreams / 4),
    maxAnonymousStreamsPerClient: options.maxAnonymousStreamsPerClient ?? DEFAULT_MAX_ANONYMOUS_PER_CLIENT,
    anonymousTimeoutMs: (options.anonymousStreamTimeout ?? DEFAULT_ANONYMOUS_TIMEOUT_SECONDS) * 1000
  }
}

/**
 * `maxHeadersCount`: the most header lines a request may carry; one with more is refused
 * with 431 before anything reads its headers. Default 2,000 (`DEFAULT_MAX_HEADERS_COUNT`),
 * Node's documented figure, applied where it is used.
 */
export const headerLimitFields = {
  maxHeadersCount: Schema.optional(PositiveInt)
}

export const AuthOptions = Schema.Struct({
  provider: Provider,
  endpoints: Schema.optionalWith(EndpointPolicy.EndpointPolicySchema, { default: () => EndpointPolicy.defaults })
})

export const SseServerOptions = Schema.Struct({
  auth: AuthOptions,
  onSession: Fn,
  endpoint: Schema.optionalWith(Path, { default: () => "/sse" }),
  messageEndpoint: Schema.optionalWith(Path, { default: () => "/messages" }),
  healthEndpoint: Schema.optionalWith(Schema.Union(Path, Schema.Literal(false)), { default: () => "/health" as const }),
  allowedOrigins: Schema.optional(Schema.Array(Schema.String)),
  allowedHosts: Schema.optional(Schema.Array(Schema.String)),
  maxBodyBytes: Schema.optionalWith(PositiveInt, { default: () => 4 * 1024 * 1024 }),
  maxBufferedBytes: Schema.optionalWith(PositiveInt, { default: () => 8 * 1024 * 1024 }),
  heartbeat: Schema.optionalWith(PositiveSeconds, { default: () => 15 }),
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  requestContext: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  resource: Schema.optional(Options.HttpUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  toolScopes: Schema.optionalWith(ToolScopes.ToolScopesSchema, { default: () => ToolScopes.empty }),
  onError: Schema.optional(Fn),
  ...streamLimitFields,
  ...headerLimitFields,
  ...gateFields
}).pipe(
  Schema.filter(anonymousBelowTotal),
  Schema.filter((options) => {
    const paths = [options.endpoint, options.messageEndpoint, options.healthEndpoint].filter((p) => p !== false)
    return new Set(paths).size === paths.length || "endpoint, messageEndpoint and healthEndpoint must differ"
  }),
  Schema.filter((options) =>
    metadataPathsFree([options.endpoint, options.messageEndpoint, options.healthEndpoint], options.protectedResource)
  ),
  Schema.filter(ProtectedResource.oneResource),
  Schema.filter(oneGateSource),
  Schema.filter(gateKnowsResource)
)

export const GuardOptions = Schema.Struct({
  provider: Provider,
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  requestContext: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  ...headerLimitFields,
  ...gateFields
}).pipe(Schema.filter(oneGateSource))
