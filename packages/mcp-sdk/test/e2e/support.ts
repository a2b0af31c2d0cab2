/**
 * What the end-to-end tests share: servers started through the public API and stopped after
 * each test, clients closed before them, raw HTTP on a real socket (exact status lines,
 * headers and bodies), a raw `GET` stream that reports when the server ends it, and the
 * contract's bodies written out here, independently of the library.
 */
import { expect } from "@effect/vitest"
import { MCPServer } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import type { HttpStreamTransportOptions, SseTransportOptions } from "@mcpgate/mcp-sdk/MCPServer"
import * as net from "node:net"
import { cleanupAfterEach } from "../fixtures/cleanup.js"
import type { McpClient, Sdk, Seen, Transport } from "../fixtures/mcp.js"
import { connect, registerWhoami } from "../fixtures/mcp.js"

// ---------------------------------------------------------------------------------------
// The contract's answers (sections 1 and 2), and the SDK's own answer for an unknown session.

export const Bodies = {
  apiKey: `{"error":"Invalid API key","status":401,"type":"authentication_error"}`,
  jwt: `{"error":"Invalid or expired JWT token","status":401,"type":"authentication_error"}`,
  sessionForbidden: `{"error":"Session belongs to another identity","status":403,"type":"authorization_error"}`,
  originNotAllowed: `{"error":"Origin not allowed","status":403,"type":"authorization_error"}`,
  notFound: `{"error":"Not found","status":404,"type":"not_found_error"}`,
  health: `{"ok":true}`,
  rateLimited: `{"error":"Too many failed authentication attempts","status":429,"type":"rate_limit_error"}`,
  /** Streamable HTTP: the MCP SDK transport's own 404 for a session it does not know. */
  sdkSessionNotFound: `{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}`
} as const

export const Challenge = {
  apiKey: `ApiKey realm="mcp", header="X-API-Key"`,
  bearer: `Bearer realm="mcp"`,
  invalidToken: `Bearer realm="mcp", error="invalid_token"`
} as const

// ---------------------------------------------------------------------------------------
// Raw HTTP.

export type Header = readonly [string, string]
export type HeaderLines = ReadonlyArray<Header>

export interface RawResponse {
  readonly statusLine: string
  readonly status: number
  /** Header lines in order, names lower-cased. */
  readonly headers: ReadonlyArray<readonly [string, string]>
  /** The one value of a header; fails the test if it was sent more than once. */
  readonly header: (name: string) => string | undefined
  readonly body: string
}

const parseHead = (text: string): Omit<RawResponse, "body"> => {
  const [statusLine, ...lines] = text.split("\r\n")
  const headers = lines.map((line) => {
    const colon = line.indexOf(":")
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const
  })
  const header = (name: string) => {
    const values = headers.filter(([n]) => n === name).map(([, value]) => value)
    expect(values.length, `header ${name} sent ${values.length} times`).toBeLessThanOrEqual(1)
    return values[0]
  }
  return { statusLine: statusLine!, status: Number(statusLine!.split(" ")[1]), headers, header }
}

/** Undefined until the last chunk has arrived. */
const dechunk = (data: Buffer): Buffer | undefined => {
  const parts: Array<Buffer> = []
  let offset = 0
  for (;;) {
    const lineEnd = data.indexOf("\r\n", offset)
    if (lineEnd < 0) return undefined
    const size = parseInt(data.subarray(offset, lineEnd).toString("latin1"), 16)
    if (size === 0) return Buffer.concat(parts)
    if (data.length < lineEnd + 2 + size + 2) return undefined
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
    offset = lineEnd + 2 + size + 2
  }
}

/** One complete answer in `data`, or undefined if more bytes are needed. */
const parseResponse = (data: Buffer, closed = false): RawResponse | undefined => {
  const headEnd = data.indexOf("\r\n\r\n")
  if (headEnd < 0) return undefined
  const head = parseHead(data.subarray(0, headEnd).toString("latin1"))
  const rest = data.subarray(headEnd + 4)
  const length = head.headers.find(([name]) => name === "content-length")?.[1]
  const chunked = head.headers.some(([name, value]) => name === "transfer-encoding" && value === "chunked")
  let body: Buffer | undefined
  if (length !== undefined) body = rest.length < Number(length) ? undefined : rest.subarray(0, Number(length))
  else if (chunked) body = dechunk(rest)
  // Neither length nor chunks: the body is what came before the connection closed (RFC 9112 6.3).
  else body = head.status === 204 || head.status === 304 ? Buffer.alloc(0) : closed ? rest : undefined
  return body === undefined ? undefined : { ...head, body: body.toString("utf8") }
}

const connectTo = (base: URL, localAddress?: string): net.Socket =>
  net.connect({
    port: Number(base.port),
    host: base.hostname.replace(/^\[|\]$/g, ""),
    ...(localAddress === undefined ? {} : { localAddress })
  })

/**
 * Sends one request on a fresh connection and resolves with the complete answer. `Host`
 * (the server's own address) and `Content-Length` are added unless given. Rejects when no
 * complete answer arrives within `timeoutMs`: a hang is a failure, not a stuck run.
 */
export const send = (
  base: URL,
  method: string,
  path: string,
  headers: HeaderLines = [],
  body?: string,
  timeoutMs = 3000
): Promise<RawResponse> => exchange(base, method, path, headers, body, timeoutMs, undefined)

/**
 * `send` from another loopback address (`127.0.0.2`, say): Linux routes all of 127.0.0.0/8
 * to loopback, so to the server it is another client.
 */
export const sendFrom = (
  localAddress: string,
  base: URL,
  method: string,
  path: string,
  headers: HeaderLines = [],
  body?: string
): Promise<RawResponse> => exchange(base, method, path, headers, body, 3000, localAddress)

const exchange = (
  base: URL,
  method: string,
  path: string,
  headers: HeaderLines,
  body: string | undefined,
  timeoutMs: number,
  localAddress: string | undefined
): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const lines: Array<Header> = []
    if (!headers.some(([name]) => name.toLowerCase() === "host")) lines.push(["Host", base.host])
    lines.push(...headers)
    if (body !== undefined) lines.push(["Content-Length", String(Buffer.byteLength(body))])
    lines.push(["Connection", "close"])
    const socket = connectTo(base, localAddress)
    const chunks: Array<Buffer> = []
    let settled = false
    const settle = (outcome: { readonly response: RawResponse } | { readonly error: Error }) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if ("response" in outcome) resolve(outcome.response)
      else reject(outcome.error)
    }
    const timer = setTimeout(() => {
      const received = JSON.stringify(Buffer.concat(chunks).toString("latin1"))
      settle({ error: new Error(`${method} ${path}: no complete answer within ${timeoutMs} ms: ${received}`) })
    }, timeoutMs)
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
      const response = parseResponse(Buffer.concat(chunks))
      if (response !== undefined) settle({ response })
    })
    socket.on("close", () => {
      const response = parseResponse(Buffer.concat(chunks), true)
      if (response !== undefined) settle({ response })
      else settle({ error: new Error(`${method} ${path}: closed without a complete answer`) })
    })
    socket.on("error", () => {})
    const head = `${method} ${path} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`
    socket.write(Buffer.concat([Buffer.from(head, "latin1"), Buffer.from(body ?? "", "utf8")]))
  })

/** An open `GET` stream: its head, and when the server ends it. */
export interface OpenStream {
  readonly response: Omit<RawResponse, "body">
  /** Everything received after the head, as text (chunk framing included). */
  readonly received: () => string
  /** Resolves when the server ends the response (its last chunk) or the connection closes. */
  readonly ended: Promise<void>
  readonly isEnded: () => boolean
  readonly close: () => void
}

/** Opens a `GET` and resolves once the head of a 200 has arrived; anything else rejects. */
export const openGet = (base: URL, path: string, headers: HeaderLines): Promise<OpenStream> =>
  new Promise((resolve, reject) => {
    const socket = connectTo(base)
    let buffer = Buffer.alloc(0)
    let head: Omit<RawResponse, "body"> | undefined
    let ended = false
    let resolveEnded: () => void = () => {}
    const endedPromise = new Promise<void>((r) => (resolveEnded = r))
    const markEnded = () => {
      ended = true
      resolveEnded()
    }
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`GET ${path}: no answer within 3000 ms`))
    }, 3000)
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      if (head === undefined) {
        const end = buffer.indexOf("\r\n\r\n")
        if (end < 0) return
        head = parseHead(buffer.subarray(0, end).toString("latin1"))
        clearTimeout(timer)
        if (head.status !== 200) {
          socket.destroy()
          return reject(new Error(`GET ${path}: ${head.statusLine}: ${buffer.subarray(end + 4).toString("utf8")}`))
        }
        buffer = buffer.subarray(end + 4)
        resolve({
          response: head,
          received: () => buffer.toString("utf8"),
          ended: endedPromise,
          isEnded: () => ended,
          close: () => socket.destroy()
        })
      }
      // The zero-size last chunk: the server ended the stream, the connection may stay.
      if (/(^|\r\n)0\r\n\r\n$/.test(buffer.toString("latin1"))) markEnded()
    })
    socket.on("close", markEnded)
    socket.on("error", (error) => {
      if (head === undefined) reject(error)
    })
    const lines: Array<Header> = [["Host", base.host], ...headers]
    socket.write(`GET ${path} HTTP/1.1\r\n${lines.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`)
  })

// ---------------------------------------------------------------------------------------
// Raw MCP over Streamable HTTP.

export const apiKey = (key: string): HeaderLines => [["X-API-Key", key]]
export const bearer = (token: string): HeaderLines => [["Authorization", `Bearer ${token}`]]

export const PROTOCOL_VERSION = "2025-03-26"

export const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "raw", version: "1.0.0" } }
})
export const PING = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" })

/** What every MCP `POST` carries besides credentials. */
export const POST_HEADERS: HeaderLines = [
  ["Content-Type", "application/json"],
  ["Accept", "application/json, text/event-stream"]
]

/** The headers of a request in a session. */
export const inSession = (sessionId: string): HeaderLines => [
  ["Mcp-Session-Id", sessionId],
  ["Mcp-Protocol-Version", PROTOCOL_VERSION]
]

/** Initializes a session with a raw `POST` and returns its id (the `Mcp-Session-Id` answered). */
export const initializeRaw = async (mcp: URL, credentials: HeaderLines): Promise<string> => {
  const response = await send(mcp, "POST", mcp.pathname, [...POST_HEADERS, ...credentials], INITIALIZE)
  expect(response.status, response.body).toBe(200)
  const sessionId = response.header("mcp-session-id")
  expect(sessionId).toMatch(/^[0-9a-f-]{36}$/)
  return sessionId!
}

/** A raw `ping` in a session. */
export const pingIn = (mcp: URL, sessionId: string, credentials: HeaderLines): Promise<RawResponse> =>
  send(mcp, "POST", mcp.pathname, [...POST_HEADERS, ...inSession(sessionId), ...credentials], PING)

/** The JSON-RPC messages of an answer, whether one JSON body or SSE `data:` lines. */
export const messagesOf = (response: RawResponse): Array<Record<string, unknown>> => {
  if (response.header("content-type")?.startsWith("application/json")) return [JSON.parse(response.body)]
  return response.body.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)))
}

// ---------------------------------------------------------------------------------------
// Servers and clients, stopped after each test.

/** The options of either transport, but the address (always 127.0.0.1 and a free port). */
export type ServerOptions =
  & Omit<SseTransportOptions, "port" | "host" | "auth">
  & Omit<HttpStreamTransportOptions, "port" | "host" | "auth">
  & { readonly auth: { readonly provider: SseTransportOptions["auth"]["provider"] } }

export interface Served {
  readonly server: MCPServer
  /** The base URL, e.g. `http://127.0.0.1:41234`. */
  readonly base: URL
  /** The transport's MCP endpoint: `/mcp` or `/sse`. */
  readonly endpoint: URL
  /** What `whoami` saw, one entry per call. */
  readonly seen: Array<Seen>
}

/** Servers and clients whose cleanups go to `defer`. */
const toolsFor = (defer: (cleanup: () => Promise<void> | void) => void) => {
  /** An `MCPServer` of `sdk` with `whoami`, on 127.0.0.1 and a free port, started. */
  const serve = async (sdk: Sdk, transport: Transport, options: ServerOptions): Promise<Served> => {
    const seen: Array<Seen> = []
    const server = new MCPServer({
      sdk,
      transport: { type: transport, options: { ...options, port: 0, host: "127.0.0.1" } } as MCPServerOptions["transport"]
    })
    server.configure(registerWhoami(seen))
    await server.start()
    defer(() => server.stop())
    const base = server.url!
    return { server, base, endpoint: new URL(transport === "sse" ? "/sse" : "/mcp", base), seen }
  }

  /** A connected client, closed after the test (before the servers it talks to). */
  const connectAs = async (sdk: Sdk, transport: Transport, endpoint: URL, headers: Record<string, string>): Promise<McpClient> => {
    const client = await connect(sdk, transport, endpoint, headers)
    defer(() => client.close().catch(() => undefined))
    return client
  }

  return { serve, connectAs, defer }
}

/**
 * Call once per test file: `serve` and `connectAs`, whose servers and clients are closed
 * after each test (clients first, `cleanupAfterEach`), and `defer` for anything else.
 */
export const harness = () => toolsFor(cleanupAfterEach())

/**
 * The same for one test of a `describe.concurrent`, where an `afterEach` would also close
 * the servers of the tests still running: cleanups run when this test finishes, last first.
 */
export const forTest = (context: { readonly onTestFinished: (fn: () => Promise<void>) => void }) => {
  const pending: Array<() => Promise<void> | void> = []
  context.onTestFinished(async () => {
    while (pending.length > 0) await pending.pop()!()
  })
  return toolsFor((cleanup) => {
    pending.push(cleanup)
  })
}

/** Polls `condition` every 10 ms until it holds; rejects after `timeoutMs`. */
export const waitFor = async (what: string, condition: () => boolean, timeoutMs = 3000): Promise<number> => {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return Date.now() - start
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Races `promise` against a deadline. */
export const within = <A>(ms: number, what: string, promise: Promise<A>): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}
