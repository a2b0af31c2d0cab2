// The verified-token cache of the JWT provider. A session sends the same token with every
// message; checking its signature once and remembering the answer makes every later check a
// hash and a map look-up, without weakening a rule:
// - only successes are kept, so a refusal is always worked out afresh;
// - an entry is keyed by the SHA-256 of the token, so the cache holds no bearer token and a
//   key's size does not depend on what a client sends;
// - the time rules are checked again on every hit, with jose's own arithmetic, so an entry
//   is never used before `nbf` or after `exp` (or `maxTokenAge`), whatever the clock does;
// - an entry names the key material and the key that verified it, and is used only while
//   both are still the ones in force (see `jwtTokenCache.ts`), so it never outlives a key rotation.
import type { CryptoKey, JWSHeaderParameters, JWTPayload, KeyObject } from "jose"
import type { Principal } from "../Principal.js"
import { Lru } from "../Lru.js"
import { issuedInFuture } from "./jwtClaims.js"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"

/** What was verified, and with what. */
export interface VerifiedToken {
  readonly principal: Principal
  readonly payload: JWTPayload
  /** The key material in force when the token was verified (replaced on every rotation). */
  readonly material: object
  /** The key whose signature held: a remote key set is asked for it again on a hit. */
  readonly key: CryptoKey | KeyObject
  readonly header: JWSHeaderParameters
}

/** The time rules of the provider's options, in seconds. */
export interface TimeRules {
  readonly clockTolerance: number
  readonly maxTokenAge: number | undefined
}

/**
 * Whether the time claims of a verified payload still hold at `nowMillis`: jose's
 * `validateClaimsSet` checks (`nbf`, `exp`, `maxTokenAge` on whole seconds) followed by the
 * provider's own `iat` check, with the same comparisons, so a hit and a fresh verification
 * can never disagree.
 */
export const timeRulesHold = (payload: JWTPayload, nowMillis: number, rules: TimeRules): boolean => {
  const now = Math.floor(nowMillis / 1000)
  const tolerance = rules.clockTolerance
  if (payload.nbf !== undefined && payload.nbf > now + tolerance) return false
  if (payload.exp !== undefined && payload.exp <= now - tolerance) return false
  if (rules.maxTokenAge !== undefined) {
    if (payload.iat === undefined) return false
    const age = now - payload.iat
    if (age - tolerance > rules.maxTokenAge || age < -tolerance) return false
  }
  return !issuedInFuture(payload, nowMillis, tolerance)
}

/** The cache's key for a token: its SHA-256 in base64, one-shot on `node:crypto`; undefined on the web path. */
export const nodeDigestOf = (platform: Platform): ((token: string) => string) | undefined => {
  if (platform._tag !== "Node") return undefined
  const hash = platform.crypto.hash
  return (token) => hash("sha256", token, "base64")
}

/** The same key on the web path, from Web Crypto. */
export const webDigestOf = async (token: string): Promise<string> => Platforms.toBase64(await Platforms.webSha256(token))

const currentDigestOf = nodeDigestOf(Platforms.current)

/** The cache's key for a token, synchronously: `node:crypto` only (else it throws; see `webDigestOf`). */
export const digestOf = (token: string): string => {
  if (currentDigestOf === undefined) throw new Error("no synchronous SHA-256 here: use webDigestOf")
  return currentDigestOf(token)
}

/** A bounded cache of verified tokens. */
export interface VerifiedTokens {
  /** The entry for a digest whose time rules hold at `nowMillis`; a stale entry is dropped. */
  readonly recall: (digest: string, nowMillis: number) => VerifiedToken | undefined
  readonly remember: (digest: string, entry: VerifiedToken) => void
  readonly forget: (digest: string) => void
  readonly clear: () => void
  readonly size: () => number
}

export const make = (maxEntries: number, rules: TimeRules): VerifiedTokens => {
  const entries = new Lru<string, VerifiedToken>(maxEntries)
  return {
    recall: (digest, nowMillis) => {
      const entry = entries.get(digest)
      if (entry === undefined || timeRulesHold(entry.payload, nowMillis, rules)) return entry
      entries.delete(digest)
      return undefined
    },
    remember: (digest, entry) => entries.set(digest, entry),
    forget: (digest) => entries.delete(digest),
    clear: () => entries.clear(),
    size: () => entries.size
  }
}

/**
 * Freezes a verified payload all the way down: a cached principal is handed to every later
 * request of its token, so one tool's change to its claims must not reach another's.
 */
export const deepFreeze = <A>(value: A): A => {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const inner of Object.values(value)) deepFreeze(inner)
  }
  return value
}
