/**
 * The credential core on `node:crypto` against the same core on Web Crypto only (the path of
 * a Worker without `nodejs_compat`, an edge runtime, a browser), both in this process: the
 * web path is forced through the platform seam (`src/internal/platform.ts`). Over generated
 * API keys, JWTs (valid ones of every algorithm, every single-character change, changes of
 * each header and payload byte signed again, wrong keys and algorithms, hostile headers,
 * edge-case claims, tokens without a subject) and custom providers' unnamed identities, both
 * paths accept or refuse alike: the same principal, or the same failure, reason and answer.
 */
import { describe, expect, it } from "@effect/vitest"
import type { AuthFailure, Principal } from "@mcpgate/auth-core"
import { AuthFailure as Failures, HttpAnswer } from "@mcpgate/auth-core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import * as ApiKeys from "../src/internal/apiKey.js"
import { unnamedIdentity } from "../src/internal/customIdentity.js"
import type { JwtOptionsInput } from "../src/internal/jwt.js"
import * as Jwts from "../src/internal/jwt.js"
import * as Platforms from "../src/internal/platform.js"
import type { Signer } from "./fixtures/differential.js"
import { b64, claimsOf, jwkOf, makePairs, NOW, NOW_MS, rawToken, SECRET, sharedConfigurations, signerOf, token } from "./fixtures/differential.js"

const node = Platforms.current
const web = Platforms.web

type Check = (request: Readonly<Record<string, string>>, now: number) => Effect.Effect<Principal.Principal, AuthFailure.AuthFailure>

/** Everything that must agree: the whole principal, or the failure and its exact answer. */
const outcomeOf = (exit: Exit.Exit<Principal.Principal, AuthFailure.AuthFailure>) => {
  if (Exit.isSuccess(exit)) return { ok: true, principal: JSON.parse(JSON.stringify(exit.value)) as unknown }
  return Option.match(Cause.failureOption(exit.cause), {
    onNone: () => ({ ok: false, defect: Cause.pretty(exit.cause) }),
    onSome: (failure) => ({
      ok: false,
      tag: failure._tag,
      reason: Failures.primaryOf(failure).reason,
      keyLabel: Failures.primaryOf(failure).keyLabel,
      answer: HttpAnswer.fromFailure(failure)
    })
  })
}

const run = (checking: Effect.Effect<Principal.Principal, AuthFailure.AuthFailure>) =>
  Exit.isExit(checking)
    ? Promise.resolve(checking as Exit.Exit<Principal.Principal, AuthFailure.AuthFailure>)
    : Effect.runPromiseExit(checking)

/** Both paths' outcomes for one request, and whether the Node path answered at once. */
const both = async (onNode: Check, onWeb: Check, request: Readonly<Record<string, string>>, now = NOW_MS) => {
  const nodeCheck = onNode(request, now)
  const webCheck = onWeb(request, now)
  return {
    node: outcomeOf(await run(nodeCheck)),
    web: outcomeOf(await run(webCheck)),
    sync: Exit.isExit(nodeCheck),
    webSync: Exit.isExit(webCheck)
  }
}

// ---------------------------------------------------------------------------------------
// API keys

const apiKeyPair = (input: Record<string, unknown>) => {
  const make = (platform: Platforms.Platform) => {
    const { keys, options } = Either.getOrThrow(ApiKeys.parseOptions(input, platform))
    return Effect.runSync(ApiKeys.makeChecker(options, keys, platform)).provider
  }
  return { node: make(node), web: make(web) }
}

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex")

const visibleKey = FastCheck.stringMatching(/^[\x21-\x2b\x2d-\x7e]{16,48}$/)

describe("the web path (Web Crypto only) against node:crypto", () => {
  it.effect.prop(
    "API keys: the same principal or the same refusal for configured, wrong and malformed keys",
    {
      keys: FastCheck.uniqueArray(visibleKey, { minLength: 1, maxLength: 5 }),
      asDigest: FastCheck.array(FastCheck.boolean(), { minLength: 5, maxLength: 5 }),
      expired: FastCheck.nat({ max: 4 }),
      presented: FastCheck.oneof(
        FastCheck.nat({ max: 4 }).map((index) => ({ index })),
        visibleKey.map((value) => ({ value })),
        FastCheck.constantFrom("", " ", "a b", "é".repeat(20), "x,y".repeat(8), "short").map((value) => ({ value }))
      ),
      bearer: FastCheck.boolean()
    },
    ({ asDigest, bearer, expired, keys, presented }) =>
      Effect.promise(async () => {
        const specs = keys.map((key, i) => {
          const meta = { label: `key-${i}`, scopes: [`s${i}`], ...(i === expired ? { expiresAt: NOW - 1 } : {}) }
          return asDigest[i] ? { sha256: sha256Hex(key), ...meta } : i % 2 === 0 ? { key, ...meta } : Redacted.make(key)
        })
        const pair = apiKeyPair({ keys: specs, allowBearer: bearer })
        const value = "index" in presented ? keys[presented.index % keys.length]! : presented.value
        const request = bearer && value.length % 2 === 0 ? { authorization: `Bearer ${value}` } : { "x-api-key": value }
        const { node: onNode, sync, web: onWeb, webSync } = await both(pair.node.authenticateAt, pair.web.authenticateAt, request)
        expect(onWeb).toStrictEqual(onNode)
        // Only the Node path lets a key in without waiting (an Exit); the web path digests first.
        if (onNode.ok) expect([sync, webSync]).toStrictEqual([true, false])
        // What the gate compares during a lockout: the same once the key has been proven.
        if (onNode.ok) expect(pair.web.claimedIdentity(request)).toBe(pair.node.claimedIdentity(request))
      }),
    { fastCheck: { numRuns: 300 } }
  )

  it("API keys: a bad key set is refused alike, a plain key repeating a sha256 entry only once digested", async () => {
    const bad = [[], ["short"], ["a".repeat(16), "a".repeat(16)], [{ sha256: "ABC" }], ["é".repeat(16)]]
    for (const keys of bad) {
      const onNode = ApiKeys.parseOptions({ keys }, node)
      expect(Either.isLeft(onNode)).toBe(true)
      expect(ApiKeys.parseOptions({ keys }, web)).toStrictEqual(onNode)
    }
    const key = "k".repeat(24)
    const clash = { keys: ["x".repeat(20), { sha256: sha256Hex(key) }, key] }
    const onNode = Either.flip(ApiKeys.parseOptions(clash, node))
    const onWeb = Either.getOrThrow(ApiKeys.parseOptions(clash, web))
    const settled = await Effect.runPromise(Effect.flip(ApiKeys.settledKeys(onWeb.keys)))
    expect(settled.message).toBe(Either.getOrThrow(onNode).message)
    expect(settled.message).toContain("keys[2] repeats an earlier key")
  })

  it.effect("API keys: a rotation on the web path is in force for the next request", () =>
    Effect.gen(function*() {
      const pair = apiKeyPair({ keys: ["a".repeat(20)] })
      yield* pair.web.updateKeys(["b".repeat(20)])
      const refused = yield* Effect.flip(pair.web.authenticate({ "x-api-key": "a".repeat(20) }))
      expect(Failures.primaryOf(refused).reason).toBe("unknown_key")
      const principal = yield* pair.web.authenticate({ "x-api-key": "b".repeat(20) })
      expect(yield* pair.web.stillValid(principal)).toBe(true)
      expect(principal.identity).toBe(`api-key:${sha256Hex("b".repeat(20)).slice(0, 16)}`)
    }))
})

// ---------------------------------------------------------------------------------------
// JWTs

const jwtPair = (name: string, input: JwtOptionsInput) => {
  const make = (platform: Platforms.Platform) => {
    const { keys, options } = Either.getOrThrow(Jwts.parseOptions(input, platform))
    return Effect.runSync(Jwts.makeChecker(options, keys, platform === node ? "node" : "jose", platform)).provider
  }
  return { name, node: make(node), web: make(web) }
}
type JwtPair = ReturnType<typeof jwtPair>

const keys = makePairs()
const configurations = sharedConfigurations(keys)
const hmac = jwtPair("hmac", configurations.hmac)
const hmacCached = jwtPair("hmac, cache on", configurations.hmacCached)
const publicKeys = jwtPair("jwks", configurations.jwks)
const pemKey = (key: typeof keys.rsa.publicKey) => key.export({ type: "spki", format: "pem" }).toString()
const pems = [
  jwtPair("rsa PEM", { publicKey: pemKey(keys.rsa.publicKey), algorithms: ["RS256", "PS256"], audience: "api", tokenCache: false }),
  jwtPair("P-256 PEM", { publicKey: pemKey(keys.p256.publicKey), audience: "api", tokenCache: false }),
  jwtPair("Ed25519 PEM", { publicKey: pemKey(keys.ed25519.publicKey), audience: "api" }),
  jwtPair("rsa-pss PEM", { publicKey: pemKey(keys.pss.publicKey), algorithms: ["PS256", "PS384"], audience: "api", tokenCache: false })
] as const

const hs = (alg: string) => signerOf(alg, SECRET)
const SIGNERS: ReadonlyArray<readonly [JwtPair, Signer]> = [
  [hmac, hs("HS256")],
  [hmac, hs("HS384")],
  [hmac, hs("HS512")],
  [hmacCached, hs("HS256")],
  [publicKeys, signerOf("RS256", keys.rsa.privateKey, "rsa")],
  [publicKeys, signerOf("RS384", keys.rsaOther.privateKey)],
  [publicKeys, signerOf("PS256", keys.rsa.privateKey, "rsa")],
  [publicKeys, signerOf("PS512", keys.rsaOther.privateKey, "unknown")],
  [publicKeys, signerOf("ES256", keys.p256Other.privateKey, "p256")],
  [publicKeys, signerOf("ES384", keys.p384.privateKey, "p384")],
  [publicKeys, signerOf("ES512", keys.p521.privateKey)],
  [publicKeys, signerOf("EdDSA", keys.ed25519.privateKey, "ed25519")],
  [publicKeys, signerOf("Ed25519", keys.ed25519.privateKey)],
  [pems[0], signerOf("RS256", keys.rsa.privateKey)],
  [pems[0], signerOf("PS256", keys.rsa.privateKey)],
  [pems[1], signerOf("ES256", keys.p256.privateKey)],
  [pems[2], signerOf("EdDSA", keys.ed25519.privateKey)],
  // Neither path can use these keys: both refuse alike.
  [publicKeys, signerOf("EdDSA", keys.ed448.privateKey, "ed448")],
  [pems[3], signerOf("PS256", keys.pss.privateKey)]
]
const UNUSABLE = 2

/** Puts every token to both paths of `pair`; says how many were accepted. */
const agree = async (pair: JwtPair, tokens: Iterable<string>, now = NOW_MS): Promise<number> => {
  let accepted = 0
  for (const candidate of tokens) {
    const request = { authorization: `Bearer ${candidate}` }
    const { node: onNode, web: onWeb } = await both(pair.node.authenticateAt!, pair.web.authenticateAt!, request, now)
    if (JSON.stringify(onNode) !== JSON.stringify(onWeb)) {
      const shown = candidate.length > 300 ? `${candidate.slice(0, 300)}… (${candidate.length} characters)` : candidate
      expect({ pair: pair.name, token: shown, web: onWeb }).toEqual({ pair: pair.name, token: shown, web: onNode })
    }
    if (onNode.ok) accepted++
  }
  return accepted
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

function* characterMutations(original: string) {
  for (let i = 0; i < original.length; i++) {
    const at = ALPHABET.indexOf(original[i]!)
    const replacements = at === -1 ? ["A"] : [ALPHABET[at ^ 1]!, "."]
    for (const replacement of replacements) yield original.slice(0, i) + replacement + original.slice(i + 1)
  }
}

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

describe("JWTs on the web path against node:crypto", () => {
  it("agrees on a valid token of every algorithm and key form, and refuses what neither can verify", async () => {
    const accepted = await Promise.all(SIGNERS.map(([pair, signer]) => agree(pair, [token(signer), token(signer)])))
    expect(accepted).toEqual([...SIGNERS.slice(0, -UNUSABLE).map(() => 2), ...Array(UNUSABLE).fill(0)])
  })

  it("agrees on tokens without a subject: their identity is their own digest on both paths", async () => {
    for (const [pair, signer] of SIGNERS.slice(0, 5)) {
      expect(await agree(pair, [token(signer, claimsOf({ sub: undefined })), token(signer, claimsOf({ sub: undefined, client_id: "c" }))]))
        .toBe(2)
    }
  })

  it("agrees on every single-character change of a valid token", async () => {
    for (const [pair, signer] of SIGNERS) await agree(pair, characterMutations(token(signer)))
  }, 60_000)

  it("agrees on every single-byte change of the header and payload, signed again", async () => {
    for (const [pair, signer] of SIGNERS.filter(([, s]) => ["HS256", "ES256", "EdDSA"].includes(s.alg)).slice(0, 3)) {
      const header = Buffer.from(JSON.stringify({ alg: signer.alg, typ: "JWT", ...(signer.kid ? { kid: signer.kid } : {}) }))
      expect(await agree(pair, byteMutations(signer, header, Buffer.from(JSON.stringify(claimsOf())))))
        .toBeGreaterThan(0)
    }
  }, 60_000)

  it("agrees on wrong keys, wrong algorithms, alg none and hostile headers", async () => {
    const wrong = [
      [hmac, token(signerOf("HS256", "e".repeat(64)))],
      [hmac, token(signerOf("HS512", "d".repeat(32)))],
      [publicKeys, token(signerOf("RS256", keys.rsaOther.privateKey, "rsa"))],
      [publicKeys, token(signerOf("ES256", keys.p384.privateKey, "p256"))],
      [publicKeys, token({ ...hs("HS256"), alg: "RS256" })],
      [publicKeys, token(hs("HS256"))],
      [pems[1], token(signerOf("ES256", keys.p256Other.privateKey))],
      [pems[0], token(signerOf("RS512", keys.rsa.privateKey))],
      [hmac, `${b64(JSON.stringify({ alg: "none" }))}.${b64(JSON.stringify(claimsOf()))}.`]
    ] as const
    for (const [pair, candidate] of wrong) await agree(pair, [candidate])
    const signer = hs("HS256")
    const payload = JSON.stringify(claimsOf())
    const headers = [
      `{"alg":"HS256","kid":"${"k".repeat(6000)}"}`,
      `{"alg":"HS256","crit":["b64"],"b64":false}`,
      `{"alg":"HS256","crit":["x"]}`,
      `{"alg":"HS256","deep":${"[".repeat(3000)}${"]".repeat(3000)}}`,
      `\uFEFF{"alg":"HS256"}`,
      Buffer.from([0x7b, 0xff, 0x7d]),
      Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from(`{"alg":"HS256"}`)])
    ]
    const tokens = headers.map((header) => rawToken(signer, header, payload))
    tokens.push(
      rawToken(signer, `{"alg":"HS256"}`, `\uFEFF${payload}`),
      rawToken(signer, `{"alg":"HS256"}`, Buffer.concat([Buffer.from(payload.slice(0, -1)), Buffer.from([0xc3, 0x28, 0x7d])])),
      rawToken(signer, `{"alg":"HS256"}`, Buffer.from([0xed, 0xa0, 0x80])),
      rawToken(signer, `{"alg":"HS256"}`, `${payload.slice(0, -1)},"s":"\\ud800"}`)
    )
    await agree(hmac, tokens)
    await agree(hmacCached, tokens)
  })

  it("agrees on edge-case claims and instants", async () => {
    const edges: Array<Record<string, unknown>> = [
      { exp: NOW - 30 }, { exp: NOW - 29 }, { nbf: NOW + 31 }, { iat: NOW + 31 }, { iat: NOW - 3631 },
      { exp: "9999999999" }, { exp: null }, { exp: 1e300 }, { iss: "https://other.example" }, { aud: ["x"] },
      { aud: [] }, { exp: NOW + 7300, iat: NOW }, { sub: 7 }, { scope: "a b", client_id: "c" }
    ]
    for (const [pair, signer] of SIGNERS.filter(([, s]) => ["HS256", "ES256"].includes(s.alg))) {
      await agree(pair, edges.map((edge) => token(signer, claimsOf(edge))))
    }
    for (const now of [NOW_MS + 999, 8.64e15 + 1, Number.NaN]) await agree(hmac, [token(hs("HS256"))], now)
  })

  it.effect.prop(
    "agrees on random changes of a valid token, up to three characters anywhere",
    {
      changes: FastCheck.array(FastCheck.tuple(FastCheck.nat(), FastCheck.constantFrom(...ALPHABET, ".", "=")), { minLength: 1, maxLength: 3 }),
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

  it("refuses bad key configuration alike, synchronously on both paths", () => {
    const bad: ReadonlyArray<JwtOptionsInput> = [
      { secret: "short" },
      { secret: `-----BEGIN PUBLIC KEY-----\n${"A".repeat(64)}` },
      { publicKey: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" },
      { publicKey: "not a key" },
      { publicKey: { ...jwkOf(keys.rsa.publicKey), d: "AAAA" } },
      { publicKey: { kty: "oct", k: "AAAA" } },
      { publicKey: { kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" } },
      { publicKey: { kty: "RSA", n: b64(Buffer.alloc(128, 0xff)), e: "AQAB" } },
      { publicKey: pemKey(keys.p256.publicKey), algorithms: ["ES384"] },
      { publicKey: pemKey(keys.rsa.publicKey), algorithms: ["HS256"] },
      { jwks: { keys: [jwkOf(keys.ed25519.publicKey, { kid: 1 })] } },
      { jwks: { keys: [] } }
    ]
    for (const input of bad) {
      const onNode = Jwts.parseOptions(input, node)
      const onWeb = Jwts.parseOptions(input, web)
      expect(Either.isLeft(onNode), JSON.stringify(input)).toBe(true)
      expect(Either.isLeft(onWeb), JSON.stringify(input)).toBe(true)
      // The parser's own words may differ in parentheses; what the user is told to fix does not.
      const said = (either: typeof onNode) => Either.flip(either).pipe(Either.getOrThrow).message.replace(/ \(.*\)$/s, "")
      expect(said(onWeb)).toBe(said(onNode))
    }
    const weak = { kty: "RSA", n: b64(Buffer.concat([Buffer.from([0x7f]), Buffer.alloc(127, 0xff)])), e: "AQAB" }
    expect(Either.flip(Jwts.parseOptions({ publicKey: weak }, web)).pipe(Either.getOrThrow).message).toContain("1023-bit RSA key")
  })

  it.effect("keeps principals valid across a rotation that keeps their key, on the web path too", () =>
    Effect.gen(function*() {
      const principal = yield* publicKeys.web.authenticateAt!(
        { authorization: `Bearer ${token(signerOf("ES256", keys.p256Other.privateKey, "p256"))}` },
        NOW_MS
      )
      expect(yield* publicKeys.web.stillValid(principal)).toBe(true)
      const onNode = yield* publicKeys.node.authenticateAt!(
        { authorization: `Bearer ${token(signerOf("ES256", keys.p256Other.privateKey, "p256"))}` },
        NOW_MS
      )
      expect(principal.keyId).toBe(onNode.keyId)
    }))
})

describe("custom providers' unnamed identities on the web path against node:crypto", () => {
  it.effect.prop(
    "the same keyed digest of the same credential headers",
    {
      names: FastCheck.subarray(["authorization", "x-api-key", "cookie", "x-session"], { minLength: 1 }),
      headers: FastCheck.dictionary(
        FastCheck.constantFrom("authorization", "x-api-key", "cookie", "x-session", "x-other"),
        FastCheck.string({ unit: "grapheme", maxLength: 40 })
      ),
      key: FastCheck.uint8Array({ minLength: 32, maxLength: 32 })
    },
    ({ headers, key, names }) =>
      Effect.promise(async () => {
        const onNode = unnamedIdentity(names, node, key)(headers)
        const onWeb = await unnamedIdentity(names, web, key)(headers)
        expect(typeof onNode).toBe("string")
        if (names.some((name) => name in headers)) expect(onWeb).toBe(onNode)
        else expect(onWeb).toMatch(/^custom:~[0-9a-f-]{36}$/)
      }),
    { fastCheck: { numRuns: 200 } }
  )
})
