// An MCP server on Bun behind an API key, through the Fetch handler (2026-07-28 clients and
// 2025-era ones alike). Bun gives the client's address with `server.requestIP(request)`.
// In packages/mcp-sdk, the packages built (`pnpm build` at the root):
//   MCP_API_KEY=<16+ visible ASCII characters> bun run examples/fetch-bun.ts    # PORT picks the port (default 8080)
//   then: MCP_API_KEY=<the same key> node examples/client.mjs                   # MCP_URL if not on 8080
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { getPrincipal } from "@mcpgate/mcp-sdk/McpAuthInfo"
import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import { McpServer } from "@modelcontextprotocol/server"

const mcp = createMcpFetchHandler({
  auth: { provider: new APIKeyAuthProvider({ keys: [process.env.MCP_API_KEY ?? ""] }) },
  clientAddress: (request: Request, server: { requestIP(request: Request): { address: string } | null }) =>
    server.requestIP(request)?.address,
  createServer: () => {
    const server = new McpServer({ name: "fetch-bun-example", version: "1.0.0" })
    server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => ({
      content: [{ type: "text", text: JSON.stringify(getPrincipal(ctx)) }]
    }))
    return server
  }
})

const server = Bun.serve({ hostname: "127.0.0.1", port: Number(process.env.PORT ?? 8080), fetch: mcp.fetch })
console.log(`MCP over Streamable HTTP on ${new URL("/mcp", server.url)}`)
