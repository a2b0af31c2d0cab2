/**
 * The SSE server as an OAuth protected resource (RFC 9728, contract sections 2 and 6): the
 * metadata document is a public route answered before the failed-attempt limit and before
 * authentication, every Bearer challenge names it, and JWTs must be addressed to the resource.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError, JWTAuthProvider } from "@mcpgate/auth-core"
import { ProtectedResource } from "@mcpgate/http"
import { NodeHttp, SseServer } from "@mcpgate/node"
import { apiKeyProvider, KEY_ALICE, SECRET, tokenFor } from "@mcpgate/testing/credentials"
import { Answer } from "@mcpgate/testing/contract"
import { eventually, serve } from "./harness.js"
import { expectAnswer, headersOf } from "@mcpgate/testing/wire"
import { inScope } from "@mcpgate/testing/scoped"


const RESOURCE = "https://mcp.example.com/sse"
const OTHER = "https://other.example.com/sse"
const METADATA_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/sse"
const PATHS = ["/.well-known/oauth-protected-resource/sse", "/.well-known/oauth-protected-resource"] as const
const protectedResource = {
  resource: RESOURCE,
  authorizationServers: ["https://auth.example.com"],
  scopesSupported: ["tools:read"]
}
// Written out, independently of the library.
const DOCUMENT = `{"resource":"https://mcp.example.com/sse","authorization_servers":["https://auth.example.com"],` +
  `"scopes_supported":["tools:read"],"bearer_methods_supported":["header"]}`
const METADATA_HEADERS = {
  "content-type": "application/json",
  "cache-control": "public, max-age=3600",
  "content-length": String(DOCUMENT.length)
}
// `scope` names the announced scopes (docs/behaviour.md#challenges: no requiredScopes here).
const BEARER = `Bearer realm="mcp", scope="tools:read", resource_metadata="${METADATA_URL}"`
const INVALID_TOKEN = `Bearer realm="mcp", error="invalid_token", scope="tools:read", resource_metadata="${METADATA_URL}"`

/** A JWT provider that accepts tokens for `audience` (jose checks `aud` against it). */
const jwtFor = (audience: string | ReadonlyArray<string>) =>
  new JWTAuthProvider({ secret: SECRET, audience: typeof audience === "string" ? audience : [...audience] })
const bearer = (token: string) => ["Authorization", `Bearer ${token}`] as const

describe("the metadata document is public", () => {
  it.scopedLive("both metadata paths answer GET with the exact document, without credentials", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtFor(RESOURCE), endpoints: { sse: true } }, protectedResource }))
    for (const path of PATHS) {
      expectAnswer(await server.ask("GET", path, []), { statusLine: "HTTP/1.1 200 OK", headers: METADATA_HEADERS, body: DOCUMENT })
    }
  }))

  it.scopedLive("HEAD has the GET answer's status and headers, and no body", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtFor(RESOURCE) }, protectedResource }))
    const response = await fetch(new URL(PATHS[0], server.url), { method: "HEAD" })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(response.headers.get("content-length")).toBe(String(DOCUMENT.length))
    expect(await response.text()).toBe("")
  }))

  it.scopedLive("other methods get 405 with Allow; OPTIONS is a preflight for GET and HEAD", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtFor(RESOURCE) }, protectedResource, allowedOrigins: ["https://app.example.com"] }))
    for (const method of ["POST", "PUT", "DELETE"]) {
      expectAnswer(await server.ask(method, PATHS[1], []), Answer.methodNotAllowed("GET, HEAD, OPTIONS", { vary: "Origin" }))
    }
    const preflight = await server.ask("OPTIONS", PATHS[0], [["Origin", "https://app.example.com"]])
    expect(preflight.status).toBe(204)
    expect(headersOf(preflight)["access-control-allow-methods"]).toBe("GET, HEAD, OPTIONS")
  }))

  it.scopedLive("carries the same CORS headers as every other answer", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtFor(RESOURCE) }, protectedResource, allowedOrigins: ["https://app.example.com"] }))
    const origin = ["Origin", "https://app.example.com"] as const
    const health = headersOf(await server.ask("GET", "/health", [origin]))
    const metadata = headersOf(await server.ask("GET", PATHS[0], [origin]))
    expect(metadata["access-control-allow-origin"]).toBe("https://app.example.com")
    for (const name of ["access-control-allow-origin", "access-control-expose-headers", "vary"]) {
      expect(metadata[name]).toBe(health[name])
    }
  }))

  it.scopedLive("is answered before the failed-attempt limit, which it neither spends nor is stopped by", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtFor(RESOURCE), endpoints: { sse: true } }, protectedResource, rateLimit: { maxFailures: 1 } }))
    for (let i = 0; i < 5; i++) expect((await server.ask("GET", PATHS[0], [])).status).toBe(200)
    // The budget is whole: the first failure is a 401, the next request is limited.
    const forged = ["Authorization", "Bearer not.a.token"] as const
    expect((await server.ask("GET", "/sse", [forged])).status).toBe(401)
    expect((await server.ask("GET", "/sse", [forged])).status).toBe(429)
    expectAnswer(await server.ask("GET", PATHS[1], []), { statusLine: "HTTP/1.1 200 OK", headers: METADATA_HEADERS, body: DOCUMENT })
  }))

  it.scopedLive("without protectedResource, the metadata paths are unknown: 404", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    for (const path of PATHS) expectAnswer(await server.ask("GET", path, []), Answer.notFound())
  }))
})

describe("challenges and audiences", () => {
  it.scopedLive("a 401 names the metadata in its Bearer challenge, with or without an error code", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtFor(RESOURCE), endpoints: { sse: true } }, protectedResource }))
    expectAnswer(await server.ask("GET", "/sse", []), Answer.jwt(BEARER))
    expectAnswer(await server.ask("GET", "/sse", [bearer("not.a.jwt")]), Answer.jwt(INVALID_TOKEN))
  }))

  it.scopedLive("a JWT addressed to the resource is let in, and tools see the resource as authInfo.resource", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtFor(RESOURCE), endpoints: { sse: true } }, protectedResource }))
    const token = await tokenFor("alice", { claims: { aud: RESOURCE } })
    const session = await server.open([bearer(token)])
    expect((await server.post(session.id, [bearer(token)])).status).toBe(202)
    await eventually(() => server.delivered.length === 1)
    expect(server.delivered[0]!.extra?.authInfo?.resource?.href).toBe(RESOURCE)
  }))

  it.scopedLive("a JWT for another audience is refused with the 401, even when its provider accepts that audience", () => inScope(async (use) => {
    const token = await tokenFor("alice", { claims: { aud: OTHER } })
    for (const provider of [jwtFor(RESOURCE), jwtFor([RESOURCE, OTHER])]) {
      const server = await use(serve({ auth: { provider, endpoints: { sse: true } }, protectedResource }))
      expectAnswer(await server.ask("GET", "/sse", [bearer(token)]), Answer.jwt(INVALID_TOKEN))
    }
  }))

  it.scopedLive("the 403 for a tool's scopes names the metadata too", () => inScope(async (use) => {
    const server = await use(serve({
      auth: { provider: jwtFor(RESOURCE), endpoints: { sse: true } },
      protectedResource,
      toolScopes: { deploy: ["deploy:write"] }
    }))
    const token = await tokenFor("alice", { claims: { aud: RESOURCE } })
    const session = await server.open([bearer(token)])
    const call = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "deploy", arguments: {} } })
    const refused = await server.post(session.id, [bearer(token)], call)
    expect(refused.status).toBe(403)
    expect(refused.header("www-authenticate")).toBe(
      `Bearer realm="mcp", error="insufficient_scope", scope="deploy:write", resource_metadata="${METADATA_URL}"`
    )
  }))

  it.scopedLive("API keys are let in as before: they have no audience", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } }, protectedResource }))
    expect((await server.open([["X-API-Key", KEY_ALICE]])).id).toMatch(/^[0-9a-f-]{36}$/)
  }))
})

describe("protectedResource options", () => {
  const base = { auth: { provider: jwtFor(RESOURCE) }, onSession: () => {} }
  const refusal = (options: Omit<SseServer.SseServerOptions, "auth" | "onSession">): string => {
    try {
      SseServer.unsafeMake({ ...base, ...options })
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
      return (error as Error).message
    }
    throw new Error("expected a ConfigurationError")
  }

  it("bad metadata options are refused at construction, named under protectedResource", () => {
    expect(refusal({ protectedResource: { ...protectedResource, resource: `${RESOURCE}#x` } })).toContain("protectedResource.resource:")
    expect(refusal({ protectedResource: { ...protectedResource, authorizationServers: [] } }))
      .toContain("protectedResource.authorizationServers:")
    expect(refusal({ protectedResource: { ...protectedResource, scopesSupported: ["a b"] } })).toContain("protectedResource.scopesSupported.0:")
  })

  it("resource may repeat protectedResource.resource, not contradict it", () => {
    expect(() => SseServer.unsafeMake({ ...base, resource: RESOURCE, protectedResource })).not.toThrow()
    expect(refusal({ resource: OTHER, protectedResource })).toContain("differ")
  })

  it("no endpoint may sit on a metadata path", () => {
    expect(refusal({ protectedResource, healthEndpoint: PATHS[1] })).toContain("protected-resource metadata")
  })

  it("a gate given whole must have been made with the same protectedResource", () => {
    const provider = jwtFor(RESOURCE)
    expect(refusal({ protectedResource, gate: NodeHttp.gate(provider.service) })).toContain("gate was made without this protectedResource")
    const gate = NodeHttp.gate(provider.service, { protectedResource: ProtectedResource.unsafeMake(protectedResource) })
    expect(() => SseServer.unsafeMake({ ...base, protectedResource, gate })).not.toThrow()
  })
})
