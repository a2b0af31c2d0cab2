/**
 * A web-standard `Request` in the shape of Node's `IncomingMessage`, as mcp-framework's
 * `createIncomingMessageShim(request, sourceIp?)` gives it, so that providers written for
 * mcp-framework (which read `req.headers`, `req.url`, `req.method` and
 * `req.socket.remoteAddress`) run where no `node:http` exists: Workers, Deno, Bun, Lambda.
 *
 * It is a plain object typed as `IncomingMessage`, not one: no socket, no stream, no
 * `node:*` module at run time. It holds what providers read, and one wire line per header
 * (`rawHeaders`), so that mcpgate's strict reading (docs/behaviour.md#reading-credentials)
 * treats it like a Node request. Unlike mcp-framework's shim, an unknown source address
 * stays unknown (`socket.remoteAddress` undefined), never `0.0.0.0`: an address made up for
 * every caller would put them all in one failed-attempt budget.
 *
 * @example
 * ```ts
 * import { createIncomingMessageShim } from "@mcpgate/auth-core/IncomingMessageShim"
 *
 * const req = createIncomingMessageShim(request, "203.0.113.7")
 * const ok = await legacyProvider.authenticate(req)
 * ```
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"

/**
 * What the shim holds, beyond the `IncomingMessage` type it is given: every field a
 * provider of mcp-framework's shape reads.
 *
 * @since 0.1.0
 */
export interface ShimFields {
  readonly method: string
  /** The path and query, as on the request line (`/mcp?x=1`). */
  readonly url: string
  /** Lower-case names; a header sent on several lines holds them joined with ", ", as Fetch gives them. */
  readonly headers: Record<string, string>
  readonly headersDistinct: Record<string, Array<string>>
  /** Name and value, one pair per header, as Node's `rawHeaders`. */
  readonly rawHeaders: Array<string>
  /** Only `remoteAddress`: the source address given, or undefined. */
  readonly socket: { readonly remoteAddress: string | undefined }
}

/**
 * The shim of a request: its method, its path and query, its headers (names lower-cased),
 * and `socket.remoteAddress` set to `sourceIp` (undefined when not given). Never throws for
 * a `Request` a runtime constructed; reads nothing of the body.
 *
 * @since 0.1.0
 */
export const createIncomingMessageShim = (request: Request, sourceIp?: string): IncomingMessage => {
  // Without a prototype, a header named `__proto__` is a header like any other.
  const headers: Record<string, string> = Object.create(null)
  const headersDistinct: Record<string, Array<string>> = Object.create(null)
  const rawHeaders: Array<string> = []
  request.headers.forEach((value, name) => {
    const lower = name.toLowerCase()
    headers[lower] = value
    headersDistinct[lower] = [value]
    rawHeaders.push(lower, value)
  })
  const fields: ShimFields = {
    method: request.method,
    url: pathAndQuery(request.url),
    headers,
    headersDistinct,
    rawHeaders,
    socket: { remoteAddress: sourceIp }
  }
  return fields as unknown as IncomingMessage
}

/** `https://host/mcp?x=1` → `/mcp?x=1`; a URL that cannot be parsed gives `/`. */
const pathAndQuery = (url: string): string => {
  try {
    const parsed = new URL(url)
    return `${parsed.pathname}${parsed.search}`
  } catch {
    return "/"
  }
}
