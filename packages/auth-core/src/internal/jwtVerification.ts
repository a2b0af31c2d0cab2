/**
 * Verifying a token with jose against the key material in force: choosing the candidate keys
 * for its header (local keys by `kid` and `alg`, or the remote set), trying them in order, and
 * naming each refusal of jose by its reason. Runs only on a token whose form has been checked
 * (`jwtTokenForm.ts`).
 */
import * as Effect from "effect/Effect"
import type { CryptoKey, JWSHeaderParameters, JWTPayload, KeyObject } from "jose"
import { errors, jwtVerify } from "jose"
import type { SingleFailure } from "../AuthFailure.js"
import {
  ClaimMismatch,
  ExpiredCredentials,
  InvalidCredentials,
  KeySourceUnavailable,
  PrematureCredentials
} from "../AuthFailure.js"
import type { failuresFor } from "./failures.js"
import { requiredClaimsOf } from "./jwtClaims.js"
import type { KeyMaterial } from "./jwtKeyMaterial.js"
import type { ImportedKey } from "./jwtKeyImport.js"
import { importedKeys } from "./jwtKeyImport.js"
import type { Algorithm } from "./jwtKeys.js"
import * as Keys from "./jwtKeys.js"
import type { JwtOptions } from "./jwtOptions.js"

/** A payload whose signature held, and the key that verified it. */
export type Verified = { readonly payload: JWTPayload; readonly keyId: string; readonly key: CryptoKey | KeyObject }

/**
 * The verification of these options: a token and its protected header, checked with the
 * given material at `now` (milliseconds).
 */
export const makeVerifier = (
  options: JwtOptions,
  { fail, failure }: ReturnType<typeof failuresFor>
) => {
  const tolerance = options.clockTolerance
  const imported = importedKeys()
  const requiredClaims = requiredClaimsOf(options)

  const verifyWith = (
    token: string,
    key: CryptoKey | KeyObject,
    algorithms: ReadonlyArray<Algorithm>,
    now: number
  ) =>
    Effect.tryPromise({
      try: () =>
        jwtVerify(token, key, {
          algorithms: [...algorithms],
          ...(options.issuer !== undefined ? { issuer: options.issuer as string | Array<string> } : {}),
          ...(options.audience !== undefined ? { audience: options.audience as string | Array<string> } : {}),
          ...(options.maxTokenAge !== undefined ? { maxTokenAge: options.maxTokenAge } : {}),
          clockTolerance: tolerance,
          requiredClaims,
          currentDate: new Date(now)
        }),
      catch: classify
    })

  const classify = (error: unknown): SingleFailure => {
    if (error instanceof errors.JWTExpired) {
      // jose reports a token older than maxTokenAge as a JWTExpired on its `iat`.
      return error.claim === "iat" ? failure(ClaimMismatch, "token_too_old") : failure(ExpiredCredentials, "expired")
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      if (error.reason === "missing") return failure(ClaimMismatch, "missing_claim")
      // "invalid": a time claim that is not a number, whichever claim it is.
      if (error.reason !== "check_failed") return failure(InvalidCredentials, "claims_invalid")
      switch (error.claim) {
        case "nbf":
          return failure(PrematureCredentials, "not_yet_valid")
        case "iss":
          return failure(ClaimMismatch, "issuer_mismatch")
        case "aud":
          return failure(ClaimMismatch, "audience_mismatch")
        case "iat":
          // with maxTokenAge, jose refuses an `iat` in the future this way
          return failure(PrematureCredentials, "issued_in_future")
        default:
          return failure(InvalidCredentials, "claims_invalid")
      }
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) return failure(InvalidCredentials, "bad_signature")
    if (error instanceof errors.JOSEAlgNotAllowed) return failure(InvalidCredentials, "alg_not_allowed")
    if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return failure(InvalidCredentials, "malformed_token")
    // Anything else thrown while verifying (TypeError, DOMException) is still the token's fault.
    return failure(InvalidCredentials, "verification_error")
  }

  /** Tries each candidate key in order; the first signature that holds wins. */
  const verifyFirst = (
    token: string,
    keys: ReadonlyArray<ImportedKey>,
    algorithms: ReadonlyArray<Algorithm>,
    now: number
  ): Effect.Effect<Verified, SingleFailure> => {
    const attempt = (index: number): Effect.Effect<Verified, SingleFailure> =>
      Effect.catchAll(
        Effect.map(
          verifyWith(token, keys[index]!.key, algorithms, now),
          ({ payload }) => ({ payload, keyId: keys[index]!.id, key: keys[index]!.key })
        ),
        (error) => error.reason === "bad_signature" && index + 1 < keys.length ? attempt(index + 1) : Effect.fail(error)
      )
    return attempt(0)
  }

  const verify = (token: string, header: JWSHeaderParameters, material: KeyMaterial, now: number) => {
    if (material._tag === "Local") {
      const keys = Keys.candidates(material.keys, header.kid, header.alg!)
      if (keys.length === 0) return fail(InvalidCredentials, header.kid !== undefined ? "unknown_kid" : "no_matching_key")
      const ready = keys.map((key) => imported(key, header.alg!))
      return ready.every((entry) => !(entry instanceof Promise))
        ? verifyFirst(token, ready as ReadonlyArray<ImportedKey>, material.algorithms, now)
        : Effect.flatMap(
          Effect.promise(() => Promise.all(ready)),
          (ready) => verifyFirst(token, ready, material.algorithms, now)
        )
    }
    return Effect.flatMap(material.jwks.resolve(header), (found) => {
      switch (found._tag) {
        case "NoMatchingKey":
          return fail(InvalidCredentials, header.kid !== undefined ? "unknown_kid" : "no_matching_key")
        case "Unavailable":
          return fail(KeySourceUnavailable, "key_source_unavailable")
        case "Keys":
          return verifyFirst(
            token,
            found.keys.map((key) => ({ key, id: `jwt:remote:${typeof header.kid === "string" ? header.kid : ""}` })),
            material.algorithms,
            now
          )
      }
    })
  }

  return verify
}
