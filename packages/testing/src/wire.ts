/**
 * The one HTTP wire client of the tests: raw bytes over `node:net`, so that tests see
 * exactly what goes on the wire (what a client library would normalise away), responses
 * parsed by hand, and a reader of server-sent event streams. Every wait has a deadline:
 * a hang is a failure, not a stuck run.
 */
import { expect } from "@effect/vitest"
import * as net from "node:net"
import type { Expected } from "./contract.js"

export type Header = readonly [string, string]
export type HeaderLines = ReadonlyArray<Header>

/** A response's status line and header lines. */
export interface ResponseHead {
  /** The status line, e.g. `HTTP/1.1 401 Unauthorized`. */
  readonly statusLine: string
  readonly status: number
  /** Header lines in order, as sent: lower-cased name, exact value; repeated names keep every value. */
  readonly headers: HeaderLines
  /** The one value of a header, by lower-case name; fails the test if it was sent more than once. */
  readonly header: (name: string) => string | undefined
}

/** A parsed HTTP/1.1 response. */
export interface RawResponse extends ResponseHead {
  /** The body as received (chunked framing removed), as UTF-8 text. */
  readonly body: string
}

// ---------------------------------------------------------------------------------------
// Requests as bytes.

/** The header lines, each ending in CR LF. */
const lines = (headers: HeaderLines): string => headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")

/** A request line and header lines, each ending in CR LF, without the blank line. */
export const head = (requestLine: string, headers: HeaderLines): string => `${requestLine}\r\n${lines(headers)}`

/** The bytes of a request: request line, header lines (as latin1), blank line, body. */
export const requestBytes = (requestLine: string, headers: HeaderLines, body: Buffer | string = ""): Buffer =>
  Buffer.concat([
    Buffer.from(`${head(requestLine, headers)}\r\n`, "latin1"),
    typeof body === "string" ? Buffer.from(body, "utf8") : body
  ])

/**
 * The bytes of a request, with `Host` (the URL's `hostname:port`) added unless given, and
 * `Content-Length` added for a body unless the headers frame it themselves.
 */
export const build = (url: URL, method: string, path: string, headers: HeaderLines, body?: Buffer | string): Buffer => {
  const all: Array<Header> = []
  if (!headers.some(([name]) => name.toLowerCase() === "host")) all.push(["Host", `${url.hostname}:${url.port}`])
  all.push(...headers)
  const framed = headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name))
  if (body !== undefined && !framed) all.push(["Content-Length", String(Buffer.byteLength(body))])
  return requestBytes(`${method} ${path} HTTP/1.1`, all, body)
}

// ---------------------------------------------------------------------------------------
// Responses.

/** Parses a response head (status line and header lines, without the blank line). */
export const parseHead = (text: string): ResponseHead => {
  const [statusLine, ...rest] = text.split("\r\n")
  const headers = rest.map((line) => {
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

/** The chunks of a chunked body, or undefined until its last chunk has arrived. */
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

/**
 * One complete response at the start of `data`, or undefined if more bytes are needed. A
 * body with neither length nor chunks is what came before the connection closed (RFC 9112
 * 6.3), so it is complete only once `closed`; 1xx, 204 and 304 answers have none.
 */
export const parseResponse = (data: Buffer, closed = false): RawResponse | undefined => {
  const headEnd = data.indexOf("\r\n\r\n")
  if (headEnd < 0) return undefined
  const parsed = parseHead(data.subarray(0, headEnd).toString("latin1"))
  const rest = data.subarray(headEnd + 4)
  const length = parsed.headers.find(([name]) => name === "content-length")?.[1]
  const chunked = parsed.headers.some(([name, value]) => name === "transfer-encoding" && value === "chunked")
  let body: Buffer | undefined
  if (length !== undefined) body = rest.length < Number(length) ? undefined : rest.subarray(0, Number(length))
  else if (chunked) body = dechunk(rest)
  else if (parsed.status < 200 || parsed.status === 204 || parsed.status === 304) body = Buffer.alloc(0)
  else body = closed ? rest : undefined
  return body === undefined ? undefined : { ...parsed, body: body.toString("utf8") }
}

/** The length of the first response in `data` (head and framed body), once it is complete. */
const framedLength = (data: Buffer, response: RawResponse): number =>
  data.indexOf("\r\n\r\n") + 4 + Number(response.header("content-length") ?? 0)

// ---------------------------------------------------------------------------------------
// Exchanges.

export interface ExchangeOptions {
  /** The answer to a HEAD has a head only. */
  readonly headOnly?: boolean
  /** How long the server may take to answer; longer is a hang. Default 3 s. */
  readonly timeoutMs?: number
  /** Written after the request, one by one with a pause between them. */
  readonly pieces?: ReadonlyArray<Buffer>
  /**
   * The local address to connect from (`127.0.0.2`, say): Linux routes all of 127.0.0.0/8
   * to loopback, so to the server it is another client.
   */
  readonly localAddress?: string
}

const connectTo = (url: URL, localAddress?: string): net.Socket =>
  net.connect({
    port: Number(url.port),
    host: url.hostname.replace(/^\[|\]$/g, ""),
    ...(localAddress === undefined ? {} : { localAddress })
  })

/**
 * Writes `bytes` on a fresh connection and resolves with the first complete answer. The
 * server may close or reset the connection once it has answered (a 413 does); the answer
 * already received still counts. Rejects when nothing complete arrives within the deadline.
 */
export const exchange = (url: URL, bytes: Buffer, options: ExchangeOptions = {}): Promise<RawResponse> =>
  new Promise((resolve, reject) => {
    const socket = connectTo(url, options.localAddress)
    const chunks: Array<Buffer> = []
    let settled = false
    const parse = (closed: boolean): RawResponse | undefined => {
      const data = Buffer.concat(chunks)
      if (options.headOnly !== true) return parseResponse(data, closed)
      const end = data.indexOf("\r\n\r\n")
      return end < 0 ? undefined : { ...parseHead(data.subarray(0, end).toString("latin1")), body: "" }
    }
    const received = () => JSON.stringify(Buffer.concat(chunks).toString("latin1"))
    const settle = (outcome: { readonly response: RawResponse } | { readonly error: Error }) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      if ("response" in outcome) resolve(outcome.response)
      else reject(outcome.error)
    }
    const timeoutMs = options.timeoutMs ?? 3000
    const timer = setTimeout(
      () => settle({ error: new Error(`no complete answer within ${timeoutMs} ms: ${received()}`) }),
      timeoutMs
    )
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk)
      const response = parse(false)
      if (response !== undefined) settle({ response })
    })
    socket.on("close", () => {
      const response = parse(true)
      if (response !== undefined) settle({ response })
      else settle({ error: new Error(`connection closed without a complete answer: ${received()}`) })
    })
    // EPIPE or ECONNRESET while we still write: wait for "close" and judge what arrived.
    socket.on("error", () => {})
    socket.write(bytes)
    const pieces = options.pieces
    if (pieces === undefined) return
    let index = 0
    const writeNext = () => {
      if (settled || index >= pieces.length) return
      socket.write(pieces[index++]!)
      setTimeout(writeNext, 10)
    }
    setTimeout(writeNext, 10)
  })

/**
 * Sends exactly `requestHead` (request line and header lines, from `head`) and `body`,
 * nothing added, and reads one answer.
 */
export const rawRequest = (url: URL, requestHead: string, body = "", options: ExchangeOptions = {}): Promise<RawResponse> =>
  exchange(url, Buffer.from(`${requestHead}\r\n${body}`, "utf8"), { timeoutMs: 10_000, ...options })

/** One request built by `build` on a fresh connection; a HEAD's answer has a head only. */
export const ask = (
  url: URL,
  method: string,
  path: string,
  headers: HeaderLines,
  body?: Buffer | string,
  options: ExchangeOptions = {}
): Promise<RawResponse> => exchange(url, build(url, method, path, headers, body), { headOnly: method === "HEAD", ...options })

/**
 * One request on a fresh connection that closes after it: `Host` (the server's own
 * address) unless given, the headers, `Content-Length` for a body, `Connection: close`.
 */
export const send = (
  base: URL,
  method: string,
  path: string,
  headers: HeaderLines = [],
  body?: string,
  options: ExchangeOptions = {}
): Promise<RawResponse> => {
  const all: Array<Header> = []
  if (!headers.some(([name]) => name.toLowerCase() === "host")) all.push(["Host", base.host])
  all.push(...headers)
  if (body !== undefined) all.push(["Content-Length", String(Buffer.byteLength(body))])
  all.push(["Connection", "close"])
  return exchange(base, requestBytes(`${method} ${path} HTTP/1.1`, all, body), options)
}

/** `send` from another loopback address (`127.0.0.2`, say): to the server, another client. */
export const sendFrom = (
  localAddress: string,
  base: URL,
  method: string,
  path: string,
  headers: HeaderLines = [],
  body?: string
): Promise<RawResponse> => send(base, method, path, headers, body, { localAddress })

/**
 * Several requests, one after the other, on one keep-alive connection: each is written once
 * the previous answer is complete. Resolves with every answer; a request the server never
 * answers (the connection closed, or the deadline passed) rejects. Answers are expected
 * framed by `Content-Length`.
 */
export const conversation = (url: URL, requests: ReadonlyArray<Buffer>, timeoutMs = 3000): Promise<Array<RawResponse>> =>
  new Promise((resolve, reject) => {
    const socket = connectTo(url)
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
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      const response = parseResponse(buffer)
      if (response === undefined) return
      answers.push(response)
      buffer = buffer.subarray(framedLength(buffer, response))
      if (answers.length === requests.length) finish()
      else socket.write(requests[answers.length]!)
    })
    socket.on("close", () => finish(new Error(`connection closed after ${answers.length} answer(s)`)))
    socket.on("error", () => {})
    socket.write(requests[0]!)
  })

/**
 * A `POST` of `body` to `url` with the API key `key`: sends the head with
 * `Expect: 100-continue`, and the body only after "100 Continue". Resolves with the status
 * lines seen and the whole text once a final status has arrived and the text ends with a
 * JSON body's `}`; rejects after 5 s.
 */
export const postAfterContinue = (
  url: URL,
  key: string,
  body: string
): Promise<{ readonly statusLines: ReadonlyArray<string>; readonly text: string }> =>
  new Promise((resolve, reject) => {
    const socket = connectTo(url)
    let text = ""
    let sent = false
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no complete answer within 5 s: ${JSON.stringify(text)}`))
    }, 5000)
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8")
      if (!sent && text.includes("HTTP/1.1 100 Continue\r\n\r\n")) {
        sent = true
        socket.write(body)
      }
      if (/HTTP\/1\.1 [2-5]\d\d /.test(text) && text.endsWith("}")) {
        clearTimeout(timer)
        socket.destroy()
        resolve({ statusLines: text.split("\r\n").filter((line) => line.startsWith("HTTP/1.1 ")), text })
      }
    })
    socket.on("error", reject)
    socket.write(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\n` +
        `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`
    )
  })

// ---------------------------------------------------------------------------------------
// Exact answers.

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
// Server-sent event streams.

/** One server-sent event. */
export interface SseEvent {
  readonly event: string
  readonly data: string
}

/**
 * An open `GET` stream read over a raw socket: the response head, then events as they
 * come. Comments (heartbeats) are counted, not returned as events.
 */
export interface OpenStream {
  /** The head of a 200; any other answer whole. */
  readonly response: RawResponse
  /** Resolves with the next event; rejects if the stream ends first or none comes in time. */
  readonly next: (timeoutMs?: number) => Promise<SseEvent>
  /** Resolves when the server ends the response (its last chunk) or the connection closes. */
  readonly ended: Promise<void>
  readonly isEnded: () => boolean
  /** The body received so far, chunk framing removed. */
  readonly received: () => string
  /** How many comments (heartbeats) have arrived. */
  readonly comments: () => number
  readonly close: () => void
  readonly socket: net.Socket
}

export interface OpenStreamOptions {
  /** The path of the stream; `/sse` unless given. */
  readonly path?: string
  /** The local address to connect from (see `ExchangeOptions`). */
  readonly localAddress?: string
  /** How long the head may take. Default 5 s. */
  readonly timeoutMs?: number
}

/**
 * Opens a stream with a raw `GET` (`Host` and `headers`). Resolves once the response head
 * has arrived; if the answer is not 200, `response` carries it whole and the stream has
 * already ended.
 */
export const openStream = (url: URL, headers: HeaderLines, options: OpenStreamOptions = {}): Promise<OpenStream> =>
  new Promise((resolve, reject) => {
    const path = options.path ?? "/sse"
    const socket = connectTo(url, options.localAddress)
    const headTimeoutMs = options.timeoutMs ?? 5000
    const headTimer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`GET ${path}: no answer within ${headTimeoutMs} ms`))
    }, headTimeoutMs)
    let buffer = Buffer.alloc(0)
    let response: RawResponse | undefined
    let body = ""
    let pendingText = ""
    let comments = 0
    const events: Array<SseEvent> = []
    const waiters: Array<{ resolve: (event: SseEvent) => void; reject: (error: Error) => void }> = []
    let endedResolve: () => void = () => {}
    const ended = new Promise<void>((r) => (endedResolve = r))
    let isEnded = false
    const markEnded = () => {
      if (isEnded) return
      isEnded = true
      endedResolve()
      pump()
    }
    const pump = () => {
      while (events.length > 0 && waiters.length > 0) waiters.shift()!.resolve(events.shift()!)
      if (isEnded) while (waiters.length > 0) waiters.shift()!.reject(new Error("stream ended"))
    }
    const onBody = (text: string) => {
      body += text
      pendingText += text
      let index: number
      while ((index = pendingText.indexOf("\n\n")) >= 0) {
        const block = pendingText.slice(0, index)
        pendingText = pendingText.slice(index + 2)
        if (block.startsWith(":")) {
          comments++
          continue
        }
        let event = "message"
        const data: Array<string> = []
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7)
          else if (line.startsWith("data: ")) data.push(line.slice(6))
        }
        events.push({ event, data: data.join("\n") })
      }
      pump()
    }
    // The stream is chunked: strip chunk framing as bytes arrive.
    let chunkRest = Buffer.alloc(0)
    const onChunked = (data: Buffer) => {
      chunkRest = Buffer.concat([chunkRest, data])
      for (;;) {
        const lineEnd = chunkRest.indexOf("\r\n")
        if (lineEnd < 0) return
        const size = parseInt(chunkRest.subarray(0, lineEnd).toString("latin1"), 16)
        if (size === 0) {
          // The last chunk: the server ended the stream, even if the connection stays open.
          markEnded()
          return
        }
        if (chunkRest.length < lineEnd + 2 + size + 2) return
        onBody(chunkRest.subarray(lineEnd + 2, lineEnd + 2 + size).toString("utf8"))
        chunkRest = chunkRest.subarray(lineEnd + 2 + size + 2)
      }
    }
    const next = (timeoutMs = 2000) =>
      new Promise<SseEvent>((res, rej) => {
        const waiter = {
          resolve: (event: SseEvent) => {
            clearTimeout(timer)
            res(event)
          },
          reject: (error: Error) => {
            clearTimeout(timer)
            rej(error)
          }
        }
        // A waiter that timed out must not swallow the next event.
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1)
          rej(new Error(`no event within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.push(waiter)
        pump()
      })
    socket.on("data", (chunk: Buffer) => {
      if (response !== undefined) return onChunked(chunk)
      buffer = Buffer.concat([buffer, chunk])
      const end = buffer.indexOf("\r\n\r\n")
      if (end < 0) return
      const headOnly = parseHead(buffer.subarray(0, end).toString("latin1"))
      if (headOnly.status !== 200) {
        const whole = parseResponse(buffer)
        if (whole === undefined) return
        response = whole
        socket.destroy()
      } else {
        response = { ...headOnly, body: "" }
        onChunked(buffer.subarray(end + 4))
      }
      clearTimeout(headTimer)
      resolve({
        response,
        next,
        ended,
        isEnded: () => isEnded,
        received: () => body,
        comments: () => comments,
        close: () => socket.destroy(),
        socket
      })
    })
    socket.on("close", markEnded)
    socket.on("error", (error) => {
      if (response === undefined) {
        clearTimeout(headTimer)
        reject(error)
      }
    })
    socket.write(`${head(`GET ${path} HTTP/1.1`, [["Host", `${url.hostname}:${url.port}`], ...headers])}\r\n`)
  })

/** Opens a stream at `path` and resolves once the head of a 200 has arrived; any other answer rejects. */
export const openGet = async (base: URL, path: string, headers: HeaderLines): Promise<OpenStream> => {
  const stream = await openStream(base, headers, { path, timeoutMs: 3000 })
  if (stream.response.status !== 200) {
    throw new Error(`GET ${path}: ${stream.response.statusLine}: ${stream.response.body}`)
  }
  return stream
}

/**
 * A raw `GET` of a stream that reads everything until the server ends the response (its
 * last chunk) or the connection; for streams that end right after they open.
 */
export const readWholeStream = (
  url: URL,
  headers: HeaderLines,
  options: { readonly path?: string; readonly timeoutMs?: number } = {}
): Promise<{ readonly status: number; readonly body: string }> =>
  new Promise((resolve, reject) => {
    const timeoutMs = options.timeoutMs ?? 2000
    const socket = connectTo(url)
    let data = Buffer.alloc(0)
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error(`stream not ended within ${timeoutMs} ms: ${JSON.stringify(data.toString("latin1"))}`))
    }, timeoutMs)
    const settle = () => {
      const split = data.indexOf("\r\n\r\n")
      if (split < 0) return false
      const body = dechunk(data.subarray(split + 4))
      if (body === undefined) return false
      clearTimeout(timer)
      socket.destroy()
      resolve({ status: Number(data.toString("latin1").split(" ")[1]), body: body.toString("utf8") })
      return true
    }
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk])
      settle()
    })
    socket.on("close", () => {
      if (!settle()) {
        clearTimeout(timer)
        reject(new Error(`connection closed before the stream ended: ${JSON.stringify(data.toString("latin1"))}`))
      }
    })
    socket.on("error", () => {})
    socket.write(`${head(`GET ${options.path ?? "/sse"} HTTP/1.1`, [["Host", url.host], ...headers])}\r\n`)
  })

/** The session id in an endpoint event's data, `/messages?sessionId=<id>`. */
export const sessionIdOf = (event: SseEvent): string => new URL(event.data, "http://x").searchParams.get("sessionId")!
