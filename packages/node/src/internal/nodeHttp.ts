/**
 * Reading a Node request and writing an `HttpAnswer` onto a Node response, byte for byte.
 */
import type { HttpAnswer } from "@mcpgate/auth-core/HttpAnswer"
import { headerFieldsTooLarge } from "@mcpgate/auth-core/HttpAnswer"
import { Pipeline } from "@mcpgate/http"
import * as http from "node:http"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import type { Duplex } from "node:stream"

/**
 * Writes an answer with an exact `Content-Length`. If headers already went out (a stream
 * was open), the only honest thing left is to end the connection.
 */
export const writeAnswer = (
  response: ServerResponse,
  answer: HttpAnswer,
  extraHeaders: Readonly<Record<string, string>> = {}
): void => {
  if (response.headersSent) {
    response.destroy()
    return
  }
  const body = Buffer.from(answer.body, "utf8")
  const headers: Record<string, string> = { ...answer.headers, ...extraHeaders }
  if (answer.status !== 204) headers["content-length"] = String(body.length)
  response.writeHead(answer.status, headers)
  response.end(answer.status === 204 ? undefined : body)
}

/**
 * One header's value, or undefined when absent or sent on several lines: a repeated
 * `Origin` or `Host` is not a value anyone can vouch for.
 */
export const singleHeader = (request: IncomingMessage, name: string): string | undefined => {
  const lines = request.headersDistinct[name]
  return lines !== undefined && lines.length === 1 ? lines[0] : undefined
}

/** The request target's path and query (`Pipeline.targetOf`); undefined when it cannot be parsed. */
export const targetOf = (request: IncomingMessage): URL | undefined => Pipeline.targetOf(request.url ?? "/")

/** The query of a request target (`/messages?sessionId=...`), where the gate looks for credentials. */
export const queryOf = (url: string | undefined): string | undefined => {
  const start = url === undefined ? -1 : url.indexOf("?")
  return start === -1 ? undefined : url!.slice(start)
}

/** A Node request as the pipeline reads it. */
export const describe = (request: IncomingMessage): Pipeline.Request => ({
  method: request.method ?? "",
  target: request.url ?? "/",
  headers: request,
  remoteAddress: request.socket.remoteAddress,
  localAddress: request.socket.localAddress
})

/** The full URL of a request as the client addressed it, for the request information given to tools. */
export const fullUrlOf = (request: IncomingMessage, target: URL): URL => {
  const secure = "encrypted" in request.socket && request.socket.encrypted === true
  const host = singleHeader(request, "host") ?? "localhost"
  let url: URL
  try {
    url = new URL(`${secure ? "https" : "http"}://${host}`)
  } catch {
    url = new URL("http://localhost")
  }
  // Set, not resolved: a path beginning with "//" must not be read as an authority.
  url.pathname = target.pathname
  url.search = target.search
  return url
}

/** The media type of `Content-Type`, lower-case, without parameters. */
export const mediaTypeOf = (request: IncomingMessage): string | undefined => {
  const value = singleHeader(request, "content-type")
  return value?.split(";", 1)[0]!.trim().toLowerCase()
}

/** What a request may carry in header lines unless configured otherwise: Node's documented default. */
export const DEFAULT_MAX_HEADERS_COUNT = 2000

// Without `maxHeadersCount` set on its server, Node's parser keeps 2,000 header entries, that
// is 1,000 lines (names and values count apart), whatever its documentation says.
const NODE_KEPT_LINES = 1000

/** How many header lines the parser of the request's server keeps (`Infinity`: all of them). */
const linesKeptFor = (request: IncomingMessage): number => {
  const count = (request.socket as { server?: { maxHeadersCount?: unknown } } | null)?.server?.maxHeadersCount
  if (typeof count !== "number") return NODE_KEPT_LINES
  return count > 0 ? count : Infinity
}

/**
 * Whether a request has more than `maxHeadersCount` header lines, or may have had lines
 * dropped. Past its server's `maxHeadersCount` Node stops keeping lines: `headers` and
 * `headersDistinct` hold only the first ones, so a second credential line placed after
 * enough padding would never be seen, and the request would be judged on what is left.
 * `rawHeaders` holds every line kept and, read in batches, often a few more; so a request
 * with as many raw lines as the parser keeps may have lost some, and is refused too.
 */
export const tooManyHeaderLines = (request: IncomingMessage, maxHeadersCount: number): boolean => {
  const lines = request.rawHeaders.length / 2
  return lines > maxHeadersCount || lines >= linesKeptFor(request)
}

/**
 * The timeouts of the servers mcpgate listens on. Node's own are generous (a minute for the
 * headers, five for a request, checked every 30 s), so connections that send their head or
 * body slowly, or nothing at all, hold a file descriptor for minutes each.
 * - `headersTimeout`: the whole head must arrive within 10 s (a connection that sends nothing
 *   counts from when it opened); Node answers 408 and closes it.
 * - `requestTimeout`: the whole request, body included, within 60 s: a 4 MiB body at 70 KB/s.
 *   It ends with the request, not the response: a `GET` stream (SSE, Streamable HTTP)
 *   outlives it, as its request is complete when its head is.
 * - `keepAliveTimeout`: an idle kept-alive connection closes after 5 s (Node's default, set
 *   here so that it is a decision).
 * - `connectionsCheckingInterval`: the two first are checked every second, not every 30 s.
 */
export const SERVER_TIMEOUTS = {
  headersTimeout: 10_000,
  requestTimeout: 60_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000
} as const

/**
 * A `node:http` server with `SERVER_TIMEOUTS`, reading one header line more than
 * `maxHeadersCount`, so that a request carrying more is seen as such (and refused with 431
 * by `tooManyHeaderLines`) rather than cut to the lines Node kept.
 */
export const createServer = (
  listener: http.RequestListener,
  options: { readonly maxHeadersCount?: number | undefined } = {}
): http.Server => {
  const server = http.createServer({
    headersTimeout: SERVER_TIMEOUTS.headersTimeout,
    requestTimeout: SERVER_TIMEOUTS.requestTimeout,
    connectionsCheckingInterval: SERVER_TIMEOUTS.connectionsCheckingInterval
  }, listener)
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveTimeout
  server.maxHeadersCount = (options.maxHeadersCount ?? DEFAULT_MAX_HEADERS_COUNT) + 1
  server.on("clientError", answerClientError)
  return server
}

/** An answer written straight to a socket, for requests Node's parser gave up on. */
const rawAnswer = (answer: HttpAnswer, reason: string): string => {
  const body = Buffer.from(answer.body, "utf8")
  const headers = { ...answer.headers, "content-length": String(body.length), connection: "close" }
  return `HTTP/1.1 ${answer.status} ${reason}\r\n${
    Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("")
  }\r\n${answer.body}`
}

const HEADER_OVERFLOW = rawAnswer(headerFieldsTooLarge, "Request Header Fields Too Large")

/**
 * What Node answers a request its parser refused, but for a head too large (more than
 * `maxHeadersCount` lines on Node 22, more than 16 KiB on any), which gets our 431
 * (docs/behaviour.md#answers) instead of Node's bodiless one. The rest as Node does (408
 * for a request too slow, 400 otherwise), then the socket is closed.
 */
const answerClientError = (error: Error & { readonly code?: string }, socket: Duplex): void => {
  if (socket.writable && (socket as Partial<Socket>).bytesWritten === 0) {
    socket.write(
      error.code === "HPE_HEADER_OVERFLOW"
        ? HEADER_OVERFLOW
        : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
        : "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"
    )
  }
  socket.destroy()
}

/**
 * Listens on `port` and `host` and answers the URL the server is reachable at
 * (`http://127.0.0.1:8080`, an IPv6 address in brackets); rejects if it cannot listen.
 */
export const listenOn = async (server: http.Server, port: number, host: string): Promise<URL> => {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => {
      server.off("error", reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const hostname = address.family === "IPv6" ? `[${address.address}]` : address.address
  return new URL(`http://${hostname}:${address.port}`)
}
