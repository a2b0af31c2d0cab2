/**
 * A web `Request` as the pipeline reads it, and an `HttpAnswer` as a `Response`: the pieces
 * of `Fetch` (see its comment on duplicate lines).
 */
import type { HeaderRecord } from "@mcpgate/auth-core/Credentials"
import type { HttpAnswer } from "@mcpgate/auth-core/HttpAnswer"
import { headerFieldsTooLarge } from "@mcpgate/auth-core/HttpAnswer"
import type * as Pipeline from "../Pipeline.js"


/**
 * The largest request head read, in bytes (request line and header lines): Node's default
 * `maxHeaderSize`, so that a Fetch handler refuses what a Node server of mcpgate refuses.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024

/**
 * The most header fields read: the same figure as the Node servers' `maxHeadersCount`.
 *
 * @since 0.1.0
 */
export const DEFAULT_MAX_HEADERS_COUNT = 2000

/**
 * The limits on a request head.
 *
 * @since 0.1.0
 */
export interface HeadLimits {
  /** Bytes of the request line and the header lines together. */
  readonly maxHeaderSize: number
  /** Header fields (a Fetch `Headers` holds each name once). */
  readonly maxHeadersCount: number
}

/**
 * Whether a request's head is over the limits: such a request is answered 431
 * (`headTooLarge`) before anything reads its headers, as a Node server of mcpgate does. The
 * size is counted as the head would be on the wire: `METHOD target HTTP/1.1`, then
 * `name: value` per field, each line ended by CRLF.
 *
 * @since 0.1.0
 */
export const isHeadTooLarge = (request: Request, limits: HeadLimits): boolean => {
  let fields = 0
  // "METHOD target HTTP/1.1\r\n": two spaces, eight for the version, two for CRLF.
  let size = request.method.length + targetOf(request.url).length + 12
  request.headers.forEach((value, name) => {
    fields++
    size += name.length + value.length + 4
  })
  return fields > limits.maxHeadersCount || size > limits.maxHeaderSize
}

/**
 * The 431 for a head over the limits, with `Connection: close` as the Node servers send it.
 *
 * @since 0.1.0
 */
export const headTooLarge: HttpAnswer = {
  ...headerFieldsTooLarge,
  headers: { ...headerFieldsTooLarge.headers, connection: "close" }
}

/**
 * The request target (`/path?query`) of a Fetch request's URL: its authority is never read.
 *
 * @since 0.1.0
 */
export const targetOf = (url: string): string => {
  // An absolute URL: the target starts at the first "/" after "scheme://authority".
  const start = url.indexOf("/", url.indexOf("//") + 2)
  if (start === -1) return "/"
  const hash = url.indexOf("#", start)
  return hash === -1 ? url.slice(start) : url.slice(start, hash)
}

/** Headers whose legitimate values never hold a comma: a joined value is two lines. */
const SINGLE_VALUED = ["authorization", "origin", "host"]

/**
 * A Fetch `Headers` as a header record, names lower-case, with every ", "-joined value of
 * a credential header (and of `Origin`, `Host`) split back into its lines, so that a
 * repeated credential stays malformed (see the module's comment).
 *
 * @since 0.1.0
 */
export const headersOf = (headers: Headers, credentialHeaders: ReadonlyArray<string>): HeaderRecord => {
  const record: Record<string, string | ReadonlyArray<string>> = {}
  headers.forEach((value, name) => {
    record[name] = value
  })
  for (const name of [...SINGLE_VALUED, ...credentialHeaders.map((header) => header.toLowerCase())]) {
    const value = record[name]
    if (typeof value === "string" && value.includes(", ")) record[name] = value.split(", ")
  }
  return record
}

/**
 * A Fetch request as the pipeline reads it. `remoteAddress` is the client's address as the
 * platform told it (the Fetch API has no socket); `localAddress` is left out unless known,
 * so the loopback rule of docs/behaviour.md#order-of-checks (step 1) applies only through
 * `allowedHosts` and `allowedOrigins`.
 *
 * @since 0.1.0
 */
export const describe = (request: Request, facts: {
  readonly credentialHeaders: ReadonlyArray<string>
  readonly remoteAddress: string | undefined
  readonly localAddress?: string | undefined
  /** The target to route by, when not the request's own (a guard mounted on any path). */
  readonly target?: string | undefined
}): Pipeline.Request => ({
  method: request.method,
  target: facts.target ?? targetOf(request.url),
  headers: headersOf(request.headers, facts.credentialHeaders),
  remoteAddress: facts.remoteAddress,
  localAddress: facts.localAddress,
  url: request.url
})

const UTF8 = new TextEncoder()

// RFC 9110 6.4.1: these statuses have no content.
const NO_CONTENT = new Set([204, 205, 304])

/**
 * An answer as a `Response`: the answer's headers, then `headers` (CORS), then an exact
 * `Content-Length` but on a 204, as `NodeHttp.writeAnswer` writes them. For `HEAD` the body
 * is left out and its length still announced (RFC 9110 9.3.2).
 *
 * @since 0.1.0
 */
export const toResponse = (
  answer: HttpAnswer,
  options: { readonly method?: string | undefined; readonly headers?: Readonly<Record<string, string>> | undefined } = {}
): Response => {
  const headers: Record<string, string> = { ...answer.headers, ...options.headers }
  if (NO_CONTENT.has(answer.status)) return new Response(null, { status: answer.status, headers })
  const body = UTF8.encode(answer.body)
  headers["content-length"] = String(body.byteLength)
  return new Response(options.method === "HEAD" ? null : body, { status: answer.status, headers })
}
