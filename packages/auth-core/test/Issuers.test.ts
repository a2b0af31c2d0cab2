import { describe, expect, it } from "@effect/vitest"
import type { AuthFailure } from "@mcpgate/auth-core"
import { Discovery, HttpAnswer, Issuers } from "@mcpgate/auth-core"
import type { AuthorizationServer } from "@mcpgate/testing/authorizationServer"
import { authorizationServer, CLIENTS, RESOURCE } from "@mcpgate/testing/authorizationServer"
import { Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"
import { bearer, rsaPair, signToken, UNAVAILABLE } from "@mcpgate/testing/tokens"
import * as Effect from "effect/Effect"

// Live clocks throughout: the authorization servers' tokens carry `Date.now()` times.

const { privateKey: strangerKey } = await rsaPair()

/** Two real servers: A issues JWTs (keys discovered), B opaque tokens (introspected, endpoint discovered). */
const trusting = (a: AuthorizationServer, b: AuthorizationServer, extra: Partial<Issuers.Options> = {}) =>
  Effect.runSync(Issuers.make({
    issuers: [
      { issuer: a.issuer, jwt: { audience: RESOURCE } },
      {
        issuer: b.issuer,
        introspection: { audience: RESOURCE, clientId: CLIENTS.resourceServer.id, clientSecret: CLIENTS.resourceServer.secret }
      }
    ],
    ...extra
  }))

const verdict = (provider: Issuers.Service, token: string) =>
  Effect.runPromise(Effect.either(provider.authenticate(bearer(token))))

const expectRefused = async (provider: Issuers.Service, token: string, reason: AuthFailure.ReasonCode, status = 401) => {
  const result = await verdict(provider, token)
  if (result._tag === "Right") throw new Error("the token was accepted")
  const failure = result.left as AuthFailure.SingleFailure
  expect(failure.reason).toBe(reason)
  expect(HttpAnswer.fromFailure(failure)).toStrictEqual(
    status === 503 ? UNAVAILABLE : { status: 401, headers: { ...JSON_HEADERS, "www-authenticate": Challenge.invalidToken }, body: Bodies.jwt }
  )
}

const allHits = (...servers: ReadonlyArray<AuthorizationServer>) =>
  servers.reduce((sum, as) =>
    sum + ["/token/introspection", "/jwks", "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
      .reduce((inner, path) => inner + as.hits(path), 0), 0)

describe("Issuers: one provider, several authorization servers", () => {
  it.scopedLive("checks each token against the issuer it names: A's JWTs by A's discovered keys, B's opaque tokens by B", () =>
    inScope(async (use) => {
      const a = await use(authorizationServer())
      const b = await use(authorizationServer())
      const provider = trusting(a, b, { opaqueTokens: b.issuer })
      const jwt = await a.token({ scope: "tools:read" })
      const accepted = await verdict(provider, jwt)
      if (accepted._tag === "Left") throw new Error(`refused: ${JSON.stringify(accepted.left)}`)
      expect(accepted.right).toMatchObject({ subject: CLIENTS.app.id, scopes: ["tools:read"] })
      expect(accepted.right.claims?.["iss"]).toBe(a.issuer)
      expect(a.hits("/.well-known/oauth-authorization-server")).toBe(1)
      expect(a.hits("/jwks")).toBe(1)

      const opaque = await b.token({ format: "opaque", scope: "files:read" })
      const viaB = await verdict(provider, opaque)
      expect(viaB._tag === "Right" && viaB.right.scopes).toStrictEqual(["files:read"])
      expect(b.hits("/token/introspection")).toBe(1)
      expect(a.hits("/token/introspection")).toBe(0)
      expect(await Effect.runPromise(provider.stillValid(accepted.right))).toBe(true)
    }))

  it.scopedLive("refuses a foreign issuer's token, and one that is not a JWT without opaqueTokens, without any network call", () =>
    inScope(async (use) => {
      const a = await use(authorizationServer())
      const b = await use(authorizationServer())
      const foreign = await use(authorizationServer())
      const provider = trusting(a, b)
      const foreignJwt = await foreign.token()
      const opaque = await b.token({ format: "opaque" })
      for (const as of [a, b, foreign]) as.resetHits()
      await expectRefused(provider, foreignJwt, "unknown_issuer")
      await expectRefused(provider, opaque, "malformed_token")
      await expectRefused(provider, "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", "malformed_token")
      expect(allHits(a, b, foreign)).toBe(0)
    }))

  it.scopedLive("refuses a token naming a trusted issuer that this issuer did not sign, or for another audience", () =>
    inScope(async (use) => {
      const a = await use(authorizationServer())
      const b = await use(authorizationServer({ resources: [{ resource: "https://other.example/mcp", scopes: ["tools:read"] }] }))
      const provider = trusting(a, b)
      const forged = await signToken({ alg: "RS256", key: strangerKey, header: { kid: "as-rs256" }, claims: { iss: a.issuer, aud: RESOURCE }, now: Math.floor(Date.now() / 1000) })
      await expectRefused(provider, forged, "bad_signature")
      // B's opaque token is for another resource: introspected by B, refused by the audience rule
      const otherAudience = await b.token({ format: "opaque" })
      const viaB = Effect.runSync(Issuers.make({
        issuers: [{ issuer: b.issuer, introspection: { audience: RESOURCE, clientId: CLIENTS.resourceServer.id, clientSecret: CLIENTS.resourceServer.secret } }],
        opaqueTokens: b.issuer
      }))
      await expectRefused(viaB, otherAudience, "audience_mismatch")
    }))

  it.scopedLive("answers 503 when the issuer's metadata cannot be had, and serves again once it can", () =>
    inScope(async (use) => {
      const a = await use(authorizationServer())
      const b = await use(authorizationServer())
      const provider = trusting(a, b, { discovery: { timeout: 1 } })
      const jwt = await a.token()
      await a.stop()
      await expectRefused(provider, jwt, "key_source_unavailable", 503)
      await a.restart()
      expect((await verdict(provider, jwt))._tag).toBe("Right")
    }))

  it("refuses configurations that cannot be served, naming the issuer at fault", () => {
    const error = (options: unknown) => Effect.runSync(Effect.flip(Issuers.make(options as Issuers.Options))).message
    expect(error({ issuers: [] })).toMatch(/issuers/)
    expect(error({ issuers: [{ issuer: "https://a.example" }] })).toMatch(/exactly one of `jwt` and `introspection`/)
    expect(error({ issuers: [{ issuer: "https://a.example", jwt: {} }, { issuer: "https://a.example", jwt: {} }] })).toMatch(/twice/)
    expect(error({ issuers: [{ issuer: "https://a.example", jwt: { realm: "x" } }] })).toMatch(/realm is set once/)
    expect(error({ issuers: [{ issuer: "https://a.example?x=1", jwt: {} }] })).toMatch(/query or fragment/)
    expect(error({ issuers: [{ issuer: "https://a.example", jwt: { algorithms: ["none"] } }] })).toMatch(/issuers\[0\] \(https:\/\/a.example\)/)
    expect(error({ issuers: [{ issuer: "https://a.example", jwt: {} }], opaqueTokens: "https://a.example" })).toMatch(/opaqueTokens/)
  })
})

describe("Discovery", () => {
  it("puts RFC 8414's well-known segment before the issuer's path, and OpenID's after it", () => {
    expect(Discovery.metadataUrls("https://as.example.com")).toStrictEqual({
      oauth: "https://as.example.com/.well-known/oauth-authorization-server",
      openid: "https://as.example.com/.well-known/openid-configuration"
    })
    expect(Discovery.metadataUrls("https://as.example.com/tenant/a/")).toStrictEqual({
      oauth: "https://as.example.com/.well-known/oauth-authorization-server/tenant/a",
      openid: "https://as.example.com/tenant/a/.well-known/openid-configuration"
    })
  })

  it.scopedLive("reads a real server's document and keeps it", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer({ path: "/realm" }))
      const discovery = Effect.runSync(Discovery.make({ issuer: as.issuer }))
      const metadata = await Effect.runPromise(discovery.metadata)
      expect(metadata).toMatchObject({ issuer: as.issuer, jwks_uri: as.jwksUri, introspection_endpoint: as.introspectionEndpoint })
      await Effect.runPromise(discovery.metadata)
      expect(as.hits("/.well-known/oauth-authorization-server/realm")).toBe(1)
      const elsewhere = Effect.runSync(Discovery.make({ issuer: `${as.origin}/another-realm`, timeout: 1 }))
      expect((await Effect.runPromise(Effect.flip(elsewhere.metadata)))._tag).toBe("DiscoveryUnavailable")
    }))
})
