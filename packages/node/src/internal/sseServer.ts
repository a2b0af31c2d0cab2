/**
 * The SSE server's request handling, built from settings decoded once (`SseServer.decodeSettings`,
 * or written by an adapter that checked its own options): the pipeline in front of both
 * endpoints, the stream caps, sessions, and the message `POST`s.
 */
import { HttpAnswer, Principal } from "@mcpgate/auth-core"
import { Pipeline, ToolScopes } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import type * as http from "node:http"
import * as RequestContext from "../RequestContext.js"
import { SseTransport } from "../SseTransport.js"
import { readBody } from "./body.js"
import { parseMessages } from "./jsonRpc.js"
import type { ExtraOptions } from "./messageExtra.js"
import { messageExtra } from "./messageExtra.js"
import { front, listener, reporter } from "./front.js"
import { DEFAULT_MAX_HEADERS_COUNT, fullUrlOf, mediaTypeOf, writeAnswer } from "./nodeHttp.js"
import { DEFAULT_HEARTBEAT_SECONDS, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BUFFERED_BYTES, streamLimitsOf } from "./options.js"
import { Session } from "./session.js"
import type { Settings } from "./sseSettings.js"
import { StreamLimits } from "./streamLimits.js"

/** A running SSE transport (`SseServer.SseServer`). */
export interface Built {
  readonly handle: (request: http.IncomingMessage, response: http.ServerResponse) => void
  readonly sessionCount: () => number
  readonly close: () => Promise<void>
}

type Route = "sse" | "messages"

export const build = (settings: Settings): Built => {
  const { provider, policy, cors } = settings
  const sessions = new Map<string, Session>()
  const limits = new StreamLimits(streamLimitsOf(settings))
  const maxHeadersCount = settings.maxHeadersCount ?? DEFAULT_MAX_HEADERS_COUNT
  const maxBodyBytes = settings.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  const extraOptions: ExtraOptions = {
    credentialHeaders: provider.headerNames.map((name) => name.toLowerCase()),
    exposeToken: settings.exposeToken,
    resource: settings.resource === undefined ? undefined : new URL(settings.resource)
  }
  const sessionSettings = {
    messageEndpoint: settings.messageEndpoint,
    heartbeatMs: (settings.heartbeat ?? DEFAULT_HEARTBEAT_SECONDS) * 1000,
    maxBufferedBytes: settings.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    provider,
    registry: sessions
  }
  const reportError = reporter(settings.onError)


  // A revoked credential's open streams are closed (docs/behaviour.md#keys-and-tokens).
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

  // Origin and Host, route, preflight, method, public routes, then the gate per endpoint
  // policy, before the body and before any session lookup.
  const serve = (request: http.IncomingMessage, response: http.ServerResponse, decision: Pipeline.Proceed<Route>) => {
    const answer = (reply: HttpAnswer.HttpAnswer) => writeAnswer(response, reply, decision.corsHeaders)
    if (decision.route === "sse") return openStream(request, response, decision, answer)
    return postMessage(request, response, decision.url, decision.principal, answer)
  }
  const handle = listener(front(pipeline, maxHeadersCount, serve), settings.onError)

  const openStream = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    { client, corsHeaders, principal }: Pipeline.Proceed<Route>,
    answer: (reply: HttpAnswer.HttpAnswer) => void
  ): Promise<void> => {
    // The client may have left while its credential was checked.
    if (request.destroyed || response.destroyed) return
    // `requiredScopes`: a caller who proved a credential must hold them to open a stream; an
    // anonymous one (an open endpoint) is held to them by its messages.
    const scopeRefusal = principal === undefined
      ? undefined
      : ToolScopes.check(settings.toolScopes, undefined, principal.scopes, pipeline.challenge)
    if (scopeRefusal !== undefined) return answer(scopeRefusal)
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
    const body = await readBody(request, maxBodyBytes)
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
    // Scopes (`requiredScopes`, tool scopes, through the hierarchy): one refused `tools/call`
    // refuses the whole body, and the 403 names every scope it needs; none of it is delivered.
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
