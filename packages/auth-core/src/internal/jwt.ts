/**
 * The JWT provider, wired from its parts: options (`jwtOptions.ts`), key material
 * (`jwtKeyMaterial.ts`), the token's form (`jwtTokenForm.ts`), verification on `node:crypto`
 * for local keys (`jwtNodeVerification.ts`, synchronous) or with jose for a remote key set
 * and wherever `node:crypto` is missing (`jwtVerification.ts`, `platform.ts`), claim rules (`jwtClaims.ts`), the principal (`jwtPrincipal.ts`)
 * and the verified-token cache (`jwtTokenCache.ts`). What is here is the order of the
 * checks and the key rotation; every rule lives with its concern.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { JWSHeaderParameters } from "jose"
import type { AuthFailure, ChallengeParams } from "../AuthFailure.js"
import { InvalidCredentials } from "../AuthFailure.js"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { RequestHeaders } from "../Credentials.js"
import { isCompactJws, readBearer } from "../Credentials.js"
import * as Dpop from "../Dpop.js"
import type { Principal } from "../Principal.js"
import { failuresFor } from "./failures.js"
import { makeClaimsCheck } from "./jwtClaims.js"
import { claimedIdentityOf, identityOf, webIdentityOf } from "./jwtIdentity.js"
import type { KeyMaterial } from "./jwtKeyMaterial.js"
import { isRefusal, makeNodeVerifier } from "./jwtNodeVerification.js"
import { makeKeyMaterial, replacementKeyMaterial } from "./jwtKeyMaterial.js"
import type { JwtKeyOptionsInput, JwtOptions } from "./jwtOptions.js"
import { decodeJwtOptions } from "./jwtOptions.js"
import { principalOf, principalStillHolds } from "./jwtPrincipal.js"
import type { RememberToken } from "./jwtTokenCache.js"
import { makeTokenCache } from "./jwtTokenCache.js"
import { makeProtectedHeaderReader } from "./jwtTokenForm.js"
import type { Verified } from "./jwtVerification.js"
import { makeVerifier } from "./jwtVerification.js"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"
import { deepFreeze } from "./verifiedTokens.js"

export type { KeyMaterial } from "./jwtKeyMaterial.js"
export type { JwtKeyOptionsInput, JwtOptions, JwtOptionsInput } from "./jwtOptions.js"

/** Decodes the options and settles the key material, synchronously: the Promise API throws from its constructor. */
export const parseOptions = (
  input: unknown,
  platform: Platform = Platforms.current
): Either.Either<{ readonly options: JwtOptions; readonly keys: KeyMaterial }, ConfigurationError> =>
  Either.flatMap(decodeJwtOptions(input), (options) => Either.map(makeKeyMaterial(options, platform), (keys) => ({ options, keys })))

/** The Effect-facing JWT provider; also the rotation handle. */
export interface JwtProvider {
  readonly kinds: ReadonlyArray<"jwt">
  readonly headerNames: ReadonlyArray<string>
  readonly authenticate: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  readonly stillValid: (principal: Principal) => Effect.Effect<boolean>
  readonly changes: Stream.Stream<void>
  readonly updateKeys: (keys: JwtKeyOptionsInput) => Effect.Effect<void, ConfigurationError>
  readonly claimedIdentity: (request: RequestHeaders) => string | undefined
  readonly authenticateAt: (request: RequestHeaders, nowMillis: number) => Effect.Effect<Principal, AuthFailure>
  /** With the `dpop` option: the binding rules the request gate applies (docs/behaviour.md#dpop). */
  readonly dpop?: Dpop.Binding | undefined
}

/** The provider, and its check on the live clock for the Promise API (see `promiseProvider.ts`). */
export interface JwtChecker {
  readonly provider: JwtProvider
  readonly checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
}

/**
 * How local keys verify a signature: on `node:crypto`, synchronously (the default where the
 * platform has it), or with jose's `jwtVerify` on WebCrypto (the only way on the web path),
 * kept so that tests can hold both paths to the same answers. A remote key set is always
 * verified with jose.
 */
export type Verification = "node" | "jose"

export const makeProvider = (options: JwtOptions, initialKeys: KeyMaterial): Effect.Effect<JwtProvider> =>
  Effect.map(makeChecker(options, initialKeys), ({ provider }) => provider)

export const makeChecker = (
  options: JwtOptions,
  initialKeys: KeyMaterial,
  verification: Verification = "node",
  platform: Platform = Platforms.current
): Effect.Effect<JwtChecker> =>
  Effect.map(SubscriptionRef.make(initialKeys), (source) => {
    // The keys in force, read synchronously by every check; `source` only announces changes.
    let current = initialKeys
    const dpop = options.dpop === undefined ? undefined : Dpop.make(options.dpop, { provider: "jwt", ...options }, platform)
    const challenge: ChallengeParams = dpop?.challenge("Bearer") ?? {
      scheme: "Bearer",
      realm: options.realm,
      resourceMetadata: options.resourceMetadata
    }
    const failures = failuresFor("jwt", challenge)
    const { fail, unread } = failures
    const verify = makeVerifier(options, failures)
    const nodeVerifier = verification === "node" && platform._tag === "Node"
      ? makeNodeVerifier(options, failures, platform)
      : undefined
    /** Readies the keys of a material for `node:crypto`, before it is put in force. */
    const prepare = (material: KeyMaterial) => {
      if (material._tag === "Local") nodeVerifier?.prepare(material)
    }
    prepare(initialKeys)
    const claimsProblem = makeClaimsCheck(options, failures.failure)
    const tokenCache = makeTokenCache(options, platform)
    const protectedHeaderOf = makeProtectedHeaderReader(platform)
    const credentialHeader = options.headerName.toLowerCase()

    // Suspended by `clockWith`, so that nothing is read before the effect runs.
    const authenticate = (request: RequestHeaders): Effect.Effect<Principal, AuthFailure> =>
      Effect.clockWith((clock) => check(request, clock.unsafeCurrentTimeMillis()))

    const checkNow = (request: RequestHeaders): Effect.Effect<Principal, AuthFailure> =>
      dpop === undefined ? check(request, Date.now()) : dpop.judged(request, check(request, Date.now()))

    const claimedIdentity = (request: RequestHeaders): string | undefined => {
      const credential = readBearer(request, options.headerName, options.requireBearer, dpop !== undefined)
      return credential._tag === "Found" && isCompactJws(credential.value) ? claimedIdentityOf(credential.value, platform) : undefined
    }

    /**
     * Reads the token and answers a cached one synchronously (an Exit, see
     * `promiseProvider.ts`); anything else is verified in full. Any exception while checking
     * is a 401, never a 500 (docs/behaviour.md#answers).
     */
    const check = (request: RequestHeaders, now: number): Effect.Effect<Principal, AuthFailure> => {
      const checking = startCheck(request, now)
      return Exit.isExit(checking) ? checking : Effect.catchAllDefect(checking, () => fail(InvalidCredentials, "verification_error"))
    }

    const startCheck = (request: RequestHeaders, now: number): Effect.Effect<Principal, AuthFailure> => {
      try {
        const credential = readBearer(request, options.headerName, options.requireBearer, dpop !== undefined)
        if (credential._tag !== "Found") return unread(credential)
        const token = credential.value
        const material = current
        const checked = tokenCache.check(token, material, now, (remember) => verifyToken(token, material, now, remember))
        return credential.scheme === "DPoP" ? dpop!.underDpop(checked) : checked
      } catch {
        return fail(InvalidCredentials, "verification_error")
      }
    }

    /**
     * The full check: the token's form, its signature, then the claim rules. With local keys
     * on `node:crypto` nothing waits, and the answer is an Exit.
     */
    const verifyToken = (
      token: string,
      material: KeyMaterial,
      now: number,
      remember: RememberToken | undefined
    ): Effect.Effect<Principal, AuthFailure> => {
      const header = protectedHeaderOf(token, material.algorithms)
      if (Either.isLeft(header)) return Exit.fail(failures.failure(InvalidCredentials, header.left))
      if (nodeVerifier !== undefined && material._tag === "Local") {
        const verdict = nodeVerifier.verify(token, header.right, material, now)
        return isRefusal(verdict) ? Exit.fail(verdict) : accept(token, verdict, header.right, material, now, remember)
      }
      return Effect.flatMap(verify(token, header.right, material, now), (verified) =>
        accept(token, verified, header.right, material, now, remember))
    }

    /**
     * A token whose signature held: the claim rules, then its principal, remembered. A
     * token without a subject is named by its digest, which the web path waits for.
     */
    const accept = (
      token: string,
      verified: Verified,
      header: JWSHeaderParameters,
      material: KeyMaterial,
      now: number,
      remember: RememberToken | undefined
    ): Effect.Effect<Principal, AuthFailure> => {
      const problem = claimsProblem(verified.payload, now)
      if (problem !== undefined) return Exit.fail(problem)
      const admit = (identity: string) => {
        // Frozen whether cached or not, so a tool behaves the same with the cache on or off.
        const principal = deepFreeze(principalOf(token, verified, credentialHeader, identity))
        remember?.({ principal, payload: verified.payload, material, key: verified.key, header })
        return Exit.succeed(principal)
      }
      const identity = platform._tag === "Node"
        ? identityOf(verified.payload, token, platform)
        : webIdentityOf(verified.payload, token)
      return typeof identity === "string" ? admit(identity) : Effect.flatMap(Effect.promise(() => identity), admit)
    }

    const stillValid = (principal: Principal): Effect.Effect<boolean> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const holds = principalStillHolds(principal, current, now, options.clockTolerance)
        return typeof holds === "boolean" ? Effect.succeed(holds) : Effect.promise(() => holds)
      })

    const updateKeys = (keys: JwtKeyOptionsInput) =>
      Effect.flatMap(
        replacementKeyMaterial(options, keys, platform),
        (next) =>
          // In force before the change is announced, so whoever listens sees the new keys.
          // Entries of the old keys would only be refused by their material; free them now.
          Effect.zipRight(
            Effect.sync(() => {
              // Its keys readied first, so the material is swapped in whole, in one assignment.
              prepare(next)
              current = next
              tokenCache.clear()
            }),
            SubscriptionRef.set(source, next)
          )
      )

    return {
      provider: {
        kinds: ["jwt"],
        // The proof is a credential header too: allowed in preflights, kept from tools.
        headerNames: dpop === undefined ? [options.headerName] : [options.headerName, "DPoP"],
        authenticate,
        authenticateAt: check,
        stillValid,
        changes: Stream.map(Stream.drop(source.changes, 1), () => undefined),
        updateKeys,
        claimedIdentity,
        dpop
      },
      checkNow
    }
  })
