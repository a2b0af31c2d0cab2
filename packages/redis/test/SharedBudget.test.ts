/**
 * Several server instances on one Redis share each client's failed-attempt budget, and a
 * Redis outage mid-run gives the documented behaviour: counting in memory by default, or
 * the contract's 503 when configured fail-closed; Redis is used again once it is back.
 */
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { SseServer } from "@mcpgate/node"
import { RedisStore } from "@mcpgate/redis"
import * as Logger from "effect/Logger"
import * as http from "node:http"
import { freePort, HAS_REDIS_SERVER, REDIS_URL, startRedisServer, uniquePrefix } from "./fixtures/redis.js"
import { Bodies } from "@mcpgate/testing/contract"

const KEY = "mcp_redis_test_key_8d2f1a"
/** A second configured key, for what a client gets with a key it has not proven from its address. */
const OTHER_KEY = "mcp_redis_other_key_5c7e90"
const WRONG = "mcp_redis_wrong_key_000000"

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})
const agent = new http.Agent({ keepAlive: true })
afterAll(() => agent.destroy())

/** An SSE server instance counting failures in `store`. */
const instance = async (
  store: RedisStore.Connection["store"],
  options: { readonly onStoreUnavailable?: "memory" | "refuse"; readonly maxFailures?: number } = {}
) => {
  const server = await SseServer.listen({
    port: 0,
    auth: { provider: new APIKeyAuthProvider({ keys: [KEY, OTHER_KEY] }) },
    onSession: () => {},
    rateLimit: { store, maxFailures: options.maxFailures ?? 4, onStoreUnavailable: options.onStoreUnavailable },
    // Redis outages are logged; these tests look at answers.
    logger: Logger.none
  })
  cleanups.push(() => server.close())
  return server
}

const post = (server: SseServer.RunningServer, key: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(
      new URL("/messages?sessionId=none", server.url),
      { method: "POST", agent, headers: { "x-api-key": key, "content-type": "application/json" } },
      (response) => {
        let body = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (body += chunk))
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }))
      }
    )
    request.on("error", reject)
    request.end("{}")
  })

const connection = (url: string) => {
  const redis = RedisStore.connect({ url, keyPrefix: uniquePrefix() })
  cleanups.push(() => redis.close())
  return redis
}

describe.skipIf(REDIS_URL === undefined)("two instances on one Redis", () => {
  it("share each client's budget: failures on one count on the other", async () => {
    const prefix = uniquePrefix()
    const first = RedisStore.connect({ url: REDIS_URL!, keyPrefix: prefix })
    const second = RedisStore.connect({ url: REDIS_URL!, keyPrefix: prefix })
    cleanups.push(() => first.close(), () => second.close())
    const a = await instance(first.store)
    const b = await instance(second.store)
    expect((await post(a, WRONG)).status).toBe(401)
    expect((await post(b, WRONG)).status).toBe(401)
    expect((await post(a, WRONG)).status).toBe(401)
    expect((await post(b, WRONG)).status).toBe(401)
    // Both now refuse this client, good key included.
    expect(await post(a, KEY)).toEqual({ status: 429, body: Bodies.rateLimited })
    expect(await post(b, KEY)).toEqual({ status: 429, body: Bodies.rateLimited })
  })

  it("keep separate budgets under separate prefixes (separate deployments on one Redis)", async () => {
    const a = await instance(connection(REDIS_URL!).store, { maxFailures: 2 })
    const b = await instance(connection(REDIS_URL!).store, { maxFailures: 2 })
    await post(a, WRONG)
    await post(a, WRONG)
    expect((await post(a, KEY)).status).toBe(429)
    expect((await post(b, KEY)).status).toBe(404)
  })
})

describe.skipIf(REDIS_URL === undefined || !HAS_REDIS_SERVER)("Redis stopped mid-run, then back", () => {
  it("by default counts in memory while Redis is down, and shares the budget again once it is back", async () => {
    const redis = await startRedisServer(await freePort())
    cleanups.push(() => redis.kill())
    const prefix = uniquePrefix()
    const first = RedisStore.connect({ url: redis.url, keyPrefix: prefix })
    const second = RedisStore.connect({ url: redis.url, keyPrefix: prefix })
    cleanups.push(() => first.close(), () => second.close())
    const a = await instance(first.store, { maxFailures: 3 })
    const b = await instance(second.store, { maxFailures: 3 })
    expect((await post(a, WRONG)).status).toBe(401)

    await redis.kill()
    // Nobody is locked out by the outage, and brute force is still limited, per instance.
    expect((await post(a, KEY)).status).toBe(404)
    for (let i = 0; i < 3; i++) expect((await post(a, WRONG)).status).toBe(401)
    expect((await post(a, WRONG)).status).toBe(429)
    // The key this client proved before its lockout is still served (the gate's exemption).
    expect((await post(a, KEY)).status).toBe(404)
    expect((await post(b, KEY)).status).toBe(404)

    const back = await startRedisServer(redis.port)
    cleanups.push(() => back.kill())
    // Redis came back empty: the budget starts afresh, and is shared again. (`a` proved KEY
    // before its lockout, so only another key shows that its lockout is over.)
    await waitFor(async () => (await post(b, WRONG)).status === 401 && (await post(a, OTHER_KEY)).status === 404)
    await post(a, WRONG)
    await post(b, WRONG)
    await waitFor(async () => (await post(a, WRONG)).status === 429)
    expect((await post(b, WRONG)).status).toBe(429)
  }, 20_000)

  it("with onStoreUnavailable \"refuse\", answers 503 while Redis is down, and serves again once it is back", async () => {
    const redis = await startRedisServer(await freePort())
    cleanups.push(() => redis.kill())
    const server = await instance(connection(redis.url).store, { onStoreUnavailable: "refuse" })
    expect((await post(server, KEY)).status).toBe(404)
    await redis.kill()
    expect(await post(server, KEY)).toEqual({ status: 503, body: Bodies.unavailable })
    expect(await post(server, WRONG)).toEqual({ status: 503, body: Bodies.unavailable })
    const back = await startRedisServer(redis.port)
    cleanups.push(() => back.kill())
    await waitFor(async () => (await post(server, KEY)).status === 404)
  }, 20_000)
})

/** Polls `condition` every 100 ms for up to 8 s. */
const waitFor = async (condition: () => Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + 8_000
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error("the condition did not hold within 8 s")
}
