/**
 * Contract section 7: a stream closes when its owner's credential expires (the latest `exp`
 * seen, plus the clock tolerance, here 0), and the session is gone with it. A refreshed
 * token moves the deadline. Real clocks: each test waits for an expiry about 2 s away, so the
 * tests run concurrently, each on its own server.
 */
import type { SseServer } from "@mcpgate/node"
import { APIKeyAuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import { describe, expect, it } from "@effect/vitest"
import { KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "@mcpgate/testing/credentials"
import { apiKey, bearer, nowSeconds, open, post, recorder, sleep, tokenExpiringAt, within } from "./support.js"
import { Bodies } from "@mcpgate/testing/contract"
import { start } from "../fixtures/servers.js"

const TIMEOUT = 8000

const strictJwt = () => new JWTAuthProvider({ secret: SECRET, clockTolerance: 0 })

const withServer = async (
  auth: SseServer.SseServerOptions["auth"],
  body: (server: SseServer.RunningServer, record: ReturnType<typeof recorder>) => Promise<void>
) => {
  const record = recorder()
  const server = await start({ auth, onSession: record.onSession })
  try {
    await body(server, record)
  } finally {
    await server.close()
  }
}

describe.concurrent("expiry", () => {
  it("a JWT that expires while its stream is open: the stream is closed, endReason 'expired', the session is gone", async () => {
    await withServer({ provider: strictJwt(), endpoints: { sse: true, messages: true } }, async (server, record) => {
      const exp = nowSeconds() + 2
      const { ended, sessionId } = await open(server, bearer(await tokenExpiringAt("alice", exp)))
      const session = record.byId(sessionId)
      expect(session.transport.principal?.expiresAt).toBe(exp)

      // Not before its time.
      expect(await within(session.closed, exp * 1000 - Date.now() - 200)).toBe("pending")
      await session.closed
      const late = Date.now() - exp * 1000
      expect(late).toBeGreaterThanOrEqual(0)
      expect(late).toBeLessThan(1500)
      expect(session.transport.endReason).toBe("expired")
      expect(session.closes()).toBe(1)
      expect(await within(ended, 1000)).toBe("settled")
      expect(server.sse.sessionCount()).toBe(0)

      // Alice, with a fresh token, finds no session: authenticated, then 404.
      const gone = await post(server, sessionId, bearer(await tokenFor("alice")))
      expect(gone.status).toBe(404)
      expect(gone.body).toBe(Bodies.sessionNotFound)
      expect(session.messages).toEqual([])
    })
  }, TIMEOUT)

  it("a refreshed token keeps the stream open past the first token's exp", async () => {
    await withServer({ provider: strictJwt(), endpoints: { sse: true, messages: true } }, async (server, record) => {
      const exp = nowSeconds() + 2
      const alice = await open(server, bearer(await tokenExpiringAt("alice", exp)))
      const bob = await open(server, bearer(await tokenExpiringAt("bob", exp)))

      expect((await post(server, alice.sessionId, bearer(await tokenFor("alice", { expiresIn: 3600 })))).status).toBe(202)

      // Bob did not refresh: his stream ends at exp; Alice's is still open well after it.
      await record.byId(bob.sessionId).closed
      expect(record.byId(bob.sessionId).transport.endReason).toBe("expired")
      await sleep(exp * 1000 + 1200 - Date.now())
      const session = record.byId(alice.sessionId)
      expect(session.transport.endReason).toBeUndefined()
      expect(server.sse.sessionCount()).toBe(1)
      expect(await within(alice.ended, 0)).toBe("pending")
      expect((await post(server, alice.sessionId, bearer(await tokenFor("alice")))).status).toBe(202)
      alice.stream.close()
    })
  }, TIMEOUT)

  it("a stream opened without credentials closes when the identity that bound it expires", async () => {
    await withServer({ provider: strictJwt() }, async (server, record) => {
      const { sessionId } = await open(server, [])
      const session = record.byId(sessionId)
      expect(session.transport.principal).toBeUndefined()

      const exp = nowSeconds() + 2
      expect((await post(server, sessionId, bearer(await tokenExpiringAt("alice", exp)))).status).toBe(202)
      expect(session.transport.principal?.expiresAt).toBe(exp)

      await session.closed
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000)
      expect(session.transport.endReason).toBe("expired")
      expect(server.sse.sessionCount()).toBe(0)
    })
  }, TIMEOUT)

  it("an API key whose entry expires closes its stream; a key without expiry stays open", async () => {
    const expiresAt = nowSeconds() + 2
    const provider = new APIKeyAuthProvider({
      keys: [{ key: KEY_ALICE, label: "alice", expiresAt }, { key: KEY_BOB, label: "bob" }]
    })
    await withServer({ provider, endpoints: { sse: true, messages: true } }, async (server, record) => {
      const alice = await open(server, apiKey(KEY_ALICE))
      const bob = await open(server, apiKey(KEY_BOB))

      await record.byId(alice.sessionId).closed
      expect(Date.now()).toBeGreaterThanOrEqual(expiresAt * 1000)
      expect(record.byId(alice.sessionId).transport.endReason).toBe("expired")
      expect(record.byId(bob.sessionId).transport.endReason).toBeUndefined()
      expect(server.sse.sessionCount()).toBe(1)
      bob.stream.close()
    })
  }, TIMEOUT)
})
