import * as Effect from "effect/Effect"
import type { ChallengeParams, ProviderKind, ReasonCode, SingleFailure, SingleFailureClass } from "../AuthFailure.js"
import { InvalidCredentials, MalformedRequest, MissingCredentials } from "../AuthFailure.js"
import type { CredentialRead } from "../Credentials.js"

/** One provider's failures: its kind and challenge are stated once, here. */
export const failuresFor = (provider: ProviderKind, challenge: ChallengeParams) => {
  const failure = (Failure: SingleFailureClass, reason: ReasonCode, keyLabel?: string): SingleFailure =>
    new Failure(keyLabel === undefined ? { provider, reason, challenge } : { provider, reason, challenge, keyLabel })

  const fail = (Failure: SingleFailureClass, reason: ReasonCode, keyLabel?: string) =>
    Effect.fail(failure(Failure, reason, keyLabel))

  /** A credential that could not be read: absent, malformed as HTTP, or too large to look at. */
  const unread = (read: Exclude<CredentialRead, { readonly _tag: "Found" }>) => {
    switch (read._tag) {
      case "Absent":
        return fail(MissingCredentials, "missing")
      case "Malformed":
        return fail(MalformedRequest, read.reason)
      case "TooLarge":
        return fail(InvalidCredentials, "token_too_large")
    }
  }

  return { failure, fail, unread }
}
