/**
 * Who can spend whose failed-attempt budget: a credential in the URL is refused before any
 * provider and spends nothing; a request without a credential spends nothing; and a client
 * address over its budget is still served with an identity it proved before the lockout,
 * while guesses from it stay limited.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthProvider, HttpAnswer, Jwt } from "@mcpgate/auth-core"
import { Gate } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as TestClock from "effect/TestClock"
import { KEY_ONE, KEY_TWO } from "@mcpgate/testing/apiKeys"
import { apiKey401, Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import { OTHER_SECRET_256, SECRET_256, sign } from "@mcpgate/testing/tokens"

const keyed = Effect.orDie(ApiKey.make({ keys: [{ key: KEY_ONE, label: "laptop" }, KEY_TWO] }))
const jwts = Effect.orDie(Jwt.make({ secret: SECRET_256, issuer: "https://issuer.example" }))
const withKey = (client: string, key?: string, query?: string): Gate.Request => ({
  client,
  headers: key === undefined ? {} : { "x-api-key": key },
  query
})
const withToken = (client: string, token: string): Gate.Request => ({ client, headers: { authorization: `Bearer ${token}` } })
/** A token of `sub`, issued at the TestClock's now (set to the real time first: jose reads `Date.now()`). */
const tokenOf = (sub: string, secret = SECRET_256) =>
  Effect.flatMap(TestClock.currentTimeMillis, (now) =>
    sign({ alg: "HS256", key: secret, now: Math.floor(now / 1000), claims: { sub, iss: "https://issuer.example", jti: String(now) } }))

/** A provider that records the requests it was asked about. */
const counting = (provider: AuthProvider.Service) => {
  const seen: Array<object> = []
  const service: AuthProvider.Service = {
    ...provider,
    authenticate: (request) => Effect.suspend(() => (seen.push(request), provider.authenticate(request)))
  }
  return { service, seen, asked: () => seen.length }
}

describe("Gate: a credential in the URL query", () => {
  it.effect("is refused before any provider runs, under each name clients use, and spends no budget", () =>
    Effect.gen(function*() {
      const { seen, service } = counting(yield* keyed)
      const gate = Gate.unsafeMake(service, { rateLimit: { maxFailures: 1 } })
      for (const name of ["api_key", "apiKey", "access_token", "token"]) {
        for (const query of [`?${name}=${KEY_ONE}`, `?sessionId=abc&${name}=`, `${name}=x`]) {
          const verdict = yield* gate.check(withKey("a", KEY_ONE, query), true)
          expect(verdict, query).toEqual({ _tag: "Refused", answer: apiKey401() })
        }
      }
      // No provider saw the request (at most the empty one its challenge is read from).
      expect(seen.filter((headers) => Object.keys(headers).length > 0)).toEqual([])
      // Nothing was spent: the key in its header is served from the same client.
      expect(yield* gate.check(withKey("a", KEY_ONE, "?sessionId=abc"), true)).toMatchObject({ _tag: "Authenticated" })
    }))

  it.effect("is an invalid_request for a Bearer provider, its challenge naming the resource metadata", () =>
    Effect.gen(function*() {
      const metadataUrl = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
      const gate = Gate.unsafeMake(yield* jwts, { protectedResource: { resource: "https://mcp.example.com/mcp", metadataUrl } })
      const verdict = yield* gate.check({ client: "a", headers: {}, query: "?access_token=abc" }, false)
      expect(verdict).toEqual({
        _tag: "Refused",
        answer: {
          status: 401,
          headers: { ...JSON_HEADERS, "www-authenticate": `Bearer realm="mcp", error="invalid_request", resource_metadata="${metadataUrl}"` },
          body: Bodies.jwt
        }
      })
    }))

  it.effect("other parameters, and names that only contain a credential's name, pass", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed)
      for (const query of ["?sessionId=abc", "?tokens=1", "?my_api_key=1", "?", ""]) {
        expect(yield* gate.check(withKey("a", KEY_ONE, query), true), query).toMatchObject({ _tag: "Authenticated" })
      }
    }))
})

describe("Gate: a client over its budget keeps the identities it proved", () => {
  it.effect("a neighbour's guesses lock the address out, but not the key it proved before", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed, { rateLimit: { maxFailures: 3 } })
      expect(yield* gate.check(withKey("nat", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated" })
      for (let i = 0; i < 3; i++) yield* gate.check(withKey("nat", `guess-number-${i}-aaaaaaaa`), true)
      // Guesses stay limited, and so does a valid key never proven from here.
      expect(yield* gate.check(withKey("nat", "guess-number-9-aaaaaaaa"), true)).toEqual({
        _tag: "Refused",
        answer: HttpAnswer.tooManyAttempts(60)
      })
      expect(yield* gate.check(withKey("nat", KEY_TWO), true)).toMatchObject({ answer: { status: 429 } })
      // The proven key is served, again and again, during the lockout.
      for (let i = 0; i < 3; i++) {
        expect(yield* gate.check(withKey("nat", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated", principal: { keyLabel: "laptop" } })
      }
      // Proof is per address: the same key from another locked-out address is not exempt.
      for (let i = 0; i < 3; i++) yield* gate.check(withKey("elsewhere", `guess-number-${i}-bbbbbbbb`), true)
      expect(yield* gate.check(withKey("elsewhere", KEY_ONE), true)).toMatchObject({ answer: { status: 429 } })
    }))

  it.effect("a token subject proven before is served with a refreshed token; a forged one claiming it is not", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.now())
      const gate = Gate.unsafeMake(yield* jwts, { rateLimit: { maxFailures: 2 } })
      expect(yield* gate.check(withToken("nat", yield* tokenOf("alice")), true)).toMatchObject({ _tag: "Authenticated" })
      for (let i = 0; i < 2; i++) yield* gate.check(withToken("nat", yield* tokenOf("mallory", OTHER_SECRET_256)), true)
      yield* TestClock.adjust("1 second")
      expect(yield* gate.check(withToken("nat", yield* tokenOf("alice")), true)).toMatchObject({
        _tag: "Authenticated",
        principal: { subject: "alice" }
      })
      // Claiming alice without her key's signature: still the 429, not a 401 that would say more.
      expect(yield* gate.check(withToken("nat", yield* tokenOf("alice", OTHER_SECRET_256)), true)).toMatchObject({
        answer: { status: 429 }
      })
      expect(yield* gate.check(withToken("nat", yield* tokenOf("bob")), true)).toMatchObject({ answer: { status: 429 } })
    }))

  it.effect("nothing is proven during a lockout: a key first presented then waits like any guess", () =>
    Effect.gen(function*() {
      const gate = Gate.unsafeMake(yield* keyed, { rateLimit: { maxFailures: 1 } })
      yield* gate.check(withKey("nat", "guess-number-0-aaaaaaaa"), true)
      for (let i = 0; i < 3; i++) expect(yield* gate.check(withKey("nat", KEY_ONE), true)).toMatchObject({ answer: { status: 429 } })
      yield* TestClock.adjust("60 seconds")
      expect(yield* gate.check(withKey("nat", KEY_ONE), true)).toMatchObject({ _tag: "Authenticated" })
    }))

  it.effect("for any order of guesses, anonymous requests and proofs, a guess from a locked address never reaches the provider", () =>
    Effect.gen(function*() {
      const { asked, service } = counting(yield* keyed)
      const step = FastCheck.constantFrom("guess", "anonymous", "proven", "unproven")
      yield* Effect.promise(() =>
        FastCheck.assert(
          FastCheck.asyncProperty(FastCheck.array(step, { maxLength: 30 }), async (steps) => {
            const gate = Gate.unsafeMake(service, { rateLimit: { maxFailures: 3 } })
            // The model: three guesses lock the address; a key that passed before then still passes.
            let failures = 0
            const proven = new Set<string>()
            for (const [i, kind] of steps.entries()) {
              const key = kind === "guess" ? `guess-number-${i}-aaaaaaaa` : kind === "anonymous" ? undefined : kind === "proven" ? KEY_ONE : KEY_TWO
              const before = asked()
              const verdict = await Effect.runPromise(gate.check(withKey("nat", key), true))
              const locked = failures >= 3
              if (kind === "guess") {
                if (locked) expect(asked()).toBe(before)
                expect(verdict).toMatchObject({ answer: { status: locked ? 429 : 401 } })
                failures += locked ? 0 : 1
              } else if (kind === "anonymous") {
                expect(verdict).toMatchObject({ answer: { status: locked ? 429 : 401 } })
              } else {
                const served = !locked || proven.has(key!)
                expect(verdict._tag).toBe(served ? "Authenticated" : "Refused")
                if (served) proven.add(key!)
              }
            }
          }),
          { numRuns: 100 }
        )
      )
    }))
})
