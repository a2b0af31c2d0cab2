/**
 * DPoP (RFC 9449) on the resource server: tokens bound to a client's key (`cnf.jkt`) are
 * served only with a proof of that key for this very request. A token provider given the
 * `dpop` option (`Jwt`, `Introspection`, `JWTAuthProvider`, `IntrospectionAuthProvider`)
 * reads `Authorization: DPoP <token>` as strictly as Bearer, announces `DPoP algs="..."` in
 * its challenges, and offers a `Binding`; the request gate of `@mcpgate/http`, which knows
 * the method and the URL, judges every token it accepted with it (docs/behaviour.md#dpop):
 *
 * - a token with `cnf.jkt` must come under the `DPoP` scheme (RFC 9449 7.2) with one `DPoP`
 *   header holding a valid proof of that key for this method and URL, for this token (`ath`),
 *   fresh (`iat`), and never seen before (`jti`);
 * - an unbound token under the `DPoP` scheme is refused, and with `required: true` an
 *   unbound token is refused under any scheme.
 *
 * @example
 * ```ts
 * import { Jwt } from "@mcpgate/auth-core"
 *
 * const AuthLive = Jwt.layer({
 *   jwksUrl: "https://idp.example.com/jwks",
 *   issuer: "https://idp.example.com",
 *   audience: "https://mcp.example.com/mcp",
 *   dpop: { required: true, algorithms: ["ES256", "EdDSA"], maxAge: 60 }
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type { AuthFailure, ChallengeParams, ProviderKind, ReasonCode, SingleFailure, SingleFailureClass } from "./AuthFailure.js"
import { InvalidCredentials } from "./AuthFailure.js"
import type { RequestHeaders } from "./Credentials.js"
import { headerLines, readBearer } from "./Credentials.js"
import type { DpopOptions, DpopOptionsInput } from "./internal/dpopOptions.js"
import { DEFAULT_REPLAY_ENTRIES } from "./internal/dpopOptions.js"
import { makeProofVerifier } from "./internal/dpopProof.js"
import { makeReplayCache } from "./internal/dpopReplay.js"
import * as DpopUrl from "./internal/dpopUrl.js"
import { failuresFor } from "./internal/failures.js"
import type { Platform } from "./internal/platform.js"
import * as Platforms from "./internal/platform.js"
import type { Principal } from "./Principal.js"

/**
 * The `dpop` option: `required` (false), `algorithms` (asymmetric JWS algorithms; default
 * `["ES256", "EdDSA", "RS256", "PS256"]`), `maxAge` (seconds a proof's `iat` may be old:
 * 60, at most 300), `replayCache.maxEntries` (100,000 proofs remembered).
 *
 * @since 0.1.0
 */
export type Options = DpopOptionsInput

/**
 * One request as a binding judges it. `method` and `url` are what the proof must name; a
 * request without them (a check outside an HTTP server) cannot prove a binding.
 *
 * @since 0.1.0
 */
export interface Request {
  readonly headers: RequestHeaders
  readonly method?: string | undefined
  /** The request's absolute URL as the server sees it (`http://<Host><target>`). */
  readonly url?: string | undefined
  /** The origin its path is put under for `htu` (`requestUrl`): the protected resource's. */
  readonly origin?: string | undefined
}

/**
 * The challenge parameters of a token provider.
 *
 * @since 0.1.0
 */
export type BearerChallenge = Extract<ChallengeParams, { readonly scheme: "Bearer" }>

/**
 * A provider's DPoP rules, as the request gate applies them.
 *
 * @since 0.1.0
 */
export interface Binding {
  readonly algorithms: ReadonlyArray<string>
  readonly required: boolean
  /** The provider's challenge for a request under the given scheme. */
  readonly challenge: (presented: "Bearer" | "DPoP") => BearerChallenge
  /** The provider's refusals of a request under the `DPoP` scheme, with the error code on its challenge. */
  readonly underDpop: <A>(checked: Effect.Effect<A, AuthFailure>) => Effect.Effect<A, AuthFailure>
  /**
   * The judgment on a token the provider accepted: undefined when there is nothing to prove
   * (an unbound token, not required, under Bearer), else the principal or the refusal. A
   * refusal known at once is an `Exit`.
   */
  readonly check: (request: Request, principal: Principal) => Effect.Effect<Principal, SingleFailure> | undefined
  /**
   * A provider's check made outside an HTTP server (the Promise classes' `check`), judged
   * without a method or URL: a bound token cannot be proven there and is refused.
   */
  readonly judged: (headers: RequestHeaders, checked: Effect.Effect<Principal, AuthFailure>) => Effect.Effect<Principal, AuthFailure>
}

/**
 * What a binding is made for: the provider's kind, realm and metadata URL (its challenges),
 * and its clock tolerance in seconds.
 *
 * @since 0.1.0
 */
export interface Settings {
  readonly provider: ProviderKind
  readonly realm: string
  readonly resourceMetadata?: string | undefined
  readonly clockTolerance: number
}

/**
 * The URL a proof's `htu` is compared with: the request's path under `origin` when given
 * (a protected resource's, RFC 9728), else the request's absolute URL; normalized as RFC 3986
 * 6.2.2 and 6.2.3 say, without query and fragment. Undefined for a URL that cannot be read.
 *
 * @since 0.1.0
 */
export const requestUrl: (url: string, origin?: string | undefined) => string | undefined = DpopUrl.requestUrl

/**
 * The binding of decoded options.
 *
 * @since 0.1.0
 */
export const make = (options: DpopOptions, settings: Settings, platform: Platform = Platforms.current): Binding => {
  const algorithms = options.algorithms
  const challenge = (presented: "Bearer" | "DPoP"): BearerChallenge => ({
    scheme: "Bearer",
    realm: settings.realm,
    resourceMetadata: settings.resourceMetadata,
    dpop: { algorithms, presented }
  })
  const asBearer = failuresFor(settings.provider, challenge("Bearer"))
  const asDpop = failuresFor(settings.provider, challenge("DPoP"))
  const verifyProof = makeProofVerifier({
    algorithms,
    maxAge: options.maxAge,
    clockTolerance: settings.clockTolerance,
    replay: makeReplayCache(options.replayCache.maxEntries ?? DEFAULT_REPLAY_ENTRIES),
    platform
  })

  const reschemed = (failure: AuthFailure): AuthFailure =>
    failure._tag === "NoProviderAccepted" || failure._tag === "KeySourceUnavailable"
      ? failure
      : asDpop.failure(failure.constructor as SingleFailureClass, failure.reason, failure.keyLabel)

  const underDpop = <A>(checked: Effect.Effect<A, AuthFailure>): Effect.Effect<A, AuthFailure> =>
    Exit.isExit(checked)
      ? Exit.mapError(checked as Exit.Exit<A, AuthFailure>, reschemed)
      : Effect.mapError(checked, reschemed)

  const refuse = (presented: "Bearer" | "DPoP", reason: ReasonCode) =>
    Exit.fail((presented === "DPoP" ? asDpop : asBearer).failure(InvalidCredentials, reason))

  const check = (request: Request, principal: Principal): Effect.Effect<Principal, SingleFailure> | undefined => {
    if (principal.provider !== "jwt" && principal.provider !== "oauth") return undefined
    const credential = readBearer(request.headers, "authorization", true, true)
    // The token came from elsewhere (another provider's header): no DPoP here.
    if (credential._tag !== "Found") return undefined
    const presented = credential.scheme ?? "Bearer"
    const cnf = principal.claims?.["cnf"]
    const jkt = typeof cnf === "object" && cnf !== null ? (cnf as Record<string, unknown>)["jkt"] : undefined
    if (jkt === undefined) {
      if (presented === "DPoP") return refuse(presented, "dpop_unbound_token")
      return options.required ? refuse(presented, "dpop_binding_required") : undefined
    }
    if (typeof jkt !== "string" || jkt.length === 0) return refuse(presented, "dpop_bad_binding")
    // RFC 9449 7.2: a bound token sent as a Bearer token is refused.
    if (presented === "Bearer") return refuse(presented, "dpop_bound_token_as_bearer")
    const url = request.url === undefined ? undefined : requestUrl(request.url, request.origin)
    if (request.method === undefined || url === undefined) return refuse(presented, "dpop_request_unknown")
    let proofs: ReadonlyArray<string>
    try {
      proofs = headerLines(request.headers, "dpop")
    } catch {
      proofs = []
    }
    if (proofs.length === 0) return refuse(presented, "dpop_proof_missing")
    // RFC 9449 4.3, step 1: exactly one DPoP header; a Fetch `Headers` joins two with ", ".
    if (proofs.length > 1 || proofs[0]!.includes(",")) return refuse(presented, "dpop_proof_malformed")
    const method = request.method
    return Effect.flatMap(
      Effect.clockWith((clock) =>
        Effect.promise(() =>
          verifyProof({ proof: proofs[0]!, method, url, accessToken: credential.value, jkt, nowMillis: clock.unsafeCurrentTimeMillis() })
        )
      ),
      (problem) => problem === undefined ? Exit.succeed(principal) : refuse(presented, problem)
    )
  }

  const judged = (headers: RequestHeaders, checked: Effect.Effect<Principal, AuthFailure>): Effect.Effect<Principal, AuthFailure> => {
    if (Exit.isExit(checked)) {
      const exit = checked as Exit.Exit<Principal, AuthFailure>
      return Exit.isSuccess(exit) ? check({ headers }, exit.value) ?? exit : exit
    }
    return Effect.flatMap(checked, (principal) => check({ headers }, principal) ?? Exit.succeed(principal))
  }

  return { algorithms, required: options.required, challenge, underDpop, check, judged }
}
