/**
 * Contract sections 6 and 7 on Streamable HTTP: each session (`Mcp-Session-Id`) belongs to
 * the identity that initialized it. Another identity gets the exact 403 whatever the method
 * and its request never reaches the SDK; the owner keeps working, and a refreshed token of
 * the same subject is the same owner. Unknown sessions get the SDK's own 404. Stateless
 * serving keeps no session at all, and still authenticates every request.
 */
import { describe, expect, it } from "@effect/vitest"
import { decodeJwt } from "jose"
import { apiKeys, headersFor, jwts, KEY_ALICE, KEY_BOB, tokenFor } from "../fixtures/credentials.js"
import { SDK_PAIRS } from "../fixtures/mcp.js"
import type { RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { apiKey, bearer, connectAs, INITIALIZE, initializeRaw, inSession, messagesOf, pingIn, POST_HEADERS, serve } from "./support.js"
import { Bodies, Challenge } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"

const expectForbidden = (response: RawResponse) => {
  expect(response.statusLine).toBe("HTTP/1.1 403 Forbidden")
  expect(response.header("content-type")).toBe("application/json")
  expect(response.header("cache-control")).toBe("no-store")
  expect(response.body).toBe(Bodies.sessionForbidden)
}

const expectSdkNotFound = (response: RawResponse) => {
  expect(response.statusLine).toBe("HTTP/1.1 404 Not Found")
  expect(response.body).toBe(Bodies.sdkSessionNotFound)
}

/** A successful `ping` answer. */
const expectPong = (response: RawResponse) => {
  expect(response.status, response.body).toBe(200)
  expect(messagesOf(response)).toEqual([{ jsonrpc: "2.0", id: 2, result: {} }])
}

for (const sdk of ["v1", "v2"] as const) {
  describe(`a session initialized by Alice (server ${sdk})`, () => {
    it.scopedLive("Bob's valid key with her session id gets the exact 403 on POST and GET; his call never reaches the tool", () => inScope(async (use) => {
      const { endpoint, seen, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() } }))
      const alice = await use(connectAs(sdk, "http-stream", endpoint, headersFor({ apiKey: KEY_ALICE })))
      const sessionId = alice.sessionId()
      expect(sessionId).toMatch(/^[0-9a-f-]{36}$/)

      const call = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "tools/call", params: { name: "whoami", arguments: {} } })
      expectForbidden(await send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...inSession(sessionId!), ...apiKey(KEY_BOB)], call))
      expectForbidden(
        await send(endpoint, "GET", "/mcp", [["Accept", "text/event-stream"], ...inSession(sessionId!), ...apiKey(KEY_BOB)])
      )
      // Refused before the body is read: a body that is not JSON gets the same 403.
      expectForbidden(await send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...inSession(sessionId!), ...apiKey(KEY_BOB)], "{nope"))
      expect(seen).toEqual([])

      // Alice's session is untouched.
      expect(server.sessionCount).toBe(1)
      expect((await alice.whoami())?.clientId).toBe("alice")
      expect(seen.map(({ caller }) => caller?.clientId)).toEqual(["alice"])
    }))

    it.scopedLive("Bob's valid JWT gets the 403; Alice's refreshed token (same sub, later exp) keeps her session", () => inScope(async (use) => {
      const { endpoint, seen, server } = await use(serve(sdk, "http-stream", { auth: { provider: jwts() } }))
      const first = await tokenFor("alice", { expiresIn: 60 })
      const sessionId = await initializeRaw(endpoint, bearer(first))

      expectForbidden(await pingIn(endpoint, sessionId, bearer(await tokenFor("bob"))))

      const refreshed = await tokenFor("alice", { expiresIn: 3600 })
      expect(refreshed).not.toBe(first)
      expectPong(await pingIn(endpoint, sessionId, bearer(refreshed)))
      // The older token, still valid, is the same identity too.
      expectPong(await pingIn(endpoint, sessionId, bearer(first)))
      expect(server.sessionCount).toBe(1)
      expect(seen).toEqual([])
    }))

    it.scopedLive("a real client with a refreshed token is let into the session its first token opened", () => inScope(async (use) => {
      const { endpoint, seen } = await use(serve(sdk, "http-stream", { auth: { provider: jwts() } }))
      const sessionId = await initializeRaw(endpoint, bearer(await tokenFor("alice", { expiresIn: 60 })))
      const refreshed = await tokenFor("alice", { expiresIn: 3600 })
      const call = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "whoami", arguments: {} } })

      const response = await send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...inSession(sessionId), ...bearer(refreshed)], call)
      expect(response.status).toBe(200)
      const [answer] = messagesOf(response)
      expect(answer?.["id"]).toBe(3)
      expect(seen).toHaveLength(1)
      // The tool sees the credential of the request it serves: the refreshed one.
      expect(seen[0]!.caller?.subject).toBe("alice")
      expect(seen[0]!.caller?.expiresAt).toBe(decodeJwt(refreshed).exp)
    }))

    it.scopedLive("an unknown session id gets the SDK's own 404, after authentication", () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() } }))
      await initializeRaw(endpoint, apiKey(KEY_ALICE))

      const unknown = "00000000-0000-4000-8000-000000000000"
      expectSdkNotFound(await pingIn(endpoint, unknown, apiKey(KEY_ALICE)))
      expectSdkNotFound(await send(endpoint, "GET", "/mcp", [["Accept", "text/event-stream"], ...inSession(unknown), ...apiKey(KEY_ALICE)]))
      expectSdkNotFound(await send(endpoint, "DELETE", "/mcp", [...inSession(unknown), ...apiKey(KEY_ALICE)]))
      // Without credentials the same request is a 401: nothing is looked up for strangers.
      const anonymous = await pingIn(endpoint, unknown, [])
      expect(anonymous.status).toBe(401)
      expect(anonymous.body).toBe(Bodies.apiKey)
      expect(server.sessionCount).toBe(1)
    }))

    it.scopedLive("DELETE by Bob is refused with the 403; DELETE by Alice ends the session", () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() } }))
      const sessionId = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      const other = await initializeRaw(endpoint, apiKey(KEY_BOB))
      expect(server.sessionCount).toBe(2)

      expectForbidden(await send(endpoint, "DELETE", "/mcp", [...inSession(sessionId), ...apiKey(KEY_BOB)]))
      expect(server.sessionCount).toBe(2)
      expectPong(await pingIn(endpoint, sessionId, apiKey(KEY_ALICE)))

      const deleted = await send(endpoint, "DELETE", "/mcp", [...inSession(sessionId), ...apiKey(KEY_ALICE)])
      expect(deleted.status).toBe(200)
      expect(server.sessionCount).toBe(1)
      expectSdkNotFound(await pingIn(endpoint, sessionId, apiKey(KEY_ALICE)))
      // Bob's own session is another one, and still there.
      expectPong(await pingIn(endpoint, other, apiKey(KEY_BOB)))
    }))

    it.scopedLive("a client that closes its session with DELETE leaves no session behind", () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() } }))
      const alice = await use(connectAs(sdk, "http-stream", endpoint, headersFor({ apiKey: KEY_ALICE })))
      const sessionId = alice.sessionId()!
      expect(server.sessionCount).toBe(1)

      const deleted = await send(endpoint, "DELETE", "/mcp", [...inSession(sessionId), ...apiKey(KEY_ALICE)])
      expect(deleted.status).toBe(200)
      expect(server.sessionCount).toBe(0)
      expectSdkNotFound(await pingIn(endpoint, sessionId, apiKey(KEY_ALICE)))
    }))
  })
}

describe("stateless: true", () => {
  for (const { client, server: sdk } of SDK_PAIRS) {
    it.scopedLive(`server ${sdk}, client ${client}: tools/list and whoami work, and no session is ever kept`, () => inScope(async (use) => {
      const { endpoint, seen, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, stateless: true }))
      const alice = await use(connectAs(client, "http-stream", endpoint, headersFor({ apiKey: KEY_ALICE })))
      const bob = await use(connectAs(client, "http-stream", endpoint, headersFor({ apiKey: KEY_BOB })))
      expect(alice.sessionId()).toBeUndefined()
      expect(server.sessionCount).toBe(0)

      expect(await alice.toolNames()).toEqual(["whoami"])
      expect((await alice.whoami())?.clientId).toBe("alice")
      expect((await bob.whoami())?.clientId).toBe("bob")
      expect((await alice.whoami())?.clientId).toBe("alice")
      expect(seen.map(({ caller }) => caller?.clientId)).toEqual(["alice", "bob", "alice"])
      expect(seen[0]!.authInfo?.["token"]).toBe("")
      expect(seen[0]!.headers).not.toHaveProperty("x-api-key")
      expect(server.sessionCount).toBe(0)
    }))
  }

  for (const sdk of ["v1", "v2"] as const) {
    it.scopedLive(`server ${sdk}: an initialize answers without Mcp-Session-Id; a request without credentials is still a 401`, () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: jwts() }, stateless: true }))

      const initialized = await send(endpoint, "POST", "/mcp", [...POST_HEADERS, ["Authorization", `Bearer ${await tokenFor("alice")}`]], INITIALIZE)
      expect(initialized.status).toBe(200)
      expect(initialized.header("mcp-session-id")).toBeUndefined()
      expect(messagesOf(initialized)[0]).toMatchObject({ jsonrpc: "2.0", id: 1, result: { serverInfo: { name: "mcp-server" } } })

      const refused = await send(endpoint, "POST", "/mcp", POST_HEADERS, INITIALIZE)
      expect(refused.status).toBe(401)
      expect(refused.body).toBe(Bodies.jwt)
      expect(refused.header("www-authenticate")).toBe(Challenge.bearer)
      expect(server.sessionCount).toBe(0)
    }))
  }
})
