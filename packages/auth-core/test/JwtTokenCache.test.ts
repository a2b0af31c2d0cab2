/**
 * The verified-token cache of the JWT provider: a repeated token skips its signature check,
 * and nothing else. Every claim rule still holds on a hit, failures are never remembered,
 * the cache is bounded, and no entry outlives a key rotation, local or remote.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Principal } from "@mcpgate/auth-core"
import { AuthFailure, Jwt, JWTAuthProvider } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as TestClock from "effect/TestClock"
import * as jose from "jose"
import type { Server } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { vi } from "vitest"
import {
  bearer,
  expectRefusal,
  forAll,
  makeKeys,
  NOW,
  NOW_MS,
  OTHER_SECRET_256,
  refusal,
  SECRET_256,
  sign,
  signToken
} from "@mcpgate/testing/tokens"

// Every signature check, watched, on either path (node:crypto's HMAC and signatures, or
// jose's `jwtVerify`): a hit is a request that reached none of them.
vi.mock("jose", async (importOriginal) => {
  const actual = await importOriginal<typeof import("jose")>()
  return { ...actual, jwtVerify: vi.fn(actual.jwtVerify) }
})
// The core finds `node:crypto` at run time (`process.getBuiltinModule`, see
// src/internal/platform.ts), not by an import a mock could replace: its functions are watched
// on the module object itself.
const crypto = process.getBuiltinModule("node:crypto")
vi.spyOn(crypto, "createHmac")
vi.spyOn(crypto, "verify")
const verifications = () =>
  vi.mocked(jose.jwtVerify).mock.calls.length + vi.mocked(crypto.createHmac).mock.calls.length +
  vi.mocked(crypto.verify).mock.calls.length

/** Runs `effect` and says how many signature checks it took. */
const counting = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const before = verifications()
    const result = yield* Effect.either(effect)
    return { result, verified: verifications() - before }
  })

const reasonOf = (failure: AuthFailure.AuthFailure) => AuthFailure.primaryOf(failure).reason

const hs256 = (options: Omit<Jwt.Options, "secret"> = {}) => Effect.orDie(Jwt.make({ secret: SECRET_256, ...options }))

describe("Jwt verified-token cache", () => {
  it.effect("checks a repeated token's signature once and gives every request the same principal", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256()
      const token = yield* sign({ alg: "HS256", key: SECRET_256, claims: { sub: "alice", scope: "read" } })
      const first = yield* counting(provider.authenticate(bearer(token)))
      const again = yield* counting(provider.authenticate(bearer(token)))
      const third = yield* counting(provider.authenticate(bearer(token)))
      expect(first.verified).toBe(1)
      expect(again.verified).toBe(0)
      expect(third.verified).toBe(0)
      expect(Either.getOrThrow(again.result)).toEqual(Either.getOrThrow(first.result))
      expect(Either.getOrThrow(again.result).subject).toBe("alice")
    }))

  it.effect("checks every request's signature with tokenCache: false", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256({ tokenCache: false })
      const token = yield* sign({ alg: "HS256", key: SECRET_256 })
      yield* provider.authenticate(bearer(token))
      const again = yield* counting(provider.authenticate(bearer(token)))
      expect(again.verified).toBe(1)
    }))

  it.effect("never remembers a failure: a bad token is checked, and refused, every time", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256()
      const forged = yield* sign({ alg: "HS256", key: OTHER_SECRET_256 })
      for (let attempt = 0; attempt < 3; attempt++) {
        const { result, verified } = yield* counting(provider.authenticate(bearer(forged)))
        expect(verified).toBe(1)
        expect(Either.isLeft(result) && reasonOf(result.left)).toBe("bad_signature")
      }
    }))

  it.effect("refuses a cached token once the clock passes its exp plus the tolerance: 401 expired", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256({ clockTolerance: 30 })
      const token = yield* sign({ alg: "HS256", key: SECRET_256, exp: NOW + 60 })
      yield* provider.authenticate(bearer(token))
      // jose compares whole seconds: exp <= now - tolerance is expired.
      yield* TestClock.setTime((NOW + 89) * 1000 + 999)
      expect((yield* counting(provider.authenticate(bearer(token)))).verified).toBe(0)
      yield* TestClock.setTime((NOW + 90) * 1000)
      expectRefusal(yield* refusal(provider, bearer(token)), { tag: "ExpiredCredentials", reason: "expired" })
    }))

  it.effect("refuses a cached token when the clock is set back before its nbf window: 401 not_yet_valid", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256({ clockTolerance: 0 })
      const token = yield* sign({ alg: "HS256", key: SECRET_256, iat: NOW - 600, nbf: NOW - 10 })
      yield* provider.authenticate(bearer(token))
      yield* TestClock.setTime((NOW - 11) * 1000)
      expect(reasonOf(yield* refusal(provider, bearer(token)))).toBe("not_yet_valid")
    }))

  it.effect("refuses a cached token older than maxTokenAge: 401 token_too_old", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256({ maxTokenAge: 60, clockTolerance: 0 })
      const token = yield* sign({ alg: "HS256", key: SECRET_256, iat: NOW })
      yield* provider.authenticate(bearer(token))
      yield* TestClock.setTime((NOW + 61) * 1000)
      expect(reasonOf(yield* refusal(provider, bearer(token)))).toBe("token_too_old")
    }))

  it.effect("is no way around the strict checks: another spelling of a cached token is still malformed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256()
      const token = yield* sign({ alg: "HS256", key: SECRET_256 })
      yield* provider.authenticate(bearer(token))
      // The signature's last character with its unused low bits set: jose would decode the
      // same bytes, so only the cache key (the SHA-256 of the exact text) tells them apart.
      const signature = token.slice(token.lastIndexOf(".") + 1)
      const last = signature.at(-1)!
      const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
      const respelled = token.slice(0, -1) + BASE64URL[BASE64URL.indexOf(last) | 0b11]
      expect(respelled).not.toBe(token)
      expect(reasonOf(yield* refusal(provider, bearer(respelled)))).toBe("malformed_token")
    }))

  it.effect("holds at most maxEntries tokens, forgetting the least recently used first", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256({ tokenCache: { maxEntries: 2 } })
      const [a, b, c] = yield* Effect.all(["a", "b", "c"].map((sub) => sign({ alg: "HS256", key: SECRET_256, claims: { sub } })))
      yield* provider.authenticate(bearer(a!))
      yield* provider.authenticate(bearer(b!))
      yield* provider.authenticate(bearer(a!)) // a is now the most recently used
      yield* provider.authenticate(bearer(c!)) // evicts b
      expect((yield* counting(provider.authenticate(bearer(a!)))).verified).toBe(0)
      expect((yield* counting(provider.authenticate(bearer(c!)))).verified).toBe(0)
      expect((yield* counting(provider.authenticate(bearer(b!)))).verified).toBe(1)
    }))

  it.effect("refuses a cached token from the first request after its key is rotated out", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256()
      const token = yield* sign({ alg: "HS256", key: SECRET_256 })
      yield* provider.authenticate(bearer(token))
      yield* provider.updateKeys({ secret: OTHER_SECRET_256 })
      expect(reasonOf(yield* refusal(provider, bearer(token)))).toBe("bad_signature")
      // and a token of the new key is cached in turn
      const fresh = yield* sign({ alg: "HS256", key: OTHER_SECRET_256 })
      yield* provider.authenticate(bearer(fresh))
      expect((yield* counting(provider.authenticate(bearer(fresh)))).verified).toBe(0)
    }))

  it.effect("verifies a cached token again after any rotation, even one that keeps its key", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256()
      const token = yield* sign({ alg: "HS256", key: SECRET_256 })
      yield* provider.authenticate(bearer(token))
      yield* provider.updateKeys({ secret: SECRET_256 })
      expect((yield* counting(provider.authenticate(bearer(token)))).verified).toBe(1)
    }))

  it.effect("hands out principals that no tool can change for the next request", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* hs256()
      const token = yield* sign({ alg: "HS256", key: SECRET_256, claims: { scope: "read", tenant: { id: "t1" } } })
      const principal = yield* provider.authenticate(bearer(token))
      expect(() => (principal.scopes as Array<string>).push("admin")).toThrow(TypeError)
      expect(() => {
        ;(principal.claims!["tenant"] as { id: string }).id = "t2"
      }).toThrow(TypeError)
      const again = yield* provider.authenticate(bearer(token))
      expect(again.scopes).toEqual(["read"])
      expect(again.claims!["tenant"]).toEqual({ id: "t1" })
    }))

  it("serves the Promise API from the cache too, and rotation through updateKeys empties it", async () => {
    const provider = new JWTAuthProvider({ secret: SECRET_256 })
    const token = await signToken({ alg: "HS256", key: SECRET_256, now: Math.floor(Date.now() / 1000) })
    expect((await provider.check(bearer(token))).ok).toBe(true)
    const before = verifications()
    expect((await provider.check(bearer(token))).ok).toBe(true)
    expect(verifications()).toBe(before)
    provider.updateKeys({ secret: OTHER_SECRET_256 })
    const after = await provider.check(bearer(token))
    expect(after.ok === false && after.reason).toBe("bad_signature")
    await provider.dispose()
  })

  describe("options", () => {
    for (const tokenCache of [0, -1, 1.5, "many"]) {
      it.effect(`refuses tokenCache.maxEntries ${JSON.stringify(tokenCache)} at startup`, () =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(Jwt.make({ secret: SECRET_256, tokenCache: { maxEntries: tokenCache as number } }))
          expect(error._tag).toBe("ConfigurationError")
          expect(error.message).toContain("tokenCache")
        }))
    }
  })

  it.effect("agrees with an uncached provider at every time, whatever the claims and however the clock moves", () =>
    Effect.gen(function*() {
      // What the samples exercised: hits, and cached tokens refused when the clock moved on.
      let hits = 0
      let refusedOnceCached = 0
      const outcome = (result: Either.Either<Principal.Principal, AuthFailure.AuthFailure>) =>
        Either.match(result, {
          onLeft: (failure) => ({ refused: failure._tag, reason: reasonOf(failure) }),
          onRight: (principal) => ({ principal })
        })
      const sample = FastCheck.record({
        clockTolerance: FastCheck.constantFrom(0, 5, 30),
        maxTokenAge: FastCheck.option(FastCheck.constantFrom(120, 600), { nil: undefined }),
        exp: FastCheck.integer({ min: -60, max: 900 }),
        nbf: FastCheck.option(FastCheck.integer({ min: -120, max: 60 }), { nil: undefined }),
        iat: FastCheck.option(FastCheck.integer({ min: -300, max: 40 }), { nil: null }),
        // the clock in ms from NOW: a start, then moves mostly forwards (past expiry in many
        // samples), some backwards, rarely on a whole second
        start: FastCheck.integer({ min: -5_000, max: 5_000 }),
        moves: FastCheck.array(FastCheck.integer({ min: -30_000, max: 90_000 }), { minLength: 2, maxLength: 12 })
      })
      yield* forAll(sample, (s) =>
        Effect.gen(function*() {
          const options = { clockTolerance: s.clockTolerance, maxTokenAge: s.maxTokenAge }
          const cached = yield* hs256(options)
          const uncached = yield* hs256({ ...options, tokenCache: false })
          const token = yield* sign({
            alg: "HS256",
            key: SECRET_256,
            exp: NOW + s.exp,
            iat: s.iat === null ? null : NOW + s.iat,
            ...(s.nbf === undefined ? {} : { nbf: NOW + s.nbf })
          })
          let offset = s.start
          let everAccepted = false
          for (const move of [0, ...s.moves]) {
            offset += move
            yield* TestClock.setTime(NOW_MS + offset)
            const fromCache = yield* counting(cached.authenticate(bearer(token)))
            const fresh = yield* Effect.either(uncached.authenticate(bearer(token)))
            expect(outcome(fromCache.result)).toEqual(outcome(fresh))
            if (fromCache.verified === 0) hits++
            if (Either.isLeft(fresh) && everAccepted) refusedOnceCached++
            everAccepted ||= Either.isRight(fresh)
          }
        }), 200)
      // The property is only worth something if both kinds of step came up often. Seen here:
      // 370 to 450 hits and 240 to 340 refusals a run, so these bounds are not a matter of luck.
      expect(hits).toBeGreaterThan(200)
      expect(refusedOnceCached).toBeGreaterThan(100)
    }), 60_000)
})

describe("Jwt verified-token cache with a remote key set", () => {
  const keysReady = makeKeys()
  let server: Server
  let served: "first" | "second" = "first"
  let base = ""

  beforeAll(async () => {
    const keys = await keysReady
    server = createServer((_req, res) => {
      // The same kid, another key: the issuer rotated its signing key.
      const jwk = served === "first" ? keys.rsa.jwk : keys.rsaOther.jwk
      res.writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ keys: [{ ...jwk, kid: "k1", alg: "RS256", use: "sig" }] }))
    })
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it.live("answers a repeated token from the cache while the set holds its key, and refuses it once the set is fetched without it", () =>
    Effect.gen(function*() {
      const keys = yield* Effect.promise(() => keysReady)
      const provider = yield* Effect.orDie(Jwt.make({ jwksUrl: `${base}/jwks.json`, jwksCacheMaxAge: 1 }))
      const now = Math.floor(Date.now() / 1000)
      const token = yield* sign({ alg: "RS256", key: keys.rsa.privateKey, header: { kid: "k1" }, now })
      expect(Either.isRight((yield* counting(provider.authenticate(bearer(token)))).result)).toBe(true)
      expect((yield* counting(provider.authenticate(bearer(token)))).verified).toBe(0)
      served = "second"
      // past jwksCacheMaxAge: the next look-up fetches the set anew
      yield* Effect.sleep("1100 millis")
      const { result, verified } = yield* counting(provider.authenticate(bearer(token)))
      expect(verified).toBe(1)
      expect(Either.isLeft(result) && reasonOf(result.left)).toBe("bad_signature")
    }))
})
