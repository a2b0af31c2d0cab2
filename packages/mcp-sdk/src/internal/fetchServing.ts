/**
 * What the Fetch handler does once the pipeline lets a request in
 * (docs/behaviour.md#order-of-checks, step 7), in front of SDK v2's `createMcpHandler`:
 * tool scopes checked on the parsed body, the identity handed over as `authInfo`, the
 * credential headers removed from the `Request` tools see (unless `exposeToken`), and the
 * CORS headers added to the SDK's answer. After authentication every protocol answer (wrong
 * `Content-Type`, a body that is not JSON, too large or unreadable, a method the endpoint does
 * not serve) is the SDK's own, as on the Node servers.
 */
import { withoutScheme } from "@mcpgate/auth-core/Credentials"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { fromPrincipal } from "@mcpgate/http/AuthInfo"
import * as McpHeaders from "@mcpgate/http/McpHeaders"
import * as ToolScopes from "@mcpgate/http/ToolScopes"
import type * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import { toResponse } from "@mcpgate/http/Fetch"
import { withHeaders } from "@mcpgate/http/Pipeline"

/** SDK v2's `McpHttpHandler`, as far as mcpgate drives it. */
export interface SdkHandlerLike {
  fetch(request: Request, options?: { authInfo?: unknown; parsedBody?: unknown }): Promise<Response>
  close(): Promise<void>
}

/** What serving needs besides the request. */
export interface ServingSettings {
  readonly credentialHeaders: ReadonlySet<string>
  readonly exposeToken: boolean
  readonly resource: URL | undefined
  /** `requiredScopes` and `toolScopes`, judged with `scopeHierarchy`. */
  readonly scopes: ToolScopes.Policy
  readonly maxRequestBodySize: number
  readonly challenge: HttpAnswer.ChallengeOptions
}

type Read = { readonly bytes: Uint8Array; readonly complete: boolean } | undefined

/** A body's bytes, stopping past `cap`; undefined when the body cannot be read (used, or a stream that errors). */
const readCapped = async (request: Request, cap: number): Promise<Read> => {
  if (request.body === null) return { bytes: new Uint8Array(0), complete: true }
  const chunks: Array<Uint8Array> = []
  let total = 0
  try {
    const reader = request.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks.push(value)
      total += value.byteLength
      if (total > cap) {
        reader.cancel().catch(() => {})
        return { bytes: concat(chunks, total), complete: false }
      }
    }
  } catch {
    return undefined
  }
  return { bytes: concat(chunks, total), complete: true }
}

const concat = (chunks: ReadonlyArray<Uint8Array>, total: number): Uint8Array => {
  if (chunks.length === 1) return chunks[0]!
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.byteLength
  }
  return bytes
}

// As the SDK decodes: UTF-8, not fatal, a leading BOM dropped; what fails here fails there.
const UTF8 = new TextDecoder()

const isJsonPost = (request: Request): boolean =>
  request.method === "POST" &&
  (request.headers.get("content-type")?.split(";", 1)[0]!.trim().toLowerCase() ?? "") === "application/json"

/** What to hand the SDK: the parsed body, bytes to replay instead of the spent stream, or a refusal. */
type Screened =
  | { readonly _tag: "Pass"; readonly parsedBody: unknown; readonly bytes: Uint8Array | undefined }
  | { readonly _tag: "Refused"; readonly answer: HttpAnswer.HttpAnswer }

const UNREAD: Screened = { _tag: "Pass", parsedBody: undefined, bytes: undefined }

/** The scopes a request needs whatever its body (`requiredScopes`), for a body not read or not JSON. */
const screenUnread = (settings: ServingSettings, principal: Principal, bytes?: Uint8Array): Screened => {
  const refusal = ToolScopes.check(settings.scopes, undefined, principal.scopes, settings.challenge)
  return refusal !== undefined ? { _tag: "Refused", answer: refusal } : bytes === undefined ? UNREAD : { _tag: "Pass", parsedBody: undefined, bytes }
}

/** The whole body of a request that says its length (at most the cap); undefined when it cannot be read. */
const readWhole = async (request: Request): Promise<Read> => {
  try {
    return { bytes: new Uint8Array(await request.arrayBuffer()), complete: true }
  } catch {
    return undefined
  }
}

/**
 * The body, then scopes (docs/behaviour.md#order-of-checks, step 7). Every JSON `POST` is read
 * here once (up to the SDK's own cap) and handed to the SDK parsed, so that the SDK neither
 * clones the request nor reads it again: the one read a request costs. With tool scopes its
 * `Mcp-Method` and `Mcp-Name` headers are held to it (400, docs/behaviour.md#mcp-headers) and
 * the scopes it needs are checked (403), so the SDK never sees a refused request; without them
 * only `requiredScopes` apply. A body that is not JSON, or too large, is replayed to the SDK,
 * which answers it in its own words; one that cannot be read is left for the SDK to find so.
 */
const screen = async (request: Request, settings: ServingSettings, principal: Principal): Promise<Screened> => {
  if (!isJsonPost(request) || request.bodyUsed) return screenUnread(settings, principal)
  const length = request.headers.get("content-length")
  if (length !== null && !(Number(length) <= settings.maxRequestBodySize)) return screenUnread(settings, principal)
  const read = length !== null ? await readWhole(request) : await readCapped(request, settings.maxRequestBodySize)
  if (read === undefined) return screenUnread(settings, principal)
  let parsed: unknown
  try {
    if (!read.complete) throw new RangeError("over the cap")
    parsed = JSON.parse(UTF8.decode(read.bytes))
  } catch {
    return screenUnread(settings, principal, read.bytes)
  }
  const refusal = settings.scopes.tools.size === 0
    ? ToolScopes.check(settings.scopes, undefined, principal.scopes, settings.challenge)
    : McpHeaders.check(request.headers, parsed) ?? ToolScopes.check(settings.scopes, parsed, principal.scopes, settings.challenge)
  return refusal === undefined ? { _tag: "Pass", parsedBody: parsed, bytes: read.bytes } : { _tag: "Refused", answer: refusal }
}

/** The raw credential the caller showed, for `authInfo.token` when the server exposes it. */
const credentialOf = (request: Request, principal: Principal, names: ReadonlySet<string>): string | undefined => {
  for (const name of principal.credentialHeader === undefined ? names : [principal.credentialHeader]) {
    const value = request.headers.get(name)
    if (value !== null) return withoutScheme(value)
  }
  return undefined
}

/**
 * A body that cannot be read. The SDK answers a body whose stream fails with its own 400
 * (`-32700`, "the request body could not be read"), but a body already used makes it fail
 * cloning the request (a 500): so a spent body is handed on as one that fails, and the
 * client gets the SDK's 400.
 */
const unreadable = (): ReadableStream<Uint8Array> =>
  new ReadableStream({ pull: (controller) => controller.error(new TypeError("the request body was already read")) })

/** Removes the credential headers from the request itself; false where its headers are immutable (Deno, Workers). */
const removedInPlace = (request: Request, names: ReadonlySet<string>): boolean => {
  try {
    for (const name of names) if (request.headers.has(name)) request.headers.delete(name)
    return true
  } catch {
    return false
  }
}

/**
 * The request the SDK (and through it, tools, as `ctx.http.req`) is given: the credential
 * headers removed unless exposed. `bytes` is the body when it was read here: with `parsed`
 * the SDK is handed it parsed and reads nothing, otherwise the bytes are replayed. The request
 * itself is handed on where it can be (its headers changed in place), so that its `signal`
 * and body go on as they are: a copy costs a new `Request`, and on some runtimes following the
 * original's `signal` costs more than the whole authentication (bench/RESULTS.md).
 */
export const handOver = (request: Request, settings: ServingSettings, bytes: Uint8Array | undefined, parsed = false): Request => {
  const spent = request.bodyUsed && bytes === undefined
  const sameBody = parsed || (bytes === undefined && !spent)
  if (sameBody && (settings.exposeToken || removedInPlace(request, settings.credentialHeaders))) return request
  const headers = new Headers(request.headers)
  if (!settings.exposeToken) for (const name of settings.credentialHeaders) headers.delete(name)
  const bodiless = request.method === "GET" || request.method === "HEAD"
  return new Request(request.url, {
    method: request.method,
    headers,
    body: bodiless ? null : bytes ?? (spent ? unreadable() : request.body),
    // A copy that follows the original's `signal` costs Deno some 100 µs (bench/RESULTS.md);
    // a parsed `POST` is served from its body alone, and a client that leaves it still
    // cancels the answer's stream, so only requests the SDK reads or streams on follow it.
    ...(parsed ? {} : { signal: request.signal }),
    // Required by Fetch for a stream body (it is sent as it arrives).
    duplex: "half"
  } as RequestInit)
}

/** Adds `headers` to a response, copying it when its own headers cannot be changed. */
export const withResponseHeaders = (response: Response, headers: Readonly<Record<string, string>>): Response => {
  const names = Object.keys(headers)
  if (names.length === 0) return response
  try {
    for (const name of names) response.headers.set(name, headers[name]!)
    return response
  } catch {
    const copy = new Response(response.body, response)
    for (const name of names) copy.headers.set(name, headers[name]!)
    return copy
  }
}

/** Serves an authenticated request through the SDK handler. */
export const serveAuthenticated = async (
  sdk: SdkHandlerLike,
  request: Request,
  principal: Principal,
  corsHeaders: Readonly<Record<string, string>>,
  settings: ServingSettings
): Promise<Response> => {
  const screened = await screen(request, settings, principal)
  if (screened._tag === "Refused") return toResponse(withHeaders(screened.answer, corsHeaders))
  const token = settings.exposeToken ? credentialOf(request, principal, settings.credentialHeaders) : undefined
  const authInfo = fromPrincipal(principal, { token, resource: settings.resource })
  const forwarded = handOver(request, settings, screened.bytes, screened.parsedBody !== undefined)
  const response = await sdk.fetch(forwarded, {
    authInfo,
    ...(screened.parsedBody === undefined ? {} : { parsedBody: screened.parsedBody })
  })
  return withResponseHeaders(response, corsHeaders)
}
