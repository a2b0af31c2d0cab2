/**
 * The failed-attempt store on Redis: one key per client, counted by a Lua script so that
 * every instance sharing the Redis sees one budget, and every failure of Redis turned into
 * a prompt `StoreUnavailable` so that no request waits on it.
 */
import { RateLimitStore } from "@mcpgate/http"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"
import { createHash } from "node:crypto"
import type { ClientOptions, ConnectOptions } from "./options.js"

const STORE = "redis"

/**
 * INCR and PEXPIRE in one script, so no instance can see (or leave) a counted key without
 * an expiry: with two round trips, a crash between them would block a client forever.
 * `PTTL < 0` also repairs a key that lost its expiry (PERSIST, a restore): the window then
 * opens now rather than never ending.
 */
const RECORD_FAILURE = `
local count = redis.call('INCR', KEYS[1])
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  pttl = tonumber(ARGV[1])
end
return {count, pttl}
`

/** GET and PTTL in one script: between two commands the key could expire, giving a count without an end. */
const PEEK = `
local count = redis.call('GET', KEYS[1])
if not count then return false end
return {tonumber(count) or -1, redis.call('PTTL', KEYS[1])}
`

interface Script {
  readonly source: string
  readonly sha: string
}

const script = (source: string): Script => ({ source, sha: createHash("sha1").update(source).digest("hex") })

const recordFailureScript = script(RECORD_FAILURE)
const peekScript = script(PEEK)

/**
 * EVALSHA, then EVAL once when the server does not know the script (after a restart or a
 * SCRIPT FLUSH). Done here rather than with `defineCommand`, which would add a method to a
 * client the caller owns.
 */
const runScript = async (client: Redis, { sha, source }: Script, key: string, arg?: string): Promise<unknown> => {
  const args = arg === undefined ? [key] : [key, arg]
  try {
    return await client.evalsha(sha, 1, ...args)
  } catch (error) {
    if (error instanceof Error && error.message.startsWith("NOSCRIPT")) return await client.eval(source, 1, ...args)
    throw error
  }
}

/** Longer messages are cut: they end up in logs, one per refused request. */
const MAX_MESSAGE = 200

/**
 * A message that never carries the password, whatever ioredis or the server put in it:
 * the known password is masked, and so is the user-info part of any URL.
 */
export const scrub = (message: string, password: string | undefined): string => {
  let text = message.replace(/(rediss?:\/\/)[^@/\s]*@/gi, "$1***@")
  if (password !== undefined && password !== "") {
    for (const secret of new Set([password, encodeURIComponent(password)])) text = text.split(secret).join("***")
  }
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text
}

const isNotConnected = (message: string) =>
  message.startsWith("Stream isn't writeable") || message === "Connection is closed."

/**
 * Resolves when a connection attempt in progress ends, either way. Shared by all waiting
 * commands: one listener pair per attempt, never one per request (which would trip Node's
 * max-listeners warning under load).
 */
const attemptSettled = (client: Redis): (() => Promise<void>) => {
  let pending: Promise<void> | undefined
  return () => {
    if (pending !== undefined) return pending
    pending = new Promise<void>((resolve) => {
      const done = () => {
        client.off("ready", done)
        client.off("close", done)
        client.off("end", done)
        pending = undefined
        resolve()
      }
      client.on("ready", done)
      client.on("close", done)
      client.on("end", done)
    })
    return pending
  }
}

/** What the store needs besides the client: the last connection error, when the store owns the client. */
export interface Diagnostics {
  readonly lastError: () => string | undefined
}

/** A store on a Redis client; the caller keeps ownership of the client. */
export const makeStore = (
  redis: Redis,
  options: ClientOptions,
  diagnostics: Diagnostics = { lastError: () => undefined }
): RateLimitStore.Store => {
  const timeout = Duration.millis(options.commandTimeout)
  const settled = attemptSettled(redis)
  const password = () => redis.options.password

  const unavailable = (message: string) =>
    new RateLimitStore.StoreUnavailable({ store: STORE, message: scrub(message, password()) })

  const describe = (error: unknown): string => {
    const message = error instanceof Error ? error.message : String(error)
    if (!isNotConnected(message)) return `redis: ${message}`
    const last = diagnostics.lastError()
    return `not connected to redis (${redis.status})${last === undefined ? "" : `: ${last}`}`
  }

  // A command sent while the first connection (or a reconnection) is being made waits for
  // it, within the same timeout, instead of failing at once: a fresh instance's first
  // requests should not be refused because the socket was a millisecond late. Between
  // attempts ("reconnecting") the command fails at once.
  const whenConnecting = Effect.suspend(() => {
    switch (redis.status) {
      case "wait":
        redis.connect().catch(() => undefined)
        return Effect.promise(() => settled())
      case "connecting":
      case "connect":
        return Effect.promise(() => settled())
      default:
        return Effect.void
    }
  })

  const command = <A>(run: () => Promise<unknown>, decode: (reply: unknown) => A | Error) =>
    whenConnecting.pipe(
      Effect.zipRight(Effect.tryPromise({ try: run, catch: (error) => unavailable(describe(error)) })),
      Effect.flatMap((reply) => {
        const decoded = decode(reply)
        return decoded instanceof Error ? Effect.fail(unavailable(`redis: ${decoded.message}`)) : Effect.succeed(decoded)
      }),
      // ioredis cannot cancel a command; the reply, if it ever comes, is dropped.
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => unavailable(`no answer from redis within ${options.commandTimeout} ms (${redis.status})`)
      })
    )

  const pair = (reply: unknown): readonly [number, number] | undefined =>
    Array.isArray(reply) && reply.length === 2 && typeof reply[0] === "number" && typeof reply[1] === "number"
      ? [reply[0], reply[1]]
      : undefined

  return {
    name: STORE,
    peek: (client, now) =>
      command(
        () => runScript(redis, peekScript, options.keyPrefix + client),
        (reply): RateLimitStore.Window | undefined | Error => {
          if (reply === null) return undefined
          const counted = pair(reply)
          if (counted === undefined || counted[0] < 0) return new Error(`unexpected reply to peek`)
          // PTTL -2: expired since GET (cannot happen within the script, kept for safety);
          // -1: a key without expiry, repaired by the next recordFailure. Neither is an open window.
          return counted[1] < 0 ? undefined : { failures: counted[0], resetAt: now + counted[1] }
        }
      ),
    recordFailure: (client, windowMillis, now) =>
      command(
        // PEXPIRE takes a whole number of milliseconds, at least 1.
        () => runScript(redis, recordFailureScript, options.keyPrefix + client, String(Math.max(1, Math.ceil(windowMillis)))),
        (reply): RateLimitStore.Window | Error => {
          const counted = pair(reply)
          // The TTL, not an absolute time, crosses the wire: instances' clocks may disagree
          // with Redis's and with each other, a duration does not.
          return counted === undefined ? new Error("unexpected reply to recordFailure") : { failures: counted[0], resetAt: now + counted[1] }
        }
      )
  }
}

/** A client that fails fast: no queue while disconnected, reconnects in the background. */
export const makeClient = (options: ConnectOptions): { readonly client: Redis; readonly diagnostics: Diagnostics } => {
  let lastError: string | undefined
  const client = new Redis(Redacted.value(options.url), {
    // Without an offline queue a command fails at once when there is no connection,
    // instead of waiting for one (ioredis's default would hold a request for as long as
    // Redis is down).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    // A command already answered with StoreUnavailable (timed out) must not run later
    // on the new connection: the caller no longer waits for it.
    autoResendUnfulfilledCommands: false,
    connectTimeout: options.connectTimeout,
    // Keep trying, soon and then every second, so the store recovers by itself.
    retryStrategy: (times) => Math.min(times * 100, 1_000),
    lazyConnect: false
  })
  // Without a listener ioredis prints every connection error to the console; the errors
  // reach callers as StoreUnavailable instead, and the last one explains them.
  client.on("error", (error: unknown) => {
    lastError = scrub(error instanceof Error ? error.message : String(error), client.options.password)
  })
  client.on("ready", () => {
    lastError = undefined
  })
  return { client, diagnostics: { lastError: () => lastError } }
}

/** Closes a client the store owns: QUIT when connected (bounded), then stop reconnecting. */
export const closeClient = async (client: Redis): Promise<void> => {
  if (client.status === "ready") {
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([
      client.quit().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 1_000)
      })
    ])
    clearTimeout(timer)
  }
  client.disconnect()
}
