import type { JsonWebKey, KeyObject } from "node:crypto"
import { createHash, createPublicKey, createSecretKey } from "node:crypto"
import * as Either from "effect/Either"
import type { CryptoKey } from "jose"
import { importSPKI } from "jose"
import type { ConfigurationError } from "../ConfigurationError.js"
import { configurationError } from "./options.js"

/** The JWS algorithms a provider may allow (RFC 7518 3.1, RFC 8037). */
export const ALGORITHMS = [
  "HS256", "HS384", "HS512",
  "RS256", "RS384", "RS512",
  "PS256", "PS384", "PS512",
  "ES256", "ES384", "ES512",
  "EdDSA", "Ed25519"
] as const

export type Algorithm = typeof ALGORITHMS[number]

export const isHmac = (alg: Algorithm): boolean => alg.startsWith("HS")

/** RFC 7518 3.2: an HMAC key at least as long as the hash output. */
export const minimumSecretBytes = (alg: Algorithm): number => Number(alg.slice(2)) / 8

/** One key a token may be verified with; `id` names it across rotations and is not secret. */
export interface VerificationKey {
  readonly key: KeyObject
  readonly kid: string | undefined
  /** The JWK's own `alg`, which then is the only one it serves. */
  readonly alg: string | undefined
  readonly id: string
}

/** Whether a key can verify a signature of the given algorithm: the defence against confusion. */
export const keyServes = (key: VerificationKey, alg: string): boolean => {
  if (key.alg !== undefined && key.alg !== alg) return false
  const type = key.key.type === "secret" ? "secret" : key.key.asymmetricKeyType
  switch (alg) {
    case "HS256": case "HS384": case "HS512":
      return type === "secret"
    case "RS256": case "RS384": case "RS512":
      return type === "rsa"
    case "PS256": case "PS384": case "PS512":
      return type === "rsa" || type === "rsa-pss"
    case "ES256": case "ES384": case "ES512":
      return type === "ec" && key.key.asymmetricKeyDetails?.namedCurve === CURVES[alg]
    case "EdDSA":
      return type === "ed25519" || type === "ed448"
    case "Ed25519":
      return type === "ed25519"
    default:
      return false
  }
}

const CURVES: Readonly<Record<string, string>> = { ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" }

/** The algorithm a public key serves when none is configured. */
export const defaultAlgorithm = (key: VerificationKey): Algorithm | undefined => {
  if (key.alg !== undefined) return (ALGORITHMS as ReadonlyArray<string>).includes(key.alg) ? key.alg as Algorithm : undefined
  switch (key.key.asymmetricKeyType) {
    case "rsa":
      return "RS256"
    case "rsa-pss":
      return "PS256"
    case "ec":
      return Object.entries(CURVES).find(([, curve]) => curve === key.key.asymmetricKeyDetails?.namedCurve)?.[0] as Algorithm | undefined
    case "ed25519":
    case "ed448":
      return "EdDSA"
    default:
      return undefined
  }
}

const idOf = (key: KeyObject): string =>
  "jwt:" + createHash("sha256")
    .update(key.type === "secret" ? key.export() : key.export({ type: "spki", format: "der" }))
    .digest("hex")
    .slice(0, 16)

// A secret that is really a PEM or SSH key invites algorithm confusion (HS256 over a public key).
const LOOKS_LIKE_KEY = /-----BEGIN [A-Z ]+-----|^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-\S+@openssh\.com) /

export const secretKey = (
  secret: string,
  algorithms: ReadonlyArray<Algorithm>
): Either.Either<VerificationKey, ConfigurationError> => {
  if (LOOKS_LIKE_KEY.test(secret)) {
    return Either.left(configurationError(
      "Invalid JWT options: secret looks like a PEM or SSH key; an HMAC secret must be random bytes. For public-key algorithms use publicKey, jwks or jwksUrl"
    ))
  }
  const bytes = Buffer.from(secret, "utf8")
  const needed = Math.max(...algorithms.map(minimumSecretBytes))
  if (bytes.length < needed) {
    return Either.left(configurationError(
      `Invalid JWT options: secret is ${bytes.length} bytes, but ${algorithms.join(", ")} needs at least ${needed} (RFC 7518 3.2); make one with: node -e "console.log(require('node:crypto').randomBytes(${needed}).toString('base64url'))"`
    ))
  }
  const key = createSecretKey(bytes)
  return Either.right({ key, kid: undefined, alg: undefined, id: idOf(key) })
}

// jose refuses RSA keys under 2048 bits at verification; say so at startup instead, or every
// request would fail.
const weakRsa = (key: VerificationKey, where: string): Either.Either<VerificationKey, ConfigurationError> => {
  const bits = key.key.asymmetricKeyDetails?.modulusLength
  return (key.key.asymmetricKeyType === "rsa" || key.key.asymmetricKeyType === "rsa-pss") && bits !== undefined && bits < 2048
    ? Either.left(configurationError(`Invalid JWT options: ${where} is a ${bits}-bit RSA key; RS* and PS* need at least 2048 bits`))
    : Either.right(key)
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"] as const

export const publicKeyFromJwk = (
  jwk: Readonly<Record<string, unknown>>,
  where: string
): Either.Either<VerificationKey, ConfigurationError> => {
  if (jwk["kty"] === "oct") {
    return Either.left(configurationError(`Invalid JWT options: ${where} is a symmetric key (kty "oct"); give it as secret instead`))
  }
  if (PRIVATE_JWK_MEMBERS.some((member) => member in jwk)) {
    return Either.left(configurationError(`Invalid JWT options: ${where} holds private key material; give only the public key`))
  }
  const kid = jwk["kid"]
  const alg = jwk["alg"]
  if ((kid !== undefined && typeof kid !== "string") || (alg !== undefined && typeof alg !== "string")) {
    return Either.left(configurationError(`Invalid JWT options: ${where} has a kid or alg that is not a string`))
  }
  try {
    const key = createPublicKey({ key: jwk as JsonWebKey, format: "jwk" })
    return weakRsa({ key, kid, alg, id: idOf(key) }, where)
  } catch (cause) {
    return Either.left(configurationError(`Invalid JWT options: ${where} is not a usable public JWK (${(cause as Error).message})`))
  }
}

export const publicKeyFromPem = (pem: string): Either.Either<VerificationKey, ConfigurationError> => {
  if (/PRIVATE KEY/.test(pem)) {
    return Either.left(configurationError("Invalid JWT options: publicKey is a private key; give the public key (an SPKI PEM, \"-----BEGIN PUBLIC KEY-----\")"))
  }
  if (!/^\s*-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem)) {
    return Either.left(configurationError("Invalid JWT options: publicKey must be an SPKI PEM (\"-----BEGIN PUBLIC KEY-----\") or a JWK object"))
  }
  try {
    const key = createPublicKey({ key: pem, format: "pem" })
    return weakRsa({ key, kid: undefined, alg: undefined, id: idOf(key) }, "publicKey")
  } catch (cause) {
    return Either.left(configurationError(`Invalid JWT options: publicKey is not a usable PEM (${(cause as Error).message})`))
  }
}

/** Local keys indexed by `kid` in a `Map`: a `kid` of "constructor" or "__proto__" finds nothing. */
export interface LocalKeys {
  readonly byKid: ReadonlyMap<string, ReadonlyArray<VerificationKey>>
  /** Keys configured without a `kid`: they serve tokens with any `kid` or none. */
  readonly anyKid: ReadonlyArray<VerificationKey>
  readonly all: ReadonlyArray<VerificationKey>
}

export const indexKeys = (keys: ReadonlyArray<VerificationKey>): LocalKeys => {
  const byKid = new Map<string, Array<VerificationKey>>()
  const anyKid: Array<VerificationKey> = []
  for (const key of keys) {
    if (key.kid === undefined) anyKid.push(key)
    else byKid.set(key.kid, [...(byKid.get(key.kid) ?? []), key])
  }
  return { byKid, anyKid, all: keys }
}

/** The keys that may verify a token with this header, tried in order. */
export const candidates = (keys: LocalKeys, kid: unknown, alg: string): ReadonlyArray<VerificationKey> => {
  const pool = typeof kid === "string" ? [...(keys.byKid.get(kid) ?? []), ...keys.anyKid] : keys.all
  return pool.filter((key) => keyServes(key, alg))
}

const HMAC_HASH: Readonly<Record<string, string>> = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" }

/**
 * The key as a WebCrypto `CryptoKey` for one algorithm. jose converts a `KeyObject` on every
 * verification; a key imported once makes each verification about twice as fast.
 */
export const importForAlgorithm = (key: KeyObject, alg: string): Promise<CryptoKey> => {
  const hash = HMAC_HASH[alg]
  if (key.type === "secret" && hash !== undefined) {
    return crypto.subtle.importKey("raw", key.export(), { name: "HMAC", hash }, false, ["verify"])
  }
  return importSPKI(key.export({ type: "spki", format: "pem" }) as string, alg)
}

/**
 * A per-provider memo of imported keys. Weak, so the keys of a rotated-out set are released;
 * a failed import falls back to the `KeyObject`, which jose checks and refuses itself. Once
 * an import has settled, the key is handed out without waiting: verification is on every
 * request's path.
 */
export const importedKeys = () => {
  const memo = new WeakMap<VerificationKey, Map<string, CryptoKey | KeyObject | Promise<CryptoKey | KeyObject>>>()
  return (key: VerificationKey, alg: string): CryptoKey | KeyObject | Promise<CryptoKey | KeyObject> => {
    let byAlg = memo.get(key)
    if (byAlg === undefined) memo.set(key, byAlg = new Map())
    const known = byAlg.get(alg)
    if (known !== undefined) return known
    const importing = importForAlgorithm(key.key, alg).catch(() => key.key)
    byAlg.set(alg, importing)
    void importing.then((ready) => byAlg.set(alg, ready))
    return importing
  }
}
