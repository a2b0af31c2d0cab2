/**
 * An open stream carries a comment line every `heartbeat` seconds, so proxies and clients
 * do not take a quiet stream for a dead one; comments are not events.
 */
import { describe, expect, it } from "@effect/vitest"
import { apiKeyProvider, KEY_ALICE } from "@mcpgate/testing/credentials"
import { sleep } from "./support.js"
import { openStream } from "@mcpgate/testing/wire"
import { start } from "../fixtures/servers.js"

describe("heartbeat", () => {
  it("a started stream gets `: keep-alive` comments at the configured interval, and no extra events", async () => {
    const server = await start({
      auth: { provider: apiKeyProvider(), endpoints: { sse: true } },
      heartbeat: 0.05,
      onSession: (transport) => transport.start()
    })
    try {
      const stream = await openStream(server.url, [["X-API-Key", KEY_ALICE]])
      expect((await stream.next()).event).toBe("endpoint")
      await sleep(400)
      // About eight at 50 ms; timers on a loaded machine run late, never early.
      expect(stream.comments()).toBeGreaterThanOrEqual(3)
      expect(stream.comments()).toBeLessThanOrEqual(9)
      await expect(stream.next(100)).rejects.toThrow("no event within 100 ms")
      stream.close()
    } finally {
      await server.close()
    }
  })

  it("no comment before the session starts, and none after it ends", async () => {
    let startTransport: (() => Promise<void>) | undefined
    const server = await start({
      auth: { provider: apiKeyProvider(), endpoints: { sse: true } },
      heartbeat: 0.05,
      onSession: (transport) => {
        startTransport = () => transport.start()
      }
    })
    try {
      const stream = await openStream(server.url, [["X-API-Key", KEY_ALICE]])
      await sleep(200)
      expect(stream.comments()).toBe(0)
      await startTransport!()
      expect((await stream.next()).event).toBe("endpoint")
      await server.sse.close()
      await stream.ended
      const after = stream.comments()
      await sleep(200)
      expect(stream.comments()).toBe(after)
    } finally {
      await server.close()
    }
  })
})
