import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, DEFAULT_AUTH_ERROR, JWTAuthProvider, McpFrameworkAuth } from "@mcpgate/auth-core"
import type { AuthConfig, AuthProvider, AuthResult, Credentials } from "@mcpgate/auth-core"
import * as FastCheck from "effect/FastCheck"
import { onTestFinished } from "vitest"
import { KEY_ONE, KEY_TWO } from "@mcpgate/testing/apiKeys"
import { bearer, OTHER_SECRET_256, SECRET_256, signToken } from "@mcpgate/testing/tokens"

/** A provider released when the test ends. */
const released = <P extends { dispose(): Promise<void> }>(provider: P): P => {
  onTestFinished(() => provider.dispose())
  return provider
}
const apiKeys = () =>
  released(new APIKeyAuthProvider({ keys: [KEY_ONE, { key: KEY_TWO, label: "ci", scopes: ["tools:read"] }] }))
const jwts = () => released(new JWTAuthProvider({ secret: SECRET_256 }))
const nowSeconds = () => Math.floor(Date.now() / 1000)

// Type-level: mcpgate's providers are mcp-framework providers, and its config takes them.
const asFrameworkProvider = (provider: AuthProvider): AuthConfig => ({ provider, endpoints: { sse: true } })

/** Header records of any shape a client could send, valid keys and tokens among them. */
const anyRequest = (credentials: ReadonlyArray<string>): FastCheck.Arbitrary<Credentials.HeaderRecord> =>
  FastCheck.dictionary(
    FastCheck.constantFrom("x-api-key", "X-API-Key", "authorization", "Authorization", "x-other"),
    FastCheck.oneof(
      FastCheck.constantFrom(...credentials, ...credentials.map((value) => `Bearer ${value}`)),
      FastCheck.string(),
      FastCheck.array(FastCheck.constantFrom(...credentials), { maxLength: 2 })
    ),
    { maxKeys: 3 }
  )

describe("mcp-framework's provider contract (authenticate, getAuthError)", () => {
  describe("APIKeyAuthProvider", () => {
    it("resolves true for a configured key, and false for every refusal, never an object", async () => {
      const provider = apiKeys()
      expect(await provider.authenticate({ "x-api-key": KEY_ONE })).toBe(true)
      expect(await provider.authenticate({ "X-API-Key": KEY_TWO })).toBe(true)
      for (const refused of [{}, { "x-api-key": "" }, { "x-api-key": "wrong-key-of-enough-length" }, { "x-api-key": [KEY_ONE, KEY_ONE] }]) {
        expect(await provider.authenticate(refused)).toBe(false)
      }
    })

    it("is truthy exactly when check accepts, for any headers", async () => {
      const provider = apiKeys()
      await FastCheck.assert(
        FastCheck.asyncProperty(anyRequest([KEY_ONE, KEY_TWO, "not-a-key-but-long-enough"]), async (request) => {
          const [verdict, result] = await Promise.all([provider.check(request), provider.authenticate(request)])
          expect(result).toBe(verdict.ok)
        }),
        { numRuns: 300 }
      )
    })

    it("answers getAuthError, getKeyCount and getHeaderName as mcp-framework's class does", async () => {
      const provider = released(new APIKeyAuthProvider({ keys: [KEY_ONE, KEY_TWO], headerName: "X-Team-Key" }))
      expect(provider.getAuthError()).toStrictEqual({ status: 401, message: "Invalid API key" })
      expect(provider.getHeaderName()).toBe("X-Team-Key")
      expect(provider.getKeyCount()).toBe(2)
      provider.updateKeys([KEY_ONE])
      expect(provider.getKeyCount()).toBe(1)
      expect(apiKeys().getHeaderName()).toBe("X-API-Key")
    })

    it("refuses everything once disposed", async () => {
      const provider = apiKeys()
      await provider.dispose()
      expect(await provider.authenticate({ "x-api-key": KEY_ONE })).toBe(false)
    })
  })

  describe("JWTAuthProvider", () => {
    it("resolves { data: <the verified claims> } for a valid token", async () => {
      const token = await signToken({ alg: "HS256", key: SECRET_256, now: nowSeconds(), claims: { sub: "alice", scope: "a b" } })
      const result = await jwts().authenticate(bearer(token))
      expect(result).toStrictEqual({
        data: { sub: "alice", scope: "a b", iat: expect.any(Number), exp: expect.any(Number) }
      })
    })

    it("hands out a copy of the claims: what one caller changes, the next does not see", async () => {
      const provider = jwts()
      const token = await signToken({ alg: "HS256", key: SECRET_256, now: nowSeconds(), claims: { sub: "alice" } })
      const first = (await provider.authenticate(bearer(token))) as AuthResult
      first.data!["sub"] = "mallory"
      first.data!["admin"] = true
      expect(await provider.authenticate(bearer(token))).toMatchObject({ data: { sub: "alice" } })
      expect(((await provider.authenticate(bearer(token))) as AuthResult).data).not.toHaveProperty("admin")
    })

    it("resolves false for a missing, foreign, expired or malformed token", async () => {
      const provider = jwts()
      const foreign = await signToken({ alg: "HS256", key: OTHER_SECRET_256, now: nowSeconds() })
      const expired = await signToken({ alg: "HS256", key: SECRET_256, now: nowSeconds() - 7200 })
      for (const request of [{}, bearer(foreign), bearer(expired), bearer("a.b.c"), { authorization: "Basic dXNlcjpwYXNz" }]) {
        expect(await provider.authenticate(request)).toBe(false)
      }
    })

    it("is truthy exactly when check accepts, for any headers", async () => {
      const provider = jwts()
      const good = await signToken({ alg: "HS256", key: SECRET_256, now: nowSeconds() })
      const foreign = await signToken({ alg: "HS256", key: OTHER_SECRET_256, now: nowSeconds() })
      await FastCheck.assert(
        FastCheck.asyncProperty(anyRequest([good, foreign]), async (request) => {
          const [verdict, result] = await Promise.all([provider.check(request), provider.authenticate(request)])
          expect(Boolean(result)).toBe(verdict.ok)
          if (result !== false) expect(result).toStrictEqual({ data: { ...(verdict.ok ? verdict.principal.claims : {}) } })
        }),
        { numRuns: 300 }
      )
    })

    it("answers getAuthError with the JWT body's message", () => {
      expect(jwts().getAuthError()).toStrictEqual({ status: 401, message: "Invalid or expired JWT token" })
    })
  })

  it("DEFAULT_AUTH_ERROR is mcp-framework's, and cannot be changed by whoever imports it", () => {
    expect(DEFAULT_AUTH_ERROR).toStrictEqual({ status: 401, message: "Unauthorized" })
    expect(Object.isFrozen(DEFAULT_AUTH_ERROR)).toBe(true)
  })

  it("an mcpgate provider fits mcp-framework's AuthConfig", () => {
    const provider = apiKeys()
    expect(asFrameworkProvider(provider).provider).toBe(provider)
  })
})

describe("McpFrameworkAuth.contextDataOf: what tools find in the request context", () => {
  it("the label and scopes of an API key, never the key", async () => {
    const provider = apiKeys()
    const labelled = await provider.check({ "x-api-key": KEY_TWO })
    const unlabelled = await provider.check({ "x-api-key": KEY_ONE })
    if (!labelled.ok || !unlabelled.ok) throw new Error("the keys are configured")
    expect(McpFrameworkAuth.contextDataOf(labelled.principal)).toStrictEqual({ label: "ci", scopes: ["tools:read"] })
    expect(McpFrameworkAuth.contextDataOf(unlabelled.principal)).toStrictEqual({ scopes: [] })
    expect(JSON.stringify(McpFrameworkAuth.contextDataOf(unlabelled.principal))).not.toContain(KEY_ONE)
  })

  it("the claims of a JWT, in a fresh object each time", async () => {
    const token = await signToken({ alg: "HS256", key: SECRET_256, now: nowSeconds(), claims: { sub: "alice" } })
    const verdict = await jwts().check(bearer(token))
    if (!verdict.ok) throw new Error("the token is valid")
    const first = McpFrameworkAuth.contextDataOf(verdict.principal)
    expect(first).toMatchObject({ sub: "alice" })
    expect(McpFrameworkAuth.contextDataOf(verdict.principal)).not.toBe(first)
  })
})
