/**
 * The MCP HTTP+SSE transport (protocol 2024-11-05) on `node:http`, authenticated per
 * endpoint as mcp-framework documents it: `GET /sse` opens the event stream (`endpoints.sse`,
 * default `false`), `POST /messages?sessionId=...` carries the JSON-RPC messages
 * (`endpoints.messages`, default `true`). Each session is bound to the first identity that
 * authenticates on it; another identity gets the 403 of docs/behaviour.md#answers, and the
 * stream closes when its owner's credential expires or is revoked. Open streams are capped:
 * those without an owner per client (429) and for the server (503), all of them for the
 * server (503), so that an anonymous flood cannot keep a client that sends its credential
 * out; a stream nobody binds ends after `anonymousStreamTimeout`.
 *
 * Every request is checked in the order of docs/behaviour.md#order-of-checks; every answer
 * comes from `HttpAnswer` in the core.
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider } from "@mcpgate/auth-core"
 * import { SseServer } from "@mcpgate/node"
 * import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
 *
 * const provider = new APIKeyAuthProvider({ keys: [process.env.MCP_API_KEY!] })
 * const running = await SseServer.listen({
 *   port: 8080,
 *   auth: { provider, endpoints: { sse: true, messages: true } },
 *   onSession: async (transport) => {
 *     const server = new McpServer({ name: "example", version: "1.0.0" })
 *     // SDK v1 calls a tool without an input schema with `extra` alone.
 *     server.registerTool("whoami", {}, async (extra) => ({
 *       content: [{ type: "text", text: extra.authInfo?.clientId ?? "anonymous" }]
 *     }))
 *     await server.connect(transport)
 *   }
 * })
 * console.log(`MCP over SSE on ${running.url}`)
 * ```
 *
 * @since 0.1.0
 */
import type { CustomProvider } from "@mcpgate/auth-core"
import { AuthProvider } from "@mcpgate/auth-core"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { EndpointPolicy, ProtectedResource, RateLimiter, RequestGate, ServerOptions } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Logger from "effect/Logger"
import type * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import type * as http from "node:http"
import { createServer, listenOn } from "./internal/nodeHttp.js"
import { build } from "./internal/sseServer.js"
import * as internal from "./internal/sseSettings.js"
import type { SseTransport } from "./SseTransport.js"

export type {
  /**
   * What `fromSettings` builds a server from: options already checked (`decodeSettings`, or
   * an adapter's own decode), the gate and cross-origin policy made; sizes and stream caps
   * left out take the server's defaults (4 MiB bodies, 8 MiB buffered, 15 s heartbeat...).
   *
   * @since 0.1.0
   */
  Settings
} from "./internal/sseSettings.js"
type Settings = internal.Settings

/**
 * The options, as written by users.
 *
 * @since 0.1.0
 */
export interface SseServerOptions extends ServerOptions.ScopeOptions {
  /** The provider, and which endpoints require credentials (`sse: false`, `messages: true`). */
  readonly auth: {
    readonly provider: CustomProvider.ServiceInput
    readonly endpoints?: EndpointPolicy.Options
  }
  /**
   * Called with each new session's transport; connect an MCP server to it. The endpoint
   * event is sent when the SDK starts the transport.
   */
  readonly onSession: (transport: SseTransport) => void | Promise<void>
  /** The stream path; default `"/sse"`. */
  readonly endpoint?: string
  /** The message path; default `"/messages"`. */
  readonly messageEndpoint?: string
  /** The public health path, or `false` for none; default `ServerOptions.DEFAULT_HEALTH_ENDPOINT`. */
  readonly healthEndpoint?: string | false
  /** Exact origins allowed to call the server (`https://app.example.com`); default: any, none granted CORS. */
  readonly allowedOrigins?: ReadonlyArray<string>
  /**
   * Host names the server answers to (any port). Default: on a loopback socket only loopback
   * names (DNS-rebinding protection); set it for a server behind a local reverse proxy.
   */
  readonly allowedHosts?: ReadonlyArray<string>
  /** The largest message body; default 4 MiB. */
  readonly maxBodyBytes?: number
  /**
   * How much unread output a stream may hold before its client is cut off; default 8 MiB.
   * It must exceed the largest single message the server sends.
   */
  readonly maxBufferedBytes?: number
  /** Seconds between heartbeat comments on a stream (a number, "15s", or a Duration); default 15. */
  readonly heartbeat?: number | string
  /** Whether tools see the raw credential in `authInfo.token` and the request headers; default false. */
  readonly exposeToken?: boolean
  /**
   * Whether tools may read the caller with mcp-framework's `getRequestContext()`; default
   * false (true on `MCPServer`). Off, tools read it with `getPrincipal` or the SDK's
   * `authInfo` alone: on Node 20 and 22 the first `AsyncLocalStorage.run` turns on async
   * hooks for the whole process, which costs some 15% of a request (`bench/RESULTS.md`).
   */
  readonly requestContext?: boolean
  /**
   * The server's resource identifier (its canonical URL, RFC 8707), given to tools as
   * `authInfo.resource`; default `protectedResource.resource`.
   */
  readonly resource?: string
  /**
   * The server as an OAuth protected resource (RFC 9728): its metadata is served, without
   * credentials, at `/.well-known/oauth-protected-resource[/<path>]`, every Bearer challenge
   * names it (`resource_metadata`), and a JWT must name `resource` in `aud`.
   */
  readonly protectedResource?: ProtectedResource.Options
  /**
   * Scopes per tool: tool name → the scopes a caller must all hold to call it (JWT `scope`
   * or `scp`, or the API-key entry's `scopes`). A message body with a `tools/call` of such
   * a tool, from a caller without them (anonymous included), is refused whole with 403
   * `insufficient_scope`, after session binding and before anything reaches the session.
   * Tools left out need no scope. Default none.
   */
  readonly toolScopes?: Readonly<Record<string, ReadonlyArray<string>>>
  /**
   * The most streams open at once, with or without an owner; past it a `GET` gets 503 with
   * `Retry-After`. Default 1,000.
   */
  readonly maxStreams?: number
  /**
   * The most streams open at once without an owner (opened without a credential, which
   * `endpoints.sse: false` allows, and not yet bound by a `POST`), all clients together;
   * past it an anonymous `GET` gets 503 with `Retry-After`. It must be below `maxStreams`,
   * so that a client that sends its credential with its `GET` is served whatever an
   * anonymous flood holds. Default a quarter of `maxStreams` (250).
   */
  readonly maxAnonymousStreams?: number
  /**
   * The most streams without an owner open at once from one client (its address, as the
   * failed-attempt limit names it); past it an anonymous `GET` gets 429 with `Retry-After`.
   * Default 16.
   */
  readonly maxAnonymousStreamsPerClient?: number
  /**
   * Seconds a stream may stay without an owner (a number, "1m", or a Duration): it ends then
   * unless a `POST` with a credential has bound it. Default 60. A server that takes messages
   * without credentials (`endpoints.messages: false`) should set it to how long its
   * sessions may last.
   */
  readonly anonymousStreamTimeout?: number | string
  /**
   * The most header lines a request may carry; one with more (or one whose server may have
   * dropped some) is refused with 431 before anything reads its headers, so that a second
   * credential line cannot hide behind padding. Default 2,000; `listen` makes its server
   * read one line more, so that it sees the excess.
   */
  readonly maxHeadersCount?: number
  /** Hears of errors raised while serving (a failing `onSession`, say); never given a secret. */
  readonly onError?: (error: unknown) => void
  /**
   * The failed-attempt limit (docs/behaviour.md#order-of-checks, step 4): options (`maxFailures` 20,
   * `window` 60 s, `store`, `maxClients` 10,000, `onStoreUnavailable` `"memory"`), a
   * `RateLimiter` shared with other servers, or `false` to turn it off.
   */
  readonly rateLimit?: RateLimiter.Options | RateLimiter.RateLimiter | false
  /**
   * Proxies in front of the server whose `X-Forwarded-For` is believed, as addresses, CIDR
   * ranges or `loopback`, `linklocal`, `uniquelocal`. Default none: the client is the socket address.
   */
  readonly trustProxy?: ReadonlyArray<string>
  /** Replaces Effect's default logger for the failure log lines. */
  readonly logger?: Logger.Logger<unknown, unknown>
  /**
   * A gate (`NodeHttp.gate`) for the same provider, shared with other endpoints of the
   * process so that they share one failed-attempt budget; replaces the three options above.
   */
  readonly gate?: RequestGate.RequestGate
}

/**
 * A running SSE transport: a Node request listener plus its sessions.
 *
 * @since 0.1.0
 */
export interface SseServer {
  /** The `node:http` request listener; mount it on any server. */
  readonly handle: (request: http.IncomingMessage, response: http.ServerResponse) => void
  /** How many sessions are open. */
  readonly sessionCount: () => number
  /** Ends every stream and stops watching for key rotations. */
  readonly close: () => Promise<void>
}

/**
 * Decodes the options, once, into the settings `fromSettings` builds from: a
 * `ConfigurationError` naming every problem, else the settings, with the gate made (in
 * `runtime` when given, so an app's `Logger` applies).
 *
 * @since 0.1.0
 */
export const decodeSettings: (
  input: SseServerOptions,
  runtime?: Runtime.Runtime<never>
) => Either.Either<Settings, ConfigurationError> = internal.decodeSettings

/**
 * Builds the transport's request listener from settings, checking nothing again.
 *
 * @since 0.1.0
 */
export const fromSettings = (settings: Settings): SseServer => build(settings)

/**
 * Builds the transport's request listener, as an Effect that fails with a `ConfigurationError`.
 *
 * @since 0.1.0
 */
export const make = (options: SseServerOptions): Either.Either<SseServer, ConfigurationError> =>
  Either.map(decodeSettings(options), fromSettings)

/**
 * The same; throws a `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: SseServerOptions): SseServer => Either.getOrThrowWith(make(options), (error) => error)

/**
 * The server with the provider from context, closed when the scope ends.
 *
 * @since 0.1.0
 */
export const makeScoped = (
  options: Omit<SseServerOptions, "auth"> & { readonly endpoints?: EndpointPolicy.Options }
): Effect.Effect<SseServer, ConfigurationError, AuthProvider.AuthProvider | Scope.Scope> =>
  Effect.gen(function*() {
    const provider = yield* AuthProvider.AuthProvider
    // The gate logs through the caller's runtime, so a `Logger` layer of the app applies.
    const runtime = yield* Effect.runtime<never>()
    const { endpoints, ...rest } = options
    const auth = endpoints === undefined ? { provider } : { provider, endpoints }
    const settings = yield* decodeSettings({ ...rest, auth }, runtime)
    return yield* Effect.acquireRelease(Effect.sync(() => fromSettings(settings)), (server) => Effect.promise(() => server.close()))
  })

/**
 * A transport listening on its own `node:http` server.
 *
 * @since 0.1.0
 */
export interface RunningServer {
  /** The base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: URL
  readonly server: http.Server
  readonly sse: SseServer
  /** Closes every session, then the listening socket. */
  readonly close: () => Promise<void>
}

/**
 * Builds the transport and listens; `host` defaults to `127.0.0.1`, `port` to 8080 (0 picks
 * a free one). The server has short header and request timeouts (`NodeHttp.SERVER_TIMEOUTS`:
 * 10 s for the head, 60 s for a whole request, which open streams outlive) and reads one
 * header line more than `maxHeadersCount`.
 *
 * @since 0.1.0
 */
export const listen = async (
  options: SseServerOptions & { readonly port?: number; readonly host?: string }
): Promise<RunningServer> => {
  const { port = 8080, host = "127.0.0.1", ...rest } = options
  const sse = unsafeMake(rest)
  const server = createServer(sse.handle, { maxHeadersCount: rest.maxHeadersCount })
  // Answer `Expect: 100-continue` requests ourselves, so a refusal (401, 413) goes out
  // before the client sends its body; Node would otherwise send "100 Continue" at once.
  server.on("checkContinue", sse.handle)
  const url = await listenOn(server, port, host)
  return {
    url,
    server,
    sse,
    close: async () => {
      await sse.close()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Idle keep-alive connections, and ones that never sent a request, would hold
      // `close` open until they time out.
      server.closeAllConnections()
      await closed
    }
  }
}
