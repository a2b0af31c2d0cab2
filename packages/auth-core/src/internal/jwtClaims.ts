/**
 * The claim rules of the JWT provider that jose leaves to the caller
 * (docs/behaviour.md#keys-and-tokens): which claims are required, finite time claims, `iat`
 * not in the future, the longest lifetime, and no audience where none is configured. The
 * `iat` rule (`issuedInFuture`) is written here once, so that the verified-token cache's
 * re-check on a hit can use the very comparison of the full check.
 */
import type { JWTPayload } from "jose"
import type { SingleFailure } from "../AuthFailure.js"
import { ClaimMismatch, InvalidCredentials, PrematureCredentials } from "../AuthFailure.js"
import type { failuresFor } from "./failures.js"
import type { JwtOptions } from "./jwtOptions.js"

const TIME_CLAIMS = ["exp", "nbf", "iat"] as const

/** The claims jose must find: `exp` always, `iat` to measure a lifetime, and the configured ones. */
export const requiredClaimsOf = (options: JwtOptions): Array<string> => [
  "exp",
  ...(options.maxTokenLifetime === undefined ? [] : ["iat"]),
  ...(options.requiredClaims ?? [])
]

/**
 * The `iat` rule: a token issued later than now plus the clock tolerance (in seconds) is
 * refused as `issued_in_future`. jose checks it only with `maxTokenAge`, so it is ours.
 */
export const issuedInFuture = (payload: JWTPayload, nowMillis: number, clockTolerance: number): boolean =>
  payload.iat !== undefined && payload.iat > nowMillis / 1000 + clockTolerance

/**
 * The claim rules of these options, for a payload jose has verified: the first rule broken,
 * or undefined when all hold.
 */
export const makeClaimsCheck = (
  options: JwtOptions,
  failure: ReturnType<typeof failuresFor>["failure"]
) =>
(payload: JWTPayload, now: number): SingleFailure | undefined => {
  for (const claim of TIME_CLAIMS) {
    const value = payload[claim]
    // JSON.parse("1e400") is Infinity: an `exp` that never comes.
    if (value !== undefined && !Number.isFinite(value)) return failure(InvalidCredentials, "claims_invalid")
  }
  if (issuedInFuture(payload, now, options.clockTolerance)) {
    return failure(PrematureCredentials, "issued_in_future")
  }
  // A token issued for ten years is a standing credential if it leaks; the issuer's own
  // clock sets both claims, so no tolerance applies.
  if (options.maxTokenLifetime !== undefined && payload.exp! - payload.iat! > options.maxTokenLifetime) {
    return failure(ClaimMismatch, "lifetime_too_long")
  }
  // RFC 7519 4.1.3: a token meant for some audience is refused where none is configured.
  if (payload.aud !== undefined && options.audience === undefined) {
    return failure(ClaimMismatch, "unexpected_audience")
  }
  return undefined
}
