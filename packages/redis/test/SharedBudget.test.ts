/**
 * Several server instances on one Redis share each client's failed-attempt budget, and a
 * Redis outage mid-run gives the documented behaviour: counting in memory by default, or
 * the contract's 503 when configured fail-closed; Redis is used again once it is back.
 */
import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { SseServer } from "@mcpgate/node"
import { RedisStore } from "@mcpgate/redis"
import * as Logger from "effect/Logger"
import { freePort, HAS_REDIS_SERVER, REDIS_URL, startRedisServer, uniquePrefix } from "./fixtures/redis.js"
import { Bodies } from "@mcpgate/testing/contract"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import { send } from "@mcpgate/testing/wire"

const KEY = "mcp_redis_test_key_8d2f1a"
/** A second configured key, for what a client gets with a key it has not proven from its address. */
const OTHER_KEY = "mcp_redis_other_key_5c7e90"
const WRONG = "mcp_redis_wrong_key_000000"

/** An SSE server instance counting failures in `store`, closed with the test's scope. */
const instance = (
  store: RedisStore.Connection["store"],
  options: { readonly onStoreUnavailable?: "memory" | "refuse"; readonly maxFailures?: number } = {}
) =>
  acquire(
    () =>
      SseServer.listen({
        port: 0,
        auth: { provider: new APIKeyAuthProvider({ keys: [KEY, OTHER_KEY] }) },
        onSession: () => {},
        rateLimit: { store, maxFailures: options.maxFailures ?? 4, onStoreUnavailable: options.onStoreUnavailable },
        // Redis outages are logged; these tests look at answers.
        logger: Logger.none
      }),
    (server) => server.close()
  )

const post = async (server: SseServer.RunningServer, key: string): Promise<{ status: number; body: string }> => {
  const { body, status } = await send(
    server.url,
    "POST",
    "/messages?sessionId=none",
    [["x-api-key", key], ["content-type", "application/json"]],
    "{}"
  )
  return { status, body }
}

/** A store on Redis at `url` under `keyPrefix` (default: a prefix of its own), closed with the test's scope. */
const connection = (url: string, keyPrefix = uniquePrefix()) =>
  acquire(() => RedisStore.connect({ url, keyPrefix }), (redis) => redis.close())

/** A private `redis-server` on `port`, killed with the test's scope (if a test has not killed it already). */
const redisServer = (port: number) => acquire(() => startRedisServer(port), (redis) => redis.kill())

describe.skipIf(REDIS_URL === undefined)("two instances on one Redis", () => {
  it.scopedLive("share each client's budget: failures on one count on the other", () => inScope(async (use) => {
    const prefix = uniquePrefix()
    const first = await use(connection(REDIS_URL!, prefix))
    const second = await use(connection(REDIS_URL!, prefix))
    const a = await use(instance(first.store))
    const b = await use(instance(second.store))
    expect((await post(a, WRONG)).status).toBe(401)
    expect((await post(b, WRONG)).status).toBe(401)
    expect((await post(a, WRONG)).status).toBe(401)
    expect((await post(b, WRONG)).status).toBe(401)
    // Both now refuse this client, good key included.
    expect(await post(a, KEY)).toEqual({ status: 429, body: Bodies.rateLimited })
    expect(await post(b, KEY)).toEqual({ status: 429, body: Bodies.rateLimited })
  }))

  it.scopedLive("keep separate budgets under separate prefixes (separate deployments on one Redis)", () => inScope(async (use) => {
    const a = await use(instance((await use(connection(REDIS_URL!))).store, { maxFailures: 2 }))
    const b = await use(instance((await use(connection(REDIS_URL!))).store, { maxFailures: 2 }))
    await post(a, WRONG)
    await post(a, WRONG)
    expect((await post(a, KEY)).status).toBe(429)
    expect((await post(b, KEY)).status).toBe(404)
  }))
})

describe.skipIf(REDIS_URL === undefined || !HAS_REDIS_SERVER)("Redis stopped mid-run, then back", () => {
  it.scopedLive("by default counts in memory while Redis is down, and shares the budget again once it is back", () => inScope(async (use) => {
    const redis = await use(redisServer(await freePort()))
    const prefix = uniquePrefix()
    const first = await use(connection(redis.url, prefix))
    const second = await use(connection(redis.url, prefix))
    const a = await use(instance(first.store, { maxFailures: 3 }))
    const b = await use(instance(second.store, { maxFailures: 3 }))
    expect((await post(a, WRONG)).status).toBe(401)

    await redis.kill()
    // Nobody is locked out by the outage, and brute force is still limited, per instance.
    expect((await post(a, KEY)).status).toBe(404)
    for (let i = 0; i < 3; i++) expect((await post(a, WRONG)).status).toBe(401)
    expect((await post(a, WRONG)).status).toBe(429)
    // The key this client proved before its lockout is still served (the gate's exemption).
    expect((await post(a, KEY)).status).toBe(404)
    expect((await post(b, KEY)).status).toBe(404)

    await use(redisServer(redis.port))
    // Redis came back empty: the budget starts afresh, and is shared again. (`a` proved KEY
    // before its lockout, so only another key shows that its lockout is over.)
    await waitFor(async () => (await post(b, WRONG)).status === 401 && (await post(a, OTHER_KEY)).status === 404)
    await post(a, WRONG)
    await post(b, WRONG)
    await waitFor(async () => (await post(a, WRONG)).status === 429)
    expect((await post(b, WRONG)).status).toBe(429)
  }), 20_000)

  it.scopedLive("with onStoreUnavailable \"refuse\", answers 503 while Redis is down, and serves again once it is back", () => inScope(async (use) => {
    const redis = await use(redisServer(await freePort()))
    const server = await use(instance((await use(connection(redis.url))).store, { onStoreUnavailable: "refuse" }))
    expect((await post(server, KEY)).status).toBe(404)
    await redis.kill()
    expect(await post(server, KEY)).toEqual({ status: 503, body: Bodies.unavailable })
    expect(await post(server, WRONG)).toEqual({ status: 503, body: Bodies.unavailable })
    await use(redisServer(redis.port))
    await waitFor(async () => (await post(server, KEY)).status === 404)
  }), 20_000)
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
