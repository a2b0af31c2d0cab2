/**
 * mcp-framework's `OAuthAuthProvider`, configured with its own option names, against a real
 * authorization server (oidc-provider): JWTs on the configured JWKS or on keys found through
 * discovery, opaque tokens by introspection. Where mcp-framework is weaker than the MCP
 * specification the provider follows the specification: `aud` is checked on introspection,
 * the challenge names `resource_metadata` (never `resource=`), an unreachable server is a 503.
 * Live clocks throughout: the tokens carry `Date.now()` times.
 */
import { describe, expect, it } from "@effect/vitest"
import type { OAuthConfig } from "@mcpgate/auth-core"
import { ApiKey, AuthProvider, ConfigurationError, HttpAnswer, OAuthAuthProvider } from "@mcpgate/auth-core"
import type { AuthorizationServer } from "@mcpgate/testing/authorizationServer"
import { authorizationServer, CLIENTS, RESOURCE, SCOPES } from "@mcpgate/testing/authorizationServer"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"
import { bearer, UNAVAILABLE } from "@mcpgate/testing/tokens"

const OTHER_RESOURCE = "http://127.0.0.1/other"
const TWO_RESOURCES = [{ resource: RESOURCE, scopes: SCOPES }, { resource: OTHER_RESOURCE, scopes: ["tools:read"] }]

// Written out by hand: RFC 9728 3.1 puts the well-known segment between host and path.
const METADATA = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp"
const CHALLENGE_NONE = `Bearer realm="mcp", resource_metadata="${METADATA}"`
const CHALLENGE_INVALID = `Bearer realm="mcp", error="invalid_token", resource_metadata="${METADATA}"`
const UNAUTHORIZED_401 = { status: 401, headers: { ...JSON_HEADERS, "www-authenticate": CHALLENGE_INVALID }, body: Bodies.unauthorized }

/** mcp-framework's README configurations, as its users write them. */
const jwtConfig = (as: AuthorizationServer, withJwksUri = true): OAuthConfig => ({
  authorizationServers: [as.issuer],
  resource: RESOURCE,
  validation: {
    type: "jwt",
    ...(withJwksUri ? { jwksUri: as.jwksUri } : {}),
    audience: RESOURCE,
    issuer: as.issuer,
    algorithms: ["RS256", "ES256"]
  }
})

const introspectionConfig = (as: AuthorizationServer, cacheTTL?: number): OAuthConfig => ({
  authorizationServers: [as.issuer],
  resource: RESOURCE,
  validation: {
    type: "introspection",
    audience: RESOURCE,
    issuer: as.issuer,
    introspection: {
      endpoint: as.introspectionEndpoint,
      clientId: CLIENTS.resourceServer.id,
      clientSecret: CLIENTS.resourceServer.secret,
      ...(cacheTTL === undefined ? {} : { cacheTTL })
    }
  }
})

/** The refusal of a check, without its log code. */
const refusalOf = async (provider: OAuthAuthProvider, headers: Record<string, string>) => {
  const result = await provider.check(headers)
  if (result.ok) throw new Error("accepted")
  const { ok: _ok, reason, ...answer } = result
  return { reason, answer }
}

describe("OAuthAuthProvider with JWT validation", () => {
  it.scopedLive("accepts a JWT for the resource from the configured JWKS, and answers mcp-framework's { data: claims }", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = new OAuthAuthProvider(jwtConfig(as))
      const token = await as.token({ scope: "tools:read" })
      const result = await provider.check(bearer(token))
      if (!result.ok) throw new Error(`refused: ${result.reason}`)
      expect(result.principal).toMatchObject({ provider: "jwt", clientId: CLIENTS.app.id, scopes: ["tools:read"] })
      expect(result.principal.claims).toMatchObject({ iss: as.issuer, aud: RESOURCE })
      // The claims, without the token mcp-framework also copied into them.
      expect(await provider.authenticate(bearer(token))).toStrictEqual({ data: { ...result.principal.claims } })
      await provider.dispose()
    }))

  it.scopedLive("finds the keys through discovery when jwksUri is left out, and only once", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = new OAuthAuthProvider(jwtConfig(as, false))
      const token = await as.token()
      const results = await Promise.all([1, 2, 3].map(() => provider.check(bearer(token))))
      expect(results.map((result) => result.ok)).toStrictEqual([true, true, true])
      expect(as.hits("/.well-known/oauth-authorization-server")).toBe(1)
      await provider.dispose()
    }))

  it.scopedLive("refuses a token for another resource, and a token of another issuer, with Unauthorized and resource_metadata", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer({ resources: TWO_RESOURCES }))
      const foreign = await use(authorizationServer())
      for (const withJwksUri of [true, false]) {
        const provider = new OAuthAuthProvider(jwtConfig(as, withJwksUri))
        const elsewhere = await refusalOf(provider, bearer(await as.token({ resource: OTHER_RESOURCE })))
        expect(elsewhere).toStrictEqual({ reason: "audience_mismatch", answer: UNAUTHORIZED_401 })
        const stranger = await refusalOf(provider, bearer(await foreign.token()))
        expect(stranger.answer).toStrictEqual(UNAUTHORIZED_401)
        expect(["issuer_mismatch", "unknown_issuer", "no_matching_key", "unknown_kid", "bad_signature"]).toContain(stranger.reason)
        expect(await provider.authenticate(bearer(await foreign.token()))).toBe(false)
        await provider.dispose()
      }
    }))

  it.scopedLive("answers no credentials with the bare challenge, and an unreachable key source with the 503", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = new OAuthAuthProvider(jwtConfig(as))
      expect(await refusalOf(provider, {})).toStrictEqual({
        reason: "missing",
        answer: { status: 401, headers: { ...JSON_HEADERS, "www-authenticate": CHALLENGE_NONE }, body: Bodies.unauthorized }
      })
      const token = await as.token()
      await as.stop()
      const down = await refusalOf(provider, bearer(token))
      expect(down).toStrictEqual({ reason: "key_source_unavailable", answer: UNAVAILABLE })
      await provider.dispose()
    }))
})

describe("OAuthAuthProvider with introspection", () => {
  it.scopedLive("accepts an active opaque token and refuses it as soon as it is revoked, with Unauthorized", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      // mcp-framework's cacheTTL, in milliseconds: 0 keeps no answer.
      const provider = new OAuthAuthProvider(introspectionConfig(as, 0))
      const token = await as.token({ format: "opaque", scope: "files:read" })
      const accepted = await provider.check(bearer(token))
      expect(accepted.ok && accepted.principal.scopes).toStrictEqual(["files:read"])
      await as.revoke(token)
      expect(await refusalOf(provider, bearer(token))).toStrictEqual({ reason: "token_inactive", answer: UNAUTHORIZED_401 })
      await provider.dispose()
    }))

  it.scopedLive("checks aud on the introspection answer, which mcp-framework does not", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer({ resources: TWO_RESOURCES }))
      const provider = new OAuthAuthProvider(introspectionConfig(as))
      const token = await as.token({ format: "opaque", resource: OTHER_RESOURCE })
      expect(await refusalOf(provider, bearer(token))).toStrictEqual({ reason: "audience_mismatch", answer: UNAUTHORIZED_401 })
      await provider.dispose()
    }))

  it.scopedLive("discovers the introspection endpoint from the one authorization server, and answers 503 while it is down", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const provider = new OAuthAuthProvider({
        authorizationServers: [as.issuer],
        resource: RESOURCE,
        validation: {
          type: "introspection",
          introspection: { clientId: CLIENTS.resourceServer.id, clientSecret: CLIENTS.resourceServer.secret }
        }
      })
      const token = await as.token({ format: "opaque" })
      expect((await provider.check(bearer(token))).ok).toBe(true)
      const fresh = await as.token({ format: "opaque" })
      await as.stop()
      expect(await refusalOf(provider, bearer(fresh))).toStrictEqual({ reason: "key_source_unavailable", answer: UNAVAILABLE })
      await provider.dispose()
    }))
})

describe("OAuthAuthProvider's mcp-framework methods", () => {
  const provider = new OAuthAuthProvider({
    authorizationServers: ["https://auth.example.com", "https://login.example.org"],
    resource: "https://mcp.example.com/mcp",
    validation: { type: "jwt", jwksUri: "https://auth.example.com/jwks" }
  })
  const metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

  it("names the resource and its authorization servers, as copies", () => {
    expect(provider.getResource()).toBe("https://mcp.example.com/mcp")
    const servers = provider.getAuthorizationServers()
    servers.push("https://evil.example")
    expect(provider.getAuthorizationServers()).toStrictEqual(["https://auth.example.com", "https://login.example.org"])
    expect(provider.protectedResource).toStrictEqual({
      resource: "https://mcp.example.com/mcp",
      authorizationServers: ["https://auth.example.com", "https://login.example.org"]
    })
  })

  it("getAuthError() is mcp-framework's Unauthorized", () => {
    expect(provider.getAuthError()).toStrictEqual({ status: 401, message: "Unauthorized" })
  })

  it("getWWWAuthenticateHeader names resource_metadata, never resource=, and never sends the description", () => {
    expect(provider.getWWWAuthenticateHeader()).toBe(`Bearer realm="mcp", resource_metadata="${metadata}"`)
    expect(provider.getWWWAuthenticateHeader("invalid_token", "Missing or invalid authentication token"))
      .toBe(`Bearer realm="mcp", error="invalid_token", resource_metadata="${metadata}"`)
  })

  it("refuses a request with a token in its query string (access_token, token), as mcp-framework does, with invalid_request", async () => {
    for (const url of ["/mcp?access_token=abc", "/mcp?x=1&token=abc", "/sse?token="]) {
      const request = { url, headers: { authorization: "Bearer abc.def.ghi", host: "mcp.example.com" } }
      expect(await refusalOf(provider, request as never)).toStrictEqual({
        reason: "credential_in_query",
        answer: {
          status: 401,
          headers: { ...JSON_HEADERS, "www-authenticate": `Bearer realm="mcp", error="invalid_request", resource_metadata="${metadata}"` },
          body: Bodies.unauthorized
        }
      })
      expect(await provider.authenticate(request as never)).toBe(false)
    }
    // A query without those names is no reason to refuse: the token itself is then checked.
    const other = await refusalOf(provider, { url: "/mcp?session=1", headers: { authorization: "Bearer abc.def.ghi" } } as never)
    expect(other.reason).not.toBe("credential_in_query")
  })
})

describe("OAuthAuthProvider beside an API-key provider (firstOf)", () => {
  it.effect("answers its own body when an Authorization header came, the API-key body when none did", () =>
    Effect.gen(function*() {
      const oauth = new OAuthAuthProvider({
        authorizationServers: ["https://auth.example.com"],
        resource: RESOURCE,
        validation: { type: "jwt", jwksUri: "https://auth.example.com/jwks" }
      })
      const apiKey = yield* ApiKey.make({ keys: ["an-api-key-of-enough-length-0123"] })
      const both = AuthProvider.firstOf(apiKey, oauth.service)
      const answerTo = (headers: Record<string, string>) => Effect.map(Effect.flip(both.authenticate(headers)), (failure) => HttpAnswer.fromFailure(failure))
      const bearerAnswer = yield* answerTo({ authorization: "Bearer not-a-jwt" })
      expect(bearerAnswer.body).toBe(Bodies.unauthorized)
      expect(bearerAnswer.headers["www-authenticate"]).toBe(`ApiKey realm="mcp", header="X-API-Key", ${CHALLENGE_INVALID}`)
      expect((yield* answerTo({})).body).toBe(Bodies.apiKey)
      yield* Effect.promise(() => oauth.dispose())
    }))
})

describe("OAuthAuthProvider's configuration", () => {
  const base = { authorizationServers: ["https://auth.example.com"], resource: "https://mcp.example.com/mcp" }
  const refused = (config: unknown): string => {
    try {
      new OAuthAuthProvider(config as OAuthConfig)
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
      return (error as Error).message
    }
    throw new Error("accepted")
  }

  it("refuses mcp-framework's audience wildcard, which the MCP specification forbids", () => {
    expect(refused({ ...base, validation: { type: "jwt", jwksUri: "https://auth.example.com/jwks", audience: "*" } }))
      .toMatch(/validation\.audience is "\*".*RFC 8707/)
  })

  it("refuses an audience that is not the resource", () => {
    expect(refused({ ...base, validation: { type: "jwt", jwksUri: "https://auth.example.com/jwks", audience: "https://mcp.example.com" } }))
      .toMatch(/validation\.audience \(https:\/\/mcp\.example\.com\) is not the resource \(https:\/\/mcp\.example\.com\/mcp\)/)
  })

  it("names missing and misspelled options, from unset environment variables too, and never the secret", () => {
    expect(refused({ authorizationServers: [undefined], resource: undefined, validation: { type: "jwt" } }))
      .toMatch(/authorizationServers\.0[\s\S]*resource/)
    expect(refused({ ...base, validation: { type: "jwt", jwksURI: "https://auth.example.com/jwks" } })).toMatch(/jwksURI/)
    const message = refused({
      ...base,
      validation: { type: "introspection", introspection: { clientId: "rs", clientSecret: "s3cr3t-value-that-must-not-leak", endpoint: "nope" } }
    })
    expect(message).toMatch(/endpoint/)
    expect(message).not.toContain("s3cr3t")
  })

  it("needs one issuer to discover an introspection endpoint from", () => {
    expect(refused({
      authorizationServers: ["https://a.example.com", "https://b.example.com"],
      resource: "https://mcp.example.com/mcp",
      validation: { type: "introspection", introspection: { clientId: "rs", clientSecret: "secret" } }
    })).toMatch(/Invalid OAuth options:.*endpoint/)
  })
})
