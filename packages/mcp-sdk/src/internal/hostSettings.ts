/**
 * What the host (`host.ts`) serves: the options `MCPServer` or `McpHttp` decoded once, with
 * their defaults applied, never decoded again.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import type { EndpointPolicy, ProtectedResource, ToolScopes } from "@mcpgate/http"
import type { NodeHttp } from "@mcpgate/node"
import type { McpServerLike } from "./sdk.js"

/** The legacy HTTP+SSE transport, as the host serves it. */
export interface SseHostSettings {
  readonly endpoint: string
  readonly messageEndpoint: string
  readonly policy: EndpointPolicy.EndpointPolicy
  /** The caps on open streams (`SseServer`'s options of the same names); undefined: its defaults. */
  readonly maxStreams: number | undefined
  readonly maxAnonymousStreams: number | undefined
  readonly maxAnonymousStreamsPerClient: number | undefined
  readonly anonymousStreamTimeout: number | undefined
}

/** Streamable HTTP, as the host serves it. */
export interface StreamHostSettings {
  readonly endpoint: string
  readonly responseMode: "stream" | "batch"
  readonly stateless: boolean
  readonly sessionIdleTimeout: number
  readonly maxSessionsPerIdentity: number
}

/** What the host serves besides its transports, provider and SDK servers. */
export interface ServingHostSettings {
  readonly port: number
  readonly host: string
  readonly healthEndpoint: string | false
  /** Where the Prometheus metrics are served (public, after the Origin/Host checks), or `false`. */
  readonly metricsEndpoint: string | false
  readonly allowedOrigins: ReadonlyArray<string> | undefined
  readonly allowedHosts: ReadonlyArray<string> | undefined
  readonly exposeToken: boolean
  /** Whether requests run in mcp-framework's request context (`getRequestContext()`). */
  readonly requestContext: boolean
  readonly resource: string | undefined
  /** The protected-resource metadata to serve (RFC 9728); the gate is made with it too. */
  readonly protectedResource: ProtectedResource.ProtectedResource | undefined
  /** The scope policy (`requiredScopes`, tool scopes, hierarchy), checked alike on both transports. */
  readonly toolScopes: ToolScopes.Policy
  /** What the one gate both transports share is made from: one budget per client across them. */
  readonly gate: Omit<NodeHttp.RequestGateOptions, "protectedResource">
  readonly onError: ((error: unknown) => void) | undefined
  /** The most header lines a request may carry (431 past it); undefined: 2,000. */
  readonly maxHeadersCount: number | undefined
  /** How long `close` lets requests in flight finish before cutting their connections. */
  readonly drainMs: number
}

/** What the host serves: options decoded once, by `MCPServer` or `McpHttp`, never again here. */
export interface HostSettings extends ServingHostSettings {
  readonly provider: AuthProvider.Service
  readonly createServer: () => McpServerLike | Promise<McpServerLike>
  readonly sse: SseHostSettings | undefined
  readonly stream: StreamHostSettings | undefined
}
