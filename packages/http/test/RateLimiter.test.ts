import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core"
import { RateLimiter, RateLimitStore } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"

const repeat = <A, E, R>(times: number, effect: Effect.Effect<A, E, R>) =>
  Effect.forEach(Array.from({ length: times }), () => effect)

/** A store whose outage the test switches on and off. */
const flakyStore = () => {
  const inner = RateLimitStore.memory()
  let down = false
  const unavailable = new RateLimitStore.StoreUnavailable({ store: "flaky", message: "connection refused" })
  const store: RateLimitStore.Store = {
    name: "flaky",
    peek: (client, now) => (down ? Effect.fail(unavailable) : inner.peek(client, now)),
    recordFailure: (client, windowMillis, now) =>
      down ? Effect.fail(unavailable) : inner.recordFailure(client, windowMillis, now)
  }
  return { store, setDown: (value: boolean) => (down = value) }
}

describe("RateLimitStore.memory", () => {
  it.effect("opens a window on the first failure and keeps its end while counting", () =>
    Effect.gen(function*() {
      const store = RateLimitStore.memory()
      expect(yield* store.peek("a", 0)).toBeUndefined()
      expect(yield* store.recordFailure("a", 60_000, 1_000)).toEqual({ failures: 1, resetAt: 61_000 })
      expect(yield* store.recordFailure("a", 60_000, 30_000)).toEqual({ failures: 2, resetAt: 61_000 })
      expect(yield* store.peek("a", 60_999)).toEqual({ failures: 2, resetAt: 61_000 })
      expect(yield* store.peek("a", 61_000)).toBeUndefined()
      expect(yield* store.recordFailure("a", 60_000, 61_000)).toEqual({ failures: 1, resetAt: 121_000 })
    }))

  it.effect("holds exactly its cap of clients after 100,000 distinct ones, evicting the least recently seen", () =>
    Effect.gen(function*() {
      const store = RateLimitStore.memory({ maxClients: 10_000 })
      yield* store.recordFailure("kept", 60_000, 0)
      for (let i = 0; i < 100_000; i++) {
        yield* store.recordFailure(`198.51.${i >> 8}.${i & 255}:${i}`, 60_000, 0)
        // Seen again now and then: a client that keeps coming back is not the one evicted.
        if (i % 1_000 === 0) yield* store.peek("kept", 0)
      }
      expect(store.size()).toBe(10_000)
      expect(yield* store.peek("kept", 0)).toEqual({ failures: 1, resetAt: 60_000 })
      expect(yield* store.peek("198.51.0.0:0", 0)).toBeUndefined()
    }))

  it.effect.prop(
    "forgets exactly the client a list kept in order of use would forget",
    {
      cap: FastCheck.integer({ min: 1, max: 5 }),
      steps: FastCheck.array(
        FastCheck.record({ client: FastCheck.constantFrom("a", "b", "c", "d", "e", "f", "g"), fail: FastCheck.boolean() }),
        { maxLength: 60 }
      )
    },
    ({ cap, steps }) =>
      Effect.gen(function*() {
        const store = RateLimitStore.memory({ maxClients: cap })
        // The model: clients from least to most recently used, and their failure counts.
        const order: Array<string> = []
        const failures = new Map<string, number>()
        const use = (client: string) => {
          order.splice(order.indexOf(client), 1)
          order.push(client)
        }
        for (const { client, fail } of steps) {
          const held = failures.get(client)
          if (fail) {
            const window = yield* store.recordFailure(client, 60_000, 0)
            expect(window.failures).toBe((held ?? 0) + 1)
            if (held === undefined) order.push(client)
            else use(client)
            failures.set(client, window.failures)
            if (order.length > cap) failures.delete(order.shift()!)
          } else {
            const window = yield* store.peek(client, 0)
            expect(window?.failures).toBe(held)
            if (held !== undefined) use(client)
          }
          expect(store.size()).toBe(order.length)
        }
      })
  )

  it("refuses a cap that is not a positive whole number", () => {
    expect(() => RateLimitStore.memory({ maxClients: 0 })).toThrow(RangeError)
    expect(() => RateLimitStore.memory({ maxClients: 1.5 })).toThrow(RangeError)
  })
})

describe("RateLimiter: only failures spend the budget", () => {
  it.effect("allows maxFailures failures, then limits the client until its window ends", () =>
    Effect.gen(function*() {
      const limiter = RateLimiter.unsafeMake({ maxFailures: 3, window: 60 })
      expect(yield* limiter.check("a")).toEqual({ _tag: "Allowed" })
      const decisions = yield* repeat(3, limiter.recordFailure("a"))
      expect(decisions.map((d) => d._tag)).toEqual(["Allowed", "Allowed", "Limited"])
      expect(yield* limiter.check("a")).toEqual({ _tag: "Limited", retryAfterSeconds: 60 })
      yield* TestClock.adjust("20500 millis")
      // Retry-After is the whole seconds until the client may try again, rounded up.
      expect(yield* limiter.check("a")).toEqual({ _tag: "Limited", retryAfterSeconds: 40 })
      expect(yield* limiter.check("b")).toEqual({ _tag: "Allowed" })
      yield* TestClock.adjust("39500 millis")
      expect(yield* limiter.check("a")).toEqual({ _tag: "Allowed" })
    }))

  it.effect("defaults to 20 failures per 60 seconds", () =>
    Effect.gen(function*() {
      const limiter = RateLimiter.unsafeMake()
      expect(limiter.maxFailures).toBe(20)
      yield* repeat(19, limiter.recordFailure("a"))
      expect(yield* limiter.check("a")).toEqual({ _tag: "Allowed" })
      yield* limiter.recordFailure("a")
      expect(yield* limiter.check("a")).toEqual({ _tag: "Limited", retryAfterSeconds: 60 })
    }))

  it.effect("with the store down, counts in memory by default, and goes back to the store when it returns", () =>
    Effect.gen(function*() {
      const { setDown, store } = flakyStore()
      const limiter = RateLimiter.unsafeMake({ maxFailures: 2, store })
      const counter = Metric.tagged(
        Metric.tagged(RateLimiter.storeUnavailableCounter, "store", "flaky"),
        "fallback",
        "memory"
      )
      const before = (yield* Metric.value(counter)).count
      setDown(true)
      yield* repeat(2, limiter.recordFailure("a"))
      expect(yield* limiter.check("a")).toMatchObject({ _tag: "Limited" })
      expect(limiter.fallback.size()).toBe(1)
      expect((yield* Metric.value(counter)).count - before).toBe(3)
      setDown(false)
      // The store never saw those failures: back on it, the client starts afresh.
      expect(yield* limiter.check("a")).toEqual({ _tag: "Allowed" })
    }))

  it.effect("with the store down and onStoreUnavailable \"refuse\", answers Unavailable (fail-closed)", () =>
    Effect.gen(function*() {
      const { setDown, store } = flakyStore()
      const limiter = RateLimiter.unsafeMake({ store, onStoreUnavailable: "refuse" })
      setDown(true)
      expect(yield* limiter.check("a")).toEqual({ _tag: "Unavailable" })
      expect(yield* limiter.recordFailure("a")).toEqual({ _tag: "Unavailable" })
      setDown(false)
      expect(yield* limiter.check("a")).toEqual({ _tag: "Allowed" })
    }))

  it.effect("treats a store that throws as unreachable: memory by default, Unavailable when fail-closed", () =>
    Effect.gen(function*() {
      const throwing: RateLimitStore.Store = {
        name: "throwing",
        peek: () => {
          throw new Error("boom")
        },
        recordFailure: () => Effect.die(new Error("boom"))
      }
      const lenient = RateLimiter.unsafeMake({ maxFailures: 1, store: throwing })
      expect(yield* lenient.check("a")).toEqual({ _tag: "Allowed" })
      yield* lenient.recordFailure("a")
      expect(lenient.fallback.size()).toBe(1)
      const strict = RateLimiter.unsafeMake({ store: throwing, onStoreUnavailable: "refuse" })
      expect(yield* strict.check("a")).toEqual({ _tag: "Unavailable" })
    }))

  it("refuses bad options at construction, naming them", () => {
    expect(() => RateLimiter.unsafeMake({ maxFailures: 0 })).toThrow(ConfigurationError.ConfigurationError)
    expect(() => RateLimiter.unsafeMake({ maxFailures: 0 })).toThrow("maxFailures")
    expect(() => RateLimiter.unsafeMake({ window: "soon" })).toThrow("window")
    expect(() => RateLimiter.unsafeMake({ window: 0 })).toThrow("window")
    expect(() => RateLimiter.unsafeMake({ onStoreUnavailable: "ignore" as never })).toThrow("onStoreUnavailable")
    expect(() => RateLimiter.unsafeMake({ store: {} as never })).toThrow("store")
    expect(() => RateLimiter.unsafeMake({ maxFailure: 3 } as never)).toThrow("maxFailure")
  })

  it.effect("takes the window as jose-style text or a Duration", () =>
    Effect.gen(function*() {
      const limiter = RateLimiter.unsafeMake({ maxFailures: 1, window: "2 minutes" })
      yield* limiter.recordFailure("a")
      expect(yield* limiter.check("a")).toEqual({ _tag: "Limited", retryAfterSeconds: 120 })
    }))
})
