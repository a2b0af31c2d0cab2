import { MCPServer, APIKeyAuthProvider, getPrincipal } from "@mcpgate/mcp-sdk"
import { Client, StreamableHTTPClientTransport, SSEClientTransport } from "@modelcontextprotocol/client"
import { Client as C1 } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport as S1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
const KEY = "k".repeat(8) + "0123456789abcdef"
for (const sdk of ["v2", "v1"]) for (const type of ["http-stream", "sse"]) {
  const server = new MCPServer({ sdk, transport: { type, options: { port: 0, auth: { provider: new APIKeyAuthProvider({ keys: [{ key: KEY, label: "alice" }] }) } } } })
  server.registerTool("whoami", { description: "who" }, async (x) => ({ content: [{ type: "text", text: JSON.stringify(getPrincipal(x)) }] }))
  await server.start()
  const path = type === "sse" ? "/sse" : "/mcp"
  const url = new URL(path, server.url)
  for (const cl of ["v2", "v1"]) {
    const client = cl === "v2" ? new Client({ name: "c", version: "1" }) : new C1({ name: "c", version: "1" })
    const init = { requestInit: { headers: { "x-api-key": KEY } } }
    const transport = type === "sse" ? new SSEClientTransport(url, init) : cl === "v2" ? new StreamableHTTPClientTransport(url, init) : new S1(url, init)
    await client.connect(transport)
    const r = await client.callTool({ name: "whoami", arguments: {} })
    console.log(sdk, type, cl, r.content[0].text, "sessions", server.sessionCount)
    await client.close()
  }
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }, body: "{}" })
  console.log(res.status, res.headers.get("www-authenticate"), await res.text())
  await server.stop()
}
