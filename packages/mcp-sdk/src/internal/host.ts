/**
 * One `node:http` server carrying the legacy SSE transport, Streamable HTTP, or both, with
 * a fresh SDK server per session. `MCPServer` and the `McpHttp` Layer both run on it, so a
 * request takes the same path whichever API started the server.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import type { EndpointPolicy, ProtectedResource, ToolScopes } from "@mcpgate/http"
import { HttpAnswer } from "@mcpgate/auth-core"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { NodeHttp, SseServer } from "@mcpgate/node"
import type * as http from "node:http"
import type { AddressInfo, Socket } from "node:net"
import type { StreamableHttpServer } from "../StreamableHttp.js"
import { makeMetricsRoute } from "./metrics.js"
import { decodeStreamableOptions } from "./options.js"
import type { McpServerLike, Sdk } from "./sdk.js"
import { awaitingContinue, build } from "./streamable.js"

/** What the host serves. */
export interface HostSettings {
  readonly port: number
  readonly host: string
  readonly provider: AuthProvider.Service
  readonly createServer: () => McpServerLike | Promise<McpServerLike>
  /** The legacy HTTP+SSE transport, when served. */
  readonly sse?: {
    readonly endpoint: string
    readonly messageEndpoint: string
    readonly endpoints: EndpointPolicy.Options | undefined
    /** The caps on open streams (`SseServer`'s options of the same names); undefined: its defaults. */
    readonly maxStreams?: number | undefined
    readonly maxAnonymousStreams?: number | undefined
    readonly maxAnonymousStreamsPerClient?: number | undefined
    readonly anonymousStreamTimeout?: number | undefined
  } | undefined
  /** Streamable HTTP, when served. */
  readonly stream?: {
    readonly endpoint: string
    readonly responseMode: "stream" | "batch"
    readonly stateless: boolean
    readonly sessionIdleTimeout: number | undefined
    readonly maxSessionsPerIdentity?: number | undefined
  } | undefined
  readonly healthEndpoint: string | false
  /** Where the Prometheus metrics are served (public, after the Origin/Host checks), or `false`. */
  readonly metricsEndpoint: string | false
  readonly allowedOrigins: ReadonlyArray<string> | undefined
  readonly allowedHosts: ReadonlyArray<string> | undefined
  readonly exposeToken: boolean
  /** Whether requests run in mcp-framework's request context (`getRequestContext()`). */
  readonly requestContext: boolean
  readonly resource: string | undefined
  /**
   * The protected-resource metadata to serve (RFC 9728); `gate.protectedResource` must be
   * made from it (`ProtectedResource.make`).
   */
  readonly protectedResource: ProtectedResource.Options | undefined
  /** Scopes per tool, checked alike on both transports. */
  readonly toolScopes: ToolScopes.ToolScopes
  /** What the one gate both transports share is made from: one budget per client across them. */
  readonly gate: NodeHttp.RequestGateOptions
  readonly onError: ((error: unknown) => void) | undefined
  /** The most header lines a request may carry (431 past it); undefined: 2,000. */
  readonly maxHeadersCount?: number | undefined
  /** How long `close` lets requests in flight finish before cutting their connections. */
  readonly drainMs: number
}

/** A listening host. */
export interface Host {
  readonly url: URL
  readonly server: http.Server
  readonly sessionCount: () => number
  /** Stops accepting, ends every stream, lets requests in flight finish, then closes. */
  readonly close: () => Promise<void>
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

export const listen = async (settings: HostSettings, sdk: Sdk): Promise<Host> => {
  const { sse: sseSettings, stream: streamSettings } = settings
  // One SDK server made now, so that a registration the SDK refuses (two tools of one name,
  // say) fails the start rather than every session later.
  try {
    await (await settings.createServer()).close()
  } catch (error) {
    throw new ConfigurationError({
      message: `The MCP server could not be made from its registrations: ${error instanceof Error ? error.message : String(error)}`
    })
  }
  // Made first: nothing is running yet if its cross-origin policy is refused.
  const metrics = settings.metricsEndpoint === false ? undefined : makeMetricsRoute({
    allowedOrigins: settings.allowedOrigins,
    allowedHosts: settings.allowedHosts,
    runtime: settings.gate.runtime,
    onError: settings.onError
  })
  const connectSdkServer = async (transport: unknown) => {
    const server = await settings.createServer()
    await server.connect(transport as never)
  }
  // What both transports are given alike: one gate, so a client has one budget on both.
  const shared = {
    gate: NodeHttp.gate(settings.provider, settings.gate),
    exposeToken: settings.exposeToken,
    requestContext: settings.requestContext,
    // Back to the option's shape; `fromEntries` defines own keys, so `__proto__` stays a tool name.
    toolScopes: Object.fromEntries(settings.toolScopes),
    ...optional("maxHeadersCount", settings.maxHeadersCount),
    ...optional("resource", settings.resource),
    ...optional("allowedOrigins", settings.allowedOrigins),
    ...optional("allowedHosts", settings.allowedHosts),
    ...optional("onError", settings.onError)
  }
  // Health and the protected-resource metadata are answered once: by the SSE transport
  // when it is served, since every path but the Streamable HTTP one goes to it.
  const sse = sseSettings === undefined ? undefined : SseServer.make({
    auth: { provider: settings.provider, ...optional("endpoints", sseSettings.endpoints) },
    onSession: connectSdkServer,
    endpoint: sseSettings.endpoint,
    messageEndpoint: sseSettings.messageEndpoint,
    healthEndpoint: settings.healthEndpoint,
    ...optional("maxStreams", sseSettings.maxStreams),
    ...optional("maxAnonymousStreams", sseSettings.maxAnonymousStreams),
    ...optional("maxAnonymousStreamsPerClient", sseSettings.maxAnonymousStreamsPerClient),
    ...optional("anonymousStreamTimeout", sseSettings.anonymousStreamTimeout),
    ...optional("protectedResource", settings.protectedResource),
    ...shared
  })
  let stream: StreamableHttpServer | undefined
  if (streamSettings !== undefined) {
    const decoded = decodeStreamableOptions({
      auth: { provider: settings.provider },
      createServer: settings.createServer,
      endpoint: streamSettings.endpoint,
      healthEndpoint: sse === undefined ? settings.healthEndpoint : false,
      ...optional("protectedResource", sse === undefined ? settings.protectedResource : undefined),
      stateless: streamSettings.stateless,
      ...optional("sessionIdleTimeout", streamSettings.sessionIdleTimeout),
      ...optional("maxSessionsPerIdentity", streamSettings.maxSessionsPerIdentity),
      responseMode: streamSettings.responseMode,
      ...shared
    })
    if (decoded._tag === "Left") {
      await sse?.close()
      throw decoded.left
    }
    stream = build(decoded.right, sdk)
  }

  const maxHeadersCount = settings.maxHeadersCount ?? NodeHttp.DEFAULT_MAX_HEADERS_COUNT
  const handle = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    // Before any route, `/metrics` included: a header set Node may have cut short is judged
    // on nothing (both transports check it too, for when they are mounted alone).
    if (NodeHttp.tooManyHeaderLines(request, maxHeadersCount)) {
      response.setHeader("connection", "close")
      return NodeHttp.writeAnswer(response, HttpAnswer.headerFieldsTooLarge)
    }
    const path = NodeHttp.targetOf(request)?.pathname
    if (metrics !== undefined && path === settings.metricsEndpoint) return metrics(request, response)
    if (stream !== undefined && (sse === undefined || path === streamSettings!.endpoint)) return stream.handle(request, response)
    // Everything else, unknown paths included, is the SSE transport's to answer.
    sse!.handle(request, response)
  }

  // Requests open per connection, so that `close` can end the connections that carry none:
  // Node's `closeIdleConnections` leaves alone those that never sent a request (clients keep
  // such spares), and they would hold `close` open until the drain ends.
  const requestsOpen = new Map<Socket, number>()
  let closing: Promise<void> | undefined
  const counted = (request: http.IncomingMessage, response: http.ServerResponse): void => {
    const socket = request.socket
    requestsOpen.set(socket, (requestsOpen.get(socket) ?? 0) + 1)
    response.once("close", () => {
      const left = (requestsOpen.get(socket) ?? 1) - 1
      requestsOpen.set(socket, left)
      if (left === 0 && closing !== undefined) socket.destroy()
    })
    handle(request, response)
  }

  // Short header and request timeouts, which open streams outlive, and one header line read
  // beyond the limit so that a request carrying more is seen (`NodeHttp.createServer`).
  const server = NodeHttp.createServer(counted, { maxHeadersCount })
  server.on("connection", (socket: Socket) => {
    requestsOpen.set(socket, 0)
    socket.once("close", () => requestsOpen.delete(socket))
  })
  // Refusals (401, 413) go out before a client that waits for "100 Continue" sends its body.
  server.on("checkContinue", (request: http.IncomingMessage, response: http.ServerResponse) => {
    awaitingContinue.add(request)
    counted(request, response)
  })
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject)
      server.listen(settings.port, settings.host, () => {
        server.off("error", reject)
        resolve()
      })
    })
  } catch (error) {
    await Promise.all([sse?.close(), stream?.close()])
    throw error
  }
  const address = server.address() as AddressInfo
  const hostname = address.family === "IPv6" ? `[${address.address}]` : address.address

  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    await Promise.all([sse?.close(), stream?.close()])
    for (const [socket, open] of requestsOpen) if (open === 0) socket.destroy()
    const cut = setTimeout(() => server.closeAllConnections(), settings.drainMs)
    cut.unref()
    await closed
    clearTimeout(cut)
  }

  return {
    url: new URL(`http://${hostname}:${address.port}`),
    server,
    sessionCount: () => (sse?.sessionCount() ?? 0) + (stream?.sessionCount() ?? 0),
    close: () => (closing ??= close())
  }
}
