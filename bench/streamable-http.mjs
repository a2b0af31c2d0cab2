// What mcpgate adds to the MCP SDK's own Streamable HTTP transport on a tool call: the SDK
// transport alone (a session map keyed by Mcp-Session-Id, as the SDK's README builds it)
// against `StreamableHttp.make` with an API key (Origin/Host checks, authentication, session
// binding, credential headers hidden from tools). Both servers run in this process with the
// same SDK v2 server and tool, measured in alternating rounds; the ratio is what matters.
//
//   pnpm build && node bench/streamable-http.mjs
import { APIKeyAuthProvider, StreamableHttp } from "@mcpgate/mcp-sdk"
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node"
import { McpServer } from "@modelcontextprotocol/server"
import { randomUUID } from "node:crypto"
import http from "node:http"

const KEY = "mcp_bench_key_5f1c9e2a7b3d"
const ROUNDS = 7
const REQUESTS = 500

const mcpServer = () => {
  const server = new McpServer({ name: "bench", version: "1.0.0" })
  server.registerTool("echo", { description: "echo" }, async () => ({ content: [{ type: "text", text: "ok" }] }))
  return server
}

// The SDK alone.
const transports = new Map()
const bare = http.createServer(async (req, res) => {
  const id = req.headers["mcp-session-id"]
  let transport = id === undefined ? undefined : transports.get(id)
  if (transport === undefined) {
    transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: true,
      onsessioninitialized: (sid) => transports.set(sid, transport)
    })
    await mcpServer().connect(transport)
  }
  await transport.handleRequest(req, res)
})
await new Promise((resolve) => bare.listen(0, "127.0.0.1", resolve))

// The same behind mcpgate.
const guarded = await StreamableHttp.make({
  auth: { provider: new APIKeyAuthProvider({ keys: [KEY] }) },
  createServer: mcpServer,
  responseMode: "batch",
  sdk: "v2"
})
const ours = http.createServer(guarded.handle)
await new Promise((resolve) => ours.listen(0, "127.0.0.1", resolve))

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const post = (port, headers, message) =>
  new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/mcp",
      method: "POST",
      agent,
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-protocol-version": "2025-06-18",
        ...headers
      }
    }, (res) => {
      const chunks = []
      res.on("data", (chunk) => chunks.push(chunk))
      res.on("end", () =>
        res.statusCode === 200 || res.statusCode === 202
          ? resolve({ sessionId: res.headers["mcp-session-id"], body: Buffer.concat(chunks).toString() })
          : reject(new Error(`status ${res.statusCode}: ${Buffer.concat(chunks)}`)))
    })
    req.on("error", reject)
    req.end(JSON.stringify(message))
  })

const open = async (port, headers) => {
  const { sessionId } = await post(port, headers, {
    jsonrpc: "2.0",
    id: 0,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } }
  })
  await post(port, { ...headers, "mcp-session-id": sessionId }, { jsonrpc: "2.0", method: "notifications/initialized" })
  return { ...headers, "mcp-session-id": sessionId }
}

const call = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "echo", arguments: {} } }
const timeRound = async (port, headers) => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < REQUESTS; i++) await post(port, headers, call)
  return Number(process.hrtime.bigint() - start) / 1000 / REQUESTS
}

const barePort = bare.address().port
const oursPort = ours.address().port
const bareHeaders = await open(barePort, {})
const oursHeaders = await open(oursPort, { "x-api-key": KEY })
await timeRound(barePort, bareHeaders)
await timeRound(oursPort, oursHeaders)
const bareTimes = []
const oursTimes = []
for (let round = 0; round < ROUNDS; round++) {
  bareTimes.push(await timeRound(barePort, bareHeaders))
  oursTimes.push(await timeRound(oursPort, oursHeaders))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`tools/call over Streamable HTTP (SDK v2, JSON answers), ${REQUESTS} x ${ROUNDS} rounds, one keep-alive connection`)
console.log(`  SDK transport alone     ${median(bareTimes).toFixed(1)} µs/call (median round)`)
console.log(`  behind StreamableHttp   ${median(oursTimes).toFixed(1)} µs/call (API key, session binding)`)
console.log(`  ratio                   ${(median(oursTimes) / median(bareTimes)).toFixed(2)}`)

agent.destroy()
await guarded.close()
for (const transport of transports.values()) await transport.close()
bare.close()
ours.close()
