/**
 * The claim checks jose's `jwtVerify` makes after the signature (its `validateClaimsSet`), for
 * the verification on `node:crypto`: the same order, the same comparisons, and each refusal
 * named by the reason `jwtVerification.ts` gives jose's error, so that both paths answer every
 * token alike (the differential tests hold them to it). The provider's own rules follow in
 * `jwtClaims.ts`, unchanged, on both paths.
 */
import type { JWTPayload } from "jose"
import type { SingleFailure } from "../AuthFailure.js"
import { ClaimMismatch, ExpiredCredentials, InvalidCredentials, PrematureCredentials } from "../AuthFailure.js"
import type { failuresFor } from "./failures.js"
import { requiredClaimsOf } from "./jwtClaims.js"
import type { JwtOptions } from "./jwtOptions.js"

/** What jose's checks find wrong with a payload, or undefined. */
export type StandardClaimsCheck = (payload: JWTPayload, nowMillis: number) => SingleFailure | undefined

/** The checks of these options, as jose makes them with the options `jwtVerification.ts` passes. */
export const makeStandardClaimsCheck = (
  options: JwtOptions,
  failure: ReturnType<typeof failuresFor>["failure"]
): StandardClaimsCheck => {
  const issuers = options.issuer === undefined ? undefined : typeof options.issuer === "string" ? [options.issuer] : options.issuer
  const audiences = options.audience === undefined ? undefined : typeof options.audience === "string" ? [options.audience] : options.audience
  const maxTokenAge = options.maxTokenAge
  const tolerance = options.clockTolerance
  // Every missing claim is the same refusal, so the order jose looks in does not show.
  const required = [...new Set([
    ...requiredClaimsOf(options),
    ...(maxTokenAge !== undefined ? ["iat"] : []),
    ...(audiences !== undefined ? ["aud"] : []),
    ...(issuers !== undefined ? ["iss"] : [])
  ])]
  const missing = failure(ClaimMismatch, "missing_claim")
  const invalid = failure(InvalidCredentials, "claims_invalid")
  const issuerMismatch = failure(ClaimMismatch, "issuer_mismatch")
  const audienceMismatch = failure(ClaimMismatch, "audience_mismatch")
  const notYetValid = failure(PrematureCredentials, "not_yet_valid")
  const expired = failure(ExpiredCredentials, "expired")
  const tooOld = failure(ClaimMismatch, "token_too_old")
  const inFuture = failure(PrematureCredentials, "issued_in_future")
  // jose throws a TypeError on a date it cannot read: `jwtVerification.ts` names it so.
  const unreadableClock = failure(InvalidCredentials, "verification_error")

  return (payload, nowMillis) => {
    for (const claim of required) if (!Object.hasOwn(payload, claim)) return missing
    if (issuers !== undefined && !issuers.includes(payload.iss as string)) return issuerMismatch
    if (audiences !== undefined && !audiencePresent(payload.aud, audiences)) return audienceMismatch
    // jose's `epoch(new Date(now))`: a time outside what a Date holds is NaN, and refused.
    const now = Math.abs(nowMillis) <= 8.64e15 ? Math.floor(Math.trunc(nowMillis) / 1000) : Number.NaN
    if (!Number.isFinite(now)) return unreadableClock
    const { iat, nbf, exp } = payload
    if (iat !== undefined && typeof iat !== "number") return invalid
    if (nbf !== undefined) {
      if (typeof nbf !== "number") return invalid
      if (nbf > now + tolerance) return notYetValid
    }
    if (exp !== undefined) {
      if (typeof exp !== "number") return invalid
      if (exp <= now - tolerance) return expired
    }
    if (maxTokenAge !== undefined) {
      const age = now - iat!
      if (age - tolerance > maxTokenAge) return tooOld
      if (age < -tolerance) return inFuture
    }
    return undefined
  }
}

const audiencePresent = (aud: unknown, audiences: ReadonlyArray<string>): boolean =>
  typeof aud === "string"
    ? audiences.includes(aud)
    : Array.isArray(aud) && audiences.some((audience) => aud.includes(audience))
