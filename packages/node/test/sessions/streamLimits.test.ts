/**
 * Caps on open SSE streams, as an attacker without a credential meets them: with
 * `endpoints.sse` open (the reference's default) anyone may open a stream, so streams without
 * an owner are counted per client (429) and for the server (503), and end after
 * `anonymousStreamTimeout` unless a `POST` binds an owner. A client that sends its credential
 * with its `GET` is never counted against those caps, only against `maxStreams`, which stays
 * above them: it is served whatever an anonymous flood holds.
 * Also the timeouts of the server `listen` makes: slow heads are cut, open streams are not.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core"
import { NodeHttp, SseServer } from "@mcpgate/node"
import * as net from "node:net"
import { apiKeyProvider, KEY_ALICE, KEY_BOB } from "@mcpgate/testing/credentials"
import { Answer, Bodies } from "@mcpgate/testing/contract"
import type { OpenStream } from "@mcpgate/testing/wire"
import { expectAnswer } from "@mcpgate/testing/wire"
import type { Expected } from "@mcpgate/testing/contract"
import type { Harness } from "../http/harness.js"
import { eventually, serve } from "../http/harness.js"
import { inScope } from "@mcpgate/testing/scoped"



/** The 429 and 503 written out here, independently of the library, but for `Retry-After`. */
const tooMany = (retryAfter: string): Expected => ({
  statusLine: "HTTP/1.1 429 Too Many Requests",
  headers: {
    "content-type": "application/json",
    "cache-control": "no-store",
    "retry-after": retryAfter,
    "content-length": String(Buffer.byteLength(Bodies.tooManySessions))
  },
  body: Bodies.tooManySessions
})
const unavailable = (retryAfter: string): Expected => ({
  statusLine: "HTTP/1.1 503 Service Unavailable",
  headers: {
    "content-type": "application/json",
    "cache-control": "no-store",
    "retry-after": retryAfter,
    "content-length": String(Buffer.byteLength(Bodies.serverFull))
  },
  body: Bodies.serverFull
})

/** A `GET /sse` from `from` (a loopback address), kept open (until the server closes) if it was served. */
const get = (server: Harness, from: string, headers: ReadonlyArray<readonly [string, string]> = []) =>
  server.openRaw(headers, { localAddress: from })

/** `Retry-After` of a refusal: whole seconds, at least 1, at most `max`. */
const retryAfterOf = (stream: OpenStream, max: number): string => {
  const value = stream.response.header("retry-after")!
  expect(Number(value)).toBeGreaterThanOrEqual(1)
  expect(Number(value)).toBeLessThanOrEqual(max)
  return value
}

const ALICE: ReadonlyArray<readonly [string, string]> = [["X-API-Key", KEY_ALICE]]

describe("per client: streams without an owner", () => {
  it.scopedLive("past maxAnonymousStreamsPerClient: 429 with Retry-After until the oldest may end; the connection closes", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, maxAnonymousStreamsPerClient: 3 }))
    for (let i = 0; i < 3; i++) expect((await get(server, "127.0.0.1")).response.status).toBe(200)
    const refused = await get(server, "127.0.0.1")
    expectAnswer(refused.response, tooMany(retryAfterOf(refused, 60)))
    expect(refused.response.header("connection")).toBe("close")
    // Another client is not affected, nor one of this client's that sends its credential.
    expect((await get(server, "127.0.0.2")).response.status).toBe(200)
    expect((await get(server, "127.0.0.1", ALICE)).response.status).toBe(200)
    expect(server.running.sse.sessionCount()).toBe(5)
  }))

  it.scopedLive("a stream that ends, or that a POST binds to an owner, frees its place", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, maxAnonymousStreamsPerClient: 2 }))
    const first = await server.open([])
    const second = await server.open([])
    expect((await get(server, "127.0.0.1")).response.status).toBe(429)

    expectAnswer(await server.post(first.id, ALICE), Answer.accepted())
    expect((await get(server, "127.0.0.1")).response.status).toBe(200)
    expect((await get(server, "127.0.0.1")).response.status).toBe(429)

    // The client leaves one of its anonymous streams.
    second.stream.close()
    await eventually(() => server.transports[1]!.endReason !== undefined)
    expect(server.transports[1]!.endReason).toBe("client_gone")
    expect((await get(server, "127.0.0.1")).response.status).toBe(200)
  }))
})

describe("for the server: every client's anonymous streams, and all streams", () => {
  it.scopedLive("past maxAnonymousStreams: 503 with Retry-After for anonymous streams; a credential is still served", () => inScope(async (use) => {
    const server = await use(serve({
      auth: { provider: apiKeyProvider() },
      maxAnonymousStreamsPerClient: 2,
      maxAnonymousStreams: 4,
      maxStreams: 6
    }))
    for (const from of ["127.0.0.2", "127.0.0.2", "127.0.0.3", "127.0.0.3"]) {
      expect((await get(server, from)).response.status).toBe(200)
    }
    const refused = await get(server, "127.0.0.4")
    expectAnswer(refused.response, unavailable(retryAfterOf(refused, 60)))
    // Authenticated streams find the room kept for them, up to maxStreams.
    expect((await get(server, "127.0.0.4", ALICE)).response.status).toBe(200)
    expect((await get(server, "127.0.0.4", [["X-API-Key", KEY_BOB]])).response.status).toBe(200)
    const full = await get(server, "127.0.0.5", ALICE)
    expectAnswer(full.response, unavailable(retryAfterOf(full, 60)))
  }))

  it.scopedLive("maxAnonymousStreams defaults to a quarter of maxStreams", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, maxStreams: 8 }))
    expect((await get(server, "127.0.0.2")).response.status).toBe(200)
    expect((await get(server, "127.0.0.3")).response.status).toBe(200)
    expect((await get(server, "127.0.0.4")).response.status).toBe(503)
  }))
})

describe("anonymousStreamTimeout", () => {
  it.scopedLive("a stream nobody claims ends after it; one bound by a POST, or opened with a credential, stays", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, anonymousStreamTimeout: 0.5 }))
    const started = Date.now()
    const unclaimed = await server.open([])
    const claimed = await server.open([])
    await server.open(ALICE)
    expectAnswer(await server.post(claimed.id, ALICE), Answer.accepted())

    await unclaimed.ended
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(450)
    expect(waited).toBeLessThan(1500)
    const [first, second, third] = server.transports
    expect(first!.endReason).toBe("unclaimed")
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(second!.endReason).toBeUndefined()
    expect(third!.endReason).toBeUndefined()
    expect(server.running.sse.sessionCount()).toBe(2)
  }))
})

describe("options", () => {
  const refusal = (options: Partial<SseServer.SseServerOptions>): string => {
    try {
      SseServer.unsafeMake({ auth: { provider: apiKeyProvider() }, onSession: () => {}, ...options })
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
      return (error as Error).message
    }
    throw new Error("expected the options to be refused")
  }

  it("caps are positive whole numbers, the timeout a positive duration a timer can wait", () => {
    expect(refusal({ maxStreams: 0 })).toContain("maxStreams: 0 is not a positive whole number")
    expect(refusal({ maxAnonymousStreamsPerClient: 2.5 })).toContain("2.5 is not a positive whole number")
    expect(refusal({ anonymousStreamTimeout: "soon" })).toContain("\"soon\" is not a duration")
    expect(refusal({ anonymousStreamTimeout: 0 })).toContain("must be more than 0 seconds")
    // Longer than a timer can wait: Node would fire it at once.
    expect(refusal({ anonymousStreamTimeout: "30d" })).toContain("must be at most 2073600 seconds (24 days)")
  })

  it("anonymous streams must leave room for those opened with a credential", () => {
    expect(refusal({ maxStreams: 10, maxAnonymousStreams: 10 })).toContain(
      "maxAnonymousStreams (10) must be below maxStreams (10), so that streams opened with a credential always find room"
    )
    expect(refusal({ maxAnonymousStreams: 1000 })).toContain("must be below maxStreams (1000)")
  })
})

describe("the timeouts of listen's server", () => {
  it.scopedLive("are set: 10 s for a head, 60 s for a request, 5 s kept alive", () => inScope(async (use) => {
    const { running } = await use(serve({ auth: { provider: apiKeyProvider() } }))
    expect(running.server.headersTimeout).toBe(NodeHttp.SERVER_TIMEOUTS.headersTimeout)
    expect(running.server.requestTimeout).toBe(NodeHttp.SERVER_TIMEOUTS.requestTimeout)
    expect(running.server.keepAliveTimeout).toBe(NodeHttp.SERVER_TIMEOUTS.keepAliveTimeout)
    expect(NodeHttp.SERVER_TIMEOUTS).toEqual({
      headersTimeout: 10_000,
      requestTimeout: 60_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000
    })
  }))

  it.scopedLive("cut a connection that sends its head slowly, or nothing; an open stream outlives the request timeout", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, heartbeat: 0.2 }))
    const { running, url } = server
    // Shortened here so the test is quick; checked every second, as `listen` sets it.
    running.server.headersTimeout = 400
    running.server.requestTimeout = 800
    const stream = await server.openRaw(ALICE)
    expect(stream.response.status).toBe(200)

    const closedAfter = (write: (socket: net.Socket) => void) =>
      new Promise<{ readonly ms: number; readonly received: string }>((resolve) => {
        const started = Date.now()
        const socket = net.connect(Number(url.port), url.hostname)
        let received = ""
        socket.on("data", (chunk: Buffer) => (received += chunk.toString("latin1")))
        socket.on("error", () => {})
        socket.on("close", () => resolve({ ms: Date.now() - started, received }))
        write(socket)
        setTimeout(() => socket.destroy(), 4000)
      })
    const [slowHead, silent] = await Promise.all([
      closedAfter((socket) => {
        socket.write(`GET /sse HTTP/1.1\r\nHost: ${url.host}\r\n`)
        const drip = setInterval(() => socket.writable && socket.write("a: b\r\n"), 100)
        socket.on("close", () => clearInterval(drip))
      }),
      closedAfter(() => {})
    ])
    for (const cut of [slowHead, silent]) {
      expect(cut.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
      expect(cut.ms).toBeLessThan(3000)
    }
    // The stream, whose request was complete with its head, is still open and beating.
    const beats = stream.comments()
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(stream.comments()).toBeGreaterThan(beats)
    expect(running.sse.sessionCount()).toBe(1)
  }))
})
