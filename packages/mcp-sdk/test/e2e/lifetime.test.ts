/**
 * When sessions end, on both transports and both SDK lines:
 * - rotation (contract section 4): a key removed at run time closes its sessions at once,
 *   open streams included; its next request is a 401; the other keys' sessions carry on;
 * - expiry (section 7): with a clock tolerance of 0, a session opened with a JWT closes at
 *   its `exp` (not before, within 1.5 s after) and the token is then refused;
 * - idleness: with `sessionIdleTimeout: 1`, a Streamable HTTP session with no request open
 *   is closed within a few seconds; an open `GET` stream keeps it;
 * - `stop()`: every stream ends and `stop()` resolves promptly with clients connected.
 *
 * Each test has its own server and waits on real clocks, so they run concurrently.
 */
import { describe, expect, it } from "@effect/vitest"
import { JWTAuthProvider } from "@mcpgate/mcp-sdk"
import { decodeJwt } from "jose"
import { apiKeys, headersFor, KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "../fixtures/credentials.js"
import type { OpenStream, RawResponse } from "@mcpgate/testing/wire"
import { openGet, send } from "@mcpgate/testing/wire"
import {
  apiKey,
  bearer,
  connectAs,
  initializeRaw,
  inSession,
  openedGet,
  PING,
  pingIn,
  serve,
  sleep,
  waitFor,
  within
} from "./support.js"
import { Bodies, Challenge } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"

const SDKS = ["v1", "v2"] as const

const ACCEPT_SSE: readonly [string, string] = ["Accept", "text/event-stream"]

/** Removes Alice's key; Bob's stays. */
const revokeAlice = (provider: ReturnType<typeof apiKeys>) => provider.updateKeys([{ key: KEY_BOB, label: "bob" }])

const expect401 = (response: RawResponse, body: string, challenge: string) => {
  expect(response.status).toBe(401)
  expect(response.body).toBe(body)
  expect(response.header("www-authenticate")).toBe(challenge)
}

const expectSdkNotFound = (response: RawResponse) => {
  expect(response.status).toBe(404)
  expect(response.body).toBe(Bodies.sdkSessionNotFound)
}

/** Opens `GET /sse` with `credentials` and reads the session id from the endpoint event. */
const openSse = async (base: URL, credentials: ReadonlyArray<readonly [string, string]>) => {
  const stream: OpenStream = await openGet(base, "/sse", credentials)
  expect(stream.response.header("content-type")).toBe("text/event-stream")
  await waitFor("the endpoint event", () => /sessionId=[0-9a-f-]{36}/.test(stream.received()), 1000)
  return { stream, sessionId: /sessionId=([0-9a-f-]{36})/.exec(stream.received())![1]! }
}

describe.concurrent("rotation", () => {
  for (const sdk of SDKS) {
    it.scopedLive(`Streamable HTTP (server ${sdk}): removing Alice's key closes her session and ends her GET stream; her next request is a 401; Bob carries on`, () => inScope(async (use) => {
      const provider = apiKeys()
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider } }))
      const aliceSession = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      const aliceStream = await use(openedGet(endpoint, "/mcp", [ACCEPT_SSE, ...inSession(aliceSession), ...apiKey(KEY_ALICE)]))
      const bob = await use(connectAs(sdk, "http-stream", endpoint, headersFor({ apiKey: KEY_BOB })))
      expect(server.sessionCount).toBe(2)

      revokeAlice(provider)

      await waitFor("Alice's session closed", () => server.sessionCount === 1, 1000)
      await within(1000, "Alice's GET stream ended", aliceStream.ended)
      expect401(await pingIn(endpoint, aliceSession, apiKey(KEY_ALICE)), Bodies.apiKey, Challenge.apiKey())
      expect((await bob.whoami())?.clientId).toBe("bob")
      expect(server.sessionCount).toBe(1)
    }))

    it.scopedLive(`Streamable HTTP (server ${sdk}): a real client's session goes too, and giving the key back does not bring it back`, () => inScope(async (use) => {
      const provider = apiKeys()
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider } }))
      const alice = await use(connectAs(sdk, "http-stream", endpoint, headersFor({ apiKey: KEY_ALICE })))
      const aliceSession = alice.sessionId()!
      expect(server.sessionCount).toBe(1)

      revokeAlice(provider)
      await waitFor("Alice's session closed", () => server.sessionCount === 0, 1000)
      await expect(alice.whoami()).rejects.toThrow()

      provider.updateKeys([{ key: KEY_ALICE, label: "alice", scopes: ["tools:read"] }, { key: KEY_BOB, label: "bob" }])
      expectSdkNotFound(await pingIn(endpoint, aliceSession, apiKey(KEY_ALICE)))
      // She can start over.
      await initializeRaw(endpoint, apiKey(KEY_ALICE))
      expect(server.sessionCount).toBe(1)
    }))

    it.scopedLive(`Streamable HTTP (server ${sdk}): a rotation that keeps Alice's key leaves her session open`, () => inScope(async (use) => {
      const provider = apiKeys()
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider } }))
      const alice = await use(connectAs(sdk, "http-stream", endpoint, headersFor({ apiKey: KEY_ALICE })))

      provider.updateKeys([{ key: KEY_ALICE, label: "alice", scopes: ["tools:read"] }])
      // Give a wrong revocation the time it would need to show.
      await sleep(100)
      expect(server.sessionCount).toBe(1)
      expect((await alice.whoami())?.clientId).toBe("alice")
    }))

    it.scopedLive(`SSE transport (server ${sdk}): removing Alice's key ends her stream; her next POST is a 401; Bob's stream carries on`, () => inScope(async (use) => {
      const provider = apiKeys()
      const { base, endpoint, server } = await use(serve(sdk, "sse", { auth: { provider } }))
      const { sessionId, stream } = await openSse(base, apiKey(KEY_ALICE))
      const bob = await use(connectAs(sdk, "sse", endpoint, headersFor({ apiKey: KEY_BOB })))
      expect(server.sessionCount).toBe(2)

      revokeAlice(provider)

      await within(1000, "Alice's stream ended", stream.ended)
      await waitFor("Alice's session closed", () => server.sessionCount === 1, 1000)
      const refused = await send(
        base,
        "POST",
        `/messages?sessionId=${sessionId}`,
        [["Content-Type", "application/json"], ...apiKey(KEY_ALICE)],
        PING
      )
      expect401(refused, Bodies.apiKey, Challenge.apiKey())
      expect((await bob.whoami())?.clientId).toBe("bob")
    }))
  }
})

describe.concurrent("rotation, stateless", () => {
  for (const sdk of SDKS) {
    it.scopedLive(`stateless Streamable HTTP (server ${sdk}): removing Alice's key ends her open GET stream; Bob's stays`, () => inScope(async (use) => {
      const provider = apiKeys()
      const { endpoint } = await use(serve(sdk, "http-stream", { auth: { provider }, stateless: true }))
      const alice = await use(openedGet(endpoint, "/mcp", [ACCEPT_SSE, ...apiKey(KEY_ALICE)]))
      const bob = await use(openedGet(endpoint, "/mcp", [ACCEPT_SSE, ...apiKey(KEY_BOB)]))
      expect([alice.response.status, bob.response.status]).toEqual([200, 200])

      revokeAlice(provider)

      await within(1000, "Alice's GET stream ended", alice.ended)
      await sleep(200)
      expect(bob.isEnded()).toBe(false)
    }))
  }
})

describe.concurrent("expiry of the owner's JWT (clockTolerance: 0)", () => {
  const strict = () => new JWTAuthProvider({ secret: SECRET, clockTolerance: 0 })

  /** Waits for `closed` and checks it happened between `exp` and 1.5 s after it. */
  const expectClosedAtExpiry = async (exp: number, what: string, closed: () => boolean) => {
    const deadline = exp * 1000 + 1500
    await waitFor(what, closed, deadline - Date.now())
    // 20 ms of slack for timers that fire a little early.
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 20)
  }

  for (const sdk of SDKS) {
    it.scopedLive(`Streamable HTTP (server ${sdk}): the session and its GET stream close at exp; the token is then a 401`, () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: strict() } }))
      const token = await tokenFor("alice", { expiresIn: 2 })
      const exp = decodeJwt(token).exp!
      const sessionId = await initializeRaw(endpoint, bearer(token))
      const stream = await use(openedGet(endpoint, "/mcp", [ACCEPT_SSE, ...inSession(sessionId), ...bearer(token)]))
      expect(server.sessionCount).toBe(1)

      await expectClosedAtExpiry(exp, "the session closed", () => server.sessionCount === 0)
      await waitFor("the GET stream ended", stream.isEnded, 500)
      expect401(await pingIn(endpoint, sessionId, bearer(token)), Bodies.jwt, Challenge.invalidToken)
    }))

    it.scopedLive(`stateless Streamable HTTP (server ${sdk}): a GET stream, with no session to close, ends at exp too`, () => inScope(async (use) => {
      const { endpoint } = await use(serve(sdk, "http-stream", { auth: { provider: strict() }, stateless: true }))
      const token = await tokenFor("alice", { expiresIn: 2 })
      const exp = decodeJwt(token).exp!
      const stream = await use(openedGet(endpoint, "/mcp", [ACCEPT_SSE, ...bearer(token)]))
      expect(stream.response.status).toBe(200)
      await expectClosedAtExpiry(exp, "the stateless GET stream ended", stream.isEnded)
    }))

    it.scopedLive(`SSE transport (server ${sdk}): the stream opened with the token ends at exp`, () => inScope(async (use) => {
      const { base, server } = await use(serve(sdk, "sse", { auth: { provider: strict() } }))
      const token = await tokenFor("alice", { expiresIn: 2 })
      const exp = decodeJwt(token).exp!
      const { stream } = await openSse(base, bearer(token))
      expect(server.sessionCount).toBe(1)

      await expectClosedAtExpiry(exp, "the stream ended", stream.isEnded)
      expect(server.sessionCount).toBe(0)
    }))
  }
})

describe.concurrent("sessionIdleTimeout: 1", () => {
  for (const sdk of SDKS) {
    it.scopedLive(`server ${sdk}: a session with no request open is closed within a few seconds; its id is then unknown`, () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, sessionIdleTimeout: 1 }))
      const sessionId = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      expect(server.sessionCount).toBe(1)

      const waited = await waitFor("the idle session closed", () => server.sessionCount === 0, 3000)
      // Not before the timeout (less the time the initialize answer took to arrive).
      expect(waited).toBeGreaterThanOrEqual(900)
      expectSdkNotFound(await pingIn(endpoint, sessionId, apiKey(KEY_ALICE)))
    }))

    it.scopedLive(`server ${sdk}: a session whose GET stream is open is kept while it is open, and closed once it is not`, () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, sessionIdleTimeout: 1 }))
      const sessionId = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      const stream = await use(openedGet(endpoint, "/mcp", [ACCEPT_SSE, ...inSession(sessionId), ...apiKey(KEY_ALICE)]))

      // The idle check runs every second from the start: at least two have passed.
      await sleep(2300)
      expect(server.sessionCount).toBe(1)
      expect(stream.isEnded()).toBe(false)

      stream.close()
      await waitFor("the session closed after its stream", () => server.sessionCount === 0, 3000)
    }))
  }

  it.scopedLive("requests keep a session alive: pinged every 300 ms, it outlives the timeout", () => inScope(async (use) => {
    const { endpoint, server } = await use(serve("v2", "http-stream", { auth: { provider: apiKeys() }, sessionIdleTimeout: 1 }))
    const sessionId = await initializeRaw(endpoint, apiKey(KEY_ALICE))

    for (let round = 0; round < 8; round++) {
      await sleep(300)
      const pong = await pingIn(endpoint, sessionId, apiKey(KEY_ALICE))
      expect(pong.status, `ping ${round}: ${pong.body}`).toBe(200)
    }
    expect(server.sessionCount).toBe(1)
  }))
})

describe.concurrent("stop() with clients connected", () => {
  /** Stops the server; more than a second (the drain allows five) fails. */
  const stopPromptly = (stop: () => Promise<void>) => within(1000, "stop() resolved", stop())

  const expectPortClosed = async (base: URL) => {
    await expect(send(base, "GET", "/health")).rejects.toThrow()
  }

  for (const sdk of SDKS) {
    const other = sdk === "v1" ? "v2" : "v1"

    it.scopedLive(`SSE transport (server ${sdk}): every stream ends, stop() resolves within a second, the port is closed`, () => inScope(async (use) => {
      const { base, endpoint, server } = await use(serve(sdk, "sse", { auth: { provider: apiKeys() } }))
      await use(connectAs(sdk, "sse", endpoint, headersFor({ apiKey: KEY_ALICE })))
      await use(connectAs(other, "sse", endpoint, headersFor({ apiKey: KEY_BOB })))
      const { stream } = await openSse(base, apiKey(KEY_ALICE))
      expect(server.sessionCount).toBe(3)

      await stopPromptly(() => server.stop())

      // The server has closed the connection; the close reaches this end a moment later.
      await within(200, "the stream ended", stream.ended)
      expect(server.sessionCount).toBe(0)
      await expectPortClosed(base)
    }))

    it.scopedLive(`Streamable HTTP (server ${sdk}): every GET stream ends, stop() resolves within a second, the port is closed`, () => inScope(async (use) => {
      const { base, endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() } }))
      const alice = await use(connectAs(sdk, "http-stream", endpoint, headersFor({ apiKey: KEY_ALICE })))
      await use(connectAs(other, "http-stream", endpoint, headersFor({ apiKey: KEY_BOB })))
      expect((await alice.whoami())?.clientId).toBe("alice")
      const sessionId = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      const stream = await use(openedGet(endpoint, "/mcp", [ACCEPT_SSE, ...inSession(sessionId), ...apiKey(KEY_ALICE)]))
      expect(server.sessionCount).toBe(3)

      await stopPromptly(() => server.stop())

      await within(200, "the stream ended", stream.ended)
      expect(server.sessionCount).toBe(0)
      await expectPortClosed(base)
    }))
  }
})
