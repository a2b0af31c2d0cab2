/**
 * Verifying a token on `node:crypto`, synchronously, against local key material: the same
 * answer as jose's `jwtVerify` (`jwtVerification.ts`) for every token, without its Promise
 * and its WebCrypto thread-pool hop. Runs only on a token whose form has been checked
 * (`jwtTokenForm.ts`: compact, canonical, header decoded, `alg` allowed). In jose's order:
 * the candidate keys for the header, the `crit` header, each key's signature in turn (the
 * first that holds wins), the payload, then jose's claim checks (`jwtStandardClaims.ts`).
 * Nothing here waits; a remote key set stays on jose's path.
 */
import type { JWSHeaderParameters, JWTPayload } from "jose"
import type { SingleFailure } from "../AuthFailure.js"
import { InvalidCredentials } from "../AuthFailure.js"
import type { failuresFor } from "./failures.js"
import type { KeyMaterial } from "./jwtKeyMaterial.js"
import type { PreparedAlgorithm } from "./jwtSignatures.js"
import { prepareKeys, preparedCandidates } from "./jwtSignatures.js"
import { makeStandardClaimsCheck } from "./jwtStandardClaims.js"
import { jsonObjectReader } from "./jwtTokenForm.js"
import type { JwtOptions } from "./jwtOptions.js"
import type { Verified } from "./jwtVerification.js"
import type { NodePlatform } from "./platform.js"

type LocalMaterial = Extract<KeyMaterial, { readonly _tag: "Local" }>

/** A verified payload, or why the token is refused. */
export type NodeVerdict = Verified | SingleFailure

export const isRefusal = (verdict: NodeVerdict): verdict is SingleFailure => "_tag" in verdict

/**
 * The verification of these options on `node:crypto`. `prepare` readies a key material's keys
 * (at load and on every rotation, before the material is put in force); `verify` prepares
 * any material it has not seen, once.
 */
export const makeNodeVerifier = (
  options: JwtOptions,
  { failure }: ReturnType<typeof failuresFor>,
  platform: NodePlatform
) => {
  const { Buffer } = platform
  const payloadOf = jsonObjectReader(platform)
  const prepared = new WeakMap<KeyMaterial, ReadonlyMap<string, PreparedAlgorithm>>()
  const standardClaims = makeStandardClaimsCheck(options, failure)
  const malformed = failure(InvalidCredentials, "malformed_token")
  const badSignature = failure(InvalidCredentials, "bad_signature")
  const unusable = failure(InvalidCredentials, "verification_error")
  const unknownKid = failure(InvalidCredentials, "unknown_kid")
  const noMatchingKey = failure(InvalidCredentials, "no_matching_key")

  const prepare = (material: LocalMaterial): ReadonlyMap<string, PreparedAlgorithm> => {
    let ready = prepared.get(material)
    if (ready === undefined) prepared.set(material, ready = prepareKeys(material.keys, material.algorithms, platform))
    return ready
  }

  const verify = (token: string, header: JWSHeaderParameters, material: LocalMaterial, now: number): NodeVerdict => {
    const keys = preparedCandidates(prepare(material).get(header.alg!)!, header.kid)
    if (keys.length === 0) return header.kid !== undefined ? unknownKid : noMatchingKey
    const extensions = critProblem(header)
    if (extensions !== undefined) return extensions === "unsupported" ? unusable : malformed
    const signatureAt = token.lastIndexOf(".")
    const signature = Buffer.from(token.slice(signatureAt + 1), "base64url")
    let verifiedBy: typeof keys[number] | undefined
    for (const key of keys) {
      if (key.check === undefined) return unusable
      if (key.check(token, signatureAt, signature)) {
        verifiedBy = key
        break
      }
    }
    if (verifiedBy === undefined) return badSignature
    // A payload that is not base64url-encoded (`b64: false`, in force only when `crit` names
    // it) is no JWT: refused after the signature, where jose refuses it.
    if (header.crit !== undefined && header.b64 === false) return malformed
    const payload = payloadOf<JWTPayload>(token.slice(token.indexOf(".") + 1, signatureAt))
    if (payload === undefined) return malformed
    const problem = standardClaims(payload, now)
    return problem ?? { payload, keyId: verifiedBy.id, key: verifiedBy.key }
  }

  return { prepare, verify }
}

/**
 * The `crit` header as jose reads it: absent, or a non-empty array of non-empty strings each
 * naming a parameter jose understands (only `b64`, which must then be present and a boolean).
 * "unsupported" for a parameter jose does not know (its `JOSENotSupported`), "malformed" for
 * the rest.
 */
const critProblem = (header: JWSHeaderParameters): "malformed" | "unsupported" | undefined => {
  const crit: unknown = header.crit
  if (crit === undefined) return undefined
  if (!Array.isArray(crit) || crit.length === 0 || crit.some((entry) => typeof entry !== "string" || entry.length === 0)) {
    return "malformed"
  }
  for (const parameter of crit) {
    if (parameter !== "b64") return "unsupported"
    if (!Object.hasOwn(header, "b64")) return "malformed"
  }
  return typeof header.b64 === "boolean" ? undefined : "malformed"
}
