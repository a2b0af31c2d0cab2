/**
 * The option and server shapes Streamable HTTP, `MCPServer` and the `McpHttp` Layer share,
 * here so that the internal modules read them without importing the public ones;
 * `StreamableHttp` re-exports them.
 */
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import type { ProtectedResource, RateLimiter, ServerOptions } from "@mcpgate/http"
import type { NodeHttp } from "@mcpgate/node"
import type * as Logger from "effect/Logger"
import type * as http from "node:http"
import type { McpServerLike, SdkLine } from "./sdk.js"

/**
 * How Streamable HTTP keeps (or does not keep) sessions and answers `POST`s; shared by
 * `StreamableHttp.make`, `MCPServer` and `McpHttp.layer`.
 *
 * @since 0.1.0
 */
export interface StreamOptions {
  /** No sessions: a fresh server and transport per request. Default false. */
  readonly stateless?: boolean
  /**
   * Seconds after which a session with no request open is closed (clients often leave
   * without `DELETE`); a number, "30m", or a Duration. Default 30 minutes.
   */
  readonly sessionIdleTimeout?: number | string
  /** `"stream"` answers POSTs as SSE streams, `"batch"` as one JSON body; default `"stream"`. */
  readonly responseMode?: "stream" | "batch"
  /**
   * The most sessions one identity may hold open. A new one past it first closes the
   * identity's least recently active idle session (no request open: most often a client that
   * left without `DELETE`; a client still there gets the SDK's 404 and, as the MCP
   * specification requires, initializes anew); when every session of the identity has a
   * request open, the `POST` is refused with 429 `Too many open sessions` and `Retry-After`.
   * Other identities are never touched. Default 32.
   */
  readonly maxSessionsPerIdentity?: number
}

/**
 * What every way of serving takes besides its transports; shared by `StreamableHttp.make`
 * and `McpHttp.layer`.
 *
 * @since 0.1.0
 */
export interface ServingOptions extends ServerOptions.ScopeOptions {
  /** The public health path, or `false` for none; default `ServerOptions.DEFAULT_HEALTH_ENDPOINT`. */
  readonly healthEndpoint?: string | false
  /** Exact origins allowed to call the server, or `["*"]` for any; default: any, none granted CORS. */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** Host names the server answers to; default on a loopback socket: loopback names only. */
  readonly allowedHosts?: ReadonlyArray<string>
  /** Whether tools see the raw credential in `authInfo.token`; default false. */
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
   * or `scp`, or the API-key entry's `scopes`). A request with a `tools/call` of such a tool,
   * from a caller without them, is refused whole with 403 `insufficient_scope` before the
   * SDK sees it; tools left out need no scope. Default none, and then request bodies are
   * left to the SDK untouched.
   *
   * @example
   * ```ts
   * toolScopes: { deploy: ["deploy:write"], search: ["docs:read"] }
   * ```
   */
  readonly toolScopes?: Readonly<Record<string, ReadonlyArray<string>>>
  /** The SDK line; default v2 when installed, else v1. */
  readonly sdk?: SdkLine
  /** Hears of errors raised while serving; never given a secret. */
  readonly onError?: (error: unknown) => void
  /**
   * The most header lines a request may carry; one with more (or one whose server may have
   * dropped some) is refused with 431 before anything reads its headers, so that a second
   * credential line cannot hide behind padding. Default 2,000. The servers mcpgate creates
   * read one line more, so that they see the excess.
   */
  readonly maxHeadersCount?: number
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
}

/**
 * The options, as written by users.
 *
 * @since 0.1.0
 */
export interface StreamableHttpOptions extends StreamOptions, ServingOptions {
  /** The provider. Every request needs credentials on Streamable HTTP. */
  readonly auth: { readonly provider: ProviderInput }
  /**
   * Builds the MCP server (an SDK `McpServer`) for one session, or for one request when
   * `stateless`. Register tools on it before returning it.
   */
  readonly createServer: () => McpServerLike | Promise<McpServerLike>
  /** The path; default `"/mcp"`. */
  readonly endpoint?: string
  /**
   * A gate (`NodeHttp.gate`) for the same provider, shared with other endpoints of the
   * process so they share one failed-attempt budget; replaces `rateLimit`, `trustProxy`, `logger`.
   */
  readonly gate?: NodeHttp.RequestGate
}

/**
 * A Streamable HTTP endpoint: a Node request listener plus its sessions.
 *
 * @since 0.1.0
 */
export interface StreamableHttpServer {
  /** The `node:http` request listener; mount it on any server. */
  readonly handle: (request: http.IncomingMessage, response: http.ServerResponse) => void
  /** How many sessions are open. */
  readonly sessionCount: () => number
  /** Closes every session and stops watching for key rotations. */
  readonly close: () => Promise<void>
}
