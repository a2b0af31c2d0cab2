// An MCP server on Deno behind an API key, through the Fetch handler. Deno hands its
// handler the connection's details: the client's address is `info.remoteAddr.hostname`.
// In packages/mcp-sdk, the packages built (`pnpm build` at the root):
//   MCP_API_KEY=<16+ visible ASCII characters> deno run -A examples/fetch-deno.ts    # PORT picks the port (default 8080)
//   then: MCP_API_KEY=<the same key> node examples/client.mjs                        # MCP_URL if not on 8080
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { getPrincipal } from "@mcpgate/mcp-sdk/McpAuthInfo"
import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import { McpServer } from "@modelcontextprotocol/server"

const mcp = createMcpFetchHandler({
  auth: { provider: new APIKeyAuthProvider({ keys: [Deno.env.get("MCP_API_KEY") ?? ""] }) },
  clientAddress: (_request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => info.remoteAddr.hostname,
  createServer: () => {
    const server = new McpServer({ name: "fetch-deno-example", version: "1.0.0" })
    server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => ({
      content: [{ type: "text", text: JSON.stringify(getPrincipal(ctx)) }]
    }))
    return server
  }
})

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 8080),
  onListen: ({ hostname, port }) => console.log(`MCP over Streamable HTTP on http://${hostname}:${port}/mcp`)
}, mcp.fetch)
