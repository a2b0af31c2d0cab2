/**
 * When Redis is down, slow or gone for a while, the store answers `StoreUnavailable` at
 * once (a request never waits on Redis), never throws or crashes the process, never
 * quotes the URL's password, and recovers by itself when Redis is back.
 *
 * The unreachable and hung cases need no Redis and always run; stopping and restarting a
 * server needs `redis-server` on PATH and `REDIS_URL` set.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "@effect/vitest"
import type { RateLimitStore } from "@mcpgate/http"
import { RedisStore } from "@mcpgate/redis"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { Redis } from "ioredis"
import { freePort, HAS_REDIS_SERVER, REDIS_URL, silentServer, startRedisServer, uniquePrefix } from "./fixtures/redis.js"

const CLIENT = "203.0.113.7"
/** Well under a second, yet far above the default 250 ms command timeout: no timing flakes. */
const FAST = 900

/** The operation's failure, and how long it took to come. */
const failureOf = async <A>(
  operation: Effect.Effect<A, RateLimitStore.StoreUnavailable>
): Promise<{ readonly error: RateLimitStore.StoreUnavailable; readonly millis: number }> => {
  const started = performance.now()
  const result = await Effect.runPromise(Effect.either(operation))
  const millis = performance.now() - started
  if (Either.isRight(result)) throw new Error("expected StoreUnavailable, got an answer")
  return { error: result.left, millis }
}

/** Both operations, each expected to fail fast with StoreUnavailable. */
const bothUnavailable = async (store: RateLimitStore.Store) => {
  const errors = []
  for (const operation of [store.peek(CLIENT, Date.now()), store.recordFailure(CLIENT, 60_000, Date.now())]) {
    const { error, millis } = await failureOf<unknown>(operation)
    expect(error._tag).toBe("StoreUnavailable")
    expect(error.store).toBe("redis")
    expect(millis).toBeLessThan(FAST)
    errors.push(error)
  }
  return errors
}

/** Polls until the operation succeeds, at most `millis`. */
const eventually = async <A>(operation: Effect.Effect<A, RateLimitStore.StoreUnavailable>, millis: number): Promise<A> => {
  const deadline = Date.now() + millis
  for (;;) {
    const result = await Effect.runPromise(Effect.either(operation))
    if (Either.isRight(result)) return result.right
    if (Date.now() > deadline) throw new Error(`still unavailable after ${millis} ms: ${result.left.message}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// ioredis prints errors nobody listens to; the store must listen to its own client's.
let consoleError: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  consoleError = vi.spyOn(console, "error")
})
afterEach(() => {
  expect(consoleError).not.toHaveBeenCalled()
  consoleError.mockRestore()
})

describe("RedisStore when Redis is unreachable", () => {
  it("answers StoreUnavailable at once for both operations, right after connecting and later", async () => {
    const port = await freePort()
    const connection = RedisStore.connect({ url: `redis://127.0.0.1:${port}` })
    try {
      const [first] = await bothUnavailable(connection.store)
      expect(first!.message).toMatch(/redis/)
      // Still down a while later (the client is between reconnection attempts): still fast.
      await new Promise((resolve) => setTimeout(resolve, 300))
      await bothUnavailable(connection.store)
    } finally {
      await connection.close()
    }
  })

  it.scopedLive("make does not fail when Redis is down at start", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(freePort)
      const store = yield* RedisStore.make({ url: `redis://127.0.0.1:${port}` })
      const result = yield* Effect.either(store.recordFailure(CLIENT, 60_000, Date.now()))
      expect(Either.isLeft(result) && result.left._tag).toBe("StoreUnavailable")
    }))

  it("a Redis that accepts connections but never answers: StoreUnavailable after commandTimeout", async () => {
    const hung = await silentServer()
    const connection = RedisStore.connect({ url: `redis://127.0.0.1:${hung.port}`, commandTimeout: 100 })
    try {
      const { error, millis } = await failureOf(connection.store.recordFailure(CLIENT, 60_000, Date.now()))
      expect(error.message).toContain("no answer from redis within 100 ms")
      expect(millis).toBeGreaterThanOrEqual(90)
      expect(millis).toBeLessThan(FAST)
    } finally {
      await connection.close()
      await hung.close()
    }
  })

  it("messages never contain the URL's password", async () => {
    const port = await freePort()
    const password = "s3cret-PASSWORD-42"
    for (const url of [`redis://:${password}@127.0.0.1:${port}`, `redis://alice:${password}@127.0.0.1:${port}/0`]) {
      const connection = RedisStore.connect({ url })
      try {
        const errors = await bothUnavailable(connection.store)
        await new Promise((resolve) => setTimeout(resolve, 300))
        errors.push(...await bothUnavailable(connection.store))
        for (const error of errors) {
          expect(error.message).not.toContain(password)
          expect(String(error)).not.toContain(password)
          expect(JSON.stringify(error)).not.toContain(password)
        }
      } finally {
        await connection.close()
      }
    }
  })

  it("fromClient on a caller's disconnected client fails fast too", async () => {
    const port = await freePort()
    const client = new Redis(`redis://:hunter2@127.0.0.1:${port}`, {
      enableOfflineQueue: false,
      retryStrategy: () => 100
    })
    client.on("error", () => undefined)
    try {
      const errors = await bothUnavailable(RedisStore.fromClient(client, { commandTimeout: 200 }))
      for (const error of errors) expect(error.message).not.toContain("hunter2")
    } finally {
      client.disconnect()
    }
  })
})

describe.skipIf(REDIS_URL === undefined || !HAS_REDIS_SERVER)("RedisStore across a Redis restart", () => {
  it("stops answering when Redis dies, and recovers by itself when it is back", { timeout: 20_000 }, async () => {
    const port = await freePort()
    let server = await startRedisServer(port)
    const connection = RedisStore.connect({ url: server.url, keyPrefix: uniquePrefix() })
    try {
      const counted = await eventually(connection.store.recordFailure(CLIENT, 60_000, Date.now()), 5_000)
      expect(counted.failures).toBe(1)
      expect((await Effect.runPromise(connection.store.recordFailure(CLIENT, 60_000, Date.now()))).failures).toBe(2)

      await server.kill()
      await bothUnavailable(connection.store)
      await new Promise((resolve) => setTimeout(resolve, 500))
      await bothUnavailable(connection.store)

      server = await startRedisServer(port)
      // Nothing to do: the client reconnects in the background, at most a second apart.
      const recovered = await eventually(connection.store.recordFailure(CLIENT, 60_000, Date.now()), 5_000)
      // This server keeps nothing on disk, so the count starts over.
      expect(recovered.failures).toBe(1)
      expect((await Effect.runPromise(connection.store.peek(CLIENT, Date.now())))?.failures).toBe(1)
    } finally {
      await connection.close()
      await server.kill()
    }
  })

  it("a Redis that stops answering mid-connection (CLIENT PAUSE): StoreUnavailable after commandTimeout", { timeout: 20_000 }, async () => {
    const server = await startRedisServer(await freePort())
    const admin = new Redis(server.url)
    const connection = RedisStore.connect({ url: server.url, keyPrefix: uniquePrefix() })
    try {
      await eventually(connection.store.peek(CLIENT, Date.now()), 5_000)
      await admin.call("CLIENT", "PAUSE", "1500", "ALL")
      const { error, millis } = await failureOf(connection.store.peek(CLIENT, Date.now()))
      expect(error.message).toContain("no answer from redis within 250 ms")
      expect(millis).toBeLessThan(FAST)
      await eventually(connection.store.peek(CLIENT, Date.now()), 5_000)
    } finally {
      await connection.close()
      admin.disconnect()
      await server.kill()
    }
  })
})
