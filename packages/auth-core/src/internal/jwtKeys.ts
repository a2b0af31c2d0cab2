/**
 * The verification keys of a JWT provider, parsed synchronously from the options on either
 * platform (`platform.ts`): `node:crypto`'s `KeyObject`s on the Node path; on the web path the
 * same facts read from the JWK or the DER (`der.ts`), with Web Crypto importing the key when it
 * is first used. Every configuration check that needs no cryptography is made here on both.
 */
import type * as NodeCrypto from "node:crypto"
import type { KeyObject } from "node:crypto"
import * as Either from "effect/Either"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { KeyShape } from "./der.js"
import * as Der from "./der.js"
import { configurationError } from "./options.js"
import type { Platform } from "./platform.js"
import { toHex, utf8, webSha256 } from "./platform.js"
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
  readonly shape: KeyShape
  /** The HMAC secret, or the public key as a DER SPKI: what Web Crypto imports. */
  readonly bytes: Uint8Array
  /** `node:crypto`'s key, on the Node path. */
  readonly node: KeyObject | undefined
  readonly kid: string | undefined
  /** The JWK's own `alg`, which then is the only one it serves. */
  readonly alg: string | undefined
  /** `jwt:` and the first 16 hex digits of the SHA-256 of `bytes`: a Web Crypto digest settles later. */
  readonly id: string | Promise<string>
}

/** Whether a key can verify a signature of the given algorithm: the defence against confusion. */
export const keyServes = (key: VerificationKey, alg: string): boolean => {
  if (key.alg !== undefined && key.alg !== alg) return false
  const type = key.shape.type
  switch (alg) {
    case "HS256": case "HS384": case "HS512":
      return type === "secret"
    case "RS256": case "RS384": case "RS512":
      return type === "rsa"
    case "PS256": case "PS384": case "PS512":
      return type === "rsa" || type === "rsa-pss"
    case "ES256": case "ES384": case "ES512":
      return type === "ec" && key.shape.namedCurve === CURVES[alg]
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
  switch (key.shape.type) {
    case "rsa":
      return "RS256"
    case "rsa-pss":
      return "PS256"
    case "ec":
      return Object.entries(CURVES).find(([, curve]) => curve === key.shape.namedCurve)?.[0] as Algorithm | undefined
    case "ed25519":
    case "ed448":
      return "EdDSA"
    default:
      return undefined
  }
}

const shapeOf = (key: KeyObject): KeyShape =>
  key.type === "secret"
    ? { type: "secret" }
    : {
      type: key.asymmetricKeyType ?? "unknown",
      namedCurve: key.asymmetricKeyDetails?.namedCurve,
      modulusLength: key.asymmetricKeyDetails?.modulusLength
    }

/** A key of either platform: its `KeyObject` and id at once on Node, its id later on the web. */
const keyOf = (
  platform: Platform,
  parsed: { readonly shape: KeyShape; readonly bytes: Uint8Array; readonly node?: KeyObject },
  kid: string | undefined,
  alg: string | undefined
): VerificationKey => ({
  ...parsed,
  node: parsed.node,
  kid,
  alg,
  id: platform._tag === "Node"
    ? "jwt:" + platform.crypto.createHash("sha256").update(parsed.bytes).digest("hex").slice(0, 16)
    : webSha256(parsed.bytes).then((digest) => "jwt:" + toHex(digest).slice(0, 16))
})

// A secret that is really a PEM or SSH key invites algorithm confusion (HS256 over a public key).
const LOOKS_LIKE_KEY = /-----BEGIN [A-Z ]+-----|^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-\S+|sk-\S+@openssh\.com) /

export const secretKey = (
  secret: string,
  algorithms: ReadonlyArray<Algorithm>,
  platform: Platform
): Either.Either<VerificationKey, ConfigurationError> => {
  if (LOOKS_LIKE_KEY.test(secret)) {
    return Either.left(configurationError(
      "Invalid JWT options: secret looks like a PEM or SSH key; an HMAC secret must be random bytes. For public-key algorithms use publicKey, jwks or jwksUrl"
    ))
  }
  const bytes = utf8(secret)
  const needed = Math.max(...algorithms.map(minimumSecretBytes))
  if (bytes.length < needed) {
    return Either.left(configurationError(
      `Invalid JWT options: secret is ${bytes.length} bytes, but ${algorithms.join(", ")} needs at least ${needed} (RFC 7518 3.2); make one with: node -e "console.log(require('node:crypto').randomBytes(${needed}).toString('base64url'))"`
    ))
  }
  const node = platform._tag === "Node" ? platform.crypto.createSecretKey(bytes) : undefined
  return Either.right(keyOf(platform, { shape: { type: "secret" }, bytes, ...(node ? { node } : {}) }, undefined, undefined))
}

// jose refuses RSA keys under 2048 bits at verification; say so at startup instead, or every
// request would fail.
const weakRsa = (key: VerificationKey, where: string): Either.Either<VerificationKey, ConfigurationError> => {
  const bits = key.shape.modulusLength
  return (key.shape.type === "rsa" || key.shape.type === "rsa-pss") && bits !== undefined && bits < 2048
    ? Either.left(configurationError(`Invalid JWT options: ${where} is a ${bits}-bit RSA key; RS* and PS* need at least 2048 bits`))
    : Either.right(key)
}

const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k"] as const

/** `node:crypto`'s parse of a public key, with its SPKI. */
const nodeKey = (platform: Extract<Platform, { _tag: "Node" }>, input: Parameters<typeof NodeCrypto.createPublicKey>[0]) => {
  const node = platform.crypto.createPublicKey(input)
  return { node, shape: shapeOf(node), bytes: new Uint8Array(node.export({ type: "spki", format: "der" })) }
}

export const publicKeyFromJwk = (
  jwk: Readonly<Record<string, unknown>>,
  where: string,
  platform: Platform
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
    const parsed = platform._tag === "Node"
      ? nodeKey(platform, { key: jwk as NodeCrypto.JsonWebKey, format: "jwk" })
      : (({ der, shape }) => ({ shape, bytes: der }))(Der.spkiOfJwk(jwk))
    return weakRsa(keyOf(platform, parsed, kid, alg), where)
  } catch (cause) {
    return Either.left(configurationError(`Invalid JWT options: ${where} is not a usable public JWK (${(cause as Error).message})`))
  }
}

export const publicKeyFromPem = (pem: string, platform: Platform): Either.Either<VerificationKey, ConfigurationError> => {
  if (/PRIVATE KEY/.test(pem)) {
    return Either.left(configurationError("Invalid JWT options: publicKey is a private key; give the public key (an SPKI PEM, \"-----BEGIN PUBLIC KEY-----\")"))
  }
  if (!/^\s*-----BEGIN (PUBLIC KEY|CERTIFICATE)-----/.test(pem)) {
    return Either.left(configurationError("Invalid JWT options: publicKey must be an SPKI PEM (\"-----BEGIN PUBLIC KEY-----\") or a JWK object"))
  }
  try {
    return weakRsa(keyOf(platform, platform._tag === "Node" ? nodeKey(platform, { key: pem, format: "pem" }) : webPem(pem), undefined, undefined), "publicKey")
  } catch (cause) {
    return Either.left(configurationError(`Invalid JWT options: publicKey is not a usable PEM (${(cause as Error).message})`))
  }
}

/** A PEM public key or certificate read on the web path. */
const webPem = (pem: string) => {
  const certificate = Der.pemBody(pem, "CERTIFICATE")
  const bytes = certificate !== undefined ? Der.spkiOfCertificate(certificate) : Der.pemBody(pem, "PUBLIC KEY")
  if (bytes === undefined) throw new Error("no complete PEM block")
  return { bytes, shape: Der.spkiShape(bytes) }
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
