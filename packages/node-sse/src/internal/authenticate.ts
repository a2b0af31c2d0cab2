/**
 * One authentication step of an adapter: the provider's verdict on a Node request, with
 * "no credentials at all" told apart, for endpoints where credentials are optional.
 */
import { AuthFailure, AuthProvider, HttpAnswer } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type { IncomingMessage } from "node:http"

export type Outcome =
  | { readonly _tag: "Authenticated"; readonly principal: Principal }
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Refused"; readonly answer: HttpAnswer.HttpAnswer; readonly failure: AuthFailure.AuthFailure }

/** A provider as adapters accept it: the Effect service, or a Promise provider that wraps one. */
export type ProviderInput = AuthProvider.Service | { readonly service: AuthProvider.Service }

export const serviceOf = (input: ProviderInput): AuthProvider.Service =>
  "service" in input ? input.service : input

const ANONYMOUS: Outcome = { _tag: "Anonymous" }

/**
 * Checks a request. With `required` false, a request that presents no credentials at all
 * passes as anonymous; one that presents credentials still has them checked, so a wrong or
 * another caller's credential is never ignored.
 */
export const authenticate = async (
  provider: AuthProvider.Service,
  request: IncomingMessage,
  required: boolean
): Promise<Outcome> => {
  const exit = await Effect.runPromiseExit(AuthProvider.authenticateSafely(provider, request))
  if (Exit.isSuccess(exit)) return { _tag: "Authenticated", principal: exit.value }
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
  if (failure === undefined) {
    // Interrupted: nothing was verified, so nothing is let in.
    return refusalOf(AuthProvider.unverified(provider))
  }
  if (!required && AuthFailure.failuresOf(failure).every((single) => single._tag === "MissingCredentials")) {
    return ANONYMOUS
  }
  return refusalOf(failure)
}

const refusalOf = (failure: AuthFailure.AuthFailure): Outcome => ({
  _tag: "Refused",
  answer: HttpAnswer.fromFailure(failure),
  failure
})
