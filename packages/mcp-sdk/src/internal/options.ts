/**
 * The option schemas `MCPServer`, the `McpHttp` Layer and Streamable HTTP share, and this
 * package's defaults, written once. Options are decoded once, at startup: unknown or
 * misspelled keys are errors (mcp-framework silently ignores them, and a typo in `auth`
 * leaves its server open). What every server of mcpgate shares (the gate's options, the
 * health path, `Fn`...) is `@mcpgate/http`'s `ServerOptions`.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import { Options } from "@mcpgate/auth-core"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { isProviderInput } from "@mcpgate/auth-core/CustomProvider"
import type { ScopeHierarchy, ToolScopes } from "@mcpgate/http"
import { EndpointPolicy, ProtectedResource, ServerOptions } from "@mcpgate/http"
import { NodeHttp } from "@mcpgate/node"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { ServingHostSettings, SseHostSettings, StreamHostSettings } from "./hostSettings.js"

export const Provider = ServerOptions.ProviderInputSchema

/** `MCPServer` also takes a Layer of the `AuthProvider` service, built when it starts. */
export const ProviderOrLayer = Schema.declare(
  (value: unknown): value is ProviderInput | Layer.Layer<AuthProvider.AuthProvider, unknown> =>
    Layer.isLayer(value) || isProviderInput(value),
  {
    message: () =>
      "provider must be an APIKeyAuthProvider, a JWTAuthProvider, an AuthProvider service or Layer, " +
      "or an object with authenticate(req)"
  }
)

export const Port = Schema.Number.pipe(
  Schema.filter((port) => Number.isInteger(port) && port >= 0 && port <= 65535 || `${port} is not a port (0 to 65535)`)
)

export const Host = Schema.String.pipe(Schema.filter((host) => host.length > 0 || "must not be empty"))

/** The SDK server's name and version when none is configured. */
export const DEFAULT_SERVER_INFO = { name: "mcp-server", version: "1.0.0" } as const

/** The paths served when none is configured. */
export const DEFAULT_SSE_ENDPOINT = "/sse"
export const DEFAULT_MESSAGE_ENDPOINT = "/messages"
export const DEFAULT_STREAM_ENDPOINT = "/mcp"

/** Seconds after which a Streamable HTTP session with no request open is closed: 30 minutes. */
export const DEFAULT_SESSION_IDLE_SECONDS = 30 * 60

/**
 * `maxSessionsPerIdentity`: the most Streamable HTTP sessions one identity may hold open.
 * Default 32: a few clients (an IDE, an agent, their restarts) per credential, while 2,000
 * sessions of some 31 KiB each, kept for the idle timeout, are out of reach.
 */
export const DEFAULT_MAX_SESSIONS_PER_IDENTITY = 32

/** Options both transports take beyond mcp-framework's. */
export const common = {
  healthEndpoint: ServerOptions.healthEndpoint,
  metricsEndpoint: Schema.optional(Schema.Union(Options.Path, Schema.Literal(false))),
  allowedHosts: Schema.optional(Schema.Array(Options.HostName)),
  exposeToken: Schema.optional(Schema.Boolean),
  requestContext: Schema.optional(Schema.Boolean),
  resource: Schema.optional(Options.HttpUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  ...ServerOptions.scopeFields,
  rateLimit: ServerOptions.gateFields.rateLimit,
  trustProxy: ServerOptions.gateFields.trustProxy,
  logger: ServerOptions.gateFields.logger,
  ...NodeHttp.headerLimitFields
}

/** How Streamable HTTP keeps sessions and answers, as `MCPServer` and `McpHttp` take it. */
export const streamFields = {
  responseMode: Schema.optional(Schema.Literal("stream", "batch")),
  stateless: Schema.optional(Schema.Boolean),
  sessionIdleTimeout: Schema.optional(ServerOptions.PositiveSeconds),
  maxSessionsPerIdentity: Schema.optional(Options.PositiveInt)
}

/** The first path used twice, for a refusal: one server routes by path, so a repeat hides an endpoint. */
export const repeatedPath = (paths: ReadonlyArray<string | false>): true | string => {
  const served = paths.filter((path): path is string => path !== false)
  const repeated = served.find((path, index) => served.indexOf(path) !== index)
  return repeated === undefined || `${JSON.stringify(repeated)} is used twice: every endpoint needs a path of its own`
}

/** The paths the protected-resource metadata (RFC 9728) is served on, routes like the endpoints. */
export const metadataPaths = (protectedResource: { readonly resource: string } | undefined): ReadonlyArray<string> =>
  protectedResource === undefined ? [] : ProtectedResource.metadataPathsOf(protectedResource.resource)

/** The legacy SSE transport as the host serves it, with this package's default paths. */
export const sseHostSettings = (options: {
  readonly endpoint?: string | undefined
  readonly messageEndpoint?: string | undefined
  readonly endpoints?: EndpointPolicy.EndpointPolicy | undefined
  readonly maxStreams?: number | undefined
  readonly maxAnonymousStreams?: number | undefined
  readonly maxAnonymousStreamsPerClient?: number | undefined
  readonly anonymousStreamTimeout?: number | undefined
}): SseHostSettings => ({
  endpoint: options.endpoint ?? DEFAULT_SSE_ENDPOINT,
  messageEndpoint: options.messageEndpoint ?? DEFAULT_MESSAGE_ENDPOINT,
  policy: options.endpoints ?? EndpointPolicy.defaults,
  // Undefined: `SseServer`'s own defaults.
  maxStreams: options.maxStreams,
  maxAnonymousStreams: options.maxAnonymousStreams,
  maxAnonymousStreamsPerClient: options.maxAnonymousStreamsPerClient,
  anonymousStreamTimeout: options.anonymousStreamTimeout
})

/** Streamable HTTP as the host serves it, with this package's defaults. */
export const streamHostSettings = (options: {
  readonly endpoint?: string | undefined
  readonly responseMode?: "stream" | "batch" | undefined
  readonly stateless?: boolean | undefined
  readonly sessionIdleTimeout?: number | undefined
  readonly maxSessionsPerIdentity?: number | undefined
}): StreamHostSettings => ({
  endpoint: options.endpoint ?? DEFAULT_STREAM_ENDPOINT,
  responseMode: options.responseMode ?? "stream",
  stateless: options.stateless ?? false,
  sessionIdleTimeout: options.sessionIdleTimeout ?? DEFAULT_SESSION_IDLE_SECONDS,
  maxSessionsPerIdentity: options.maxSessionsPerIdentity ?? DEFAULT_MAX_SESSIONS_PER_IDENTITY
})

/** What `MCPServer` and `McpHttp` both decode, and how the host takes it. */
interface Decoded {
  readonly port?: number | undefined
  readonly host?: string | undefined
  readonly healthEndpoint: string | false
  readonly metricsEndpoint?: string | false | undefined
  readonly allowedHosts?: ReadonlyArray<string> | undefined
  readonly exposeToken?: boolean | undefined
  readonly requestContext?: boolean | undefined
  readonly resource?: string | undefined
  readonly protectedResource?: typeof ProtectedResource.OptionsSchema.Type | undefined
  readonly toolScopes?: ToolScopes.ToolScopes | undefined
  readonly requiredScopes?: ReadonlyArray<string> | undefined
  readonly scopeHierarchy?: ScopeHierarchy.ScopeHierarchy | undefined
  readonly trustProxy?: ReadonlyArray<string> | undefined
  readonly logger?: NodeHttp.RequestGateOptions["logger"]
  readonly maxHeadersCount?: number | undefined
}

/** The host's settings but its transports, provider and SDK servers, defaults applied. */
export const servingHostSettings = (decoded: Decoded, serving: {
  readonly allowedOrigins: ReadonlyArray<string> | undefined
  /** `MCPServer` runs requests in mcp-framework's request context by default. */
  readonly requestContext: boolean
  readonly rateLimit: NodeHttp.RequestGateOptions["rateLimit"]
  readonly runtime: NodeHttp.RequestGateOptions["runtime"]
  readonly onError: ((error: unknown) => void) | undefined
}): ServingHostSettings => {
  const protectedResource = decoded.protectedResource === undefined
    ? undefined
    : ProtectedResource.fromDecoded(decoded.protectedResource)
  return {
    port: decoded.port ?? 8080,
    host: decoded.host ?? "127.0.0.1",
    healthEndpoint: decoded.healthEndpoint,
    metricsEndpoint: decoded.metricsEndpoint ?? false,
    allowedOrigins: serving.allowedOrigins,
    allowedHosts: decoded.allowedHosts,
    exposeToken: decoded.exposeToken ?? false,
    requestContext: decoded.requestContext ?? serving.requestContext,
    resource: decoded.resource ?? protectedResource?.resource,
    protectedResource,
    toolScopes: ServerOptions.scopePolicyOf(decoded),
    gate: {
      rateLimit: serving.rateLimit,
      trustProxy: decoded.trustProxy,
      logger: decoded.logger,
      runtime: serving.runtime,
      requiredScopes: decoded.requiredScopes
    },
    onError: serving.onError,
    maxHeadersCount: decoded.maxHeadersCount,
    drainMs: 5000
  }
}
