// An MCP SDK server of your own, made authenticated: StreamableHttp.make puts the SDK's own
// Streamable HTTP transport behind mcpgate on your node:http server.
//   MCP_API_KEYS=<key> node examples/existing-sdk-server.mjs
import { APIKeyAuthProvider, StreamableHttp } from "@mcpgate/mcp-sdk"
import { McpServer } from "@modelcontextprotocol/server"
import { createServer } from "node:http"

// Your server, as it was.
const buildServer = () => {
  const server = new McpServer({ name: "existing-sdk-server", version: "1.0.0" })
  server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => ({
    content: [{ type: "text", text: JSON.stringify({ clientId: ctx.http?.authInfo?.clientId }) }]
  }))
  return server
}

// The lines that add authentication.
const mcp = await StreamableHttp.makePromise({
  auth: { provider: new APIKeyAuthProvider({ keys: (process.env.MCP_API_KEYS ?? "").split(",") }) },
  createServer: buildServer
})
const http = createServer(mcp.handle).listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  console.log(`MCP over Streamable HTTP on http://127.0.0.1:${http.address().port}/mcp`)
})
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    await mcp.close()
    http.close()
    http.closeAllConnections()
  })
}
