/**
 * `TokenVerifier`: an mcpgate provider as the SDK's `OAuthTokenVerifier`, plugged into the
 * SDK's own bearer middleware: SDK v2's web-standard `requireBearerAuth` and SDK v1's
 * Express `requireBearerAuth` on a real express 5 app over a real socket. A bad token is
 * the middleware's 401 `invalid_token` (never a 500); only an unreachable key source is its
 * `server_error`.
 */
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, JWTAuthProvider, TokenVerifier } from "@mcpgate/mcp-sdk"
import type { McpAuthInfo } from "@mcpgate/mcp-sdk"
import { requireBearerAuth as requireBearerAuthV1 } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js"
import { requireBearerAuth } from "@modelcontextprotocol/server"
import express from "express"
import { generateKeyPair, SignJWT } from "jose"
import { createServer } from "node:http"
import type { Server } from "node:http"
import type { AddressInfo } from "node:net"
import { apiKeys, jwts, KEY_ALICE, KEY_BOB, tokenFor } from "./fixtures/credentials.js"
import { httpServer, inScope } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"

const RESOURCE = "https://mcp.example.com/mcp"

/** A web-standard request carrying `Authorization: Bearer <token>`. */
const bearerRequest = (token: string) =>
  new Request("http://127.0.0.1/mcp", { headers: { authorization: `Bearer ${token}` } })

/** Runs SDK v2's gate; fails the test unless it answered a Response. */
const refusalOf = async (gate: (request: Request) => Promise<unknown>, token: string): Promise<Response> => {
  const outcome = await gate(bearerRequest(token))
  if (!(outcome instanceof Response)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`)
  return outcome
}

/** Runs SDK v2's gate; fails the test unless it answered an AuthInfo. */
const authInfoOf = async (gate: (request: Request) => Promise<unknown>, token: string): Promise<McpAuthInfo.McpAuthInfo> => {
  const outcome = await gate(bearerRequest(token))
  if (outcome instanceof Response) throw new Error(`expected an AuthInfo, got ${outcome.status} ${await outcome.text()}`)
  return outcome as McpAuthInfo.McpAuthInfo
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** A well-formed HS256 token signed with another secret. */
const forgedToken = () =>
  new SignJWT({ scope: "tools:read" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setExpirationTime(nowSeconds() + 3600)
    .sign(new TextEncoder().encode("another-secret-of-at-least-32-bytes-long!!"))

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

let closedPort = 0
let rsaToken = ""

beforeAll(async () => {
  const down = createServer()
  closedPort = await listen(down)
  await new Promise((resolve) => down.close(resolve))
  const { privateKey } = await generateKeyPair("RS256")
  rsaToken = await new SignJWT({ scope: "tools:read" })
    .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
    .setSubject("alice")
    .setIssuedAt()
    .setExpirationTime(nowSeconds() + 3600)
    .sign(privateKey)
})

/** A JWT provider whose remote key set is down. */
const unreachableJwks = () =>
  new JWTAuthProvider({ jwksUrl: `http://127.0.0.1:${closedPort}/jwks.json`, algorithms: ["RS256"], jwksTimeout: 2 })

describe("TokenVerifier with SDK v2's requireBearerAuth (web-standard)", () => {
  it("a valid token: the AuthInfo of its principal, token empty, provider jwt", async () => {
    const token = await tokenFor("alice", { claims: { client_id: "alice-app" } })
    const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp as number
    const gate = requireBearerAuth({ verifier: TokenVerifier.unsafeMake(jwts()) })
    const authInfo = await authInfoOf(gate, token)
    expect(authInfo).toMatchObject({
      token: "",
      clientId: "alice-app",
      scopes: ["tools:read"],
      expiresAt: exp,
      extra: { provider: "jwt", subject: "alice" }
    })
    expect(authInfo.resource).toBeUndefined()
    expect(JSON.stringify(authInfo)).not.toContain(token)
  })

  it("exposeToken: true puts the raw token in AuthInfo.token", async () => {
    const token = await tokenFor("alice")
    const gate = requireBearerAuth({ verifier: TokenVerifier.unsafeMake(jwts(), { exposeToken: true }) })
    expect((await authInfoOf(gate, token)).token).toBe(token)
  })

  it("expired, forged or malformed tokens: the SDK's 401 invalid_token, never a 500, never the reason", async () => {
    const gate = requireBearerAuth({ verifier: TokenVerifier.unsafeMake(jwts()) })
    for (
      const token of [
        await tokenFor("alice", { expiresIn: -3600 }),
        await forgedToken(),
        "not-a-jwt",
        "a.b.c",
        "x".repeat(10_000),
        KEY_ALICE
      ]
    ) {
      const response = await refusalOf(gate, token)
      expect(response.status, token.slice(0, 40)).toBe(401)
      expect(response.headers.get("www-authenticate")).toContain("error=\"invalid_token\"")
      expect(await response.json()).toEqual({ error: "invalid_token", error_description: "Invalid token" })
    }
  })

  it("a verifier that rejects directly rejects with the SDK's OAuthError invalid_token", async () => {
    const { OAuthError } = await import("@modelcontextprotocol/server")
    const error = await TokenVerifier.unsafeMake(jwts()).verifyAccessToken("not-a-jwt").then(
      () => {
        throw new Error("expected a rejection")
      },
      (error: unknown) => error
    )
    expect(error).toBeInstanceOf(OAuthError)
    expect((error as { code?: unknown }).code).toBe("invalid_token")
  })

  it("resource: reported as AuthInfo.resource; expectedResource accepts it and refuses another", async () => {
    const token = await tokenFor("alice")
    const verifier = TokenVerifier.unsafeMake(jwts(), { resource: RESOURCE })
    const authInfo = await verifier.verifyAccessToken(token)
    expect(authInfo.resource).toBeInstanceOf(URL)
    expect(authInfo.resource?.href).toBe(RESOURCE)

    const matching = requireBearerAuth({ verifier, expectedResource: new URL(RESOURCE) })
    expect((await authInfoOf(matching, token)).resource?.href).toBe(RESOURCE)

    const other = requireBearerAuth({ verifier, expectedResource: new URL("https://other.example.com/mcp") })
    const refused = await refusalOf(other, token)
    expect(refused.status).toBe(401)
    expect(refused.headers.get("www-authenticate")).toContain("error=\"invalid_token\"")

    // Without `resource`, a server that expects one refuses every token.
    const unset = requireBearerAuth({ verifier: TokenVerifier.unsafeMake(jwts()), expectedResource: new URL(RESOURCE) })
    expect((await refusalOf(unset, token)).status).toBe(401)
  })

  it("an unreachable JWKS: the SDK's 500 server_error, not invalid_token", async () => {
    const gate = requireBearerAuth({ verifier: TokenVerifier.unsafeMake(unreachableJwks()) })
    const response = await refusalOf(gate, rsaToken)
    expect(response.status).toBe(500)
    expect(response.headers.get("www-authenticate")).toBeNull()
    expect(await response.json()).toEqual({ error: "server_error", error_description: "Authentication unavailable" })
  })

  describe("an API-key provider (the bearer token is the key)", () => {
    it("verifies a key into its principal's AuthInfo, and refuses an unknown key as invalid_token", async () => {
      const verifier = TokenVerifier.unsafeMake(apiKeys())
      expect(await verifier.verifyAccessToken(KEY_ALICE)).toStrictEqual({
        token: "",
        clientId: "alice",
        scopes: ["tools:read"],
        extra: { provider: "api-key", subject: "alice", identity: expect.any(String), keyLabel: "alice" }
      })
      expect((await verifier.verifyAccessToken(KEY_BOB)).clientId).toBe("bob")
      const response = await refusalOf(requireBearerAuth({ verifier }), "mcp_sdk_nobody_0000000000")
      expect(response.status).toBe(401)
      expect(response.headers.get("www-authenticate")).toContain("error=\"invalid_token\"")
    })

    it("reads the key from a custom header name as configured", async () => {
      const verifier = TokenVerifier.unsafeMake(new APIKeyAuthProvider({ keys: [{ key: KEY_ALICE, label: "alice" }], headerName: "X-Team-Key" }))
      expect((await verifier.verifyAccessToken(KEY_ALICE)).clientId).toBe("alice")
    })

    it("passes the SDK gate when the key entry carries an expiresAt (the SDK refuses AuthInfo without one)", async () => {
      const expiresAt = nowSeconds() + 3600
      const verifier = TokenVerifier.unsafeMake(new APIKeyAuthProvider({ keys: [{ key: KEY_ALICE, label: "alice", expiresAt }] }))
      const authInfo = await authInfoOf(requireBearerAuth({ verifier }), KEY_ALICE)
      expect(authInfo).toMatchObject({ clientId: "alice", expiresAt, extra: { provider: "api-key", keyLabel: "alice" } })
    })
  })
})

describe("TokenVerifier with SDK v1's Express requireBearerAuth, sdk: \"v1\"", () => {
  /** An express 5 app with the SDK's middleware in front of a route that answers req.auth, served until the test's scope closes. */
  const app = (verifier: TokenVerifier.OAuthTokenVerifier, options: { readonly expectedResource?: URL } = {}) => {
    const application = express()
    application.get(
      "/mcp",
      requireBearerAuthV1({ verifier, ...options }),
      (req, res) => {
        res.json({ auth: req.auth ?? null })
      }
    )
    return Effect.map(
      httpServer(application),
      ({ url }) => (token: string) => fetch(new URL("/mcp", url), { headers: { authorization: `Bearer ${token}` } })
    )
  }

  it.scopedLive("a valid token: next() runs with req.auth set to the principal's AuthInfo", () => inScope(async (use) => {
    const token = await tokenFor("alice")
    const call = await use(app(TokenVerifier.unsafeMake(jwts(), { sdk: "v1", resource: RESOURCE }), { expectedResource: new URL(RESOURCE) }))
    const response = await call(token)
    expect(response.status).toBe(200)
    const { auth } = await response.json() as { auth: Record<string, unknown> }
    expect(auth).toMatchObject({
      token: "",
      clientId: "alice",
      scopes: ["tools:read"],
      resource: RESOURCE,
      extra: { provider: "jwt", subject: "alice" }
    })
    expect(typeof auth["expiresAt"]).toBe("number")
  }))

  it.scopedLive("a bad or expired token: 401 with invalid_token, not 500", () => inScope(async (use) => {
    const call = await use(app(TokenVerifier.unsafeMake(jwts(), { sdk: "v1" })))
    for (const token of [await tokenFor("alice", { expiresIn: -3600 }), await forgedToken(), "garbage"]) {
      const response = await call(token)
      expect(response.status).toBe(401)
      expect(response.headers.get("www-authenticate")).toContain("error=\"invalid_token\"")
      expect(await response.json()).toEqual({ error: "invalid_token", error_description: "Invalid token" })
    }
  }))

  it.scopedLive("a token for another resource: 401 invalid_token", () => inScope(async (use) => {
    const call = await use(app(TokenVerifier.unsafeMake(jwts(), { sdk: "v1", resource: RESOURCE }), {
      expectedResource: new URL("https://other.example.com/mcp")
    }))
    const response = await call(await tokenFor("alice"))
    expect(response.status).toBe(401)
    expect(response.headers.get("www-authenticate")).toContain("error=\"invalid_token\"")
  }))

  it.scopedLive("an unreachable JWKS: 500 server_error", () => inScope(async (use) => {
    const call = await use(app(TokenVerifier.unsafeMake(unreachableJwks(), { sdk: "v1" })))
    const response = await call(rsaToken)
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({ error: "server_error", error_description: "Authentication unavailable" })
  }))
})
