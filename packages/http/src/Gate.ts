/**
 * Steps 4 and 5 of every request (docs/behaviour.md#order-of-checks) in one place, so that every adapter
 * and transport limits, counts and logs alike: the failed-attempt gate before any
 * cryptography, then the provider's check, then the verdict as data.
 *
 * - A credential in the URL query is refused first, before any provider sees the request.
 * - A client over its budget gets 429 before its credential is checked, unless the
 *   credential claims an identity that client proved before (`docs/design.md`, "Lockout
 *   spares proven credentials").
 * - Every 401 for a presented credential spends one unit of the client's budget; a request
 *   without any credential, and a 503 (key source down), do not.
 * - Successes and failures are counted (`AuthMetrics`); each failure is logged once at
 *   warning level with its reason code, provider, client and key label or fingerprint,
 *   never a credential, under flood control (100 lines a minute, then one line saying how
 *   many were held back). Logs go through Effect's `Logger`, so a `Logger` layer in the
 *   runtime that runs `check` replaces them.
 * - With protected-resource metadata configured (RFC 9728), every Bearer challenge names
 *   it, and a JWT must be addressed to the resource (`aud`).
 *
 * @example
 * ```ts
 * import { ClientAddress, Gate } from "@mcpgate/http"
 * import { Effect } from "effect"
 *
 * const gate = Gate.unsafeMake(provider, { rateLimit: { maxFailures: 20, window: 60 } })
 * const verdict = await Effect.runPromise(
 *   gate.check({ headers: req.headers, client: ClientAddress.of(req.socket.remoteAddress, undefined) }, true)
 * )
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Metric from "effect/Metric"
import type { AuthFailure } from "@mcpgate/auth-core/AuthFailure"
import { failuresOf } from "@mcpgate/auth-core/AuthFailure"
import * as AuthMetrics from "./AuthMetrics.js"
import { rateLimited, recordSuccess } from "./AuthMetrics.js"
import * as AuthProvider from "@mcpgate/auth-core/AuthProvider"
import type { RequestHeaders } from "@mcpgate/auth-core/Credentials"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import * as AcceptedToken from "./internal/acceptedToken.js"
import * as Refusals from "./internal/refusals.js"
import { asMalformed, credentialInQuery } from "./internal/queryCredentials.js"
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as RateLimiter from "./RateLimiter.js"

/**
 * One request as the gate sees it: its headers and the client it counts against
 * (`ClientAddress.of`).
 *
 * @since 0.1.0
 */
export interface Request {
  readonly headers: RequestHeaders
  readonly client: string
  /**
   * The request target's query (`?a=b`, or without the `?`), where a credential must never
   * be: one named `api_key`, `apiKey`, `access_token` or `token` refuses the request before
   * any provider runs (MCP specification, Authorization: tokens never in the URI).
   */
  readonly query?: string | undefined
  /** The method, and the absolute URL as the server sees it: what a DPoP proof must name (docs/behaviour.md#dpop). */
  readonly method?: string | undefined
  readonly url?: string | undefined
}

/**
 * The gate's verdict: let the principal in, let an anonymous caller in (credentials
 * optional and none presented), or answer.
 *
 * @since 0.1.0
 */
export type Verdict =
  | { readonly _tag: "Authenticated"; readonly principal: Principal }
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Refused"; readonly answer: HttpAnswer.HttpAnswer }

/**
 * The protected resource a server is (RFC 9728): its identifier, which JWTs must name in
 * `aud`, and the URL of its metadata document, named in every Bearer challenge.
 *
 * @since 0.1.0
 */
export interface ProtectedResource {
  readonly resource: string
  readonly metadataUrl: string
  readonly scopesSupported?: ReadonlyArray<string> | undefined
}

/**
 * The options of a gate.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * The failed-attempt limiter: options for a new one, a limiter to share (between the
   * transports of one server, say), or `false` to turn limiting off. Default: 20 failures
   * per client per 60 s, counted in memory.
   */
  readonly rateLimit?: RateLimiter.Options | RateLimiter.RateLimiter | false | undefined
  readonly protectedResource?: ProtectedResource | undefined
  /** The scopes every request needs (`requiredScopes`), named in every Bearer 401 challenge. */
  readonly requiredScopes?: ReadonlyArray<string> | undefined
}

/**
 * A gate.
 *
 * @since 0.1.0
 */
export interface Gate {
  readonly provider: AuthProvider.Service
  readonly limiter: RateLimiter.RateLimiter | undefined
  /**
   * The verdict on one request. With `required` false, a request that presents no
   * credentials at all is `Anonymous` and spends no budget; presented credentials are
   * always checked. Never fails and never dies.
   */
  readonly check: (request: Request, required: boolean) => Effect.Effect<Verdict>
  /**
   * The same verdict, started at once on the real clock: when nothing needs waiting for (an
   * in-memory limiter, a provider with `authenticateAt`, an API key or a cached token), a
   * request let in is answered as an `Exit` during the call, counted and remembered, so an
   * adapter serves it without a fiber or a promise. Anything else, every refusal included,
   * comes back as an Effect that finishes the check (counting, logging, spending budget)
   * when run. Run the result once: unlike `check`, part of its work is already done.
   */
  readonly checkNow: (request: Request, required: boolean) => Effect.Effect<Verdict>
  /** The challenge options (`resource_metadata`) for answers built outside the gate. */
  readonly challenge: HttpAnswer.ChallengeOptions
}

const ANONYMOUS: Verdict = { _tag: "Anonymous" }

/**
 * A gate in front of a provider, as an Effect that fails with a `ConfigurationError` for bad
 * `rateLimit` options.
 *
 * @since 0.1.0
 */
export const make = (provider: AuthProvider.Service, options: Options = {}): Effect.Effect<Gate, ConfigurationError> =>
  Effect.try({
    try: () => unsafeMake(provider, options),
    catch: (error) => error instanceof ConfigurationError ? error : new ConfigurationError({ message: String(error) })
  })

/**
 * A gate in front of a provider. Throws `ConfigurationError` for bad `rateLimit` options.
 *
 * @since 0.1.0
 */
export const unsafeMake = (provider: AuthProvider.Service, options: Options = {}): Gate => {
  const limiter = options.rateLimit === false
    ? undefined
    : RateLimiter.isRateLimiter(options.rateLimit)
    ? options.rateLimit
    : RateLimiter.unsafeMake(options.rateLimit ?? {})
  const protectedResource = options.protectedResource
  // docs/behaviour.md#challenges: the scopes named are `requiredScopes`, else `scopes_supported`.
  const scope = options.requiredScopes ?? protectedResource?.scopesSupported
  const challenge: HttpAnswer.ChallengeOptions = { resourceMetadata: protectedResource?.metadataUrl, scope }

  const authenticate = (request: Request): Effect.Effect<Principal, AuthFailure> =>
    withResource(request, AuthProvider.authenticateSafely(provider, request.headers))

  /** A JWT must name the resource in `aud`, and a bound token come with its proof (`internal/acceptedToken.ts`). */
  const accepted = AcceptedToken.make(provider, protectedResource)
  const withResource = (request: Request, checked: Effect.Effect<Principal, AuthFailure>): Effect.Effect<Principal, AuthFailure> =>
    Effect.flatMap(checked, (principal) => accepted(request, principal) ?? Effect.succeed(principal))

  const refuse = Refusals.make(limiter, challenge)

  /**
   * The provider's own refusal of a request without credentials (its realm, header and
   * challenges), from which the answer to a credential in the URL is made. A custom
   * provider is not run for it: the default challenge of its kind stands in.
   */
  const noCredential: Effect.Effect<AuthFailure> = provider.kinds.includes("custom")
    ? Effect.succeed(AuthProvider.unverified(provider))
    : Effect.map(
      Effect.exit(AuthProvider.authenticateSafely(provider, {})),
      (exit) => Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : AuthProvider.unverified(provider)
    )

  /** A success, counted, and remembered as proven from this client. */
  const admit = (request: Request, principal: Principal): Effect.Effect<Verdict> =>
    Effect.as(
      Effect.zipRight(
        recordSuccess(principal.provider),
        Effect.sync(() => limiter?.proven.add(request.client, principal.identity))
      ),
      { _tag: "Authenticated", principal }
    )

  const verify = (request: Request, required: boolean): Effect.Effect<Verdict> =>
    settle(request, required, authenticate(request))

  /** The verdict on a provider's check: admitted, anonymous, or refused (counted and logged). */
  const settle = (request: Request, required: boolean, checked: Effect.Effect<Principal, AuthFailure>): Effect.Effect<Verdict> =>
    Effect.flatMap(Effect.exit(checked), (exit): Effect.Effect<Verdict> => {
      if (Exit.isSuccess(exit)) return admit(request, exit.value)
      const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
      // Interrupted, or a defect authenticateSafely did not catch: nothing was verified.
      if (failure === undefined) return refuse(request.client, AuthProvider.unverified(provider))
      const failures = failuresOf(failure)
      if (!required && isMissingOnly(failure)) return Effect.succeed(ANONYMOUS)
      // No credential at all cannot be a guess: it spends no budget, so cross-site requests
      // without one cannot lock a client out.
      return refuse(request.client, failure, !failures.every((single) => single.reason === "missing"))
    })

  /**
   * A client over its budget: 429, unless its credential claims an identity the client
   * proved before the lockout (nothing new is proven during one), which is then checked in
   * full; a refusal of it is still the 429.
   */
  const limited = (request: Request, retryAfterSeconds: number): Effect.Effect<Verdict> => {
    const tooMany = Effect.as(Metric.increment(rateLimited), {
      _tag: "Refused",
      answer: HttpAnswer.tooManyAttempts(retryAfterSeconds)
    } as const)
    let claimed: string | undefined
    try {
      claimed = provider.claimedIdentity?.(request.headers)
    } catch {
      claimed = undefined
    }
    if (claimed === undefined || !limiter!.proven.has(request.client, claimed)) return tooMany
    return Effect.flatMap(Effect.exit(authenticate(request)), (exit) =>
      Exit.isSuccess(exit) && exit.value.identity === claimed ? admit(request, exit.value) : tooMany)
  }

  const check = (request: Request, required: boolean): Effect.Effect<Verdict> => {
    // Step 1 of every request: a credential in the URL is refused before any provider runs,
    // and spends no budget (it is not a guess, and a link could make anyone send it).
    if (credentialInQuery(request.query)) {
      return Effect.flatMap(noCredential, (failure) => refuse(request.client, asMalformed(failure, "credential_in_query"), false))
    }
    if (limiter === undefined) return verify(request, required)
    return Effect.flatMap(limiter.check(request.client), (decision): Effect.Effect<Verdict> => {
      switch (decision._tag) {
        case "Allowed":
          return verify(request, required)
        case "Limited":
          return limited(request, decision.retryAfterSeconds)
        case "Unavailable":
          return Effect.succeed({ _tag: "Refused", answer: HttpAnswer.unavailable })
      }
    })
  }

  const checkNow = (request: Request, required: boolean): Effect.Effect<Verdict> => {
    const authenticateAt = provider.authenticateAt
    if (authenticateAt === undefined || credentialInQuery(request.query)) return check(request, required)
    const now = Date.now()
    if (limiter !== undefined) {
      const decision = limiter.checkNow?.(request.client, now)
      if (decision?._tag !== "Allowed") return check(request, required)
    }
    let checked: Effect.Effect<Principal, AuthFailure>
    try {
      checked = authenticateAt(request.headers, now)
    } catch {
      checked = Effect.fail(AuthProvider.unverified(provider))
    }
    if (Exit.isExit(checked)) {
      const exit = checked as Exit.Exit<Principal, AuthFailure>
      if (Exit.isSuccess(exit)) {
        const principal = exit.value
        if (accepted(request, principal) === undefined) {
          AuthMetrics.unsafeRecordSuccess(principal.provider)
          limiter?.proven.add(request.client, principal.identity)
          return Exit.succeed<Verdict>({ _tag: "Authenticated", principal })
        }
      } else if (!required && exit.cause._tag === "Fail" && isMissingOnly(exit.cause.error)) {
        return Exit.succeed(ANONYMOUS)
      }
    }
    return settle(request, required, withResource(request, Effect.catchAllDefect(checked, () => Effect.fail(AuthProvider.unverified(provider)))))
  }

  return { provider, limiter, check, checkNow, challenge }
}

const isMissingOnly = (failure: AuthFailure): boolean =>
  failuresOf(failure).every((single) => single._tag === "MissingCredentials")

