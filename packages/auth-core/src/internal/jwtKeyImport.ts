/**
 * Keys imported for jose on Web Crypto, once per key and algorithm. jose converts a
 * `KeyObject` on every verification; a key imported once makes each verification about twice
 * as fast (docs/design.md, "Keys are imported for WebCrypto once"). On the web path this is
 * where a key is first checked by Web Crypto: one it cannot import (a point off its curve,
 * an Ed448 or RSASSA-PSS key jose cannot use) is refused when a token needs it, with the
 * answer jose gives on Node for a key it cannot use.
 */
import type { CryptoKey, KeyObject } from "jose"
import { importSPKI } from "jose"
import { spkiPem } from "./der.js"
import type { VerificationKey } from "./jwtKeys.js"

const HMAC_HASH: Readonly<Record<string, string>> = { HS256: "SHA-256", HS384: "SHA-384", HS512: "SHA-512" }

/** A key ready for jose, and its id. */
export interface ImportedKey {
  readonly key: CryptoKey | KeyObject
  readonly id: string
}

/** The key as a Web Crypto `CryptoKey` for one algorithm. */
export const importForAlgorithm = (key: VerificationKey, alg: string): Promise<CryptoKey> => {
  const hash = HMAC_HASH[alg]
  if (key.shape.type === "secret" && hash !== undefined) {
    return crypto.subtle.importKey("raw", key.bytes as Uint8Array<ArrayBuffer>, { name: "HMAC", hash }, false, ["verify"])
  }
  return importSPKI(spkiPem(key.bytes), alg)
}

/**
 * What jose is handed for a key Web Crypto could not import and no `KeyObject` stands in for:
 * not a key, so jose refuses it where it checks the key, after the header, as it refuses a
 * `KeyObject` it cannot use.
 */
const UNUSABLE = Object.freeze({}) as CryptoKey

/**
 * A per-provider memo of imported keys. Weak, so the keys of a rotated-out set are released;
 * a failed import falls back to the `KeyObject` (on Node), which jose checks and refuses
 * itself. Once an import has settled, the key is handed out without waiting: verification is
 * on every request's path.
 */
export const importedKeys = () => {
  const memo = new WeakMap<VerificationKey, Map<string, ImportedKey | Promise<ImportedKey>>>()
  return (key: VerificationKey, alg: string): ImportedKey | Promise<ImportedKey> => {
    let byAlg = memo.get(key)
    if (byAlg === undefined) memo.set(key, byAlg = new Map())
    const known = byAlg.get(alg)
    if (known !== undefined) return known
    const importing = Promise.all([
      importForAlgorithm(key, alg).catch((): CryptoKey | KeyObject => key.node ?? UNUSABLE),
      key.id
    ]).then(([imported, id]) => ({ key: imported, id }))
    byAlg.set(alg, importing)
    void importing.then((ready) => byAlg.set(alg, ready))
    return importing
  }
}
