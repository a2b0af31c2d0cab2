// What the SSE transport's POST path costs over a bare node:http handler doing the least
// the same request needs (read the body, parse JSON, answer 202). Both servers run in this
// process and are measured in alternating rounds, so the ratio is what matters, not the µs.
//
//   pnpm build && node bench/sse-messages.mjs
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { SseServer } from "@mcpgate/node-sse"
import http from "node:http"

const KEY = "mcp_bench_key_5f1c9e2a7b3d"
const ROUNDS = 7
const REQUESTS = 1000
const body = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })

const baseline = http.createServer((req, res) => {
  const chunks = []
  req.on("data", (c) => chunks.push(c))
  req.on("end", () => {
    JSON.parse(Buffer.concat(chunks).toString("utf8"))
    res.writeHead(202, { "content-length": "0" }).end()
  })
})
await new Promise((r) => baseline.listen(0, "127.0.0.1", r))

const running = await SseServer.listen({
  port: 0,
  auth: { provider: new APIKeyAuthProvider({ keys: [KEY] }) },
  onSession: async (transport) => {
    transport.onmessage = () => {}
    await transport.start()
  }
})

// One session, opened the way a client does.
const stream = await fetch(new URL("/sse", running.url))
const reader = stream.body.getReader()
let text = ""
while (!text.includes("\n\n")) text += new TextDecoder().decode((await reader.read()).value)
const endpoint = new URL(/data: (\S+)/.exec(text)[1], running.url)

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const post = (url, headers) =>
  new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json", ...headers } }, (res) => {
      res.resume()
      res.on("end", () => (res.statusCode === 202 ? resolve() : reject(new Error(`status ${res.statusCode}`))))
    })
    req.on("error", reject)
    req.end(body)
  })

const timeRound = async (url, headers) => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < REQUESTS; i++) await post(url, headers)
  return Number(process.hrtime.bigint() - start) / 1000 / REQUESTS
}

const base = `http://127.0.0.1:${baseline.address().port}/`
await timeRound(base, {})
await timeRound(endpoint, { "x-api-key": KEY })
const ours = []
const bare = []
for (let round = 0; round < ROUNDS; round++) {
  bare.push(await timeRound(base, {}))
  ours.push(await timeRound(endpoint, { "x-api-key": KEY }))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
console.log(`POST ${REQUESTS} x ${ROUNDS} rounds, one keep-alive connection`)
console.log(`  bare node:http  ${median(bare).toFixed(1)} µs/request (median round)`)
console.log(`  SseServer       ${median(ours).toFixed(1)} µs/request (API key, session, JSON-RPC check)`)
console.log(`  ratio           ${(median(ours) / median(bare)).toFixed(2)}`)

await reader.cancel()
agent.destroy()
await running.close()
baseline.close()
