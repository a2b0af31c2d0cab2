/**
 * Signature checks on `node:crypto`, prepared once per key and algorithm when key material is
 * loaded or rotated, never per request: the `KeyObject` of each key with the padding, salt
 * length or signature encoding of the algorithm already attached, and, per `kid`, the keys a
 * token may be verified with already chosen. A check is synchronous: no thread-pool hop, no
 * Promise.
 *
 * What jose's WebCrypto path accepts and refuses is the rule (the differential tests compare
 * both): an ECDSA signature in the JOSE form (r || s, `ieee-p1363`), PS* with the salt as long
 * as the hash, EdDSA on Ed25519 only (jose cannot verify Ed448, so such a key is "unsupported",
 * as jose's failure to use it is a `verification_error`; so is an RSASSA-PSS key).
 */
import type { KeyObject, VerifyKeyObjectInput, VerifyPublicKeyInput } from "node:crypto"
import type { LocalKeys, VerificationKey } from "./jwtKeys.js"
import * as Keys from "./jwtKeys.js"
import type { NodePlatform } from "./platform.js"

/** Whether the signature holds over the signing input (the token up to its second dot, ASCII). */
export type SignatureCheck = (token: string, signingInputEnd: number, signature: Uint8Array) => boolean

/** One candidate key for one algorithm, ready to verify. */
export interface PreparedKey {
  readonly id: string
  readonly key: KeyObject
  /** undefined: jose could not use this key for the algorithm either. */
  readonly check: SignatureCheck | undefined
}

/** The candidate keys per `kid`, for one algorithm, in the order `Keys.candidates` gives them. */
export interface PreparedAlgorithm {
  readonly byKid: ReadonlyMap<string, ReadonlyArray<PreparedKey>>
  readonly anyKid: ReadonlyArray<PreparedKey>
  readonly all: ReadonlyArray<PreparedKey>
}

const HASHES: Readonly<Record<string, string>> = {
  HS256: "sha256", HS384: "sha384", HS512: "sha512",
  RS256: "sha256", RS384: "sha384", RS512: "sha512",
  PS256: "sha256", PS384: "sha384", PS512: "sha512",
  ES256: "sha256", ES384: "sha384", ES512: "sha512"
}

const hmacCheck = ({ crypto: { createHmac, timingSafeEqual } }: NodePlatform, key: KeyObject, hash: string): SignatureCheck =>
(token, end, signature) => {
  const mac = createHmac(hash, key).update(token.slice(0, end), "latin1").digest()
  return mac.length === signature.length && timingSafeEqual(mac, signature)
}

const publicCheck = (
  { Buffer, crypto: { verify } }: NodePlatform,
  hash: string | null,
  key: VerifyPublicKeyInput | VerifyKeyObjectInput | KeyObject
): SignatureCheck =>
(token, end, signature) => {
  try {
    return verify(hash, Buffer.from(token.slice(0, end), "latin1"), key, signature)
  } catch {
    // WebCrypto answers a signature it cannot read (wrong length, bad encoding) with false.
    return false
  }
}

/** The check of one key for one algorithm, or undefined where jose refuses to use the key. */
export const signatureCheck = (
  verificationKey: VerificationKey,
  alg: string,
  platform: NodePlatform
): SignatureCheck | undefined => {
  const key = verificationKey.node
  if (key === undefined) return undefined
  const hash = HASHES[alg]
  const { constants } = platform.crypto
  switch (alg) {
    case "HS256": case "HS384": case "HS512":
      return key.type === "secret" ? hmacCheck(platform, key, hash!) : undefined
    case "RS256": case "RS384": case "RS512":
      return publicCheck(platform, hash!, { key, padding: constants.RSA_PKCS1_PADDING })
    case "PS256": case "PS384": case "PS512":
      // jose cannot use an RSASSA-PSS key (OID id-RSASSA-PSS) with WebCrypto: a plain RSA key only.
      return key.asymmetricKeyType !== "rsa" ? undefined : publicCheck(platform, hash!, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: Number(alg.slice(2)) / 8
      })
    case "ES256": case "ES384": case "ES512":
      return publicCheck(platform, hash!, { key, dsaEncoding: "ieee-p1363" })
    case "EdDSA": case "Ed25519":
      return key.asymmetricKeyType === "ed25519" ? publicCheck(platform, null, key) : undefined
    default:
      return undefined
  }
}

/**
 * Every algorithm's candidate keys, prepared: `Keys.candidates` answered ahead of time for
 * each `kid` the keys name, and for a token with no `kid` or an unknown one.
 */
export const prepareKeys = (
  keys: LocalKeys,
  algorithms: ReadonlyArray<string>,
  platform: NodePlatform
): ReadonlyMap<string, PreparedAlgorithm> => {
  const prepared = new Map<string, PreparedAlgorithm>()
  for (const alg of algorithms) {
    const memo = new Map<VerificationKey, PreparedKey>()
    const prepare = (list: ReadonlyArray<VerificationKey>) =>
      list.filter((key) => Keys.keyServes(key, alg)).map((key) => {
        let ready = memo.get(key)
        if (ready === undefined) memo.set(key, ready = { id: key.id as string, key: key.node!, check: signatureCheck(key, alg, platform) })
        return ready
      })
    const byKid = new Map<string, ReadonlyArray<PreparedKey>>()
    for (const [kid, named] of keys.byKid) byKid.set(kid, prepare([...named, ...keys.anyKid]))
    prepared.set(alg, { byKid, anyKid: prepare(keys.anyKid), all: prepare(keys.all) })
  }
  return prepared
}

/** The keys that may verify a token with this header: `Keys.candidates`, looked up. */
export const preparedCandidates = (
  prepared: PreparedAlgorithm,
  kid: unknown
): ReadonlyArray<PreparedKey> => typeof kid === "string" ? prepared.byKid.get(kid) ?? prepared.anyKid : prepared.all
