// The legacy HTTP+SSE transport with API keys, as mcp-framework configures it.
//   MCP_API_KEYS=<key>[,<key>...] node examples/sse-api-key.mjs
//   then: MCP_URL=http://127.0.0.1:8080/sse MCP_API_KEY=<key> node examples/client.mjs
import { APIKeyAuthProvider, getPrincipal, MCPServer } from "@mcpgate/mcp-sdk"

const server = new MCPServer({
  name: "sse-api-key-example",
  transport: {
    type: "sse",
    options: {
      port: Number(process.env.PORT ?? 8080),
      auth: {
        provider: new APIKeyAuthProvider({ keys: (process.env.MCP_API_KEYS ?? "").split(",") }),
        // The stream too, not only the messages (mcp-framework's defaults are sse: false, messages: true).
        endpoints: { sse: true, messages: true }
      }
    }
  }
})
server.registerTool("whoami", { description: "Who is calling" }, async (extra) => ({
  content: [{ type: "text", text: JSON.stringify(getPrincipal(extra)) }]
}))
await server.start()
console.log(`MCP over HTTP+SSE on ${new URL("/sse", server.url)}`)
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.stop())
