/**
 * Contract sections 5–7: a session belongs to one identity. Another identity's valid
 * credential gets the exact 403 and its message never reaches the MCP server; the owner's
 * refreshed token (same `sub`, later `exp`) keeps the session.
 */
import { describe, expect, it } from "@effect/vitest"
import { inScope } from "@mcpgate/testing/scoped"
import { decodeJwt } from "jose"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, tokenFor } from "@mcpgate/testing/credentials"
import type { Recorded } from "./support.js"
import { apiKey, bearer, post, recordingServers } from "./support.js"
import { Bodies } from "@mcpgate/testing/contract"

const { serve, openAs } = recordingServers()

const methodsOf = (session: Recorded) => session.messages.map(({ message }) => message["method"])

describe("a stream opened by Alice (endpoints.sse: true)", () => {
  const AUTH = { sse: true, messages: true } as const

  it.scopedLive("Bob's valid API key gets the exact 403, and his message is not delivered", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: apiKeyProvider(), endpoints: AUTH }))
    const { session, sessionId } = await use(openAs(server, record, apiKey(KEY_ALICE)))

    const refused = await post(server, sessionId, apiKey(KEY_BOB))
    expect(refused.status).toBe(403)
    expect(refused.body).toBe(Bodies.sessionForbidden)
    expect(refused.header("content-type")).toBe("application/json")
    expect(session.messages).toEqual([])

    // The session is still Alice's, still open, and still delivers her messages.
    expect(session.transport.principal?.clientId).toBe("alice")
    expect(session.transport.endReason).toBeUndefined()
    const accepted = await post(server, sessionId, apiKey(KEY_ALICE))
    expect(accepted.status).toBe(202)
    expect(methodsOf(session)).toEqual(["ping"])
  }))

  it.scopedLive("Bob is refused before his body is read: a body that is not JSON still gets the 403", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: apiKeyProvider(), endpoints: AUTH }))
    const { session, sessionId } = await use(openAs(server, record, apiKey(KEY_ALICE)))

    const refused = await post(server, sessionId, apiKey(KEY_BOB), "not json")
    expect(refused.status).toBe(403)
    expect(refused.body).toBe(Bodies.sessionForbidden)
    expect(session.messages).toEqual([])
  }))

  it.scopedLive("Bob's valid JWT gets the exact 403, and his message is not delivered", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: jwtProvider(), endpoints: AUTH }))
    const { session, sessionId } = await use(openAs(server, record, bearer(await tokenFor("alice"))))

    const refused = await post(server, sessionId, bearer(await tokenFor("bob")))
    expect(refused.status).toBe(403)
    expect(refused.body).toBe(Bodies.sessionForbidden)
    expect(session.messages).toEqual([])
  }))

  it.scopedLive("Alice's refreshed token (same sub, later exp) is accepted and becomes the session's latest expiry", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: jwtProvider(), endpoints: AUTH }))
    const first = await tokenFor("alice", { expiresIn: 60 })
    const { session, sessionId } = await use(openAs(server, record, bearer(first)))
    expect(session.transport.principal?.expiresAt).toBe(decodeJwt(first).exp)

    const refreshed = await tokenFor("alice", { expiresIn: 3600 })
    const accepted = await post(server, sessionId, bearer(refreshed))
    expect(accepted.status).toBe(202)
    expect(methodsOf(session)).toEqual(["ping"])
    expect(session.messages[0]?.extra?.authInfo?.expiresAt).toBe(decodeJwt(refreshed).exp)
    expect(session.transport.principal?.expiresAt).toBe(decodeJwt(refreshed).exp)

    // The older, still valid token is the same identity too; it does not shorten the session.
    const older = await post(server, sessionId, bearer(first))
    expect(older.status).toBe(202)
    expect(session.messages).toHaveLength(2)
    expect(session.transport.principal?.expiresAt).toBe(decodeJwt(refreshed).exp)
  }))

  it.scopedLive("a token with the same sub but another issuer is another identity", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: jwtProvider(), endpoints: AUTH }))
    const { session, sessionId } = await use(openAs(server, record, bearer(await tokenFor("alice", { claims: { iss: "https://a.example" } }))))

    const refused = await post(server, sessionId, bearer(await tokenFor("alice", { claims: { iss: "https://b.example" } })))
    expect(refused.status).toBe(403)
    expect(refused.body).toBe(Bodies.sessionForbidden)
    expect(session.messages).toEqual([])
  }))

  it.scopedLive("credentials are checked before the session is looked up: an unknown session gets 401 without them, 404 with them", () => inScope(async (use) => {
    const { server } = await use(serve({ provider: apiKeyProvider(), endpoints: AUTH }))

    const anonymous = await post(server, "00000000-0000-4000-8000-000000000000", [])
    expect(anonymous.status).toBe(401)
    expect(anonymous.body).toBe(Bodies.apiKey)
    const known = await post(server, "00000000-0000-4000-8000-000000000000", apiKey(KEY_BOB))
    expect(known.status).toBe(404)
    expect(known.body).toBe(Bodies.sessionNotFound)
  }))
})

describe("a stream opened without credentials (default policy)", () => {
  it.scopedLive("is bound to the first identity that posts to it; another identity then gets the 403", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: apiKeyProvider() }))
    const { session, sessionId } = await use(openAs(server, record, []))
    expect(session.transport.principal).toBeUndefined()

    expect((await post(server, sessionId, apiKey(KEY_ALICE))).status).toBe(202)
    expect(session.transport.principal?.clientId).toBe("alice")

    const refused = await post(server, sessionId, apiKey(KEY_BOB))
    expect(refused.status).toBe(403)
    expect(refused.body).toBe(Bodies.sessionForbidden)
    expect(session.messages).toHaveLength(1)
    expect(session.messages[0]?.extra?.authInfo?.clientId).toBe("alice")
  }))

  it.scopedLive("a POST without credentials gets the 401 and is not delivered", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: apiKeyProvider() }))
    const { session, sessionId } = await use(openAs(server, record, []))

    const refused = await post(server, sessionId, [])
    expect(refused.status).toBe(401)
    expect(refused.body).toBe(Bodies.apiKey)
    expect(session.messages).toEqual([])
    expect(session.transport.principal).toBeUndefined()
  }))
})

describe("endpoints.messages: false", () => {
  it.scopedLive("POSTs without credentials are delivered without authInfo, even once the session is bound", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: apiKeyProvider(), endpoints: { sse: false, messages: false } }))
    const { session, sessionId } = await use(openAs(server, record, []))

    expect((await post(server, sessionId, [])).status).toBe(202)
    expect((await post(server, sessionId, apiKey(KEY_ALICE))).status).toBe(202)
    expect((await post(server, sessionId, [])).status).toBe(202)
    expect(session.messages.map(({ extra }) => extra?.authInfo?.clientId)).toEqual([undefined, "alice", undefined])
  }))

  it.scopedLive("another identity's credential still gets the 403", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: apiKeyProvider(), endpoints: { sse: false, messages: false } }))
    const { session, sessionId } = await use(openAs(server, record, []))
    expect((await post(server, sessionId, apiKey(KEY_ALICE))).status).toBe(202)

    const refused = await post(server, sessionId, apiKey(KEY_BOB))
    expect(refused.status).toBe(403)
    expect(refused.body).toBe(Bodies.sessionForbidden)
    expect(session.messages).toHaveLength(1)
  }))

  it.scopedLive("a wrong credential is never ignored: 401, not delivered", () => inScope(async (use) => {
    const { record, server } = await use(serve({ provider: apiKeyProvider(), endpoints: { sse: false, messages: false } }))
    const { session, sessionId } = await use(openAs(server, record, []))

    const refused = await post(server, sessionId, apiKey("mcp_test_nobody_0000000000"))
    expect(refused.status).toBe(401)
    expect(refused.body).toBe(Bodies.apiKey)
    expect(session.messages).toEqual([])
  }))
})
