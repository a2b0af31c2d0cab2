/**
 * The MCP HTTP+SSE transport (protocol 2024-11-05) on `node:http`, authenticated per
 * endpoint as mcp-framework documents it: `GET /sse` opens the event stream (`endpoints.sse`,
 * default `false`), `POST /messages?sessionId=...` carries the JSON-RPC messages
 * (`endpoints.messages`, default `true`). Each session is bound to the first identity that
 * authenticates on it; another identity gets the contract's 403, and the stream closes
 * when its owner's credential expires or is revoked. Open streams are capped: those without
 * an owner per client (429) and for the server (503), all of them for the server (503), so
 * that an anonymous flood cannot keep a client that sends its credential out; a stream
 * nobody binds ends after `anonymousStreamTimeout`.
 *
 * Every request is checked in the order of contract section 6; every answer comes from
 * `HttpAnswer` in the core.
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
import { AuthProvider, HttpAnswer, Options, Principal } from "@mcpgate/auth-core"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import type { EndpointPolicy, RateLimiter } from "@mcpgate/http"
import { CrossOrigin, Pipeline, ProtectedResource, RequestGate, ToolScopes } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import type * as Logger from "effect/Logger"
import type * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import type { AddressInfo } from "node:net"
import { readBody } from "./internal/body.js"
import { parseMessages } from "./internal/jsonRpc.js"
import type { ExtraOptions } from "./internal/messageExtra.js"
import { messageExtra } from "./internal/messageExtra.js"
import { createServer, DEFAULT_MAX_HEADERS_COUNT, describe, fullUrlOf, mediaTypeOf, tooManyHeaderLines, writeAnswer } from "./internal/nodeHttp.js"
import { SseServerOptions as OptionsSchema, streamLimitsOf } from "./internal/options.js"
import { Session } from "./internal/session.js"
import type { StreamLimitSettings } from "./internal/streamLimits.js"
import { StreamLimits } from "./internal/streamLimits.js"
import * as RequestContext from "./RequestContext.js"
import { SseTransport } from "./SseTransport.js"

/**
 * The options, as written by users.
 *
 * @since 0.1.0
 */
export interface SseServerOptions {
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
  /** The public health path, or `false` for none; default `"/health"`. */
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
   * The failed-attempt limit (contract section 6, step 4): options (`maxFailures` 20,
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
 * Builds the transport's request listener. Throws a `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const make = (options: SseServerOptions): SseServer => Either.getOrThrowWith(decode(options), (error) => error)

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
    return yield* Effect.acquireRelease(decode({ ...rest, auth }, runtime), (server) => Effect.promise(() => server.close()))
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
  const sse = make(rest)
  const server = createServer(sse.handle, { maxHeadersCount: rest.maxHeadersCount })
  // Answer `Expect: 100-continue` requests ourselves, so a refusal (401, 413) goes out
  // before the client sends its body; Node would otherwise send "100 Continue" at once.
  server.on("checkContinue", sse.handle)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const hostname = address.family === "IPv6" ? `[${address.address}]` : address.address
  return {
    url: new URL(`http://${hostname}:${address.port}`),
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

const decode = (input: SseServerOptions, runtime?: Runtime.Runtime<never>): Either.Either<SseServer, ConfigurationError> =>
  Either.flatMap(Options.decode(OptionsSchema, input, "SSE server"), (decoded) =>
    Either.map(CrossOrigin.decode(crossOriginOptions(decoded, serviceOf(decoded.auth.provider))), (cors) => {
      const provider = serviceOf(decoded.auth.provider)
      const protectedResource = decoded.protectedResource === undefined
        ? undefined
        : ProtectedResource.fromDecoded(decoded.protectedResource)
      return build({
        ...decoded,
        onSession: input.onSession,
        onError: input.onError,
        provider,
        resource: decoded.resource ?? protectedResource?.resource,
        protectedResource,
        gate: decoded.gate ?? RequestGate.unsafeMake(provider, { ...decoded, protectedResource, runtime }),
        policy: decoded.auth.endpoints,
        cors,
        streamLimits: streamLimitsOf(decoded),
        maxHeadersCount: decoded.maxHeadersCount ?? DEFAULT_MAX_HEADERS_COUNT
      })
    }))

const crossOriginOptions = (
  options: { readonly allowedOrigins?: ReadonlyArray<string> | undefined; readonly allowedHosts?: ReadonlyArray<string> | undefined },
  provider: AuthProvider.Service
): CrossOrigin.Options => ({
  credentialHeaders: provider.headerNames,
  ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
  ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts })
})

interface Settings {
  readonly provider: AuthProvider.Service
  readonly gate: RequestGate.RequestGate
  readonly policy: EndpointPolicy.EndpointPolicy
  readonly cors: CrossOrigin.CrossOrigin
  readonly onSession: SseServerOptions["onSession"]
  readonly onError: SseServerOptions["onError"]
  readonly endpoint: string
  readonly messageEndpoint: string
  readonly healthEndpoint: string | false
  readonly maxBodyBytes: number
  readonly maxBufferedBytes: number
  readonly heartbeat: number
  readonly exposeToken: boolean
  readonly requestContext: boolean
  readonly resource?: string | undefined
  readonly toolScopes: ToolScopes.ToolScopes
  readonly protectedResource: ProtectedResource.ProtectedResource | undefined
  readonly streamLimits: StreamLimitSettings
  readonly maxHeadersCount: number
}

type Route = "sse" | "messages"

const build = (settings: Settings): SseServer => {
  const { provider, policy, cors } = settings
  const sessions = new Map<string, Session>()
  const limits = new StreamLimits(settings.streamLimits)
  const extraOptions: ExtraOptions = {
    credentialHeaders: provider.headerNames.map((name) => name.toLowerCase()),
    exposeToken: settings.exposeToken,
    resource: settings.resource === undefined ? undefined : new URL(settings.resource)
  }
  const sessionSettings = {
    messageEndpoint: settings.messageEndpoint,
    heartbeatMs: settings.heartbeat * 1000,
    maxBufferedBytes: settings.maxBufferedBytes,
    provider,
    registry: sessions
  }
  const reportError = (error: unknown) => {
    try {
      settings.onError?.(error)
    } catch {
      // A failing error reporter must not take the server down.
    }
  }

  // Contract section 4: a revoked credential's open streams are closed.
  const rotations = Effect.runFork(
    Stream.runForEach(provider.changes, () =>
      Effect.promise(() => Promise.all([...sessions.values()].map((session) => session.revalidate("revoked")))))
  )

  const pipeline = Pipeline.unsafeMake<Route>({
    routes: [
      { name: "sse", path: settings.endpoint, methods: ["GET"], credentials: policy.sse ? "required" : "optional" },
      { name: "messages", path: settings.messageEndpoint, methods: ["POST"], credentials: policy.messages ? "required" : "optional" }
    ],
    gate: settings.gate,
    cors,
    healthEndpoint: settings.healthEndpoint,
    protectedResource: settings.protectedResource
  })

  const handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const failed = (error: unknown) => {
      reportError(error)
      // Never a 500 with details: end the exchange.
      response.destroy()
    }
    try {
      const served = serve(request, response)
      if (served !== undefined) served.catch(failed)
    } catch (error) {
      failed(error)
    }
  }

  const serve = (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> | void => {
    // A header set Node may have cut short is judged on nothing, not even its Origin.
    if (tooManyHeaderLines(request, settings.maxHeadersCount)) {
      response.setHeader("connection", "close")
      return writeAnswer(response, HttpAnswer.headerFieldsTooLarge)
    }
    // Origin and Host, route, preflight, method, public routes, then the gate per endpoint
    // policy, before the body and before any session lookup (`Pipeline`).
    const decision = pipeline.decide(describe(request))
    return decision instanceof Promise
      ? decision.then((decided) => serveDecision(request, response, decided))
      : serveDecision(request, response, decision)
  }

  const serveDecision = (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    decision: Pipeline.Decision<Route>
  ): Promise<void> | void => {
    if (decision._tag === "Answer") return writeAnswer(response, decision.answer)
    const answer = (reply: HttpAnswer.HttpAnswer) => writeAnswer(response, reply, decision.corsHeaders)
    if (decision.route === "sse") return openStream(request, response, decision, answer)
    return postMessage(request, response, decision.url, decision.principal, answer)
  }

  const openStream = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    { client, corsHeaders, principal }: Pipeline.Proceed<Route>,
    answer: (reply: HttpAnswer.HttpAnswer) => void
  ): Promise<void> => {
    // The client may have left while its credential was checked.
    if (request.destroyed || response.destroyed) return
    // The caps on open streams (`streamLimits.ts`): judged and counted in one synchronous
    // step, so that concurrent requests cannot all pass on the same free place.
    const anonymousClient = principal === undefined ? client : undefined
    const now = Date.now()
    const refusal = limits.refusal(anonymousClient, now)
    if (refusal !== undefined) {
      // The connection goes with the refusal: a flood must not keep its sockets open.
      response.setHeader("connection", "close")
      return answer(refusal)
    }
    response.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      // Proxies such as nginx would otherwise buffer the stream.
      "x-accel-buffering": "no",
      ...corsHeaders
    })
    response.flushHeaders()
    let session: Session | undefined = undefined
    const slot = limits.open(anonymousClient, () => session?.end("unclaimed"), now)
    session = new Session(response, sessionSettings, principal, slot)
    const transport = new SseTransport(session)
    try {
      await settings.onSession(transport)
    } catch (error) {
      reportError(error)
      session.end("closed")
    }
  }

  const postMessage = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    target: URL,
    principal: Principal.Principal | undefined,
    answer: (reply: HttpAnswer.HttpAnswer) => void
  ): Promise<void> => {
    // 6. Session lookup, then identity binding.
    const ids = target.searchParams.getAll("sessionId")
    const session = ids.length === 1 ? sessions.get(ids[0]!) : undefined
    if (session === undefined || !session.started || session.ended) return answer(HttpAnswer.sessionNotFound)
    if (principal !== undefined) {
      if (!session.admits(principal)) return answer(HttpAnswer.sessionForbidden)
      session.bind(principal)
    }

    // 7. Media type, body with a size cap, then the JSON-RPC shape.
    if (mediaTypeOf(request) !== "application/json") return answer(HttpAnswer.unsupportedMediaType)
    // A client that waits for "100 Continue" sends its body only now that it is wanted.
    if (request.headers.expect?.toLowerCase() === "100-continue") response.writeContinue()
    const body = await readBody(request, settings.maxBodyBytes)
    switch (body._tag) {
      case "Aborted":
        return
      case "TooLarge":
        // The rest of the body is not read; the connection cannot be reused.
        response.setHeader("connection", "close")
        return answer(HttpAnswer.payloadTooLarge)
      case "NotUtf8":
        return answer(HttpAnswer.invalidJsonRpc)
    }
    const messages = parseMessages(body.text)
    if (messages === undefined) return answer(HttpAnswer.invalidJsonRpc)
    // Tool scopes: one refused `tools/call` refuses the whole body; none of it is delivered.
    const refusal = ToolScopes.check(settings.toolScopes, messages, principal?.scopes ?? [], pipeline.challenge)
    if (refusal !== undefined) return answer(refusal)
    if (session.ended) return answer(HttpAnswer.sessionNotFound)

    answer(HttpAnswer.accepted)
    const extra = messageExtra(request, fullUrlOf(request, target), principal, extraOptions)
    const deliverAll = () => {
      for (const message of messages) session.deliver(message, extra)
    }
    // Tools read the caller through mcp-framework's `getRequestContext()` too, when asked for.
    if (settings.requestContext) RequestContext.runAs(principal, deliverAll)
    else deliverAll()
  }

  return {
    handle,
    sessionCount: () => sessions.size,
    close: async () => {
      await Effect.runPromise(Fiber.interrupt(rotations))
      for (const session of [...sessions.values()]) session.end("server_closed")
    }
  }
}
