/**
 * The principal of a verified JWT, and whether it still holds later on: who the token names
 * (docs/behaviour.md#identity), made from the payload and the key that verified it.
 */
import type { Principal } from "../Principal.js"
import { scopesFromClaims } from "../Principal.js"
import { identityOf } from "./jwtIdentity.js"
import type { KeyMaterial } from "./jwtKeyMaterial.js"
import type { Verified } from "./jwtVerification.js"

/** The principal of a verified token, read through the configured header (`credentialHeader`, lower-case). */
export const principalOf = (token: string, { keyId, payload }: Verified, credentialHeader: string): Principal => {
  const sub = typeof payload.sub === "string" ? payload.sub : undefined
  const clientId = [payload["client_id"], payload["azp"], sub].find((v): v is string => typeof v === "string") ?? ""
  return {
    provider: "jwt",
    subject: sub ?? clientId,
    clientId,
    scopes: scopesFromClaims(payload),
    expiresAt: payload.exp,
    claims: payload,
    identity: identityOf(payload, token),
    keyId,
    credentialHeader
  }
}

/**
 * Whether a principal still holds at `nowMillis`: its token has not expired (beyond the
 * clock tolerance) and the key that verified it is still in the material in force.
 */
export const principalStillHolds = (
  principal: Principal,
  material: KeyMaterial,
  nowMillis: number,
  clockTolerance: number
): boolean => {
  if (principal.expiresAt !== undefined && nowMillis / 1000 >= principal.expiresAt + clockTolerance) return false
  return material._tag === "Remote"
    ? principal.keyId.startsWith("jwt:remote:")
    : material.keys.all.some((key) => key.id === principal.keyId)
}
