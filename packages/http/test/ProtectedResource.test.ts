import { describe, expect, it } from "@effect/vitest"
import type { Gate as GateTypes } from "@mcpgate/http"
import { APIKeyAuthProvider, ConfigurationError, JWTAuthProvider } from "@mcpgate/auth-core"
import { Gate, ProtectedResource } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { SignJWT } from "jose"

const RESOURCE = "https://mcp.example.com/mcp"
const AUTH_SERVER = "https://auth.example.com"
const WELL_KNOWN = "/.well-known/oauth-protected-resource"

const minimal = { resource: RESOURCE, authorizationServers: [AUTH_SERVER] }

describe("ProtectedResource: the metadata URL (RFC 9728 section 3.1)", () => {
  it("puts the well-known segment between the host and the path", () => {
    const made = ProtectedResource.unsafeMake(minimal)
    expect(made.metadataUrl).toBe("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
    expect(made.metadataPaths).toEqual([`${WELL_KNOWN}/mcp`, WELL_KNOWN])
  })

  it("is the plain well-known URL for a resource without a path, with or without the slash", () => {
    for (const resource of ["https://mcp.example.com", "https://mcp.example.com/"]) {
      const made = ProtectedResource.unsafeMake({ ...minimal, resource })
      expect(made.metadataUrl).toBe("https://mcp.example.com/.well-known/oauth-protected-resource")
      expect(made.metadataPaths).toEqual([WELL_KNOWN])
    }
  })

  it("keeps the port and every segment of a deeper path", () => {
    expect(ProtectedResource.metadataUrlOf("http://127.0.0.1:8080/tenants/a/mcp")).toBe(
      "http://127.0.0.1:8080/.well-known/oauth-protected-resource/tenants/a/mcp"
    )
  })

  it("keeps a trailing slash of the path, and also answers without it (the MCP SDK client drops it)", () => {
    const made = ProtectedResource.unsafeMake({ ...minimal, resource: "https://mcp.example.com/mcp/" })
    expect(made.metadataUrl).toBe("https://mcp.example.com/.well-known/oauth-protected-resource/mcp/")
    expect(made.metadataPaths).toEqual([`${WELL_KNOWN}/mcp/`, `${WELL_KNOWN}/mcp`, WELL_KNOWN])
  })

  it("keeps the query of the resource after the path", () => {
    expect(ProtectedResource.metadataUrlOf("https://mcp.example.com/mcp?tenant=a")).toBe(
      "https://mcp.example.com/.well-known/oauth-protected-resource/mcp?tenant=a"
    )
    // "any terminating slash following the host component MUST be removed"
    expect(ProtectedResource.metadataUrlOf("https://mcp.example.com/?tenant=a")).toBe(
      "https://mcp.example.com/.well-known/oauth-protected-resource?tenant=a"
    )
    // Requests are routed by path: the query is not part of it.
    expect(ProtectedResource.metadataPathsOf("https://mcp.example.com/mcp?tenant=a")).toEqual([`${WELL_KNOWN}/mcp`, WELL_KNOWN])
  })

  it("keeps the resource itself exactly as configured, since JWTs must name it in aud byte for byte", () => {
    const made = ProtectedResource.unsafeMake({ ...minimal, resource: "https://mcp.example.com" })
    expect(made.resource).toBe("https://mcp.example.com")
    expect(made.document.resource).toBe("https://mcp.example.com")
  })
})

describe("ProtectedResource: the document (RFC 9728 section 2)", () => {
  it("has the required members and says tokens go in the header only", () => {
    expect(ProtectedResource.unsafeMake(minimal).answer).toEqual({
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "public, max-age=3600" },
      body: `{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],` +
        `"bearer_methods_supported":["header"]}`
    })
  })

  it("lists every optional member given, snake_case, in a fixed order", () => {
    const made = ProtectedResource.unsafeMake({
      resource: RESOURCE,
      authorizationServers: [AUTH_SERVER, "https://login.example.org/tenant-1"],
      scopesSupported: ["tools:read", "tools:write"],
      resourceName: "Example MCP",
      resourceDocumentation: "https://docs.example.com/mcp"
    })
    expect(made.answer.body).toBe(
      `{"resource":"https://mcp.example.com/mcp",` +
        `"authorization_servers":["https://auth.example.com","https://login.example.org/tenant-1"],` +
        `"scopes_supported":["tools:read","tools:write"],` +
        `"bearer_methods_supported":["header"],` +
        `"resource_name":"Example MCP",` +
        `"resource_documentation":"https://docs.example.com/mcp"}`
    )
    expect(JSON.parse(made.answer.body)).toEqual(made.document)
  })

  it("never announces offline_access (MCP 2026-07-28: refresh tokens are no resource requirement)", () => {
    const made = ProtectedResource.unsafeMake({ ...minimal, scopesSupported: ["offline_access", "tools:read"] })
    expect(made.answer.body).toBe(
      `{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],` +
        `"scopes_supported":["tools:read"],"bearer_methods_supported":["header"]}`
    )
    expect(made.scopesSupported).toEqual(["tools:read"])
  })
})

describe("ProtectedResource: options are checked at startup", () => {
  const refusal = (options: unknown): string => {
    const decoded = ProtectedResource.decode(options as ProtectedResource.Options)
    if (Either.isRight(decoded)) throw new Error("expected a refusal")
    expect(decoded.left).toBeInstanceOf(ConfigurationError.ConfigurationError)
    return decoded.left.message
  }

  it("refuses a resource with a fragment (RFC 9728 section 1.2)", () => {
    expect(refusal({ ...minimal, resource: "https://mcp.example.com/mcp#top" })).toMatch(/^Invalid protectedResource options:\n  - resource: .*fragment/)
  })

  it("refuses a resource that is not an absolute http(s) URL", () => {
    expect(refusal({ ...minimal, resource: "/mcp" })).toContain("resource: \"/mcp\" is not an absolute http(s) URL")
    expect(refusal({ ...minimal, resource: "urn:example:mcp" })).toContain("resource:")
  })

  it("refuses an empty list of authorization servers, or one that is not an issuer URL", () => {
    expect(refusal({ ...minimal, authorizationServers: [] })).toContain("authorizationServers: name at least one authorization server")
    expect(refusal({ ...minimal, authorizationServers: ["auth.example.com"] })).toContain("authorizationServers.0:")
    expect(refusal({ ...minimal, authorizationServers: ["https://auth.example.com/?x=1"] })).toContain("no query or fragment")
    expect(refusal({ resource: RESOURCE })).toContain("authorizationServers")
  })

  it("refuses a scope that is not an RFC 6749 scope token", () => {
    for (const scope of ["tools read", "", "say\"hi\"", "back\\slash", "caf\u00e9"]) {
      expect(refusal({ ...minimal, scopesSupported: ["tools:read", scope] })).toContain("scopesSupported.1:")
    }
  })

  it("refuses a misspelled or unknown option, and a relative documentation URL", () => {
    expect(refusal({ ...minimal, authorizationServer: AUTH_SERVER })).toContain("authorizationServer")
    expect(refusal({ ...minimal, resourceDocumentation: "/docs" })).toContain("resourceDocumentation:")
    expect(refusal({ ...minimal, resourceName: "" })).toContain("resourceName: must not be empty")
  })

  it("make throws the ConfigurationError", () => {
    expect(() => ProtectedResource.unsafeMake({ ...minimal, authorizationServers: [] })).toThrow(ConfigurationError.ConfigurationError)
  })

  it("oneResource: an adapter's resource option may repeat the resource, not contradict it", () => {
    expect(ProtectedResource.oneResource({ resource: RESOURCE, protectedResource: { resource: RESOURCE } })).toBe(true)
    expect(ProtectedResource.oneResource({ protectedResource: { resource: RESOURCE } })).toBe(true)
    expect(ProtectedResource.oneResource({ resource: RESOURCE })).toBe(true)
    expect(ProtectedResource.oneResource({ resource: "https://other.example.com/mcp", protectedResource: { resource: RESOURCE } }))
      .toContain("differ")
  })
})

// Real tokens on the real clock: `it.live`.
describe("ProtectedResource with the gate", () => {
  const SECRET = "a-protected-resource-secret-of-32-bytes+"
  const tokenFor = (aud: string | undefined) => {
    const jwt = new SignJWT({ scope: "tools:read" }).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
      .setIssuedAt().setExpirationTime("1h")
    return (aud === undefined ? jwt : jwt.setAudience(aud)).sign(new TextEncoder().encode(SECRET))
  }
  const protectedResource = ProtectedResource.unsafeMake(minimal)
  // The type is what the gate takes, as is.
  const options: GateTypes.Options = { rateLimit: false, protectedResource }
  const challenge = `Bearer realm="mcp", resource_metadata="${protectedResource.metadataUrl}"`
  const check = (provider: JWTAuthProvider | APIKeyAuthProvider, headers: Record<string, string>) =>
    Gate.unsafeMake(provider.service, options).check({ headers, client: "127.0.0.1" }, true)

  it.live("names the metadata in every Bearer challenge", () =>
    Effect.gen(function*() {
      expect(Gate.unsafeMake(new JWTAuthProvider({ secret: SECRET }).service, options).challenge).toEqual({
        resourceMetadata: protectedResource.metadataUrl
      })
      const verdict = yield* check(new JWTAuthProvider({ secret: SECRET }), {})
      expect(verdict._tag === "Refused" && verdict.answer.headers["www-authenticate"]).toBe(challenge)
    }))

  it.live("lets in a JWT addressed to the resource", () =>
    Effect.gen(function*() {
      const token = yield* Effect.promise(() => tokenFor(RESOURCE))
      const verdict = yield* check(new JWTAuthProvider({ secret: SECRET, audience: RESOURCE }), { authorization: `Bearer ${token}` })
      expect(verdict._tag).toBe("Authenticated")
    }))

  it.live("refuses a JWT for another audience, even one its provider accepts, with the 401 and the challenge", () =>
    Effect.gen(function*() {
      const other = "https://other.example.com/mcp"
      const token = yield* Effect.promise(() => tokenFor(other))
      const verdict = yield* check(new JWTAuthProvider({ secret: SECRET, audience: [RESOURCE, other] }), {
        authorization: `Bearer ${token}`
      })
      expect(verdict._tag === "Refused" && verdict.answer.status).toBe(401)
      expect(verdict._tag === "Refused" && verdict.answer.headers["www-authenticate"]).toBe(
        `Bearer realm="mcp", error="invalid_token", resource_metadata="${protectedResource.metadataUrl}"`
      )
    }))

  it.live("leaves API keys alone: they have no audience", () =>
    Effect.gen(function*() {
      const key = "a-key-for-the-protected-resource"
      const verdict = yield* check(new APIKeyAuthProvider({ keys: [key] }), { "x-api-key": key })
      expect(verdict._tag).toBe("Authenticated")
    }))
})
