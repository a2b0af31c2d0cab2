/**
 * `toolScopes` through real MCP SDKs over legacy SSE, both lines on both ends: a caller
 * with the scopes calls the scoped tool; one without has the call refused with 403 (the
 * SDK client rejects, the tool never runs) and still lists every tool and calls unscoped ones.
 */
import { describe, expect, it } from "@effect/vitest"
import type { SseServer, SseTransport } from "@mcpgate/node"
import { Client as ClientV2, SSEClientTransport as SSEClientTransportV2 } from "@modelcontextprotocol/client"
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport as SSEClientTransportV1 } from "@modelcontextprotocol/sdk/client/sse.js"
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js"
import { McpServer as McpServerV2 } from "@modelcontextprotocol/server"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import { apiKeyProvider, KEY_ALICE, KEY_BOB } from "@mcpgate/testing/credentials"
import type { Sdk } from "./mcp.js"
import { SDK_PAIRS, stop } from "./mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { start } from "../fixtures/servers.js"

/** An `onSession` with `whoami` (unscoped) and `deploy` (scoped); each call is recorded in `ran`. */
const tools = (sdk: Sdk, ran: Array<string>) => async (transport: SseTransport): Promise<void> => {
  const server: any = sdk === "v1"
    ? new McpServerV1({ name: "scopes-v1", version: "1.0.0" })
    : new McpServerV2({ name: "scopes-v2", version: "1.0.0" })
  for (const name of ["whoami", "deploy"]) {
    server.registerTool(name, { description: name }, async () => {
      ran.push(name)
      return { content: [{ type: "text", text: `${name} ran` }] }
    })
  }
  await server.connect(transport)
}

/** A server with `tools`, stopped with the test's scope. */
const serve = (sdk: Sdk, options: Partial<SseServer.SseServerOptions>) => {
  const ran: Array<string> = []
  return acquire(
    async () => ({ server: await start({ auth: { provider: apiKeyProvider() }, ...options, onSession: tools(sdk, ran) }), ran }),
    ({ server }) => stop(server)
  )
}

/** A connected client, closed with the test's scope (before the server it talks to). */
const connect = (sdk: Sdk, base: URL, headers: Record<string, string>) =>
  acquire(() => connectTo(sdk, base, headers), ({ close }) => close())

const connectTo = async (sdk: Sdk, base: URL, headers: Record<string, string>) => {
  const url = new URL("/sse", base)
  const client: any = sdk === "v1"
    ? new ClientV1({ name: "scopes-client-v1", version: "1.0.0" })
    : new ClientV2({ name: "scopes-client-v2", version: "1.0.0" })
  await client.connect(
    sdk === "v1"
      ? new SSEClientTransportV1(url, { requestInit: { headers } })
      : new SSEClientTransportV2(url, { requestInit: { headers } })
  )
  return {
    close: (): Promise<void> => client.close(),
    toolNames: async (): Promise<Array<string>> => (await client.listTools()).tools.map((tool: { name: string }) => tool.name),
    call: async (name: string): Promise<string> => (await client.callTool({ name, arguments: {} })).content[0].text
  }
}

describe.each(SDK_PAIRS)("SDK $client client ↔ SDK $server McpServer", ({ client: clientSdk, server: serverSdk }) => {
  it.scopedLive("a key whose entry has the scopes calls the scoped tool", () => inScope(async (use) => {
    const { ran, server } = await use(serve(serverSdk, { toolScopes: { deploy: ["tools:read"] } }))
    const alice = await use(connect(clientSdk, server.url, { "X-API-Key": KEY_ALICE }))
    expect(await alice.call("deploy")).toBe("deploy ran")
    expect(ran).toEqual(["deploy"])
  }))

  it.scopedLive("a key without scopes has the call refused with 403; it still lists every tool and calls unscoped ones", () => inScope(async (use) => {
    const { ran, server } = await use(serve(serverSdk, { toolScopes: { deploy: ["tools:read"] } }))
    const bob = await use(connect(clientSdk, server.url, { "X-API-Key": KEY_BOB }))
    expect(await bob.toolNames()).toEqual(["whoami", "deploy"])
    expect(String(await rejectionOf(bob.call("deploy")))).toContain("403")
    expect(await bob.call("whoami")).toBe("whoami ran")
    expect(ran).toEqual(["whoami"])
  }))
})
