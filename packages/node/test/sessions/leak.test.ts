/**
 * Many short sessions leave nothing behind: after 1,000 streams opened and dropped (25 at a
 * time), no session is left, the process holds no more handles or listeners than it did
 * before, and every timer a session armed was cleared.
 */
import type { SseServer } from "@mcpgate/node"
import { describe, expect, it, vi } from "@effect/vitest"
import { apiKeyProvider, jwtProvider, KEY_ALICE, tokenFor } from "@mcpgate/testing/credentials"
import { apiKey, bearer, post, sleep, waitFor } from "./support.js"
import type { Header } from "./support.js"
import { openStream } from "@mcpgate/testing/wire"
import { start } from "../fixtures/servers.js"

const CONCURRENCY = 25

/** What could grow if sessions leaked: handles by kind, and listeners on the process and the server. */
const snapshot = (server: SseServer.RunningServer) => {
  const handles: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1
  const listeners = (emitter: NodeJS.EventEmitter) =>
    emitter.eventNames().reduce((sum, name) => sum + emitter.listenerCount(name), 0)
  return {
    handles,
    totalHandles: Object.values(handles).reduce((a, b) => a + b, 0),
    processListeners: listeners(process),
    serverListeners: listeners(server.server)
  }
}

const connections = (server: SseServer.RunningServer): Promise<number> =>
  new Promise((resolve, reject) => server.server.getConnections((error, count) => (error ? reject(error) : resolve(count))))

/** One cycle: open the stream, read the endpoint event, optionally post to it, drop the connection. */
const cycle = async (server: SseServer.RunningServer, headers: ReadonlyArray<Header>, posts: boolean): Promise<void> => {
  const stream = await openStream(server.url, headers)
  try {
    expect(stream.response.status).toBe(200)
    const endpoint = await stream.next()
    if (posts) {
      const id = new URL(endpoint.data, "http://x").searchParams.get("sessionId")!
      expect((await post(server, id, headers)).status).toBe(202)
    }
  } finally {
    stream.close()
  }
  await stream.ended
}

const runCycles = async (count: number, run: (index: number) => Promise<void>): Promise<void> => {
  let next = 0
  const worker = async () => {
    while (next < count) await run(next++)
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

/** Waits until the server has no session and no connection left, and lets the loop settle. */
const quiesce = async (server: SseServer.RunningServer): Promise<void> => {
  await waitFor(() => server.sse.sessionCount() === 0, 3000, "every session to be freed")
  const deadline = Date.now() + 3000
  while ((await connections(server)) > 0) {
    if (Date.now() > deadline) throw new Error(`${await connections(server)} connections still open`)
    await sleep(10)
  }
  await sleep(50)
}

/**
 * Watches the timers armed meanwhile: every interval (heartbeats), and every timeout of more
 * than a minute (credential expiry), must have been cleared by the end.
 */
const watchTimers = () => {
  const setIntervalSpy = vi.spyOn(globalThis, "setInterval")
  const setTimeoutSpy = vi.spyOn(globalThis, "setTimeout")
  const clearIntervalSpy = vi.spyOn(globalThis, "clearInterval")
  const clearTimeoutSpy = vi.spyOn(globalThis, "clearTimeout")
  return {
    report: () => {
      const cleared = new Set<unknown>([...clearIntervalSpy.mock.calls, ...clearTimeoutSpy.mock.calls].map(([timer]) => timer))
      const intervals = setIntervalSpy.mock.results.map((result) => result.value as unknown)
      const longTimeouts = setTimeoutSpy.mock.results
        .filter((_, index) => Number(setTimeoutSpy.mock.calls[index]?.[1]) > 60_000)
        .map((result) => result.value as unknown)
      return {
        intervals: intervals.length,
        intervalsLeft: intervals.filter((timer) => !cleared.has(timer)).length,
        longTimeouts: longTimeouts.length,
        longTimeoutsLeft: longTimeouts.filter((timer) => !cleared.has(timer)).length
      }
    },
    restore: () => {
      for (const spy of [setIntervalSpy, setTimeoutSpy, clearIntervalSpy, clearTimeoutSpy]) spy.mockRestore()
    }
  }
}

const SCENARIOS = [
  {
    name: "API key, stream only",
    cycles: 1000,
    provider: () => apiKeyProvider(),
    headers: async () => apiKey(KEY_ALICE),
    posts: false,
    expiring: false
  },
  {
    name: "JWT (expiry timer armed), with a POST each",
    cycles: 300,
    provider: () => jwtProvider(),
    headers: async () => bearer(await tokenFor("alice")),
    posts: true,
    expiring: true
  }
] as const

describe("connect/disconnect cycles", () => {
  it.each(SCENARIOS)("$cycles cycles, $name: no session, handle, listener or timer left behind", async ({ cycles, expiring, headers, posts, provider }) => {
    let sessions = 0
    const server = await start({
      auth: { provider: provider(), endpoints: { sse: true, messages: true } },
      onSession: (transport) => {
        sessions++
        return transport.start()
      }
    })
    try {
      const credentials = await headers()
      // Warm up, so lazily created resources are counted in the baseline.
      await runCycles(CONCURRENCY * 2, () => cycle(server, credentials, posts))
      await quiesce(server)
      const before = snapshot(server)

      const timers = watchTimers()
      let armed: ReturnType<typeof timers.report>
      try {
        await runCycles(cycles, () => cycle(server, credentials, posts))
        await quiesce(server)
        armed = timers.report()
      } finally {
        timers.restore()
      }
      const after = snapshot(server)

      expect(sessions).toBe(cycles + CONCURRENCY * 2)
      expect(server.sse.sessionCount()).toBe(0)
      expect(after.processListeners).toBeLessThanOrEqual(before.processListeners)
      expect(after.serverListeners).toBeLessThanOrEqual(before.serverListeners)
      // A leaked socket per cycle would be hundreds; allow for a stray timer or two.
      expect(after.totalHandles, JSON.stringify({ before: before.handles, after: after.handles })).toBeLessThanOrEqual(
        before.totalHandles + 2
      )
      expect(after.handles["TCPSocketWrap"] ?? 0).toBeLessThanOrEqual(before.handles["TCPSocketWrap"] ?? 0)
      // Heartbeat and expiry timers are unref'd, so the handle count cannot see them: every
      // one a session armed must have been cleared.
      expect(armed.intervals).toBeGreaterThanOrEqual(cycles)
      expect(armed.intervalsLeft).toBe(0)
      expect(armed.longTimeouts).toBeGreaterThanOrEqual(expiring ? cycles : 0)
      expect(armed.longTimeoutsLeft).toBe(0)
    } finally {
      await server.close()
    }
  }, 15_000)
})
