/**
 * `Mcp-Method` and `Mcp-Name` on Streamable HTTP (docs/behaviour.md#mcp-headers; MCP
 * 2026-07-28, "Server Validation"): where mcpgate reads the body for tool scopes, headers
 * that disagree with it are refused with the contract's 400 before the SDK, or any tool,
 * sees the request; the scope is decided from the body, never from a header. Real servers
 * on both SDK lines, raw requests, and a real v2 client behind a proxy that rewrites them.
 */
import { describe, expect, it } from "@effect/vitest"
import { MCPServer } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import { Client as ClientV2, StreamableHTTPClientTransport as StreamV2 } from "@modelcontextprotocol/client"
import { Bodies } from "@mcpgate/testing/contract"
import { inScope, onClose } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { apiKeys, KEY_ALICE } from "../fixtures/credentials.js"
import type { Sdk } from "../fixtures/mcp.js"
import { apiKey, initializeRaw, inSession, POST_HEADERS } from "./support.js"

const ALICE = apiKey(KEY_ALICE) // scope tools:read

/** A server whose `search` needs tools:read (Alice holds it) and `deploy` deploy:write (nobody does). */
const serve = async (use: Use, sdk: Sdk, options: Record<string, unknown> = {}) => {
  const ran: Array<string> = []
  const server = new MCPServer({
    sdk,
    transport: {
      type: "http-stream",
      options: {
        port: 0,
        auth: { provider: apiKeys() },
        toolScopes: { search: ["tools:read"], deploy: ["deploy:write"] },
        responseMode: "batch",
        ...options
      }
    } as MCPServerOptions["transport"]
  })
  server.configure((mcp: any) => {
    for (const name of ["search", "deploy", "météo"]) {
      mcp.registerTool(name, { description: name }, async () => {
        ran.push(name)
        return { content: [{ type: "text", text: name }] }
      })
    }
  })
  await server.start()
  await use(onClose(() => server.stop()))
  return { endpoint: new URL("/mcp", server.url!), ran }
}

const call = (name: string, id = 1) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } })

const expect400 = (response: RawResponse, body: string) =>
  expect({
    statusLine: response.statusLine,
    contentType: response.header("content-type"),
    cacheControl: response.header("cache-control"),
    body: response.body
  }).toEqual({ statusLine: "HTTP/1.1 400 Bad Request", contentType: "application/json", cacheControl: "no-store", body })

const base64 = (text: string) => `=?base64?${Buffer.from(text, "utf8").toString("base64")}?=`

describe.each(["v1", "v2"] as const)("Mcp-Method and Mcp-Name on Streamable HTTP with tool scopes, SDK %s", (sdk) => {
  const inSessionOf = async (endpoint: URL) => {
    const session = await initializeRaw(endpoint, ALICE)
    return (headers: HeaderLines, body: string) =>
      send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...inSession(session), ...ALICE, ...headers], body)
  }

  it.scopedLive("headers that agree pass, in any case of their names; none at all pass too (clients before 2026-07-28)", () =>
    inScope(async (use) => {
      const { endpoint, ran } = await serve(use, sdk)
      const post = await inSessionOf(endpoint)
      expect((await post([["mcp-method", "tools/call"], ["MCP-NAME", "search"]], call("search"))).status).toBe(200)
      expect((await post([["Mcp-Method", "tools/call"]], call("search", 2))).status).toBe(200)
      expect((await post([], call("search", 3))).status).toBe(200)
      expect((await post([["Mcp-Method", "tools/call"], ["Mcp-Name", base64("météo")]], call("météo", 4))).status).toBe(200)
      expect(ran).toEqual(["search", "search", "search", "météo"])
    }))

  it.scopedLive("a header naming another method or tool is the 400, before the tool runs, whatever scopes the caller holds", () =>
    inScope(async (use) => {
      const { endpoint, ran } = await serve(use, sdk)
      const post = await inSessionOf(endpoint)
      // The proxy's view (the header) is a tool Alice may call; the body is one she may not.
      expect400(await post([["Mcp-Method", "tools/call"], ["Mcp-Name", "search"]], call("deploy")), Bodies.mcpNameMismatch(1))
      expect400(await post([["Mcp-Method", "tools/list"]], call("search")), Bodies.mcpMethodMismatch(1))
      expect400(await post([["Mcp-Method", "Tools/Call"]], call("search")), Bodies.mcpMethodMismatch(1))
      expect400(await post([["Mcp-Method", "tools/call"], ["Mcp-Name", "Search"]], call("search")), Bodies.mcpNameMismatch(1))
      expect400(await post([["Mcp-Name", "search"], ["Mcp-Name", "search"]], call("search")), Bodies.mcpNameMismatch(1))
      expect400(await post([["Mcp-Name", "search"]], JSON.stringify([JSON.parse(call("search"))])), Bodies.mcpNameMismatch(null))
      expect400(await post([["Mcp-Name", "m\u00e9t\u00e9o"]], call("météo")), Bodies.mcpNameMismatch(1))
      expect400(await post([["Mcp-Name", "=?base64?bad!?="]], call("search")), Bodies.mcpNameMismatch(1))
      expect(ran).toEqual([])
    }))

  it.scopedLive("a 2026-07-28 request must carry them", () =>
    inScope(async (use) => {
      const { endpoint, ran } = await serve(use, sdk, { stateless: true })
      const post = (headers: HeaderLines) =>
        send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...ALICE, ["MCP-Protocol-Version", "2026-07-28"], ...headers], call("search"))
      expect400(await post([]), Bodies.mcpMethodMismatch(1))
      expect400(await post([["Mcp-Method", "tools/call"]]), Bodies.mcpNameMismatch(1))
      expect(ran).toEqual([])
    }))

  it.scopedLive("without any scope configured the body is the SDK's alone: mcpgate reads nothing, and judges no header", () =>
    inScope(async (use) => {
      const { endpoint, ran } = await serve(use, sdk, { toolScopes: undefined })
      const post = await inSessionOf(endpoint)
      // A 2025-era session: the SDK's transport does not hold these headers to the body.
      expect((await post([["Mcp-Method", "tools/list"]], call("search"))).status).toBe(200)
      expect(ran).toEqual(["search"])
    }))
})

describe("a real v2 client behind a proxy that rewrites Mcp-Name", () => {
  it.scopedLive("the rewritten call is refused and its tool never runs; calls the header still describes go through", () =>
    inScope(async (use) => {
      const { endpoint, ran } = await serve(use, "v2")
      // A proxy that labels every tool call `search`: what a mismatch check is for.
      const proxied: typeof fetch = (input, init) => {
        const headers = new Headers(init?.headers)
        const method = init?.method === "POST" ? JSON.parse(String(init.body)).method : undefined
        if (typeof method === "string") headers.set("mcp-method", method)
        if (method === "tools/call") headers.set("mcp-name", "search")
        return fetch(input, { ...init, headers })
      }
      const client = new ClientV2({ name: "proxied", version: "1.0.0" })
      await client.connect(new StreamV2(endpoint, { requestInit: { headers: { "x-api-key": KEY_ALICE } }, fetch: proxied }))
      await use(onClose(() => client.close()))
      expect(((await client.callTool({ name: "search", arguments: {} })) as any).content[0].text).toBe("search")
      expect(String(await rejectionOf(client.callTool({ name: "météo", arguments: {} })))).toMatch(/400|Mcp-Name/)
      expect(ran).toEqual(["search"])
    }))
})
