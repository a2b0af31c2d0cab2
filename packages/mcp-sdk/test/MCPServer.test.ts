import { describe, expect, it } from "@effect/vitest"
import { MCPServer, getPrincipal } from "@mcpgate/mcp-sdk"
import { Client as ClientV2, SSEClientTransport as SseV2, StreamableHTTPClientTransport as StreamV2 } from "@modelcontextprotocol/client"
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport as SseV1 } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport as StreamV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { z } from "zod"
import { apiKeys, KEY_ALICE, KEY_BOB } from "./fixtures/credentials.js"

describe("scratch", () => {
  it("explores", async () => {
    for (const sdk of ["v1", "v2"] as const) {
      for (const type of ["sse", "http-stream"] as const) {
        let configured = 0
        const server = new MCPServer({ name: "n", version: "9.9.9", sdk, transport: { type, options: { port: 0, auth: { provider: apiKeys() } } } as any })
        server.registerTool("add", { description: "adds", inputSchema: sdk === "v1" ? { a: z.number(), b: z.number() } : z.object({ a: z.number(), b: z.number() }) }, async (args: any, extra: any) => ({
          content: [{ type: "text", text: `${args.a + args.b} ${getPrincipal(extra)?.clientId}` }]
        }))
        server.registerPrompt("greet", { argsSchema: sdk === "v1" ? { name: z.string() } : z.object({ name: z.string() }) }, (args: any, extra: any) => ({
          messages: [{ role: "user", content: { type: "text", text: `hi ${args.name} from ${getPrincipal(extra)?.clientId}` } }]
        }))
        server.configure(() => { configured++ })
        await server.start()
        const url = new URL(type === "sse" ? "/sse" : "/mcp", server.url)
        const mk = (key: string) => {
          const init = { requestInit: { headers: { "x-api-key": key } } }
          const client: any = sdk === "v1" ? new ClientV1({ name: "c", version: "1" }) : new ClientV2({ name: "c", version: "1" })
          const t: any = type === "sse" ? (sdk === "v1" ? new SseV1(url, init) : new SseV2(url, init)) : (sdk === "v1" ? new StreamV1(url, init) : new StreamV2(url, init))
          return { client, t }
        }
        const a = mk(KEY_ALICE), b = mk(KEY_BOB)
        await a.client.connect(a.t); await b.client.connect(b.t)
        console.log(sdk, type, server.url?.href, server.sessionCount, configured, a.client.getServerVersion())
        console.log(JSON.stringify(await a.client.callTool({ name: "add", arguments: { a: 2, b: 3 } })))
        console.log(JSON.stringify(await b.client.callTool({ name: "add", arguments: { a: 2, b: 3 } })))
        try { console.log(JSON.stringify(await b.client.callTool({ name: "add", arguments: { a: "x", b: 3 } }))) } catch (e) { console.log("threw", String(e)) }
        console.log(JSON.stringify(await b.client.getPrompt({ name: "greet", arguments: { name: "Bo" } })))
        console.log(JSON.stringify((await b.client.listTools()).tools))
        await a.client.close(); await b.client.close()
        await new Promise((r) => setTimeout(r, 50))
        console.log("after close", server.sessionCount, configured)
        console.log(process.getActiveResourcesInfo())
        const t0 = Date.now()
        await server.stop()
        console.log("stop took", Date.now() - t0)
        console.log("after stop", server.sessionCount, process.getActiveResourcesInfo())
      }
    }
  }, 60000)
})
