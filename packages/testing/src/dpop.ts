/**
 * DPoP proofs (RFC 9449) as a client makes them, for the tests: a key pair, and proofs of it
 * for a method, a URL and an access token, any claim or header member replaceable so that a
 * test can make exactly the proof it means to refuse.
 *
 *     const key = await dpopKey()
 *     const token = await as.token({ dpop: await key.proof("POST", `${as.issuer}/token`) })
 *     const proof = await key.proof("POST", "http://127.0.0.1:4000/mcp", { accessToken: token })
 */
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose"
import type { CryptoKey, JWK } from "jose"
import { createHash, randomUUID } from "node:crypto"

/** What a test may change in a proof. */
export interface ProofChanges {
  /** The token the proof is for: `ath` is its SHA-256. */
  readonly accessToken?: string
  /** Seconds since the epoch; default now. */
  readonly iat?: number
  /** Default a fresh UUID. */
  readonly jti?: string
  /** Claims replacing or added to the proof's (`undefined` removes one). */
  readonly claims?: Readonly<Record<string, unknown>>
  /** Header members replacing or added to the proof's. */
  readonly header?: Readonly<Record<string, unknown>>
}

export interface DpopKey {
  readonly jwk: JWK
  /** The RFC 7638 thumbprint: the `cnf.jkt` of tokens bound to this key. */
  readonly thumbprint: string
  readonly proof: (method: string, url: string, changes?: ProofChanges) => Promise<string>
}

/** `ath` of a token (RFC 9449 4.2). */
export const accessTokenHash = (token: string): string => base64url.encode(createHash("sha256").update(token).digest())

/** A fresh key pair of `alg` (ES256 by default) and its proofs. */
export const dpopKey = async (alg: "ES256" | "EdDSA" | "RS256" | "PS256" | "ES384" = "ES256"): Promise<DpopKey> => {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const thumbprint = await calculateJwkThumbprint(jwk, "sha256")
  return { jwk, thumbprint, proof: (method, url, changes = {}) => signProof(privateKey, alg, jwk, method, url, changes) }
}

const signProof = (
  privateKey: CryptoKey,
  alg: string,
  jwk: JWK,
  method: string,
  url: string,
  changes: ProofChanges
): Promise<string> => {
  const claims: Record<string, unknown> = {
    htm: method,
    htu: url,
    iat: changes.iat ?? Math.floor(Date.now() / 1000),
    jti: changes.jti ?? randomUUID(),
    ...(changes.accessToken === undefined ? {} : { ath: accessTokenHash(changes.accessToken) }),
    ...changes.claims
  }
  for (const name of Object.keys(claims)) if (claims[name] === undefined) delete claims[name]
  return new SignJWT(claims).setProtectedHeader({ typ: "dpop+jwt", alg, jwk, ...changes.header }).sign(privateKey)
}

/** A `fetch` that adds a fresh proof of `key` to every request that carries `Authorization: DPoP`. */
export const dpopFetch = (key: DpopKey): typeof fetch => async (input, init) => {
  const request = new Request(input, init)
  const authorization = request.headers.get("authorization")
  if (authorization?.startsWith("DPoP ")) {
    const url = new URL(request.url)
    const proof = await key.proof(request.method, `${url.origin}${url.pathname}`, { accessToken: authorization.slice(5) })
    request.headers.set("dpop", proof)
  }
  return fetch(request)
}
