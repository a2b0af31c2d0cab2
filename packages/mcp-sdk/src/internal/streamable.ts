/**
 * The Streamable HTTP endpoint: the checks of docs/behaviour.md#order-of-checks in front of
 * the SDK's own transport, on settings decoded once (`streamableOptions.ts`, or the host's).
 * Its sessions are kept in `streamableSessions.ts`.
 */
import { withoutScheme } from "@mcpgate/auth-core/Credentials"
import { AuthProvider, HttpAnswer } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { AuthInfo, Pipeline, SessionOwner, ToolScopes } from "@mcpgate/http"
import { NodeHttp, RequestContext } from "@mcpgate/node"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import type * as http from "node:http"
import type { McpServerLike, Sdk, StreamableTransportLike } from "./sdk.js"
import type { StreamableHttpServer } from "./serving.js"
import type { StreamableSettings } from "./streamableOptions.js"
import { makeSessions } from "./streamableSessions.js"
import { screen, SDK_MAX_BODY_BYTES } from "./toolCalls.js"

/**
 * Requests whose `Expect: 100-continue` the server left to us (its `checkContinue` event):
 * "100 Continue" goes out only once they are authenticated, so a refusal comes before the
 * body. A server without that listener has already sent it.
 */
export const awaitingContinue = new WeakSet<http.IncomingMessage>()

const MCP_METHODS = ["GET", "POST", "DELETE"]

export const build = (settings: StreamableSettings, sdk: Sdk): StreamableHttpServer => {
  const { cors, provider } = settings
  const sessions = makeSessions(provider, settings)
  const credentialHeaders = new Set(provider.headerNames.map((name) => name.toLowerCase()))

  // A transport closed at once answers every request as the SDK does for a session it does
  // not know: 404 with its JSON-RPC error. Requests naming an unknown session go to it, so
  // that answer stays the SDK's own.
  const tombstone = new sdk.StreamableTransport({ sessionIdGenerator: () => randomUUID() })
  void tombstone.close()

  /**
   * The owners of stateless exchanges still open (a `GET` stream, a long tool call): with no
   * session to close, each exchange ends itself when its caller's credential expires or is
   * revoked, as a session would.
   */
  const statelessOwners = new Set<SessionOwner.SessionOwner>()
  // A revoked credential's sessions (and stateless exchanges) are closed
  // (docs/behaviour.md#keys-and-tokens).
  const rotations = Effect.runFork(
    Stream.runForEach(provider.changes, () =>
      Effect.promise(() => {
        const owners = [...sessions.owners(), ...statelessOwners]
        return Promise.all(owners.map((owner) => owner.revalidate("revoked")))
      }))
  )

  const pipeline = Pipeline.unsafeMake<"mcp">({
    // The SDK answers other methods in its own words, once the request is authenticated.
    routes: [{ name: "mcp", path: settings.endpoint, methods: MCP_METHODS, credentials: "required", anyMethod: true }],
    gate: settings.gate,
    cors,
    healthEndpoint: settings.healthEndpoint,
    protectedResource: settings.protectedResource
  })

  // Origin and Host, route, preflight, public routes, then every request is authenticated,
  // whatever its method, before its body is read (`NodeHttp.front`).
  const serve = (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    decision: Pipeline.Proceed<"mcp">
  ): Promise<void> | void => {
    const { corsHeaders, principal } = decision
    const answer = (reply: HttpAnswer.HttpAnswer) => NodeHttp.writeAnswer(response, reply, corsHeaders)
    // The route requires credentials: the pipeline lets nobody in anonymously.
    if (principal === undefined) return answer(HttpAnswer.fromFailure(AuthProvider.unverified(provider), pipeline.challenge))
    if (awaitingContinue.has(request)) response.writeContinue()
    for (const name in corsHeaders) response.setHeader(name, corsHeaders[name]!)
    handOver(request, principal)
    // Tools read the caller through mcp-framework's `getRequestContext()` too, when asked for.
    return settings.requestContext
      ? RequestContext.runAs(principal, () => serveAuthenticated(request, response, principal, answer))
      : serveAuthenticated(request, response, principal, answer)
  }

  const serveAuthenticated = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    principal: Principal,
    answer: (reply: HttpAnswer.HttpAnswer) => void
  ): Promise<void> => {
    if (settings.stateless) return withBody(request, principal, answer, (body) => serveStateless(request, response, principal, body))

    // 6. Session lookup and identity binding.
    const ids = request.headersDistinct["mcp-session-id"]
    if (ids === undefined) {
      // Only a `POST` (an `initialize`) may open a session; the SDK answers the others.
      if (request.method !== "POST") return withBody(request, principal, answer, (body) => openSession(request, response, principal, body))
      const full = sessions.makeRoom(principal.identity)
      if (full !== undefined) return answer(full)
      const opened = sessions.initializing(principal.identity)
      return withBody(request, principal, answer, (body) => openSession(request, response, principal, body, opened))
        .finally(opened)
    }
    const session = ids.length === 1 ? sessions.get(ids[0]!) : undefined
    if (session === undefined) return tombstone.handleRequest(request, response)
    if (!session.owner.admits(principal)) return answer(HttpAnswer.sessionForbidden)
    session.owner.bind(principal)
    sessions.track(session, response)
    // 7. The SDK transport reads the body and answers.
    return withBody(request, principal, answer, (body) => session.transport.handleRequest(request, response, body))
  }

  /**
   * 7, with scopes: the body is read and checked first (`toolCalls.ts`): headers that
   * disagree with it get the 400, a refused `tools/call` (or missing `requiredScopes`) the
   * 403, and the SDK never sees the request; otherwise `next` hands the SDK the parsed body
   * (undefined: the SDK reads it). Without any scope, `next` at once.
   */
  const withBody = (
    request: http.IncomingMessage,
    principal: Principal,
    answer: (reply: HttpAnswer.HttpAnswer) => void,
    next: (parsedBody: unknown) => Promise<void>
  ): Promise<void> => {
    if (!ToolScopes.isActive(settings.toolScopes)) return next(undefined)
    return screen(request, settings.toolScopes, principal.scopes, pipeline.challenge).then((screened) => {
      if (screened._tag === "Pass") return next(screened.parsedBody)
      if (screened._tag === "Refused") answer(screened.answer)
    })
  }

  /**
   * What the SDK is given of the request: the identity as `req.auth`, and the credential
   * headers removed unless the server exposes tokens, since the SDK hands the request's
   * headers on to tools.
   */
  const handOver = (request: http.IncomingMessage, principal: Principal): void => {
    const token = settings.exposeToken ? credentialOf(request, principal) : undefined
    ;(request as http.IncomingMessage & { auth?: AuthInfo.AuthInfo }).auth = AuthInfo.fromPrincipal(principal, {
      token,
      resource: settings.resource
    })
    if (settings.exposeToken || credentialHeaders.size === 0) return
    // In place: the request is ours to hand over, and copying its headers costs more than the
    // check. Node computes `headersDistinct` lazily from `rawHeaders` by their count on
    // arrival, so it is read first, while every line is still there.
    void request.headersDistinct
    const rawHeaders = request.rawHeaders
    let kept = 0
    for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
      if (!credentialHeaders.has(rawHeaders[index]!.toLowerCase())) {
        rawHeaders[kept++] = rawHeaders[index]!
        rawHeaders[kept++] = rawHeaders[index + 1]!
      }
    }
    rawHeaders.length = kept
    const headers = request.headers
    for (const name of credentialHeaders) delete headers[name]
  }

  const credentialOf = (request: http.IncomingMessage, principal: Principal): string | undefined => {
    const names = principal.credentialHeader === undefined ? [...credentialHeaders] : [principal.credentialHeader]
    for (const name of names) {
      const value = request.headersDistinct[name]?.[0]
      if (value !== undefined) return withoutScheme(value)
    }
    return undefined
  }

  const newTransport = (
    sessionId: (() => string) | undefined,
    opening?: {
      readonly principal: Principal
      readonly response: http.ServerResponse
      /** The session is counted as open now: no longer as one being opened. */
      readonly opened: () => void
    }
  ) => {
    let server: McpServerLike | undefined
    const transport: StreamableTransportLike = new sdk.StreamableTransport({
      sessionIdGenerator: sessionId,
      enableJsonResponse: settings.responseMode === "batch",
      // Pinned to the cap bodies are screened with: the SDK never reads more than was checked.
      ...(settings.toolScopes.tools.size === 0 ? {} : { maxRequestBodySize: SDK_MAX_BODY_BYTES }),
      ...(sessionId === undefined ? {} : {
        // Called before the answer to `initialize` leaves: the next request finds its session.
        onsessioninitialized: (id: string) => {
          const session = sessions.add(id, transport, server!, opening!.principal)
          opening!.opened()
          // The `initialize` exchange itself counts as a request open on the session.
          sessions.track(session, opening!.response)
        },
        onsessionclosed: (id: string) => void sessions.close(id)
      })
    })
    // Set before `connect`, which chains its own handler after this one.
    transport.onclose = () => {
      const id = transport.sessionId
      if (id !== undefined && sessions.get(id)?.transport === transport) void sessions.close(id)
    }
    return {
      transport,
      connect: async () => {
        server = await settings.createServer()
        await server.connect(transport as never)
        return server
      }
    }
  }

  const openSession = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    principal: Principal,
    parsedBody: unknown,
    opened: () => void = () => {}
  ): Promise<void> => {
    const { connect, transport } = newTransport(() => randomUUID(), { principal, response, opened })
    const server = await connect()
    await transport.handleRequest(request, response, parsedBody)
    // Anything but an `initialize` leaves the transport without a session: nothing to keep.
    if (transport.sessionId === undefined || !sessions.has(transport.sessionId)) {
      await Promise.allSettled([transport.close(), server.close()])
    }
  }

  const serveStateless = async (
    request: http.IncomingMessage,
    response: http.ServerResponse,
    principal: Principal,
    parsedBody: unknown
  ): Promise<void> => {
    const { connect, transport } = newTransport(undefined)
    const server = await connect()
    const owner = new SessionOwner.SessionOwner(provider, () => response.destroy())
    owner.bind(principal)
    statelessOwners.add(owner)
    response.once("close", () => {
      owner.dispose()
      statelessOwners.delete(owner)
      void Promise.allSettled([transport.close(), server.close()])
    })
    await transport.handleRequest(request, response, parsedBody)
  }

  return {
    handle: NodeHttp.listener(NodeHttp.front(pipeline, settings.maxHeadersCount, serve), settings.onError),
    sessionCount: () => sessions.size(),
    close: async () => {
      await Effect.runPromise(Fiber.interrupt(rotations))
      await sessions.closeAll()
    }
  }
}
