/**
 * mcp-framework's OAuth configurations from its README ("OAuth 2.1 Authentication"), with only
 * the import changed to `@mcpgate/mcp-sdk` and the environment variables they read pointed
 * at a real authorization server (oidc-provider), served by our `MCPServer`. An SDK v2
 * client holding only client credentials finds everything itself, as the MCP specification
 * has it: the 401's `resource_metadata`, the RFC 9728 document the server now serves without
 * credentials, the authorization server's metadata, a token for the resource (RFC 8707),
 * then the tool. Live clocks: the tokens carry `Date.now()` times.
 */
import { describe, expect, it } from "@effect/vitest"
import { MCPServer, OAuthAuthProvider } from "@mcpgate/mcp-sdk"
import { ProtectedResource } from "@mcpgate/http"
import type { AuthorizationServer } from "@mcpgate/testing/authorizationServer"
import { authorizationServer, CLIENTS, SCOPES } from "@mcpgate/testing/authorizationServer"
import { Answer, Bodies } from "@mcpgate/testing/contract"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import { send } from "@mcpgate/testing/wire"
import { Client, ClientCredentialsProvider, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import type { Seen } from "../fixtures/mcp.js"
import { registerWhoami } from "../fixtures/mcp.js"
import { freePort } from "../support/processes.js"
import { bearer, INITIALIZE, POST_HEADERS } from "./support.js"

/** The variables mcp-framework's README reads, set for one server's construction. */
const withEnvironment = <A>(variables: Record<string, string>, construct: () => A): A => {
  const before = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]))
  Object.assign(process.env, variables)
  try {
    return construct()
  } finally {
    for (const [name, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

/** An authorization server issuing tokens for `resource`, a server about to listen. */
const asFor = (resource: string, format: "jwt" | "opaque") =>
  authorizationServer({ resources: [{ resource, scopes: SCOPES, format }] })

const environmentOf = (as: AuthorizationServer, resource: string) => ({
  OAUTH_AUTHORIZATION_SERVER: as.issuer,
  OAUTH_RESOURCE: resource,
  OAUTH_JWKS_URI: as.jwksUri,
  OAUTH_AUDIENCE: resource,
  OAUTH_ISSUER: as.issuer,
  OAUTH_INTROSPECTION_ENDPOINT: as.introspectionEndpoint,
  OAUTH_CLIENT_ID: CLIENTS.resourceServer.id,
  OAUTH_CLIENT_SECRET: CLIENTS.resourceServer.secret
})

/** The server started with `whoami`, stopped with the test's scope. */
const started = (server: MCPServer, seen: Array<Seen>) =>
  acquire(async () => {
    server.configure(registerWhoami(seen))
    await server.start()
    return server
  }, (running) => running.stop())

/** An SDK v2 client that has only client credentials, and gets its token through discovery. */
const oauthClient = (as: AuthorizationServer, transport: "http-stream" | "sse", url: URL) =>
  acquire(async () => {
    const authProvider = new ClientCredentialsProvider({
      clientId: CLIENTS.app.id,
      clientSecret: CLIENTS.app.secret,
      expectedIssuer: as.issuer,
      scope: "tools:read"
    })
    const client = new Client({ name: "oauth-test", version: "1.0.0" })
    await client.connect(
      transport === "sse" ? new SSEClientTransport(url, { authProvider }) : new StreamableHTTPClientTransport(url, { authProvider })
    )
    return client
  }, (client) => client.close().catch(() => undefined))

const whoamiOf = async (client: Client) => {
  const result = await client.callTool({ name: "whoami", arguments: {} }) as { content: Array<{ text: string }> }
  return JSON.parse(result.content[0]!.text)
}

describe("mcp-framework's OAuth configuration on MCPServer, only the import changed", () => {
  it.scopedLive("JWT validation over HTTP Stream: an SDK v2 client discovers the server's metadata, gets a token and calls the tool", () =>
    inScope(async (use) => {
      const port = await freePort()
      const resource = `http://127.0.0.1:${port}/mcp`
      const as = await use(asFor(resource, "jwt"))
      const seen: Array<Seen> = []
      // The README's snippet; its port is the free one.
      const server = withEnvironment(environmentOf(as, resource), () =>
        new MCPServer({
          transport: {
            type: "http-stream",
            options: {
              port,
              auth: {
                provider: new OAuthAuthProvider({
                  authorizationServers: [
                    process.env.OAUTH_AUTHORIZATION_SERVER!
                  ],
                  resource: process.env.OAUTH_RESOURCE!,
                  validation: {
                    type: "jwt",
                    jwksUri: process.env.OAUTH_JWKS_URI!,
                    audience: process.env.OAUTH_AUDIENCE!,
                    issuer: process.env.OAUTH_ISSUER!,
                    algorithms: ["RS256", "ES256"] // Optional (default: ['RS256', 'ES256'])
                  }
                }),
                endpoints: {
                  initialize: true, // Protect session initialization
                  messages: true // Protect MCP messages
                }
              }
            }
          }
        })
      )
      await use(started(server, seen))
      const mcp = new URL(resource)
      const metadataUrl = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`

      // Without a token: mcpgate's 401 for this provider, naming the metadata (never `resource=`).
      const refused = await send(mcp, "POST", "/mcp", POST_HEADERS, INITIALIZE)
      const expected = Answer.both(Bodies.unauthorized, `Bearer realm="mcp", resource_metadata="${metadataUrl}"`)
      expect({ statusLine: refused.statusLine, body: refused.body, challenge: refused.header("www-authenticate") })
        .toStrictEqual({ statusLine: expected.statusLine, body: expected.body, challenge: expected.headers["www-authenticate"] })

      // The metadata, public, derived from the provider's options.
      for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
        const document = await send(mcp, "GET", path, [], "")
        expect(document.status).toBe(200)
        expect(document.body).toBe(JSON.stringify({
          resource,
          authorization_servers: [as.issuer],
          bearer_methods_supported: ["header"]
        }))
      }
      // The metadata URL auth-core names is the one the server serves.
      expect(ProtectedResource.metadataUrlOf(resource)).toBe(metadataUrl)

      const client = await use(oauthClient(as, "http-stream", mcp))
      expect(await whoamiOf(client)).toMatchObject({ subject: CLIENTS.app.id, scopes: ["tools:read"] })
      expect(seen).toHaveLength(1)
      expect(as.hits("/token")).toBe(1)
    }))

  it.scopedLive("token introspection over SSE: opaque tokens served, a revoked one refused at once", () =>
    inScope(async (use) => {
      const port = await freePort()
      // The README's resource is the server's origin, which an SSE client accepts as its own.
      const resource = `http://127.0.0.1:${port}`
      const as = await use(asFor(resource, "opaque"))
      const seen: Array<Seen> = []
      const server = withEnvironment(environmentOf(as, resource), () =>
        new MCPServer({
          transport: {
            type: "sse",
            options: {
              port,
              auth: {
                provider: new OAuthAuthProvider({
                  authorizationServers: [
                    process.env.OAUTH_AUTHORIZATION_SERVER!
                  ],
                  resource: process.env.OAUTH_RESOURCE!,
                  validation: {
                    type: "introspection",
                    audience: process.env.OAUTH_AUDIENCE!,
                    issuer: process.env.OAUTH_ISSUER!,
                    introspection: {
                      endpoint: process.env.OAUTH_INTROSPECTION_ENDPOINT!,
                      clientId: process.env.OAUTH_CLIENT_ID!,
                      clientSecret: process.env.OAUTH_CLIENT_SECRET!
                    }
                  }
                })
              }
            }
          }
        })
      )
      await use(started(server, seen))
      const sse = new URL(`http://127.0.0.1:${port}/sse`)

      const client = await use(oauthClient(as, "sse", sse))
      expect(await whoamiOf(client)).toMatchObject({ subject: CLIENTS.app.id, scopes: ["tools:read"] })
      expect(seen).toHaveLength(1)
      expect(as.hits("/token/introspection")).toBeGreaterThanOrEqual(1)

      // The metadata is served by the SSE server too.
      const document = await send(sse, "GET", "/.well-known/oauth-protected-resource", [], "")
      expect(JSON.parse(document.body)).toMatchObject({ resource, authorization_servers: [as.issuer] })

      // A revoked token: the provider's 401, at once (nothing cached yet for it).
      const token = await as.token({ format: "opaque", resource })
      await as.revoke(token)
      const stream = await send(sse, "POST", "/messages?sessionId=00000000-0000-4000-8000-000000000000", [
        ["Content-Type", "application/json"],
        ...bearer(token)
      ], JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }))
      expect(stream.statusLine).toBe("HTTP/1.1 401 Unauthorized")
      expect(stream.body).toBe(Bodies.unauthorized)
      expect(stream.header("www-authenticate")).toBe(
        `Bearer realm="mcp", error="invalid_token", resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource"`
      )
    }))

  it("refuses a protectedResource for another resource than the provider's", () => {
    const provider = new OAuthAuthProvider({
      authorizationServers: ["https://auth.example.com"],
      resource: "https://mcp.example.com/mcp",
      validation: { type: "jwt", jwksUri: "https://auth.example.com/jwks" }
    })
    expect(() =>
      new MCPServer({
        transport: {
          type: "http-stream",
          options: {
            auth: { provider },
            protectedResource: { resource: "https://other.example.com/mcp", authorizationServers: ["https://auth.example.com"] }
          }
        }
      })
    ).toThrow(/protectedResource\.resource .* is not the OAuthAuthProvider's resource/)
  })
})
