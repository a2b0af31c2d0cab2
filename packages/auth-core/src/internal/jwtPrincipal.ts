/**
 * The principal of a verified JWT, and whether it still holds later on: who the token names
 * (docs/behaviour.md#identity), made from the payload and the key that verified it.
 */
import type { Principal } from "../Principal.js"
import { scopesFromClaims } from "../Principal.js"
import { identityOf } from "./jwtIdentity.js"
import type { KeyMaterial } from "./jwtKeyMaterial.js"
import type { Verified } from "./jwtVerification.js"

/**
 * The principal of a verified token, read through the configured header (`credentialHeader`,
 * lower-case). `identity` when the caller has it already (the web path waits for a digest).
 */
export const principalOf = (
  token: string,
  { keyId, payload }: Pick<Verified, "keyId" | "payload">,
  credentialHeader: string,
  identity: string = identityOf(payload, token)
): Principal => {
  const sub = typeof payload.sub === "string" ? payload.sub : undefined
  const clientId = [payload["client_id"], payload["azp"], sub].find((v): v is string => typeof v === "string") ?? ""
  return {
    provider: "jwt",
    subject: sub ?? clientId,
    clientId,
    scopes: scopesFromClaims(payload),
    expiresAt: payload.exp,
    claims: payload,
    identity,
    keyId,
    credentialHeader
  }
}

/**
 * Whether a principal still holds at `nowMillis`: its token has not expired (beyond the
 * clock tolerance) and the key that verified it is still in the material in force. On the
 * web path key ids are Web Crypto digests, and the answer may have to wait for them.
 */
export const principalStillHolds = (
  principal: Principal,
  material: KeyMaterial,
  nowMillis: number,
  clockTolerance: number
): boolean | Promise<boolean> => {
  if (principal.expiresAt !== undefined && nowMillis / 1000 >= principal.expiresAt + clockTolerance) return false
  if (material._tag === "Remote") return principal.keyId.startsWith("jwt:remote:")
  const ids = material.keys.all.map((key) => key.id)
  return ids.every((id) => typeof id === "string")
    ? ids.includes(principal.keyId)
    : Promise.all(ids).then((settled) => settled.includes(principal.keyId))
}
