/**
 * The key material a JWT provider verifies with: chosen from the options (exactly one of
 * secret, publicKey, jwks or jwksUrl), with the algorithms it allows settled at startup and
 * again on every key rotation, so a token's `alg` can never pick a key of another kind.
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { Algorithm, LocalKeys } from "./jwtKeys.js"
import * as Keys from "./jwtKeys.js"
import type { JwtKeyOptionsInput, JwtOptions } from "./jwtOptions.js"
import { invalidJwtOptions, JwtKeyOptionsSchema } from "./jwtOptions.js"
import { decodeOptions } from "./options.js"
import type { Platform } from "./platform.js"
import type { RemoteJwks } from "./remoteJwks.js"
import * as RemoteJwksSet from "./remoteJwks.js"

/** The keys a provider verifies with, and the algorithms it allows for them. */
export type KeyMaterial =
  | { readonly _tag: "Local"; readonly algorithms: ReadonlyArray<Algorithm>; readonly keys: LocalKeys }
  | { readonly _tag: "Remote"; readonly algorithms: ReadonlyArray<Algorithm>; readonly jwks: RemoteJwks }

const traverse = <A, B>(
  items: ReadonlyArray<A>,
  f: (a: A, index: number) => Either.Either<B, ConfigurationError>
): Either.Either<ReadonlyArray<B>, ConfigurationError> => Either.all(items.map(f))

/**
 * Parses the key material synchronously (with `node:crypto`, or on the web path from the
 * JWK or DER, see `jwtKeys.ts`) and settles the algorithms: given ones must all be served by
 * the keys; omitted ones follow the key.
 */
export const makeKeyMaterial = (options: JwtOptions, platform: Platform): Either.Either<KeyMaterial, ConfigurationError> => {
  const given = (["secret", "publicKey", "jwks", "jwksUrl"] as const).filter((name) => options[name] !== undefined)
  if (given.length !== 1) {
    return invalidJwtOptions(
      given.length === 0
        ? "give the verification key as one of secret, publicKey, jwks or jwksUrl"
        : `give only one of secret, publicKey, jwks or jwksUrl (got ${given.join(", ")})`
    )
  }
  const algorithms = options.algorithms
  if (algorithms !== undefined && algorithms.some(Keys.isHmac) && !algorithms.every(Keys.isHmac)) {
    return invalidJwtOptions(`algorithms mixes HMAC and public-key algorithms (${algorithms.join(", ")}); use one provider for each`)
  }
  if (options.secret !== undefined) {
    const hmac = algorithms ?? ["HS256"]
    if (!hmac.every(Keys.isHmac)) {
      return invalidJwtOptions(`a secret serves only HS256, HS384 or HS512, not ${hmac.join(", ")}; for public-key algorithms use publicKey, jwks or jwksUrl`)
    }
    return Either.map(Keys.secretKey(Redacted.value(options.secret), hmac, platform), (key) => ({
      _tag: "Local",
      algorithms: hmac,
      keys: Keys.indexKeys([key])
    }))
  }
  if (algorithms?.some(Keys.isHmac)) {
    return invalidJwtOptions(`${algorithms.join(", ")} needs a secret, but a public key was given (algorithm confusion)`)
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
        ? Keys.publicKeyFromPem(options.publicKey, platform)
        : Keys.publicKeyFromJwk(options.publicKey, "publicKey", platform),
      (key) => [key]
    )
    : traverse(
      // Keys marked for encryption are not for us (RFC 7517 4.2).
      options.jwks!.keys.filter((jwk) => jwk["use"] === undefined || jwk["use"] === "sig"),
      (jwk, index) => Keys.publicKeyFromJwk(jwk, `jwks.keys[${index}]`, platform)
    )
  return Either.flatMap(parsed, (keys) => {
    if (keys.length === 0) return invalidJwtOptions("jwks has no signing keys")
    const allowed = algorithms ?? [...new Set(keys.map(Keys.defaultAlgorithm))]
    if (allowed.some((alg) => alg === undefined)) {
      return invalidJwtOptions("a public key's algorithm cannot be told from the key; set algorithms")
    }
    const unserved = (allowed as ReadonlyArray<Algorithm>).filter((alg) => !keys.some((key) => Keys.keyServes(key, alg)))
    if (unserved.length > 0) {
      return invalidJwtOptions(`no configured key can verify ${unserved.join(", ")}; set algorithms to match the key`)
    }
    return Either.right({ _tag: "Local", algorithms: allowed as ReadonlyArray<Algorithm>, keys: Keys.indexKeys(keys) })
  })
}

/**
 * The material of a key rotation (`updateKeys`): the new key options replace the old key
 * options whole, and every other option stays as configured.
 */
export const replacementKeyMaterial = (
  options: JwtOptions,
  keys: JwtKeyOptionsInput,
  platform: Platform
): Either.Either<KeyMaterial, ConfigurationError> =>
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
      }, platform)
  )

const stripUndefined = <A extends object>(record: A): Partial<A> =>
  Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as Partial<A>
