/**
 * How the JWT checker uses the verified-token cache (`verifiedTokens.ts`): sized from the
 * options, asked first for every token, and trusted only while the key material, and for a
 * remote set the very key, that verified a token are still the ones in force.
 */
import * as Effect from "effect/Effect"
import type { AuthFailure } from "../AuthFailure.js"
import type { Principal } from "../Principal.js"
import type { KeyMaterial } from "./jwtKeyMaterial.js"
import type { JwtOptions } from "./jwtOptions.js"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"
import type { VerifiedToken } from "./verifiedTokens.js"
import * as VerifiedTokenCache from "./verifiedTokens.js"

const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000

/** Keeps a verified token for its next requests. */
export type RememberToken = (entry: VerifiedToken) => void

/** The full check of a token; `remember`, when given, keeps a success. */
export type FullCheck = (remember: RememberToken | undefined) => Effect.Effect<Principal, AuthFailure>

/** The verified-token cache of a checker, or its absence when the options turn it off. */
export interface TokenCache {
  /** The token's principal from the cache when it still holds, else the full check. */
  readonly check: (token: string, material: KeyMaterial, now: number, fullCheck: FullCheck) => Effect.Effect<Principal, AuthFailure>
  /** Drops every entry: a rotation replaced the material they name. */
  readonly clear: () => void
}

export const makeTokenCache = (options: JwtOptions, platform: Platform = Platforms.current): TokenCache => {
  const verifiedTokens = options.tokenCache === false ? undefined : VerifiedTokenCache.make(
    options.tokenCache === true ? DEFAULT_TOKEN_CACHE_ENTRIES : options.tokenCache.maxEntries ?? DEFAULT_TOKEN_CACHE_ENTRIES,
    { clockTolerance: options.clockTolerance, maxTokenAge: options.maxTokenAge }
  )
  if (verifiedTokens === undefined) return { check: (_token, _material, _now, fullCheck) => fullCheck(undefined), clear: () => {} }

  /** The full check of a token not (or no longer) in the cache; a success is remembered. */
  const checkAfresh = (digest: string, fullCheck: FullCheck) => {
    verifiedTokens.forget(digest)
    return fullCheck((entry) => verifiedTokens.remember(digest, entry))
  }

  const recall = (
    digest: string,
    material: KeyMaterial,
    now: number,
    fullCheck: FullCheck
  ): Effect.Effect<Principal, AuthFailure> => {
    const recalled = verifiedTokens.recall(digest, now)
    // A rotation replaces the material: what the old keys verified is verified again.
    if (recalled === undefined || recalled.material !== material) return checkAfresh(digest, fullCheck)
    if (material._tag === "Local") return Effect.succeed(recalled.principal)
    // A remote set may have been fetched anew since: the entry holds only while the set
    // still yields the very key that verified it.
    return Effect.flatMap(material.jwks.resolve(recalled.header), (found) =>
      found._tag === "Keys" && found.keys.includes(recalled.key)
        ? Effect.succeed(recalled.principal)
        : checkAfresh(digest, fullCheck))
  }

  // One-shot `node:crypto` digest, so a cached token is answered synchronously; Web Crypto's
  // digest must be waited for.
  const nodeDigestOf = VerifiedTokenCache.nodeDigestOf(platform)
  return {
    check: nodeDigestOf !== undefined
      ? (token, material, now, fullCheck) => recall(nodeDigestOf(token), material, now, fullCheck)
      : (token, material, now, fullCheck) =>
        Effect.flatMap(Effect.promise(() => VerifiedTokenCache.webDigestOf(token)), (digest) => recall(digest, material, now, fullCheck)),
    clear: () => verifiedTokens.clear()
  }
}
