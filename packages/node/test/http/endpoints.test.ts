/**
 * The legacy SSE transport over real sockets: the stream and its endpoint event, messages
 * answered 202 with the reply on the stream, the endpoint policy (contract section 7), the
 * order authentication, session lookup, binding (section 6), and sessions bound to one identity.
 */
import { AuthProvider } from "@mcpgate/auth-core"
import type { SseTransport } from "@mcpgate/node"
import { describe, expect, it } from "@effect/vitest"
import * as http from "node:http"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, tokenFor } from "@mcpgate/testing/credentials"
import { expectAnswer, openStream } from "@mcpgate/testing/wire"
import { Answer } from "@mcpgate/testing/contract"
import { echoReply, eventually, ping, serve, settle } from "./harness.js"
import { inScope } from "@mcpgate/testing/scoped"


const ALICE = ["X-API-Key", KEY_ALICE] as const
const BOB = ["X-API-Key", KEY_BOB] as const
const MALLORY = ["X-API-Key", "mcp_test_mallory_0000000000"] as const
const BOGUS_SESSION = "/messages?sessionId=00000000-0000-4000-8000-000000000000"
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"

/** The first bytes of a stream's body, read by Node's own HTTP client. */
const firstEvent = (url: URL, headers: http.OutgoingHttpHeaders, path = "/sse"): Promise<string> =>
  new Promise((resolve, reject) => {
    const request = http.get({ host: url.hostname, port: url.port, path, headers }, (response) => {
      response.setEncoding("utf8")
      let text = ""
      response.on("data", (chunk: string) => {
        text += chunk
        if (text.includes("\n\n")) {
          resolve(text)
          request.destroy()
        }
      })
    })
    request.on("error", reject)
  })

describe("GET /sse opens the event stream", () => {
  it.scopedLive("its first bytes are `event: endpoint` and `data: /messages?sessionId=<uuid>`", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const text = await firstEvent(server.url, {})
    expect(text).toMatch(new RegExp(`^event: endpoint\\ndata: /messages\\?sessionId=${UUID}\\n\\n$`))
  }))

  it.scopedLive("each stream is its own session with its own id", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const a = await server.open([])
    const b = await server.open([])
    expect(a.id).not.toBe(b.id)
    expect(server.running.sse.sessionCount()).toBe(2)
  }))

  it.scopedLive("custom paths are announced and served; the default ones are then unknown", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, endpoint: "/events", messageEndpoint: "/rpc" }))
    const session = await server.open([], "/events")
    expect(session.endpoint).toBe(`/rpc?sessionId=${session.id}`)
    const response = await server.ask("POST", `/rpc?sessionId=${session.id}`, [["Content-Type", "application/json"], ALICE], ping(1))
    expectAnswer(response, Answer.accepted())
    expectAnswer(await server.ask("GET", "/sse", []), Answer.notFound())
    expectAnswer(await server.post(session.id, [ALICE]), Answer.notFound())
  }))
})

describe("POST /messages answers 202 and the reply arrives on the stream", () => {
  it.scopedLive("a request is accepted and the echo's reply is the next event", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [ALICE], ping(7)), Answer.accepted())
    const event = await session.stream.next()
    expect(event.event).toBe("message")
    expect(JSON.parse(event.data)).toEqual(echoReply(7, "ping", "alice"))
  }))

  it.scopedLive("the message reaches the session with the caller's authInfo and the request's URL, credentials left out", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    await server.post(session.id, [ALICE], ping(1))
    await eventually(() => server.delivered.length === 1)
    const { extra, message, sessionId } = server.delivered[0]!
    expect(sessionId).toBe(session.id)
    expect(message).toEqual({ jsonrpc: "2.0", method: "ping", id: 1 })
    expect(extra?.authInfo?.clientId).toBe("alice")
    expect(extra?.authInfo?.token).toBe("")
    expect(extra?.requestInfo?.url?.href).toBe(`http://${server.host}/messages?sessionId=${session.id}`)
    expect(extra?.requestInfo?.headers).not.toHaveProperty("x-api-key")
  }))

  it.scopedLive("a batch is accepted once and each request gets its reply, in order", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    const batch = JSON.stringify([JSON.parse(ping(1)), JSON.parse(ping(2))])
    expectAnswer(await server.post(session.id, [ALICE], batch), Answer.accepted())
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(1, "ping", "alice"))
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(2, "ping", "alice"))
  }))

  it.scopedLive("a message goes to its own session only", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const a = await server.open([])
    const b = await server.open([])
    await server.post(a.id, [ALICE], ping(1))
    await eventually(() => server.delivered.length === 1)
    await server.post(b.id, [BOB], ping(2))
    // Events are ordered: had A's reply gone to B, it would come first.
    expect(JSON.parse((await b.stream.next()).data)).toEqual(echoReply(2, "ping", "bob"))
    expect(JSON.parse((await a.stream.next()).data)).toEqual(echoReply(1, "ping", "alice"))
    expect(server.delivered.map((d) => d.sessionId)).toEqual([a.id, b.id])
  }))
})

describe("endpoint policy: defaults are sse false, messages true (as the reference documents)", () => {
  it.scopedLive.each([
    ["no endpoints option", {}],
    ["an empty endpoints option", { endpoints: {} }]
  ] as const)("with %s, the stream opens without credentials and a POST needs them", ([_, extra]) => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), ...extra } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, []), Answer.apiKey())
    expectAnswer(await server.post(session.id, [ALICE]), Answer.accepted())
  }))
})

describe.each([
  { sse: false, messages: false },
  { sse: false, messages: true },
  { sse: true, messages: false },
  { sse: true, messages: true }
])("endpoint policy %o", (endpoints) => {
  const policy = () => serve({ auth: { provider: apiKeyProvider(), endpoints } })

  it.scopedLive(`GET /sse without credentials: ${endpoints.sse ? "401" : "200, the stream"}`, () => inScope(async (use) => {
    const server = await use(policy())
    const stream = await openStream(server.url, [])
    try {
      if (endpoints.sse) expectAnswer(stream.response, Answer.apiKey())
      else expect(stream.response.statusLine).toBe("HTTP/1.1 200 OK")
    } finally {
      stream.close()
    }
  }))

  it.scopedLive("GET /sse with a wrong key: 401, optional credentials are still checked", () => inScope(async (use) => {
    const server = await use(policy())
    expectAnswer(await server.ask("GET", "/sse", [MALLORY]), Answer.apiKey())
  }))

  it.scopedLive("GET /sse with a valid key: the stream, bound to the key", () => inScope(async (use) => {
    const server = await use(policy())
    await server.open([ALICE])
    expect(server.transports[0]?.principal?.clientId).toBe("alice")
  }))

  it.scopedLive(`POST without credentials: ${endpoints.messages ? "401" : "202 and delivered"}`, () => inScope(async (use) => {
    const server = await use(policy())
    const session = await server.open([ALICE])
    const response = await server.post(session.id, [])
    if (endpoints.messages) expectAnswer(response, Answer.apiKey())
    else expectAnswer(response, Answer.accepted())
    await settle()
    expect(server.delivered.length).toBe(endpoints.messages ? 0 : 1)
  }))

  it.scopedLive("POST with a wrong key: 401, never delivered", () => inScope(async (use) => {
    const server = await use(policy())
    const session = await server.open([ALICE])
    expectAnswer(await server.post(session.id, [MALLORY]), Answer.apiKey())
    await settle()
    expect(server.delivered).toEqual([])
  }))

  it.scopedLive("POST with the owner's key: 202 and the reply on the stream", () => inScope(async (use) => {
    const server = await use(policy())
    const session = await server.open([ALICE])
    expectAnswer(await server.post(session.id, [ALICE], ping(3)), Answer.accepted())
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(3, "ping", "alice"))
  }))
})

describe("authentication comes before the session lookup and the body", () => {
  const guarded = () => serve({ auth: { provider: apiKeyProvider() }, maxBodyBytes: 64 })

  it.scopedLive("no credentials and a bogus session id: 401, not 404", () => inScope(async (use) => {
    const server = await use(guarded())
    expectAnswer(await server.ask("POST", BOGUS_SESSION, [["Content-Type", "application/json"]], ping(1)), Answer.apiKey())
  }))

  it.scopedLive("a wrong key and a bogus session id: 401, not 404", () => inScope(async (use) => {
    const server = await use(guarded())
    expectAnswer(await server.ask("POST", BOGUS_SESSION, [["Content-Type", "application/json"], MALLORY], ping(1)), Answer.apiKey())
  }))

  it.scopedLive("with messages: false, no credentials and a bogus session id: 404", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { messages: false } } }))
    expectAnswer(await server.ask("POST", BOGUS_SESSION, [["Content-Type", "application/json"]], ping(1)), Answer.sessionNotFound())
  }))

  it.scopedLive.each([
    ["bad JSON", [["Content-Type", "application/json"]], "{"],
    ["a body over the cap", [["Content-Type", "application/json"]], " ".repeat(1000)],
    ["a wrong content type", [["Content-Type", "text/plain"]], ping(1)]
  ] as const)("an anonymous POST with %s to a real session: 401, the body is not looked at", ([_, headers, body]) => inScope(async (use) => {
    const server = await use(guarded())
    const session = await server.open([])
    expectAnswer(await server.ask("POST", `/messages?sessionId=${session.id}`, headers, body), Answer.apiKey())
  }))

  it.scopedLive("an authenticated POST with bad JSON to a bogus session: 404 before the body", () => inScope(async (use) => {
    const server = await use(guarded())
    expectAnswer(await server.ask("POST", BOGUS_SESSION, [["Content-Type", "application/json"], ALICE], "{"), Answer.sessionNotFound())
  }))

  it.scopedLive("another identity's POST with a bad body: 403 before the body", () => inScope(async (use) => {
    const server = await use(guarded())
    const session = await server.open([ALICE])
    expectAnswer(await server.post(session.id, [BOB], "{"), Answer.sessionForbidden())
    expectAnswer(await server.post(session.id, [BOB], " ".repeat(1000)), Answer.sessionForbidden())
  }))
})

describe("a session belongs to the identity that first authenticates on it", () => {
  it.scopedLive("sse: true — a stream opened by Alice refuses Bob's valid key with 403, and Bob's message is never delivered", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } }))
    const session = await server.open([ALICE])
    expectAnswer(await server.post(session.id, [BOB], ping(66)), Answer.sessionForbidden())
    await settle()
    expect(server.delivered).toEqual([])
    // Alice's session is unharmed, and the first event after Bob's attempt is her reply.
    expectAnswer(await server.post(session.id, [ALICE], ping(1)), Answer.accepted())
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(1, "ping", "alice"))
    expect(server.delivered.map((d) => d.message["id"])).toEqual([1])
  }))

  it.scopedLive("sse: false — the first authenticated POST binds an anonymous stream; another identity then gets 403", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    const transport = server.transports[0]!
    expect(transport.principal).toBeUndefined()
    expectAnswer(await server.post(session.id, [ALICE], ping(1)), Answer.accepted())
    expect(transport.principal?.clientId).toBe("alice")
    expectAnswer(await server.post(session.id, [BOB], ping(2)), Answer.sessionForbidden())
    expectAnswer(await server.post(session.id, [ALICE], ping(3)), Answer.accepted())
    await eventually(() => server.delivered.length === 2)
    await settle()
    expect(server.delivered.map((d) => d.message["id"])).toEqual([1, 3])
  }))

  it.scopedLive("sse: false — credentials on the stream bind it at once", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([BOB])
    expectAnswer(await server.post(session.id, [ALICE], ping(1)), Answer.sessionForbidden())
    expectAnswer(await server.post(session.id, [BOB], ping(2)), Answer.accepted())
  }))

  it.scopedLive("messages: false — an anonymous POST is accepted (as documented), another identity's credential is not", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true, messages: false } } }))
    const session = await server.open([ALICE])
    expectAnswer(await server.post(session.id, [], ping(1)), Answer.accepted())
    expectAnswer(await server.post(session.id, [BOB], ping(2)), Answer.sessionForbidden())
    await eventually(() => server.delivered.length === 1)
    await settle()
    expect(server.delivered.map((d) => d.message["id"])).toEqual([1])
  }))

  it.scopedLive("a refreshed JWT for the same sub keeps the session; another sub gets 403", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider(), endpoints: { sse: true } } }))
    const first = await tokenFor("alice", { expiresIn: 600 })
    const refreshed = await tokenFor("alice", { expiresIn: 7200 })
    const bob = await tokenFor("bob")
    expect(refreshed).not.toBe(first)
    const session = await server.open([["Authorization", `Bearer ${first}`]])
    const transport = server.transports[0]!
    const firstExp = transport.principal?.expiresAt
    expectAnswer(await server.post(session.id, [["Authorization", `Bearer ${refreshed}`]], ping(1)), Answer.accepted())
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(1, "ping", "alice"))
    expect(transport.principal?.expiresAt).toBeGreaterThan(firstExp!)
    expectAnswer(await server.post(session.id, [["Authorization", `Bearer ${bob}`]], ping(2)), Answer.sessionForbidden())
    // The older token of the same subject still belongs.
    expectAnswer(await server.post(session.id, [["Authorization", `Bearer ${first}`]], ping(3)), Answer.accepted())
  }))

  it.scopedLive("with both providers, a key and a JWT are different identities even for the same name", () => inScope(async (use) => {
    const provider = AuthProvider.firstOf(apiKeyProvider().service, jwtProvider().service)
    const server = await use(serve({ auth: { provider, endpoints: { sse: true } } }))
    const session = await server.open([ALICE])
    const token = await tokenFor("alice")
    expectAnswer(await server.post(session.id, [["Authorization", `Bearer ${token}`]], ping(1)), Answer.sessionForbidden())
    expectAnswer(await server.post(session.id, [ALICE], ping(2)), Answer.accepted())
  }))
})

describe("a session that has ended is not found", () => {
  it.scopedLive("after the client closes its stream: 404", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    session.stream.close()
    await eventually(() => server.running.sse.sessionCount() === 0)
    expectAnswer(await server.post(session.id, [ALICE]), Answer.sessionNotFound())
  }))

  it.scopedLive("after the server closes the transport: the stream ends, then 404", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    await server.transports[0]!.close()
    await session.ended
    expectAnswer(await server.post(session.id, [ALICE]), Answer.sessionNotFound())
  }))

  it.scopedLive("before the transport is started, its session is not reachable: 404", () => inScope(async (use) => {
    const transports: Array<SseTransport> = []
    const server = await use(serve({
      auth: { provider: apiKeyProvider() },
      onSession: (transport) => {
        transports.push(transport)
      }
    }))
    const stream = await openStream(server.url, [])
    try {
      expect(stream.response.statusLine).toBe("HTTP/1.1 200 OK")
      await eventually(() => transports.length === 1)
      expectAnswer(await server.post(transports[0]!.sessionId, [ALICE]), Answer.sessionNotFound())
    } finally {
      stream.close()
    }
  }))

  it.scopedLive("closing the server ends every stream", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const a = await server.open([])
    const b = await server.open([])
    await server.running.sse.close()
    await Promise.all([a.ended, b.ended])
    expect(server.transports.map((t) => t.endReason)).toEqual(["server_closed", "server_closed"])
  }))
})
