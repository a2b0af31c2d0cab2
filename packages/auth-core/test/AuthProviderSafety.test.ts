import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, ApiKey, AuthFailure, AuthProvider, HttpAnswer, Jwt, JWTAuthProvider } from "@mcpgate/auth-core"
import type { Credentials, Principal } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { KEY_ONE } from "@mcpgate/testing/apiKeys"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import { bearer, NOW_MS, SECRET_256, sign } from "@mcpgate/testing/tokens"

const JWT_INVALID_TOKEN = "Bearer realm=\"mcp\", error=\"invalid_token\""

const answer = (body: string, challenge: string): HttpAnswer.HttpAnswer => ({
  status: 401,
  headers: { ...JSON_HEADERS, "www-authenticate": challenge },
  body
})

const somebody: Principal.Principal = {
  provider: "api-key",
  subject: "custom",
  clientId: "custom",
  scopes: [],
  identity: "api-key:custom",
  keyId: "api-key:custom"
}

/** A hand-written provider service whose check is `authenticate`. */
const custom = (
  authenticate: AuthProvider.Service["authenticate"],
  fields: Partial<Pick<AuthProvider.Service, "kinds" | "headerNames">> = {}
): AuthProvider.Service => ({
  kinds: ["api-key"],
  headerNames: ["X-API-Key"],
  authenticate,
  stillValid: () => Effect.succeed(true),
  changes: Stream.empty,
  ...fields
})

/** Ways a custom provider's check can end without a verdict. */
const dyingChecks: ReadonlyArray<readonly [string, AuthProvider.Service["authenticate"]]> = [
  ["dies with Effect.die", () => Effect.die(new TypeError("boom"))],
  ["throws inside Effect.sync", () => Effect.sync(() => { throw new RangeError("boom") })],
  ["throws instead of returning an effect", () => { throw new Error("boom") }],
  ["rejects inside Effect.promise", () => Effect.promise(() => Promise.reject(new Error("boom")))]
]

/** A request whose headers throw when read, in each shape a provider accepts. */
const explodingRequests: ReadonlyArray<readonly [string, Credentials.RequestHeaders]> = [
  [
    "a header record with a throwing getter",
    Object.defineProperties({}, {
      "x-api-key": { enumerable: true, get: () => { throw new TypeError("getter") } },
      "x-team-key": { enumerable: true, get: () => { throw new TypeError("getter") } },
      authorization: { enumerable: true, get: () => { throw new TypeError("getter") } }
    }) as Credentials.HeaderRecord
  ],
  [
    "a Headers-like object whose get throws",
    { get: () => { throw new TypeError("get") }, forEach: () => undefined } as unknown as Headers
  ],
  [
    "a Node-like request whose headersDistinct throws",
    Object.defineProperty({}, "headersDistinct", { get: () => { throw new TypeError("distinct") } }) as Credentials.NodeRequestLike
  ]
]

describe("Service.headerNames", () => {
  it.effect("ApiKey: the configured header, and Authorization only with allowBearer", () =>
    Effect.gen(function*() {
      expect((yield* ApiKey.make({ keys: [KEY_ONE] })).headerNames).toEqual(["X-API-Key"])
      expect((yield* ApiKey.make({ keys: [KEY_ONE], headerName: "X-Team-Key" })).headerNames).toEqual(["X-Team-Key"])
      expect((yield* ApiKey.make({ keys: [KEY_ONE], allowBearer: true })).headerNames).toEqual(["X-API-Key", "Authorization"])
      expect((yield* ApiKey.make({ keys: [KEY_ONE], headerName: "X-Team-Key", allowBearer: true })).headerNames)
        .toEqual(["X-Team-Key", "Authorization"])
    }))

  it.effect("Jwt: Authorization, or the configured headerName", () =>
    Effect.gen(function*() {
      expect((yield* Jwt.make({ secret: SECRET_256 })).headerNames).toEqual(["Authorization"])
      expect((yield* Jwt.make({ secret: SECRET_256, headerName: "X-Access-Token", requireBearer: false })).headerNames)
        .toEqual(["X-Access-Token"])
    }))

  it.effect("firstOf: the union of its providers' headers, each once whatever its case, in the first spelling, in order", () =>
    Effect.gen(function*() {
      const apiKey = yield* ApiKey.make({ keys: [KEY_ONE], allowBearer: true })
      const jwt = yield* Jwt.make({ secret: SECRET_256 })
      const teamJwt = yield* Jwt.make({ secret: SECRET_256, headerName: "X-Team-Token" })
      expect(AuthProvider.firstOf(apiKey, jwt).headerNames).toEqual(["X-API-Key", "Authorization"])
      expect(AuthProvider.firstOf(jwt, apiKey).headerNames).toEqual(["Authorization", "X-API-Key"])
      expect(AuthProvider.firstOf(apiKey, jwt, teamJwt).headerNames).toEqual(["X-API-Key", "Authorization", "X-Team-Token"])
      expect(AuthProvider.firstOf(jwt, jwt).headerNames).toEqual(["Authorization"])
    }))

  it.effect("firstOf of one provider is that provider, its header names as configured", () =>
    Effect.gen(function*() {
      const apiKey = yield* ApiKey.make({ keys: [KEY_ONE], headerName: "X-Team-Key" })
      expect(AuthProvider.firstOf(apiKey)).toBe(apiKey)
      expect(AuthProvider.firstOf(apiKey).headerNames).toEqual(["X-Team-Key"])
    }))
})

describe("AuthProvider.authenticateSafely", () => {
  for (const [how, authenticate] of dyingChecks) {
    it.effect(`turns a JWT-kind provider that ${how} into the JWT 401 (verification_error)`, () =>
      Effect.gen(function*() {
        const provider = custom(authenticate, { kinds: ["jwt"], headerNames: ["Authorization"] })
        const failure = yield* Effect.flip(AuthProvider.authenticateSafely(provider, {}))
        expect(failure).toBeInstanceOf(AuthFailure.InvalidCredentials)
        expect(failure).toMatchObject({ provider: "jwt", reason: "verification_error" })
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(answer(Bodies.jwt, JWT_INVALID_TOKEN))
      }))

    it.effect(`turns an API-key-kind provider that ${how} into the API-key 401 (verification_error)`, () =>
      Effect.gen(function*() {
        const failure = yield* Effect.flip(AuthProvider.authenticateSafely(custom(authenticate), {}))
        expect(failure).toBeInstanceOf(AuthFailure.InvalidCredentials)
        expect(failure).toMatchObject({ provider: "api-key", reason: "verification_error" })
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(answer(Bodies.apiKey, "ApiKey realm=\"mcp\", header=\"X-API-Key\""))
      }))
  }

  it.effect("names the provider's own header in the API-key challenge", () =>
    Effect.gen(function*() {
      for (const headerNames of [["X-Team-Key"], ["Authorization", "X-Team-Key"]]) {
        const provider = custom(() => Effect.die("boom"), { headerNames })
        const failure = yield* Effect.flip(AuthProvider.authenticateSafely(provider, {}))
        expect(HttpAnswer.fromFailure(failure).headers["www-authenticate"]).toBe("ApiKey realm=\"mcp\", header=\"X-Team-Key\"")
      }
    }))

  it.effect("answers as a JWT provider when the provider names no kind", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(AuthProvider.authenticateSafely(custom(() => Effect.die("boom"), { kinds: [] }), {}))
      expect(HttpAnswer.fromFailure(failure)).toStrictEqual(answer(Bodies.jwt, JWT_INVALID_TOKEN))
    }))

  it.effect("answers by the first kind of a provider of several kinds", () =>
    Effect.gen(function*() {
      const jwtFirst = custom(() => Effect.die("boom"), { kinds: ["jwt", "api-key"] })
      expect(HttpAnswer.fromFailure(yield* Effect.flip(AuthProvider.authenticateSafely(jwtFirst, {}))).body).toBe(Bodies.jwt)
      const apiKeyFirst = custom(() => Effect.die("boom"), { kinds: ["api-key", "jwt"] })
      expect(HttpAnswer.fromFailure(yield* Effect.flip(AuthProvider.authenticateSafely(apiKeyFirst, {}))).body).toBe(Bodies.apiKey)
    }))

  it.effect("leaves a success and a typed failure as they are", () =>
    Effect.gen(function*() {
      expect(yield* AuthProvider.authenticateSafely(custom(() => Effect.succeed(somebody)), {})).toBe(somebody)
      const refusal = new AuthFailure.MissingCredentials({
        provider: "api-key",
        reason: "missing",
        challenge: { scheme: "ApiKey", realm: "tools", headerName: "X-Team-Key" }
      })
      expect(yield* Effect.flip(AuthProvider.authenticateSafely(custom(() => Effect.fail(refusal)), {}))).toBe(refusal)
    }))

  it("does not call the provider before the effect runs", () => {
    let calls = 0
    const provider = custom(() => {
      calls++
      return Effect.succeed(somebody)
    })
    const check = AuthProvider.authenticateSafely(provider, {})
    expect(calls).toBe(0)
    expect(Effect.runSync(check)).toBe(somebody)
    expect(calls).toBe(1)
  })

  describe("inside firstOf", () => {
    it.effect("a provider that dies refuses like any other, and the next provider is still asked", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const jwt = yield* Jwt.make({ secret: SECRET_256 })
        const both = AuthProvider.firstOf(custom(() => Effect.die("boom")), jwt)
        const token = yield* sign({ alg: "HS256", key: SECRET_256 })
        expect((yield* both.authenticate(bearer(token))).provider).toBe("jwt")
      }))

    it.effect("when all refuse, the body follows the Authorization header and both challenges are sent", () =>
      Effect.gen(function*() {
        const jwt = yield* Jwt.make({ secret: SECRET_256 })
        const both = AuthProvider.firstOf(custom(() => Effect.die("boom"), { headerNames: ["X-Team-Key"] }), jwt)
        expect(HttpAnswer.fromFailure(yield* Effect.flip(both.authenticate({})))).toStrictEqual(
          answer(Bodies.apiKey, "ApiKey realm=\"mcp\", header=\"X-Team-Key\", Bearer realm=\"mcp\"")
        )
        expect(HttpAnswer.fromFailure(yield* Effect.flip(both.authenticate(bearer("a.b.c"))))).toStrictEqual(
          answer(Bodies.jwt, `ApiKey realm="mcp", header="X-Team-Key", ${JWT_INVALID_TOKEN}`)
        )
      }))
  })
})

describe("mcpgate's providers turn any exception while checking into a 401", () => {
  for (const [what, request] of explodingRequests) {
    it.effect(`ApiKey, reading ${what}: InvalidCredentials, verification_error`, () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({ keys: [KEY_ONE], headerName: "X-Team-Key", realm: "tools" })
        const failure = yield* Effect.flip(provider.authenticate(request))
        expect(failure).toBeInstanceOf(AuthFailure.InvalidCredentials)
        expect(failure).toMatchObject({ provider: "api-key", reason: "verification_error" })
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(answer(Bodies.apiKey, "ApiKey realm=\"tools\", header=\"X-Team-Key\""))
      }))

    it.effect(`Jwt, reading ${what}: InvalidCredentials, verification_error`, () =>
      Effect.gen(function*() {
        const provider = yield* Jwt.make({ secret: SECRET_256, headerName: "X-API-Key" })
        const failure = yield* Effect.flip(provider.authenticate(request))
        expect(failure).toBeInstanceOf(AuthFailure.InvalidCredentials)
        expect(failure).toMatchObject({ provider: "jwt", reason: "verification_error" })
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(answer(Bodies.jwt, JWT_INVALID_TOKEN))
      }))
  }

  // The Promise providers answer what they can without a fiber (an API key, a cached token),
  // so their own path is checked too: a resolved 401, never a rejection.
  for (const [what, request] of explodingRequests) {
    it(`APIKeyAuthProvider and JWTAuthProvider, reading ${what}: a resolved 401 from check, false from authenticate, never a rejection`, async () => {
      const apiKey = new APIKeyAuthProvider({ keys: [KEY_ONE] })
      const jwt = new JWTAuthProvider({ secret: SECRET_256 })
      for (const [provider, body] of [[apiKey, Bodies.apiKey], [jwt, Bodies.jwt]] as const) {
        const result = await provider.check(request)
        expect(result).toMatchObject({ ok: false, status: 401, body, reason: "verification_error" })
        expect(await provider.authenticate(request as never)).toBe(false)
        await provider.dispose()
      }
    })
  }

  it.effect("firstOf of both, reading a throwing request: the first refusal's body with both challenges, never a defect", () =>
    Effect.gen(function*() {
      const both = AuthProvider.firstOf(yield* ApiKey.make({ keys: [KEY_ONE] }), yield* Jwt.make({ secret: SECRET_256 }))
      for (const [, request] of explodingRequests) {
        const failure = yield* Effect.flip(both.authenticate(request))
        expect(AuthFailure.failuresOf(failure).map((single) => single.reason)).toEqual(["verification_error", "verification_error"])
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(
          answer(Bodies.apiKey, `ApiKey realm="mcp", header="X-API-Key", ${JWT_INVALID_TOKEN}`)
        )
      }
    }))
})

describe("HttpAnswer.accepted", () => {
  it("is 202 with an empty body and no headers", () => {
    expect(HttpAnswer.accepted).toStrictEqual({ status: 202, headers: {}, body: "" })
  })
})
