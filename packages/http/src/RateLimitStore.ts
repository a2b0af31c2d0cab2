/**
 * Where failed-attempt counts live: one fixed window per client. The in-memory store is
 * the default; `@mcpgate/redis` provides a shared one for several instances.
 *
 * A store only counts. What counts as over budget, and what to do when the store cannot
 * be reached, is `RateLimiter`'s decision.
 *
 * @example
 * ```ts
 * import { RateLimitStore } from "@mcpgate/http"
 * import { Effect } from "effect"
 *
 * const store = RateLimitStore.memory({ maxClients: 10_000 })
 * const window = await Effect.runPromise(store.recordFailure("203.0.113.7", 60_000, Date.now()))
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { Lru } from "@mcpgate/auth-core/Lru"

/**
 * One client's open window: the failures counted in it, and when it ends (epoch ms).
 *
 * @since 0.1.0
 */
export interface Window {
  readonly failures: number
  readonly resetAt: number
}

/**
 * The store could not answer (connection down, timeout). Carries no credential: only the
 * store's name and a short description of what went wrong.
 *
 * @since 0.1.0
 */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{
  readonly store: string
  readonly message: string
}> {}

/**
 * A failed-attempt store.
 *
 * @since 0.1.0
 */
export interface Store {
  /** A short name for logs and metrics: `memory`, `redis`. */
  readonly name: string
  /** The client's open window, or undefined when it has none (or its window has ended). */
  readonly peek: (client: string, now: number) => Effect.Effect<Window | undefined, StoreUnavailable>
  /**
   * Counts one failure. When the client has no open window, one of `windowMillis` opens
   * now; an open window keeps its end. Returns the window after counting.
   */
  readonly recordFailure: (
    client: string,
    windowMillis: number,
    now: number
  ) => Effect.Effect<Window, StoreUnavailable>
}

/**
 * The store in context, for the Effect API: `McpHttp.layer` counts failed attempts in it
 * when its `rateLimit` options name no store (`RedisStore.layer` provides one).
 *
 * @since 0.1.0
 */
export class RateLimitStore extends Context.Tag("@mcpgate/http/RateLimitStore")<RateLimitStore, Store>() {}

/**
 * An in-memory store: it never fails, and it says how many clients it holds.
 *
 * @since 0.1.0
 */
export interface MemoryStore extends Store {
  readonly peek: (client: string, now: number) => Effect.Effect<Window | undefined>
  readonly recordFailure: (client: string, windowMillis: number, now: number) => Effect.Effect<Window>
  /** `peek` at once, for the gate's synchronous path (`Gate.checkNow`). */
  readonly peekNow: (client: string, now: number) => Window | undefined
  /** The number of clients with a window held right now (ended windows included until evicted). */
  readonly size: () => number
}

/**
 * A bounded in-memory store. At most `maxClients` (default 10,000) clients are held; the
 * least recently seen is evicted to make room, so a flood of distinct addresses cannot
 * grow memory without limit. Eviction can only forget failures, never invent them.
 *
 * @since 0.1.0
 */
export const memory = (options: { readonly maxClients?: number } = {}): MemoryStore => {
  const maxClients = options.maxClients ?? 10_000
  if (!Number.isSafeInteger(maxClients) || maxClients < 1) {
    throw new RangeError(`maxClients must be a whole number of at least 1, got ${maxClients}`)
  }
  const windows = new Lru<string, Window>(maxClients)
  const openWindow = (client: string, now: number): Window | undefined => {
    const window = windows.get(client)
    if (window === undefined || window.resetAt > now) return window
    windows.delete(client)
    return undefined
  }
  return {
    name: "memory",
    size: () => windows.size,
    peek: (client, now) => Effect.sync(() => openWindow(client, now)),
    peekNow: openWindow,
    recordFailure: (client, windowMillis, now) =>
      Effect.sync(() => {
        const open = openWindow(client, now)
        const next: Window = open === undefined
          ? { failures: 1, resetAt: now + windowMillis }
          : { failures: open.failures + 1, resetAt: open.resetAt }
        windows.set(client, next)
        return next
      })
  }
}
