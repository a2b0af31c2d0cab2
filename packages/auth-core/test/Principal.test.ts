import { describe, expect, it } from "@effect/vitest"
import { ApiKey, Jwt, Principal } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type { JWTPayload } from "jose"
import { SignJWT } from "jose"
import { KEY_ONE, KEY_TWO } from "@mcpgate/testing/apiKeys"

const { sameIdentity, scopesFromClaims } = Principal

const SECRET = "principal-test-hs256-secret-with-more-than-32-bytes"
const NOW_S = 1_767_225_600

const sign = (claims: JWTPayload, iat = NOW_S) =>
  Effect.promise(() =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(iat)
      .setExpirationTime(iat + 3600)
      .sign(new TextEncoder().encode(SECRET))
  )

const principal = (identity: string, keyId = "key-1"): Principal.Principal => ({
  provider: "jwt",
  subject: "user-1",
  clientId: "user-1",
  scopes: [],
  identity,
  keyId
})

describe("Principal", () => {
  describe("scopesFromClaims", () => {
    it("splits a space-separated scope", () => {
      expect(scopesFromClaims({ scope: "tools:read tools:write" })).toEqual(["tools:read", "tools:write"])
      expect(scopesFromClaims({ scope: "admin" })).toEqual(["admin"])
    })

    it("drops the empty pieces of repeated, leading or trailing spaces", () => {
      expect(scopesFromClaims({ scope: "  a   b  " })).toEqual(["a", "b"])
      expect(scopesFromClaims({ scope: "" })).toEqual([])
      expect(scopesFromClaims({ scope: "   " })).toEqual([])
    })

    it("takes scp as an array, keeping only non-empty strings", () => {
      expect(scopesFromClaims({ scp: ["tools:read", "tools:write"] })).toEqual(["tools:read", "tools:write"])
      expect(scopesFromClaims({ scp: ["a", "", 42, null, { b: 1 }, "c"] })).toEqual(["a", "c"])
      expect(scopesFromClaims({ scp: [] })).toEqual([])
    })

    it("takes scp as a space-separated string, as some issuers send it", () => {
      expect(scopesFromClaims({ scp: "tools:read tools:write" })).toEqual(["tools:read", "tools:write"])
    })

    it("prefers scope to scp when both are present", () => {
      expect(scopesFromClaims({ scope: "from-scope", scp: ["from-scp"] })).toEqual(["from-scope"])
    })

    it("falls back to scp when scope is null, empty or not a list of scopes", () => {
      expect(scopesFromClaims({ scope: null, scp: ["from-scp"] })).toEqual(["from-scp"])
      expect(scopesFromClaims({ scope: "", scp: ["from-scp"] })).toEqual(["from-scp"])
      expect(scopesFromClaims({ scope: 42, scp: "from-scp" })).toEqual(["from-scp"])
    })

    it("finds no scopes in claims without them, or with them in another type", () => {
      expect(scopesFromClaims({})).toEqual([])
      expect(scopesFromClaims({ sub: "user-1", scopes: ["not-a-standard-claim"] })).toEqual([])
      expect(scopesFromClaims({ scope: 42 })).toEqual([])
      expect(scopesFromClaims({ scope: { read: true } })).toEqual([])
      expect(scopesFromClaims({ scp: true })).toEqual([])
    })
  })

  describe("sameIdentity", () => {
    it("compares identities: the key that proved them does not matter", () => {
      expect(sameIdentity(principal("jwt:a"), principal("jwt:a", "key-2"))).toBe(true)
      expect(sameIdentity(principal("jwt:a"), principal("jwt:b"))).toBe(false)
    })

    it.effect("holds for two requests with the same API key, and not across keys", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({ keys: [KEY_ONE, { key: KEY_TWO, label: "two" }] })
        const one = yield* provider.authenticate({ "x-api-key": KEY_ONE })
        const oneAgain = yield* provider.authenticate(new Headers({ "X-API-Key": KEY_ONE }))
        const two = yield* provider.authenticate({ "x-api-key": KEY_TWO })
        expect(sameIdentity(one, oneAgain)).toBe(true)
        expect(sameIdentity(one, two)).toBe(false)
        expect(sameIdentity(two, one)).toBe(false)
      }))

    it.effect("keeps a refreshed JWT (same iss and sub) the same identity; another sub or iss is another", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_S * 1000 + 60_000)
        const provider = yield* Jwt.make({ secret: SECRET })
        const login = (claims: JWTPayload, iat = NOW_S) =>
          Effect.flatMap(sign(claims, iat), (token) => provider.authenticate({ authorization: `Bearer ${token}` }))

        const first = yield* login({ iss: "https://idp.example.com/", sub: "user-1", scope: "a" })
        const refreshed = yield* login({ iss: "https://idp.example.com/", sub: "user-1", scope: "a b" }, NOW_S + 60)
        const otherSubject = yield* login({ iss: "https://idp.example.com/", sub: "user-2" })
        const otherIssuer = yield* login({ iss: "https://other.example.com/", sub: "user-1" })

        expect(sameIdentity(first, refreshed)).toBe(true)
        expect(sameIdentity(first, otherSubject)).toBe(false)
        expect(sameIdentity(first, otherIssuer)).toBe(false)
      }))

    it.effect("never confuses an API key's identity with a JWT's", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_S * 1000)
        const apiKey = yield* ApiKey.make({ keys: [{ key: KEY_ONE, label: "user-1" }] })
        const jwt = yield* Jwt.make({ secret: SECRET })
        const keyPrincipal = yield* apiKey.authenticate({ "x-api-key": KEY_ONE })
        const token = yield* sign({ sub: "user-1" })
        const jwtPrincipal = yield* jwt.authenticate({ authorization: `Bearer ${token}` })
        expect(keyPrincipal.subject).toBe(jwtPrincipal.subject)
        expect(sameIdentity(keyPrincipal, jwtPrincipal)).toBe(false)
      }))
  })
})
