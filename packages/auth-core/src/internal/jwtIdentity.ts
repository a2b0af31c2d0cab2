/**
 * Who a JWT names, as one rule for the verified principal and for the identity a token
 * claims before it is verified (what the gate compares with identities proven earlier).
 */
import { decodeJwt } from "jose"
import { createHash } from "node:crypto"

/**
 * (provider, `iss`, `sub`), so a refreshed token keeps its session (docs/behaviour.md#identity); a
 * token without a subject can only be itself.
 */
export const identityOf = (payload: Readonly<Record<string, unknown>>, token: string): string => {
  const sub = payload["sub"]
  const iss = typeof payload["iss"] === "string" ? payload["iss"] : ""
  return typeof sub === "string"
    ? `jwt:${JSON.stringify([iss, sub])}`
    : `jwt:token:${createHash("sha256").update(token).digest("hex").slice(0, 32)}`
}

/** The identity an unverified token claims, or undefined when it cannot be read. */
export const claimedIdentityOf = (token: string): string | undefined => {
  try {
    return identityOf(decodeJwt(token), token)
  } catch {
    return undefined
  }
}
