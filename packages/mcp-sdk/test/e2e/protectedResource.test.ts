/**
 * The server as an OAuth protected resource (RFC 9728, contract sections 2 and 6) on both
 * transports of `MCPServer` and on `McpHttp.layer`: the metadata document is a public route
 * answered before the failed-attempt limit, every Bearer challenge names it, JWTs must be
 * addressed to the resource, and the SDK v2 client's own discovery finds the document from
 * a real 401. `StreamableHttp.make` serves it too when mounted on its own.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core"
import { ProtectedResource } from "@mcpgate/http"
import { Jwt, JWTAuthProvider, McpHttp, MCPServer, StreamableHttp } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import { NodeHttp } from "@mcpgate/node"
import {
  checkResourceAllowed,
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams
} from "@modelcontextprotocol/client"
import { McpServer } from "@modelcontextprotocol/server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { SECRET, tokenFor } from "../fixtures/credentials.js"
import type { Transport } from "../fixtures/mcp.js"
import { connect, registerWhoami } from "../fixtures/mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { freePort } from "../support/processes.js"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { Bodies } from "@mcpgate/testing/contract"
import { bearer, connectAs, INITIALIZE, POST_HEADERS, serve } from "./support.js"
import { mountEndpoint } from "../fixtures/mount.js"
import { inScope, onClose } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"

const AUTH_SERVER = "https://auth.example.com"
const OTHER = "https://other.example.com/mcp"
const WELL_KNOWN = "/.well-known/oauth-protected-resource"

/** The MCP endpoint of each transport. */
const ENDPOINT: Readonly<Record<Transport, string>> = { "http-stream": "/mcp", sse: "/sse" }

/** The resource a test server says it is: `https://mcp.example.com/<endpoint>` unless it must be reachable. */
const resourceOf = (transport: Transport, origin = "https://mcp.example.com") => `${origin}${ENDPOINT[transport]}`

/** The document for `resource`, written out independently of the library. */
const documentOf = (resource: string) =>
  `{"resource":"${resource}","authorization_servers":["${AUTH_SERVER}"],` +
  `"scopes_supported":["tools:read"],"bearer_methods_supported":["header"]}`

const optionsFor = (resource: string) => ({
  resource,
  authorizationServers: [AUTH_SERVER],
  scopesSupported: ["tools:read"]
})

/** A JWT provider that accepts tokens for `audience` (jose checks `aud` against it). */
const jwtFor = (audience: string | ReadonlyArray<string>) =>
  new JWTAuthProvider({ secret: SECRET, audience: typeof audience === "string" ? audience : [...audience] })

/** A request each transport refuses without credentials: `initialize` on /mcp, a message on /messages. */
const refusable = (base: URL, transport: Transport, credentials: HeaderLines = []): Promise<RawResponse> =>
  transport === "http-stream"
    ? send(base, "POST", "/mcp", [...POST_HEADERS, ...credentials], INITIALIZE)
    : send(base, "POST", "/messages?sessionId=00000000-0000-4000-8000-000000000000", [["Content-Type", "application/json"], ...credentials], "{}")

const expectDocument = (response: RawResponse, resource: string) => {
  expect(response.statusLine).toBe("HTTP/1.1 200 OK")
  expect(response.header("content-type")).toBe("application/json")
  expect(response.header("cache-control")).toBe("public, max-age=3600")
  expect(response.body).toBe(documentOf(resource))
}

for (const transport of ["http-stream", "sse"] as const) {
  describe(`MCPServer ${transport}`, () => {
    const resource = resourceOf(transport)
    const metadataUrl = `https://mcp.example.com${WELL_KNOWN}${ENDPOINT[transport]}`
    const paths = [`${WELL_KNOWN}${ENDPOINT[transport]}`, WELL_KNOWN]
    // `scope` names the announced scopes (docs/behaviour.md#challenges: no requiredScopes here).
    const challenge = `Bearer realm="mcp", scope="tools:read", resource_metadata="${metadataUrl}"`
    const invalidToken = `Bearer realm="mcp", error="invalid_token", scope="tools:read", resource_metadata="${metadataUrl}"`
    const start = (provider = jwtFor(resource), extra: { readonly rateLimit?: { readonly maxFailures: number } } = {}) =>
      serve("v2", transport, { auth: { provider }, protectedResource: optionsFor(resource), ...extra })

    it.scopedLive("both metadata paths answer the exact document without credentials; HEAD has no body", () => inScope(async (use) => {
      const { base } = await use(start())
      for (const path of paths) expectDocument(await send(base, "GET", path), resource)
      const head = await fetch(new URL(paths[0]!, base), { method: "HEAD" })
      expect(head.status).toBe(200)
      expect(head.headers.get("content-length")).toBe(String(documentOf(resource).length))
      expect(await head.text()).toBe("")
    }))

    it.scopedLive("other methods get 405 with Allow, before authentication", () => inScope(async (use) => {
      const { base } = await use(start())
      const response = await send(base, "POST", paths[1]!, [["Content-Type", "application/json"]], "{}")
      expect(response.status).toBe(405)
      expect(response.header("allow")).toBe("GET, HEAD, OPTIONS")
    }))

    it.scopedLive("is answered before the failed-attempt limit, which it neither spends nor is stopped by", () => inScope(async (use) => {
      const { base } = await use(start(jwtFor(resource), { rateLimit: { maxFailures: 1 } }))
      for (let i = 0; i < 5; i++) expect((await send(base, "GET", paths[0]!)).status).toBe(200)
      // The budget is whole: the first failure is a 401, the next request is limited.
      const forged: HeaderLines = [["Authorization", "Bearer not.a.token"]]
      expect((await refusable(base, transport, forged)).status).toBe(401)
      expect((await refusable(base, transport, forged)).status).toBe(429)
      expectDocument(await send(base, "GET", paths[1]!), resource)
    }))

    it.scopedLive("a 401 names the metadata in its Bearer challenge", () => inScope(async (use) => {
      const { base } = await use(start())
      const missing = await refusable(base, transport)
      expect(missing.status).toBe(401)
      expect(missing.body).toBe(Bodies.jwt)
      expect(missing.header("www-authenticate")).toBe(challenge)
      const wrong = await refusable(base, transport, bearer("not.a.jwt"))
      expect(wrong.header("www-authenticate")).toBe(invalidToken)
    }))

    it.scopedLive("a JWT addressed to the resource is let in, and tools see the resource as authInfo.resource", () => inScope(async (use) => {
      const { endpoint, seen } = await use(start())
      const token = await tokenFor("alice", { claims: { aud: resource } })
      const client = await use(connectAs("v2", transport, endpoint, { authorization: `Bearer ${token}` }))
      expect((await client.whoami())?.subject).toBe("alice")
      expect(String(seen[0]!.authInfo?.["resource"])).toBe(resource)
    }))

    it.scopedLive("a JWT for another audience gets the 401, even when its provider accepts that audience", () => inScope(async (use) => {
      const token = await tokenFor("alice", { claims: { aud: OTHER } })
      for (const provider of [jwtFor(resource), jwtFor([resource, OTHER])]) {
        const { base, endpoint, seen } = await use(start(provider))
        const response = await refusable(base, transport, bearer(token))
        expect(response.status).toBe(401)
        expect(response.header("www-authenticate")).toBe(invalidToken)
        await rejectionOf(connect("v2", transport, endpoint, { authorization: `Bearer ${token}` }))
        expect(seen).toEqual([])
      }
    }))

    it.scopedLive("the SDK v2 client's discovery reads the challenge of a real 401 and fetches our document with it", () => inScope(async (use) => {
      const port = await freePort()
      const reachable = resourceOf(transport, `http://127.0.0.1:${port}`)
      const server = new MCPServer({
        transport: {
          type: transport,
          options: { port, auth: { provider: jwtFor(reachable) }, protectedResource: optionsFor(reachable) }
        } as MCPServerOptions["transport"]
      })
      server.configure(registerWhoami([]))
      await server.start()
      await use(onClose(() => server.stop()))
      const endpoint = new URL(ENDPOINT[transport], server.url)

      const refused = transport === "http-stream"
        ? await fetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: INITIALIZE
        })
        : await fetch(new URL("/messages?sessionId=x", server.url), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}"
        })
      expect(refused.status).toBe(401)
      const { resourceMetadataUrl } = extractWWWAuthenticateParams(refused)
      expect(resourceMetadataUrl?.href).toBe(`http://127.0.0.1:${port}${WELL_KNOWN}${ENDPOINT[transport]}`)

      const metadata = await discoverOAuthProtectedResourceMetadata(endpoint, { resourceMetadataUrl: resourceMetadataUrl! })
      expect(metadata.resource).toBe(reachable)
      expect(metadata.authorization_servers).toEqual([AUTH_SERVER])
      expect(checkResourceAllowed({ requestedResource: endpoint, configuredResource: metadata.resource })).toBe(true)
      // Without the challenge, the client derives the same URL from the endpoint (RFC 9728 3.1).
      expect(await discoverOAuthProtectedResourceMetadata(endpoint)).toEqual(metadata)
    }))
  })
}

describe("McpHttp.layer with both transports on one server", () => {
  it.scopedLive("answers the metadata once, for both transports, and both name it in their challenges", () =>
    Effect.gen(function*() {
      const resource = "https://mcp.example.com/mcp"
      const metadataUrl = `https://mcp.example.com${WELL_KNOWN}/mcp`
      const context = yield* Layer.build(
        McpHttp.layer({ port: 0, register: registerWhoami([]), protectedResource: optionsFor(resource) }).pipe(
          Layer.provide(Jwt.layer({ secret: SECRET, audience: resource }))
        )
      )
      const base = Context.get(context, McpHttp.McpHttp).url
      for (const path of [`${WELL_KNOWN}/mcp`, WELL_KNOWN]) {
        expectDocument(yield* Effect.promise(() => send(base, "GET", path)), resource)
      }
      for (const transport of ["http-stream", "sse"] as const) {
        const refused = yield* Effect.promise(() => refusable(base, transport))
        expect(refused.header("www-authenticate")).toBe(`Bearer realm="mcp", scope="tools:read", resource_metadata="${metadataUrl}"`)
      }
    }))
})

describe("StreamableHttp.make mounted on any node:http server", () => {
  const resource = "https://mcp.example.com/mcp"
  const mount = async (use: Use, options: Partial<StreamableHttp.StreamableHttpOptions>) => {
    const endpoint = await StreamableHttp.makePromise({
      auth: { provider: jwtFor(resource) },
      createServer: () => new McpServer({ name: "test", version: "1.0.0" }),
      protectedResource: optionsFor(resource),
      ...options
    })
    return use(mountEndpoint(endpoint))
  }

  it.scopedLive("serves the metadata and names it in its challenges", () => inScope(async (use) => {
    const base = await mount(use, { rateLimit: false })
    expectDocument(await send(base, "GET", `${WELL_KNOWN}/mcp`), resource)
    expect((await refusable(base, "http-stream")).header("www-authenticate")).toBe(
      `Bearer realm="mcp", scope="tools:read", resource_metadata="https://mcp.example.com${WELL_KNOWN}/mcp"`
    )
  }))

  it.scopedLive("takes a shared gate only if it was made with the same protectedResource", () => inScope(async (use) => {
    const provider = jwtFor(resource)
    const refused = await rejectionOf(StreamableHttp.makePromise({
      auth: { provider },
      createServer: () => new McpServer({ name: "test", version: "1.0.0" }),
      protectedResource: optionsFor(resource),
      gate: NodeHttp.gate(provider.service)
    }))
    expect(String(refused)).toContain("gate was made without this protectedResource")
    const gate = NodeHttp.gate(provider.service, { rateLimit: false, protectedResource: ProtectedResource.unsafeMake(optionsFor(resource)) })
    const base = await mount(use, { auth: { provider }, gate })
    expect((await refusable(base, "http-stream")).header("www-authenticate")).toContain("resource_metadata=")
  }))
})

describe("protectedResource options are checked at construction", () => {
  const make = (options: Record<string, unknown>) => () =>
    new MCPServer({ transport: { type: "http-stream", options: { auth: { provider: jwtFor(OTHER) }, ...options } } as MCPServerOptions["transport"] })

  it("resource may repeat protectedResource.resource, not contradict it", () => {
    const resource = "https://mcp.example.com/mcp"
    expect(make({ resource, protectedResource: optionsFor(resource) })).not.toThrow()
    expect(make({ resource: OTHER, protectedResource: optionsFor(resource) })).toThrow(/differ/)
  })

  it("bad metadata options are named under protectedResource", () => {
    expect(make({ protectedResource: { resource: "https://mcp.example.com/mcp#x", authorizationServers: [AUTH_SERVER] } }))
      .toThrow(ConfigurationError.ConfigurationError)
    expect(make({ protectedResource: { resource: "https://mcp.example.com/mcp", authorizationServers: [] } }))
      .toThrow(/protectedResource\.authorizationServers/)
  })

  it("no endpoint may sit on a metadata path", () => {
    expect(make({ endpoint: WELL_KNOWN, protectedResource: optionsFor("https://mcp.example.com/mcp") })).toThrow(/used twice/)
  })
})
