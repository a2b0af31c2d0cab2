import type { Vitest } from "@effect/vitest"
import { describe, expect, it, layer } from "@effect/vitest"
import type { CheckResult } from "@mcpgate/auth-core"
import { AuthFailure, AuthProvider, ConfigurationError, Jwt, JWTAuthProvider } from "@mcpgate/auth-core"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import * as jose from "jose"
import { vi } from "vitest"
import type { TokenSpec } from "@mcpgate/testing/tokens"
import {
  b64url,
  bearer,
  expectRefusal,
  forAll,
  handMade,
  INVALID_REQUEST,
  INVALID_TOKEN,
  JWT_BODY,
  makeKeys,
  NO_CREDENTIALS,
  NOW,
  NOW_MS,
  refusal,
  SECRET_256,
  SECRET_384,
  SECRET_512,
  secretOf,
  sign,
  signToken,
  unauthorized
} from "@mcpgate/testing/tokens"

// Signature checks on either path (jose's `jwtVerify`, node:crypto's HMAC and signatures),
// watched: the tests of "before any crypto" count them.
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

const keys = await makeKeys()

const ISSUER = "https://issuer.example"

/** A valid HS256 token of alice, at NOW. */
const aliceToken = await signToken({ alg: "HS256", key: SECRET_256, claims: { sub: "alice" } })

/** A valid HS256 token of exactly `length` characters, padded with a claim. */
const tokenOfLength = async (length: number): Promise<string> => {
  for (let sub = 1; sub < 5; sub++) {
    let padding = Math.floor((length - 400) * 0.75)
    for (;;) {
      const token = await signToken({ alg: "HS256", key: SECRET_256, claims: { sub: "u".repeat(sub), pad: "x".repeat(padding) } })
      if (token.length === length) return token
      if (token.length > length) break
      padding++
    }
  }
  throw new Error(`no token of ${length} characters`)
}
const atLimit = await tokenOfLength(8192)
const overLimit = await tokenOfLength(8193)

type ProviderOptions = Omit<Jwt.Options, "secret">

/** An HS256 provider with a 32-byte secret, plus options. */
const hs256 = (options: ProviderOptions = {}) => Effect.orDie(Jwt.make({ secret: SECRET_256, ...options }))

/** Signs `spec` (HS256 with the provider's secret unless told) and asks an HS256 provider. */
const check = (spec: Partial<TokenSpec> = {}, options: ProviderOptions = {}) =>
  Effect.gen(function*() {
    const provider = yield* hs256(options)
    const token = yield* sign({ alg: "HS256", key: SECRET_256, ...spec })
    return yield* provider.authenticate(bearer(token))
  })

const refuses = (spec: Partial<TokenSpec> = {}, options: ProviderOptions = {}) => Effect.flip(check(spec, options))

describe("Jwt provider", () => {
  describe("HMAC secrets", () => {
    const cases = [
      { alg: "HS256", secret: SECRET_256, bytes: 32 },
      { alg: "HS384", secret: SECRET_384, bytes: 48 },
      { alg: "HS512", secret: SECRET_512, bytes: 64 }
    ] as const
    for (const { alg, bytes, secret } of cases) {
      it.effect(`verifies an ${alg} token made by jose with a secret of the minimum ${bytes} bytes`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(NOW_MS)
          expect(Buffer.byteLength(secret, "utf8")).toBe(bytes)
          const provider = yield* Jwt.make({ secret, algorithms: [alg] })
          const token = yield* sign({ alg, key: secret, claims: { sub: "alice" } })
          const principal = yield* provider.authenticate(bearer(token))
          expect(principal.provider).toBe("jwt")
          expect(principal.subject).toBe("alice")
        }))
    }

    it.effect("allows HS256 alone when algorithms is omitted for a secret", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* Jwt.make({ secret: SECRET_512 })
        yield* provider.authenticate(bearer(yield* sign({ alg: "HS256", key: SECRET_512 })))
        const failure = yield* refusal(provider, bearer(yield* sign({ alg: "HS512", key: SECRET_512 })))
        expectRefusal(failure, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
      }))

    it.effect("serves every HMAC algorithm listed when the secret meets the largest minimum", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* Jwt.make({ secret: SECRET_512, algorithms: ["HS256", "HS512"] })
        yield* provider.authenticate(bearer(yield* sign({ alg: "HS256", key: SECRET_512 })))
        yield* provider.authenticate(bearer(yield* sign({ alg: "HS512", key: SECRET_512 })))
        const failure = yield* refusal(provider, bearer(yield* sign({ alg: "HS384", key: SECRET_512 })))
        expectRefusal(failure, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
      }))

    it.effect("counts a secret in UTF-8 bytes: sixteen \"é\" are 32 bytes, enough for HS256", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const secret = "é".repeat(16)
        const provider = yield* Jwt.make({ secret })
        const principal = yield* provider.authenticate(bearer(yield* sign({ alg: "HS256", key: secret })))
        expect(principal.subject).toBe("user-1")
      }))

    it.effect("takes the secret as a Redacted string too", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* Jwt.make({ secret: Redacted.make(SECRET_256) })
        yield* provider.authenticate(bearer(yield* sign({ alg: "HS256", key: SECRET_256 })))
      }))

    it.effect("refuses a token signed with another secret: bad_signature", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const failure = yield* refuses({ key: secretOf(32, "not the provider's") })
        expectRefusal(failure, { tag: "InvalidCredentials", reason: "bad_signature" })
      }))
  })

  describe("the Principal (contract section 5)", () => {
    it.effect("carries subject, clientId, scopes, expiresAt and the verified claims", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const claims = {
          iss: ISSUER,
          sub: "alice",
          client_id: "cli-7",
          azp: "web-app",
          scope: "tools:read  tools:write",
          tenant: "acme"
        }
        const principal = yield* check({ claims })
        expect(principal.provider).toBe("jwt")
        expect(principal.subject).toBe("alice")
        expect(principal.clientId).toBe("cli-7")
        expect(principal.scopes).toStrictEqual(["tools:read", "tools:write"])
        expect(principal.expiresAt).toBe(NOW + 3600)
        expect(principal.claims).toStrictEqual({ ...claims, iat: NOW - 10, exp: NOW + 3600 })
        expect(principal.keyLabel).toBeUndefined()
      }))

    it.effect("takes clientId from client_id, else azp, else sub", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expect((yield* check({ claims: { sub: "s", azp: "a", client_id: "c" } })).clientId).toBe("c")
        expect((yield* check({ claims: { sub: "s", azp: "a" } })).clientId).toBe("a")
        expect((yield* check({ claims: { sub: "s" } })).clientId).toBe("s")
      }))

    it.effect("takes scopes from a space-separated scope, or from an scp array, or none", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expect((yield* check({ claims: { scope: "a b  c" } })).scopes).toStrictEqual(["a", "b", "c"])
        expect((yield* check({ claims: { scp: ["x", "y"] } })).scopes).toStrictEqual(["x", "y"])
        expect((yield* check({ claims: {} })).scopes).toStrictEqual([])
      }))

    it.effect("gives two tokens of the same iss and sub one identity, so a refreshed token keeps its session", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const first = yield* check({ claims: { iss: ISSUER, sub: "alice", scope: "a" }, iat: NOW - 100 })
        const refreshed = yield* check({ claims: { iss: ISSUER, sub: "alice", scope: "b" }, iat: NOW - 5, exp: NOW + 7200 })
        expect(refreshed.identity).toBe(first.identity)
        const bob = yield* check({ claims: { iss: ISSUER, sub: "bob" } })
        expect(bob.identity).not.toBe(first.identity)
        const otherIssuer = yield* check({ claims: { iss: "https://other.example", sub: "alice" } })
        expect(otherIssuer.identity).not.toBe(first.identity)
      }))

    it.effect("names a token without sub by its client id, and gives it an identity of its own", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const first = yield* sign({ alg: "HS256", key: SECRET_256, claims: { sub: undefined, iss: ISSUER, client_id: "machine" } })
        const second = yield* sign({ alg: "HS256", key: SECRET_256, claims: { sub: undefined, iss: ISSUER, client_id: "machine" }, iat: NOW - 5 })
        const a = yield* provider.authenticate(bearer(first))
        expect(a.subject).toBe("machine")
        expect(a.clientId).toBe("machine")
        expect((yield* provider.authenticate(bearer(first))).identity).toBe(a.identity)
        expect((yield* provider.authenticate(bearer(second))).identity).not.toBe(a.identity)
      }))

    it.effect("does not confuse identities whose iss and sub only concatenate alike", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const a = yield* check({ claims: { iss: "ab", sub: "c" } })
        const b = yield* check({ claims: { iss: "a", sub: "bc" } })
        expect(a.identity).not.toBe(b.identity)
      }))
  })

  describe("time claims", () => {
    it.effect("refuses a token that expired beyond the 30 s tolerance: ExpiredCredentials", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expectRefusal(yield* refuses({ exp: NOW - 31 }), { tag: "ExpiredCredentials", reason: "expired" })
        expectRefusal(yield* refuses({ exp: NOW - 30 }), { tag: "ExpiredCredentials", reason: "expired" })
        expect((yield* check({ exp: NOW - 29 })).expiresAt).toBe(NOW - 29)
      }))

    it.effect("refuses a token whose nbf is beyond the tolerance in the future, and accepts it within", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expectRefusal(yield* refuses({ nbf: NOW + 31 }), { tag: "PrematureCredentials", reason: "not_yet_valid" })
        yield* check({ nbf: NOW + 30 })
        yield* check({ nbf: NOW - 60 })
      }))

    it.effect("refuses a token issued beyond the tolerance in the future, and accepts it within", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expectRefusal(yield* refuses({ iat: NOW + 31 }), { tag: "PrematureCredentials", reason: "issued_in_future" })
        yield* check({ iat: NOW + 30 })
      }))

    it.effect("takes the tolerance from clockTolerance, in seconds, as text or as a Duration", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expectRefusal(yield* refuses({ exp: NOW - 1 }, { clockTolerance: 0 }), { tag: "ExpiredCredentials", reason: "expired" })
        expectRefusal(yield* refuses({ nbf: NOW + 1 }, { clockTolerance: 0 }), { tag: "PrematureCredentials", reason: "not_yet_valid" })
        yield* check({ exp: NOW - 100 }, { clockTolerance: 120 })
        yield* check({ nbf: NOW + 100 }, { clockTolerance: "2m" })
        yield* check({ iat: NOW + 100 }, { clockTolerance: Duration.minutes(2) })
        expectRefusal(yield* refuses({ exp: NOW - 121 }, { clockTolerance: "2 minutes" }), {
          tag: "ExpiredCredentials",
          reason: "expired"
        })
      }))

    it.effect("requires exp: a token without one is refused", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expectRefusal(yield* refuses({ exp: null }), { tag: "ClaimMismatch", reason: "missing_claim" })
      }))

    it.effect("refuses an exp of 1e400, which JSON parses to Infinity: an expiry that never comes", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const token = handMade("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", `{"sub":"u","iat":${NOW},"exp":1e400}`, SECRET_256)
        expect(JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp).toBe(Infinity)
        expectRefusal(yield* refusal(provider, bearer(token)), { tag: "InvalidCredentials", reason: "claims_invalid" })
        // the same token with a finite exp passes: only the infinity is refused
        const finite = handMade("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", `{"sub":"u","iat":${NOW},"exp":${NOW + 60}}`, SECRET_256)
        yield* provider.authenticate(bearer(finite))
      }))

    it.effect("refuses other time claims that are not finite numbers", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const header = "{\"alg\":\"HS256\"}"
        const payloads = [
          `{"sub":"u","iat":1e400,"exp":${NOW + 60}}`,
          `{"sub":"u","exp":"${NOW + 60}"}`,
          `{"sub":"u","exp":null}`,
          `{"sub":"u","exp":${NOW + 60},"nbf":"0"}`
        ]
        for (const payload of payloads) {
          const failure = yield* refusal(provider, bearer(handMade(header, payload, SECRET_256)))
          expectRefusal(failure, { tag: "InvalidCredentials", reason: "claims_invalid" })
        }
        const never = handMade(header, `{"sub":"u","exp":-1e400}`, SECRET_256)
        expectRefusal(yield* refusal(provider, bearer(never)), { tag: "ExpiredCredentials", reason: "expired" })
      }))

    it.effect("reads the time from Effect's Clock: a token valid now is refused once it expired", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const token = yield* sign({ alg: "HS256", key: SECRET_256, exp: NOW + 60 })
        const principal = yield* provider.authenticate(bearer(token))
        expect(yield* provider.stillValid(principal)).toBe(true)
        yield* TestClock.adjust("89 seconds")
        yield* provider.authenticate(bearer(token))
        expect(yield* provider.stillValid(principal)).toBe(true)
        yield* TestClock.adjust("1 second")
        expectRefusal(yield* refusal(provider, bearer(token)), { tag: "ExpiredCredentials", reason: "expired" })
        expect(yield* provider.stillValid(principal)).toBe(false)
      }))
  })

  describe("claim checks", () => {
    it.effect("refuses a token with an aud when no audience is configured (RFC 7519 4.1.3)", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const failure = yield* refuses({ claims: { aud: "https://some-api.example" } })
        expectRefusal(failure, { tag: "ClaimMismatch", reason: "unexpected_audience" })
      }))

    it.effect("checks aud against the configured audience", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const audience = "https://mcp.example"
        yield* check({ claims: { aud: audience } }, { audience })
        yield* check({ claims: { aud: ["https://other.example", audience] } }, { audience })
        yield* check({ claims: { aud: "https://second.example" } }, { audience: [audience, "https://second.example"] })
        expectRefusal(yield* refuses({ claims: { aud: "https://other.example" } }, { audience }), {
          tag: "ClaimMismatch",
          reason: "audience_mismatch"
        })
        expectRefusal(yield* refuses({}, { audience }), { tag: "ClaimMismatch", reason: "missing_claim" })
      }))

    it.effect("checks iss against the configured issuer", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        yield* check({ claims: { iss: ISSUER } }, { issuer: ISSUER })
        yield* check({ claims: { iss: ISSUER } }, { issuer: ["https://a.example", ISSUER] })
        expectRefusal(yield* refuses({ claims: { iss: "https://evil.example" } }, { issuer: ISSUER }), {
          tag: "ClaimMismatch",
          reason: "issuer_mismatch"
        })
        expectRefusal(yield* refuses({ claims: { iss: `${ISSUER}/` } }, { issuer: ISSUER }), {
          tag: "ClaimMismatch",
          reason: "issuer_mismatch"
        })
        expectRefusal(yield* refuses({}, { issuer: ISSUER }), { tag: "ClaimMismatch", reason: "missing_claim" })
      }))

    it.effect("refuses a token older than maxTokenAge: token_too_old", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        yield* check({ iat: NOW - 3000 }, { maxTokenAge: 3600 })
        expectRefusal(yield* refuses({ iat: NOW - 3700 }, { maxTokenAge: 3600 }), {
          tag: "ClaimMismatch",
          reason: "token_too_old"
        })
        expectRefusal(yield* refuses({ iat: NOW - 3700 }, { maxTokenAge: "1h" }), {
          tag: "ClaimMismatch",
          reason: "token_too_old"
        })
        expectRefusal(yield* refuses({ iat: NOW - 3700 }, { maxTokenAge: Duration.hours(1) }), {
          tag: "ClaimMismatch",
          reason: "token_too_old"
        })
        expectRefusal(yield* refuses({ iat: null }, { maxTokenAge: 3600 }), { tag: "ClaimMismatch", reason: "missing_claim" })
      }))

    it.effect("with maxTokenLifetime, refuses a token issued for longer (exp - iat): lifetime_too_long, iat required", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        yield* check({ iat: NOW - 10, exp: NOW - 10 + 3600 }, { maxTokenLifetime: 3600 })
        yield* check({ iat: NOW - 10, exp: NOW - 10 + 3600 }, { maxTokenLifetime: "1h" })
        for (const lifetime of [3601, 10 * 365 * 24 * 3600]) {
          expectRefusal(yield* refuses({ iat: NOW - 10, exp: NOW - 10 + lifetime }, { maxTokenLifetime: 3600 }), {
            tag: "ClaimMismatch",
            reason: "lifetime_too_long"
          })
        }
        expectRefusal(yield* refuses({ iat: null }, { maxTokenLifetime: 3600 }), { tag: "ClaimMismatch", reason: "missing_claim" })
        // Off by default: a ten-year token is accepted as before.
        yield* check({ iat: NOW - 10, exp: NOW + 10 * 365 * 24 * 3600 })
      }))

    it.effect("refuses, with maxTokenAge set, a token issued in the future as issued_in_future, not as too old", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expectRefusal(yield* refuses({ iat: NOW + 600 }, { maxTokenAge: 3600 }), {
          tag: "PrematureCredentials",
          reason: "issued_in_future"
        })
      }))

    it.effect("requires every claim of requiredClaims", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const options = { requiredClaims: ["jti", "tenant"] }
        yield* check({ claims: { jti: "1", tenant: "acme" } }, options)
        expectRefusal(yield* refuses({ claims: { jti: "1" } }, options), { tag: "ClaimMismatch", reason: "missing_claim" })
      }))
  })

  describe("algorithms", () => {
    const header = b64url(JSON.stringify({ alg: "none", typ: "JWT" }))
    const payload = b64url(JSON.stringify({ sub: "admin", exp: NOW + 3600 }))

    it.effect("refuses an unsigned alg \"none\" token", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        expectRefusal(yield* refusal(provider, bearer(`${header}.${payload}.`)), {
          tag: "InvalidCredentials",
          reason: "malformed_token"
        })
        expectRefusal(yield* refusal(provider, bearer(`${header}.${payload}.c2lnbmF0dXJl`)), {
          tag: "InvalidCredentials",
          reason: "alg_not_allowed"
        })
      }))

    it.effect("refuses a header without alg, or with an alg that is not a string", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        for (const header of ["{\"typ\":\"JWT\"}", "{\"alg\":[\"HS256\"]}", "{\"alg\":\"hs256\"}"]) {
          const failure = yield* refusal(provider, bearer(handMade(header, `{"sub":"u","exp":${NOW + 60}}`, SECRET_256)))
          expectRefusal(failure, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
        }
      }))

    // The provider remembers the few header segments it decoded last (a new token of a known
    // issuer skips decoding its header): whatever order headers come in, and however many
    // more there are than it remembers, each token is read by its own header.
    it.effect("reads each token by its own header, over more distinct headers than it remembers", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const headers = Array.from({ length: 40 }, (_, index) =>
          index % 3 === 0
            ? `{"alg":"HS384","typ":"JWT","n":${index}}`
            : index % 3 === 1
            ? `{"alg":"HS256","typ":"JWT","n":${index}}`
            : `{"alg":"HS256","crit":["unknown"],"unknown":${index}}`)
        const payload = `{"sub":"u","exp":${NOW + 60}}`
        yield* forAll(FastCheck.array(FastCheck.nat({ max: headers.length - 1 }), { minLength: 1, maxLength: 60 }), (picks) =>
          Effect.forEach(picks, (index) =>
            Effect.gen(function*() {
              const verdict = yield* Effect.either(provider.authenticate(bearer(handMade(headers[index]!, payload, SECRET_256))))
              if (index % 3 === 1) expect(verdict._tag).toBe("Right")
              else {
                expect(verdict._tag).toBe("Left")
                const reason = AuthFailure.primaryOf((verdict as { left: AuthFailure.AuthFailure }).left).reason
                expect(reason).toBe(index % 3 === 0 ? "alg_not_allowed" : "verification_error")
              }
            })), 30)
      }))
  })

  describe("reading the Authorization header (contract section 3)", () => {
    const token = aliceToken

    it.effect("accepts the Bearer scheme in any casing, followed by one or more spaces", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        for (const value of [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `bEaReR ${token}`, `Bearer    ${token}`]) {
          expect((yield* provider.authenticate({ authorization: value })).subject).toBe("alice")
        }
      }))

    it.effect("reads the header name in any casing, from a record, a Fetch Headers or a Node request", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        yield* provider.authenticate({ Authorization: `Bearer ${token}` })
        yield* provider.authenticate({ AUTHORIZATION: `Bearer ${token}` })
        yield* provider.authenticate(new Headers({ Authorization: `Bearer ${token}` }))
        yield* provider.authenticate({ headersDistinct: { authorization: [`Bearer ${token}`] } })
      }))

    it.effect("answers a request that names no credential with a challenge without error code", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const requests = [
          {},
          { "x-api-key": "some-key-0123456789" },
          { authorization: "Basic dXNlcjpwYXNzd29yZA==" },
          { authorization: `DPoP ${token}` },
          // a scheme that merely starts with "Bearer" is another scheme
          { authorization: `Bearerx ${token}` },
          { authorization: undefined }
        ]
        for (const request of requests) {
          expectRefusal(yield* refusal(provider, request), { tag: "MissingCredentials", reason: "missing", challenge: NO_CREDENTIALS })
        }
      }))

    const malformed = [
      { name: "an empty header", value: "", reason: "empty_header" },
      { name: "\"Bearer\" without a token", value: "Bearer", reason: "malformed_header" },
      { name: "\"Bearer \" without a token", value: "Bearer ", reason: "malformed_header" },
      { name: "spaces only after Bearer", value: "Bearer    ", reason: "malformed_header" },
      { name: "a tab instead of a space", value: `Bearer\t${token}`, reason: "malformed_header" },
      { name: "a tab after the space", value: `Bearer \t${token}`, reason: "malformed_header" },
      { name: "a second token", value: `Bearer ${token} ${token}`, reason: "malformed_header" },
      { name: "a trailing space", value: `Bearer ${token} `, reason: "malformed_header" },
      { name: "trailing junk", value: `Bearer ${token}, x`, reason: "malformed_header" },
      { name: "a trailing newline", value: `Bearer ${token}\n`, reason: "malformed_header" },
      { name: "a leading space", value: ` Bearer ${token}`, reason: "malformed_header" },
      { name: "a non-breaking space", value: `Bearer\u00a0${token}`, reason: "malformed_header" },
      { name: "an = after the scheme", value: `Bearer=${token}`, reason: "malformed_header" }
    ] as const
    for (const { name, reason, value } of malformed) {
      it.effect(`refuses ${name} as malformed: error="invalid_request"`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(NOW_MS)
          const failure = yield* refusal(yield* hs256(), { authorization: value })
          expectRefusal(failure, { tag: "MalformedRequest", reason, challenge: INVALID_REQUEST })
        }))
    }

    it.effect("refuses duplicate Authorization lines, however they are given: error=\"invalid_request\"", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const duplicates = [
          { authorization: [`Bearer ${token}`, `Bearer ${token}`] },
          { Authorization: `Bearer ${token}`, authorization: `Bearer ${token}` },
          { headersDistinct: { authorization: [`Bearer ${token}`, "Bearer other"] } }
        ]
        for (const request of duplicates) {
          expectRefusal(yield* refusal(provider, request), {
            tag: "MalformedRequest",
            reason: "duplicate_header",
            challenge: INVALID_REQUEST
          })
        }
        // a Fetch Headers has joined the lines with ", ": no longer one token
        const joined = new Headers()
        joined.append("authorization", `Bearer ${token}`)
        joined.append("authorization", `Bearer ${token}`)
        expectRefusal(yield* refusal(provider, joined), {
          tag: "MalformedRequest",
          reason: "malformed_header",
          challenge: INVALID_REQUEST
        })
      }))

    it.effect("with requireBearer: false, takes the whole value as the token, with or without a leading Bearer", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256({ requireBearer: false })
        for (const value of [token, `Bearer ${token}`, `bearer   ${token}`]) {
          expect((yield* provider.authenticate({ authorization: value })).subject).toBe("alice")
        }
        expectRefusal(yield* refusal(provider, { authorization: `Basic ${token}` }), {
          tag: "InvalidCredentials",
          reason: "malformed_token"
        })
        expectRefusal(yield* refusal(provider, { authorization: "" }), {
          tag: "MalformedRequest",
          reason: "empty_header",
          challenge: INVALID_REQUEST
        })
        expectRefusal(yield* refusal(provider, {}), { tag: "MissingCredentials", reason: "missing", challenge: NO_CREDENTIALS })
      }))

    it.effect("reads a custom headerName, and only that header", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256({ headerName: "X-Auth-Token" })
        yield* provider.authenticate({ "x-auth-token": `Bearer ${token}` })
        expectRefusal(yield* refusal(provider, bearer(token)), { tag: "MissingCredentials", reason: "missing", challenge: NO_CREDENTIALS })
        const bare = yield* hs256({ headerName: "X-Token", requireBearer: false })
        yield* bare.authenticate({ "X-Token": token })
        yield* bare.authenticate(new Headers({ "x-token": `Bearer ${token}` }))
      }))
  })

  describe("tokens that are not JWTs", () => {
    const notJwts = [
      "abc",
      "a.b",
      "a.b.c.d",
      "a.b.c.d.e",
      "a..c",
      ".b.c",
      "a.b.c=",
      "a+b.c.d",
      "a/b.c.d",
      "a.b.c",
      `${b64url("[]")}.${b64url("{}")}.c2ln`,
      `${b64url("\"HS256\"")}.${b64url("{}")}.c2ln`,
      `${b64url("{\"alg\":\"HS256\"")}.${b64url("{}")}.c2ln`
    ]
    for (const token of notJwts) {
      it.effect(`refuses ${JSON.stringify(token)} as malformed_token: error="invalid_token"`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(NOW_MS)
          const failure = yield* refusal(yield* hs256(), bearer(token))
          expectRefusal(failure, { tag: "InvalidCredentials", reason: "malformed_token" })
        }))
    }

    it.effect("refuses a well-signed token whose payload is not a JSON object", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        for (const payload of ["[1,2]", "\"text\"", "not json", "null"]) {
          const failure = yield* refusal(provider, bearer(handMade("{\"alg\":\"HS256\"}", payload, SECRET_256)))
          expectRefusal(failure, { tag: "InvalidCredentials", reason: "malformed_token" })
        }
      }))
  })

  describe("token size", () => {
    const verifyCalls = () =>
      vi.mocked(jose.jwtVerify).mock.calls.length + vi.mocked(crypto.createHmac).mock.calls.length +
      vi.mocked(crypto.verify).mock.calls.length

    it.effect("accepts a token of exactly 8192 characters", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expect(atLimit.length).toBe(8192)
        const provider = yield* hs256()
        const before = verifyCalls()
        yield* provider.authenticate(bearer(atLimit))
        yield* (yield* hs256({ requireBearer: false })).authenticate({ authorization: atLimit })
        expect(verifyCalls()).toBeGreaterThan(before)
      }))

    it.effect("refuses a token over 8192 characters as token_too_large, before any crypto", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        expect(overLimit.length).toBe(8193)
        const provider = yield* hs256()
        const bare = yield* hs256({ requireBearer: false })
        const before = verifyCalls()
        const huge = [overLimit, "a".repeat(8193), `${"a".repeat(5000)}.${"b".repeat(5000)}.c`, "x".repeat(1_000_000)]
        for (const token of huge) {
          expectRefusal(yield* refusal(provider, bearer(token)), { tag: "InvalidCredentials", reason: "token_too_large" })
          expectRefusal(yield* refusal(provider, { authorization: `Bearer    ${token}` }), {
            tag: "InvalidCredentials",
            reason: "token_too_large"
          })
          expectRefusal(yield* refusal(bare, { authorization: token }), { tag: "InvalidCredentials", reason: "token_too_large" })
        }
        expect(verifyCalls()).toBe(before)
      }))

    it.effect("refuses a malformed token or a disallowed alg before any crypto", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256()
        const before = verifyCalls()
        yield* refusal(provider, bearer("a.b.c"))
        yield* refusal(provider, bearer(yield* sign({ alg: "HS512", key: SECRET_512 })))
        expect(verifyCalls()).toBe(before)
      }))
  })

  describe("challenges", () => {
    const expired = signToken({ alg: "HS256", key: SECRET_256, exp: NOW - 3600 })

    it.effect("use the configured realm, quoted and escaped", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* hs256({ realm: "tools \"prod\" \\ eu" })
        const token = yield* Effect.promise(() => expired)
        expectRefusal(yield* refusal(provider, bearer(token)), {
          tag: "ExpiredCredentials",
          reason: "expired",
          challenge: "Bearer realm=\"tools \\\"prod\\\" \\\\ eu\", error=\"invalid_token\""
        })
        expectRefusal(yield* refusal(provider, {}), {
          tag: "MissingCredentials",
          reason: "missing",
          challenge: "Bearer realm=\"tools \\\"prod\\\" \\\\ eu\""
        })
      }))

    it.effect("announce resource_metadata when protected-resource metadata is configured (RFC 9728)", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const resourceMetadata = "https://mcp.example.com/.well-known/oauth-protected-resource"
        const provider = yield* hs256({ realm: "tools", resourceMetadata })
        const token = yield* Effect.promise(() => expired)
        expectRefusal(yield* refusal(provider, bearer(token)), {
          tag: "ExpiredCredentials",
          reason: "expired",
          challenge: `Bearer realm="tools", error="invalid_token", resource_metadata="${resourceMetadata}"`
        })
        expectRefusal(yield* refusal(provider, { authorization: "Bearer" }), {
          tag: "MalformedRequest",
          reason: "malformed_header",
          challenge: `Bearer realm="tools", error="invalid_request", resource_metadata="${resourceMetadata}"`
        })
        expectRefusal(yield* refusal(provider, {}), {
          tag: "MissingCredentials",
          reason: "missing",
          challenge: `Bearer realm="tools", resource_metadata="${resourceMetadata}"`
        })
      }))
  })

  describe("JWTAuthProvider, the Promise API", () => {
    const realNow = () => Math.floor(Date.now() / 1000)

    it("resolves { ok: true, principal } for a good token", async () => {
      const provider = new JWTAuthProvider({ secret: SECRET_256, issuer: ISSUER })
      try {
        const token = await signToken({ alg: "HS256", key: SECRET_256, claims: { iss: ISSUER, sub: "alice", scope: "a b" }, now: realNow() })
        const result = await provider.check(bearer(token))
        expect(result.ok).toBe(true)
        if (result.ok) {
          expect(result.principal.subject).toBe("alice")
          expect(result.principal.scopes).toStrictEqual(["a", "b"])
        }
      } finally {
        await provider.dispose()
      }
    })

    it("resolves { ok: false, status, headers, body, reason } for a bad token, and never rejects", async () => {
      const provider = new JWTAuthProvider({ secret: SECRET_256 })
      try {
        const expired = await signToken({ alg: "HS256", key: SECRET_256, now: realNow() - 7200 })
        const expected = (challenge: string, reason: string): CheckResult => ({ ok: false, ...unauthorized(challenge), reason } as CheckResult)
        expect(await provider.check(bearer(expired))).toStrictEqual(expected(INVALID_TOKEN, "expired"))
        expect(await provider.check({})).toStrictEqual(expected(NO_CREDENTIALS, "missing"))
        expect(await provider.check({ authorization: "Bearer" })).toStrictEqual(expected(INVALID_REQUEST, "malformed_header"))
        expect(await provider.check(new Headers({ authorization: "Bearer a.b.c" }))).toStrictEqual(
          expected(INVALID_TOKEN, "malformed_token")
        )
        const result = await provider.check({ authorization: `Bearer ${"z".repeat(9000)}` })
        expect(result.ok === false && result.body).toBe(JWT_BODY)
      } finally {
        await provider.dispose()
      }
    })

    it("throws a ConfigurationError synchronously from the constructor", () => {
      expect(() => new JWTAuthProvider({ secret: "too short" })).toThrow(ConfigurationError.ConfigurationError)
      expect(() => new JWTAuthProvider({ secret: SECRET_256, algorithms: ["RS256"] })).toThrow(/secret serves only/)
    })

    it("rotates its keys with updateKeys, and refuses bad ones synchronously", async () => {
      const provider = new JWTAuthProvider({ secret: SECRET_256 })
      try {
        const next = secretOf(32, "next")
        const old = await signToken({ alg: "HS256", key: SECRET_256, now: realNow() })
        const fresh = await signToken({ alg: "HS256", key: next, now: realNow() })
        expect((await provider.check(bearer(old))).ok).toBe(true)
        expect(() => provider.updateKeys({ secret: "short" })).toThrow(ConfigurationError.ConfigurationError)
        expect((await provider.check(bearer(old))).ok).toBe(true)
        provider.updateKeys({ secret: next })
        expect(await provider.check(bearer(old))).toMatchObject({ ok: false, status: 401, reason: "bad_signature" })
        expect((await provider.check(bearer(fresh))).ok).toBe(true)
      } finally {
        await provider.dispose()
      }
    })

    it("offers its service as a Layer for Effect code, and disposes", async () => {
      const provider = new JWTAuthProvider({ publicKey: keys.rsa.pem })
      const token = await signToken({ alg: "RS256", key: keys.rsa.privateKey, now: realNow() })
      const principal = await Effect.runPromise(
        Effect.flatMap(AuthProvider.AuthProvider, (auth) => auth.authenticate(bearer(token))).pipe(Effect.provide(provider.layer))
      )
      expect(principal.subject).toBe("user-1")
      await expect(provider.dispose()).resolves.toBeUndefined()
    })
  })
})

describe("Jwt provided as a Layer", () => {
  /** The same few cases, whichever way the provider was built. */
  const representative = (it: Vitest.MethodsNonLive<AuthProvider.AuthProvider | Jwt.Jwt>) => {
    it.effect("accepts a token of the configured issuer", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const auth = yield* AuthProvider.AuthProvider
        const token = yield* sign({ alg: "HS256", key: SECRET_256, claims: { iss: ISSUER, sub: "alice", scope: "read" } })
        const principal = yield* auth.authenticate(bearer(token))
        expect(principal.subject).toBe("alice")
        expect(principal.scopes).toStrictEqual(["read"])
        expect(auth.kinds).toStrictEqual(["jwt"])
      }))

    it.effect("refuses a token of another issuer", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const auth = yield* AuthProvider.AuthProvider
        const token = yield* sign({ alg: "HS256", key: SECRET_256, claims: { iss: "https://evil.example" } })
        expectRefusal(yield* Effect.flip(auth.authenticate(bearer(token))), { tag: "ClaimMismatch", reason: "issuer_mismatch" })
      }))

    it.effect("refuses an expired token, and one signed with another secret", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const auth = yield* AuthProvider.AuthProvider
        const expired = yield* sign({ alg: "HS256", key: SECRET_256, claims: { iss: ISSUER }, exp: NOW - 60 })
        expectRefusal(yield* Effect.flip(auth.authenticate(bearer(expired))), { tag: "ExpiredCredentials", reason: "expired" })
        const forged = yield* sign({ alg: "HS256", key: secretOf(32, "forger"), claims: { iss: ISSUER } })
        expectRefusal(yield* Effect.flip(auth.authenticate(bearer(forged))), { tag: "InvalidCredentials", reason: "bad_signature" })
      }))

    it.effect("challenges a request without credentials", () =>
      Effect.gen(function*() {
        const auth = yield* AuthProvider.AuthProvider
        expectRefusal(yield* Effect.flip(auth.authenticate({})), { tag: "MissingCredentials", reason: "missing", challenge: NO_CREDENTIALS })
      }))

    it.effect("provides the rotation handle Jwt as the very AuthProvider service", () =>
      Effect.gen(function*() {
        expect(yield* Jwt.Jwt).toBe(yield* AuthProvider.AuthProvider)
      }))
  }

  layer(Jwt.layer({ secret: SECRET_256, issuer: ISSUER }))("Jwt.layer(options)", representative)

  const env = (entries: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(entries)))

  layer(
    Jwt.layerConfig().pipe(
      Layer.provide(Layer.setConfigProvider(env({ MCP_JWT_SECRET: SECRET_256, MCP_JWT_ISSUER: ISSUER })))
    )
  )("Jwt.layerConfig() reading MCP_JWT_SECRET and MCP_JWT_ISSUER", representative)

  describe("Jwt.layerConfig()", () => {
    /** Runs `effect` with `Jwt.layerConfig()` built from these variables. */
    const withEnv = (entries: Record<string, string>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.provide(Jwt.layerConfig()), Effect.withConfigProvider(env(entries)))

    const authenticate = (token: string) => Effect.flatMap(AuthProvider.AuthProvider, (auth) => auth.authenticate(bearer(token)))

    it.effect("reads MCP_JWT_ALGORITHMS as a comma-separated list", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const env = withEnv({ MCP_JWT_SECRET: SECRET_512, MCP_JWT_ALGORITHMS: "HS384, HS512" })
        yield* env(authenticate(yield* sign({ alg: "HS384", key: SECRET_512 })))
        yield* env(authenticate(yield* sign({ alg: "HS512", key: SECRET_512 })))
        const failure = yield* Effect.flip(env(authenticate(yield* sign({ alg: "HS256", key: SECRET_512 }))))
        expect(failure._tag).toBe("InvalidCredentials")
      }))

    it.effect("reads MCP_JWT_AUDIENCE", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const env = withEnv({ MCP_JWT_SECRET: SECRET_256, MCP_JWT_AUDIENCE: "https://mcp.example" })
        yield* env(authenticate(yield* sign({ alg: "HS256", key: SECRET_256, claims: { aud: "https://mcp.example" } })))
        const failure = yield* Effect.flip(env(authenticate(yield* sign({ alg: "HS256", key: SECRET_256, claims: { aud: "https://x.example" } }))))
        expect(failure._tag === "ClaimMismatch" && failure.reason).toBe("audience_mismatch")
      }))

    it.effect("reads MCP_JWT_CLOCK_TOLERANCE in seconds", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const lateBy60 = yield* sign({ alg: "HS256", key: SECRET_256, exp: NOW - 60 })
        yield* withEnv({ MCP_JWT_SECRET: SECRET_256, MCP_JWT_CLOCK_TOLERANCE: "120" })(authenticate(lateBy60))
        const failure = yield* Effect.flip(withEnv({ MCP_JWT_SECRET: SECRET_256 })(authenticate(lateBy60)))
        expect(failure._tag).toBe("ExpiredCredentials")
      }))

    it.effect("reads MCP_JWT_PUBLIC_KEY as an SPKI PEM", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const env = withEnv({ MCP_JWT_PUBLIC_KEY: keys.rsa.pem, MCP_JWT_ISSUER: ISSUER })
        const principal = yield* env(authenticate(yield* sign({ alg: "RS256", key: keys.rsa.privateKey, claims: { iss: ISSUER } })))
        expect(principal.subject).toBe("user-1")
        const failure = yield* Effect.flip(env(authenticate(yield* sign({ alg: "RS256", key: keys.rsaOther.privateKey, claims: { iss: ISSUER } }))))
        expect(failure._tag === "InvalidCredentials" && failure.reason).toBe("bad_signature")
      }))

    it.effect("takes options not read from the environment as fixed", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const program = authenticate(yield* sign({ alg: "HS256", key: SECRET_256 })).pipe(
          Effect.provide(Jwt.layerConfig({}, { requiredClaims: ["tenant"] })),
          Effect.withConfigProvider(env({ MCP_JWT_SECRET: SECRET_256 }))
        )
        const failure = yield* Effect.flip(program)
        expect(failure._tag === "ClaimMismatch" && failure.reason).toBe("missing_claim")
      }))

    it.effect("reads an empty variable as unset, not as an empty issuer or allowlist", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const env = withEnv({ MCP_JWT_SECRET: SECRET_256, MCP_JWT_ISSUER: "", MCP_JWT_ALGORITHMS: " ", MCP_JWT_AUDIENCE: "" })
        const principal = yield* env(authenticate(yield* sign({ alg: "HS256", key: SECRET_256 })))
        expect(principal.subject).toBe("user-1")
        const none = yield* Effect.flip(withEnv({ MCP_JWT_SECRET: "" })(Effect.void))
        expect(none._tag).toBe("ConfigurationError")
        expect(String(none)).toMatch(/one of secret, publicKey, jwks or jwksUrl/)
      }))

    it.effect("fails to build, without quoting it, on a secret that is too short", () =>
      Effect.gen(function*() {
        const short = secretOf(31, "short")
        const failure = yield* Effect.flip(withEnv({ MCP_JWT_SECRET: short })(Effect.void))
        expect(failure._tag).toBe("ConfigurationError")
        expect(String(failure)).toMatch(/31 bytes/)
        expect(String(failure)).not.toContain(short)
      }))

    it.effect("fails to build with no key at all, or with a tolerance that is not a number", () =>
      Effect.gen(function*() {
        const none = yield* Effect.flip(withEnv({})(Effect.void))
        expect(none._tag).toBe("ConfigurationError")
        const notNumber = yield* Effect.flip(withEnv({ MCP_JWT_SECRET: SECRET_256, MCP_JWT_CLOCK_TOLERANCE: "soon" })(Effect.void))
        expect(notNumber._tag).not.toBe("ConfigurationError")
        expect(String(notNumber)).toMatch(/MCP_JWT_CLOCK_TOLERANCE/)
      }))
  })
})
