/**
 * The Redis store's options, decoded once, before any connection is made.
 */
import { Options } from "@mcpgate/auth-core"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

export const DEFAULT_KEY_PREFIX = "mcpgate:auth-failures:"
export const DEFAULT_COMMAND_TIMEOUT = 250
export const DEFAULT_CONNECT_TIMEOUT = 1_000

const isUrlInput = (input: unknown): input is string | Redacted.Redacted<string> =>
  typeof input === "string" || Redacted.isRedacted(input) && typeof Redacted.value(input) === "string"

/**
 * What is wrong with a Redis URL, in words that never quote it: it may carry a password
 * (`redis://:password@host:6379`).
 */
const urlProblem = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return "is not a URL: write redis://[[user]:password@]host[:port][/db], e.g. \"redis://127.0.0.1:6379\""
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    // Only a scheme followed by "//" is shown: in "user:password@host" the "scheme" is a user name.
    const scheme = /^[a-z][a-z0-9+.-]{0,20}:$/i.test(parsed.protocol) && url.startsWith(`${parsed.protocol}//`)
      ? ` ${JSON.stringify(parsed.protocol)}`
      : ""
    return `must start with redis:// or rediss://, not with the scheme${scheme}`
  }
  if (parsed.hostname === "") return "has no host, e.g. \"redis://127.0.0.1:6379\""
  // ioredis reads the path as the database number; anything else would be silently ignored.
  if (parsed.pathname !== "" && parsed.pathname !== "/" && !/^\/\d+$/.test(parsed.pathname)) {
    return "the path must be a database number, e.g. \"redis://127.0.0.1:6379/0\""
  }
  return undefined
}

const RedisUrl = Schema.declare(isUrlInput, {
  message: () => "must be a string or a Redacted string"
}).pipe(
  Schema.filter((url) => urlProblem(typeof url === "string" ? url : Redacted.value(url)) ?? true)
)

const Millis = Schema.Number.pipe(
  Schema.filter((millis) =>
    Number.isFinite(millis) && millis > 0 || `${millis} is not a positive number of milliseconds`
  )
)

const clientFields = {
  keyPrefix: Schema.optionalWith(Schema.String, { default: () => DEFAULT_KEY_PREFIX }),
  commandTimeout: Schema.optionalWith(Millis, { default: () => DEFAULT_COMMAND_TIMEOUT })
}

export const ClientOptions = Schema.Struct(clientFields)

export const ConnectOptions = Schema.Struct({
  url: RedisUrl,
  ...clientFields,
  connectTimeout: Schema.optionalWith(Millis, { default: () => DEFAULT_CONNECT_TIMEOUT })
})

export type ClientOptions = typeof ClientOptions.Type

export interface ConnectOptions extends ClientOptions {
  readonly url: Redacted.Redacted<string>
  readonly connectTimeout: number
}

/** The options of `fromClient`, decoded. */
export const decodeClientOptions = (input: unknown): Either.Either<ClientOptions, ConfigurationError> =>
  Options.decode(ClientOptions, input ?? {}, "RedisStore")

/** The options of `make`, `layer` and `connect`, decoded; the URL is held `Redacted` from here on. */
export const decodeConnectOptions = (input: unknown): Either.Either<ConnectOptions, ConfigurationError> =>
  Either.map(
    Options.decode(ConnectOptions, input, "RedisStore"),
    (options) => ({
      ...options,
      url: typeof options.url === "string" ? Redacted.make(options.url) : options.url
    })
  )
