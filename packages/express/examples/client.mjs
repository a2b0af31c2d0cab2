// A stock MCP SDK client for server.mjs: lists the tools and calls `whoami` with the key
// (MCP_API_KEY) or a token (MCP_TOKEN) as the server expects them.
//
//   MCP_URL=http://127.0.0.1:8080/mcp MCP_API_KEY=... node packages/express/examples/client.mjs
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"

const url = new URL(process.env.MCP_URL ?? "http://127.0.0.1:8080/mcp")
const headers = process.env.MCP_TOKEN ? { Authorization: `Bearer ${process.env.MCP_TOKEN}` } : { "X-API-Key": process.env.MCP_API_KEY ?? "" }

const client = new Client({ name: "mcpgate-express-example-client", version: "0.1.0" })
try {
  await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers } }))
  const { tools } = await client.listTools()
  console.log(`tools: ${tools.map((tool) => tool.name).join(", ")}`)
  const result = await client.callTool({ name: "whoami", arguments: {} })
  console.log(result.content[0].text)
  await client.close()
} catch (error) {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
}
