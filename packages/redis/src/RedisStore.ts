/**
 * A failed-attempt store on Redis, so that several server instances share one budget per
 * client: ten instances behind a load balancer must not grant an attacker ten times the
 * attempts.
 *
 * The store fails fast. When Redis cannot be reached, or does not answer within
 * `commandTimeout`, an operation fails with `StoreUnavailable` at once (no command waits
 * for a connection), and the client keeps reconnecting in the background so the store
 * recovers by itself. What to do meanwhile is `RateLimiter`'s decision.
 *
 * Keys are `${keyPrefix}${client}` (default prefix `"mcpgate:auth-failures:"`), each an
 * integer count that expires when its window ends.
 *
 * @example
 * ```ts
 * import { RedisStore } from "@mcpgate/redis"
 * import { Config, Effect, Layer } from "effect"
 *
 * // Effect: the store in context (`RateLimitStore`), closed with the layer.
 * const StoreLive = RedisStore.layer({ url: "redis://127.0.0.1:6379" })
 *
 * // The URL, with its password, from the environment.
 * const StoreFromEnv = Layer.unwrapEffect(
 *   Effect.map(Config.redacted("REDIS_URL"), (url) => RedisStore.layer({ url }))
 * )
 *
 * // Promise code: a store and its close function.
 * const { store, close } = RedisStore.connect({ url: process.env.REDIS_URL! })
 * ```
 *
 * @since 0.1.0
 */
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { RateLimitStore } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import type { Redis } from "ioredis"
import * as options_ from "./internal/options.js"
import * as internal from "./internal/redisStore.js"

/**
 * The prefix of every key unless `keyPrefix` says otherwise.
 *
 * @since 0.1.0
 */
export const DEFAULT_KEY_PREFIX: string = options_.DEFAULT_KEY_PREFIX

/**
 * Options for a store on a client the caller owns.
 *
 * @since 0.1.0
 */
export interface ClientOptions {
  /** Prepended to each client's address to form its key. Default `"mcpgate:auth-failures:"`. */
  readonly keyPrefix?: string
  /** Milliseconds an operation may take before it fails with `StoreUnavailable`. Default 250. */
  readonly commandTimeout?: number
}

/**
 * Options for a store with its own connection.
 *
 * @since 0.1.0
 */
export interface Options extends ClientOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS. Pass it
   * `Redacted` when it holds a password; it is never quoted in errors either way.
   */
  readonly url: string | Redacted.Redacted<string>
  /** Milliseconds a connection attempt may take. Default 1000. */
  readonly connectTimeout?: number
}

/**
 * A store for code outside Effect, with the function that closes its connection.
 *
 * @since 0.1.0
 */
export interface Connection {
  readonly store: RateLimitStore.Store
  readonly close: () => Promise<void>
}

const orThrow = <A>(either: Either.Either<A, ConfigurationError>): A =>
  Either.getOrThrowWith(either, (error) => error)

/**
 * A store on an ioredis client the caller created and closes. Throws a
 * `ConfigurationError` on bad options.
 *
 * The store adds no listener for the client's `error` events: attach one, or ioredis
 * prints each connection error. For fail-fast behaviour create the client with
 * `enableOfflineQueue: false`, as `make` does; otherwise commands wait in ioredis's queue
 * while Redis is down, until `commandTimeout`.
 *
 * @example
 * ```ts
 * import { RedisStore } from "@mcpgate/redis"
 * import { Redis } from "ioredis"
 *
 * const redis = new Redis("redis://127.0.0.1:6379", { enableOfflineQueue: false })
 * redis.on("error", () => {}) // reported through StoreUnavailable
 * const store = RedisStore.fromClient(redis, { keyPrefix: "myapp:auth-failures:" })
 * ```
 *
 * @since 0.1.0
 */
export const fromClient = (client: Redis, options: ClientOptions = {}): RateLimitStore.Store =>
  internal.makeStore(client, orThrow(options_.decodeClientOptions(options)))

/**
 * Builds a store with its own connection, closed with the scope. Fails with a
 * `ConfigurationError` on bad options, never because Redis is down: the store then answers
 * `StoreUnavailable` until Redis comes up.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<RateLimitStore.Store, ConfigurationError, Scope.Scope> =>
  Effect.flatMap(
    options_.decodeConnectOptions(options),
    (decoded) =>
      Effect.map(
        Effect.acquireRelease(
          Effect.sync(() => internal.makeClient(decoded)),
          ({ client }) => Effect.promise(() => internal.closeClient(client))
        ),
        ({ client, diagnostics }) => internal.makeStore(client, decoded, diagnostics)
      )
  )

/**
 * The store as `RateLimitStore`, which `McpHttp.layer` uses when its `rateLimit` names no
 * store; its connection closes with the layer.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<RateLimitStore.RateLimitStore, ConfigurationError> =>
  Layer.scoped(RateLimitStore.RateLimitStore, make(options))

/**
 * A store with its own connection, for code outside Effect (a Promise-API server). Throws
 * a `ConfigurationError` on bad options; call `close` on shutdown.
 *
 * @example
 * ```ts
 * import { RedisStore } from "@mcpgate/redis"
 *
 * const redis = RedisStore.connect({ url: process.env.REDIS_URL! })
 * // ... pass redis.store to the server's rate limiter ...
 * process.on("SIGTERM", () => void redis.close())
 * ```
 *
 * @since 0.1.0
 */
export const connect = (options: Options): Connection => {
  const decoded = orThrow(options_.decodeConnectOptions(options))
  const { client, diagnostics } = internal.makeClient(decoded)
  let closing: Promise<void> | undefined
  return {
    store: internal.makeStore(client, decoded, diagnostics),
    close: () => (closing ??= internal.closeClient(client))
  }
}
