/**
 * The text of `WWW-Authenticate` challenges (docs/behaviour.md#challenges): quoting, and the
 * Bearer challenge with its error code, built in one place for a failed authentication and
 * for a missing scope. `HttpAnswer.ts` puts them into answers.
 */
import type { ChallengeParams, SingleFailure } from "../AuthFailure.js"

/** Escapes a value for an HTTP quoted-string (RFC 9110 5.6.4). */
export const quote = (value: string): string => `"${value.replace(/["\\]/g, "\\$&")}"`

/** The Bearer `error` code of a failure; none for a credential that was not presented (RFC 6750 3.1). */
export const bearerError = (failure: SingleFailure): string | undefined => {
  switch (failure._tag) {
    case "MissingCredentials":
      return undefined
    case "MalformedRequest":
      return "invalid_request"
    default:
      return "invalid_token"
  }
}

/**
 * The scopes a challenge may name. `offline_access` never: the MCP specification
 * (2026-07-28, authorization, "Refresh Tokens") says protected resources SHOULD NOT put it
 * in a `WWW-Authenticate` scope nor in `scopes_supported`, as refresh tokens are no
 * requirement of a resource; whether to ask for one is the client's choice.
 */
export const announcedScopes = (scopes: ReadonlyArray<string>): ReadonlyArray<string> =>
  scopes.includes("offline_access") ? scopes.filter((scope) => scope !== "offline_access") : scopes

/**
 * A Bearer challenge: realm, then the error code, the scopes and the resource metadata that
 * apply. The scopes are left out when none remain to name.
 */
export const bearerChallenge = (
  params: Extract<ChallengeParams, { scheme: "Bearer" }>,
  errorCode: string | undefined,
  scope?: ReadonlyArray<string>
): string => {
  let challenge = `Bearer realm=${quote(params.realm)}`
  if (errorCode !== undefined) challenge += `, error=${quote(errorCode)}`
  const named = scope === undefined ? [] : announcedScopes(scope)
  if (named.length > 0) challenge += `, scope=${quote(named.join(" "))}`
  if (params.resourceMetadata !== undefined) challenge += `, resource_metadata=${quote(params.resourceMetadata)}`
  return challenge
}

/**
 * What RFC 9449 7.1 calls a refusal of the proof rather than of the token: the reasons
 * answered with `error="invalid_dpop_proof"` (docs/behaviour.md#dpop).
 */
const PROOF_REASONS: ReadonlySet<string> = new Set([
  "dpop_proof_missing", "dpop_proof_malformed", "dpop_alg_not_allowed", "dpop_bad_signature",
  "dpop_method_mismatch", "dpop_url_mismatch", "dpop_proof_too_old", "dpop_issued_in_future",
  "dpop_ath_mismatch", "dpop_key_mismatch", "dpop_replayed", "dpop_request_unknown"
])

/**
 * The challenges of a token provider's failure: Bearer, then for a provider that accepts DPoP
 * `DPoP algs="..."` (RFC 9449 7.1). The error code goes on the challenge of the scheme the
 * request used, so a client reads it where it looks; the other carries none.
 */
export const tokenChallenge = (
  params: Extract<ChallengeParams, { scheme: "Bearer" }>,
  failure: SingleFailure,
  scope?: ReadonlyArray<string>
): string => {
  const dpop = params.dpop
  const code = PROOF_REASONS.has(failure.reason) ? "invalid_dpop_proof" : bearerError(failure)
  if (dpop === undefined) return bearerChallenge(params, code, scope)
  const onDpop = dpop.presented === "DPoP"
  const challenge = `${bearerChallenge(params, onDpop ? undefined : code, scope)}, DPoP algs=${quote(dpop.algorithms.join(" "))}`
  return onDpop && code !== undefined ? `${challenge}, error=${quote(code)}` : challenge
}
