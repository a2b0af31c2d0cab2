/**
 * A principal names the header its credential came from (lower-case), so that an adapter
 * exposing raw credentials exposes the one that authenticated, never another header's.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthProvider, Jwt } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { KEY_ONE, KEY_TWO } from "@mcpgate/testing/apiKeys"
import { NOW_MS, SECRET_256, sign } from "@mcpgate/testing/tokens"

describe("Principal.credentialHeader", () => {
  it.effect("is the configured API-key header, lower-cased", () =>
    Effect.gen(function*() {
      const provider = yield* ApiKey.make({ keys: [KEY_ONE], headerName: "X-Custom-Key" })
      const principal = yield* provider.authenticate({ "x-custom-key": KEY_ONE })
      expect(principal.credentialHeader).toBe("x-custom-key")
    }))

  it.effect("is authorization for an API key sent as a Bearer token (allowBearer)", () =>
    Effect.gen(function*() {
      const provider = yield* ApiKey.make({ keys: [KEY_ONE], allowBearer: true })
      const principal = yield* provider.authenticate({ authorization: `Bearer ${KEY_ONE}` })
      expect(principal.credentialHeader).toBe("authorization")
      // The configured header wins when both are present.
      const both = yield* provider.authenticate({ authorization: `Bearer ${KEY_TWO}`, "x-api-key": KEY_ONE })
      expect(both.credentialHeader).toBe("x-api-key")
    }))

  it.effect("is the JWT provider's header, lower-cased", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const token = yield* sign({ alg: "HS256", key: SECRET_256, claims: { sub: "alice" } })
      const provider = yield* Jwt.make({ secret: SECRET_256, headerName: "X-Token", requireBearer: false })
      const principal = yield* provider.authenticate({ "x-token": token })
      expect(principal.credentialHeader).toBe("x-token")
    }))

  it.effect("through firstOf, is the header of the provider that accepted", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const token = yield* sign({ alg: "HS256", key: SECRET_256, claims: { sub: "alice" } })
      const both = AuthProvider.firstOf(yield* ApiKey.make({ keys: [KEY_ONE] }), yield* Jwt.make({ secret: SECRET_256 }))
      const principal = yield* both.authenticate({ "x-api-key": "not-a-configured-key-at-all", authorization: `Bearer ${token}` })
      expect(principal.provider).toBe("jwt")
      expect(principal.credentialHeader).toBe("authorization")
    }))
})
