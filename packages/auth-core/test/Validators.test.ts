/**
 * mcp-framework's `JWTValidator` and `IntrospectionValidator`: `validate(token)` resolves to
 * the claims or rejects with a `TokenValidationError` whose `reason` is the log code and
 * whose `unavailable` says the authorization server could not answer. Against a real
 * authorization server (oidc-provider), on the live clock.
 */
import { describe, expect, it } from "@effect/vitest"
import type { IntrospectionConfig } from "@mcpgate/auth-core"
import { ConfigurationError, IntrospectionValidator, JWTValidator, TokenValidationError } from "@mcpgate/auth-core"
import type { AuthorizationServer } from "@mcpgate/testing/authorizationServer"
import { authorizationServer, CLIENTS, RESOURCE, SCOPES } from "@mcpgate/testing/authorizationServer"
import { inScope } from "@mcpgate/testing/scoped"

const OTHER_RESOURCE = "http://127.0.0.1/other"
const TWO_RESOURCES = [{ resource: RESOURCE, scopes: SCOPES }, { resource: OTHER_RESOURCE, scopes: ["tools:read"] }]

const jwtValidator = (as: AuthorizationServer) =>
  new JWTValidator({ jwksUri: as.jwksUri, audience: RESOURCE, issuer: as.issuer })

const introspectionValidator = (as: AuthorizationServer, extra: Partial<IntrospectionConfig> = {}) =>
  new IntrospectionValidator({
    endpoint: as.introspectionEndpoint,
    clientId: CLIENTS.resourceServer.id,
    clientSecret: CLIENTS.resourceServer.secret,
    audience: RESOURCE,
    ...extra
  })

/** The rejection of `validate`, as `{ reason, unavailable }`. */
const rejection = async (validation: Promise<unknown>) => {
  const error = await validation.then(() => undefined, (error: unknown) => error)
  expect(error).toBeInstanceOf(TokenValidationError)
  const { reason, unavailable } = error as TokenValidationError
  return { reason, unavailable }
}

describe("JWTValidator", () => {
  it.scopedLive("resolves to the claims of a token for the audience, and rejects one for another audience", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer({ resources: TWO_RESOURCES }))
      const validator = jwtValidator(as)
      const claims = await validator.validate(await as.token({ scope: "tools:read" }))
      expect(claims).toMatchObject({ iss: as.issuer, aud: RESOURCE, scope: "tools:read", client_id: CLIENTS.app.id })
      expect(claims.exp).toBeGreaterThan(Date.now() / 1000)
      expect(await rejection(validator.validate(await as.token({ resource: OTHER_RESOURCE }))))
        .toStrictEqual({ reason: "audience_mismatch", unavailable: false })
      await validator.dispose()
    }))

  it.scopedLive("rejects garbage without a network call, and says unavailable when the keys cannot be fetched", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const validator = jwtValidator(as)
      for (const token of ["", "not a token", "a.b", 42 as unknown as string]) {
        expect((await rejection(validator.validate(token))).unavailable).toBe(false)
      }
      expect(as.hits("/jwks")).toBe(0)
      const token = await as.token()
      await as.stop()
      expect(await rejection(validator.validate(token))).toStrictEqual({ reason: "key_source_unavailable", unavailable: true })
      await validator.dispose()
    }))

  it("refuses mcp-framework's audience wildcard and names a missing option", () => {
    expect(() => new JWTValidator({ jwksUri: "https://auth.example.com/jwks", audience: "*", issuer: "https://auth.example.com" }))
      .toThrow(/audience is "\*".*RFC 8707/)
    expect(() => new JWTValidator({ jwksUri: "https://auth.example.com/jwks", issuer: "https://auth.example.com" } as never))
      .toThrow(ConfigurationError.ConfigurationError)
  })
})

describe("IntrospectionValidator", () => {
  it.scopedLive("resolves to the answer's claims while the token is active, rejects it once revoked", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const validator = introspectionValidator(as, { cacheTTL: 0 })
      const token = await as.token({ format: "opaque", scope: "files:read" })
      expect(await validator.validate(token)).toMatchObject({ active: true, iss: as.issuer, aud: RESOURCE, scope: "files:read" })
      await as.revoke(token)
      expect(await rejection(validator.validate(token))).toStrictEqual({ reason: "token_inactive", unavailable: false })
      await validator.dispose()
    }))

  it.scopedLive("checks aud, which mcp-framework's IntrospectionValidator does not", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer({ resources: TWO_RESOURCES }))
      const validator = introspectionValidator(as)
      const token = await as.token({ format: "opaque", resource: OTHER_RESOURCE })
      expect(await rejection(validator.validate(token))).toStrictEqual({ reason: "audience_mismatch", unavailable: false })
      await validator.dispose()
    }))

  it.scopedLive("makes one introspection call for concurrent validations of one token, and says unavailable while the server is down", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const validator = introspectionValidator(as)
      const token = await as.token({ format: "opaque" })
      as.resetHits()
      const all = await Promise.all(Array.from({ length: 50 }, () => validator.validate(token)))
      expect(all).toHaveLength(50)
      expect(as.hits("/token/introspection")).toBe(1)
      const fresh = await as.token({ format: "opaque" })
      await as.stop()
      expect(await rejection(validator.validate(fresh))).toStrictEqual({ reason: "key_source_unavailable", unavailable: true })
      await validator.dispose()
    }))

  it("requires audience, saying why mcp-framework's configuration lacks it, and never quotes the secret", () => {
    const attempt = () =>
      new IntrospectionValidator({
        endpoint: "https://auth.example.com/introspect",
        clientId: "mcp-server",
        clientSecret: "a-secret-that-stays-out-of-messages"
      } as never)
    expect(attempt).toThrow(ConfigurationError.ConfigurationError)
    expect(attempt).toThrow(/audience[\s\S]*RFC 8707[\s\S]*mcp-framework did not check aud/)
    expect(attempt).not.toThrow(/a-secret-that-stays/)
  })
})
