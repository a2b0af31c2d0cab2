/**
 * The form of a token, checked strictly and cheaply before any crypto or any fetch of a
 * remote key set: the compact JWS shape, one canonical base64url spelling, a readable
 * protected header, and an `alg` the key material allows.
 */
import * as Either from "effect/Either"
import type { JWSHeaderParameters } from "jose"
import { isCompactJws } from "../Credentials.js"
import { Lru } from "../Lru.js"
import type { Algorithm } from "./jwtKeys.js"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"
import { deepFreeze } from "./verifiedTokens.js"

/** Why a token's form is refused, in the order the checks run. */
export type FormProblem = "malformed_token" | "alg_not_allowed"

/** Reads the protected header of a token of the right form (see `makeProtectedHeaderReader`). */
export type ProtectedHeaderReader = (
  token: string,
  algorithms: ReadonlyArray<Algorithm>
) => Either.Either<JWSHeaderParameters, FormProblem>

/**
 * How many distinct header segments a reader remembers. One issuer signs with one or a few
 * headers (`alg`, `typ`, `kid`), so a handful covers every legitimate client.
 */
const HEADER_SEGMENTS_REMEMBERED = 16

/**
 * The protected header of a token of the right form, or why the token is refused, in this
 * order: not a canonical compact JWS, or a header that cannot be decoded (`malformed_token`);
 * an `alg` missing or not allowed (`alg_not_allowed`).
 *
 * A reader remembers the few header segments it decoded last: every token of an issuer
 * carries the same header, so a new token's header is a map look-up rather than a base64url
 * decode, a UTF-8 check and a `JSON.parse`. The decoded headers are frozen, since every token
 * with that segment shares one; the bound holds whatever headers strangers send. Only the
 * decoding is remembered: the `alg` is checked on every token against the algorithms in
 * force, which a rotation may change.
 */
export const makeProtectedHeaderReader = (platform: Platform = Platforms.current): ProtectedHeaderReader => {
  const decoded = new Lru<string, JWSHeaderParameters>(HEADER_SEGMENTS_REMEMBERED)
  const jsonObjectOf = jsonObjectReader(platform)
  return (token, algorithms) => {
    if (!isCompactJws(token) || !isCanonical(token)) return Either.left("malformed_token")
    const segment = token.slice(0, token.indexOf("."))
    let header = decoded.get(segment)
    if (header === undefined) {
      header = jsonObjectOf<JWSHeaderParameters>(segment)
      if (header === undefined) return Either.left("malformed_token")
      decoded.set(segment, deepFreeze(header))
    }
    if (typeof header.alg !== "string" || !(algorithms as ReadonlyArray<string>).includes(header.alg)) {
      return Either.left("alg_not_allowed")
    }
    return Either.right(header)
  }
}

/**
 * RFC 4648 3.5: the unused bits of a segment's last character must be zero. Decoders ignore
 * them, so without this check one signed token could be presented in several spellings.
 * `isCompactJws` has checked the alphabet, so only each segment's last character matters: with
 * 2 characters over a whole group it carries 4 unused bits, with 3 characters 2; a lone
 * character cannot be base64url at all.
 */
export const isCanonical = (token: string): boolean => {
  let start = 0
  for (;;) {
    const dot = token.indexOf(".", start)
    const end = dot === -1 ? token.length : dot
    const unusedBits = [0, -1, 4, 2][(end - start) % 4]!
    if (unusedBits === -1) return false
    if (unusedBits > 0 && (BASE64URL.indexOf(token[end - 1]!) & ((1 << unusedBits) - 1)) !== 0) return false
    if (dot === -1) return true
    start = dot + 1
  }
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const BOM = 0xfeff

/**
 * A base64url segment decoded as jose decodes a header or a claims set: strict UTF-8 (a
 * leading byte-order mark dropped, as `TextDecoder` drops it), JSON, a plain object; else
 * undefined. The segment has passed the checks of form of `makeProtectedHeaderReader`. With
 * `node:buffer` where the runtime has it; else `atob` and a fatal `TextDecoder` (which keeps
 * the mark, as `Buffer` does), to the same answers.
 */
export const jsonObjectReader = (platform: Platform): <A extends object>(segment: string) => A | undefined => {
  const textOf = (segment: string): string | undefined => {
    if (platform._tag !== "Node") return Platforms.strictUtf8Text(Platforms.fromBase64(segment))
    const bytes = platform.Buffer.from(segment, "base64url")
    return platform.isUtf8(bytes) ? bytes.toString("utf8") : undefined
  }
  return <A extends object>(segment: string): A | undefined => {
    let text = textOf(segment)
    if (text === undefined) return undefined
    if (text.charCodeAt(0) === BOM) text = text.slice(1)
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      return undefined
    }
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? parsed as A : undefined
  }
}
