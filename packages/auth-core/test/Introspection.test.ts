import { describe, expect, it } from "@effect/vitest"
import type { AuthFailure } from "@mcpgate/auth-core"
import { Introspection, IntrospectionAuthProvider } from "@mcpgate/auth-core"
import type { AuthorizationServer } from "@mcpgate/testing/authorizationServer"
import { authorizationServer, CLIENTS, RESOURCE } from "@mcpgate/testing/authorizationServer"
import { Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"
import { bearer, UNAVAILABLE } from "@mcpgate/testing/tokens"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"

// Real sockets and a real authorization server, whose tokens carry `Date.now()` times: every
// test runs on the live clock (`it.scopedLive`), as the TestClock starts at 0.

const INTROSPECTION_PATH = "/token/introspection"

/** An introspection provider for the server's tokens, as the resource server `RESOURCE`. */
const providerFor = (as: AuthorizationServer, options: Partial<Introspection.Options> = {}) =>
  new IntrospectionAuthProvider({
    endpoint: as.introspectionEndpoint,
    issuer: as.issuer,
    audience: RESOURCE,
    clientId: CLIENTS.resourceServer.id,
    clientSecret: Redacted.make(CLIENTS.resourceServer.secret),
    ...options
  })

const INVALID_TOKEN_401 = { status: 401, headers: { ...JSON_HEADERS, "www-authenticate": Challenge.invalidToken }, body: Bodies.jwt }

/** The refusal of a check, with its exact answer. */
const refused = async (provider: IntrospectionAuthProvider, token: string) => {
  const result = await provider.check(bearer(token))
  if (result.ok) throw new Error("the token was accepted")
  return result
}

const expect401 = async (provider: IntrospectionAuthProvider, token: string, reason: AuthFailure.ReasonCode) => {
  const { reason: actual, ok: _ok, ...answer } = await refused(provider, token)
  expect(actual).toBe(reason)
  expect(answer).toStrictEqual(INVALID_TOKEN_401)
}

const expect503 = async (provider: IntrospectionAuthProvider, token: string) => {
  const { reason, ok: _ok, ...answer } = await refused(provider, token)
  expect(reason).toBe("key_source_unavailable")
  expect(answer).toStrictEqual(UNAVAILABLE)
}

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe("Introspection against a real authorization server (oidc-provider)", () => {
  it.scopedLive("accepts an active opaque token: subject, client, scopes and expiry from the answer", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = providerFor(as)
      const token = await as.token({ scope: "tools:read files:read", format: "opaque", lifetime: 120 })
      const result = await provider.check(bearer(token))
      if (!result.ok) throw new Error(`refused: ${result.reason}`)
      const { principal } = result
      expect(principal).toMatchObject({
        provider: "jwt",
        subject: CLIENTS.app.id,
        clientId: CLIENTS.app.id,
        scopes: ["tools:read", "files:read"],
        credentialHeader: "authorization"
      })
      expect(principal.expiresAt! - Date.now() / 1000).toBeGreaterThan(100)
      expect(principal.claims).toMatchObject({ active: true, iss: as.issuer, aud: RESOURCE })
      expect(Object.isFrozen(principal.claims)).toBe(true)
      // mcp-framework's contract on the same provider
      expect(await provider.authenticate(bearer(token))).toStrictEqual({ data: { ...principal.claims } })
      await provider.dispose()
    }))

  it.scopedLive("authenticates with client_secret_post as well as client_secret_basic", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = providerFor(as, {
        clientId: CLIENTS.postClient.id,
        clientSecret: CLIENTS.postClient.secret,
        clientAuthentication: "client_secret_post"
      })
      const token = await as.token({ format: "opaque" })
      expect((await provider.check(bearer(token))).ok).toBe(true)
    }))

  it.scopedLive("refuses an expired token: the server says inactive, 401 invalid_token", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const token = await as.token({ format: "opaque", lifetime: 1 })
      await sleep(2100)
      await expect401(providerFor(as), token, "token_inactive")
    }))

  it.scopedLive("refuses a revoked token at once when it was never cached, and after its cache entry with the cache off", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const revokedFirst = await as.token({ format: "opaque" })
      await as.revoke(revokedFirst)
      await expect401(providerFor(as), revokedFirst, "token_inactive")

      const uncached = providerFor(as, { cache: false })
      const token = await as.token({ format: "opaque" })
      expect((await uncached.check(bearer(token))).ok).toBe(true)
      await as.revoke(token)
      await expect401(uncached, token, "token_inactive")
    }))

  it.scopedLive("holds the answer to the JWT claim rules: audience, issuer, exp", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const token = await as.token({ format: "opaque" })
      await expect401(providerFor(as, { audience: "https://another.example/mcp" }), token, "audience_mismatch")
      await expect401(providerFor(as, { issuer: "https://another-issuer.example" }), token, "issuer_mismatch")
      // RFC 7519 4.1.3, as for a JWT: an answer naming an audience needs one configured
      await expect401(providerFor(as, { audience: undefined }), token, "unexpected_audience")

      const { exp: _exp, ...withoutExp } = await introspect(as, token)
      as.intercept(INTROSPECTION_PATH, (_req, res) => json(res, 200, withoutExp))
      await expect401(providerFor(as), token, "missing_claim")
    }))

  it.scopedLive("answers 503, never 401, when the server is down, slow, failing or answering garbage", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const token = await as.token({ format: "opaque" })
      const answers: ReadonlyArray<[number, string]> = [
        [500, "{\"active\":true}"],
        [200, "<html>not json</html>"],
        [200, "[]"],
        [200, "{\"scope\":\"tools:read\"}"],
        [200, "{\"active\":\"true\"}"],
        [302, ""]
      ]
      for (const [status, body] of answers) {
        as.intercept(INTROSPECTION_PATH, (_req, res) => res.writeHead(status, { "content-type": "application/json", location: "/" }).end(body))
        await expect503(providerFor(as), token)
      }
      as.intercept(INTROSPECTION_PATH, undefined)
      // the resource server's own credentials refused: the server's answer, not the token's
      await expect503(providerFor(as, { clientSecret: "not-the-secret-of-this-client" }), token)

      as.slow(1500)
      const started = Date.now()
      await expect503(providerFor(as, { timeout: 0.3 }), token)
      expect(Date.now() - started).toBeLessThan(1400)
      as.slow(0)

      await as.stop()
      await expect503(providerFor(as), token)
      await as.restart()
      expect((await providerFor(as).check(bearer(token))).ok).toBe(true)
    }))

  it.scopedLive("makes one introspection call for 1,000 concurrent checks of one new token", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = providerFor(as)
      const token = await as.token({ format: "opaque" })
      as.resetHits()
      const results = await Promise.all(Array.from({ length: 1000 }, () => provider.check(bearer(token))))
      expect(results.every((result) => result.ok)).toBe(true)
      expect(as.hits(INTROSPECTION_PATH)).toBe(1)
      expect(provider.service.inFlight()).toBe(0)
      // and later checks are answered from the cache
      await provider.check(bearer(token))
      expect(as.hits(INTROSPECTION_PATH)).toBe(1)
    }))

  it.scopedLive("never keeps an answer past the token's exp, whatever the TTL", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = providerFor(as, { cache: { ttl: 3600 }, clockTolerance: 0 })
      const token = await as.token({ format: "opaque", lifetime: 2 })
      as.resetHits()
      expect((await provider.check(bearer(token))).ok).toBe(true)
      expect((await provider.check(bearer(token))).ok).toBe(true)
      expect(as.hits(INTROSPECTION_PATH)).toBe(1)
      await sleep(2200)
      await expect401(provider, token, "token_inactive")
      expect(as.hits(INTROSPECTION_PATH)).toBe(2)
    }))

  it.scopedLive("keeps an inactive answer briefly: a repeated bad token costs one call per inactiveTtl", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = providerFor(as, { cache: { inactiveTtl: 60 } })
      as.resetHits()
      for (let i = 0; i < 5; i++) await expect401(provider, "not-a-token-the-server-issued", "token_inactive")
      expect(as.hits(INTROSPECTION_PATH)).toBe(1)
    }))

  it.scopedLive("finds the endpoint by discovery from the issuer alone, RFC 8414 first, else OpenID Connect", () =>
    inScope(async (use) => {
      for (const rfc8414 of [true, false]) {
        const as = await use(authorizationServer({ path: "/tenant-a", rfc8414 }))
        const token = await as.token({ format: "opaque" })
        const provider = providerFor(as, { endpoint: undefined })
        expect((await provider.check(bearer(token))).ok).toBe(true)
        expect(as.hits("/.well-known/oauth-authorization-server/tenant-a")).toBe(1)
        expect(as.hits("/tenant-a/.well-known/openid-configuration")).toBe(rfc8414 ? 0 : 1)
        // the document is kept: a second token costs no discovery
        await provider.check(bearer(await as.token({ format: "opaque" })))
        expect(as.hits("/.well-known/oauth-authorization-server/tenant-a")).toBe(1)
      }
    }))

  it.scopedLive("answers 503 when discovery finds no document for exactly this issuer (RFC 8414 3.3)", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const token = await as.token({ format: "opaque" })
      const impostor = { issuer: "https://impostor.example", introspection_endpoint: as.introspectionEndpoint }
      as.intercept("/.well-known/oauth-authorization-server", (_req, res) => json(res, 200, impostor))
      as.intercept("/.well-known/openid-configuration", (_req, res) => json(res, 200, impostor))
      await expect503(providerFor(as, { endpoint: undefined }), token)
      expect(as.hits(INTROSPECTION_PATH)).toBe(0)
    }))
})

describe("Introspection options", () => {
  it("refuses options without an endpoint or an issuer to discover it from, and misspelled ones", () => {
    const base = { clientId: "rs", clientSecret: "a-secret-never-echoed-0123456789" }
    expect(() => new IntrospectionAuthProvider(base)).toThrow(/endpoint.*issuer/)
    expect(() => new IntrospectionAuthProvider({ ...base, endpoint: "https://as.example/introspect", timout: 1 } as never))
      .toThrow(/timout/)
    const error = Effect.runSync(Effect.flip(Introspection.make({ ...base, endpoint: "ftp://as.example", clientSecret: 42 as never })))
    expect(error.message).not.toContain("a-secret-never-echoed")
    expect(error.message).toMatch(/clientSecret must be a string or a Redacted string/)
  })
})

const json = (res: import("node:http").ServerResponse, status: number, body: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body))

/** The server's own introspection answer for a token. */
const introspect = async (as: AuthorizationServer, token: string): Promise<Record<string, unknown>> => {
  const response = await fetch(as.introspectionEndpoint, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${CLIENTS.resourceServer.id}:${CLIENTS.resourceServer.secret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded"
    },
    body: new URLSearchParams({ token })
  })
  return await response.json() as Record<string, unknown>
}
