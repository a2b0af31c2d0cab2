/**
 * `OAuthAuthProvider`'s provider: the plan of `oauthOptions.ts` built from mcpgate's own
 * providers (`Jwt` with the configured JWKS, `Issuers` when the keys are discovered,
 * `Introspection`), composed, not copied, its failures those of the `oauth` kind, which
 * `HttpAnswer` answers with mcp-framework's body for this provider, `Unauthorized`, while the
 * challenge stays the Bearer one with `resource_metadata`
 * (docs/behaviour.md#challenges), never mcp-framework's non-standard `resource=`.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import type { AuthFailure, ChallengeParams, SingleFailure, SingleFailureClass } from "../AuthFailure.js"
import { MalformedRequest, NoProviderAccepted } from "../AuthFailure.js"
import type { Service } from "../AuthProvider.js"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { RequestHeaders } from "../Credentials.js"
import { Messages } from "../HttpAnswer.js"
import { checkerOf as introspectionCheckerOf } from "../Introspection.js"
import type { Principal } from "../Principal.js"
import { makeIssuers } from "./issuers.js"
import { makeChecker as makeJwtChecker, parseOptions as parseJwtOptions } from "./jwt.js"
import type { OAuthOptions } from "./oauthOptions.js"
import { asOAuthError, metadataUrlOf, planOAuth } from "./oauthOptions.js"

/** What the Promise class is made of. */
export interface OAuthChecker {
  readonly options: OAuthOptions
  readonly service: Service
  readonly checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  readonly challenge: Extract<ChallengeParams, { scheme: "Bearer" }>
}

/** mcp-framework's refusal for `OAuthAuthProvider` (`getAuthError()`): the body of its 401s. */
export const OAUTH_REFUSAL = { status: 401, message: Messages.unauthorized } as const

/**
 * A service whose failures are `OAuthAuthProvider`'s (`provider: "oauth"`), so that their
 * 401 body is its own. Failures are made once per class and reason by the providers, so
 * their copies are made once too.
 */
export const asOAuthProvider = (
  service: Service,
  checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
) => {
  const copies = new WeakMap<SingleFailure, SingleFailure>()
  const single = (failure: SingleFailure): SingleFailure => {
    if (failure.provider === "oauth") return failure
    let copy = copies.get(failure)
    if (copy === undefined) {
      const Failure = failure.constructor as SingleFailureClass
      copy = new Failure({ provider: "oauth", reason: failure.reason, challenge: failure.challenge, keyLabel: failure.keyLabel })
      copies.set(failure, copy)
    }
    return copy
  }
  const mapped = (failure: AuthFailure): AuthFailure =>
    failure._tag === "NoProviderAccepted"
      ? new NoProviderAccepted({ primary: single(failure.primary), failures: failure.failures.map(single) })
      : single(failure)
  // A decision made at once stays an Exit: a cached token is still answered without a fiber.
  const asOAuth = (checked: Effect.Effect<Principal, AuthFailure>): Effect.Effect<Principal, AuthFailure> =>
    Exit.isExit(checked)
      ? Exit.mapError(checked as Exit.Exit<Principal, AuthFailure>, mapped)
      : Effect.mapError(checked, mapped)
  const authenticateAt = service.authenticateAt
  const wrapped: Service = {
    ...service,
    authenticate: (request) => asOAuth(service.authenticate(request)),
    ...(authenticateAt === undefined ? {} : { authenticateAt: (request: RequestHeaders, now: number) => asOAuth(authenticateAt(request, now)) })
  }
  return { service: wrapped, checkNow: (request: RequestHeaders) => asOAuth(checkNow(request)) }
}

// RFC 6750 2.3 names `access_token`; mcp-framework refuses `token` too.
const QUERY_TOKENS = ["access_token", "token"]

/**
 * Whether a Node request (one with `headers` and a `url`) carries a token in its query:
 * mcp-framework's `OAuthAuthProvider` refuses it, so this one does too when code calls it
 * with a request (mcpgate's servers refuse it before any provider runs).
 */
export const tokenInQuery = (request: RequestHeaders): boolean => {
  const { headers, url } = request as { headers?: unknown; url?: unknown }
  if (typeof headers !== "object" || headers === null || typeof url !== "string") return false
  const start = url.indexOf("?")
  if (start < 0) return false
  const end = url.indexOf("#", start)
  const query = new URLSearchParams(url.slice(start + 1, end < 0 ? undefined : end))
  return QUERY_TOKENS.some((name) => query.has(name))
}

/** The provider of an `OAuthAuthProvider` configuration, built synchronously, or the configuration's error. */
export const makeOAuthChecker = (input: unknown): Either.Either<OAuthChecker, ConfigurationError> =>
  Either.flatMap(planOAuth(input), ({ options, plan }) => {
    const challenge = { scheme: "Bearer" as const, realm: options.realm, resourceMetadata: metadataUrlOf(options.resource) }
    const built: Either.Either<{ service: Service; checkNow: OAuthChecker["checkNow"] }, ConfigurationError> = (() => {
      switch (plan._tag) {
        case "Jwt":
          return Either.map(parseJwtOptions(plan.options), ({ keys, options: decoded }) => {
            const { checkNow, provider } = Effect.runSync(makeJwtChecker(decoded, keys))
            return { service: provider, checkNow }
          })
        case "DiscoveredJwt":
          return Either.map(
            makeIssuers({ issuers: plan.issuers.map((issuer) => ({ issuer, jwt: plan.jwt })), ...plan.shared }),
            (service) => ({ service, checkNow: (request: RequestHeaders) => service.authenticateAt(request, Date.now()) })
          )
        case "Introspection":
          return Either.map(introspectionCheckerOf(plan.options), ({ checkNow, provider }) => ({ service: provider, checkNow }))
      }
    })()
    const inQuery = Exit.fail(new MalformedRequest({ provider: "oauth", reason: "credential_in_query", challenge }))
    const refusingQuery = (check: OAuthChecker["checkNow"]): OAuthChecker["checkNow"] => (request) =>
      tokenInQuery(request) ? inQuery : check(request)
    return Either.match(built, {
      onLeft: (error) => Either.left(asOAuthError(error, "OAuth")),
      onRight: ({ checkNow, service }) =>
        Either.right({
          options,
          challenge,
          ...asOAuthProvider({ ...service, authenticate: refusingQuery(service.authenticate) }, refusingQuery(checkNow))
        })
    })
  })
