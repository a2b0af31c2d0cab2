/**
 * Tool scopes on Streamable HTTP (docs/behaviour.md#order-of-checks, step 7). The SDK transport reads a
 * `POST` body itself, so with tool scopes the body is read here first, parsed, checked, and
 * then handed to the SDK as its pre-parsed body: both lines' `handleRequest(req, res,
 * parsedBody)` take one and skip their own read, keeping every other check (`Accept`,
 * `Content-Type`, JSON-RPC shape, session, protocol version) in order.
 *
 * A body that is not JSON, or over the SDK's cap, is answered by the SDK as its own
 * (docs/behaviour.md#answers): the bytes read are replayed to it as `req.rawBody`, which the Node
 * adapter both lines use (`@hono/node-server`) reads instead of the spent stream, so the
 * SDK reads and refuses the very same bytes. Without any scope configured nothing here runs.
 *
 * Where the body is read, its `Mcp-Method` and `Mcp-Name` headers must agree with it (MCP
 * 2026-07-28, Streamable HTTP, "Server Validation"; docs/behaviour.md#mcp-headers): the
 * scopes are decided from the body, and a header that names another method or tool is
 * refused with 400 before anything reaches the SDK.
 */
import type { HttpAnswer } from "@mcpgate/auth-core"
import { McpHeaders, ToolScopes } from "@mcpgate/http"
import { NodeHttp } from "@mcpgate/node"
import type * as http from "node:http"

/**
 * The SDK's own cap on a `POST` body: v1 `DEFAULT_MAX_REQUEST_BODY_SIZE`
 * (`server/requestBody.js`) and v2 `@modelcontextprotocol/server`, both 4 MiB. Transports
 * are made with it as `maxRequestBodySize` when tool scopes are set, so that a body the SDK
 * would read is never larger than one read here.
 */
export const SDK_MAX_BODY_BYTES = 4 * 1024 * 1024

/** What becomes of a request: handed to the SDK (`parsedBody` undefined: it reads the body), refused, or gone. */
export type Screened =
  | { readonly _tag: "Pass"; readonly parsedBody: unknown }
  | { readonly _tag: "Refused"; readonly answer: HttpAnswer.HttpAnswer }
  | { readonly _tag: "Aborted" }

const UNREAD: Screened = { _tag: "Pass", parsedBody: undefined }
const ABORTED: Screened = { _tag: "Aborted" }

// As the SDK decodes (`readRequestBody`): UTF-8, not fatal, a leading BOM dropped. The same
// text means the same parse: what fails here fails there, what passes here is what it gets.
const UTF8 = new TextDecoder()

/**
 * The scope check of one request (`requiredScopes`, tool scopes, through the hierarchy). A
 * `POST`, when tool scopes are set, has its body read and parsed first: its `Mcp-Method`
 * and `Mcp-Name` headers are held to it (`McpHeaders`, 400), then the scopes it needs are
 * checked (403). Anything else is checked on `requiredScopes` alone and passes unread.
 */
export const screen = async (
  request: http.IncomingMessage,
  policy: ToolScopes.Policy,
  scopes: ReadonlyArray<string>,
  challenge: HttpAnswer.ChallengeOptions
): Promise<Screened> => {
  if (policy.tools.size === 0 || request.method !== "POST") return unread(policy, scopes, challenge)
  // The SDK refuses a declared length over its cap (413) without reading: nothing can reach a tool.
  if (Number(request.headers["content-length"]) > SDK_MAX_BODY_BYTES) return unread(policy, scopes, challenge)
  const read = await NodeHttp.readBytes(request, SDK_MAX_BODY_BYTES)
  if (read === undefined) return ABORTED
  const { bytes } = read
  let parsed: unknown
  try {
    if (!read.complete) throw new RangeError("over the cap")
    parsed = JSON.parse(UTF8.decode(bytes))
  } catch {
    // Not JSON, or too large: the SDK reads these bytes again and gives its own answer.
    ;(request as http.IncomingMessage & { rawBody?: Buffer }).rawBody = bytes
    return unread(policy, scopes, challenge)
  }
  // The scopes are decided from the body alone; headers that say otherwise are refused first.
  const refusal = McpHeaders.check(request, parsed) ?? ToolScopes.check(policy, parsed, scopes, challenge)
  return refusal === undefined ? { _tag: "Pass", parsedBody: parsed } : { _tag: "Refused", answer: refusal }
}

/** A request whose body is the SDK's to read: held to `requiredScopes` alone. */
const unread = (policy: ToolScopes.Policy, scopes: ReadonlyArray<string>, challenge: HttpAnswer.ChallengeOptions): Screened => {
  const refusal = ToolScopes.check(policy, undefined, scopes, challenge)
  return refusal === undefined ? UNREAD : { _tag: "Refused", answer: refusal }
}
