import * as Effect from "effect/Effect"
import type { ChallengeParams, ProviderKind, ReasonCode, SingleFailure, SingleFailureClass } from "../AuthFailure.js"
import { InvalidCredentials, MalformedRequest, MissingCredentials } from "../AuthFailure.js"
import type { CredentialRead } from "../Credentials.js"

/** One provider's failures: its kind and challenge are stated once, here. */
export const failuresFor = (provider: ProviderKind, challenge: ChallengeParams) => {
  // A failure is immutable data: one made per class and reason serves every request that
  // fails alike, so a flood of anonymous or malformed requests builds no errors (each would
  // capture a stack). A failure that names a key is made each time.
  const made = new Map<SingleFailureClass, Map<ReasonCode, SingleFailure>>()
  const failure = (Failure: SingleFailureClass, reason: ReasonCode, keyLabel?: string): SingleFailure => {
    if (keyLabel !== undefined) return new Failure({ provider, reason, challenge, keyLabel })
    let byReason = made.get(Failure)
    if (byReason === undefined) made.set(Failure, byReason = new Map())
    let known = byReason.get(reason)
    if (known === undefined) byReason.set(reason, known = new Failure({ provider, reason, challenge }))
    return known
  }

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
