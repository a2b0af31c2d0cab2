// Streamable HTTP with JWTs (HS256): every request needs `Authorization: Bearer <token>`.
//   MCP_JWT_SECRET=<32+ bytes> node examples/http-stream-jwt.mjs
//   then: MCP_TOKEN=<a token signed with the secret, with exp> node examples/client.mjs
import { getPrincipal, JWTAuthProvider, MCPServer } from "@mcpgate/mcp-sdk"

const server = new MCPServer({
  name: "http-stream-jwt-example",
  transport: {
    type: "http-stream",
    options: {
      port: Number(process.env.PORT ?? 8080),
      auth: {
        provider: new JWTAuthProvider({
          secret: process.env.MCP_JWT_SECRET ?? "",
          ...(process.env.MCP_JWT_ISSUER ? { issuer: process.env.MCP_JWT_ISSUER } : {})
        })
      }
    }
  }
})
server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => ({
  content: [{ type: "text", text: JSON.stringify(getPrincipal(ctx)) }]
}))
await server.start()
console.log(`MCP over Streamable HTTP on ${new URL("/mcp", server.url)}`)
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.stop())
