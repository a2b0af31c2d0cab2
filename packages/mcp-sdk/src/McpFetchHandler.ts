/**
 * An MCP server as a web-standard handler, `{ fetch(request, env?, ctx?) }`: the shape
 * Cloudflare Workers, Deno and Bun take as a default export, and what Hono, Next.js route
 * handlers and Node adapters call. Around SDK v2's `createMcpHandler`, it serves the
 * 2026-07-28 protocol and, through the SDK's stateless fallback, 2025-era clients, behind
 * mcpgate's whole policy: the providers (`APIKeyAuthProvider`, `JWTAuthProvider`,
 * `AuthProvider.firstOf`, a custom provider), the failed-attempt budget, `Origin` and `Host`
 * checks with CORS, RFC 9728 metadata and challenges, tool scopes and the counters, with the
 * same answers, byte for byte, as the Node servers (docs/behaviour.md#answers).
 *
 * Tools read the caller as `ctx.http.authInfo` (or `getPrincipal(ctx)`), and the factory
 * gets it as `authInfo` too; the credential headers are removed from the request tools see
 * unless `exposeToken`. Importing this module pulls no `node:*` module and not
 * `@mcpgate/node`, so it runs on Workers without `nodejs_compat` and in browsers.
 *
 * The client's address, which the failed-attempt budget is kept for, comes from
 * `clientAddress` or `clientAddressHeader` (the platform's, never guessed); without either,
 * limiting is off and a warning says so once, rather than one budget for every client, which
 * would let one attacker lock everyone out (docs/behaviour.md#web-standard-handlers).
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider } from "@mcpgate/auth-core"
 * import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
 * import { McpServer } from "@modelcontextprotocol/server"
 *
 * export default createMcpFetchHandler({
 *   auth: { provider: new APIKeyAuthProvider({ keys: [API_KEY] }) },
 *   clientAddressHeader: "CF-Connecting-IP",
 *   createServer: () => {
 *     const server = new McpServer({ name: "example", version: "1.0.0" })
 *     server.registerTool("whoami", {}, async (ctx) => ({
 *       content: [{ type: "text", text: ctx.http?.authInfo?.clientId ?? "anonymous" }]
 *     }))
 *     return server
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 */
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { unverified } from "@mcpgate/auth-core/AuthProvider"
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { prometheus, PROMETHEUS_CONTENT_TYPE } from "@mcpgate/http/AuthMetrics"
import * as Fetch from "@mcpgate/http/Fetch"
import * as Pipeline from "@mcpgate/http/Pipeline"
import type { AddressOptions } from "@mcpgate/http/Fetch"
import type { ProtectedResource, RateLimiter, RequestGate, ServerOptions } from "@mcpgate/http"
import * as Either from "effect/Either"
import type * as Logger from "effect/Logger"
import { decodeFetchHandlerOptions } from "./internal/fetchOptions.js"
import type { SdkHandlerLike } from "./internal/fetchServing.js"
import { serveAuthenticated } from "./internal/fetchServing.js"

/**
 * What the server factory is given (SDK v2's `McpRequestContext`).
 *
 * @since 0.1.0
 */
export interface ServerContext {
  readonly era: "legacy" | "modern"
  readonly authInfo?: unknown
  readonly requestInfo?: Request
}

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface McpFetchHandlerOptions extends AddressOptions, ServerOptions.ScopeOptions {
  /** The provider; every request needs credentials. */
  readonly auth: { readonly provider: ProviderInput }
  /** SDK v2's server factory: a fresh `McpServer` per request, tools registered. */
  readonly createServer: (context: ServerContext) => unknown
  /** The path; default `"/mcp"`. */
  readonly endpoint?: string
  /** The public health path, or `false`; default `"/health"`. */
  readonly healthEndpoint?: string | false
  /** A public Prometheus route of Effect's counters (mcpgate's included), or `false` (default). */
  readonly metricsEndpoint?: string | false
  /** `"auto"` (the SDK's default), `"stream"` (always SSE) or `"batch"` (one JSON body). */
  readonly responseMode?: "auto" | "stream" | "batch"
  /** 2025-era clients: `"stateless"` (default: the SDK's stateless fallback) or `"reject"`. */
  readonly legacy?: "stateless" | "reject"
  /** Exact origins allowed to call, or `["*"]`; default any, none granted CORS. */
  readonly allowedOrigins?: ReadonlyArray<string>
  /** Host names the handler answers to (DNS-rebinding protection); default any. */
  readonly allowedHosts?: ReadonlyArray<string>
  /** Whether tools see the raw credential (`authInfo.token`, and its header); default false. */
  readonly exposeToken?: boolean
  /** The server's resource identifier, given to tools as `authInfo.resource`. */
  readonly resource?: string
  /** The server as an OAuth protected resource (RFC 9728): metadata served, challenges name it. */
  readonly protectedResource?: ProtectedResource.Options
  /** Scopes per tool: a `tools/call` without them is refused with 403 before the SDK sees it. */
  readonly toolScopes?: Readonly<Record<string, ReadonlyArray<string>>>
  /** The failed-attempt budget: options, a shared `RateLimiter`, or `false`. Needs a client address. */
  readonly rateLimit?: RateLimiter.Options | RateLimiter.RateLimiter | false
  /** Proxies whose `X-Forwarded-For` is believed, checked against the client address. */
  readonly trustProxy?: ReadonlyArray<string>
  /** A gate shared with other endpoints (`RequestGate.unsafeMake`); replaces `rateLimit`, `trustProxy`, `logger`. */
  readonly gate?: RequestGate.RequestGate
  /** Replaces Effect's default logger for the failure log lines. */
  readonly logger?: Logger.Logger<unknown, unknown>
  /** The most header fields a request may carry (431 past it); default 2,000. */
  readonly maxHeadersCount?: number
  /** The largest request head in bytes (431 past it); default 16 KiB, as Node. */
  readonly maxHeaderSize?: number
  /** The largest `POST` body read (the SDK's 413 past it); default 4 MiB. */
  readonly maxRequestBodySize?: number
  /** Hears of errors raised while serving; never given a secret. */
  readonly onError?: (error: unknown) => void
}

/**
 * The handler.
 *
 * @since 0.1.0
 */
export interface McpFetchHandler {
  /** Serves one request; never rejects for anything a client sends. */
  readonly fetch: (request: Request, env?: unknown, ctx?: unknown) => Promise<Response>
  /** Ends the exchanges in flight (SDK v2's `close`). */
  readonly close: () => Promise<void>
}

interface SdkModule {
  readonly createMcpHandler: (factory: unknown, options: Record<string, unknown>) => SdkHandlerLike
}

const METRICS_METHODS = ["GET", "HEAD"]

/**
 * Makes the handler. Throws a `ConfigurationError` for bad options; SDK v2
 * (`@modelcontextprotocol/server`) is loaded on the first request.
 *
 * @since 0.1.0
 */
export const createMcpFetchHandler = (options: McpFetchHandlerOptions): McpFetchHandler => {
  const decoded = decodeFetchHandlerOptions(options as Parameters<typeof decodeFetchHandlerOptions>[0])
  if (Either.isLeft(decoded)) throw decoded.left
  const settings = decoded.right
  const { fetch: shared } = settings
  const report = (error: unknown) => {
    try {
      shared.onError?.(error)
    } catch {
      // A failing error reporter must not fail the request.
    }
  }
  const pipeline = Pipeline.unsafeMake<"mcp">({
    // The SDK answers other methods in its own words, once the request is authenticated.
    routes: [{ name: "mcp", path: settings.endpoint, methods: ["GET", "POST", "DELETE"], credentials: "required", anyMethod: true }],
    gate: shared.gate,
    cors: shared.cors,
    healthEndpoint: settings.healthEndpoint,
    protectedResource: shared.protectedResource
  })
  const serving = {
    credentialHeaders: new Set(shared.provider.headerNames.map((name) => name.toLowerCase())),
    exposeToken: shared.exposeToken,
    resource: shared.resource,
    scopes: settings.scopes,
    maxRequestBodySize: settings.maxRequestBodySize,
    challenge: pipeline.challenge
  }
  const limits = { maxHeadersCount: shared.maxHeadersCount, maxHeaderSize: shared.maxHeaderSize }
  let sdk: Promise<SdkHandlerLike> | undefined
  const sdkHandler = () =>
    sdk ??= import("@modelcontextprotocol/server").then(
      (module) =>
        (module as unknown as SdkModule).createMcpHandler(settings.createServer, {
          legacy: settings.legacy,
          responseMode: settings.responseMode,
          maxRequestBodySize: settings.maxRequestBodySize,
          onerror: report
        }),
      (error: unknown) => {
        sdk = undefined
        throw new ConfigurationError({ message: `the Fetch handler needs @modelcontextprotocol/server (SDK v2): ${String(error)}` })
      }
    )

  // Public like health, after the Origin and Host checks; no CORS headers (no other origin may read it).
  const metrics = async (request: Request): Promise<Response> => {
    const refusal = Pipeline.originRefusal(shared.cors, Fetch.describe(request, { credentialHeaders: [], remoteAddress: undefined }))
    if (refusal !== undefined) return Fetch.toResponse(refusal)
    if (!METRICS_METHODS.includes(request.method)) return Fetch.toResponse(HttpAnswer.methodNotAllowed(METRICS_METHODS))
    const body = await shared.gate.run(prometheus)
    const answer = { status: 200, headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" }, body }
    return Fetch.toResponse(answer, { method: request.method })
  }

  const proceed = async (request: Request, decision: Pipeline.Proceed<"mcp">): Promise<Response> => {
    const { corsHeaders, principal } = decision
    // The route requires credentials: the pipeline lets nobody in anonymously.
    if (principal === undefined) {
      return Fetch.toResponse(Pipeline.withHeaders(HttpAnswer.fromFailure(unverified(shared.provider), pipeline.challenge), corsHeaders))
    }
    return serveAuthenticated(await sdkHandler(), request, principal, corsHeaders, serving)
  }

  const fetch = async (request: Request, env?: unknown, ctx?: unknown): Promise<Response> => {
    // Before anything reads the head, /metrics included (as on Node).
    if (Fetch.isHeadTooLarge(request, limits)) return Fetch.toResponse(Fetch.headTooLarge)
    if (settings.metricsEndpoint !== false && pathOf(request.url) === settings.metricsEndpoint) return metrics(request)
    const described = Fetch.describe(request, {
      credentialHeaders: shared.provider.headerNames,
      remoteAddress: shared.address?.(request, env, ctx)
    })
    const decision = await pipeline.decide(described)
    return decision._tag === "Answer"
      ? Fetch.toResponse(decision.answer, { method: request.method })
      : proceed(request, decision)
  }

  return {
    fetch,
    close: async () => {
      if (sdk !== undefined) await (await sdk.catch(() => undefined))?.close()
    }
  }
}

const pathOf = (url: string): string => {
  const target = Fetch.targetOf(url)
  const query = target.indexOf("?")
  return query === -1 ? target : target.slice(0, query)
}
