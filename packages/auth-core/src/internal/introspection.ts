/**
 * The introspection provider (RFC 7662), wired from its parts: options
 * (`introspectionOptions.ts`), the call (`introspectionCall.ts`), the cache and the sharing of
 * calls (`introspectionCache.ts`), and, for the claims of an active answer, the JWT provider's
 * own rules (`jwtStandardClaims.ts`, `jwtClaims.ts`) and principal (`jwtPrincipal.ts`), so that
 * an opaque token is held to exactly what a JWT is. A token is a Bearer credential like a JWT,
 * and is refused with the same answers and challenges (docs/behaviour.md#answers).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import type { JWTPayload } from "jose"
import type { AuthFailure, ChallengeParams } from "../AuthFailure.js"
import { InvalidCredentials, KeySourceUnavailable } from "../AuthFailure.js"
import type { Service } from "../AuthProvider.js"
import type { RequestHeaders } from "../Credentials.js"
import { readBearer } from "../Credentials.js"
import * as Dpop from "../Dpop.js"
import type { Principal } from "../Principal.js"
import { failuresFor } from "./failures.js"
import type { Outcome } from "./introspectionCache.js"
import * as Cache from "./introspectionCache.js"
import { makeIntrospectionCall } from "./introspectionCall.js"
import type { IntrospectionOptions, ParsedIntrospection } from "./introspectionOptions.js"
import { cacheSettingsOf } from "./introspectionOptions.js"
import { makeClaimsCheck } from "./jwtClaims.js"
import { webIdentityOf } from "./jwtIdentity.js"
import { principalOf } from "./jwtPrincipal.js"
import { makeStandardClaimsCheck } from "./jwtStandardClaims.js"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"
import { deepFreeze, nodeDigestOf, webDigestOf } from "./verifiedTokens.js"

/** Where the introspection endpoint is: fixed, or found by discovery (undefined while it cannot be). */
export type EndpointSource = (nowMillis: number) => Promise<string | undefined>

/** The Effect-facing provider: a provider service that always answers `authenticateAt`. */
export interface IntrospectionProvider extends Pick<Service, "headerNames" | "authenticate" | "stillValid" | "changes" | "dpop"> {
  readonly kinds: ReadonlyArray<"jwt">
  readonly authenticateAt: NonNullable<Service["authenticateAt"]>
  /** Checks a token already read from its request, at `nowMillis`. */
  readonly checkToken: (token: string, nowMillis: number) => Effect.Effect<Principal, AuthFailure>
  /** How many introspections are under way. */
  readonly inFlight: () => number
}

export interface IntrospectionChecker {
  readonly provider: IntrospectionProvider
  readonly checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
}

/** The challenge of these options (docs/behaviour.md#challenges). */
export const challengeOf = (options: IntrospectionOptions): ChallengeParams => ({
  scheme: "Bearer",
  realm: options.realm,
  resourceMetadata: options.resourceMetadata
})

export const makeChecker = (
  { claimRules, options }: ParsedIntrospection,
  endpoint: EndpointSource,
  platform: Platform = Platforms.current
): IntrospectionChecker => {
  const dpop = options.dpop === undefined ? undefined : Dpop.make(options.dpop, { provider: "jwt", ...options }, platform)
  const failures = failuresFor("jwt", dpop?.challenge("Bearer") ?? challengeOf(options))
  const { fail, failure, unread } = failures
  const standardProblem = makeStandardClaimsCheck(claimRules, failure)
  const ruleProblem = makeClaimsCheck(claimRules, failure)
  const call = makeIntrospectionCall(
    { clientId: options.clientId, clientSecret: options.clientSecret, method: options.clientAuthentication },
    options.timeout * 1000
  )
  const settings = cacheSettingsOf(options)
  const cache = Cache.make(settings)
  const inactiveTtl = settings?.inactiveTtlMillis ?? 0
  const ttl = settings?.ttlMillis ?? 0
  const credentialHeader = options.headerName.toLowerCase()
  const keyId = `introspection:${options.endpoint ?? options.issuer}`
  const unavailable = failure(KeySourceUnavailable, "key_source_unavailable")
  const inactive = failure(InvalidCredentials, "token_inactive")

  const problemOf = (payload: JWTPayload, nowMillis: number) =>
    standardProblem(payload, nowMillis) ?? ruleProblem(payload, nowMillis)

  /** The decision on an answer, and how long it may be kept. */
  const decide = async (token: string, nowMillis: number): Promise<Outcome> => {
    const at = await endpoint(nowMillis)
    if (at === undefined) return { _tag: "Unavailable" }
    const answer = await call(at, token)
    if (answer._tag === "Unavailable") return answer
    if (answer._tag === "Inactive") return { _tag: "Refused", failure: inactive, until: nowMillis + inactiveTtl }
    const payload = answer.claims as JWTPayload
    const problem = problemOf(payload, nowMillis)
    if (problem !== undefined) return { _tag: "Refused", failure: problem, until: nowMillis + inactiveTtl }
    // Frozen, as a JWT's principal is: every later request of the token shares it. Without
    // `node:crypto` the identity of a token without `sub` is a Web Crypto digest, waited for.
    const identity = platform._tag === "Node" ? undefined : await webIdentityOf(payload, token)
    const principal = deepFreeze(principalOf(token, { keyId, payload }, credentialHeader, identity))
    // Never past `exp` (checked above to be a finite number), nor past the TTL.
    return { _tag: "Accepted", principal, payload, until: Math.min(nowMillis + ttl, payload.exp! * 1000) }
  }

  const answer = (outcome: Outcome): Exit.Exit<Principal, AuthFailure> => {
    switch (outcome._tag) {
      case "Accepted":
        return Exit.succeed(outcome.principal)
      case "Refused":
        return Exit.fail(outcome.failure)
      case "Unavailable":
        return Exit.fail(unavailable)
    }
  }

  // The cache's key: `node:crypto`'s digest at once, Web Crypto's waited for.
  const digestNow = nodeDigestOf(platform)
  const checkToken = (token: string, nowMillis: number): Effect.Effect<Principal, AuthFailure> =>
    digestNow !== undefined
      ? checkDigest(token, digestNow(token), nowMillis)
      : Effect.flatMap(Effect.promise(() => webDigestOf(token)), (digest) => checkDigest(token, digest, nowMillis))

  const checkDigest = (token: string, digest: string, nowMillis: number): Effect.Effect<Principal, AuthFailure> => {
    const known = cache.recall(digest, nowMillis)
    if (known !== undefined) {
      if (known._tag === "Refused") return Exit.fail(known.failure)
      // The claim rules again, as on a JWT cache hit: a kept answer and a fresh one agree.
      const problem = problemOf(known.payload, nowMillis)
      if (problem === undefined) return Exit.succeed(known.principal)
      cache.forget(digest)
      return Exit.fail(problem)
    }
    const shared = cache.shared(digest, () =>
      // A defect here must not leave the waiters hanging: it is the server's side failing.
      decide(token, nowMillis).catch((): Outcome => ({ _tag: "Unavailable" })))
    return Effect.flatMap(Effect.promise(() => shared), answer)
  }

  const check = (request: RequestHeaders, nowMillis: number): Effect.Effect<Principal, AuthFailure> => {
    try {
      const credential = readBearer(request, options.headerName, options.requireBearer, dpop !== undefined)
      if (credential._tag !== "Found") return unread(credential)
      return credential.scheme === "DPoP" ? dpop!.underDpop(checkToken(credential.value, nowMillis)) : checkToken(credential.value, nowMillis)
    } catch {
      return fail(InvalidCredentials, "verification_error")
    }
  }

  return {
    provider: {
      kinds: ["jwt"],
      headerNames: dpop === undefined ? [options.headerName] : [options.headerName, "DPoP"],
      authenticate: (request) => Effect.clockWith((clock) => check(request, clock.unsafeCurrentTimeMillis())),
      authenticateAt: check,
      stillValid: (principal) =>
        Effect.clockWith((clock) =>
          Effect.succeed(
            principal.expiresAt === undefined ||
              clock.unsafeCurrentTimeMillis() / 1000 < principal.expiresAt + options.clockTolerance
          )
        ),
      changes: Stream.never,
      checkToken,
      inFlight: cache.inFlight,
      dpop
    },
    checkNow: (request) => dpop === undefined ? check(request, Date.now()) : dpop.judged(request, check(request, Date.now()))
  }
}

/** The endpoint of these options: the configured one, else the `introspection_endpoint` of the discovered metadata. */
export const fixedEndpoint = (endpoint: string): EndpointSource => () => Promise.resolve(endpoint)
