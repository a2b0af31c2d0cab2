// A Hono app serving MCP behind mcpgate: one file for every Hono runtime. In packages/hono,
// the packages built (`pnpm build` at the root):
//   Bun:      MCP_API_KEY=<16+ characters> bun run examples/app.ts      # PORT picks the port (default 8080)
//   Deno:     MCP_API_KEY=<16+ characters> deno serve -A --host 127.0.0.1 --port 8080 examples/app.ts
//   Workers:  export the app as the Worker (wrangler dev), with clientAddressHeader "CF-Connecting-IP"
//   then: MCP_URL=http://127.0.0.1:8080/mcp MCP_API_KEY=<the same key> node ../mcp-sdk/examples/client.mjs
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { mcpAuth } from "@mcpgate/hono"
import type { McpAuthVariables } from "@mcpgate/hono"
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server"
import { Hono } from "hono"

const mcp = createMcpHandler(() => {
  const server = new McpServer({ name: "hono-example", version: "1.0.0" })
  server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => ({
    content: [{ type: "text", text: ctx.http?.authInfo?.clientId ?? "anonymous" }]
  }))
  return server
})

const app = new Hono<{ Variables: McpAuthVariables }>()
app.use(
  "/mcp",
  mcpAuth({
    provider: new APIKeyAuthProvider({ keys: [process.env.MCP_API_KEY ?? ""] }),
    // Bun hands `fetch` its server, Deno its connection info: each knows the client's address.
    clientAddress: (request, server) => server?.requestIP?.(request)?.address ?? server?.remoteAddr?.hostname
  })
)
app.all("/mcp", (c) => mcp.fetch(c.req.raw, { authInfo: c.get("auth") }))

export default { port: Number(process.env.PORT ?? 8080), hostname: "127.0.0.1", fetch: app.fetch }
