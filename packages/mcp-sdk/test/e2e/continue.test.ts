/**
 * `Expect: 100-continue` on Streamable HTTP: the client's body is asked for only once the
 * request is authenticated, so a refusal goes out before any body is sent, and a client
 * that waits for "100 Continue" is never left hanging.
 */
import { describe, expect, it } from "@effect/vitest"
import { MCPServer } from "@mcpgate/mcp-sdk"
import { apiKeys, KEY_ALICE } from "../fixtures/credentials.js"
import { Bodies } from "@mcpgate/testing/contract"
import { postAfterContinue } from "@mcpgate/testing/wire"
import { inScope, onClose } from "@mcpgate/testing/scoped"


const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 0,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "continue", version: "1" } }
})

describe("Expect: 100-continue on /mcp", () => {
  it.scopedLive("a refused request gets its 401 without being asked for its body; an accepted one gets 100, then its answer", () => inScope(async (use) => {
    const server = new MCPServer({ transport: { type: "http-stream", options: { port: 0, responseMode: "batch", auth: { provider: apiKeys() } } } })
    await use(onClose(() => server.stop()))
    await server.start()
    const mcp = new URL("/mcp", server.url!)

    const refused = await postAfterContinue(mcp, "not-a-configured-key-at-all", initialize)
    expect(refused.statusLines).toEqual(["HTTP/1.1 401 Unauthorized"])
    expect(refused.text.endsWith(Bodies.apiKey)).toBe(true)

    const accepted = await postAfterContinue(mcp, KEY_ALICE, initialize)
    expect(accepted.statusLines).toEqual(["HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"])
    expect(accepted.text).toContain("\"serverInfo\"")
  }))
})
