/**
 * How sessions end when something goes wrong: the client leaves, the client stops reading,
 * the server code closes the transport or fails in `onSession`, the server shuts down.
 * Every way frees the session and tells the transport once, with its reason.
 */
import type { SseServer, SseTransport } from "@mcpgate/node"
import { describe, expect, it } from "@effect/vitest"
import * as net from "node:net"
import { apiKeyProvider, KEY_ALICE, KEY_BOB } from "@mcpgate/testing/credentials"
import type { McpClient, Seen } from "../sdk/mcp.js"
import { connectClient, mcpServer, stop } from "../sdk/mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { apiKey, open, post, recorder, waitFor, within } from "./support.js"
import { Bodies } from "@mcpgate/testing/contract"
import { head, openStream, readWholeStream } from "@mcpgate/testing/wire"
import { listening, start } from "../fixtures/servers.js"
import { acquire, inScope } from "@mcpgate/testing/scoped"

const AUTH = { provider: apiKeyProvider(), endpoints: { sse: true, messages: true } } as const

/** A server, stopped with the test's scope (its sessions ended, its connections dropped). */
const serve = (options: Omit<SseServer.SseServerOptions, "auth"> & { readonly auth?: SseServer.SseServerOptions["auth"] }) =>
  acquire(() => start({ auth: AUTH, ...options }), stop)

/** A stream with its endpoint read (see `open`), closed with the test's scope. */
const openAs = (server: SseServer.RunningServer, headers: Parameters<typeof open>[1]) =>
  acquire(() => open(server, headers), ({ stream }) => stream.close())

/** A connected SDK client, closed with the test's scope. */
const connected = (...args: Parameters<typeof connectClient>) =>
  acquire((): Promise<McpClient> => connectClient(...args), (client) => client.close())

describe("the client leaves", () => {
  it.scopedLive("a client that disconnects mid-stream frees its session: onclose once, endReason 'client_gone'", () => inScope(async (use) => {
    const record = recorder()
    const server = await use(serve({ onSession: record.onSession }))
    const { sessionId, stream } = await use(openAs(server, apiKey(KEY_ALICE)))
    const session = record.byId(sessionId)
    await session.transport.send({ jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "hi" } })
    expect((await stream.next()).event).toBe("message")
    expect(server.sse.sessionCount()).toBe(1)

    stream.close()

    await waitFor(() => server.sse.sessionCount() === 0, 2000, "the session to be freed")
    expect(session.transport.endReason).toBe("client_gone")
    expect(session.closes()).toBe(1)
    // Its id is no longer served.
    const gone = await post(server, sessionId, apiKey(KEY_ALICE))
    expect(gone.status).toBe(404)
    expect(gone.body).toBe(Bodies.sessionNotFound)
  }))

  it.scopedLive("an SDK client that closes frees its session", () => inScope(async (use) => {
    const seen: Array<Seen> = []
    const transports: Array<SseTransport> = []
    const server = await use(serve({ onSession: mcpServer("v1", seen, transports) }))
    const client = await connectClient("v1", server.url, { "X-API-Key": KEY_ALICE })
    expect(await client.whoami()).toBe("alice")
    expect(server.sse.sessionCount()).toBe(1)

    await client.close()

    await waitFor(() => server.sse.sessionCount() === 0, 2000, "the session to be freed")
    expect(transports[0]?.endReason).toBe("client_gone")
  }))

  it.scopedLive("send after the client left rejects", () => inScope(async (use) => {
    const record = recorder()
    const server = await use(serve({ onSession: record.onSession }))
    const { sessionId, stream } = await use(openAs(server, apiKey(KEY_ALICE)))
    stream.close()
    await record.byId(sessionId).closed

    await expect(record.byId(sessionId).transport.send({ jsonrpc: "2.0", method: "ping", id: 1 })).rejects.toThrow()
  }))
})

describe("a slow client", () => {
  const CAP = 256 * 1024
  const NOTIFICATION = { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "x".repeat(16 * 1024) } }
  const NOTIFICATION_BYTES = Buffer.byteLength(JSON.stringify(NOTIFICATION))
  // Far more than the kernel's socket buffers take in, so the cap is what stops a non-reader.
  const FLOOD_BYTES = 48 * 1024 * 1024

  /**
   * Sends notifications until the transport refuses (the session ended), `until` holds, or
   * FLOOD_BYTES went out; counts the sends that resolved although the session had ended with them.
   */
  const flood = async (
    transport: SseTransport,
    until: () => boolean = () => false
  ): Promise<{ readonly sent: number; readonly resolvedAfterEnd: number }> => {
    let sent = 0
    let resolvedAfterEnd = 0
    while (sent < FLOOD_BYTES && !until()) {
      try {
        await transport.send(NOTIFICATION)
      } catch {
        return { sent, resolvedAfterEnd }
      }
      if (transport.endReason !== undefined) resolvedAfterEnd++
      sent += NOTIFICATION_BYTES
      // Let the event loop serve everyone else between writes.
      await new Promise((resolve) => setImmediate(resolve))
    }
    return { sent, resolvedAfterEnd }
  }

  /** A raw stream that reads (and counts) everything, or never reads at all; destroyed with the test's scope. */
  const rawStream = (server: SseServer.RunningServer, key: string, reads: boolean) =>
    acquire(() => {
      const socket = net.connect(Number(server.url.port), server.url.hostname)
      let received = 0
      if (reads) socket.on("data", (chunk: Buffer) => (received += chunk.length))
      else socket.pause()
      socket.on("error", () => {})
      socket.write(head("GET /sse HTTP/1.1", [["Host", server.url.host], ["X-API-Key", key]]) + "\r\n")
      return { socket, received: () => received }
    }, ({ socket }) => void socket.destroy())

  it.scopedLive(
    "a stalled client does not hold up another client; past maxBufferedBytes unread it is cut off (endReason 'slow_client') and its connection dropped",
    () => inScope(async (use) => {
      const record = recorder()
      const seen: Array<Seen> = []
      const serveBob = mcpServer("v1", seen)
      const server = await use(serve({
        maxBufferedBytes: CAP,
        onSession: (transport) => transport.principal?.clientId === "alice" ? record.onSession(transport) : serveBob(transport)
      }))
      const serverSockets: Array<net.Socket> = []
      server.server.on("connection", (socket) => serverSockets.push(socket))
      const bob: McpClient = await use(connected("v1", server.url, { "X-API-Key": KEY_BOB }))

      const alice = await use(rawStream(server, KEY_ALICE, false))
      await waitFor(() => record.sessions.length === 1, 2000, "Alice's session")
      const session = record.sessions[0]!
      const aliceServerSocket = serverSockets.find((socket) => socket.remotePort === alice.socket.localPort)
      expect(aliceServerSocket).toBeDefined()

      // Fill Alice's stream until the server holds output she has not read: she is stalled.
      await flood(session.transport, () => aliceServerSocket!.writableLength >= CAP / 2)
      expect(session.transport.endReason).toBeUndefined()
      expect(aliceServerSocket!.writableLength).toBeGreaterThanOrEqual(CAP / 2)

      // Bob's requests and responses go through meanwhile, promptly.
      const started = Date.now()
      expect(await Promise.all([bob.whoami(), bob.whoami(), bob.toolNames()])).toEqual(["bob", "bob", ["whoami"]])
      expect(Date.now() - started).toBeLessThan(1000)
      expect(session.transport.endReason).toBeUndefined()

      // More output for Alice: past the cap she is cut off, and her connection dropped.
      const flooded = await flood(session.transport)
      expect(session.transport.endReason).toBe("slow_client")
      expect(session.closes()).toBe(1)
      expect(flooded.sent).toBeLessThan(FLOOD_BYTES)
      // The send that cut Alice off did not deliver its message, and said so.
      expect(flooded.resolvedAfterEnd).toBe(0)
      expect(alice.received()).toBe(0)
      await waitFor(() => aliceServerSocket!.destroyed, 1000, "Alice's connection to be dropped")
      expect(server.sse.sessionCount()).toBe(1)

      // And after the cut, Bob still is.
      expect(await bob.whoami()).toBe("bob")
      expect(seen).toHaveLength(3)
    }),
    10_000
  )

  it.scopedLive("a client that reads keeps its stream through the same flood", () => inScope(async (use) => {
    const record = recorder()
    const server = await use(serve({ maxBufferedBytes: CAP, onSession: record.onSession }))
    const reader = await use(rawStream(server, KEY_ALICE, true))
    await waitFor(() => record.sessions.length === 1, 2000, "the session")
    const session = record.sessions[0]!

    const flooded = await flood(session.transport)

    expect(flooded.sent).toBeGreaterThanOrEqual(FLOOD_BYTES)
    expect(session.transport.endReason).toBeUndefined()
    await waitFor(() => reader.received() >= FLOOD_BYTES, 5000, "the reader to receive everything")
  }), 10_000)
})

describe("the server code closes the transport", () => {
  it.scopedLive("close ends the stream once (endReason 'closed'); send, start and a second close then change nothing", () => inScope(async (use) => {
    const record = recorder()
    const server = await use(serve({ onSession: record.onSession }))
    const { ended, sessionId } = await use(openAs(server, apiKey(KEY_ALICE)))
    const session = record.byId(sessionId)

    await session.transport.close()

    expect(session.transport.endReason).toBe("closed")
    expect(session.closes()).toBe(1)
    expect(await within(ended, 1000)).toBe("settled")
    expect(server.sse.sessionCount()).toBe(0)
    const error = await rejectionOf(session.transport.send({ jsonrpc: "2.0", method: "ping", id: 1 }))
    expect(error).toBeInstanceOf(Error)
    await expect(session.transport.start()).rejects.toThrow()
    await session.transport.close()
    expect(session.closes()).toBe(1)
    expect(session.transport.endReason).toBe("closed")
  }))

  it.scopedLive("a message posted after close is not delivered: 404", () => inScope(async (use) => {
    const record = recorder()
    const server = await use(serve({ onSession: record.onSession }))
    const { sessionId } = await use(openAs(server, apiKey(KEY_ALICE)))
    await record.byId(sessionId).transport.close()

    const gone = await post(server, sessionId, apiKey(KEY_ALICE))
    expect(gone.status).toBe(404)
    expect(gone.body).toBe(Bodies.sessionNotFound)
    expect(record.byId(sessionId).messages).toEqual([])
  }))

  it.scopedLive("a session is not reachable before start announces it", () => inScope(async (use) => {
    const transports: Array<SseTransport> = []
    const server = await use(serve({ onSession: (transport) => void transports.push(transport) }))
    const stream = await use(acquire(() => openStream(server.url, apiKey(KEY_ALICE)), (stream) => stream.close()))
    await waitFor(() => transports.length === 1, 2000, "the session")

    const early = await post(server, transports[0]!.sessionId, apiKey(KEY_ALICE))
    expect(early.status).toBe(404)
    expect(early.body).toBe(Bodies.sessionNotFound)

    await transports[0]!.start()
    const endpoint = await stream.next()
    expect(endpoint).toEqual({ event: "endpoint", data: `/messages?sessionId=${transports[0]!.sessionId}` })
    expect((await post(server, transports[0]!.sessionId, apiKey(KEY_ALICE))).status).toBe(202)
  }))
})

describe("the MCP server's handlers throw", () => {
  it.scopedLive("an onmessage that throws: onerror hears of it, the POST is still accepted, later messages still arrive", () => inScope(async (use) => {
    const errors: Array<Error> = []
    const delivered: Array<unknown> = []
    const server = await use(serve({
      onSession: (transport) => {
        transport.onmessage = (message) => {
          delivered.push(message["id"])
          if (message["id"] === 1) throw new Error("handler failed")
        }
        transport.onerror = (error) => void errors.push(error)
        return transport.start()
      }
    }))
    const { sessionId } = await use(openAs(server, apiKey(KEY_ALICE)))

    expect((await post(server, sessionId, apiKey(KEY_ALICE), JSON.stringify({ jsonrpc: "2.0", method: "ping", id: 1 }))).status).toBe(202)
    expect((await post(server, sessionId, apiKey(KEY_ALICE), JSON.stringify({ jsonrpc: "2.0", method: "ping", id: 2 }))).status).toBe(202)
    expect(delivered).toEqual([1, 2])
    expect(errors.map((error) => error.message)).toEqual(["handler failed"])
  }))

  it.scopedLive("an onclose that throws when its client leaves: onerror hears of it, the session is freed", () => inScope(async (use) => {
    const errors: Array<Error> = []
    const server = await use(serve({
      onSession: (transport) => {
        transport.onclose = () => {
          throw new Error("onclose failed")
        }
        transport.onerror = (error) => void errors.push(error)
        return transport.start()
      }
    }))
    const { stream } = await use(openAs(server, apiKey(KEY_ALICE)))

    stream.close()

    await waitFor(() => server.sse.sessionCount() === 0, 2000, "the session to be freed")
    expect(errors.map((error) => error.message)).toEqual(["onclose failed"])
  }))

  it.scopedLive("an onclose that throws does not stop server.close() from ending the other streams", () => inScope(async (use) => {
    const record = recorder()
    const server = await use(serve({
      onSession: async (transport) => {
        await record.onSession(transport)
        if (record.sessions.length === 1) {
          transport.onclose = () => {
            throw new Error("onclose failed")
          }
        }
      }
    }))
    await use(openAs(server, apiKey(KEY_ALICE)))
    const bob = await use(openAs(server, apiKey(KEY_BOB)))

    await server.close()

    expect(record.byId(bob.sessionId).transport.endReason).toBe("server_closed")
    expect(await within(bob.ended, 1000)).toBe("settled")
    expect(server.sse.sessionCount()).toBe(0)
  }))
})

describe("server.close()", () => {
  it.scopedLive("ends every stream (endReason 'server_closed') and frees every session", () => inScope(async (use) => {
    const record = recorder()
    const server = await use(listening({ auth: AUTH, onSession: record.onSession }))
    const alice = await use(openAs(server, apiKey(KEY_ALICE)))
    const bob = await use(openAs(server, apiKey(KEY_BOB)))

    const closing = server.close()
    expect(await within(closing, 2000)).toBe("settled")

    for (const { ended, sessionId } of [alice, bob]) {
      const session = record.byId(sessionId)
      expect(session.transport.endReason).toBe("server_closed")
      expect(session.closes()).toBe(1)
      expect(await within(ended, 1000)).toBe("settled")
    }
    expect(server.sse.sessionCount()).toBe(0)
    expect(server.server.listening).toBe(false)
  }))

  it.scopedLive("an SDK client's session ends too", () => inScope(async (use) => {
    const transports: Array<SseTransport> = []
    const server = await use(listening({ auth: AUTH, onSession: mcpServer("v2", [], transports) }))
    const client = await use(connected("v2", server.url, { "X-API-Key": KEY_ALICE }))
    expect(await client.whoami()).toBe("alice")

    expect(await within(server.close(), 2000)).toBe("settled")
    expect(transports[0]?.endReason).toBe("server_closed")
    expect(server.sse.sessionCount()).toBe(0)
  }))
})

describe("onSession fails", () => {
  const boom = new Error("onSession failed")

  it.scopedLive.each([
    { name: "throws", onSession: (): void => { throw boom } },
    { name: "rejects", onSession: async (): Promise<void> => { throw boom } }
  ])("onSession that $name: its stream ends, the session is freed, onError hears of it", ({ onSession }) => inScope(async (use) => {
    const errors: Array<unknown> = []
    const server = await use(serve({ onSession, onError: (error) => errors.push(error) }))

    const stream = await readWholeStream(server.url, apiKey(KEY_ALICE))

    expect(stream.status).toBe(200)
    expect(stream.body).toBe("")
    expect(errors).toEqual([boom])
    expect(server.sse.sessionCount()).toBe(0)
  }))

  it.scopedLive("a failure after start: the endpoint was announced, then the stream ends and the id is gone", () => inScope(async (use) => {
    const errors: Array<unknown> = []
    let sessionId = ""
    const server = await use(serve({
      onSession: async (transport) => {
        sessionId = transport.sessionId
        await transport.start()
        throw boom
      },
      onError: (error) => errors.push(error)
    }))

    const stream = await readWholeStream(server.url, apiKey(KEY_ALICE))

    expect(stream.body).toBe(`event: endpoint\ndata: /messages?sessionId=${sessionId}\n\n`)
    expect(errors).toEqual([boom])
    expect(server.sse.sessionCount()).toBe(0)
    expect((await post(server, sessionId, apiKey(KEY_ALICE))).status).toBe(404)
  }))

  it.scopedLive("an onError that throws too does not take the server down", () => inScope(async (use) => {
    let calls = 0
    const server = await use(serve({
      onSession: (transport) => {
        calls++
        if (calls === 1) throw boom
        return transport.start()
      },
      onError: () => {
        throw new Error("onError failed")
      }
    }))

    expect((await readWholeStream(server.url, apiKey(KEY_ALICE))).status).toBe(200)
    const { sessionId } = await use(openAs(server, apiKey(KEY_ALICE)))
    expect((await post(server, sessionId, apiKey(KEY_ALICE))).status).toBe(202)
    expect(server.sse.sessionCount()).toBe(1)
  }))
})
