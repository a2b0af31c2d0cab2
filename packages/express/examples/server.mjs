// A runnable MCP server on Express 5: SDK v2's Express app and Node transport, mcpgate's
// middleware in front of /mcp.
//
//   export MCP_API_KEY=$(node -e "console.log(require('node:crypto').randomBytes(24).toString('base64url'))")
//   node packages/express/examples/server.mjs     # listens on http://127.0.0.1:8080/mcp
//   node packages/express/examples/client.mjs     # in another shell, same MCP_API_KEY
//
// PORT picks the port (0 for any free one). With MCP_JWT_SECRET set as well, Bearer JWTs
// signed with it are accepted besides the key. Every request to /mcp needs a credential;
// a wrong one is answered with mcpgate's exact 401, and 20 of them from one address within
// a minute with the 429.
import { APIKeyAuthProvider, AuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import { requireAuth } from "@mcpgate/express"
import { createMcpExpressApp } from "@modelcontextprotocol/express"
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node"
import { McpServer } from "@modelcontextprotocol/server"

const key = process.env.MCP_API_KEY
if (key === undefined || key === "") {
  console.error("Set MCP_API_KEY first, e.g.:")
  console.error("  export MCP_API_KEY=$(node -e \"console.log(require('node:crypto').randomBytes(24).toString('base64url'))\")")
  process.exit(1)
}
const keys = new APIKeyAuthProvider({ keys: [{ key, label: "example-client", scopes: ["tools:read"] }] })
const secret = process.env.MCP_JWT_SECRET
const provider = secret === undefined || secret === ""
  ? keys
  : AuthProvider.firstOf(keys.service, new JWTAuthProvider({ secret }).service)

const app = createMcpExpressApp() // 127.0.0.1 with Host and Origin checks, JSON bodies
app.disable("x-powered-by")

// Stateless: one SDK server and transport per request; the caller arrives as ctx.http.authInfo.
app.all("/mcp", requireAuth({ provider, requiredScopes: ["tools:read"] }), async (req, res) => {
  const server = new McpServer({ name: "mcpgate-express-example", version: "0.1.0" })
  server.registerTool("whoami", { description: "Who the server thinks you are" }, async (ctx) => ({
    content: [{ type: "text", text: JSON.stringify(ctx.http?.authInfo ?? null) }]
  }))
  const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined })
  res.on("close", () => void transport.close().then(() => server.close()))
  await server.connect(transport)
  await transport.handleRequest(req, res, req.body)
})

const listener = app.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  const { port } = listener.address()
  console.log(`MCP over Streamable HTTP (Express) on http://127.0.0.1:${port}/mcp`)
})

const stop = () => listener.close(() => process.exit(0))
process.on("SIGINT", stop)
process.on("SIGTERM", stop)
