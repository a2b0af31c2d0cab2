/**
 * One `node:http` server carrying the legacy SSE transport, Streamable HTTP, or both, with
 * a fresh SDK server per session. `MCPServer` and the `McpHttp` Layer both run on it, so a
 * request takes the same path whichever API started the server.
 */
import { HttpAnswer } from "@mcpgate/auth-core"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { CrossOrigin } from "@mcpgate/http"
import { NodeHttp, SseServer } from "@mcpgate/node"
import * as Either from "effect/Either"
import type * as http from "node:http"
import type { Socket } from "node:net"
import type { HostSettings } from "./hostSettings.js"
import { makeMetricsRoute } from "./metrics.js"
import type { Sdk } from "./sdk.js"
import type { StreamableHttpServer } from "./serving.js"
import { awaitingContinue, build } from "./streamable.js"

/** A listening host. */
export interface Host {
  readonly url: URL
  readonly server: http.Server
  readonly sessionCount: () => number
  /** Stops accepting, ends every stream, lets requests in flight finish, then closes. */
  readonly close: () => Promise<void>
}

export const listen = async (settings: HostSettings, sdk: Sdk): Promise<Host> => {
  const { provider, sse: sseSettings, stream: streamSettings } = settings
  // One SDK server made now, so that a registration the SDK refuses (two tools of one name,
  // say) fails the start rather than every session later.
  try {
    await (await settings.createServer()).close()
  } catch (error) {
    throw new ConfigurationError({
      message: `The MCP server could not be made from its registrations: ${error instanceof Error ? error.message : String(error)}`
    })
  }
  const maxHeadersCount = settings.maxHeadersCount ?? NodeHttp.DEFAULT_MAX_HEADERS_COUNT
  // One cross-origin policy for every route, made first: nothing is running yet if it is
  // refused (a custom provider's header names, say).
  const cors = Either.getOrThrowWith(
    CrossOrigin.decode({
      credentialHeaders: provider.headerNames,
      ...(settings.allowedOrigins === undefined ? {} : { allowedOrigins: settings.allowedOrigins }),
      ...(settings.allowedHosts === undefined ? {} : { allowedHosts: settings.allowedHosts })
    }),
    (error) => error
  )
  const metrics = settings.metricsEndpoint === false
    ? undefined
    : makeMetricsRoute({ cors, runtime: settings.gate.runtime, onError: settings.onError })
  // What both transports are given alike: one gate, so a client has one budget on both.
  const shared = {
    provider,
    gate: NodeHttp.gate(provider, { ...settings.gate, protectedResource: settings.protectedResource }),
    cors,
    exposeToken: settings.exposeToken,
    requestContext: settings.requestContext,
    toolScopes: settings.toolScopes,
    maxHeadersCount,
    onError: settings.onError
  }
  // Health and the protected-resource metadata are answered once: by the SSE transport
  // when it is served, since every path but the Streamable HTTP one goes to it.
  const sse = sseSettings === undefined ? undefined : SseServer.fromSettings({
    ...shared,
    ...sseSettings,
    onSession: async (transport) => {
      const server = await settings.createServer()
      await server.connect(transport as never)
    },
    healthEndpoint: settings.healthEndpoint,
    resource: settings.resource,
    protectedResource: settings.protectedResource
  })
  let stream: StreamableHttpServer | undefined
  try {
    stream = streamSettings === undefined ? undefined : build({
      ...shared,
      ...streamSettings,
      createServer: settings.createServer,
      healthEndpoint: sse === undefined ? settings.healthEndpoint : false,
      resource: settings.resource === undefined ? undefined : new URL(settings.resource),
      protectedResource: sse === undefined ? settings.protectedResource : undefined
    }, sdk)
  } catch (error) {
    // Nothing is left running when the start fails.
    await sse?.close()
    throw error
  }

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
  let url: URL
  try {
    url = await NodeHttp.listenOn(server, settings.port, settings.host)
  } catch (error) {
    await Promise.all([sse?.close(), stream?.close()])
    throw error
  }

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
    url,
    server,
    sessionCount: () => (sse?.sessionCount() ?? 0) + (stream?.sessionCount() ?? 0),
    close: () => (closing ??= close())
  }
}
