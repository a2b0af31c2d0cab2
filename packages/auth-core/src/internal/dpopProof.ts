/**
 * Checking one DPoP proof (RFC 9449 4.3) against the request it came with and the token it
 * must be bound to. Cheap checks come first, in the order below, so that junk costs no
 * cryptography: the size and compact form, the header (`typ`, an allowed asymmetric `alg`, a
 * public `jwk`), the claims (`htm`, `htu`, `iat`, `jti`, `ath` present and of their types),
 * then their values, the digests (`ath`, the key's RFC 7638 thumbprint against `cnf.jkt`), the
 * signature with the embedded key (jose, on Web Crypto wherever the runtime is), and last the
 * replay cache, which only a proof that passed everything else may enter.
 */
import { base64url, calculateJwkThumbprint, compactVerify, EmbeddedJWK } from "jose"
import type { JWK } from "jose"
import type { ReasonCode } from "../AuthFailure.js"
import { isCompactJws } from "../Credentials.js"
import { PROOF_ALGORITHMS } from "./dpopOptions.js"
import type { ReplayCache } from "./dpopReplay.js"
import { comparableUrl } from "./dpopUrl.js"
import { isCanonical, jsonObjectReader } from "./jwtTokenForm.js"
import type { Platform } from "./platform.js"
import { webSha256 } from "./platform.js"

/** The longest proof looked at: a proof with a 4096-bit RSA key is under 2 KiB. */
export const MAX_PROOF_LENGTH = 8192

/** The longest `jti` remembered; RFC 9449 4.2 asks for 96 random bits, 16 characters of base64url. */
const MAX_JTI_LENGTH = 256

// RFC 7517/7518: members that make a JWK private (or symmetric); a proof carries a public key.
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
const PUBLIC_KEY_TYPES = ["EC", "OKP", "RSA"]

/** What the request says a proof must match. */
export interface ProofRequest {
  /** The `DPoP` header's value (one line). */
  readonly proof: string
  readonly method: string
  /** The request URL as `comparableUrl` gives it. */
  readonly url: string
  readonly accessToken: string
  /** The token's `cnf.jkt`. */
  readonly jkt: string
  readonly nowMillis: number
}

export interface ProofSettings {
  readonly algorithms: ReadonlyArray<string>
  /** Seconds a proof's `iat` may lie in the past. */
  readonly maxAge: number
  /** Seconds of clock difference allowed either way. */
  readonly clockTolerance: number
  readonly replay: ReplayCache
  readonly platform: Platform
}

type ProofProblem = Extract<ReasonCode, `dpop_${string}`>

interface ProofClaims {
  readonly htm: string
  readonly htu: string
  readonly iat: number
  readonly jti: string
  readonly ath: string
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const claimsOf = (payload: Record<string, unknown>): ProofClaims | undefined => {
  const { ath, htm, htu, iat, jti } = payload
  if (typeof htm !== "string" || typeof htu !== "string" || typeof ath !== "string") return undefined
  if (typeof iat !== "number" || !Number.isFinite(iat)) return undefined
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return undefined
  return { htm, htu, iat, jti, ath }
}

/** The digest of a text as base64url (RFC 9449 4.2 `ath`, and the replay key). */
const sha256Url = async (text: string): Promise<string> => base64url.encode(await webSha256(text))

/**
 * A verifier of proofs: a reason code for a refused proof, or undefined for one accepted (and
 * now remembered). Never rejects.
 */
export const makeProofVerifier = (settings: ProofSettings) => {
  const jsonObjectOf = jsonObjectReader(settings.platform)
  const allowed = new Set<string>(settings.algorithms.filter((alg) => (PROOF_ALGORITHMS as ReadonlyArray<string>).includes(alg)))

  const formProblem = (
    proof: string
  ): ProofProblem | { readonly jwk: JWK; readonly claims: ProofClaims } => {
    // One spelling per proof: a signature segment whose unused bits differ decodes alike.
    if (proof.length > MAX_PROOF_LENGTH || !isCompactJws(proof) || !isCanonical(proof)) return "dpop_proof_malformed"
    const [headerSegment, payloadSegment] = proof.split(".")
    const header = jsonObjectOf<Record<string, unknown>>(headerSegment!)
    if (header === undefined || header["typ"] !== "dpop+jwt") return "dpop_proof_malformed"
    if (typeof header["alg"] !== "string" || !allowed.has(header["alg"])) return "dpop_alg_not_allowed"
    const jwk = header["jwk"]
    if (!isPlainObject(jwk) || typeof jwk["kty"] !== "string" || !PUBLIC_KEY_TYPES.includes(jwk["kty"])) return "dpop_proof_malformed"
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) return "dpop_proof_malformed"
    const payload = jsonObjectOf<Record<string, unknown>>(payloadSegment!)
    const claims = payload === undefined ? undefined : claimsOf(payload)
    return claims === undefined ? "dpop_proof_malformed" : { jwk: jwk as JWK, claims }
  }

  const verify = async (request: ProofRequest): Promise<ProofProblem | undefined> => {
    const form = formProblem(request.proof)
    if (typeof form === "string") return form
    const { claims, jwk } = form
    // RFC 9110 9.1: method names are case-sensitive.
    if (claims.htm !== request.method) return "dpop_method_mismatch"
    if (comparableUrl(claims.htu) !== request.url) return "dpop_url_mismatch"
    const now = request.nowMillis / 1000
    if (now - claims.iat > settings.maxAge + settings.clockTolerance) return "dpop_proof_too_old"
    if (claims.iat - now > settings.clockTolerance) return "dpop_issued_in_future"
    if (await sha256Url(request.accessToken) !== claims.ath) return "dpop_ath_mismatch"
    let thumbprint: string
    try {
      thumbprint = await calculateJwkThumbprint(jwk, "sha256")
    } catch {
      return "dpop_proof_malformed"
    }
    if (thumbprint !== request.jkt) return "dpop_key_mismatch"
    try {
      await compactVerify(request.proof, EmbeddedJWK, { algorithms: [...allowed] })
    } catch {
      return "dpop_bad_signature"
    }
    // Kept for as long as the proof could pass the `iat` check, keyed per key and `jti`.
    const keepUntil = (claims.iat + settings.maxAge + settings.clockTolerance) * 1000
    const key = await sha256Url(`${thumbprint} ${claims.jti}`)
    return settings.replay.firstUse(key, keepUntil, request.nowMillis) ? undefined : "dpop_replayed"
  }

  return (request: ProofRequest): Promise<ProofProblem | undefined> =>
    verify(request).catch(() => "dpop_bad_signature" as const)
}
