import { describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthFailure, HttpAnswer, Jwt } from "@mcpgate/auth-core"
import { AuthMetrics, Gate, RateLimiter } from "@mcpgate/http"
import type { AuthProvider } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as TestClock from "effect/TestClock"
import { fingerprint, KEY_ONE, KEY_TWO } from "@mcpgate/testing/apiKeys"
import { Bodies } from "@mcpgate/testing/contract"
import { SECRET_256, sign } from "@mcpgate/testing/tokens"

const keyed = Effect.orDie(ApiKey.make({ keys: [{ key: KEY_ONE, label: "ci" }] }))
const request = (client: string, key?: string): Gate.Request => ({
  client,
  headers: key === undefined ? {} : { "x-api-key": key }
})

/** Runs an effect with a logger that keeps every line, and returns what was logged. */
const logged = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<{ message: string; annotations: Record<string, unknown>; level: string }> = []
    const logger = Logger.make(({ annotations, logLevel, message }) => {
      lines.push({
        message: String(Array.isArray(message) ? message.join(" ") : message),
        annotations: Object.fromEntries(annotations),
        level: logLevel.label
      })
    })
    const value = yield* Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger))
    return { value, lines }
  })

const countOf = (counter: Metric.Metric.Counter<number>) => Effect.map(Metric.value(counter), (state) => state.count)

describe("Gate: the failed-attempt limit before any cryptography", () => {
  it.effect("turns a client away with 429 after 20 failures, good key included, until its window ends", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed)
      for (let i = 0; i < 20; i++) {
        const verdict = yield* gate.check(request("203.0.113.7", `wrong-key-number-${i}`), true)
        expect(verdict).toMatchObject({ _tag: "Refused", answer: { status: 401, body: Bodies.apiKey } })
      }
      const limited = yield* gate.check(request("203.0.113.7", KEY_ONE), true)
      expect(limited).toEqual({ _tag: "Refused", answer: HttpAnswer.tooManyAttempts(60) })
      if (limited._tag !== "Refused") throw new Error("unreachable")
      expect(limited.answer.headers["retry-after"]).toBe("60")
      expect(limited.answer.body).toBe(Bodies.rateLimited)
      // Another client is served throughout.
      expect(yield* gate.check(request("198.51.100.1", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated" })
      yield* TestClock.adjust("45 seconds")
      expect(yield* gate.check(request("203.0.113.7", KEY_ONE), true)).toEqual({
        _tag: "Refused",
        answer: HttpAnswer.tooManyAttempts(15)
      })
      yield* TestClock.adjust("15 seconds")
      expect(yield* gate.check(request("203.0.113.7", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated" })
    }))

  it.effect("asks no provider while the client is limited", () =>
    Effect.gen(function*() {
      let asked = 0
      const provider = yield* keyed
      const counting: AuthProvider.Service = {
        ...provider,
        authenticate: (headers) => Effect.suspend(() => (asked++, provider.authenticate(headers)))
      }
      const gate = Gate.unsafeMake(counting, { rateLimit: { maxFailures: 2 } })
      yield* gate.check(request("a", "wrong-key-aaaaaaaaaa"), true)
      yield* gate.check(request("a", "wrong-key-aaaaaaaaaa"), true)
      expect(asked).toBe(2)
      for (let i = 0; i < 10; i++) yield* gate.check(request("a", KEY_ONE), true)
      expect(asked).toBe(2)
    }))

  it.effect("spends no budget on successes, on anonymous requests where credentials are optional, or on a 503", () =>
    Effect.gen(function*() {
      const provider = yield* keyed
      const unavailable: AuthProvider.Service = {
        ...provider,
        authenticate: () =>
          Effect.fail(
            new AuthFailure.KeySourceUnavailable({
              provider: "jwt",
              reason: "key_source_unavailable",
              challenge: { scheme: "Bearer", realm: "mcp" }
            })
          )
      }
      const gate = Gate.unsafeMake(provider, { rateLimit: { maxFailures: 1 } })
      for (let i = 0; i < 5; i++) {
        expect(yield* gate.check(request("a", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated" })
        expect(yield* gate.check(request("a"), false)).toEqual({ _tag: "Anonymous" })
      }
      const down = Gate.unsafeMake(unavailable, { rateLimit: { maxFailures: 1 } })
      for (let i = 0; i < 5; i++) {
        expect(yield* down.check(request("a", KEY_ONE), true)).toEqual({ _tag: "Refused", answer: HttpAnswer.unavailable })
      }
      // A missing credential where one is required is a 401, but cannot be a guess: no budget.
      for (let i = 0; i < 5; i++) expect(yield* gate.check(request("b"), true)).toMatchObject({ answer: { status: 401 } })
      yield* gate.check(request("b", "wrong-key-aaaaaaaaaa"), true)
      expect(yield* gate.check(request("b", "wrong-key-bbbbbbbbbb"), true)).toMatchObject({ answer: { status: 429 } })
    }))

  it.effect("counts a custom provider's refusal with its own status (getAuthError) as a failed attempt", () =>
    Effect.gen(function*() {
      const provider = yield* keyed
      const custom: AuthProvider.Service = {
        ...provider,
        kinds: ["custom"],
        authenticate: () =>
          Effect.fail(
            new AuthFailure.InvalidCredentials({
              provider: "custom",
              reason: "custom_refusal",
              challenge: { scheme: "Bearer", realm: "mcp" },
              refusal: { status: 403, message: "Forbidden" }
            })
          )
      }
      const gate = Gate.unsafeMake(custom, { rateLimit: { maxFailures: 2 } })
      expect(yield* gate.check(request("a", KEY_ONE), true)).toMatchObject({ answer: { status: 403 } })
      expect(yield* gate.check(request("a", KEY_ONE), true)).toMatchObject({ answer: { status: 403 } })
      expect(yield* gate.check(request("a", KEY_ONE), true)).toMatchObject({ answer: { status: 429 } })
    }))

  it.effect("with rateLimit: false, never answers 429", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed, { rateLimit: false })
      expect(gate.limiter).toBeUndefined()
      for (let i = 0; i < 100; i++) yield* gate.check(request("a", "wrong-key-aaaaaaaaaa"), true)
      expect(yield* gate.check(request("a", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated" })
    }))

  it.effect("shares one budget between gates given the same limiter", () =>
    Effect.gen(function*() {
      const limiter = RateLimiter.unsafeMake({ maxFailures: 2 })
      const sse = Gate.unsafeMake(yield* keyed, { rateLimit: limiter })
      const stream = Gate.unsafeMake(yield* keyed, { rateLimit: limiter })
      yield* sse.check(request("a", "wrong-key-aaaaaaaaaa"), true)
      yield* stream.check(request("a", "wrong-key-aaaaaaaaaa"), true)
      expect(yield* sse.check(request("a", KEY_ONE), true)).toMatchObject({ answer: { status: 429 } })
    }))
})

describe("Gate: counters and log lines (contract section 8)", () => {
  it.effect("counts successes by provider, failures by provider and reason, and 429s", () =>
    Effect.gen(function*() {
      const successes = Metric.tagged(AuthMetrics.successes, "provider", "api-key")
      const unknownKey = Metric.tagged(Metric.tagged(AuthMetrics.failures, "provider", "api-key"), "reason", "unknown_key")
      const missing = Metric.tagged(Metric.tagged(AuthMetrics.failures, "provider", "api-key"), "reason", "missing")
      const before = [yield* countOf(successes), yield* countOf(unknownKey), yield* countOf(missing), yield* countOf(AuthMetrics.rateLimited)]
      const gate = Gate.unsafeMake(yield* keyed, { rateLimit: { maxFailures: 2 } })
      yield* gate.check(request("a", KEY_ONE), true)
      yield* gate.check(request("a"), true)
      yield* gate.check(request("a", "wrong-key-aaaaaaaaaa"), true)
      yield* gate.check(request("a", "wrong-key-bbbbbbbbbb"), true)
      yield* gate.check(request("a", "wrong-key-cccccccccc"), true)
      const after = [yield* countOf(successes), yield* countOf(unknownKey), yield* countOf(missing), yield* countOf(AuthMetrics.rateLimited)]
      expect(after.map((n, i) => n - before[i]!)).toEqual([1, 2, 1, 1])
    }))

  it.effect("logs each failure once at warning level with reason, provider and client, and nothing of an unknown key", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed)
      const wrong = "wrong-key-0123456789abcdef"
      const { lines } = yield* logged(
        Effect.all([gate.check(request("203.0.113.7", wrong), true), gate.check(request("203.0.113.7", KEY_ONE), true)])
      )
      expect(lines).toEqual([{
        message: "authentication failed",
        level: "WARN",
        annotations: { reason: "unknown_key", provider: "api-key", client: "203.0.113.7" }
      }])
      expect(JSON.stringify(lines)).not.toContain(wrong)
      expect(JSON.stringify(lines)).not.toContain(fingerprint(wrong))
      expect(JSON.stringify(lines)).not.toContain(KEY_ONE)
    }))

  it.effect("logs a client crossing its budget once, and not every 429 after it", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed, { rateLimit: { maxFailures: 2 } })
      const { lines } = yield* logged(
        Effect.forEach(Array.from({ length: 10 }), () => gate.check(request("a", "wrong-key-aaaaaaaaaa"), true))
      )
      expect(lines.map((line) => line.message)).toEqual([
        "authentication failed",
        "authentication failed",
        "client over its failed-attempt budget"
      ])
      expect(lines[2]!.annotations).toEqual({ client: "a", retryAfterSeconds: 60 })
    }))

  it.effect("holds back log lines beyond 100 a minute, then says how many were held back", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed)
      const suppressedBefore = yield* countOf(AuthMetrics.logLinesSuppressed)
      const { lines } = yield* logged(
        Effect.forEach(Array.from({ length: 250 }), (_, i) => gate.check(request(`10.0.${i >> 8}.${i & 255}`, "wrong-key-aaaaaaaaaa"), true))
      )
      expect(lines.length).toBe(100)
      expect((yield* countOf(AuthMetrics.logLinesSuppressed)) - suppressedBefore).toBe(150)
      yield* TestClock.adjust("60 seconds")
      const { lines: next } = yield* logged(gate.check(request("10.9.9.9", "wrong-key-aaaaaaaaaa"), true))
      expect(next.map((line) => [line.message, line.annotations])).toEqual([
        ["authentication failure log lines suppressed by flood control", { suppressed: 150, windowSeconds: 60 }],
        ["authentication failed", { reason: "unknown_key", provider: "api-key", client: "10.9.9.9" }]
      ])
    }))
})

describe("Gate: protected resource (RFC 9728)", () => {
  const resource = { resource: "https://mcp.example.com/mcp", metadataUrl: "https://mcp.example.com/.well-known/oauth-protected-resource/mcp" }
  const jwt = Effect.orDie(Jwt.make({ secret: SECRET_256, audience: [resource.resource, "https://other.example.com"] }))

  it.effect("names the metadata in every Bearer challenge", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* jwt, { protectedResource: resource })
      const verdict = yield* gate.check({ client: "a", headers: {} }, true)
      expect(verdict).toMatchObject({
        answer: { status: 401, headers: { "www-authenticate": `Bearer realm="mcp", resource_metadata="${resource.metadataUrl}"` } }
      })
    }))

  it.effect("accepts a JWT addressed to the resource, and refuses one addressed only elsewhere", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* jwt, { protectedResource: resource })
      const ours = yield* sign({ alg: "HS256", key: SECRET_256, claims: { aud: resource.resource }, now: 0 })
      const theirs = yield* sign({ alg: "HS256", key: SECRET_256, claims: { aud: "https://other.example.com" }, now: 0 })
      expect(yield* gate.check({ client: "a", headers: { authorization: `Bearer ${ours}` } }, true)).toMatchObject({
        _tag: "Authenticated"
      })
      expect(yield* gate.check({ client: "a", headers: { authorization: `Bearer ${theirs}` } }, true)).toMatchObject({
        answer: {
          status: 401,
          body: Bodies.jwt,
          headers: { "www-authenticate": `Bearer realm="mcp", error="invalid_token", resource_metadata="${resource.metadataUrl}"` }
        }
      })
    }))

  it.effect("leaves API keys alone: they carry no audience", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed, { protectedResource: resource })
      expect(yield* gate.check(request("a", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated" })
      expect(yield* gate.check(request("a", KEY_TWO), true)).toMatchObject({ answer: { status: 401 } })
    }))
})
