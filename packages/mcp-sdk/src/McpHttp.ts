/**
 * The Effect way to serve MCP: a `Layer` that listens on `node:http` with the legacy SSE
 * transport (`/sse` + `/messages`) and Streamable HTTP (`/mcp`), authenticating with the
 * `AuthProvider` in context. Switching providers is switching the Layer provided; the
 * server closes, streams and all, when the Layer's scope ends.
 *
 * @example
 * ```ts
 * import { ApiKey, McpHttp } from "@mcpgate/mcp-sdk"
 * import { Layer } from "effect"
 *
 * const Server = McpHttp.layer({
 *   port: 8080,
 *   register: (server) => server.registerTool("whoami", {}, async (ctx) => ({ content: [] }))
 * }).pipe(Layer.provide(ApiKey.layerConfig())) // or Jwt.layerConfig()
 *
 * Layer.launch(Server).pipe(NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 */
import { AuthProvider, Options } from "@mcpgate/auth-core"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { EndpointPolicy } from "@mcpgate/http"
import { RateLimiter, RateLimitStore } from "@mcpgate/http"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { listen } from "./internal/host.js"
import { McpHttpOptions as OptionsSchema } from "./internal/mcpHttpOptions.js"
import type { StreamLimitOptions } from "./internal/mcpServerTypes.js"
import { DEFAULT_SERVER_INFO, servingHostSettings, sseHostSettings, streamHostSettings } from "./internal/options.js"
import { loadSdk } from "./internal/sdk.js"
import type { ServingOptions, StreamOptions } from "./internal/serving.js"

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface McpHttpOptions extends ServingOptions {
  /** The SDK server's name and version; default `"mcp-server"`, `"1.0.0"`. */
  readonly name?: string
  readonly version?: string
  /** Default 8080; 0 picks a free port. */
  readonly port?: number
  /** Default `"127.0.0.1"`. */
  readonly host?: string
  /** Registers tools (prompts, resources) on each SDK `McpServer` made, with the SDK's own API. */
  readonly register: (server: any) => void
  /**
   * The legacy HTTP+SSE transport (default `/sse`, `/messages`), or `false`; with the caps on
   * its open streams (`maxStreams`, `maxAnonymousStreams`, `maxAnonymousStreamsPerClient`,
   * `anonymousStreamTimeout`).
   */
  readonly sse?: false | (StreamLimitOptions & {
    readonly endpoint?: string
    readonly messageEndpoint?: string
    readonly endpoints?: EndpointPolicy.Options
  })
  /** Streamable HTTP (default `/mcp`), or `false`. */
  readonly stream?: false | (StreamOptions & { readonly endpoint?: string })
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
 * The running server.
 *
 * @since 0.1.0
 */
export interface Service {
  /** The base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: URL
  /** How many sessions are open, on both transports. */
  readonly sessionCount: () => number
}

/**
 * The running server in context.
 *
 * @since 0.1.0
 */
export class McpHttp extends Context.Tag("@mcpgate/mcp-sdk/McpHttp")<McpHttp, Service>() {}

/**
 * The server could not listen (the port is taken, say).
 *
 * @since 0.1.0
 */
export class ListenError extends Data.TaggedError("ListenError")<{ readonly message: string; readonly cause: unknown }> {}

/**
 * The server, closed when its scope ends.
 *
 * @since 0.1.0
 */
export const layer = (
  options: McpHttpOptions
): Layer.Layer<McpHttp, ConfigurationError | ListenError, AuthProvider.AuthProvider> =>
  Layer.scoped(
    McpHttp,
    Effect.gen(function*() {
      const decoded = yield* Options.decode(OptionsSchema, options, "McpHttp")
      const provider = yield* AuthProvider.AuthProvider
      // The gate logs through the app's runtime, so its `Logger` layer applies.
      const runtime = yield* Effect.runtime<never>()
      const sdk = yield* Effect.tryPromise({
        try: () => loadSdk(decoded.sdk),
        catch: (error) => error as ConfigurationError
      })
      // A store in context (`RedisStore.layer`) counts failed attempts unless the options name one.
      const contextStore = yield* Effect.serviceOption(RateLimitStore.RateLimitStore)
      const rateLimit = Option.match(contextStore, {
        onNone: () => decoded.rateLimit,
        onSome: (store) => withStore(decoded.rateLimit, store)
      })
      const host = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () =>
            listen({
              ...servingHostSettings(decoded, {
                allowedOrigins: decoded.allowedOrigins,
                requestContext: false,
                rateLimit,
                runtime,
                onError: options.onError
              }),
              provider,
              createServer: () => {
                const server = new sdk.McpServer({
                  name: decoded.name ?? DEFAULT_SERVER_INFO.name,
                  version: decoded.version ?? DEFAULT_SERVER_INFO.version
                })
                options.register(server)
                return server
              },
              sse: decoded.sse === false ? undefined : sseHostSettings(decoded.sse ?? {}),
              stream: decoded.stream === false ? undefined : streamHostSettings(decoded.stream ?? {})
            }, sdk),
          catch: (error) =>
            (error as { _tag?: unknown })._tag === "ConfigurationError"
              ? error as ConfigurationError
              : new ListenError({ message: `cannot listen: ${(error as Error).message}`, cause: error })
        }),
        (host) => Effect.promise(() => host.close())
      )
      return { url: host.url, sessionCount: host.sessionCount }
    })
  )

/** `rateLimit` options given no store of their own count in `store`; `false` and a limiter stay as they are. */
const withStore = (
  rateLimit: RateLimiter.Options | RateLimiter.RateLimiter | false | undefined,
  store: RateLimitStore.Store
): RateLimiter.Options | RateLimiter.RateLimiter | false => {
  if (rateLimit === false) return false
  if (rateLimit === undefined) return { store }
  if (RateLimiter.isRateLimiter(rateLimit)) return rateLimit
  return rateLimit.store === undefined ? { ...rateLimit, store } : rateLimit
}
