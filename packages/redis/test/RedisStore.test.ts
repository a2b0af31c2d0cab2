/**
 * The Redis store counts like the in-memory one (fixed windows per client), and every
 * instance on the same Redis and prefix sees one count. Needs a Redis: `REDIS_URL`.
 */
import { describe, expect, it } from "@effect/vitest"
import { RateLimitStore } from "@mcpgate/http"
import { RedisStore } from "@mcpgate/redis"
import * as Effect from "effect/Effect"
import { Redis } from "ioredis"
import { REDIS_URL, uniquePrefix } from "./fixtures/redis.js"

const url = REDIS_URL ?? "redis://127.0.0.1:6379"
const CLIENT = "203.0.113.7"
/** resetAt is `now + PTTL`: off by the round trip and PTTL's whole milliseconds. */
const TOLERANCE = 10

/** An instance's store, with its own connection for the scope of the test. */
const store = (keyPrefix: string) => RedisStore.make({ url, keyPrefix })

describe.skipIf(REDIS_URL === undefined)("RedisStore on a shared Redis", () => {
  it.scopedLive("recordFailure counts 1, 2, 3 in one window, which keeps its end", () =>
    Effect.gen(function*() {
      const redis = yield* store(uniquePrefix())
      // Connected first: the window opens when the failure reaches Redis, so the first
      // answer's end would otherwise be early by the time taken to connect.
      yield* redis.peek(CLIENT, Date.now())
      const opened = Date.now()
      const first = yield* redis.recordFailure(CLIENT, 200, opened)
      expect(first.failures).toBe(1)
      expect(first.resetAt).toBe(opened + 200)
      yield* Effect.sleep("50 millis")
      const second = yield* redis.recordFailure(CLIENT, 200, Date.now())
      const third = yield* redis.recordFailure(CLIENT, 200, Date.now())
      expect([second.failures, third.failures]).toEqual([2, 3])
      expect(Math.abs(second.resetAt - first.resetAt)).toBeLessThanOrEqual(TOLERANCE)
      expect(Math.abs(third.resetAt - first.resetAt)).toBeLessThanOrEqual(TOLERANCE)
    }))

  it.scopedLive("after windowMillis a new window opens, counting from 1", () =>
    Effect.gen(function*() {
      const redis = yield* store(uniquePrefix())
      yield* redis.recordFailure(CLIENT, 200, Date.now())
      yield* redis.recordFailure(CLIENT, 200, Date.now())
      yield* Effect.sleep("250 millis")
      expect(yield* redis.peek(CLIENT, Date.now())).toBeUndefined()
      const reopened = Date.now()
      const window = yield* redis.recordFailure(CLIENT, 200, reopened)
      expect(window.failures).toBe(1)
      expect(window.resetAt).toBe(reopened + 200)
    }))

  it.scopedLive("clients are counted apart", () =>
    Effect.gen(function*() {
      const redis = yield* store(uniquePrefix())
      yield* redis.recordFailure("203.0.113.7", 60_000, Date.now())
      yield* redis.recordFailure("203.0.113.7", 60_000, Date.now())
      const other = yield* redis.recordFailure("2001:db8:1:2::/64", 60_000, Date.now())
      expect(other.failures).toBe(1)
    }))

  it.scopedLive("peek: undefined for an unknown client, the open window for a counted one; it does not count", () =>
    Effect.gen(function*() {
      const redis = yield* store(uniquePrefix())
      expect(yield* redis.peek(CLIENT, Date.now())).toBeUndefined()
      const counted = yield* redis.recordFailure(CLIENT, 60_000, Date.now())
      const seen = yield* redis.peek(CLIENT, Date.now())
      expect(seen?.failures).toBe(1)
      expect(Math.abs(seen!.resetAt - counted.resetAt)).toBeLessThanOrEqual(TOLERANCE)
      yield* redis.peek(CLIENT, Date.now())
      expect((yield* redis.peek(CLIENT, Date.now()))?.failures).toBe(1)
      expect((yield* redis.recordFailure(CLIENT, 60_000, Date.now())).failures).toBe(2)
    }))

  it.scopedLive("keys are `${keyPrefix}${client}` and expire with their window", () =>
    Effect.gen(function*() {
      const keyPrefix = uniquePrefix()
      const redis = yield* store(keyPrefix)
      yield* redis.recordFailure(CLIENT, 60_000, Date.now())
      const admin = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(url)),
        (client) => Effect.promise(() => client.quit())
      )
      expect(yield* Effect.promise(() => admin.get(`${keyPrefix}${CLIENT}`))).toBe("1")
      const pttl = yield* Effect.promise(() => admin.pttl(`${keyPrefix}${CLIENT}`))
      expect(pttl).toBeGreaterThan(59_000)
      expect(pttl).toBeLessThanOrEqual(60_000)
    }))

  it.scopedLive("the default key prefix is mcpgate:auth-failures:", () =>
    Effect.gen(function*() {
      expect(RedisStore.DEFAULT_KEY_PREFIX).toBe("mcpgate:auth-failures:")
      const client = `198.51.100.${Math.floor(Math.random() * 250)}-${Date.now()}`
      const redis = yield* RedisStore.make({ url })
      yield* redis.recordFailure(client, 5_000, Date.now())
      const admin = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(url)),
        (client) => Effect.promise(() => client.quit())
      )
      expect(yield* Effect.promise(() => admin.get(`mcpgate:auth-failures:${client}`))).toBe("1")
      yield* Effect.promise(() => admin.del(`mcpgate:auth-failures:${client}`))
    }))

  it.scopedLive("a key left without expiry is repaired: the next failure gives it the window", () =>
    Effect.gen(function*() {
      const keyPrefix = uniquePrefix()
      const admin = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(url)),
        (client) => Effect.promise(() => client.quit())
      )
      yield* Effect.promise(() => admin.set(`${keyPrefix}${CLIENT}`, "4"))
      const redis = yield* store(keyPrefix)
      // Without an end it is no open window: it cannot say when the client may retry.
      expect(yield* redis.peek(CLIENT, Date.now())).toBeUndefined()
      const now = Date.now()
      const window = yield* redis.recordFailure(CLIENT, 1_000, now)
      expect(window).toEqual({ failures: 5, resetAt: now + 1_000 })
      expect(yield* Effect.promise(() => admin.pttl(`${keyPrefix}${CLIENT}`))).toBeGreaterThan(0)
    }))

  it.scopedLive("layer provides the store as RateLimitStore", () =>
    Effect.gen(function*() {
      const provided = yield* Effect.gen(function*() {
        const store = yield* RateLimitStore.RateLimitStore
        expect(store.name).toBe("redis")
        return yield* store.recordFailure(CLIENT, 60_000, Date.now())
      }).pipe(Effect.provide(RedisStore.layer({ url, keyPrefix: uniquePrefix() })))
      expect(provided.failures).toBe(1)
    }))

  it("fromClient uses a client the caller owns, and leaves it open", async () => {
    const client = new Redis(url, { enableOfflineQueue: false })
    client.on("error", () => undefined)
    try {
      await new Promise((resolve) => client.once("ready", resolve))
      const keyPrefix = uniquePrefix()
      const redis = RedisStore.fromClient(client, { keyPrefix })
      expect((await Effect.runPromise(redis.recordFailure(CLIENT, 60_000, Date.now()))).failures).toBe(1)
      expect((await Effect.runPromise(redis.peek(CLIENT, Date.now())))?.failures).toBe(1)
      expect(client.status).toBe("ready")
      expect(await client.get(`${keyPrefix}${CLIENT}`)).toBe("1")
    } finally {
      await client.quit()
    }
  })

  it("two instances (two connections) on the same Redis and prefix share one count", async () => {
    const keyPrefix = uniquePrefix()
    const one = RedisStore.connect({ url, keyPrefix })
    const two = RedisStore.connect({ url, keyPrefix })
    try {
      const now = Date.now()
      expect((await Effect.runPromise(one.store.recordFailure(CLIENT, 60_000, now))).failures).toBe(1)
      expect((await Effect.runPromise(two.store.recordFailure(CLIENT, 60_000, now))).failures).toBe(2)
      expect((await Effect.runPromise(one.store.recordFailure(CLIENT, 60_000, now))).failures).toBe(3)
      expect((await Effect.runPromise(two.store.peek(CLIENT, now)))?.failures).toBe(3)
      // Another prefix is another budget.
      const other = RedisStore.connect({ url, keyPrefix: uniquePrefix() })
      try {
        expect(await Effect.runPromise(other.store.peek(CLIENT, now))).toBeUndefined()
      } finally {
        await other.close()
      }
    } finally {
      await Promise.all([one.close(), two.close()])
    }
  })

  it("200 concurrent failures from two instances count exactly 200, each count once", async () => {
    const keyPrefix = uniquePrefix()
    const one = RedisStore.connect({ url, keyPrefix })
    const two = RedisStore.connect({ url, keyPrefix })
    try {
      const now = Date.now()
      const windows = await Effect.runPromise(
        Effect.all(
          Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? one : two).store.recordFailure(CLIENT, 60_000, now)),
          { concurrency: "unbounded" }
        )
      )
      expect(windows.map((window) => window.failures).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1)
      )
      // One window, opened by the first failure to reach Redis: later ones kept its end
      // (a second window would end a full window later).
      expect(windows.find((window) => window.failures === 1)!.resetAt).toBe(now + 60_000)
      const seen = await Effect.runPromise(one.store.peek(CLIENT, Date.now()))
      expect(seen?.failures).toBe(200)
      expect(Math.abs(seen!.resetAt - (now + 60_000))).toBeLessThan(1_000)
    } finally {
      await Promise.all([one.close(), two.close()])
    }
  })

  it("close is idempotent, and a closed store answers StoreUnavailable", async () => {
    const connection = RedisStore.connect({ url, keyPrefix: uniquePrefix() })
    await Effect.runPromise(connection.store.peek(CLIENT, Date.now()))
    await Promise.all([connection.close(), connection.close()])
    const after = await Effect.runPromise(Effect.either(connection.store.peek(CLIENT, Date.now())))
    expect(after._tag).toBe("Left")
  })
})
