/**
 * The options of `MCPServer`, as written by users: mcp-framework's shape, with what mcpgate
 * adds. `MCPServer` re-exports them.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import type { EndpointPolicy } from "@mcpgate/http"
import type { SseServer } from "@mcpgate/node"
import type * as Layer from "effect/Layer"
import type { SdkLine } from "./sdk.js"
import type { ServingOptions, StreamOptions } from "./serving.js"

/**
 * mcp-framework's `cors`: `allowOrigin` is an origin, a list of origins, or `"*"`. The
 * allowed methods and headers follow from the transport and the provider.
 *
 * @since 0.1.0
 */
export interface CorsOptions {
  readonly allowOrigin?: string | ReadonlyArray<string>
}

/**
 * A provider: an `APIKeyAuthProvider`, a `JWTAuthProvider`, an `AuthProvider` service, an
 * object of mcp-framework's custom shape, or a Layer of the `AuthProvider` service
 * (`ApiKey.layerConfig()`, say), built when the server starts and released when it stops.
 *
 * @since 0.1.0
 */
export type ProviderOption = ProviderInput | Layer.Layer<AuthProvider.AuthProvider, unknown>

/**
 * What both transports accept besides mcp-framework's options.
 *
 * @since 0.1.0
 */
export interface CommonTransportOptions
  extends Pick<
    ServingOptions,
    | "healthEndpoint"
    | "allowedHosts"
    | "exposeToken"
    | "requestContext"
    | "resource"
    | "protectedResource"
    | "toolScopes"
    | "requiredScopes"
    | "scopeHierarchy"
    | "rateLimit"
    | "trustProxy"
    | "logger"
    | "maxHeadersCount"
  >
{
  /** Default 8080; 0 picks a free port. */
  readonly port?: number
  /** Default `"127.0.0.1"`. */
  readonly host?: string
  /** The origins allowed (mcp-framework's name for `allowedOrigins`). */
  readonly cors?: CorsOptions
  /**
   * Where Effect's metrics (mcpgate's `mcpgate_auth_*` counters and the app's own) are
   * served in the Prometheus text format, e.g. `"/metrics"`; default `false`: not served.
   * The route is public like health (no authentication, no rate limiting); only the
   * `Origin` and `Host` checks apply. Counts of failures by reason tell an attacker how the
   * server is probed: serve it on a loopback or internal port (`host: "127.0.0.1"`), or
   * keep it from the outside at the proxy.
   */
  readonly metricsEndpoint?: string | false
}

/**
 * The legacy HTTP+SSE transport's `auth`: `endpoints.sse` defaults to false and
 * `endpoints.messages` to true, as mcp-framework documents; `endpoints.oauth` is accepted
 * and changes nothing (the protected-resource metadata is public either way).
 *
 * @since 0.1.0
 */
export interface SseAuthOptions {
  readonly provider: ProviderOption
  readonly endpoints?: EndpointPolicy.Options & { readonly oauth?: boolean }
}

/**
 * Streamable HTTP's `auth`. `endpoints` is accepted for migrating code, but Streamable HTTP
 * authenticates every request, `initialize` included, so none of them may be false.
 *
 * @since 0.1.0
 */
export interface HttpStreamAuthOptions {
  readonly provider: ProviderOption
  readonly endpoints?: {
    readonly sse?: true
    readonly messages?: true
    readonly initialize?: true
    readonly oauth?: boolean
  }
}

/**
 * The caps on open streams of the legacy HTTP+SSE transport, as `SseServer` takes them:
 * `maxStreams` (1,000, then 503), `maxAnonymousStreams` (a quarter of it, then 503),
 * `maxAnonymousStreamsPerClient` (16, then 429) and `anonymousStreamTimeout` (60 s).
 *
 * @since 0.1.0
 */
export type StreamLimitOptions = Pick<
  SseServer.SseServerOptions,
  "maxStreams" | "maxAnonymousStreams" | "maxAnonymousStreamsPerClient" | "anonymousStreamTimeout"
>

/**
 * The legacy HTTP+SSE transport: `GET endpoint` opens the stream (default `"/sse"`),
 * `POST messageEndpoint` carries messages (default `"/messages"`).
 *
 * @since 0.1.0
 */
export interface SseTransportOptions extends CommonTransportOptions, StreamLimitOptions {
  readonly endpoint?: string
  readonly messageEndpoint?: string
  readonly auth: SseAuthOptions
}

/**
 * Streamable HTTP at `endpoint` (default `"/mcp"`); every request is authenticated.
 *
 * @since 0.1.0
 */
export interface HttpStreamTransportOptions extends CommonTransportOptions, StreamOptions {
  readonly endpoint?: string
  readonly auth: HttpStreamAuthOptions
}

/**
 * One transport, with `auth` in its `options` or beside them, as mcp-framework accepts. It is
 * required in one of the two places; the constructor refuses a transport without it.
 *
 * @since 0.1.0
 */
export type TransportOptions =
  | {
    readonly type: "sse"
    readonly options?: Omit<SseTransportOptions, "auth"> & { readonly auth?: SseAuthOptions }
    readonly auth?: SseAuthOptions
  }
  | {
    readonly type: "http-stream"
    readonly options?: Omit<HttpStreamTransportOptions, "auth"> & { readonly auth?: HttpStreamAuthOptions }
    readonly auth?: HttpStreamAuthOptions
  }

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface MCPServerOptions {
  /** Default `"mcp-server"`. */
  readonly name?: string
  /** Default `"1.0.0"`. */
  readonly version?: string
  readonly transport: TransportOptions
  /** The SDK line; default v2 when installed, else v1. */
  readonly sdk?: SdkLine
  /** Hears of errors raised while serving; never given a secret. */
  readonly onError?: (error: unknown) => void
}
