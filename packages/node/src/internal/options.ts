/**
 * The options of the SSE server and the guard, decoded once at startup. The schemas every
 * server shares (the gate's options, the health path, `Fn`...) are `@mcpgate/http`'s
 * `ServerOptions`; what is here is the SSE server's own: its stream caps and size limits,
 * with their defaults, written once.
 */
import { Options } from "@mcpgate/auth-core"
import { EndpointPolicy, ProtectedResource, ServerOptions } from "@mcpgate/http"
import * as Schema from "effect/Schema"
import type { StreamLimitSettings } from "./streamLimits.js"

export const Provider = ServerOptions.ServiceInputSchema

const { PositiveInt } = Options
const { PositiveSeconds } = ServerOptions

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

/** The largest message body, when none is configured: 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024

/** How much unread output a stream may hold, when none is configured: 8 MiB. */
export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024

/** Seconds between heartbeat comments on a stream, when none is configured. */
export const DEFAULT_HEARTBEAT_SECONDS = 15

export const AuthOptions = Schema.Struct({
  provider: Provider,
  endpoints: Schema.optionalWith(EndpointPolicy.EndpointPolicySchema, { default: () => EndpointPolicy.defaults })
})

export const SseServerOptions = Schema.Struct({
  auth: AuthOptions,
  onSession: ServerOptions.Fn,
  endpoint: Schema.optionalWith(Options.Path, { default: () => "/sse" }),
  messageEndpoint: Schema.optionalWith(Options.Path, { default: () => "/messages" }),
  healthEndpoint: ServerOptions.healthEndpoint,
  allowedOrigins: Schema.optional(Schema.Array(Schema.String)),
  allowedHosts: Schema.optional(Schema.Array(Schema.String)),
  // Their defaults are applied where they are used (`sseServer.ts`), so that settings an
  // adapter writes itself (`SseServer.fromSettings`) get the same ones.
  maxBodyBytes: Schema.optional(PositiveInt),
  maxBufferedBytes: Schema.optional(PositiveInt),
  heartbeat: Schema.optional(PositiveSeconds),
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  requestContext: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  resource: Schema.optional(Options.HttpUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  ...ServerOptions.scopeFields,
  onError: Schema.optional(ServerOptions.Fn),
  ...streamLimitFields,
  ...headerLimitFields,
  ...ServerOptions.gateFields
}).pipe(
  Schema.filter(anonymousBelowTotal),
  Schema.filter((options) => {
    const paths = [options.endpoint, options.messageEndpoint, options.healthEndpoint].filter((p) => p !== false)
    return new Set(paths).size === paths.length || "endpoint, messageEndpoint and healthEndpoint must differ"
  }),
  Schema.filter((options) =>
    ServerOptions.metadataPathsFree([options.endpoint, options.messageEndpoint, options.healthEndpoint], options.protectedResource)
  ),
  Schema.filter(ProtectedResource.oneResource),
  Schema.filter(ServerOptions.scopesKnown),
  Schema.filter(ServerOptions.oneGateSource),
  Schema.filter(ServerOptions.gateKnowsResource)
)

export const GuardOptions = Schema.Struct({
  provider: Provider,
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  requestContext: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  ...headerLimitFields,
  ...ServerOptions.gateFields
}).pipe(Schema.filter(ServerOptions.oneGateSource))
