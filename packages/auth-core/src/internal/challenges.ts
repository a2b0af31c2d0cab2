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

/** A Bearer challenge: realm, then the error code, the scopes and the resource metadata that apply. */
export const bearerChallenge = (
  params: Extract<ChallengeParams, { scheme: "Bearer" }>,
  errorCode: string | undefined,
  scope?: ReadonlyArray<string>
): string => {
  let challenge = `Bearer realm=${quote(params.realm)}`
  if (errorCode !== undefined) challenge += `, error=${quote(errorCode)}`
  if (scope !== undefined) challenge += `, scope=${quote(scope.join(" "))}`
  if (params.resourceMetadata !== undefined) challenge += `, resource_metadata=${quote(params.resourceMetadata)}`
  return challenge
}
