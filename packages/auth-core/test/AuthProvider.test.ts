import { describe, expect, it, layer } from "@effect/vitest"
import { ApiKey, AuthFailure, AuthProvider, ConfigurationError, HttpAnswer, Jwt } from "@mcpgate/auth-core"
import type { Credentials } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type { JWTPayload } from "jose"
import { SignJWT } from "jose"
import { fingerprint, KEY_ONE, KEY_TWO } from "@mcpgate/testing/apiKeys"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"

const SECRET = "firstOf-test-hs256-secret-with-more-than-32-bytes"
const OTHER_SECRET = "another-hs256-secret-of-more-than-32-bytes-000"
const NOW_S = 1_767_225_600 // 2026-01-01T00:00:00Z
const NOW_MS = NOW_S * 1000

const API_KEY_CHALLENGE = "ApiKey realm=\"mcp\", header=\"X-API-Key\""

/** An HS256 token with explicit iat and exp, relative to NOW. */
const sign = (
  claims: JWTPayload,
  { exp = NOW_S + 3600, iat = NOW_S, secret = SECRET }: { iat?: number; exp?: number; secret?: string } = {}
) =>
  Effect.promise(() =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuedAt(iat)
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret))
  )

const makeApiKey = ApiKey.make({ keys: [KEY_ONE] })
const makeJwt = Jwt.make({ secret: SECRET })

/** Both providers, the API-key one first and the JWT one first; the clock set to NOW. */
const setUp = Effect.gen(function*() {
  yield* TestClock.setTime(NOW_MS)
  const apiKey = yield* makeApiKey
  const jwt = yield* makeJwt
  return { apiKey, jwt, apiKeyFirst: AuthProvider.firstOf(apiKey, jwt), jwtFirst: AuthProvider.firstOf(jwt, apiKey) }
})

const answer = (status: number, body: string, challenge: string) => ({
  status,
  headers: { ...JSON_HEADERS, "www-authenticate": challenge },
  body
})

/** What the caller is sent when every provider refused. */
const refusal = (provider: AuthProvider.Service, request: Credentials.RequestHeaders) =>
  Effect.map(Effect.flip(provider.authenticate(request)), (failure) => ({
    failure,
    answer: HttpAnswer.fromFailure(failure)
  }))

const summary = (failure: AuthFailure.AuthFailure) =>
  AuthFailure.failuresOf(failure).map(({ _tag, provider, reason }) => ({ _tag, provider, reason }))

describe("AuthProvider.firstOf", () => {
  it.effect("lists the kinds of its providers, in order", () =>
    Effect.gen(function*() {
      const { apiKeyFirst, jwtFirst } = yield* setUp
      expect(apiKeyFirst.kinds).toEqual(["api-key", "jwt"])
      expect(jwtFirst.kinds).toEqual(["jwt", "api-key"])
    }))

  it.effect("accepts an API key, whichever provider comes first", () =>
    Effect.gen(function*() {
      const { apiKeyFirst, jwtFirst } = yield* setUp
      for (const provider of [apiKeyFirst, jwtFirst]) {
        const principal = yield* provider.authenticate({ "x-api-key": KEY_ONE })
        expect(principal).toMatchObject({ provider: "api-key", subject: fingerprint(KEY_ONE), clientId: fingerprint(KEY_ONE) })
      }
    }))

  it.effect("accepts a JWT, whichever provider comes first", () =>
    Effect.gen(function*() {
      const { apiKeyFirst, jwtFirst } = yield* setUp
      const token = yield* sign({ sub: "user-1", scope: "tools:read tools:write" })
      for (const provider of [apiKeyFirst, jwtFirst]) {
        const principal = yield* provider.authenticate({ authorization: `Bearer ${token}` })
        expect(principal).toMatchObject({
          provider: "jwt",
          subject: "user-1",
          clientId: "user-1",
          scopes: ["tools:read", "tools:write"],
          expiresAt: NOW_S + 3600
        })
      }
    }))

  it.effect("lets the first success win when both credentials are good", () =>
    Effect.gen(function*() {
      const { apiKeyFirst, jwtFirst } = yield* setUp
      const token = yield* sign({ sub: "user-1" })
      const request = { "x-api-key": KEY_ONE, authorization: `Bearer ${token}` }
      expect((yield* apiKeyFirst.authenticate(request)).provider).toBe("api-key")
      expect((yield* jwtFirst.authenticate(request)).provider).toBe("jwt")
    }))

  it.effect("goes on to the next provider when the first refuses", () =>
    Effect.gen(function*() {
      const { apiKeyFirst, jwtFirst } = yield* setUp
      const token = yield* sign({ sub: "user-1" })
      const goodJwt = { "x-api-key": "mcp_live_0000000000000000wrong", authorization: `Bearer ${token}` }
      expect((yield* apiKeyFirst.authenticate(goodJwt)).provider).toBe("jwt")
      const goodKey = { "x-api-key": KEY_ONE, authorization: "Bearer not-a-jwt" }
      expect((yield* jwtFirst.authenticate(goodKey)).provider).toBe("api-key")
    }))

  describe("when every provider refuses", () => {
    it.effect("without an Authorization header: the API-key body, with both challenges", () =>
      Effect.gen(function*() {
        const { apiKeyFirst, jwtFirst } = yield* setUp
        for (const request of [{}, { "x-api-key": "mcp_live_0000000000000000wrong" }, { "x-api-key": "" }]) {
          const first = yield* refusal(apiKeyFirst, request)
          expect(first.failure._tag).toBe("NoProviderAccepted")
          expect(AuthFailure.primaryOf(first.failure).provider).toBe("api-key")
          expect(first.answer).toStrictEqual(answer(401, Bodies.apiKey, `${API_KEY_CHALLENGE}, Bearer realm="mcp"`))

          const second = yield* refusal(jwtFirst, request)
          expect(AuthFailure.primaryOf(second.failure).provider).toBe("api-key")
          expect(second.answer).toStrictEqual(answer(401, Bodies.apiKey, `Bearer realm="mcp", ${API_KEY_CHALLENGE}`))
        }
      }))

    it.effect("with an Authorization header: the JWT body, with both challenges", () =>
      Effect.gen(function*() {
        const { apiKeyFirst, jwtFirst } = yield* setUp
        const expired = yield* sign({ sub: "user-1" }, { iat: NOW_S - 7200, exp: NOW_S - 3600 })
        const foreign = yield* sign({ sub: "user-1" }, { secret: OTHER_SECRET })
        const cases: ReadonlyArray<readonly [Credentials.RequestHeaders, string]> = [
          [{ authorization: `Bearer ${expired}` }, "error=\"invalid_token\""],
          [{ authorization: `Bearer ${foreign}` }, "error=\"invalid_token\""],
          [{ authorization: "Bearer not-a-jwt" }, "error=\"invalid_token\""],
          [{ authorization: "Bearer a b" }, "error=\"invalid_request\""],
          [{ authorization: "" }, "error=\"invalid_request\""],
          [{ authorization: `Bearer ${KEY_ONE}` }, "error=\"invalid_token\""],
          [{ authorization: `Bearer ${foreign}`, "x-api-key": "mcp_live_0000000000000000wrong" }, "error=\"invalid_token\""]
        ]
        for (const [request, error] of cases) {
          const first = yield* refusal(apiKeyFirst, request)
          expect(AuthFailure.primaryOf(first.failure).provider).toBe("jwt")
          expect(first.answer).toStrictEqual(answer(401, Bodies.jwt, `${API_KEY_CHALLENGE}, Bearer realm="mcp", ${error}`))

          const second = yield* refusal(jwtFirst, request)
          expect(second.answer).toStrictEqual(answer(401, Bodies.jwt, `Bearer realm="mcp", ${error}, ${API_KEY_CHALLENGE}`))
        }
      }))

    it.effect("with an Authorization header of another scheme: the JWT body, and a Bearer challenge without error", () =>
      Effect.gen(function*() {
        const { apiKeyFirst } = yield* setUp
        const { answer: sent, failure } = yield* refusal(apiKeyFirst, { authorization: "Basic dXNlcjpwYXNz" })
        expect(summary(failure)).toEqual([
          { _tag: "MissingCredentials", provider: "api-key", reason: "missing" },
          { _tag: "MissingCredentials", provider: "jwt", reason: "missing" }
        ])
        expect(sent).toStrictEqual(answer(401, Bodies.jwt, `${API_KEY_CHALLENGE}, Bearer realm="mcp"`))
      }))

    it.effect("keeps every provider's failure, in order, for logs", () =>
      Effect.gen(function*() {
        const { apiKeyFirst } = yield* setUp
        const expired = yield* sign({ sub: "user-1" }, { iat: NOW_S - 7200, exp: NOW_S - 3600 })
        const { failure } = yield* refusal(apiKeyFirst, {
          "x-api-key": "mcp_live_0000000000000000wrong",
          authorization: `Bearer ${expired}`
        })
        expect(summary(failure)).toEqual([
          { _tag: "InvalidCredentials", provider: "api-key", reason: "unknown_key" },
          { _tag: "ExpiredCredentials", provider: "jwt", reason: "expired" }
        ])
      }))
  })

  it.effect("asks only the providers of the principal's kind whether it is still valid", () =>
    Effect.gen(function*() {
      const { apiKey, apiKeyFirst } = yield* setUp
      const token = yield* sign({ sub: "user-1" })
      const keyPrincipal = yield* apiKeyFirst.authenticate({ "x-api-key": KEY_ONE })
      const jwtPrincipal = yield* apiKeyFirst.authenticate({ authorization: `Bearer ${token}` })
      expect(yield* apiKeyFirst.stillValid(keyPrincipal)).toBe(true)
      expect(yield* apiKeyFirst.stillValid(jwtPrincipal)).toBe(true)

      yield* apiKey.updateKeys([KEY_TWO])
      expect(yield* apiKeyFirst.stillValid(keyPrincipal)).toBe(false)
      expect(yield* apiKeyFirst.stillValid(jwtPrincipal)).toBe(true)

      // Past exp plus the default 30 s tolerance, the JWT principal is done too.
      yield* TestClock.setTime((NOW_S + 3600 + 31) * 1000)
      expect(yield* apiKeyFirst.stillValid(jwtPrincipal)).toBe(false)
    }))

  it.live("emits changes when any of its providers rotates", () =>
    Effect.scoped(Effect.gen(function*() {
      const apiKey = yield* makeApiKey
      const jwt = yield* makeJwt
      const both = AuthProvider.firstOf(apiKey, jwt)
      const changes = yield* Effect.forkScoped(Stream.runCollect(Stream.take(both.changes, 2)))
      yield* Effect.sleep("50 millis") // let the merged stream subscribe
      yield* apiKey.updateKeys([KEY_TWO])
      yield* jwt.updateKeys({ secret: OTHER_SECRET })
      const collected = yield* Fiber.join(changes).pipe(Effect.timeout("5 seconds"))
      expect(collected.length).toBe(2)
    })))

  it("needs at least one provider, and is the provider itself for one", () =>
    Effect.runSync(Effect.gen(function*() {
      expect(() => AuthProvider.firstOf()).toThrow(TypeError)
      const apiKey = yield* makeApiKey
      expect(AuthProvider.firstOf(apiKey)).toBe(apiKey)
    })))
})

describe("AuthProvider.layerFirstOf", () => {
  layer(AuthProvider.layerFirstOf(makeApiKey, makeJwt))("over an API-key and a JWT provider", (it) => {
    it.effect("serves AuthProvider, accepting either credential", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* AuthProvider.AuthProvider
        expect(provider.kinds).toEqual(["api-key", "jwt"])
        expect((yield* provider.authenticate({ "x-api-key": KEY_ONE })).provider).toBe("api-key")
        const token = yield* sign({ sub: "user-1" })
        expect((yield* provider.authenticate({ authorization: `Bearer ${token}` })).provider).toBe("jwt")
      }))

    it.effect("answers as firstOf does when both refuse", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* AuthProvider.AuthProvider
        expect((yield* refusal(provider, {})).answer).toStrictEqual(
          answer(401, Bodies.apiKey, `${API_KEY_CHALLENGE}, Bearer realm="mcp"`)
        )
        expect((yield* refusal(provider, { authorization: "Bearer not-a-jwt" })).answer).toStrictEqual(
          answer(401, Bodies.jwt, `${API_KEY_CHALLENGE}, Bearer realm="mcp", error="invalid_token"`)
        )
      }))
  })

  it.effect("fails to build when a provider's options are bad", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(Layer.build(AuthProvider.layerFirstOf(ApiKey.make({ keys: ["short"] }), makeJwt)))
      )
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
    }))
})

describe("every provider's authenticate", () => {
  /** A header record that counts how often its header names are listed. */
  const watched = (headers: Record<string, string>) => {
    const reads = { count: 0 }
    const record = new Proxy(headers, {
      ownKeys: (target) => {
        reads.count++
        return Reflect.ownKeys(target)
      }
    })
    return { reads, record }
  }

  it.effect("reads nothing until its effect runs, and reads again on every run", () =>
    Effect.gen(function*() {
      const providers = [yield* makeApiKey, yield* makeJwt]
      for (const provider of providers) {
        const { reads, record } = watched({ "x-api-key": KEY_ONE })
        const check = Effect.either(provider.authenticate(record))
        expect(reads.count).toBe(0)
        yield* check
        const once = reads.count
        expect(once).toBeGreaterThan(0)
        yield* check
        expect(reads.count).toBe(2 * once)
      }
    }))
})
