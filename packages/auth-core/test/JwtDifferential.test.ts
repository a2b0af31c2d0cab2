/**
 * The JWT provider's verification on `node:crypto` against jose's `jwtVerify`: over a corpus
 * of valid tokens for every algorithm, every single-character change of them, every single-byte
 * change of their header and payload (signed again, so the parsing behind the signature is
 * reached), wrong keys and algorithms, hostile headers and edge-case claims, both paths accept
 * or refuse alike, with the same class and reason, and the same principal.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import type { Pair, Signer } from "./fixtures/differential.js"
import {
  b64,
  claimsOf,
  ISSUER,
  makePairs,
  NOW,
  NOW_MS,
  pairOf,
  rawToken,
  SECRET,
  sharedConfigurations,
  signerOf,
  token,
  verdicts
} from "./fixtures/differential.js"

const keys = makePairs()

const configurations = sharedConfigurations(keys)
const hmac = pairOf("hmac", { ...configurations.hmac, requiredClaims: ["sub"] })
const hmacCached = pairOf("hmac, cache on", configurations.hmacCached)
const publicKeys = pairOf("jwks", { ...configurations.jwks, tokenCache: false })
const pss = pairOf("rsa-pss PEM", {
  publicKey: keys.pss.publicKey.export({ type: "spki", format: "pem" }).toString(),
  algorithms: ["PS256", "PS384", "PS512"],
  tokenCache: false
})

const hs = (alg: string) => signerOf(alg, SECRET)
/** A signer of every algorithm, with the provider that should accept its tokens. */
const SIGNERS: ReadonlyArray<readonly [Pair, Signer]> = [
  [hmac, hs("HS256")],
  [hmac, hs("HS384")],
  [hmac, hs("HS512")],
  [hmacCached, hs("HS256")],
  [publicKeys, signerOf("RS256", keys.rsa.privateKey, "rsa")],
  [publicKeys, signerOf("RS384", keys.rsaOther.privateKey)],
  [publicKeys, signerOf("RS512", keys.rsa.privateKey)],
  [publicKeys, signerOf("PS256", keys.rsa.privateKey, "rsa")],
  [publicKeys, signerOf("PS384", keys.rsaOther.privateKey, "unknown")],
  [publicKeys, signerOf("PS512", keys.rsa.privateKey)],
  [publicKeys, signerOf("ES256", keys.p256Other.privateKey, "p256")],
  [publicKeys, signerOf("ES384", keys.p384.privateKey, "p384")],
  [publicKeys, signerOf("ES512", keys.p521.privateKey)],
  [publicKeys, signerOf("EdDSA", keys.ed25519.privateKey, "ed25519")],
  [publicKeys, signerOf("Ed25519", keys.ed25519.privateKey)],
  // jose verifies EdDSA on Ed25519 only, and cannot use an RSASSA-PSS key: both refuse these.
  [publicKeys, signerOf("EdDSA", keys.ed448.privateKey, "ed448")],
  [pss, signerOf("PS256", keys.pss.privateKey)],
  [pss, signerOf("PS384", keys.pss.privateKey)]
]
const UNUSABLE = 3
const USABLE = SIGNERS.slice(0, -UNUSABLE)

/** Puts every token to both paths of `pair`; says how many were accepted. */
const agree = async (pair: Pair, tokens: Iterable<string>, now = NOW_MS): Promise<number> => {
  let accepted = 0
  for (const candidate of tokens) {
    const { jose, node } = await verdicts(pair, candidate, now)
    if (JSON.stringify(node) !== JSON.stringify(jose)) {
      const shown = candidate.length > 300 ? `${candidate.slice(0, 300)}… (${candidate.length} characters)` : candidate
      expect({ pair: pair.name, token: shown, node }).toEqual({ pair: pair.name, token: shown, node: jose })
    }
    if (node.ok) accepted++
  }
  return accepted
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/** Every character of the token changed, three ways: the next base64url letter, one bit, a dot. */
function* characterMutations(original: string) {
  for (let i = 0; i < original.length; i++) {
    const at = ALPHABET.indexOf(original[i]!)
    const replacements = at === -1 ? ["A", "_"] : [ALPHABET[(at + 1) % 64]!, ALPHABET[at ^ 1]!, "."]
    for (const replacement of replacements) yield original.slice(0, i) + replacement + original.slice(i + 1)
  }
}

/** Every byte of the header, then of the payload, changed two ways and signed again. */
function* byteMutations(signer: Signer, header: Buffer, payload: Buffer) {
  for (const [part, other, isHeader] of [[header, payload, true], [payload, header, false]] as const) {
    for (let i = 0; i < part.length; i++) {
      for (const change of [(b: number) => b ^ 0x01, (b: number) => b ^ 0x80]) {
        const mutated = Buffer.from(part)
        mutated[i] = change(mutated[i]!)
        yield isHeader ? rawToken(signer, mutated, other) : rawToken(signer, other, mutated)
      }
    }
  }
}

describe("JWT verification: node:crypto against jose", () => {
  it("answers a known key synchronously, with an Exit, and agrees on a valid token of every algorithm", async () => {
    for (const [pair, signer] of SIGNERS) {
      const valid = token(signer)
      expect(Exit.isExit(pair.node.authenticateAt!({ authorization: `Bearer ${valid}` }, NOW_MS))).toBe(true)
      await agree(pair, [valid])
    }
    const accepted = await Promise.all(SIGNERS.map(([pair, signer]) => agree(pair, [token(signer)])))
    expect(accepted).toEqual([...USABLE.map(() => 1), ...Array(UNUSABLE).fill(0)])
  })

  it("agrees on every single-character change of a valid token", async () => {
    for (const [pair, signer] of SIGNERS) await agree(pair, characterMutations(token(signer)))
  }, 30_000)

  it("agrees on every single-byte change of the header and payload, signed again", async () => {
    for (const [pair, signer] of USABLE.filter(([, s]) => ["HS256", "ES256", "EdDSA", "PS256"].includes(s.alg))) {
      const header = Buffer.from(JSON.stringify({ alg: signer.alg, typ: "JWT", ...(signer.kid ? { kid: signer.kid } : {}) }))
      const accepted = await agree(pair, byteMutations(signer, header, Buffer.from(JSON.stringify(claimsOf()))))
      expect(accepted).toBeGreaterThan(0)
    }
  }, 30_000)

  it("agrees on wrong keys, wrong algorithms and alg none", async () => {
    const other = signerOf("HS256", "e".repeat(64))
    const wrong = [
      [hmac, token(other)],
      [hmac, token(signerOf("HS512", "d".repeat(32)))],
      [publicKeys, token(signerOf("RS256", keys.rsaOther.privateKey, "rsa"))],
      [publicKeys, token(signerOf("ES256", keys.p384.privateKey, "p256"))],
      [publicKeys, token({ ...signerOf("ES384", keys.p256.privateKey), alg: "ES384" })],
      [publicKeys, token({ ...hs("HS256"), alg: "RS256" })],
      [publicKeys, token(hs("HS256"))],
      [hmac, token({ alg: "none", sign: () => Buffer.alloc(0) }).concat("A")],
      [hmac, `${b64(JSON.stringify({ alg: "none" }))}.${b64(JSON.stringify(claimsOf()))}.`],
      [hmac, token(hs("HS256"), claimsOf(), { alg: "none" })],
      [publicKeys, token(signerOf("EdDSA", keys.ed25519.privateKey, "p256"))],
      [publicKeys, token(signerOf("PS256", keys.rsa.privateKey, "p256"))],
      [pss, token(signerOf("PS256", keys.rsa.privateKey))]
    ] as const
    for (const [pair, candidate] of wrong) await agree(pair, [candidate])
  })

  it("agrees on hostile headers: huge kid, deep nesting, many crit entries, b64, BOM", async () => {
    const signer = hs("HS256")
    const payload = JSON.stringify(claimsOf())
    const headers = [
      { alg: "HS256", kid: "k".repeat(6000) },
      { alg: "HS256", kid: 42 },
      { alg: "HS256", crit: Array.from({ length: 1000 }, () => "b64"), b64: true },
      { alg: "HS256", crit: Array.from({ length: 1000 }, (_, i) => `x${i}`) },
      { alg: "HS256", crit: ["b64"], b64: false },
      { alg: "HS256", crit: ["b64"], b64: "no" },
      { alg: "HS256", crit: ["b64"] },
      { alg: "HS256", crit: [] },
      { alg: "HS256", crit: [""] },
      { alg: "HS256", crit: "b64" },
      { alg: "HS256", b64: false },
      { alg: "HS256", nested: JSON.parse("[".repeat(2000) + "]".repeat(2000)) }
    ]
    const tokens = headers.map((header) => rawToken(signer, JSON.stringify(header), payload))
    tokens.push(
      rawToken(signer, `{"alg":"HS256","deep":${"[".repeat(3000)}${"]".repeat(3000)}}`, payload),
      rawToken(signer, `{"alg":"HS256","deep":${"{\"a\":".repeat(1200)}1${"}".repeat(1200)}}`, payload),
      rawToken(signer, `\uFEFF{"alg":"HS256"}`, payload),
      rawToken(signer, `{"alg":"HS256"}`, `\uFEFF${payload}`),
      rawToken(signer, `{"alg":"HS256","alg":"HS384"}`, payload),
      rawToken(signer, `{"alg":"HS256","__proto__":{"crit":["x"]}}`, payload),
      rawToken(signer, Buffer.from([0x7b, 0xff, 0x7d]), payload),
      rawToken(signer, `{"alg":"HS256"}`, Buffer.concat([Buffer.from(payload.slice(0, -1)), Buffer.from([0xc3, 0x28, 0x7d])])),
      rawToken(signer, `{"alg":"HS256"}`, `{"sub":"${"x".repeat(7000)}"}`),
      rawToken(signer, `{"alg":"HS256"}`, `${payload.slice(0, -1)},"deep":${"[".repeat(2500)}${"]".repeat(2500)}}`)
    )
    await agree(hmac, tokens)
    await agree(hmacCached, tokens)
  })

  it("agrees on edge-case claims: time boundaries, non-numbers, huge values, audiences", async () => {
    const tolerance = 30
    const edges: Array<Record<string, unknown>> = [
      { exp: NOW - tolerance }, { exp: NOW - tolerance + 1 }, { exp: NOW - tolerance + 0.5 }, { exp: NOW - tolerance - 0.5 },
      { nbf: NOW + tolerance }, { nbf: NOW + tolerance + 1 }, { nbf: NOW + tolerance + 0.5 },
      { iat: NOW + tolerance }, { iat: NOW + tolerance + 1 }, { iat: NOW - 3600 - tolerance }, { iat: NOW - 3600 - tolerance - 1 },
      { exp: "9999999999" }, { exp: null }, { exp: true }, { exp: [NOW + 60] }, { nbf: "0" }, { iat: {} },
      { exp: 1e300 }, { exp: -1e300 }, { iat: -1e300 }, { nbf: 1e300 }, { exp: Number.MAX_SAFE_INTEGER + 2 },
      { exp: undefined }, { sub: undefined }, { iat: undefined }, { iss: undefined }, { aud: undefined },
      { iss: "https://other.example" }, { iss: ["https://issuer.example"] }, { iss: 1 },
      { aud: ["x", "other"] }, { aud: ["x"] }, { aud: [] }, { aud: 1 }, { aud: "API" },
      { exp: NOW + 7200 + 100, iat: NOW }, { exp: NOW + 7200, iat: NOW }, { sub: 7 }, { client_id: "c", sub: undefined }
    ]
    for (const [pair, signer] of SIGNERS.filter(([, s]) => ["HS256", "ES256"].includes(s.alg))) {
      await agree(pair, edges.map((edge) => token(signer, claimsOf(edge))))
      const raw = ["1e400", "-1e400", "1e-400", "0", "-0", "1.5"]
      await agree(pair, raw.flatMap((value) =>
        ["exp", "nbf", "iat"].map((claim) =>
          rawToken(signer, JSON.stringify({ alg: signer.alg, ...(signer.kid ? { kid: signer.kid } : {}) }),
            JSON.stringify(claimsOf()).replace(/}$/, `,"${claim}":${value}}`)))))
    }
    // and at instants a Date cannot hold, or around a second's edge
    for (const now of [NOW_MS + 999, NOW_MS - 1, 8.64e15 + 1, Number.NaN]) await agree(hmac, [token(hs("HS256"))], now)
  })

  const claimValue = FastCheck.oneof(
    FastCheck.integer({ min: NOW - 4000, max: NOW + 4000 }),
    FastCheck.double({ noNaN: true }),
    FastCheck.constantFrom(null, "1", true, [], {}, NOW)
  )
  it.effect.prop(
    "agrees on random claim sets, for HS256 and ES256",
    {
      claims: FastCheck.record(
        { exp: claimValue, nbf: claimValue, iat: claimValue, iss: FastCheck.constantFrom(ISSUER, "x", 1), aud: FastCheck.constantFrom("api", ["api"], "x", []) },
        { requiredKeys: [] }
      ),
      es: FastCheck.boolean()
    },
    ({ claims, es }) =>
      Effect.promise(() => {
        const [pair, signer] = es ? [publicKeys, signerOf("ES256", keys.p256.privateKey, "p256")] : [hmac, hs("HS256")]
        return agree(pair, [token(signer, { sub: "user-1", ...claims })]).then(() => undefined)
      }),
    { fastCheck: { numRuns: 200 } }
  )

  it.effect.prop(
    "agrees on random changes of a valid token: any character, anywhere, up to three times",
    {
      changes: FastCheck.array(FastCheck.tuple(FastCheck.nat(), FastCheck.constantFrom(...ALPHABET, ".", "=", "+", "/")), { minLength: 1, maxLength: 3 }),
      which: FastCheck.nat({ max: SIGNERS.length - 1 })
    },
    ({ changes, which }) =>
      Effect.promise(() => {
        const [pair, signer] = SIGNERS[which]!
        let mutated = token(signer)
        for (const [at, character] of changes) {
          const i = at % mutated.length
          mutated = mutated.slice(0, i) + character + mutated.slice(i + 1)
        }
        return agree(pair, [mutated]).then(() => undefined)
      }),
    { fastCheck: { numRuns: 200 } }
  )
})
