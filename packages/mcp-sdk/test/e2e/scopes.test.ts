/**
 * Scopes as the MCP specification 2026-07-28 asks (docs/behaviour.md#challenges,
 * #endpoint-policy, #mcp-headers), on real servers with real SDK clients: the 401 names the
 * scopes a token needs, never `offline_access`; `requiredScopes` and `toolScopes` are judged
 * through one `scopeHierarchy`; the 403 names every scope of the request; SDK v2's own
 * `scopeChallenge` decides as mcpgate does; and `Mcp-Method`/`Mcp-Name` that disagree with a
 * body are refused with 400 before any tool runs.
 */
import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, MCPServer, StreamableHttp } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import { ScopeHierarchy, ToolScopes } from "@mcpgate/http"
import { SseServer } from "@mcpgate/node"
import * as Either from "effect/Either"
import { Client as ClientV2, SSEClientTransport as SseV2, StreamableHTTPClientTransport as StreamV2 } from "@modelcontextprotocol/client"
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport as SseV1 } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport as StreamV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { McpServer as McpServerV2 } from "@modelcontextprotocol/server"
import { Bodies } from "@mcpgate/testing/contract"
import { inScope, onClose } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import type { RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { jwts, tokenFor } from "../fixtures/credentials.js"
import type { Sdk, Transport } from "../fixtures/mcp.js"
import { mountEndpoint } from "../fixtures/mount.js"
import { apiKey, bearer, initializeRaw, inSession, POST_HEADERS } from "./support.js"

const RESOURCE = "https://mcp.example.com/mcp"
const METADATA = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

const KEYS = {
  writer: "scopes_writer_7c1e9a44d2b8",
  reader: "scopes_reader_0d5f3b91e6a2",
  outsider: "scopes_outsider_4a8c2e7f1b93",
  admin: "scopes_admin_93b1f0c6d7e4",
  nobody: "scopes_nobody_5e2b7d9c0a14"
} as const
const keys = () =>
  new APIKeyAuthProvider({
    keys: [
      { key: KEYS.writer, label: "writer", scopes: ["mcp", "files:write"] },
      { key: KEYS.reader, label: "reader", scopes: ["mcp", "files:read"] },
      { key: KEYS.outsider, label: "outsider", scopes: ["files:write"] },
      { key: KEYS.admin, label: "admin", scopes: ["admin"] },
      { key: KEYS.nobody, label: "nobody", scopes: ["mcp"] }
    ]
  })
const SCOPES = {
  requiredScopes: ["mcp"],
  toolScopes: { read: ["files:read"], write: ["files:write"] },
  scopeHierarchy: { "files:write": ["files:read"], admin: "*" }
} as const

/** An `MCPServer` of `sdk` on `transport` with the tools `read` and `write`, each recording its run. */
const serve = async (use: Use, sdk: Sdk, transport: Transport, options: Record<string, unknown>) => {
  const ran: Array<string> = []
  const server = new MCPServer({
    sdk,
    transport: { type: transport, options: { port: 0, ...options } } as MCPServerOptions["transport"]
  })
  server.configure((mcp: any) => {
    for (const name of ["read", "write", "whoami"]) {
      mcp.registerTool(name, { description: name }, async () => {
        ran.push(name)
        return { content: [{ type: "text", text: JSON.stringify({ ran: name }) }] }
      })
    }
  })
  await server.start()
  await use(onClose(() => server.stop()))
  return { endpoint: new URL(transport === "sse" ? "/sse" : "/mcp", server.url!), ran }
}

const call = (id: number, name: string) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } })

/** A real client of `sdk` over `transport` with an API key; resolves to a tool caller giving the tool's name. */
const client = async (use: Use, sdk: Sdk, transport: Transport, url: URL, key: string) => {
  const requestInit = { requestInit: { headers: { "x-api-key": key } } }
  const mcp: any = sdk === "v1" ? new ClientV1({ name: "scopes", version: "1.0.0" }) : new ClientV2({ name: "scopes", version: "1.0.0" })
  await mcp.connect(
    transport === "sse"
      ? (sdk === "v1" ? new SseV1(url, requestInit) : new SseV2(url, requestInit))
      : (sdk === "v1" ? new StreamV1(url, requestInit) : new StreamV2(url, requestInit))
  )
  await use(onClose(() => mcp.close().catch(() => undefined)))
  return async (name: string): Promise<string> => JSON.parse((await mcp.callTool({ name, arguments: {} })).content[0].text).ran
}

const expectAnswer = (response: RawResponse, status: string, challenge: string | undefined, body: string) =>
  expect({
    statusLine: response.statusLine,
    contentType: response.header("content-type"),
    cacheControl: response.header("cache-control"),
    challenge: response.header("www-authenticate"),
    body: response.body
  }).toEqual({ statusLine: status, contentType: "application/json", cacheControl: "no-store", challenge, body })

describe.each(["sse", "http-stream"] as const)("the 401 names the scopes a token needs, %s", (transport) => {
  const path = transport === "sse" ? "/messages?sessionId=x" : "/mcp"
  const protectedResource = {
    resource: RESOURCE,
    authorizationServers: ["https://auth.example.com"],
    scopesSupported: ["mcp", "files:read", "offline_access"]
  }

  it.scopedLive("scopes_supported without offline_access, when no requiredScopes are set; the document leaves it out too", () =>
    inScope(async (use) => {
      const { endpoint } = await serve(use, "v2", transport, { auth: { provider: jwts() }, protectedResource })
      const refused = await send(endpoint, "POST", path, POST_HEADERS, call(1, "read"))
      expectAnswer(
        refused,
        "HTTP/1.1 401 Unauthorized",
        `Bearer realm="mcp", scope="mcp files:read", resource_metadata="${METADATA}"`,
        Bodies.jwt
      )
      const wrong = await send(endpoint, "POST", path, [...POST_HEADERS, ...bearer("not.a.jwt")], call(1, "read"))
      expect(wrong.header("www-authenticate")).toBe(
        `Bearer realm="mcp", error="invalid_token", scope="mcp files:read", resource_metadata="${METADATA}"`
      )
      const document = await send(endpoint, "GET", "/.well-known/oauth-protected-resource/mcp")
      expect(JSON.parse(document.body).scopes_supported).toEqual(["mcp", "files:read"])
    }))

  it.scopedLive("requiredScopes when set, with or without protected-resource metadata", () =>
    inScope(async (use) => {
      const described = await serve(use, "v1", transport, { auth: { provider: jwts() }, protectedResource, requiredScopes: ["mcp"] })
      expect((await send(described.endpoint, "POST", path, POST_HEADERS, call(1, "read"))).header("www-authenticate"))
        .toBe(`Bearer realm="mcp", scope="mcp", resource_metadata="${METADATA}"`)
      const plain = await serve(use, "v1", transport, { auth: { provider: jwts() }, requiredScopes: ["mcp", "offline_access"] })
      expect((await send(plain.endpoint, "POST", path, POST_HEADERS, call(1, "read"))).header("www-authenticate"))
        .toBe(`Bearer realm="mcp", scope="mcp"`)
    }))
})

describe.each(["v1", "v2"] as const)("requiredScopes, toolScopes and scopeHierarchy together, SDK %s", (sdk) => {
  it.scopedLive.each(["http-stream", "sse"] as const)(
    "on %s: a broad scope passes wherever a narrower one does; without requiredScopes nothing gets in",
    (transport) =>
      inScope(async (use) => {
        const { endpoint, ran } = await serve(use, sdk, transport, { auth: { provider: keys() }, ...SCOPES })
        const writer = await client(use, sdk, transport, endpoint, KEYS.writer)
        expect([await writer("read"), await writer("write")]).toEqual(["read", "write"])
        const admin = await client(use, sdk, transport, endpoint, KEYS.admin)
        expect([await admin("read"), await admin("write")]).toEqual(["read", "write"])
        const reader = await client(use, sdk, transport, endpoint, KEYS.reader)
        expect(await reader("read")).toBe("read")
        expect(String(await rejectionOf(reader("write")))).toMatch(/403|Insufficient scope: required "mcp files:write"/)
        // Connecting is a request too: a key without `mcp` is refused at once, whatever else it holds.
        expect(String(await rejectionOf(client(use, sdk, transport, endpoint, KEYS.outsider)))).toMatch(/403|Insufficient scope/)
        expect(ran).toEqual(["read", "write", "read", "write", "read"])
      })
  )

  it.scopedLive("the 403 names every scope the request needs, required ones first, byte for byte", () =>
    inScope(async (use) => {
      const { endpoint, ran } = await serve(use, sdk, "http-stream", { auth: { provider: keys() }, ...SCOPES, responseMode: "batch" })
      const post = (key: string, session: string, body: string) =>
        send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...inSession(session), ...apiKey(key)], body)
      const readers = await initializeRaw(endpoint, apiKey(KEYS.reader))
      expectAnswer(
        await post(KEYS.reader, readers, call(1, "write")),
        "HTTP/1.1 403 Forbidden",
        `Bearer realm="mcp", error="insufficient_scope", scope="mcp files:write"`,
        Bodies.insufficientScope
      )
      expect((await post(KEYS.reader, readers, call(2, "read"))).status).toBe(200)
      const writers = await initializeRaw(endpoint, apiKey(KEYS.writer))
      expect((await post(KEYS.writer, writers, call(3, "read"))).status).toBe(200)
      expect((await post(KEYS.writer, writers, call(4, "write"))).status).toBe(200)
      const outsider = await send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...apiKey(KEYS.outsider)], call(5, "write"))
      expectAnswer(
        outsider,
        "HTTP/1.1 403 Forbidden",
        `Bearer realm="mcp", error="insufficient_scope", scope="mcp files:write"`,
        Bodies.insufficientScope
      )
      expect(ran).toEqual(["read", "read", "write"])
    }))
})

describe("a JWT's scopes through the hierarchy", () => {
  it.scopedLive("files:write in `scope` calls a tool that needs files:read; a refused call names every scope it needs", () =>
    inScope(async (use) => {
      const { endpoint, ran } = await serve(use, "v2", "http-stream", { auth: { provider: jwts() }, ...SCOPES })
      const writer = await tokenFor("wendy", { claims: { scope: "mcp files:write" } })
      const reader = await tokenFor("rita", { claims: { scope: undefined, scp: ["mcp", "files:read"] } })
      const session = await initializeRaw(endpoint, bearer(writer))
      const post = (token: string, body: string) =>
        send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...inSession(session), ...bearer(token)], body)
      expect((await post(writer, call(1, "read"))).status).toBe(200)
      const refused = await send(
        endpoint,
        "POST",
        "/mcp",
        [...POST_HEADERS, ...inSession(await initializeRaw(endpoint, bearer(reader))), ...bearer(reader)],
        call(2, "write")
      )
      expect(refused.header("www-authenticate")).toBe(`Bearer realm="mcp", error="insufficient_scope", scope="mcp files:write"`)
      expect(ran).toEqual(["read"])
    }))
})

describe("SDK v2's scopeChallenge and mcpgate's toolScopes agree", () => {
  const hierarchy = ScopeHierarchy.unsafeMake(SCOPES.scopeHierarchy)

  /** `ours` is checked by mcpgate (`toolScopes`); `theirs` by the SDK, with `ToolScopes.scopeChallenge`. */
  const mount = async (use: Use) => {
    const ran: Array<string> = []
    const endpoint = await StreamableHttp.makePromise({
      auth: { provider: keys() },
      sdk: "v2",
      toolScopes: { ours: ["files:read"] },
      scopeHierarchy: SCOPES.scopeHierarchy,
      createServer: () => {
        const server = new McpServerV2({ name: "interop", version: "1.0.0" })
        const tool = (name: string, scopeChallenge?: unknown) =>
          server.registerTool(
            name,
            { description: name, ...(scopeChallenge === undefined ? {} : { scopeChallenge }) } as never,
            async () => {
              ran.push(name)
              return { content: [{ type: "text" as const, text: JSON.stringify({ ran: name }) }] }
            }
          )
        tool("ours")
        tool("theirs", ToolScopes.scopeChallenge(["files:read"], { hierarchy }))
        return server
      }
    })
    return { mcp: new URL("/mcp", await use(mountEndpoint(endpoint))), ran }
  }

  it.scopedLive("a broad scope passes both; a caller without is refused by both, naming the same scope to a real v2 client", () =>
    inScope(async (use) => {
      const { mcp, ran } = await mount(use)
      for (const key of [KEYS.reader, KEYS.writer, KEYS.admin]) {
        const caller = await client(use, "v2", "http-stream", mcp, key)
        expect([await caller("ours"), await caller("theirs")]).toEqual(["ours", "theirs"])
      }
      const nobody = await client(use, "v2", "http-stream", mcp, KEYS.nobody)
      expect(String(await rejectionOf(nobody("ours")))).toMatch(/Insufficient scope: required "files:read"/)
      expect(String(await rejectionOf(nobody("theirs")))).toMatch(/Insufficient scope: required "files:read"/)
      expect(ran).toHaveLength(6)
    }))

  it.scopedLive("on the wire: both 403s carry `insufficient_scope` with the same scope parameter", () =>
    inScope(async (use) => {
      const { mcp, ran } = await mount(use)
      const session = await initializeRaw(mcp, apiKey(KEYS.nobody))
      const post = (body: string) => send(mcp, "POST", "/mcp", [...POST_HEADERS, ...inSession(session), ...apiKey(KEYS.nobody)], body)
      const [ours, theirs] = [await post(call(1, "ours")), await post(call(2, "theirs"))]
      const paramsOf = (response: RawResponse) => {
        const challenge = response.header("www-authenticate") ?? ""
        return [response.status, /\berror="([^"]*)"/.exec(challenge)?.[1], /\bscope="([^"]*)"/.exec(challenge)?.[1]]
      }
      expect(paramsOf(ours)).toEqual([403, "insufficient_scope", "files:read"])
      expect(paramsOf(theirs)).toEqual([403, "insufficient_scope", "files:read"])
      expect(ran).toEqual([])
    }))
})

describe("the scope options are checked at startup, in the same words by every server", () => {
  const cycle = { requiredScopes: ["a"], scopeHierarchy: { a: ["b"], b: ["a"] } }
  const typo = { toolScopes: { read: ["files:read"] }, scopeHierarchy: { "files:write": ["files:raed"] } }
  const TYPO = "scopeHierarchy names \"files:raed\", which no toolScopes, requiredScopes or protectedResource.scopesSupported names"

  it("MCPServer, either transport", () => {
    for (const type of ["sse", "http-stream"] as const) {
      const make = (extra: object) => () => new MCPServer({ transport: { type, options: { auth: { provider: keys() }, ...extra } } as never })
      expect(make(cycle)).toThrow("scopeHierarchy: has a cycle (a → b → a)")
      expect(make(typo)).toThrow(TYPO)
      expect(make({ requiredScopes: [] })).toThrow("requiredScopes: must list at least one scope")
    }
  })

  it("StreamableHttp.make and SseServer", async () => {
    const createServer = () => new McpServerV2({ name: "unused", version: "1.0.0" })
    for (const extra of [cycle, typo]) {
      const error = await rejectionOf(StreamableHttp.makePromise({ auth: { provider: keys() }, createServer, ...extra } as never))
      expect((error as Error).message).toMatch(/has a cycle \(a → b → a\)|files:raed/)
      const sse = SseServer.decodeSettings({ auth: { provider: keys() }, onSession: () => {}, ...extra } as never)
      expect(Either.isLeft(sse) ? sse.left.message : "").toMatch(/has a cycle \(a → b → a\)|files:raed/)
    }
  })
})
