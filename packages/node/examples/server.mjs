// A runnable MCP server over HTTP+SSE, guarded by an API key.
//
//   export MCP_API_KEY=$(node -e "console.log(require('node:crypto').randomBytes(24).toString('base64url'))")
//   pnpm --filter @mcpgate/node example          # listens on http://127.0.0.1:8080/sse
//   node packages/node/examples/client.mjs        # in another shell, same MCP_API_KEY
//
// PORT picks the port (0 for any free one). Both endpoints require the key here; the
// reference's defaults would leave the stream (`GET /sse`) open to anyone.
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { SseServer } from "@mcpgate/node"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"

const key = process.env.MCP_API_KEY
if (key === undefined || key === "") {
  console.error("Set MCP_API_KEY first, e.g.:")
  console.error("  export MCP_API_KEY=$(node -e \"console.log(require('node:crypto').randomBytes(24).toString('base64url'))\")")
  process.exit(1)
}

const provider = new APIKeyAuthProvider({ keys: [{ key, label: "example-client" }] })

const running = await SseServer.listen({
  port: Number(process.env.PORT ?? 8080),
  auth: { provider, endpoints: { sse: true, messages: true } },
  onSession: async (transport) => {
    const server = new McpServer({ name: "mcpgate-example", version: "0.1.0" })
    server.registerTool("whoami", { description: "Who the server thinks you are" }, async (extra) => ({
      content: [{ type: "text", text: `You are ${extra.authInfo?.clientId ?? "anonymous"}` }]
    }))
    await server.connect(transport)
  },
  // Never prints a credential: errors here are the server's own.
  onError: (error) => console.error("server error:", error instanceof Error ? error.message : error)
})

console.log(`MCP over SSE on ${new URL("/sse", running.url)}`)

const stop = () => running.close().then(() => process.exit(0))
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
