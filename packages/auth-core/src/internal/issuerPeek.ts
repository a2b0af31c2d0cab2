/**
 * Which issuer a token names, read before anything is verified, so that it is checked only
 * against that issuer's keys or introspection (and an unknown issuer costs no network call).
 * Strict and cheap: the token must have the compact JWS shape already (`Credentials.ts`), its
 * payload segment must decode to UTF-8 JSON, an object, with a string `iss`. Nothing read here
 * is trusted: the issuer's own provider verifies the token in full.
 */
import { isCompactJws } from "../Credentials.js"

/** What a token says about its issuer. */
export type Peeked =
  | { readonly _tag: "Jwt"; readonly issuer: string }
  /** Not a JWT (an opaque token, or a JWE): only introspection can tell. */
  | { readonly _tag: "Opaque" }
  /** A JWT whose payload is not readable, or names no issuer. */
  | { readonly _tag: "Unreadable" }

const opaque: Peeked = { _tag: "Opaque" }
const unreadable: Peeked = { _tag: "Unreadable" }
const utf8 = new TextDecoder("utf-8", { fatal: true })

export const peekIssuer = (token: string): Peeked => {
  if (!isCompactJws(token)) return opaque
  const start = token.indexOf(".") + 1
  const segment = token.slice(start, token.indexOf(".", start))
  try {
    // base64url without padding (RFC 7515 2), checked by the JWS shape above.
    if (segment.length % 4 === 1) return unreadable
    const binary = atob(segment.replace(/-/g, "+").replace(/_/g, "/"))
    const bytes = new Uint8Array(binary.length)
    for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index)
    const payload: unknown = JSON.parse(utf8.decode(bytes))
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return unreadable
    const issuer = (payload as Record<string, unknown>)["iss"]
    return typeof issuer === "string" ? { _tag: "Jwt", issuer } : unreadable
  } catch {
    return unreadable
  }
}
