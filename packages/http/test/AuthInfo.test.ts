import { describe, expect, it } from "@effect/vitest"
import { ApiKey, Jwt } from "@mcpgate/auth-core"
import { AuthInfo } from "@mcpgate/http"
import type { Principal } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as TestClock from "effect/TestClock"
import { fingerprint, KEY_ONE, KEY_TWO } from "@mcpgate/testing/apiKeys"
import { bearer, NOW, NOW_MS, SECRET_256, sign } from "@mcpgate/testing/tokens"

const apiKeyPrincipal: Principal.Principal = {
  provider: "api-key",
  subject: "deploy-bot",
  clientId: "deploy-bot",
  scopes: ["tools:read", "tools:write"],
  expiresAt: undefined,
  keyLabel: "deploy-bot",
  identity: "api-key:0123456789abcdef",
  keyId: "api-key:0123456789abcdef"
}

const claims = { sub: "user-1", client_id: "cli-7", scope: "tools:read", iat: NOW - 10, exp: NOW + 3600 }
const jwtPrincipal: Principal.Principal = {
  provider: "jwt",
  subject: "user-1",
  clientId: "cli-7",
  scopes: ["tools:read"],
  expiresAt: NOW + 3600,
  claims,
  identity: "jwt:[\"\",\"user-1\"]",
  keyId: "jwt:key-1"
}

describe("AuthInfo.fromPrincipal", () => {
  it("maps an API-key principal: the label as client id, its scopes, provider, subject, identity and label as extra", () => {
    expect(AuthInfo.fromPrincipal(apiKeyPrincipal)).toStrictEqual({
      token: "",
      clientId: "deploy-bot",
      scopes: ["tools:read", "tools:write"],
      extra: {
        provider: "api-key",
        subject: "deploy-bot",
        identity: "api-key:0123456789abcdef",
        keyLabel: "deploy-bot"
      }
    })
  })

  it("maps a JWT principal: client id, scopes, expiresAt in seconds, and the claims as extra", () => {
    expect(AuthInfo.fromPrincipal(jwtPrincipal)).toStrictEqual({
      token: "",
      clientId: "cli-7",
      scopes: ["tools:read"],
      expiresAt: NOW + 3600,
      extra: {
        provider: "jwt",
        subject: "user-1",
        identity: "jwt:[\"\",\"user-1\"]",
        claims
      }
    })
  })

  it("leaves expiresAt out entirely when the principal has none", () => {
    const authInfo = AuthInfo.fromPrincipal(apiKeyPrincipal)
    expect("expiresAt" in authInfo).toBe(false)
    const { expiresAt: _, ...withoutField } = jwtPrincipal
    expect("expiresAt" in AuthInfo.fromPrincipal(withoutField)).toBe(false)
  })

  it("keeps an expiresAt of 0, which is set", () => {
    expect(AuthInfo.fromPrincipal({ ...apiKeyPrincipal, expiresAt: 0 }).expiresAt).toBe(0)
  })

  it("leaves keyLabel and claims out of extra when the principal has none", () => {
    const bare: Principal.Principal = { ...apiKeyPrincipal, keyLabel: undefined, subject: "0a1b2c3d", clientId: "0a1b2c3d" }
    expect(AuthInfo.fromPrincipal(bare).extra).toStrictEqual({
      provider: "api-key",
      subject: "0a1b2c3d",
      identity: "api-key:0123456789abcdef"
    })
  })

  it("never puts the key id into the AuthInfo", () => {
    expect(JSON.stringify(AuthInfo.fromPrincipal(jwtPrincipal))).not.toContain("jwt:key-1")
  })

  it("copies the scopes into a new, mutable array", () => {
    const authInfo = AuthInfo.fromPrincipal(apiKeyPrincipal)
    expect(authInfo.scopes).not.toBe(apiKeyPrincipal.scopes)
    authInfo.scopes.push("admin")
    expect(apiKeyPrincipal.scopes).toEqual(["tools:read", "tools:write"])
    const frozen = { ...apiKeyPrincipal, scopes: Object.freeze(["a"]) }
    const copied = AuthInfo.fromPrincipal(frozen).scopes
    expect(Object.isFrozen(copied)).toBe(false)
    copied.push("b")
    expect(copied).toEqual(["a", "b"])
  })

  it("sets token to the empty string by default, and to the given token when the server exposes it", () => {
    expect(AuthInfo.fromPrincipal(jwtPrincipal).token).toBe("")
    expect(AuthInfo.fromPrincipal(jwtPrincipal, {}).token).toBe("")
    expect(AuthInfo.fromPrincipal(jwtPrincipal, { token: undefined }).token).toBe("")
    expect(AuthInfo.fromPrincipal(jwtPrincipal, { token: "eyJ.raw.token" }).token).toBe("eyJ.raw.token")
    expect(AuthInfo.fromPrincipal(apiKeyPrincipal, { token: KEY_ONE }).token).toBe(KEY_ONE)
  })

  describe("from the principals the providers yield", () => {
    it.effect("an API key with label and scopes", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({ keys: [{ key: KEY_ONE, label: "alice", scopes: ["tools:read"] }, KEY_TWO] })
        const alice = AuthInfo.fromPrincipal(yield* provider.authenticate({ "x-api-key": KEY_ONE }))
        expect(alice).toStrictEqual({
          token: "",
          clientId: "alice",
          scopes: ["tools:read"],
          extra: { provider: "api-key", subject: "alice", identity: expect.stringMatching(/^api-key:[0-9a-f]{16}$/), keyLabel: "alice" }
        })
        const unlabelled = AuthInfo.fromPrincipal(yield* provider.authenticate({ "x-api-key": KEY_TWO }))
        expect(unlabelled).toStrictEqual({
          token: "",
          clientId: fingerprint(KEY_TWO),
          scopes: [],
          extra: { provider: "api-key", subject: fingerprint(KEY_TWO), identity: expect.stringMatching(/^api-key:/) }
        })
      }))

    it.effect("a JWT: client_id, scope, exp, and its claims", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* Jwt.make({ secret: SECRET_256 })
        const token = yield* sign({ alg: "HS256", key: SECRET_256, claims: { client_id: "cli-7", scope: "tools:read tools:write" } })
        const authInfo = AuthInfo.fromPrincipal(yield* provider.authenticate(bearer(token)), { token })
        expect(authInfo).toStrictEqual({
          token,
          clientId: "cli-7",
          scopes: ["tools:read", "tools:write"],
          expiresAt: NOW + 3600,
          extra: {
            provider: "jwt",
            subject: "user-1",
            identity: "jwt:[\"\",\"user-1\"]",
            claims: { sub: "user-1", client_id: "cli-7", scope: "tools:read tools:write", iat: NOW - 10, exp: NOW + 3600 }
          }
        })
      }))
  })

  describe("properties", () => {
    const text = FastCheck.string({ maxLength: 20 })
    const principal: FastCheck.Arbitrary<Principal.Principal> = FastCheck.record(
      {
        provider: FastCheck.constantFrom("api-key" as const, "jwt" as const),
        subject: text,
        clientId: text,
        scopes: FastCheck.array(text, { maxLength: 5 }),
        expiresAt: FastCheck.option(FastCheck.integer({ min: 0, max: 4_102_444_800 }), { nil: undefined }),
        claims: FastCheck.option(FastCheck.dictionary(text, FastCheck.jsonValue(), { maxKeys: 4 }), { nil: undefined }),
        keyLabel: FastCheck.option(text, { nil: undefined }),
        identity: text,
        keyId: text
      },
      { requiredKeys: ["provider", "subject", "clientId", "scopes", "identity", "keyId"] }
    )

    it.prop(
      "maps every principal field by field, exposing a token only when one is given",
      [principal, FastCheck.option(text, { nil: undefined })],
      ([principal, token]) => {
        const authInfo = AuthInfo.fromPrincipal(principal, { token })
        const expected: AuthInfo.AuthInfo = {
          token: token ?? "",
          clientId: principal.clientId,
          scopes: [...principal.scopes],
          extra: {
            provider: principal.provider,
            subject: principal.subject,
            identity: principal.identity,
            ...(principal.keyLabel === undefined ? {} : { keyLabel: principal.keyLabel }),
            ...(principal.claims === undefined ? {} : { claims: principal.claims })
          }
        }
        if (principal.expiresAt !== undefined) expected.expiresAt = principal.expiresAt
        expect(authInfo).toStrictEqual(expected)
        expect(authInfo.scopes).not.toBe(principal.scopes)
        expect("resource" in authInfo).toBe(false)
      },
      { fastCheck: { numRuns: 300 } }
    )
  })
})
