/**
 * The failed-attempt budget (docs/behaviour.md#order-of-checks, step 4): only failures spend it, and a
 * client over budget is turned away (429) for every request, good credentials included,
 * until its window ends. The gate asks before any cryptography runs.
 *
 * Counting is fixed-window: the first failure opens a window of `window` seconds; when
 * `maxFailures` failures are counted in it, the client is limited until it ends.
 *
 * When the store (Redis) cannot be reached, the limiter counts in memory instead, logged
 * and counted (`onStoreUnavailable: "memory"`, the default), or answers the 503 of docs/behaviour.md#answers
 * (`"refuse"`, fail-closed). It goes back to the store as soon as the store answers.
 *
 * @example
 * ```ts
 * import { RateLimiter, RateLimitStore } from "@mcpgate/http"
 *
 * const limiter = RateLimiter.unsafeMake({ maxFailures: 20, window: 60 })
 * // or shared: RateLimiter.unsafeMake({ store: redisStore, onStoreUnavailable: "refuse" })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Schema from "effect/Schema"
import { storeUnavailable } from "./AuthMetrics.js"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { decode as decodeOptions, PositiveInt, Seconds } from "@mcpgate/auth-core/Options"
import { BoundedProvenIdentities } from "./internal/provenIdentities.js"
import * as RateLimitStore from "./RateLimitStore.js"

/**
 * What the limiter says of a client.
 *
 * @since 0.1.0
 */
export type Decision =
  | { readonly _tag: "Allowed" }
  | { readonly _tag: "Limited"; readonly retryAfterSeconds: number }
  // The store is down and the limiter was configured fail-closed.
  | { readonly _tag: "Unavailable" }

/**
 * The options of a limiter.
 *
 * @since 0.1.0
 */
export interface Options {
  /** Failures a client may make per window before it is limited. Default 20. */
  readonly maxFailures?: number | undefined
  /** The window, in seconds (or jose-style text, or a `Duration`). Default 60. */
  readonly window?: number | string | Duration.Duration | undefined
  /** Where counts live. Default: a bounded in-memory store. */
  readonly store?: RateLimitStore.Store | undefined
  /** The cap of the in-memory store (and of the fallback store). Default 10,000 clients. */
  readonly maxClients?: number | undefined
  /** What to do when `store` cannot be reached. Default `"memory"`. */
  readonly onStoreUnavailable?: "memory" | "refuse" | undefined
}

/**
 * The identities each client address has proven with a credential that passed.
 *
 * @since 0.1.0
 */
export interface ProvenIdentities {
  readonly add: (client: string, identity: string) => void
  readonly has: (client: string, identity: string) => boolean
}

/**
 * A failed-attempt limiter.
 *
 * @since 0.1.0
 */
/**
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("@mcpgate/http/RateLimiter")

/**
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * Whether a value is a limiter (made by `make` or `fromDecoded`), rather than its options.
 *
 * @since 0.1.0
 */
export const isRateLimiter = (value: unknown): value is RateLimiter =>
  typeof value === "object" && value !== null && TypeId in value

export interface RateLimiter {
  readonly [TypeId]: TypeId
  /** Whether the client may try now. Never fails: a store outage is decided by the options. */
  readonly check: (client: string) => Effect.Effect<Decision>
  /**
   * `check` at once at the given time, for a limiter whose store answers without waiting
   * (the in-memory one); undefined for a shared store, which the gate asks through `check`.
   */
  readonly checkNow?: ((client: string, now: number) => Decision) | undefined
  /** Counts one failure; the decision is what the client's next request will get. */
  readonly recordFailure: (client: string) => Effect.Effect<Decision>
  /** The budget, for logs. */
  readonly maxFailures: number
  /** The configured store. */
  readonly store: RateLimitStore.Store
  /** Where counts go while `store` is unreachable (with `onStoreUnavailable: "memory"`). */
  readonly fallback: RateLimitStore.MemoryStore
  /**
   * The identities each client proved (in memory, bounded by `maxClients`): a client over its
   * budget is still served with one of them. Shared by every gate that shares the limiter.
   */
  readonly proven: ProvenIdentities
}

const isStore = (value: unknown): value is RateLimitStore.Store =>
  typeof value === "object" && value !== null &&
  typeof (value as { peek?: unknown }).peek === "function" &&
  typeof (value as { recordFailure?: unknown }).recordFailure === "function" &&
  typeof (value as { name?: unknown }).name === "string"

/**
 * The counter of store outages seen by limiters (`mcpgate_rate_limit_store_unavailable_total`),
 * tagged `store` and `fallback`.
 *
 * @since 0.1.0
 */
export const storeUnavailableCounter = storeUnavailable

/**
 * The options schema, shared by the adapters' `rateLimit` option.
 *
 * @since 0.1.0
 */
export const OptionsSchema = Schema.Struct({
  maxFailures: Schema.optionalWith(PositiveInt, { default: () => 20 }),
  window: Schema.optionalWith(
    Seconds.pipe(Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds")),
    { default: () => 60 }
  ),
  store: Schema.optional(Schema.declare(isStore, {
    message: () => "store must be a rate-limit store (RateLimitStore.memory(), or RedisStore from @mcpgate/redis)"
  })),
  maxClients: Schema.optionalWith(PositiveInt, { default: () => 10_000 }),
  onStoreUnavailable: Schema.optionalWith(Schema.Literal("memory", "refuse"), { default: () => "memory" as const })
})

/**
 * A limiter from options, or the `ConfigurationError` that names the bad option.
 *
 * @since 0.1.0
 */
export const decode = (options: Options = {}): Either.Either<RateLimiter, ConfigurationError> =>
  Either.map(decodeOptions(OptionsSchema, options, "rateLimit"), fromDecoded)

/**
 * A limiter from options, as an Effect that fails with a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<RateLimiter, ConfigurationError> => decode(options)

/**
 * A limiter from options; throws `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: Options = {}): RateLimiter =>
  Either.getOrThrowWith(decode(options), (error) => error)

/**
 * A limiter from already decoded options (the adapters decode `rateLimit` with their own options).
 *
 * @since 0.1.0
 */
export const fromDecoded = (options: typeof OptionsSchema.Type): RateLimiter => {
  const fallback = RateLimitStore.memory({ maxClients: options.maxClients })
  const store = options.store ?? fallback
  const proven = new BoundedProvenIdentities(options.maxClients)
  const windowMillis = options.window * 1000
  const maxFailures = options.maxFailures
  // Whether the last store operation failed: the outage and the recovery are logged once each.
  let degraded = false

  const decide = (window: RateLimitStore.Window | undefined, now: number): Decision =>
    window !== undefined && window.failures >= maxFailures && window.resetAt > now
      ? { _tag: "Limited", retryAfterSeconds: Math.max(1, Math.ceil((window.resetAt - now) / 1000)) }
      : { _tag: "Allowed" }

  const withStore = <A>(
    operation: (store: RateLimitStore.Store) => Effect.Effect<A, RateLimitStore.StoreUnavailable>,
    onUnavailable: Effect.Effect<A>
  ): Effect.Effect<A> =>
    // A store of the application's own that throws (or dies) is treated as unreachable, so a
    // request still gets an answer and never a 500.
    Effect.suspend(() => operation(store)).pipe(
      Effect.catchAllDefect(() =>
        Effect.fail(new RateLimitStore.StoreUnavailable({ store: store.name, message: "the store threw" }))
      ),
      Effect.tap(() => {
        if (!degraded) return Effect.void
        degraded = false
        return Effect.logInfo("rate-limit store reachable again").pipe(Effect.annotateLogs({ store: store.name }))
      }),
      Effect.catchAll((unavailable) => {
        const counted = Metric.increment(
          Metric.tagged(Metric.tagged(storeUnavailable, "store", store.name), "fallback", options.onStoreUnavailable)
        )
        const announce = degraded ? Effect.void : Effect.logWarning(
          options.onStoreUnavailable === "memory"
            ? "rate-limit store unreachable; counting failed attempts in memory"
            : "rate-limit store unreachable; refusing authentication (fail-closed)"
        ).pipe(Effect.annotateLogs({ store: store.name, cause: unavailable.message }))
        degraded = true
        return Effect.zipRight(Effect.zipRight(counted, announce), onUnavailable)
      })
    )

  const UNAVAILABLE: Decision = { _tag: "Unavailable" }
  const common = { [TypeId]: TypeId, maxFailures, store, fallback, proven } as const
  if (store === fallback) {
    // The in-memory store cannot be down: no outage handling on the path of every request.
    return {
      ...common,
      check: (client) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.map(fallback.peek(client, now), (window) => decide(window, now))),
      checkNow: (client, now) => decide(fallback.peekNow(client, now), now),
      recordFailure: (client) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.map(fallback.recordFailure(client, windowMillis, now), (window) => decide(window, now)))
    }
  }
  return {
    ...common,
    check: (client) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        withStore(
          (s) => Effect.map(s.peek(client, now), (window) => decide(window, now)),
          options.onStoreUnavailable === "memory"
            ? Effect.map(fallback.peek(client, now), (window) => decide(window, now))
            : Effect.succeed(UNAVAILABLE)
        )),
    recordFailure: (client) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        withStore(
          (s) => Effect.map(s.recordFailure(client, windowMillis, now), (window) => decide(window, now)),
          options.onStoreUnavailable === "memory"
            ? Effect.map(fallback.recordFailure(client, windowMillis, now), (window) => decide(window, now))
            : Effect.succeed(UNAVAILABLE)
        ))
  }
}
