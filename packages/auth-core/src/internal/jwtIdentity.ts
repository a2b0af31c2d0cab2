/**
 * Who a JWT names, as one rule for the verified principal and for the identity a token
 * claims before it is verified (what the gate compares with identities proven earlier).
 */
import { decodeJwt } from "jose"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"

/** (provider, `iss`, `sub`), or undefined for a token without a subject. */
export const subjectIdentity = (payload: Readonly<Record<string, unknown>>): string | undefined => {
  const sub = payload["sub"]
  const iss = typeof payload["iss"] === "string" ? payload["iss"] : ""
  return typeof sub === "string" ? `jwt:${JSON.stringify([iss, sub])}` : undefined
}

const tokenIdentity = (hex: string) => `jwt:token:${hex.slice(0, 32)}`

/**
 * (provider, `iss`, `sub`), so a refreshed token keeps its session (docs/behaviour.md#identity); a
 * token without a subject can only be itself: its digest. That digest is synchronous on
 * `node:crypto` only; on the web path it is a Promise (`webIdentityOf`), and this throws.
 */
export const identityOf = (
  payload: Readonly<Record<string, unknown>>,
  token: string,
  platform: Platform = Platforms.current
): string => {
  const named = subjectIdentity(payload)
  if (named !== undefined) return named
  if (platform._tag !== "Node") throw new Error("a token's own identity needs a digest: use webIdentityOf")
  return tokenIdentity(platform.crypto.createHash("sha256").update(token).digest("hex"))
}

/** `identityOf` on the web path: Web Crypto's digest for a token without a subject. */
export const webIdentityOf = (payload: Readonly<Record<string, unknown>>, token: string): string | Promise<string> =>
  subjectIdentity(payload) ?? Platforms.webSha256(token).then((digest) => tokenIdentity(Platforms.toHex(digest)))

/**
 * The identity an unverified token claims, or undefined when it cannot be read, or (on the
 * web path, where its digest would have to be waited for) when it names no subject.
 */
export const claimedIdentityOf = (token: string, platform: Platform = Platforms.current): string | undefined => {
  try {
    const payload = decodeJwt(token)
    return platform._tag === "Node" ? identityOf(payload, token, platform) : subjectIdentity(payload)
  } catch {
    return undefined
  }
}
