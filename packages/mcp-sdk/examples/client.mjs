// A stock MCP SDK client calling `whoami` on the demo (or any example server here).
//   MCP_URL      the server's endpoint: .../mcp (Streamable HTTP, default) or .../sse (HTTP+SSE)
//   MCP_API_KEY  sent as X-API-Key (MCP_API_KEY_HEADER names another header)
//   MCP_TOKEN    sent as Authorization: Bearer <token> instead
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"

const url = new URL(process.env.MCP_URL ?? "http://127.0.0.1:8080/mcp")
const headers = {}
if (process.env.MCP_API_KEY) headers[process.env.MCP_API_KEY_HEADER ?? "X-API-Key"] = process.env.MCP_API_KEY
if (process.env.MCP_TOKEN) headers.authorization = `Bearer ${process.env.MCP_TOKEN}`

const client = new Client({ name: "mcpgate-example-client", version: "0.1.0" })
const transport = url.pathname.endsWith("/sse")
  ? new SSEClientTransport(url, { requestInit: { headers } })
  : new StreamableHTTPClientTransport(url, { requestInit: { headers } })
try {
  await client.connect(transport)
  const { tools } = await client.listTools()
  console.log(`tools: ${tools.map((tool) => tool.name).join(", ")}`)
  const result = await client.callTool({ name: "whoami", arguments: {} })
  console.log(result.content[0].text)
} catch (error) {
  // The SDK's error carries the server's answer: 401 with mcpgate's exact body.
  console.error(`could not call whoami: ${error.message}`)
  process.exitCode = 1
} finally {
  await client.close()
}
