// What the servers under test (run in a child process by bench/http.mjs) and the load
// generator (the parent) agree on: the credentials, the tool, the message, and how a child
// reports its addresses and is told to stop.

/** Ten API keys, as a deployment with several clients has; requests present the last. */
export const API_KEYS = Array.from({ length: 10 }, (_, i) => `mcp_bench_key_${String(i).padStart(2, "0")}_5f1c9e2a7b3d4c6e`)
export const GOOD_KEY = API_KEYS.at(-1)
export const BAD_KEY = "mcp_bench_key_99_0000000000000000"

/** The HS256 secret both Streamable HTTP servers verify tokens with (32 bytes and more). */
export const JWT_SECRET = "bench-secret-of-at-least-32-bytes-for-hs256!!"
export const JWT_SUBJECT = "bench-client"

/** The one tool every server has: no arguments, a constant answer, the same bytes everywhere. */
export const TOOL_NAME = "echo"
export const registerTool = (server) =>
  server.registerTool(TOOL_NAME, { description: "Answers ok" }, async () => ({ content: [{ type: "text", text: "ok" }] }))

export const PROTOCOL_VERSION = "2025-06-18"
export const initializeMessage = {
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "bench", version: "1.0.0" } }
}
export const initializedNotification = { jsonrpc: "2.0", method: "notifications/initialized" }

/**
 * The message posted on every timed request: a call of the tool. `[<id>]` is autocannon's
 * placeholder for a fresh id per request (`idReplacement`): many requests are in flight on
 * one session, and the SDK matches answers to requests by id.
 */
export const toolCallTemplate = `{"jsonrpc":"2.0","id":"[<id>]","method":"tools/call","params":{"name":"${TOOL_NAME}","arguments":{}}}`
export const toolCallBody = (id) => toolCallTemplate.replace("[<id>]", String(id))

/**
 * Reports the servers' URLs to the parent, answers its requests for this process's CPU time,
 * and waits to be told to stop. The child also
 * exits if the parent goes away, so an interrupted benchmark leaves no server behind.
 */
export const serveUntilStopped = (urls, close) => {
  process.on("disconnect", () => process.exit(0))
  process.on("message", async (message) => {
    // The parent reads this process's CPU time around each run, to charge it to the server loaded.
    if (message === "cpu") return process.send({ cpu: process.cpuUsage() })
    if (message !== "stop") return
    await Promise.race([close(), new Promise((resolve) => setTimeout(resolve, 2000))])
    process.exit(0)
  })
  process.send({ ready: true, urls })
}
