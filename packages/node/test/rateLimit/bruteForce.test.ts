import { describe, expect, it } from "@effect/vitest"
import { RateLimiter } from "@mcpgate/http"
import { NodeGuard, SseServer } from "@mcpgate/node"
import { Bodies } from "@mcpgate/testing/contract"
import { httpServer, inScope } from "@mcpgate/testing/scoped"
import { apiKeyProvider, KEY_ALICE, KEY_BOB } from "@mcpgate/testing/credentials"
import { sendFrom } from "@mcpgate/testing/wire"
import { listening, start } from "../fixtures/servers.js"

const ATTACKER = "127.0.0.1"
const USER = "127.0.0.2"

/** A message POST: after authentication the unknown session gives 404, which proves the key was accepted. */
const post = (url: URL, from: string, key: string) =>
  sendFrom(from, url, "POST", "/messages?sessionId=none", [["x-api-key", key], ["content-type", "application/json"]], "{}")

describe("a brute-force run on loopback (contract section 6, step 4)", () => {
  it.scopedLive("1,000 wrong keys from one address get 401, then 429 with Retry-After; another address is served throughout", () => inScope(async (use) => {
    const server = await use(listening({ auth: { provider: apiKeyProvider() }, onSession: () => {} }))

    const statuses = new Map<number, number>()
    const retryAfters = new Set<string>()
    for (let attempt = 0; attempt < 1_000; attempt++) {
      const reply = await post(server.url, ATTACKER, `wrong_key_${attempt.toString().padStart(12, "0")}`)
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1)
      if (attempt < 20) {
        expect(reply.status).toBe(401)
        expect(reply.body).toBe(Bodies.apiKey)
      } else {
        expect(reply.status).toBe(429)
        expect(reply.body).toBe(Bodies.rateLimited)
        expect(reply.header("content-type")).toBe("application/json")
        retryAfters.add(reply.header("retry-after")!)
      }
      if (attempt % 50 === 0) {
        // The legitimate client from another address: authenticated (404: no such session), never slowed.
        expect((await post(server.url, USER, KEY_ALICE)).status).toBe(404)
      }
    }
    expect(Object.fromEntries(statuses)).toEqual({ 401: 20, 429: 980 })
    // Whole seconds until the window of the first failure ends: sensible, never more than the window.
    for (const value of retryAfters) {
      expect(value).toMatch(/^\d+$/)
      expect(Number(value)).toBeGreaterThanOrEqual(1)
      expect(Number(value)).toBeLessThanOrEqual(60)
    }
    // A limited client is turned away even with a good key, before any check of it.
    expect((await post(server.url, ATTACKER, KEY_ALICE)).status).toBe(429)
  }), 60_000)

  it.scopedLive("after the window, the limited address can authenticate again", () => inScope(async (use) => {
    const server = await use(listening({
      auth: { provider: apiKeyProvider() },
      onSession: () => {},
      rateLimit: { maxFailures: 5, window: 1 }
    }))
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await post(server.url, ATTACKER, "wrong_key_aaaaaaaaaaaa")).status).toBe(401)
    }
    const limited = await post(server.url, ATTACKER, KEY_ALICE)
    expect(limited.status).toBe(429)
    expect(limited.header("retry-after")).toBe("1")
    await new Promise((resolve) => setTimeout(resolve, 1_100))
    expect((await post(server.url, ATTACKER, KEY_ALICE)).status).toBe(404)
  }))

  it.scopedLive("with endpoints.messages false, anonymous posts spend no budget; a wrong key still does", () => inScope(async (use) => {
    const server = await use(listening({
      auth: { provider: apiKeyProvider(), endpoints: { messages: false } },
      onSession: () => {},
      rateLimit: { maxFailures: 3 }
    }))
    const anonymous = () => sendFrom(ATTACKER, server.url, "POST", "/messages?sessionId=none", [["content-type", "application/json"]], "{}")
    for (let i = 0; i < 10; i++) expect((await anonymous()).status).toBe(404)
    for (let i = 0; i < 3; i++) expect((await post(server.url, ATTACKER, "wrong_key_aaaaaaaaaaaa")).status).toBe(401)
    expect((await anonymous()).status).toBe(429)
  }))
})

describe("trustProxy: the client behind a proxy", () => {
  const forwarded = (url: URL, forwardedFor: string, key: string) =>
    sendFrom(
      ATTACKER,
      url,
      "POST",
      "/messages?sessionId=none",
      [["x-api-key", key], ["content-type", "application/json"], ["x-forwarded-for", forwardedFor]],
      "{}"
    )

  it.scopedLive("gives each forwarded address its own budget when the socket is a trusted proxy", () => inScope(async (use) => {
    const server = await use(listening({
      auth: { provider: apiKeyProvider() },
      onSession: () => {},
      rateLimit: { maxFailures: 3 },
      trustProxy: ["loopback"]
    }))
    // 30 addresses, one failure each: nobody is over budget.
    for (let i = 0; i < 30; i++) expect((await forwarded(server.url, `198.51.100.${i}`, "wrong_key_aaaaaaaaaaaa")).status).toBe(401)
    // One address over budget; the entry the client forged on the left changes nothing.
    for (let i = 0; i < 3; i++) await forwarded(server.url, `6.6.6.${i}, 203.0.113.9`, "wrong_key_aaaaaaaaaaaa")
    expect((await forwarded(server.url, "203.0.113.9", KEY_BOB)).status).toBe(429)
    expect((await forwarded(server.url, "203.0.113.10", KEY_BOB)).status).toBe(404)
  }))

  it.scopedLive("ignores X-Forwarded-For from a socket that is not a trusted proxy", () => inScope(async (use) => {
    const server = await use(listening({
      auth: { provider: apiKeyProvider() },
      onSession: () => {},
      rateLimit: { maxFailures: 3 },
      trustProxy: ["10.0.0.0/8"]
    }))
    for (let i = 0; i < 3; i++) await forwarded(server.url, `198.51.100.${i}`, "wrong_key_aaaaaaaaaaaa")
    expect((await forwarded(server.url, "198.51.100.200", KEY_BOB)).status).toBe(429)
  }))

  it("refuses a trustProxy entry that is not an address or range, at startup", async () => {
    await expect(start({ auth: { provider: apiKeyProvider() }, onSession: () => {}, trustProxy: ["proxy.internal"] }))
      .rejects.toThrow("- trustProxy: (item 1) \"proxy.internal\" is not an IP address")
  })

  it("refuses bad rateLimit options at startup, each problem once", () => {
    const refusal = (rateLimit: unknown): string => {
      try {
        SseServer.unsafeMake({ auth: { provider: apiKeyProvider() }, onSession: () => {}, rateLimit: rateLimit as never })
        return "accepted"
      } catch (error) {
        return (error as Error).message
      }
    }
    expect(refusal({ maxFailures: 0 })).toBe("Invalid SSE server options:\n  - rateLimit.maxFailures: 0 is not a positive whole number")
    expect(refusal({ maxFailure: 3 })).toContain("- rateLimit.maxFailure: is unexpected")
    expect(refusal("yes")).toBe(
      "Invalid SSE server options:\n  - rateLimit: must be false, a RateLimiter, or options " +
        "{ maxFailures, window, store, maxClients, onStoreUnavailable }"
    )
  })
})

describe("NodeGuard: the same gate in front of any handler", () => {
  it.scopedLive("limits failed attempts per client, and shares a limiter when given one", () => inScope(async (use) => {
    const limiter = RateLimiter.unsafeMake({ maxFailures: 2 })
    const guard = NodeGuard.unsafeMake({ provider: apiKeyProvider(), rateLimit: limiter })
    const { url } = await use(httpServer(async (request, response) => {
      if ((await guard.authenticate(request, response)) !== undefined) response.end("ok")
    }))
    const get = (from: string, key: string) => sendFrom(from, url, "GET", "/", [["x-api-key", key]])
    expect((await get(ATTACKER, "wrong_key_aaaaaaaaaaaa")).status).toBe(401)
    expect((await get(ATTACKER, "wrong_key_aaaaaaaaaaaa")).status).toBe(401)
    expect(await get(ATTACKER, KEY_ALICE)).toMatchObject({ status: 429, body: Bodies.rateLimited })
    expect(await get(USER, KEY_ALICE)).toMatchObject({ status: 200, body: "ok" })
    // The limiter is shared: a server built with it sees the same budget.
    const sse = await use(listening({ auth: { provider: apiKeyProvider() }, onSession: () => {}, rateLimit: limiter }))
    expect((await post(sse.url, ATTACKER, KEY_ALICE)).status).toBe(429)
  }))
})
