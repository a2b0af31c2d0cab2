/**
 * Contract section 4: keys rotate at run time, and a revoked credential's open streams are
 * closed (`endReason === "revoked"`), while every other stream stays open.
 */
import { JWTAuthProvider } from "@mcpgate/auth-core"
import { describe, expect, it } from "@effect/vitest"
import { inScope } from "@mcpgate/testing/scoped"
import type { JWK } from "jose"
import { exportJWK, generateKeyPair, SignJWT } from "jose"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, tokenFor } from "@mcpgate/testing/credentials"
import { apiKey, bearer, post, recordingServers, sleep, within } from "./support.js"
import { Bodies } from "@mcpgate/testing/contract"

const NEW_SECRET = "a-rotated-secret-also-32-bytes-or-more!!"
const KEY_CAROL = "mcp_test_carol_5e2b8d1f4a7c"

const { serve, openAs } = recordingServers()

/** How long a rotation may take to close a stream. */
const PROMPTLY = 1000

describe("API keys rotated with updateKeys", () => {
  it.scopedLive("removing Alice's key closes her open stream; Bob's stays open and keeps working", () => inScope(async (use) => {
    const provider = apiKeyProvider()
    const { record, server } = await use(serve({ provider, endpoints: { sse: true, messages: true } }))
    const alice = await use(openAs(server, record, apiKey(KEY_ALICE)))
    const bob = await use(openAs(server, record, apiKey(KEY_BOB)))

    provider.updateKeys([{ key: KEY_BOB, label: "bob" }])

    expect(await within(alice.session.closed, PROMPTLY)).toBe("settled")
    expect(alice.session.transport.endReason).toBe("revoked")
    expect(await within(alice.ended, PROMPTLY)).toBe("settled")
    // Give a wrongly closing Bob the same time to show it.
    await sleep(100)
    expect(bob.session.transport.endReason).toBeUndefined()
    expect(await within(bob.ended, 0)).toBe("pending")
    expect(server.sse.sessionCount()).toBe(1)

    expect((await post(server, bob.sessionId, apiKey(KEY_BOB))).status).toBe(202)
    expect(bob.session.messages).toHaveLength(1)
    // Alice's key now fails before anything else is looked at.
    const refused = await post(server, alice.sessionId, apiKey(KEY_ALICE))
    expect(refused.status).toBe(401)
    expect(refused.body).toBe(Bodies.apiKey)
  }))

  it.scopedLive("a rotation that keeps a key keeps its streams", () => inScope(async (use) => {
    const provider = apiKeyProvider()
    const { record, server } = await use(serve({ provider, endpoints: { sse: true, messages: true } }))
    const alice = await use(openAs(server, record, apiKey(KEY_ALICE)))
    const bob = await use(openAs(server, record, apiKey(KEY_BOB)))

    provider.updateKeys([
      { key: KEY_ALICE, label: "alice", scopes: ["tools:read"] },
      { key: KEY_BOB, label: "bob" },
      { key: KEY_CAROL, label: "carol" }
    ])
    await sleep(200)

    expect(alice.session.transport.endReason).toBeUndefined()
    expect(bob.session.transport.endReason).toBeUndefined()
    expect(server.sse.sessionCount()).toBe(2)
    expect((await post(server, alice.sessionId, apiKey(KEY_ALICE))).status).toBe(202)
  }))

  it.scopedLive("a stream opened without credentials is closed once the key that bound it is revoked", () => inScope(async (use) => {
    const provider = apiKeyProvider()
    const { record, server } = await use(serve({ provider }))
    const bound = await use(openAs(server, record, []))
    const unbound = await use(openAs(server, record, []))
    expect((await post(server, bound.sessionId, apiKey(KEY_ALICE))).status).toBe(202)

    provider.updateKeys([{ key: KEY_BOB, label: "bob" }])

    expect(await within(bound.session.closed, PROMPTLY)).toBe("settled")
    expect(bound.session.transport.endReason).toBe("revoked")
    // Nobody owns the other session yet: there is nothing to revoke.
    await sleep(100)
    expect(unbound.session.transport.endReason).toBeUndefined()
    expect((await post(server, unbound.sessionId, apiKey(KEY_BOB))).status).toBe(202)
  }))
})

describe("JWT keys rotated with updateKeys", () => {
  it.scopedLive("a new secret closes the streams of tokens signed with the old one; new tokens then work", () => inScope(async (use) => {
    const provider = jwtProvider()
    const { record, server } = await use(serve({ provider, endpoints: { sse: true, messages: true } }))
    const alice = await use(openAs(server, record, bearer(await tokenFor("alice"))))
    const bob = await use(openAs(server, record, bearer(await tokenFor("bob"))))

    provider.updateKeys({ secret: NEW_SECRET })

    expect(await within(Promise.all([alice.session.closed, bob.session.closed]), PROMPTLY)).toBe("settled")
    expect(alice.session.transport.endReason).toBe("revoked")
    expect(bob.session.transport.endReason).toBe("revoked")
    expect(server.sse.sessionCount()).toBe(0)

    const carol = await use(openAs(server, record, bearer(await tokenFor("carol", { secret: NEW_SECRET }))))
    expect((await post(server, carol.sessionId, bearer(await tokenFor("carol", { secret: NEW_SECRET })))).status).toBe(202)
    const refused = await post(server, carol.sessionId, bearer(await tokenFor("carol")))
    expect(refused.status).toBe(401)
    expect(refused.body).toBe(Bodies.jwt)
  }))

  it.scopedLive("dropping one of two public keys closes only the streams of tokens it signed", () => inScope(async (use) => {
    const [first, second] = await Promise.all([esKey("key-a"), esKey("key-b")])
    const provider = new JWTAuthProvider({ jwks: { keys: [first.jwk, second.jwk] } })
    const { record, server } = await use(serve({ provider, endpoints: { sse: true, messages: true } }))
    const alice = await use(openAs(server, record, bearer(await first.sign("alice"))))
    const bob = await use(openAs(server, record, bearer(await second.sign("bob"))))

    provider.updateKeys({ jwks: { keys: [second.jwk] } })

    expect(await within(alice.session.closed, PROMPTLY)).toBe("settled")
    expect(alice.session.transport.endReason).toBe("revoked")
    await sleep(100)
    expect(bob.session.transport.endReason).toBeUndefined()
    expect(server.sse.sessionCount()).toBe(1)
    expect((await post(server, bob.sessionId, bearer(await second.sign("bob")))).status).toBe(202)
  }))
})

describe("after the server is closed", () => {
  it.scopedLive("a rotation no longer touches anything and does not throw", () => inScope(async (use) => {
    const provider = apiKeyProvider()
    const { record, server } = await use(serve({ provider, endpoints: { sse: true, messages: true } }))
    const alice = await use(openAs(server, record, apiKey(KEY_ALICE)))
    await server.close()
    expect(alice.session.transport.endReason).toBe("server_closed")

    expect(() => provider.updateKeys([{ key: KEY_BOB, label: "bob" }])).not.toThrow()
    await sleep(50)
    expect(alice.session.transport.endReason).toBe("server_closed")
    expect(alice.session.closes()).toBe(1)
  }))
})

/** An ES256 key pair: the public JWK (with `kid` and `alg`), and a signer for tokens. */
const esKey = async (kid: string) => {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true })
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "ES256", use: "sig" }
  const sign = (sub: string) =>
    new SignJWT({ scope: "tools:read" })
      .setProtectedHeader({ alg: "ES256", kid })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(privateKey)
  return { jwk: jwk as Record<string, unknown>, sign }
}
