/**
 * The HTTP tests' server: sessions that echo, and record what reached them, on a server
 * that is a scoped resource (it and the streams opened on it close with the test's scope).
 */
import type { JsonRpcMessage, MessageExtra, SseServer, SseTransport } from "@mcpgate/node"
import { expect } from "@effect/vitest"
import { acquire } from "@mcpgate/testing/scoped"
import type { ExchangeOptions, HeaderLines, OpenStream, OpenStreamOptions, RawResponse } from "@mcpgate/testing/wire"
import { ask, openStream } from "@mcpgate/testing/wire"
import type * as net from "node:net"
import { start } from "../fixtures/servers.js"

// ---------------------------------------------------------------------------------------
// A server whose sessions echo: every request on the stream gets a reply naming its method
// and the caller's client id; everything delivered is recorded.

export interface Delivered {
  readonly sessionId: string
  readonly message: JsonRpcMessage
  readonly extra: MessageExtra | undefined
}

export interface Harness {
  readonly url: URL
  /** `127.0.0.1:<port>`. */
  readonly host: string
  readonly running: SseServer.RunningServer
  readonly delivered: Array<Delivered>
  readonly transports: Array<SseTransport>
  /** What the server reported to `onError`; a well-behaved server reports nothing here. */
  readonly errors: Array<unknown>
  readonly ask: (method: string, path: string, headers: HeaderLines, body?: Buffer | string, options?: ExchangeOptions) => Promise<RawResponse>
  /** Opens a stream with a raw `GET`, whatever the answer; it closes with the server. */
  readonly openRaw: (headers: HeaderLines, options?: OpenStreamOptions) => Promise<OpenStream>
  /** Opens a stream; its endpoint event has been read. */
  readonly open: (headers: HeaderLines, path?: string) => Promise<Session>
  /** Posts a body (default: a `ping` request) to a session as `application/json`. */
  readonly post: (sessionId: string, headers: HeaderLines, body?: Buffer | string) => Promise<RawResponse>
}

export interface Session {
  readonly id: string
  readonly stream: OpenStream
  readonly endpoint: string
  /** Resolves when the server ends the stream: the last chunk of the chunked body, or the connection closing. */
  readonly ended: Promise<void>
}


export type HarnessOptions = Omit<SseServer.SseServerOptions, "onSession"> & {
  readonly onSession?: SseServer.SseServerOptions["onSession"]
}

/**
 * A server on 127.0.0.1 with echoing sessions, as a scoped resource: the streams opened
 * through it, then the server, close with the scope.
 */
export const serve = (options: HarnessOptions) =>
  acquire(() => startHarness(options), ({ close }) => close())

const startHarness = async (options: HarnessOptions): Promise<Harness & { readonly close: () => Promise<void> }> => {
  const sockets: Array<net.Socket> = []
  const delivered: Array<Delivered> = []
  const transports: Array<SseTransport> = []
  const errors: Array<unknown> = []
  const echo = async (transport: SseTransport) => {
    transports.push(transport)
    transport.onmessage = (message, extra) => {
      delivered.push({ sessionId: transport.sessionId, message, extra })
      if (typeof message["method"] === "string" && "id" in message) {
        void transport.send({
          jsonrpc: "2.0",
          id: message["id"],
          result: { echo: message["method"], clientId: extra?.authInfo?.clientId ?? null }
        })
      }
    }
    await transport.start()
  }
  const server = await start({
    // These tests pin the bytes of answers, hundreds of refusals from one address each; the
    // failed-attempt limit has tests of its own (test/rateLimit/), so it is off unless asked for.
    ...(options.gate === undefined && options.rateLimit === undefined ? { rateLimit: false as const } : {}),
    ...options,
    onSession: options.onSession ?? echo,
    onError: (error) => {
      errors.push(error)
      options.onError?.(error)
    }
  })
  const url = server.url
  const host = `${url.hostname}:${url.port}`
  const harness: Harness = {
    url,
    host,
    running: server,
    delivered,
    transports,
    errors,
    ask: (method, path, headers, body, exchangeOptions) => ask(url, method, path, headers, body, exchangeOptions),
    openRaw: async (headers, openOptions = {}) => {
      const stream = await openStream(url, headers, openOptions)
      sockets.push(stream.socket)
      return stream
    },
    open: async (headers, path = "/sse") => {
      const stream = await openStream(url, headers, { path })
      sockets.push(stream.socket)
      const ended = stream.ended
      expect(stream.response.statusLine, stream.response.body).toBe("HTTP/1.1 200 OK")
      const event = await stream.next()
      expect(event.event).toBe("endpoint")
      const id = new URL(event.data, "http://x").searchParams.get("sessionId")!
      return { id, stream, endpoint: event.data, ended }
    },
    post: (sessionId, headers, body = ping(1)) =>
      ask(url, "POST", `/messages?sessionId=${sessionId}`, [["Content-Type", "application/json"], ...headers], body)
  }
  const close = async () => {
    for (const socket of sockets) socket.destroy()
    await server.close()
  }
  return { ...harness, close }
}

/** A `ping` request with an id. */
export const ping = (id: number | string): string => JSON.stringify({ jsonrpc: "2.0", method: "ping", id })

/** The JSON-RPC reply the echo session sends for a request. */
export const echoReply = (id: number | string, method: string, clientId: string | null) =>
  ({ jsonrpc: "2.0", id, result: { echo: method, clientId } })

/** Waits until `condition` holds, or fails after `timeoutMs`. */
export const eventually = async (condition: () => boolean, timeoutMs = 2000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time")
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Lets pending I/O and timers run, so that something that should not happen would have. */
export const settle = (ms = 50): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
