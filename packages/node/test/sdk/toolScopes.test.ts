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
import { cleanupAfterEach } from "../fixtures/cleanup.js"
import { apiKeyProvider, KEY_ALICE, KEY_BOB } from "@mcpgate/testing/credentials"
import { start } from "../fixtures/http.js"
import type { Sdk } from "./mcp.js"
import { rejectionOf, SDK_PAIRS, stop } from "./mcp.js"

const defer = cleanupAfterEach()

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

const serve = async (sdk: Sdk, options: Partial<SseServer.SseServerOptions>) => {
  const ran: Array<string> = []
  const server = await start({ auth: { provider: apiKeyProvider() }, ...options, onSession: tools(sdk, ran) })
  defer(() => stop(server))
  return { server, ran }
}

const connect = async (sdk: Sdk, base: URL, headers: Record<string, string>) => {
  const url = new URL("/sse", base)
  const client: any = sdk === "v1"
    ? new ClientV1({ name: "scopes-client-v1", version: "1.0.0" })
    : new ClientV2({ name: "scopes-client-v2", version: "1.0.0" })
  await client.connect(
    sdk === "v1"
      ? new SSEClientTransportV1(url, { requestInit: { headers } })
      : new SSEClientTransportV2(url, { requestInit: { headers } })
  )
  defer(() => client.close())
  return {
    toolNames: async (): Promise<Array<string>> => (await client.listTools()).tools.map((tool: { name: string }) => tool.name),
    call: async (name: string): Promise<string> => (await client.callTool({ name, arguments: {} })).content[0].text
  }
}

describe.each(SDK_PAIRS)("SDK $client client ↔ SDK $server McpServer", ({ client: clientSdk, server: serverSdk }) => {
  it("a key whose entry has the scopes calls the scoped tool", async () => {
    const { ran, server } = await serve(serverSdk, { toolScopes: { deploy: ["tools:read"] } })
    const alice = await connect(clientSdk, server.url, { "X-API-Key": KEY_ALICE })
    expect(await alice.call("deploy")).toBe("deploy ran")
    expect(ran).toEqual(["deploy"])
  })

  it("a key without scopes has the call refused with 403; it still lists every tool and calls unscoped ones", async () => {
    const { ran, server } = await serve(serverSdk, { toolScopes: { deploy: ["tools:read"] } })
    const bob = await connect(clientSdk, server.url, { "X-API-Key": KEY_BOB })
    expect(await bob.toolNames()).toEqual(["whoami", "deploy"])
    expect(String(await rejectionOf(bob.call("deploy")))).toContain("403")
    expect(await bob.call("whoami")).toBe("whoami ran")
    expect(ran).toEqual(["whoami"])
  })
})
