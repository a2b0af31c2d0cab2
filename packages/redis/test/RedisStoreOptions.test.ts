/**
 * Options are refused before any connection is made, with a readable `ConfigurationError`
 * that names the option and never quotes the URL (it may hold a password).
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core"
import { RedisStore } from "@mcpgate/redis"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { Redis } from "ioredis"

/** The message `connect` throws for these options. */
const refusal = (options: unknown): string => {
  try {
    const connection = RedisStore.connect(options as RedisStore.Options)
    void connection.close()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
    return (error as Error).message
  }
  throw new Error("expected the options to be refused")
}

describe("RedisStore options", () => {
  it("the url must be redis:// or rediss:// with a host", () => {
    expect(refusal({ url: "http://127.0.0.1:6379" })).toContain(
      "url: must start with redis:// or rediss://, not with the scheme \"http:\""
    )
    // Without a scheme, the host reads as one.
    expect(refusal({ url: "localhost:6379" })).toContain("url: must start with redis:// or rediss://")
    expect(refusal({ url: "127.0.0.1:6379" })).toContain("url: is not a URL")
    expect(refusal({ url: "not a url" })).toContain("url: is not a URL")
    expect(refusal({ url: "redis://" })).toContain("url: has no host")
    expect(refusal({ url: "redis://127.0.0.1:6379/cache" })).toContain("url: the path must be a database number")
    expect(refusal({})).toContain("url: is missing")
    expect(refusal({ url: 6379 })).toContain("url: must be a string or a Redacted string")
  })

  it("a refused url is never quoted: it may hold a password", () => {
    for (const url of ["http://:s3cret@cache.internal:6379", "redis://:s3cret@cache.internal:6379/db"]) {
      const message = refusal({ url })
      expect(message).not.toContain("s3cret")
      expect(message).not.toContain("cache.internal")
    }
    expect(refusal({ url: Redacted.make("https://:s3cret@cache.internal") })).not.toContain("s3cret")
    // Without "//", what reads as a scheme is a user name: not shown either.
    expect(refusal({ url: "alice:s3cret@cache.internal:6379" })).not.toContain("alice")
  })

  it("timeouts are positive, finite milliseconds", () => {
    const url = "redis://127.0.0.1:6379"
    expect(refusal({ url, commandTimeout: -5 })).toContain("commandTimeout: -5 is not a positive number of milliseconds")
    expect(refusal({ url, commandTimeout: 0 })).toContain("commandTimeout: 0 is not a positive number of milliseconds")
    expect(refusal({ url, commandTimeout: Infinity })).toContain("commandTimeout: Infinity is not a positive number")
    expect(refusal({ url, connectTimeout: Number.NaN })).toContain("connectTimeout: NaN is not a positive number")
    expect(refusal({ url, commandTimeout: "250ms" })).toContain("commandTimeout: Expected number")
  })

  it("keyPrefix is a string; a misspelled option is refused, naming it", () => {
    const url = "redis://127.0.0.1:6379"
    expect(refusal({ url, keyPrefix: 42 })).toContain("keyPrefix: Expected string")
    expect(refusal({ url, prefix: "app:" })).toContain("prefix: is unexpected")
    expect(refusal({ url, commandTimout: 100 })).toContain("commandTimout: is unexpected")
  })

  it("every problem is reported at once, under the store's name", () => {
    const message = refusal({ url: "http://x", commandTimeout: -1, keyPrefix: 1 })
    expect(message.split("\n")[0]).toBe("Invalid RedisStore options:")
    expect(message).toContain("url:")
    expect(message).toContain("commandTimeout:")
    expect(message).toContain("keyPrefix:")
  })

  it.effect("make and layer fail with the ConfigurationError, before connecting", () =>
    Effect.gen(function*() {
      const made = yield* Effect.flip(Effect.scoped(RedisStore.make({ url: "http://127.0.0.1:6379" })))
      expect(made._tag).toBe("ConfigurationError")
      const layered = yield* Effect.flip(Effect.provide(Effect.void, RedisStore.layer({ url: "redis://h", commandTimeout: -1 })))
      expect(layered._tag).toBe("ConfigurationError")
    }))

  it("fromClient checks its options too", () => {
    const client = new Redis({ lazyConnect: true })
    try {
      expect(() => RedisStore.fromClient(client, { commandTimeout: -1 })).toThrow(
        "commandTimeout: -1 is not a positive number of milliseconds"
      )
      expect(RedisStore.fromClient(client).name).toBe("redis")
    } finally {
      client.disconnect()
    }
  })
})
