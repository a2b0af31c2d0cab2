/**
 * `Expect: 100-continue` on Streamable HTTP: the client's body is asked for only once the
 * request is authenticated, so a refusal goes out before any body is sent, and a client
 * that waits for "100 Continue" is never left hanging.
 */
import { describe, expect, it } from "@effect/vitest"
import { MCPServer } from "@mcpgate/mcp-sdk"
import * as net from "node:net"
import { cleanupAfterEach } from "../fixtures/cleanup.js"
import { apiKeys, KEY_ALICE } from "../fixtures/credentials.js"

const defer = cleanupAfterEach()

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "continue", version: "1" } }
})

/** Sends the head, and the body only after "100 Continue"; resolves with the status lines seen and the whole answer. */
const exchange = (port: number, key: string): Promise<{ statusLines: ReadonlyArray<string>; text: string }> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1")
    let text = ""
    let sent = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer within 5 s: ${JSON.stringify(text)}`))
    }, 5000)
    const done = () => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ statusLines: text.split("\r\n").filter((line) => line.startsWith("HTTP/1.1 ")), text })
    }
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
      if (!sent && text.includes("HTTP/1.1 100 Continue\r\n\r\n")) {
        sent = true
        socket.write(initialize)
      }
      if (/HTTP\/1\.1 [2-5]\d\d /.test(text) && (text.includes("\"serverInfo\"") || text.includes("\"error\""))) done()
    })
    socket.on("error", reject)
    socket.write(
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
        `X-API-Key: ${key}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
        `Content-Length: ${Buffer.byteLength(initialize)}\r\nExpect: 100-continue\r\n\r\n`
    )
  })

describe("Expect: 100-continue on /mcp", () => {
  it("a refused request gets its 401 without being asked for its body; an accepted one gets 100, then its answer", async () => {
    const server = new MCPServer({ transport: { type: "http-stream", options: { port: 0, responseMode: "batch", auth: { provider: apiKeys() } } } })
    defer(() => server.stop())
    await server.start()
    const port = Number(server.url!.port)

    const refused = await exchange(port, "not-a-configured-key-at-all")
    expect(refused.statusLines).toEqual(["HTTP/1.1 401 Unauthorized"])
    expect(refused.text.endsWith("{\"error\":\"Invalid API key\",\"status\":401,\"type\":\"authentication_error\"}")).toBe(true)

    const accepted = await exchange(port, KEY_ALICE)
    expect(accepted.statusLines).toEqual(["HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"])
    expect(accepted.text).toContain("\"serverInfo\"")
  })
})
