/**
 * The request gate's DPoP rules (RFC 9449, docs/behaviour.md#dpop) on a JWT provider with a
 * local key, in process: which proofs pass, and properties that hold for every proof (a proof
 * changed anywhere is refused; no proof passes twice). The same rules against a real
 * authorization server are in `packages/mcp-sdk/test/e2e/dpop.test.ts`.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthProvider, ConfigurationError, HttpAnswer, Issuers, JWTAuthProvider, Jwt } from "@mcpgate/auth-core"
import { Gate } from "@mcpgate/http"
import { KEY_ONE } from "@mcpgate/testing/apiKeys"
import { Answer, Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import { dpopKey } from "@mcpgate/testing/dpop"
import type { DpopKey } from "@mcpgate/testing/dpop"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { exportJWK, generateKeyPair, SignJWT } from "jose"

const URL_SEEN = "http://mcp.example.test/mcp"
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
const issuerKeys = await generateKeyPair("ES256", { extractable: true })
const publicKey = await exportJWK(issuerKeys.publicKey)

const tokenFor = (key: DpopKey | undefined, sub = "alice") =>
  new SignJWT({ sub, ...(key === undefined ? {} : { cnf: { jkt: key.thumbprint } }) })
    .setProtectedHeader({ alg: "ES256" })
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(issuerKeys.privateKey)

const gateOf = async (dpop: Jwt.Options["dpop"] = {}) =>
  Gate.unsafeMake(await Effect.runPromise(Jwt.make({ publicKey, algorithms: ["ES256"], dpop })), { rateLimit: false })

type Headers = Record<string, string | ReadonlyArray<string>>

const verdictOf = (gate: Gate.Gate, headers: Headers, target: { method?: string; url?: string } = { method: "POST", url: URL_SEEN }) =>
  Effect.runPromise(gate.check({ headers, client: "192.0.2.1", ...target }, true))

const refusal = (challenge: string) => ({ _tag: "Refused", answer: { status: 401, headers: { ...JSON_HEADERS, "www-authenticate": challenge }, body: Bodies.jwt } })

const key = await dpopKey()
const token = await tokenFor(key)
const dpopHeaders = (proof: string | ReadonlyArray<string>, presented = token): Headers => ({ authorization: `DPoP ${presented}`, dpop: proof })

describe("DPoP at the request gate", () => {
  it.live("accepts the spellings RFC 3986 normalization makes equal, ignoring query and fragment", () =>
    Effect.promise(async () => {
      const gate = await gateOf()
      for (const htu of ["http://mcp.example.test/mcp", "HTTP://MCP.Example.TEST:80/%6Dcp?x=1#part", "http://mcp.example.test/a/../mcp"]) {
        const verdict = await verdictOf(gate, dpopHeaders(await key.proof("POST", htu, { accessToken: token })))
        expect(verdict._tag, htu).toBe("Authenticated")
      }
      const other = await key.proof("POST", "https://mcp.example.test/mcp", { accessToken: token })
      expect(await verdictOf(gate, dpopHeaders(other))).toStrictEqual(refusal(Challenge.dpop.invalidProof))
    }))

  it.live("refuses proofs malformed before any cryptography: typ, a symmetric alg, a private key, two lines, junk", () =>
    Effect.promise(async () => {
      const gate = await gateOf()
      const good = (changes: Parameters<DpopKey["proof"]>[2] = {}) => key.proof("POST", URL_SEEN, { accessToken: token, ...changes })
      const refused: ReadonlyArray<readonly [string, string | ReadonlyArray<string>]> = [
        ["typ JWT", await good({ header: { typ: "JWT" } })],
        ["a private key", await good({ header: { jwk: { ...key.jwk, d: "AAAA" } } })],
        ["no jti", await good({ claims: { jti: undefined } })],
        ["no ath", await key.proof("POST", URL_SEEN)],
        ["two lines", [await good(), await good()]],
        ["two joined", `${await good()}, ${await good()}`],
        ["not a JWS", "not-a-proof"],
        ["too large", `${"a".repeat(9000)}.b.c`]
      ]
      for (const [what, proof] of refused) {
        expect(await verdictOf(gate, dpopHeaders(proof)), what).toStrictEqual(refusal(Challenge.dpop.invalidProof))
      }
      // An allowed asymmetric algorithm, but not one this server accepts.
      const edOnly = await gateOf({ algorithms: ["EdDSA"] })
      expect(await verdictOf(edOnly, dpopHeaders(await good()))).toStrictEqual(
        refusal(`Bearer realm="mcp", DPoP algs="EdDSA", error="invalid_dpop_proof"`)
      )
    }))

  it.live("refuses a bound token where the method or URL is unknown (a check outside a server), and in check()", () =>
    Effect.promise(async () => {
      const gate = await gateOf()
      const proof = await key.proof("POST", URL_SEEN, { accessToken: token })
      expect(await verdictOf(gate, dpopHeaders(proof), {})).toStrictEqual(refusal(Challenge.dpop.invalidProof))
      const provider = new JWTAuthProvider({ publicKey, algorithms: ["ES256"], dpop: {} })
      expect(await provider.check(dpopHeaders(proof))).toMatchObject({ ok: false, status: 401, reason: "dpop_request_unknown" })
      expect(await provider.check({ authorization: `Bearer ${token}` })).toMatchObject({ ok: false, reason: "dpop_bound_token_as_bearer" })
      expect(await provider.check({ authorization: `Bearer ${await tokenFor(undefined)}` })).toMatchObject({ ok: true })
      await provider.dispose()
    }))

  it.live("answers a malformed DPoP header invalid_request, and a wrong token under DPoP invalid_token on the DPoP challenge", () =>
    Effect.promise(async () => {
      const gate = await gateOf()
      expect(await verdictOf(gate, { authorization: "DPoP" })).toStrictEqual(refusal(Challenge.dpop.invalidRequest))
      expect(await verdictOf(gate, { authorization: "DPoP x.y.z" })).toStrictEqual(refusal(Challenge.dpop.invalidToken))
      expect(await verdictOf(gate, { authorization: "Bearer x.y.z" })).toStrictEqual(refusal(Challenge.dpop.bearerInvalidToken))
    }))

  it.live("lists DPoP after Bearer next to another provider's challenge", () =>
    Effect.promise(async () => {
      const both = AuthProvider.firstOf(
        await Effect.runPromise(ApiKey.make({ keys: [KEY_ONE] })),
        await Effect.runPromise(Jwt.make({ publicKey, algorithms: ["ES256"], dpop: { algorithms: ["EdDSA"] } }))
      )
      const verdict = await Effect.runPromise(Gate.unsafeMake(both, { rateLimit: false }).check({ headers: {}, client: "192.0.2.1" }, true))
      expect(verdict).toStrictEqual({
        _tag: "Refused",
        answer: HttpAnswer.error(401, "Invalid API key", "authentication_error", {
          "www-authenticate": `${Challenge.apiKey()}, Bearer realm="mcp", DPoP algs="EdDSA"`
        })
      })
      expect(Answer.apiKey().body).toBe(Bodies.apiKey)
    }))

  it.live.prop(
    "refuses a good proof changed in any one character, and still accepts the good one after",
    [FastCheck.nat(), FastCheck.nat({ max: ALPHABET.length - 2 })],
    ([at, shift]) =>
      Effect.promise(async () => {
        const gate = await gateOf()
        const proof = await key.proof("POST", URL_SEEN, { accessToken: token })
        const index = at % proof.length
        // Any other character of the compact form's alphabet.
        const replacement = ALPHABET[(ALPHABET.indexOf(proof[index]!) + 1 + shift) % ALPHABET.length]!
        const changed = proof.slice(0, index) + replacement + proof.slice(index + 1)
        expect((await verdictOf(gate, dpopHeaders(changed)))._tag).toBe("Refused")
        expect((await verdictOf(gate, dpopHeaders(proof)))._tag).toBe("Authenticated")
      }),
    { fastCheck: { numRuns: 150 } }
  )

  it.live.prop(
    "accepts no proof twice, in whatever order proofs and replays come",
    [FastCheck.array(FastCheck.nat({ max: 5 }), { minLength: 1, maxLength: 12 })],
    ([order]) =>
      Effect.promise(async () => {
        const gate = await gateOf()
        const proofs = await Promise.all([0, 1, 2, 3, 4, 5].map(() => key.proof("POST", URL_SEEN, { accessToken: token })))
        const used = new Set<number>()
        for (const which of order) {
          const verdict = await verdictOf(gate, dpopHeaders(proofs[which]!))
          expect(verdict._tag).toBe(used.has(which) ? "Refused" : "Authenticated")
          used.add(which)
        }
      }),
    { fastCheck: { numRuns: 40 } }
  )
})

describe("DPoP options", () => {
  it("refuses what cannot be served, at construction", () => {
    const problems: ReadonlyArray<readonly [string, () => unknown]> = [
      ["a symmetric algorithm", () => new JWTAuthProvider({ publicKey, algorithms: ["ES256"], dpop: { algorithms: ["HS256" as "ES256"] } })],
      ["maxAge 0", () => new JWTAuthProvider({ publicKey, algorithms: ["ES256"], dpop: { maxAge: 0 } })],
      ["another header", () => new JWTAuthProvider({ publicKey, algorithms: ["ES256"], headerName: "X-Token", dpop: {} })],
      ["a misspelled member", () => new JWTAuthProvider({ publicKey, algorithms: ["ES256"], dpop: { require: true } as never })]
    ]
    for (const [what, make] of problems) {
      expect(make, what).toThrow(ConfigurationError.ConfigurationError)
    }
    // Issuers asks no issuer's provider for proofs: an issuer's own `dpop` would go unused.
    const issuers = Effect.runSync(Effect.flip(Issuers.make({ issuers: [{ issuer: "https://as.example", jwt: { publicKey, dpop: {} } }] })))
    expect(issuers).toBeInstanceOf(ConfigurationError.ConfigurationError)
  })
})
