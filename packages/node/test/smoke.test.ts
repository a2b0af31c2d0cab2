import { describe, expect, it } from "@effect/vitest"
import { apiKeyProvider, KEY_ALICE } from "@mcpgate/testing/credentials"
import { Bodies } from "@mcpgate/testing/contract"
import { head, openStream, rawRequest, sessionIdOf } from "@mcpgate/testing/wire"
import { start } from "./fixtures/servers.js"

describe("smoke", () => {
  it("opens a stream and answers a post", async () => {
    const server = await start({ auth: { provider: apiKeyProvider() }, onSession: (t) => t.start() })
    try {
      const stream = await openStream(server.url, [])
      expect(stream.response.status).toBe(200)
      const endpoint = await stream.next()
      expect(endpoint.event).toBe("endpoint")
      const id = sessionIdOf(endpoint)
      const denied = await rawRequest(server.url, head(`POST /messages?sessionId=${id} HTTP/1.1`, [["Host", "127.0.0.1"], ["Content-Type", "application/json"], ["Content-Length", "2"]]), "{}")
      expect(denied.status).toBe(401)
      expect(denied.body).toBe(Bodies.apiKey)
      const body = JSON.stringify({ jsonrpc: "2.0", method: "ping", id: 1 })
      const ok = await rawRequest(server.url, head(`POST /messages?sessionId=${id} HTTP/1.1`, [["Host", "127.0.0.1"], ["X-API-Key", KEY_ALICE], ["Content-Type", "application/json"], ["Content-Length", String(body.length)]]), body)
      expect(ok.statusLine).toBe("HTTP/1.1 202 Accepted")
      stream.close()
    } finally {
      await server.close()
    }
  })
})
