/**
 * Reading credentials out of request headers, strictly (docs/behaviour.md#reading-credentials,
 * RFC 6750 2.1, RFC 9110 11.6.2). Nothing here touches a key: a request that is malformed as
 * HTTP is told apart from a credential that is merely wrong before any cryptography runs.
 *
 * @since 0.1.0
 */
import type { ReasonCode } from "./AuthFailure.js"

/**
 * A header record as Node's `headers`/`headersDistinct` or a plain object gives it.
 * Array values keep duplicate lines apart, which is how duplicates are caught.
 *
 * @since 0.1.0
 */
export type HeaderRecord = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * Anything shaped like Node's `IncomingMessage`. `headers` is read as code holds it when we
 * run (a test harness, a serverless shim or a middleware may have set, replaced or deleted
 * the credential), and `rawHeaders` (else `headersDistinct`) tells whether the wire carried
 * the header twice: `headers` joins repeated `x-api-key` lines with ", " and keeps only the
 * first `authorization`, so only the wire shows the ambiguity (RFC 9110 5.3).
 *
 * @since 0.1.0
 */
export interface NodeRequestLike {
  readonly headers?: HeaderRecord
  readonly rawHeaders?: ReadonlyArray<string>
  readonly headersDistinct?: HeaderRecord
}

/**
 * The request headers a provider accepts: a Fetch `Headers`, a header record, or a Node request.
 *
 * @since 0.1.0
 */
export type RequestHeaders = Headers | HeaderRecord | NodeRequestLike

/**
 * What reading one credential found.
 *
 * @since 0.1.0
 */
export type CredentialRead =
  | { readonly _tag: "Found"; readonly value: string; readonly scheme?: "DPoP" | undefined }
  | { readonly _tag: "Absent" }
  | { readonly _tag: "Malformed"; readonly reason: ReasonCode }
  | { readonly _tag: "TooLarge" }

/**
 * The longest token looked at; a longer one is refused before any parsing or crypto.
 *
 * @since 0.1.0
 */
export const MAX_TOKEN_LENGTH = 8192

const absent: CredentialRead = { _tag: "Absent" }
const tooLarge: CredentialRead = { _tag: "TooLarge" }
const found = (value: string): CredentialRead => ({ _tag: "Found", value })
const malformed = (reason: ReasonCode): CredentialRead => ({ _tag: "Malformed", reason })

const isFetchHeaders = (input: RequestHeaders): input is Headers =>
  typeof (input as Headers).get === "function" && typeof (input as Headers).forEach === "function"

const isRecord = (value: unknown): value is HeaderRecord =>
  typeof value === "object" && value !== null && !Array.isArray(value)

// A header record's values are strings or arrays, never records: an object under
// `headers` or `headersDistinct` is a request.
const isNodeRequest = (input: RequestHeaders): input is NodeRequestLike =>
  isRecord((input as NodeRequestLike).headers) || isRecord((input as NodeRequestLike).headersDistinct)

/** The lines of one header in a record, whatever the casing of its name (RFC 9110 5.1). */
const recordLines = (record: HeaderRecord, wanted: string): Array<string> => {
  const lines: Array<string> = []
  for (const key of Object.keys(record)) {
    if (key.length !== wanted.length || key.toLowerCase() !== wanted) continue
    const value = record[key]
    if (typeof value === "string") lines.push(value)
    else if (Array.isArray(value)) for (const line of value) if (typeof line === "string") lines.push(line)
  }
  return lines
}

/** The lines of one header as they arrived on the wire, or undefined when the request does not say. */
const wireLines = (request: NodeRequestLike, wanted: string): Array<string> | undefined => {
  const raw = request.rawHeaders
  if (Array.isArray(raw)) {
    const lines: Array<string> = []
    for (let index = 0; index + 1 < raw.length; index += 2) {
      const name = raw[index]
      if (typeof name === "string" && name.length === wanted.length && name.toLowerCase() === wanted) {
        const value = raw[index + 1]
        if (typeof value === "string") lines.push(value)
      }
    }
    return lines
  }
  return isRecord(request.headersDistinct) ? recordLines(request.headersDistinct, wanted) : undefined
}

const nodeLines = (request: NodeRequestLike, wanted: string): ReadonlyArray<string> => {
  const held = isRecord(request.headers) ? recordLines(request.headers, wanted) : undefined
  const wire = wireLines(request, wanted)
  if (held === undefined) return wire ?? []
  // Repeated lines that code left as Node made them (the first, or all joined) are still
  // the wire's ambiguous credential; a value code put there itself is what it says.
  if (wire !== undefined && wire.length > 1 && held.length === 1 && (held[0] === wire[0] || held[0] === wire.join(", "))) {
    return wire
  }
  return held
}

/**
 * Every line of one header, whatever the casing of its name (names are case-insensitive,
 * RFC 9110 5.1). A Fetch `Headers` has already joined duplicate lines with ", ".
 *
 * @since 0.1.0
 */
export const headerLines = (input: RequestHeaders, name: string): ReadonlyArray<string> => {
  const wanted = name.toLowerCase()
  // A request first: Express's `req` has `get` (a header getter) and, as a Readable,
  // `forEach`, yet only its wire lines tell a header sent twice.
  if (isNodeRequest(input)) return nodeLines(input, wanted)
  if (isFetchHeaders(input)) {
    const value = input.get(name)
    return typeof value === "string" ? [value] : []
  }
  return recordLines(input as HeaderRecord, wanted)
}

/**
 * The single value of a header, or why there is none: more than one line is malformed,
 * since a joined or repeated credential is ambiguous.
 *
 * @since 0.1.0
 */
export const readSingle = (input: RequestHeaders, name: string): CredentialRead => {
  const lines = headerLines(input, name)
  if (lines.length === 0) return absent
  if (lines.length > 1) return malformed("duplicate_header")
  const value = lines[0]!
  return value.length === 0 ? malformed("empty_header") : found(value)
}

// RFC 9110 5.6.2 token: the auth-scheme.
const SCHEME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/
// RFC 6750 2.1 b64token, anchored: one token and nothing after it.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/
const BEARER_PREFIX = /^bearer +/i
// An API key sent as a Bearer token is no OAuth token: any visible ASCII but the comma,
// exactly as keys are configured.
const API_KEY_TOKEN = /^[\x21-\x2b\x2d-\x7e]+$/

/**
 * Which characters the token of a Bearer header may hold: RFC 6750's b64token, or those of
 * an API key (visible ASCII but the comma) for `ApiKey`'s `allowBearer`.
 *
 * @since 0.1.0
 */
export type TokenSyntax = "b64token" | "api-key"

/**
 * Reads `<scheme> <token>` strictly: the scheme `Bearer` in any casing, one or more
 * spaces, one b64token and nothing else. Another scheme (say `Basic`) counts as absent,
 * so the challenge carries no error code (RFC 6750 3.1); tabs, a second token or
 * trailing junk are malformed. With `dpop`, the scheme `DPoP` (RFC 9449 7.1) is read the
 * same way, and the credential says so (`scheme: "DPoP"`).
 *
 * @since 0.1.0
 */
export const parseBearer = (value: string, syntax: TokenSyntax = "b64token", dpop = false): CredentialRead => {
  if (value.length === 0) return malformed("empty_header")
  const scheme = SCHEME.exec(value)?.[0]
  if (scheme === undefined) return malformed("malformed_header")
  const isDpop = dpop && scheme.length === 4 && scheme.toLowerCase() === "dpop"
  if (!isDpop && (scheme.length !== 6 || scheme.toLowerCase() !== "bearer")) return absent
  let start = scheme.length
  while (value.charCodeAt(start) === 0x20) start++
  if (start === scheme.length || start === value.length) return malformed("malformed_header")
  if (value.length - start > MAX_TOKEN_LENGTH) return tooLarge
  const token = value.slice(start)
  if (!(syntax === "b64token" ? B64TOKEN : API_KEY_TOKEN).test(token)) return malformed("malformed_header")
  return isDpop ? { _tag: "Found", value: token, scheme: "DPoP" } : found(token)
}

/**
 * The token of a header whose whole value is the token (`requireBearer: false`); a leading
 * `Bearer ` is accepted too.
 *
 * @since 0.1.0
 */
export const parseBareToken = (value: string): CredentialRead => {
  if (value.length === 0) return malformed("empty_header")
  const token = value.replace(BEARER_PREFIX, "")
  if (token.length === 0) return malformed("malformed_header")
  return token.length > MAX_TOKEN_LENGTH ? tooLarge : found(token)
}

/**
 * Reads a Bearer credential from a header: the header read once, then parsed.
 *
 * @since 0.1.0
 */
export const readBearer = (
  input: RequestHeaders,
  headerName: string,
  requireBearer: boolean,
  dpop = false
): CredentialRead => {
  const line = readSingle(input, headerName)
  if (line._tag !== "Found") return line
  return requireBearer ? parseBearer(line.value, "b64token", dpop) : parseBareToken(line.value)
}

// Compact JWS: three base64url segments, no padding, no whitespace (RFC 7515 7.1).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

/**
 * Whether a token has the shape of a compact JWS, checked before any decoding.
 *
 * @since 0.1.0
 */
export const isCompactJws = (token: string): boolean => COMPACT_JWS.test(token)

const TOKEN_SCHEME = /^(?:bearer|dpop) +/i

/**
 * The credential of a header a caller was let in with, without its `Bearer` or `DPoP`
 * scheme: what `exposeToken` hands tools as `authInfo.token` (the header was read strictly
 * before; this only drops the scheme).
 *
 * @since 0.1.0
 */
export function withoutScheme(value: string): string
export function withoutScheme(value: string | null | undefined): string | undefined
export function withoutScheme(value: string | null | undefined): string | undefined {
  return value === null || value === undefined ? undefined : value.replace(TOKEN_SCHEME, "")
}
