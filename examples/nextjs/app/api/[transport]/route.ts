// An MCP server as a Next.js App Router route handler: `/api/mcp` serves MCP (the
// 2026-07-28 protocol and, statelessly, 2025-era clients) behind mcpgate. The `[transport]`
// segment is the convention of Vercel's `mcp-handler`; here only `mcp` is served, and any
// other segment is answered 404 by the handler itself.
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { getPrincipal } from "@mcpgate/mcp-sdk/McpAuthInfo"
import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import { McpServer } from "@modelcontextprotocol/server"
import * as z from "zod"

// Keys from the environment, one per line or comma-separated: never in the source.
const keys = (process.env.MCP_API_KEYS ?? "").split(/[\n,]/).map((key) => key.trim()).filter((key) => key.length > 0)

const handler = createMcpFetchHandler({
  auth: { provider: new APIKeyAuthProvider({ keys }) },
  endpoint: "/api/mcp",
  healthEndpoint: false,
  // Behind Vercel (or any proxy you run), the platform names the client; locally `next dev`
  // is reached directly and sets no such header, so failed-attempt limiting is then off,
  // and the handler says so once.
  clientAddressHeader: process.env.MCP_CLIENT_ADDRESS_HEADER ?? "x-real-ip",
  createServer: () => {
    const server = new McpServer({ name: "nextjs-example", version: "1.0.0" })
    server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => ({
      content: [{ type: "text", text: JSON.stringify(getPrincipal(ctx)) }]
    }))
    server.registerTool(
      "echo",
      { description: "Echoes a message, with who asked", inputSchema: z.object({ message: z.string() }) },
      async ({ message }, ctx) => ({
        content: [{ type: "text", text: `${ctx.http?.authInfo?.clientId ?? "anonymous"}: ${message}` }]
      })
    )
    return server
  }
})

// Next.js calls each exported method with the web-standard `Request`.
const serve = (request: Request): Promise<Response> => handler.fetch(request)
export { serve as DELETE, serve as GET, serve as OPTIONS, serve as POST }
