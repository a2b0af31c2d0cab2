/**
 * `Mcp-Method` and `Mcp-Name` (MCP 2026-07-28, Streamable HTTP, "Standard Request
 * Headers"): a client mirrors a request's JSON-RPC `method` into `Mcp-Method`, and the name
 * it acts on into `Mcp-Name`, so that proxies can route without reading bodies. "Servers that
 * process the request body MUST reject requests where the values specified in the headers do
 * not match the corresponding values in the request body": a load balancer trusting the
 * header and a server trusting the body must never act on two different requests.
 *
 * mcpgate decides tool scopes from the body alone and never from these headers; where it
 * reads a body it holds the headers to it with `check`, before any tool runs
 * (docs/behaviour.md#mcp-headers):
 *
 * - a header present must equal the body's value exactly (values are case-sensitive; the
 *   optional whitespace around a field value is not part of it), and be sent once;
 * - `Mcp-Name` mirrors `params.name` (`tools/call`, `prompts/get`), `params.uri`
 *   (`resources/read`) or `params.taskId` (`tasks/get`, `tasks/update`, `tasks/cancel`), as
 *   SDK v2 sends it; a value that is not visible ASCII travels as `=?base64?<UTF-8>?=` and is
 *   decoded before the comparison; raw non-ASCII, control characters or a bad sentinel are
 *   refused, and so is an `Mcp-Name` on a message with nothing to mirror;
 * - absent headers are allowed for protocol revisions before 2026-07-28 (their clients send
 *   none); a 2026-07-28 request (by `MCP-Protocol-Version` or its `_meta` envelope) must
 *   carry `Mcp-Method`, and `Mcp-Name` when its body has the value to mirror;
 * - a batch names no single method: either header on a batch is refused.
 *
 * @example
 * ```ts
 * import { McpHeaders } from "@mcpgate/http"
 *
 * const refusal = McpHeaders.check(request.headers, JSON.parse(body))
 * if (refusal !== undefined) return res.writeHead(refusal.status, refusal.headers).end(refusal.body)
 * ```
 *
 * @since 0.1.0
 */
import type { RequestHeaders } from "@mcpgate/auth-core/Credentials"
import { headerLines } from "@mcpgate/auth-core/Credentials"
import type * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"

/** The first protocol revision whose requests must carry the headers. */
const FIRST_REVISION = "2026-07-28"

/** Which body field `Mcp-Name` mirrors, by method (SDK v2's `MCP_NAME_HEADER_SOURCE`). */
const NAME_SOURCE: ReadonlyMap<string, string> = new Map([
  ["tools/call", "name"],
  ["prompts/get", "name"],
  ["resources/read", "uri"],
  ["tasks/get", "taskId"],
  ["tasks/update", "taskId"],
  ["tasks/cancel", "taskId"]
])

// RFC 9110 5.5: a field value is visible ASCII, spaces and tabs; Node hands other bytes on
// as Latin-1 characters, which the specification asks clients to send Base64-encoded instead.
const PLAIN_VALUE = /^[\x20-\x7e\t]*$/
const SENTINEL = /^=\?base64\?(.*)\?=$/s
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const UTF8 = new TextDecoder("utf-8", { fatal: true })

/** The header's one value without its optional whitespace; undefined when absent; null when unusable. */
const valueOf = (headers: RequestHeaders, name: string): string | null | undefined => {
  let lines: ReadonlyArray<string>
  try {
    lines = headerLines(headers, name)
  } catch {
    return null
  }
  if (lines.length === 0) return undefined
  const value = lines[0]!.replace(/^[ \t]+|[ \t]+$/g, "")
  return lines.length === 1 && PLAIN_VALUE.test(value) ? value : null
}

/** `Mcp-Name` as the client meant it: the sentinel's UTF-8 decoded; null for a bad sentinel. */
const decodedName = (value: string): string | null => {
  const sentinel = SENTINEL.exec(value)
  if (sentinel === null) return value
  if (!BASE64.test(sentinel[1]!)) return null
  try {
    return UTF8.decode(Uint8Array.from(atob(sentinel[1]!), (char) => char.charCodeAt(0)))
  } catch {
    return null
  }
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** A revision of 2026-07-28 or later (dates compare as text). */
const isModern = (version: unknown): boolean =>
  typeof version === "string" && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= FIRST_REVISION

/**
 * The 400 for a parsed body whose `Mcp-Method` or `Mcp-Name` header disagrees with it (or is
 * missing where the 2026-07-28 revision requires it), or undefined when they agree. The
 * answer is a protocol error, not one of authentication: a JSON-RPC error with the code the
 * 2026-07-28 revision assigns to it (`-32020`, HeaderMismatch), as SDK v2 answers the same
 * mismatch itself, so that clients read it as they read the SDK's.
 *
 * @since 0.1.0
 */
export const check = (headers: RequestHeaders, body: unknown): HttpAnswer.HttpAnswer | undefined => {
  const method = valueOf(headers, "mcp-method")
  const name = valueOf(headers, "mcp-name")
  if (Array.isArray(body)) {
    return method !== undefined ? mismatch("Mcp-Method", null) : name !== undefined ? mismatch("Mcp-Name", null) : undefined
  }
  const message = isRecord(body) ? body : {}
  const id = typeof message["id"] === "string" || typeof message["id"] === "number" ? message["id"] : null
  const params = isRecord(message["params"]) ? message["params"] : undefined
  const bodyMethod = typeof message["method"] === "string" ? message["method"] : undefined
  const envelope = isRecord(params?.["_meta"]) ? params["_meta"]["io.modelcontextprotocol/protocolVersion"] : undefined
  // Notifications are exempt: the specification requires the headers on requests.
  const required = bodyMethod !== undefined && "id" in message &&
    (isModern(valueOf(headers, "mcp-protocol-version")) || isModern(envelope))

  if (method === undefined ? required : method !== bodyMethod) return mismatch("Mcp-Method", id)
  const field = bodyMethod === undefined ? undefined : NAME_SOURCE.get(bodyMethod)
  const mirrored = field === undefined || typeof params?.[field] !== "string" ? undefined : params[field]
  if (name === undefined) return required && mirrored !== undefined ? mismatch("Mcp-Name", id) : undefined
  return name !== null && mirrored !== undefined && decodedName(name) === mirrored ? undefined : mismatch("Mcp-Name", id)
}

/** The JSON-RPC error code of a header that disagrees with the body (MCP 2026-07-28, HeaderMismatch). */
export const HEADER_MISMATCH = -32020

/**
 * The 400 naming the header that disagrees, answering the request's `id` (null for a batch
 * or a body without one, as JSON-RPC 2.0 section 5 has it).
 *
 * @since 0.1.0
 */
export const mismatch = (header: "Mcp-Method" | "Mcp-Name", id: string | number | null): HttpAnswer.HttpAnswer => ({
  status: 400,
  headers: { "content-type": "application/json", "cache-control": "no-store" },
  body: JSON.stringify({ jsonrpc: "2.0", id, error: { code: HEADER_MISMATCH, message: `${header} header does not match the body` } })
})
