/**
 * Helpers of the HTTP tests: raw bytes on a real socket (with a deadline, so that a hang is
 * a failure rather than a stuck run), the contract's answers written out independently of
 * the library, and an echo MCP endpoint that records what reached it.
 */
import type { JsonRpcMessage, MessageExtra, SseServer, SseTransport } from "@mcpgate/node"
import { expect } from "@effect/vitest"
import * as net from "node:net"
import { Bodies, openStream, parseHead, parseResponse, start } from "../fixtures/http.js"
import type { OpenStream, RawResponse } from "../fixtures/http.js"

export type HeaderLines = ReadonlyArray<readonly [string, string]>

/** Builds the bytes of a request: request line, header lines, blank line, body. */
export const requestBytes = (requestLine: string, headers: HeaderLines, body: Buffer | string = ""): Buffer =>
  Buffer.concat([
    Buffer.from(`${requestLine}\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`, "latin1"),
    typeof body === "string" ? Buffer.from(body, "utf8") : body
  ])

export interface ExchangeOptions {
  /** The answer to a HEAD has a head only. */
  readonly headOnly?: boolean
  /** How long the server may take to answer; longer is a hang. */
  readonly timeoutMs?: number
  /** Writes the request in pieces with a pause between them. */
  readonly pieces?: ReadonlyArray<Buffer>
}

/**
 * Writes `bytes` on a fresh connection and resolves with the first complete answer. The
 * server may close or reset the connection once it has answered (a 413 does); the answer
 * already received still counts. Rejects when nothing complete arrives within the deadline.
 */
export const exchange = (url: URL, bytes: Buffer, options: ExchangeOptions = {}): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname.replace(/^\[|\]$/g, ""))
    const chunks: Array<Buffer> = []
    let settled = false
    const parse = (): RawResponse | undefined => {
      const data = Buffer.concat(chunks)
      if (options.headOnly !== true) return parseResponse(data)
      const text = data.toString("latin1")
      const end = text.indexOf("\r\n\r\n")
      return end < 0 ? undefined : { ...parseHead(text.slice(0, end)), body: "" }
    }
    const settle = (outcome: { response: RawResponse } | { error: Error }) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if ("response" in outcome) resolve(outcome.response)
      else reject(outcome.error)
    }
    const timeoutMs = options.timeoutMs ?? 3000
    const timer = setTimeout(
      () => settle({ error: new Error(`no complete answer within ${timeoutMs} ms: ${JSON.stringify(Buffer.concat(chunks).toString("latin1"))}`) }),
      timeoutMs
    )
    socket.on("data", (chunk) => {
      chunks.push(chunk)
      const response = parse()
      if (response !== undefined) settle({ response })
    })
    socket.on("close", () => {
      const response = parse()
      if (response !== undefined) settle({ response })
      else settle({ error: new Error(`connection closed without a complete answer: ${JSON.stringify(Buffer.concat(chunks).toString("latin1"))}`) })
    })
    // EPIPE or ECONNRESET while we still write: wait for "close" and judge what arrived.
    socket.on("error", () => {})
    const pieces = options.pieces
    if (pieces === undefined) {
      socket.write(bytes)
      return
    }
    socket.write(bytes)
    let index = 0
    const writeNext = () => {
      if (settled || index >= pieces.length) return
      socket.write(pieces[index++]!)
      setTimeout(writeNext, 10)
    }
    setTimeout(writeNext, 10)
  })

/**
 * Several requests, one after the other, on one keep-alive connection: each is written once
 * the previous answer is complete. Resolves with every answer; a request the server never
 * answers (the connection closed, or the deadline passed) rejects.
 */
export const conversation = (url: URL, requests: ReadonlyArray<Buffer>, timeoutMs = 3000): Promise<Array<RawResponse>> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname.replace(/^\[|\]$/g, ""))
    const answers: Array<RawResponse> = []
    let buffer = Buffer.alloc(0)
    let done = false
    const finish = (error?: Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      if (error === undefined) resolve(answers)
      else reject(error)
    }
    const timer = setTimeout(() => finish(new Error(`answer ${answers.length + 1} not within ${timeoutMs} ms`)), timeoutMs)
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      const response = parseResponse(buffer)
      if (response === undefined) return
      answers.push(response)
      // Only complete, Content-Length framed answers are expected here; drop what was read.
      const headEnd = buffer.indexOf("\r\n\r\n") + 4
      buffer = buffer.subarray(headEnd + Number(response.header("content-length") ?? 0))
      if (answers.length === requests.length) finish()
      else socket.write(requests[answers.length]!)
    })
    socket.on("close", () => finish(new Error(`connection closed after ${answers.length} answer(s)`)))
    socket.on("error", () => {})
    socket.write(requests[0]!)
  })

/** The answer to a request that has no body unless one is given. */
/** The bytes of a request, with `Host` and `Content-Length` added as `ask` adds them. */
export const build = (url: URL, method: string, path: string, headers: HeaderLines, body?: Buffer | string): Buffer => {
  const all: Array<readonly [string, string]> = []
  if (!headers.some(([name]) => name.toLowerCase() === "host")) all.push(["Host", `${url.hostname}:${url.port}`])
  all.push(...headers)
  const framed = headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))
  if (body !== undefined && !framed) all.push(["Content-Length", String(Buffer.byteLength(body))])
  return requestBytes(`${method} ${path} HTTP/1.1`, all, body)
}

export const ask = (
  url: URL,
  method: string,
  path: string,
  headers: HeaderLines,
  body?: Buffer | string,
  options: ExchangeOptions = {}
): Promise<RawResponse> =>
  exchange(url, build(url, method, path, headers, body), { headOnly: method === "HEAD", ...options })

// ---------------------------------------------------------------------------------------
// The contract's answers, written out here (sections 1 and 2): status line, every header
// but the connection management Node adds (`Date`, `Connection`, `Keep-Alive`), body.

export interface Expected {
  readonly statusLine: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" } as const

const errorAnswer = (
  statusLine: string,
  body: string,
  headers: Readonly<Record<string, string>> = {}
): Expected => ({
  statusLine,
  headers: { ...JSON_HEADERS, ...headers, "content-length": String(Buffer.byteLength(body)) },
  body
})

export const Challenge = {
  apiKey: (header = "X-API-Key") => `ApiKey realm="mcp", header="${header}"`,
  bearer: `Bearer realm="mcp"`,
  invalidToken: `Bearer realm="mcp", error="invalid_token"`,
  invalidRequest: `Bearer realm="mcp", error="invalid_request"`
} as const

export const Answer = {
  apiKey: (header = "X-API-Key", extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 401 Unauthorized", Bodies.apiKey, { "www-authenticate": Challenge.apiKey(header), ...extra }),
  jwt: (challenge: string, extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 401 Unauthorized", Bodies.jwt, { "www-authenticate": challenge, ...extra }),
  /** `firstOf`'s 401: the chosen body, every provider's challenge. */
  both: (body: string, challenges: string, extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 401 Unauthorized", body, { "www-authenticate": challenges, ...extra }),
  sessionForbidden: (extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 403 Forbidden", Bodies.sessionForbidden, extra),
  originNotAllowed: (extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 403 Forbidden", Bodies.originNotAllowed, extra),
  sessionNotFound: (extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 404 Not Found", Bodies.sessionNotFound, extra),
  notFound: (extra: Readonly<Record<string, string>> = {}) => errorAnswer("HTTP/1.1 404 Not Found", Bodies.notFound, extra),
  methodNotAllowed: (allow: string, extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 405 Method Not Allowed", Bodies.methodNotAllowed, { allow, ...extra }),
  payloadTooLarge: (extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 413 Payload Too Large", Bodies.payloadTooLarge, extra),
  invalidJsonRpc: (extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 400 Bad Request", Bodies.invalidJsonRpc, extra),
  unsupportedMediaType: (extra: Readonly<Record<string, string>> = {}) =>
    errorAnswer("HTTP/1.1 415 Unsupported Media Type", Bodies.unsupportedMediaType, extra),
  accepted: (extra: Readonly<Record<string, string>> = {}): Expected => ({
    statusLine: "HTTP/1.1 202 Accepted",
    headers: { ...extra, "content-length": "0" },
    body: ""
  }),
  health: (extra: Readonly<Record<string, string>> = {}): Expected => ({
    statusLine: "HTTP/1.1 200 OK",
    headers: { ...JSON_HEADERS, ...extra, "content-length": "11" },
    body: Bodies.health
  })
} as const

const NODE_MANAGED = new Set(["date", "connection", "keep-alive"])

/** The headers of an answer, but those Node manages; a name sent twice fails the test. */
export const headersOf = (response: RawResponse): Record<string, string> => {
  const seen: Record<string, string> = {}
  for (const [name, value] of response.headers) {
    if (NODE_MANAGED.has(name)) continue
    expect(seen, `header ${name} sent twice`).not.toHaveProperty(name)
    seen[name] = value
  }
  return seen
}

/** The answer is exactly the expected one: status line, header set with values, body. */
export const expectAnswer = (response: RawResponse, expected: Expected): void => {
  expect({ statusLine: response.statusLine, headers: headersOf(response), body: response.body }).toEqual({
    statusLine: expected.statusLine,
    headers: expected.headers,
    body: expected.body
  })
}

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
  /** Opens a stream; its endpoint event has been read. */
  readonly open: (headers: HeaderLines, path?: string) => Promise<Session>
  /** Posts a body (default: a `ping` request) to a session as `application/json`. */
  readonly post: (sessionId: string, headers: HeaderLines, body?: Buffer | string) => Promise<RawResponse>
}

export interface Session {
  readonly id: string
  readonly stream: OpenStream
  readonly endpoint: string
  /**
   * Resolves when the server ends the stream: the last chunk of the chunked body, or the
   * connection closing. (The fixture's `ended` waits for the socket, which a keep-alive
   * connection keeps open after the stream's last chunk.)
   */
  readonly ended: Promise<void>
}

/** Resolves at the zero-size last chunk (SSE data holds no CR LF) or when the socket closes. */
const endOf = (stream: OpenStream): Promise<void> =>
  new Promise((resolve) => {
    // Attached after the head and the endpoint event were read, so at a chunk boundary.
    let tail = "\r\n"
    stream.socket.on("data", (chunk: Buffer) => {
      tail = (tail + chunk.toString("latin1")).slice(-64)
      if (tail.includes("\r\n0\r\n\r\n")) resolve()
    })
    void stream.ended.then(resolve)
  })

const running: Array<SseServer.RunningServer> = []
const sockets: Array<net.Socket> = []

export type HarnessOptions = Omit<SseServer.SseServerOptions, "onSession"> & {
  readonly onSession?: SseServer.SseServerOptions["onSession"]
}

/** A server on 127.0.0.1 with echoing sessions, closed by `closeAll`. */
export const serve = async (options: HarnessOptions): Promise<Harness> => {
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
  running.push(server)
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
    open: async (headers, path = "/sse") => {
      const stream = await openStream(url, headers, path)
      sockets.push(stream.socket)
      const ended = endOf(stream)
      expect(stream.response.statusLine, stream.response.body).toBe("HTTP/1.1 200 OK")
      const event = await stream.next()
      expect(event.event).toBe("endpoint")
      const id = new URL(event.data, "http://x").searchParams.get("sessionId")!
      return { id, stream, endpoint: event.data, ended }
    },
    post: (sessionId, headers, body = ping(1)) =>
      ask(url, "POST", `/messages?sessionId=${sessionId}`, [["Content-Type", "application/json"], ...headers], body)
  }
  return harness
}

/** Closes every server and stream opened since the last call; for `afterEach`. */
export const closeAll = async (): Promise<void> => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await Promise.all(running.splice(0).map((server) => server.close()))
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
