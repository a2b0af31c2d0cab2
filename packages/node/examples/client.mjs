// Connects to the example server with the MCP SDK's SSE client, lists its tools and calls
// `whoami`. MCP_URL defaults to http://127.0.0.1:8080/sse; MCP_API_KEY must match the server's.
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"

const url = new URL(process.env.MCP_URL ?? "http://127.0.0.1:8080/sse")
const headers = process.env.MCP_API_KEY ? { "X-API-Key": process.env.MCP_API_KEY } : {}

const client = new Client({ name: "mcpgate-example-client", version: "0.1.0" })
try {
  await client.connect(new SSEClientTransport(url, { requestInit: { headers } }))
  const { tools } = await client.listTools()
  console.log("tools:", tools.map((tool) => tool.name).join(", "))
  const result = await client.callTool({ name: "whoami", arguments: {} })
  console.log(result.content[0].text)
} catch (error) {
  console.error("could not talk to the server:", error instanceof Error ? error.message : error)
  process.exitCode = 1
} finally {
  await client.close()
}
