import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { CryptoKey, JWSHeaderParameters, JWTPayload, KeyObject } from "jose"
import { decodeProtectedHeader, errors, jwtVerify } from "jose"
import type { AuthFailure, ChallengeParams, SingleFailure } from "../AuthFailure.js"
import {
  ClaimMismatch,
  ExpiredCredentials,
  InvalidCredentials,
  KeySourceUnavailable,
  PrematureCredentials
} from "../AuthFailure.js"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { RequestHeaders } from "../Credentials.js"
import { isCompactJws, readBearer } from "../Credentials.js"
import { claimedIdentityOf, identityOf } from "./jwtIdentity.js"
import type { Principal } from "../Principal.js"
import { scopesFromClaims } from "../Principal.js"
import { failuresFor } from "./failures.js"
import type { Algorithm, LocalKeys } from "./jwtKeys.js"
import * as Keys from "./jwtKeys.js"
import {
  configurationError,
  decodeOptions,
  HeaderName,
  HttpUrl,
  PositiveInt,
  Realm,
  Seconds,
  SecretString,
  secretMessage
} from "./options.js"
import type { RemoteJwks } from "./remoteJwks.js"
import * as RemoteJwksSet from "./remoteJwks.js"
import type { VerifiedTokens } from "./verifiedTokens.js"
import * as VerifiedTokenCache from "./verifiedTokens.js"

const StringOrStrings = Schema.Union(Schema.String, Schema.Array(Schema.String))
const Jwk = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** The key material: exactly one of these is given. */
const KeyFields = {
  secret: Schema.optional(SecretString.annotations(secretMessage("secret must be a string or a Redacted string"))),
  publicKey: Schema.optional(Schema.Union(Schema.String, Jwk)),
  jwks: Schema.optional(Schema.Struct({ keys: Schema.Array(Jwk) })),
  jwksUrl: Schema.optional(HttpUrl),
  algorithms: Schema.optional(Schema.NonEmptyArray(
    Schema.Literal(...Keys.ALGORITHMS).annotations({
      message: (issue) => ({
        message: `${JSON.stringify(issue.actual)} is not a supported algorithm; use ${Keys.ALGORITHMS.join(", ")}`,
        override: true
      })
    })
  ))
}

export const JwtKeyOptionsSchema = Schema.Struct(KeyFields)

export const JwtOptionsSchema = Schema.Struct({
  ...KeyFields,
  headerName: Schema.optionalWith(HeaderName, { default: () => "Authorization" }),
  requireBearer: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  issuer: Schema.optional(StringOrStrings),
  audience: Schema.optional(StringOrStrings),
  clockTolerance: Schema.optionalWith(Seconds, { default: () => 30 }),
  maxTokenAge: Schema.optional(Seconds),
  /** The longest a token may be issued for (`exp - iat`); `iat` is then required. */
  maxTokenLifetime: Schema.optional(Seconds.pipe(Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds"))),
  requiredClaims: Schema.optional(Schema.Array(Schema.String)),
  realm: Schema.optionalWith(Realm, { default: () => "mcp" }),
  /** RFC 9728: the URL of the protected-resource metadata, announced in every challenge. */
  resourceMetadata: Schema.optional(HttpUrl),
  /** How long a remote JWKS fetch may take before the request is answered 503. */
  jwksTimeout: Schema.optionalWith(Seconds, { default: () => 5 }),
  /** How long fetched remote keys are trusted before they are fetched again. */
  jwksCacheMaxAge: Schema.optionalWith(Seconds, { default: () => 600 }),
  /**
   * The verified-token cache: a repeated token is checked by its SHA-256 instead of its
   * signature. `false` turns it off; `{ maxEntries }` bounds it (default 10,000 tokens).
   */
  tokenCache: Schema.optionalWith(
    Schema.Union(Schema.Boolean, Schema.Struct({ maxEntries: Schema.optional(PositiveInt) })),
    { default: () => true }
  )
})

export type JwtOptionsInput = Schema.Schema.Encoded<typeof JwtOptionsSchema>
export type JwtKeyOptionsInput = Schema.Schema.Encoded<typeof JwtKeyOptionsSchema>
export type JwtOptions = Schema.Schema.Type<typeof JwtOptionsSchema>

const MAX_CLOCK_TOLERANCE = 300

/** The keys a provider verifies with, and the algorithms it allows for them. */
export type KeyMaterial =
  | { readonly _tag: "Local"; readonly algorithms: ReadonlyArray<Algorithm>; readonly keys: LocalKeys }
  | { readonly _tag: "Remote"; readonly algorithms: ReadonlyArray<Algorithm>; readonly jwks: RemoteJwks }

const invalid = (message: string) => Either.left(configurationError(`Invalid JWT options: ${message}`))

const traverse = <A, B>(
  items: ReadonlyArray<A>,
  f: (a: A, index: number) => Either.Either<B, ConfigurationError>
): Either.Either<ReadonlyArray<B>, ConfigurationError> => Either.all(items.map(f))

/**
 * Parses the key material synchronously with `node:crypto` and settles the algorithms:
 * given ones must all be served by the keys; omitted ones follow the key.
 */
export const makeKeyMaterial = (options: JwtOptions): Either.Either<KeyMaterial, ConfigurationError> => {
  const given = (["secret", "publicKey", "jwks", "jwksUrl"] as const).filter((name) => options[name] !== undefined)
  if (given.length !== 1) {
    return invalid(
      given.length === 0
        ? "give the verification key as one of secret, publicKey, jwks or jwksUrl"
        : `give only one of secret, publicKey, jwks or jwksUrl (got ${given.join(", ")})`
    )
  }
  const algorithms = options.algorithms
  if (algorithms !== undefined && algorithms.some(Keys.isHmac) && !algorithms.every(Keys.isHmac)) {
    return invalid(`algorithms mixes HMAC and public-key algorithms (${algorithms.join(", ")}); use one provider for each`)
  }
  if (options.secret !== undefined) {
    const hmac = algorithms ?? ["HS256"]
    if (!hmac.every(Keys.isHmac)) {
      return invalid(`a secret serves only HS256, HS384 or HS512, not ${hmac.join(", ")}; for public-key algorithms use publicKey, jwks or jwksUrl`)
    }
    return Either.map(Keys.secretKey(Redacted.value(options.secret), hmac), (key) => ({
      _tag: "Local",
      algorithms: hmac,
      keys: Keys.indexKeys([key])
    }))
  }
  if (algorithms?.some(Keys.isHmac)) {
    return invalid(`${algorithms.join(", ")} needs a secret, but a public key was given (algorithm confusion)`)
  }
  if (options.jwksUrl !== undefined) {
    return Either.right({
      _tag: "Remote",
      // An issuer's key set is unknown at startup; RS256 is the OpenID Connect default.
      algorithms: algorithms ?? ["RS256"],
      jwks: RemoteJwksSet.make(options.jwksUrl, {
        timeoutMillis: options.jwksTimeout * 1000,
        cooldownMillis: 30_000,
        cacheMaxAgeMillis: options.jwksCacheMaxAge * 1000
      })
    })
  }
  const parsed = options.publicKey !== undefined
    ? Either.map(
      typeof options.publicKey === "string"
        ? Keys.publicKeyFromPem(options.publicKey)
        : Keys.publicKeyFromJwk(options.publicKey, "publicKey"),
      (key) => [key]
    )
    : traverse(
      // Keys marked for encryption are not for us (RFC 7517 4.2).
      options.jwks!.keys.filter((jwk) => jwk["use"] === undefined || jwk["use"] === "sig"),
      (jwk, index) => Keys.publicKeyFromJwk(jwk, `jwks.keys[${index}]`)
    )
  return Either.flatMap(parsed, (keys) => {
    if (keys.length === 0) return invalid("jwks has no signing keys")
    const allowed = algorithms ?? [...new Set(keys.map(Keys.defaultAlgorithm))]
    if (allowed.some((alg) => alg === undefined)) {
      return invalid("a public key's algorithm cannot be told from the key; set algorithms")
    }
    const unserved = (allowed as ReadonlyArray<Algorithm>).filter((alg) => !keys.some((key) => Keys.keyServes(key, alg)))
    if (unserved.length > 0) {
      return invalid(`no configured key can verify ${unserved.join(", ")}; set algorithms to match the key`)
    }
    return Either.right({ _tag: "Local", algorithms: allowed as ReadonlyArray<Algorithm>, keys: Keys.indexKeys(keys) })
  })
}

export const parseOptions = (
  input: unknown
): Either.Either<{ readonly options: JwtOptions; readonly keys: KeyMaterial }, ConfigurationError> =>
  Either.flatMap(decodeOptions(JwtOptionsSchema, input, "JWT"), (options) => {
    if (options.clockTolerance > MAX_CLOCK_TOLERANCE) {
      return invalid(`clockTolerance is ${options.clockTolerance} s; at most ${MAX_CLOCK_TOLERANCE} s is allowed`)
    }
    return Either.map(makeKeyMaterial(options), (keys) => ({ options, keys }))
  })

/** The Effect-facing JWT provider; also the rotation handle. */
export interface JwtProvider {
  readonly kinds: ReadonlyArray<"jwt">
  readonly headerNames: ReadonlyArray<string>
  readonly authenticate: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  readonly stillValid: (principal: Principal) => Effect.Effect<boolean>
  readonly changes: Stream.Stream<void>
  readonly updateKeys: (keys: JwtKeyOptionsInput) => Effect.Effect<void, ConfigurationError>
  readonly claimedIdentity: (request: RequestHeaders) => string | undefined
}

const TIME_CLAIMS = ["exp", "nbf", "iat"] as const
const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000

const verifiedTokensOf = (options: JwtOptions): VerifiedTokens | undefined =>
  options.tokenCache === false ? undefined : VerifiedTokenCache.make(
    options.tokenCache === true ? DEFAULT_TOKEN_CACHE_ENTRIES : options.tokenCache.maxEntries ?? DEFAULT_TOKEN_CACHE_ENTRIES,
    { clockTolerance: options.clockTolerance, maxTokenAge: options.maxTokenAge }
  )

type Verified = { readonly payload: JWTPayload; readonly keyId: string; readonly key: CryptoKey | KeyObject }
type VerifiableKey = { readonly key: CryptoKey | KeyObject; readonly id: string }

/** The provider, and its check on the live clock for the Promise API (see `promiseProvider.ts`). */
export interface JwtChecker {
  readonly provider: JwtProvider
  readonly checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
}

export const makeProvider = (options: JwtOptions, initialKeys: KeyMaterial): Effect.Effect<JwtProvider> =>
  Effect.map(makeChecker(options, initialKeys), ({ provider }) => provider)

export const makeChecker = (
  options: JwtOptions,
  initialKeys: KeyMaterial
): Effect.Effect<JwtChecker> =>
  Effect.map(SubscriptionRef.make(initialKeys), (source) => {
    // The keys in force, read synchronously by every check; `source` only announces changes.
    let current = initialKeys
    const challenge: ChallengeParams = {
      scheme: "Bearer",
      realm: options.realm,
      resourceMetadata: options.resourceMetadata
    }
    const { fail, failure, unread } = failuresFor("jwt", challenge)
    const tolerance = options.clockTolerance
    const imported = Keys.importedKeys()
    const requiredClaims = ["exp", ...(options.maxTokenLifetime === undefined ? [] : ["iat"]), ...(options.requiredClaims ?? [])]
    const verifiedTokens = verifiedTokensOf(options)

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

    /** Claim rules jose leaves to the caller (contract section 4). */
    const checkClaims = (payload: JWTPayload, now: number): SingleFailure | undefined => {
      for (const claim of TIME_CLAIMS) {
        const value = payload[claim]
        // JSON.parse("1e400") is Infinity: an `exp` that never comes.
        if (value !== undefined && !Number.isFinite(value)) return failure(InvalidCredentials, "claims_invalid")
      }
      if (payload.iat !== undefined && payload.iat > now / 1000 + tolerance) {
        return failure(PrematureCredentials, "issued_in_future")
      }
      // A token issued for ten years is a standing credential if it leaks; the issuer's own
      // clock sets both claims, so no tolerance applies.
      if (options.maxTokenLifetime !== undefined && payload.exp! - payload.iat! > options.maxTokenLifetime) {
        return failure(ClaimMismatch, "lifetime_too_long")
      }
      // RFC 7519 4.1.3: a token meant for some audience is refused where none is configured.
      if (payload.aud !== undefined && options.audience === undefined) {
        return failure(ClaimMismatch, "unexpected_audience")
      }
      return undefined
    }

    /** Tries each candidate key in order; the first signature that holds wins. */
    const verifyFirst = (
      token: string,
      keys: ReadonlyArray<VerifiableKey>,
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
        const ready = keys.map((key) => ({ key: imported(key, header.alg!), id: key.id }))
        return ready.every((entry) => !(entry.key instanceof Promise))
          ? verifyFirst(token, ready as ReadonlyArray<VerifiableKey>, material.algorithms, now)
          : Effect.flatMap(
            Effect.promise(() => Promise.all(ready.map(async ({ id, key }) => ({ key: await key, id })))),
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

    const principalOf = (token: string, { keyId, payload }: Verified): Principal => {
      const sub = typeof payload.sub === "string" ? payload.sub : undefined
      const clientId = [payload["client_id"], payload["azp"], sub].find((v): v is string => typeof v === "string") ?? ""
      return {
        provider: "jwt",
        subject: sub ?? clientId,
        clientId,
        scopes: scopesFromClaims(payload),
        expiresAt: payload.exp,
        claims: payload,
        identity: identityOf(payload, token),
        keyId,
        credentialHeader: options.headerName.toLowerCase()
      }
    }

    // Suspended by `clockWith`, so that nothing is read before the effect runs.
    const authenticate = (request: RequestHeaders): Effect.Effect<Principal, AuthFailure> =>
      Effect.clockWith((clock) => check(request, clock.unsafeCurrentTimeMillis()))

    const checkNow = (request: RequestHeaders): Effect.Effect<Principal, AuthFailure> => check(request, Date.now())

    const claimedIdentity = (request: RequestHeaders): string | undefined => {
      const credential = readBearer(request, options.headerName, options.requireBearer)
      return credential._tag === "Found" && isCompactJws(credential.value) ? claimedIdentityOf(credential.value) : undefined
    }

    /**
     * Reads the token and answers a cached one synchronously (an Exit, see
     * `promiseProvider.ts`); anything else is verified in full. Any exception while checking
     * is a 401, never a 500 (contract section 1).
     */
    const check = (request: RequestHeaders, now: number): Effect.Effect<Principal, AuthFailure> => {
      const checking = startCheck(request, now)
      return Exit.isExit(checking) ? checking : Effect.catchAllDefect(checking, () => fail(InvalidCredentials, "verification_error"))
    }

    const startCheck = (request: RequestHeaders, now: number): Effect.Effect<Principal, AuthFailure> => {
      try {
        const credential = readBearer(request, options.headerName, options.requireBearer)
        if (credential._tag !== "Found") return unread(credential)
        const token = credential.value
        const material = current
        if (verifiedTokens === undefined) return verifyToken(token, material, now, undefined)
        const digest = VerifiedTokenCache.digestOf(token)
        const recalled = verifiedTokens.recall(digest, now)
        // A rotation replaces the material: what the old keys verified is verified again.
        if (recalled === undefined || recalled.material !== material) return verifyToken(token, material, now, digest)
        if (material._tag === "Local") return Effect.succeed(recalled.principal)
        // A remote set may have been fetched anew since: the entry holds only while the set
        // still yields the very key that verified it.
        return Effect.flatMap(material.jwks.resolve(recalled.header), (found) =>
          found._tag === "Keys" && found.keys.includes(recalled.key)
            ? Effect.succeed(recalled.principal)
            : verifyToken(token, material, now, digest))
      } catch {
        return fail(InvalidCredentials, "verification_error")
      }
    }

    /** The full check of a token not (or no longer) in the cache; a success is remembered. */
    const verifyToken = (
      token: string,
      material: KeyMaterial,
      now: number,
      digest: string | undefined
    ): Effect.Effect<Principal, AuthFailure> => {
      if (digest !== undefined) verifiedTokens!.forget(digest)
      // Strict and cheap checks before any crypto or any fetch of a remote key set.
      if (!isCompactJws(token) || !isCanonical(token)) return fail(InvalidCredentials, "malformed_token")
      let header: JWSHeaderParameters
      try {
        header = decodeProtectedHeader(token)
      } catch {
        return fail(InvalidCredentials, "malformed_token")
      }
      if (typeof header.alg !== "string" || !(material.algorithms as ReadonlyArray<string>).includes(header.alg)) {
        return fail(InvalidCredentials, "alg_not_allowed")
      }
      return Effect.flatMap(verify(token, header, material, now), (verified) => {
        const problem = checkClaims(verified.payload, now)
        if (problem !== undefined) return Effect.fail(problem)
        // Frozen whether cached or not, so a tool behaves the same with the cache on or off.
        const principal = VerifiedTokenCache.deepFreeze(principalOf(token, verified))
        if (digest !== undefined) {
          verifiedTokens!.remember(digest, { principal, payload: verified.payload, material, key: verified.key, header })
        }
        return Effect.succeed(principal)
      })
    }

    const stillValid = (principal: Principal): Effect.Effect<boolean> =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const material = current
        if (principal.expiresAt !== undefined && now / 1000 >= principal.expiresAt + tolerance) return false
        return material._tag === "Remote"
          ? principal.keyId.startsWith("jwt:remote:")
          : material.keys.all.some((key) => key.id === principal.keyId)
      })

    const updateKeys = (keys: JwtKeyOptionsInput) =>
      Effect.flatMap(
        Either.flatMap(
          decodeOptions(JwtKeyOptionsSchema, keys, "JWT key"),
          (decoded) =>
            makeKeyMaterial({
              ...options,
              secret: undefined,
              publicKey: undefined,
              jwks: undefined,
              jwksUrl: undefined,
              ...stripUndefined(decoded)
            })
        ),
        (next) =>
          // In force before the change is announced, so whoever listens sees the new keys.
          // Entries of the old keys would only be refused by their material; free them now.
          Effect.zipRight(
            Effect.sync(() => {
              current = next
              verifiedTokens?.clear()
            }),
            SubscriptionRef.set(source, next)
          )
      )

    return {
      provider: {
        kinds: ["jwt"],
        headerNames: [options.headerName],
        authenticate,
        authenticateAt: check,
        stillValid,
        changes: Stream.map(Stream.drop(source.changes, 1), () => undefined),
        updateKeys,
        claimedIdentity
      },
      checkNow
    }
  })

/**
 * RFC 4648 3.5: the unused bits of a segment's last character must be zero. Decoders ignore
 * them, so without this check one signed token could be presented in several spellings.
 * `isCompactJws` has checked the alphabet, so only each segment's last character matters: with
 * 2 characters over a whole group it carries 4 unused bits, with 3 characters 2; a lone
 * character cannot be base64url at all.
 */
const isCanonical = (token: string): boolean => {
  let start = 0
  for (;;) {
    const dot = token.indexOf(".", start)
    const end = dot === -1 ? token.length : dot
    const unusedBits = [0, -1, 4, 2][(end - start) % 4]!
    if (unusedBits === -1) return false
    if (unusedBits > 0 && (BASE64URL.indexOf(token[end - 1]!) & ((1 << unusedBits) - 1)) !== 0) return false
    if (dot === -1) return true
    start = dot + 1
  }
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

const stripUndefined = <A extends object>(record: A): Partial<A> =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<A>
