import { describe, expect, it } from "@effect/vitest"
import { AuthFailure, AuthProvider, ConfigurationError, HttpAnswer, Jwt, JWTAuthProvider } from "@mcpgate/auth-core"
import { FastCheck as fc } from "effect"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type { KeyObject } from "node:crypto"
import type { FailureTag, JwkObject } from "@mcpgate/testing/tokens"
import {
  b64url,
  BASE64URL,
  bearer,
  expectRefusal,
  forAll,
  handMade,
  INVALID_REQUEST,
  INVALID_TOKEN,
  makeKeys,
  rsaPair,
  NO_CREDENTIALS,
  NOW,
  NOW_MS,
  OTHER_SECRET_256,
  refusal,
  SECRET_256,
  SECRET_384,
  SECRET_512,
  secretOf,
  sign,
  signToken,
  unauthorized
} from "@mcpgate/testing/tokens"
import { thrownBy } from "@mcpgate/testing/thrownBy"
import { generateKeyPairSync } from "node:crypto"

const [keys, { privateKey: stranger }] = await Promise.all([makeKeys(), rsaPair()])
// jose refuses RSA under 2048 bits; node:crypto still makes such keys, so configuration must catch them.
const weakRsa = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey

type Algorithms = NonNullable<Jwt.Options["algorithms"]>

const withKid = (jwk: JwkObject, kid: string, extra: JwkObject = {}): JwkObject => ({ ...jwk, kid, ...extra })

/** A local JWK Set whose keys all have a kid. */
const JWKS = {
  keys: [
    withKid(keys.rsa.jwk, "rsa-1", { use: "sig" }),
    withKid(keys.p256.jwk, "ec-1"),
    withKid(keys.ed25519.jwk, "ed-1"),
    // an encryption key is not for verifying signatures (RFC 7517 4.2)
    withKid(keys.rsaOther.jwk, "enc-1", { use: "enc" })
  ]
}

/** The 401 challenge each kind of failure is answered with. */
const challengeFor = (tag: FailureTag): string =>
  tag === "MissingCredentials" ? NO_CREDENTIALS : tag === "MalformedRequest" ? INVALID_REQUEST : INVALID_TOKEN

describe("Jwt provider with public keys", () => {
  const cases: ReadonlyArray<{
    readonly alg: string
    readonly key: KeyObject
    readonly other: KeyObject
    readonly pem: string
    readonly jwk: JwkObject
    readonly algorithms?: Algorithms
  }> = [
    { alg: "RS256", key: keys.rsa.privateKey, other: keys.rsaOther.privateKey, pem: keys.rsa.pem, jwk: keys.rsa.jwk },
    {
      alg: "PS256",
      key: keys.rsa.privateKey,
      other: keys.rsaOther.privateKey,
      pem: keys.rsa.pem,
      jwk: keys.rsa.jwk,
      algorithms: ["PS256"]
    },
    { alg: "ES256", key: keys.p256.privateKey, other: keys.p256Other.privateKey, pem: keys.p256.pem, jwk: keys.p256.jwk },
    { alg: "ES384", key: keys.p384.privateKey, other: keys.p384Other.privateKey, pem: keys.p384.pem, jwk: keys.p384.jwk },
    {
      alg: "EdDSA",
      key: keys.ed25519.privateKey,
      other: keys.ed25519Other.privateKey,
      pem: keys.ed25519.pem,
      jwk: keys.ed25519.jwk
    }
  ]

  for (const { alg, algorithms, jwk, key, other, pem } of cases) {
    for (const [what, publicKey] of [["an SPKI PEM", pem], ["a JWK", jwk]] as const) {
      it.effect(`verifies an ${alg} token made by jose against ${what}, and refuses one of another key`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(NOW_MS)
          const provider = yield* Jwt.make({ publicKey, ...(algorithms ? { algorithms } : {}) })
          const claims = { iss: "https://idp.example", sub: "alice", azp: "web", scp: ["tools:call", "tools:list"] }
          const principal = yield* provider.authenticate(bearer(yield* sign({ alg, key, claims })))
          expect(principal.subject).toBe("alice")
          expect(principal.clientId).toBe("web")
          expect(principal.scopes).toStrictEqual(["tools:call", "tools:list"])
          expect(principal.expiresAt).toBe(NOW + 3600)
          expect(principal.claims).toStrictEqual({ ...claims, iat: NOW - 10, exp: NOW + 3600 })
          const forged = yield* sign({ alg, key: other, claims })
          expectRefusal(yield* refusal(provider, bearer(forged)), { tag: "InvalidCredentials", reason: "bad_signature" })
        }))
    }
  }

  it.effect("lets the algorithm follow the key when algorithms is omitted", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const rsa = yield* Jwt.make({ publicKey: keys.rsa.pem })
      yield* rsa.authenticate(bearer(yield* sign({ alg: "RS256", key: keys.rsa.privateKey })))
      for (const alg of ["PS256", "RS384"]) {
        const failure = yield* refusal(rsa, bearer(yield* sign({ alg, key: keys.rsa.privateKey })))
        expectRefusal(failure, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
      }
      const ec = yield* Jwt.make({ publicKey: keys.p256.jwk })
      const es512 = yield* refusal(ec, bearer(yield* sign({ alg: "ES384", key: keys.p384.privateKey })))
      expectRefusal(es512, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
      // a JWK that names its algorithm serves that one
      const pss = yield* Jwt.make({ publicKey: { ...keys.rsa.jwk, alg: "PS256" } })
      yield* pss.authenticate(bearer(yield* sign({ alg: "PS256", key: keys.rsa.privateKey })))
      const rs = yield* refusal(pss, bearer(yield* sign({ alg: "RS256", key: keys.rsa.privateKey })))
      expectRefusal(rs, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
    }))

  it.effect("verifies Ed25519, the fully-specified name, when allowed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* Jwt.make({ publicKey: keys.ed25519.pem, algorithms: ["Ed25519"] })
      yield* provider.authenticate(bearer(yield* sign({ alg: "Ed25519", key: keys.ed25519.privateKey })))
    }))

  it.effect("refuses an HS256 token keyed with the public key PEM as HMAC secret (algorithm confusion)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const payload = JSON.stringify({ sub: "admin", iat: NOW, exp: NOW + 3600 })
      const forgeries = [keys.rsa.pem, keys.rsa.pem.trim(), JSON.stringify(keys.rsa.jwk)].map((secret) =>
        handMade(JSON.stringify({ alg: "HS256", typ: "JWT" }), payload, secret)
      )
      const withKid = handMade(JSON.stringify({ alg: "HS256", kid: "rsa-1" }), payload, keys.rsa.pem)
      const providers = [
        yield* Jwt.make({ publicKey: keys.rsa.pem }),
        yield* Jwt.make({ publicKey: keys.rsa.jwk }),
        yield* Jwt.make({ jwks: JWKS }),
        yield* Jwt.make({ publicKey: keys.rsa.pem, algorithms: ["RS256", "PS256"] })
      ]
      for (const provider of providers) {
        for (const token of [...forgeries, withKid]) {
          expectRefusal(yield* refusal(provider, bearer(token)), { tag: "InvalidCredentials", reason: "alg_not_allowed" })
        }
      }
    }))

  it.effect("refuses a public-key token on an HMAC provider", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* Jwt.make({ secret: SECRET_256 })
      const failure = yield* refusal(provider, bearer(yield* sign({ alg: "RS256", key: keys.rsa.privateKey })))
      expectRefusal(failure, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
    }))
})

describe("Jwt provider with a local JWK Set", () => {
  const jwks = Effect.orDie(Jwt.make({ jwks: JWKS }))

  it.effect("verifies a token of each signing key by its kid, the algorithms following the keys", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* jwks
      const signed = [
        { alg: "RS256", key: keys.rsa.privateKey, kid: "rsa-1" },
        { alg: "ES256", key: keys.p256.privateKey, kid: "ec-1" },
        { alg: "EdDSA", key: keys.ed25519.privateKey, kid: "ed-1" }
      ]
      for (const { alg, key, kid } of signed) {
        const principal = yield* provider.authenticate(bearer(yield* sign({ alg, key, header: { kid }, claims: { sub: kid } })))
        expect(principal.subject).toBe(kid)
      }
      const ps = yield* refusal(provider, bearer(yield* sign({ alg: "PS256", key: keys.rsa.privateKey, header: { kid: "rsa-1" } })))
      expectRefusal(ps, { tag: "InvalidCredentials", reason: "alg_not_allowed" })
    }))

  it.effect("tries every key serving the alg for a token without kid", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const twoRsa = yield* Jwt.make({ jwks: { keys: [withKid(keys.rsaOther.jwk, "a"), withKid(keys.rsa.jwk, "b")] } })
      yield* twoRsa.authenticate(bearer(yield* sign({ alg: "RS256", key: keys.rsa.privateKey })))
      yield* twoRsa.authenticate(bearer(yield* sign({ alg: "RS256", key: keys.rsaOther.privateKey })))
      const neither = yield* refusal(twoRsa, bearer(yield* sign({ alg: "RS256", key: stranger })))
      expectRefusal(neither, { tag: "InvalidCredentials", reason: "bad_signature" })
    }))

  it.effect("refuses a token whose kid is unknown, or names a key that did not sign it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* jwks
      const unknown = yield* sign({ alg: "RS256", key: keys.rsa.privateKey, header: { kid: "rsa-2" } })
      expectRefusal(yield* refusal(provider, bearer(unknown)), { tag: "InvalidCredentials", reason: "unknown_kid" })
      const wrongKey = yield* sign({ alg: "RS256", key: keys.rsaOther.privateKey, header: { kid: "rsa-1" } })
      expectRefusal(yield* refusal(provider, bearer(wrongKey)), { tag: "InvalidCredentials", reason: "bad_signature" })
      // the encryption key was left out: its kid names nothing
      const enc = yield* sign({ alg: "RS256", key: keys.rsaOther.privateKey, header: { kid: "enc-1" } })
      expectRefusal(yield* refusal(provider, bearer(enc)), { tag: "InvalidCredentials", reason: "unknown_kid" })
    }))

  for (const kid of ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf", "prototype"]) {
    it.effect(`finds no key for kid ${JSON.stringify(kid)}: a Map, never a plain object`, () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* jwks
        // signed with a key of the set, so only the kid lookup stands between it and success
        const token = yield* sign({ alg: "RS256", key: keys.rsa.privateKey, header: { kid } })
        expectRefusal(yield* refusal(provider, bearer(token)), { tag: "InvalidCredentials", reason: "unknown_kid" })
        const hmac = handMade(JSON.stringify({ alg: "RS256", kid }), JSON.stringify({ sub: "x", exp: NOW + 60 }), "x")
        expectRefusal(yield* refusal(provider, bearer(hmac)), { tag: "InvalidCredentials", reason: "unknown_kid" })
      }))
  }
})

describe("configuration errors, at construction", () => {
  const pemBody = keys.rsa.pem.split("\n")[1]!
  const cases: ReadonlyArray<{
    readonly name: string
    readonly options: unknown
    readonly message: RegExp
    /** Text that must never appear in the error. */
    readonly secrets?: ReadonlyArray<string>
  }> = [
    { name: "a 31-byte secret for HS256", options: { secret: secretOf(31, "a") }, message: /31 bytes.*HS256 needs at least 32/, secrets: [secretOf(31, "a")] },
    {
      name: "a 47-byte secret for HS384",
      options: { secret: secretOf(47, "b"), algorithms: ["HS384"] },
      message: /47 bytes.*needs at least 48/,
      secrets: [secretOf(47, "b")]
    },
    {
      name: "a 63-byte secret for HS512",
      options: { secret: secretOf(63, "c"), algorithms: ["HS512"] },
      message: /63 bytes.*needs at least 64/,
      secrets: [secretOf(63, "c")]
    },
    {
      name: "a 48-byte secret for HS256 and HS512 together",
      options: { secret: SECRET_384, algorithms: ["HS256", "HS512"] },
      message: /48 bytes.*needs at least 64/,
      secrets: [SECRET_384]
    },
    { name: "an empty secret", options: { secret: "" }, message: /0 bytes/ },
    { name: "a secret that is a PEM public key", options: { secret: keys.rsa.pem }, message: /looks like a PEM or SSH key/, secrets: [pemBody] },
    {
      name: "a secret that is a PEM private key",
      options: { secret: keys.rsa.privatePem },
      message: /looks like a PEM or SSH key/,
      secrets: [keys.rsa.privatePem.split("\n")[1]!]
    },
    {
      name: "a secret that is an SSH public key",
      options: { secret: `ssh-ed25519 ${"A".repeat(68)} user@host` },
      message: /looks like a PEM or SSH key/,
      secrets: ["A".repeat(68)]
    },
    {
      name: "a secret mixing HS and RS algorithms",
      options: { secret: SECRET_512, algorithms: ["HS256", "RS256"] },
      message: /mixes HMAC and public-key algorithms/,
      secrets: [SECRET_512]
    },
    {
      name: "a public key mixing RS and HS algorithms",
      options: { publicKey: keys.rsa.pem, algorithms: ["RS256", "HS256"] },
      message: /mixes HMAC and public-key algorithms/
    },
    { name: "an unknown algorithm name", options: { secret: SECRET_256, algorithms: ["HS999"] }, message: /^Invalid JWT options:\n  - algorithms.0: "HS999" is not a supported algorithm; use HS256, HS384, HS512, RS256/, secrets: [SECRET_256] },
    { name: "the algorithm \"none\"", options: { secret: SECRET_256, algorithms: ["none"] }, message: /algorithms/, secrets: [SECRET_256] },
    { name: "an empty algorithm list", options: { secret: SECRET_256, algorithms: [] }, message: /algorithms/, secrets: [SECRET_256] },
    {
      name: "a secret with RS256",
      options: { secret: SECRET_256, algorithms: ["RS256"] },
      message: /a secret serves only HS256, HS384 or HS512/,
      secrets: [SECRET_256]
    },
    { name: "a public key with HS256", options: { publicKey: keys.rsa.pem, algorithms: ["HS256"] }, message: /algorithm confusion/ },
    { name: "a JWK Set with HS256", options: { jwks: JWKS, algorithms: ["HS256"] }, message: /algorithm confusion/ },
    {
      name: "two key sources at once",
      options: { secret: SECRET_256, publicKey: keys.rsa.pem },
      message: /give only one of secret, publicKey, jwks or jwksUrl \(got secret, publicKey\)/,
      secrets: [SECRET_256]
    },
    {
      name: "a secret and a jwksUrl",
      options: { secret: SECRET_256, jwksUrl: "https://idp.example/jwks.json" },
      message: /give only one/,
      secrets: [SECRET_256]
    },
    { name: "no key at all", options: {}, message: /give the verification key as one of secret, publicKey, jwks or jwksUrl/ },
    { name: "a headerName with a space", options: { secret: SECRET_256, headerName: "X API Key" }, message: /not a valid HTTP header name/, secrets: [SECRET_256] },
    { name: "a headerName with a colon", options: { secret: SECRET_256, headerName: "Authorization:" }, message: /not a valid HTTP header name/ },
    { name: "an empty headerName", options: { secret: SECRET_256, headerName: "" }, message: /not a valid HTTP header name/ },
    { name: "a non-ASCII headerName", options: { secret: SECRET_256, headerName: "X-Tōken" }, message: /not a valid HTTP header name/ },
    { name: "a clockTolerance of 301 s", options: { secret: SECRET_256, clockTolerance: 301 }, message: /clockTolerance is 301 s; at most 300 s/ },
    { name: "a clockTolerance of \"10m\"", options: { secret: SECRET_256, clockTolerance: "10m" }, message: /at most 300 s/ },
    { name: "a negative clockTolerance", options: { secret: SECRET_256, clockTolerance: -1 }, message: /clockTolerance/ },
    { name: "a maxTokenAge that is no duration", options: { secret: SECRET_256, maxTokenAge: "forever" }, message: /maxTokenAge.*not a duration/ },
    {
      name: "a misspelled option",
      options: { secret: SECRET_256, isuer: "https://issuer.example" },
      message: /isuer.*is unexpected/,
      secrets: [SECRET_256]
    },
    {
      name: "a misspelled secret option, holding the secret",
      options: { secert: SECRET_512 },
      message: /secert.*is unexpected/,
      secrets: [SECRET_512]
    },
    { name: "a secret that is not a string", options: { secret: 12345678901234567890 }, message: /secret must be a string/, secrets: ["12345678901234567890"] },
    {
      name: "a 1024-bit RSA public key (PEM)",
      options: { publicKey: weakRsa.export({ type: "spki", format: "pem" }) as string },
      message: /publicKey is a 1024-bit RSA key; RS\* and PS\* need at least 2048 bits/
    },
    {
      name: "a 1024-bit RSA public key in a JWK Set",
      options: { jwks: { keys: [{ ...weakRsa.export({ format: "jwk" }), kid: "weak" }] } },
      message: /jwks\.keys\[0\] is a 1024-bit RSA key/
    },
    { name: "a private key PEM as publicKey", options: { publicKey: keys.rsa.privatePem }, message: /publicKey is a private key/, secrets: [keys.rsa.privatePem.split("\n")[1]!] },
    { name: "a private JWK as publicKey", options: { publicKey: keys.p256.privateJwk }, message: /private key material/, secrets: [String(keys.p256.privateJwk["d"])] },
    { name: "a private JWK in a JWK Set", options: { jwks: { keys: [keys.ed25519.privateJwk] } }, message: /jwks\.keys\[0\] holds private key material/ },
    {
      name: "a symmetric JWK as publicKey",
      options: { publicKey: { kty: "oct", k: b64url(SECRET_256) } },
      message: /symmetric key/,
      secrets: [b64url(SECRET_256)]
    },
    { name: "a publicKey that is not a key", options: { publicKey: "not a key" }, message: /must be an SPKI PEM/ },
    { name: "a key that cannot verify the algorithms", options: { publicKey: keys.p384.pem, algorithms: ["ES256"] }, message: /no configured key can verify ES256/ },
    { name: "a JWK Set of encryption keys only", options: { jwks: { keys: [withKid(keys.rsa.jwk, "e", { use: "enc" })] } }, message: /no signing keys/ },
    { name: "a jwksUrl that is not http(s)", options: { jwksUrl: "file:///etc/jwks.json" }, message: /not an absolute http\(s\) URL/ },
    { name: "a relative resourceMetadata", options: { secret: SECRET_256, resourceMetadata: "/.well-known/oauth-protected-resource" }, message: /resourceMetadata/ },
    { name: "a realm with a line break", options: { secret: SECRET_256, realm: "a\r\nb" }, message: /realm must be printable ASCII/ }
  ]

  for (const { message, name, options, secrets = [] } of cases) {
    it.effect(`refuses ${name}: Jwt.make fails, the constructor throws`, () =>
      Effect.gen(function*() {
        const failure = yield* Effect.flip(Jwt.make(options as Jwt.Options))
        expect(failure).toBeInstanceOf(ConfigurationError.ConfigurationError)
        expect(failure._tag).toBe("ConfigurationError")
        expect(failure.message).toMatch(message)
        // every line says something to a user: no schema noise about optional fields
        expect(failure.message).not.toMatch(/Expected undefined/)
        const thrown = thrownBy(() => new JWTAuthProvider(options as Jwt.Options))
        expect(thrown).toBeInstanceOf(ConfigurationError.ConfigurationError)
        expect((thrown as Error).message).toBe(failure.message)
        for (const secret of secrets) {
          expect(secret.length).toBeGreaterThan(7)
          expect(failure.message).not.toContain(secret)
          expect(String(failure)).not.toContain(secret)
          expect(JSON.stringify(failure)).not.toContain(secret)
        }
      }))
  }

  it.effect("accepts the limits themselves: clockTolerance 300 s, secrets of exactly 32/48/64 bytes", () =>
    Effect.gen(function*() {
      yield* Jwt.make({ secret: SECRET_256, clockTolerance: 300 })
      yield* Jwt.make({ secret: SECRET_384, algorithms: ["HS384"] })
      yield* Jwt.make({ secret: SECRET_512, algorithms: ["HS256", "HS384", "HS512"] })
    }))

  it.effect("fails Jwt.layer at build time, not per request", () =>
    Effect.gen(function*() {
      const failure = yield* Effect.flip(Effect.provide(AuthProvider.AuthProvider, Jwt.layer({ secret: "short" })))
      expect(failure._tag).toBe("ConfigurationError")
      expect(failure.message).not.toContain("short")
    }))
})

describe("key rotation", () => {
  /** A real macrotask, so that a forked subscriber reaches its subscription before we go on. */
  const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 5)))
  const NEXT = secretOf(32, "next secret")
  const hsToken = (key: string) => sign({ alg: "HS256", key, claims: { sub: "alice" } })

  it.effect("replaces the secret through the Jwt tag: old tokens fail, new ones pass, stillValid turns false, changes emits", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const jwt = yield* Jwt.Jwt
      const auth = yield* AuthProvider.AuthProvider
      const old = yield* hsToken(SECRET_256)
      const fresh = yield* hsToken(NEXT)
      const principal = yield* auth.authenticate(bearer(old))
      expect(yield* auth.stillValid(principal)).toBe(true)
      expectRefusal(yield* Effect.flip(auth.authenticate(bearer(fresh))), { tag: "InvalidCredentials", reason: "bad_signature" })

      const changed = yield* Effect.fork(Stream.runHead(jwt.changes))
      yield* settle
      yield* jwt.updateKeys({ secret: NEXT })
      expect(yield* Fiber.join(changed)).toStrictEqual(Option.some(undefined))

      expectRefusal(yield* Effect.flip(auth.authenticate(bearer(old))), { tag: "InvalidCredentials", reason: "bad_signature" })
      const renewed = yield* auth.authenticate(bearer(fresh))
      expect(renewed.identity).toBe(principal.identity)
      expect(yield* auth.stillValid(principal)).toBe(false)
      expect(yield* auth.stillValid(renewed)).toBe(true)
    }).pipe(Effect.provide(Jwt.layer({ secret: SECRET_256 }))))

  it.effect("keeps the keys, and emits nothing, when the new ones are refused", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const jwt = yield* Jwt.Jwt
      const old = yield* hsToken(SECRET_256)
      const principal = yield* jwt.authenticate(bearer(old))
      const changes = yield* Effect.fork(Stream.runHead(jwt.changes))
      yield* settle
      const short = secretOf(20, "short")
      const failure = yield* Effect.flip(jwt.updateKeys({ secret: short }))
      expect(failure._tag).toBe("ConfigurationError")
      expect(failure.message).not.toContain(short)
      expect((yield* Effect.flip(jwt.updateKeys({ secret: SECRET_256, publicKey: keys.rsa.pem })))._tag).toBe("ConfigurationError")
      expect((yield* Effect.flip(jwt.updateKeys({ secrte: NEXT } as Jwt.KeyOptions))).message).toMatch(/secrte/)
      yield* jwt.authenticate(bearer(old))
      expect(yield* jwt.stillValid(principal)).toBe(true)
      yield* settle
      expect(Option.isNone(yield* Fiber.poll(changes))).toBe(true)
      // while a good rotation is seen at once
      yield* jwt.updateKeys({ secret: NEXT })
      expect(yield* Fiber.join(changes)).toStrictEqual(Option.some(undefined))
    }).pipe(Effect.provide(Jwt.layer({ secret: SECRET_256 }))))

  it.effect("switches from a secret to a public key, and from one JWK Set to another", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const jwt = yield* Jwt.Jwt
      const hs = yield* jwt.authenticate(bearer(yield* hsToken(SECRET_256)))
      yield* jwt.updateKeys({ jwks: { keys: [withKid(keys.rsa.jwk, "2025-01"), withKid(keys.rsaOther.jwk, "2025-02")] } })
      expect(yield* jwt.stillValid(hs)).toBe(false)
      expectRefusal(yield* refusal(jwt, bearer(yield* hsToken(SECRET_256))), { tag: "InvalidCredentials", reason: "alg_not_allowed" })
      const january = yield* jwt.authenticate(bearer(yield* sign({ alg: "RS256", key: keys.rsa.privateKey, header: { kid: "2025-01" } })))
      const february = yield* jwt.authenticate(bearer(yield* sign({ alg: "RS256", key: keys.rsaOther.privateKey, header: { kid: "2025-02" } })))
      // January's key is retired; February's stays
      yield* jwt.updateKeys({ jwks: { keys: [withKid(keys.rsaOther.jwk, "2025-02")] } })
      expect(yield* jwt.stillValid(january)).toBe(false)
      expect(yield* jwt.stillValid(february)).toBe(true)
      const retired = yield* sign({ alg: "RS256", key: keys.rsa.privateKey, header: { kid: "2025-01" } })
      expectRefusal(yield* refusal(jwt, bearer(retired)), { tag: "InvalidCredentials", reason: "unknown_kid" })
    }).pipe(Effect.provide(Jwt.layer({ secret: SECRET_256 }))))
})

const strict = Effect.runSync(Jwt.make({ secret: SECRET_256 }))
const bare = Effect.runSync(Jwt.make({ secret: SECRET_256, requireBearer: false }))
const jwksProvider = Effect.runSync(Jwt.make({ jwks: JWKS }))

/** Valid tokens, and the providers that accept them, for the tampering property. */
const tokensToTamper = [
  { name: "HS256", provider: strict, token: await signToken({ alg: "HS256", key: SECRET_256 }) },
  { name: "RS256 (publicKey)", provider: Effect.runSync(Jwt.make({ publicKey: keys.rsa.pem })), token: await signToken({ alg: "RS256", key: keys.rsa.privateKey }) },
  { name: "ES256 (JWK)", provider: Effect.runSync(Jwt.make({ publicKey: keys.p256.jwk })), token: await signToken({ alg: "ES256", key: keys.p256.privateKey }) },
  { name: "EdDSA (jwks)", provider: jwksProvider, token: await signToken({ alg: "EdDSA", key: keys.ed25519.privateKey, header: { kid: "ed-1" } }) }
]

describe("properties", () => {
  /** Runs `authenticate` and demands a typed 401 failure (a Fail, never a Die) with the exact JWT answer. */
  const expectTyped401 = (provider: Jwt.Service, headers: Parameters<Jwt.Service["authenticate"]>[0]) =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(provider.authenticate(headers))
      if (Exit.isSuccess(exit)) return expect.unreachable(`accepted ${JSON.stringify(headers)}`)
      expect(exit.cause._tag).toBe("Fail")
      const failure = Option.getOrThrow(Cause.failureOption(exit.cause))
      expect(failure._tag).not.toBe("KeySourceUnavailable")
      expect(HttpAnswer.fromFailure(failure)).toStrictEqual(unauthorized(challengeFor(failure._tag as FailureTag)))
      return failure
    })

  const latin1 = fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString("latin1"))
  const base64urlish = fc.string({ unit: fc.constantFrom(...BASE64URL, "."), maxLength: 200 })
  const anyValue = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc.fullUnicodeString(),
    latin1,
    base64urlish,
    fc.tuple(fc.constantFrom("Bearer ", "bearer ", "Bearer  "), fc.oneof(fc.string(), base64urlish, latin1)).map(([s, t]) => s + t)
  )

  it.effect("refuses any string as the header value with a typed 401 and the exact JWT body", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      yield* forAll(anyValue, (value) =>
        Effect.gen(function*() {
          yield* expectTyped401(strict, { authorization: value })
          yield* expectTyped401(bare, { authorization: value })
          yield* expectTyped401(strict, { authorization: `Bearer ${value}` })
          yield* expectTyped401(jwksProvider, { authorization: `Bearer ${value}` })
        }), 300)
    }))

  const jsonHeader = fc.record(
    {
      alg: fc.oneof(fc.constantFrom("HS256", "RS256", "EdDSA", "none", "HS512"), fc.jsonValue()),
      kid: fc.oneof(fc.string(), fc.jsonValue(), fc.constantFrom("rsa-1", "ed-1", "constructor", "__proto__")),
      crit: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
      b64: fc.oneof(fc.boolean(), fc.jsonValue()),
      typ: fc.jsonValue()
    },
    { requiredKeys: [] }
  )

  it.effect("refuses any three segments of base64url JSON with a typed 401", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      yield* forAll(fc.tuple(jsonHeader, fc.jsonValue(), base64urlish), ([header, payload, signature]) => {
        const token = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload) ?? "null")}.${signature}`
        return Effect.zip(expectTyped401(strict, bearer(token)), expectTyped401(jwksProvider, bearer(token)))
      }, 200)
    }))

  /** The JSON text of a time claim: mostly in range, else any double, huge, or not a number at all. */
  const timeValue = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: NOW - 7200, max: NOW + 7200 }).map(String) },
    { weight: 1, arbitrary: fc.double().map((value) => (Number.isFinite(value) ? String(value) : "null")) },
    { weight: 1, arbitrary: fc.constantFrom("1e400", "-1e400", "1e308", "0.5", "-0") },
    { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value) ?? "null") }
  )
  const jsonText = (arbitrary: fc.Arbitrary<unknown>) => arbitrary.map((value) => JSON.stringify(value) ?? "null")
  /** A claim's JSON text, or undefined when the claim is left out. */
  const claim = (arbitrary: fc.Arbitrary<string>, freq: number) => fc.option(arbitrary, { freq, nil: undefined })
  const claimsText = fc.record({
    sub: claim(jsonText(fc.oneof(fc.string(), fc.jsonValue())), 2),
    exp: claim(timeValue, 10),
    nbf: claim(timeValue, 2),
    iat: claim(timeValue, 2),
    aud: claim(jsonText(fc.oneof(fc.string(), fc.array(fc.string()), fc.jsonValue())), 1),
    scope: claim(jsonText(fc.jsonValue()), 2),
    scp: claim(jsonText(fc.jsonValue()), 2)
  }).map((claims) =>
    `{${Object.entries(claims).flatMap(([name, value]) => (value === undefined ? [] : [`"${name}":${value}`])).join(",")}}`
  )

  it.effect("accepts only in-date claims signed with the right key, and refuses the rest with a typed 401", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      let accepted = 0
      yield* forAll(fc.tuple(claimsText, fc.jsonValue()), ([claims, extra]) =>
        Effect.gen(function*() {
          const token = handMade(JSON.stringify({ extra, alg: "HS256" }), claims, SECRET_256)
          const exit = yield* Effect.exit(strict.authenticate(bearer(token)))
          if (Exit.isFailure(exit)) return yield* expectTyped401(strict, bearer(token))
          accepted++
          const { exp, iat, nbf } = exit.value.claims ?? {}
          expect(typeof exp === "number" && Number.isFinite(exp) && exp > NOW - 30).toBe(true)
          for (const time of [iat, nbf]) {
            expect(time === undefined || (typeof time === "number" && Number.isFinite(time) && time <= NOW + 30)).toBe(true)
          }
          expect(exit.value.claims?.["aud"]).toBeUndefined()
          expect(exit.value.expiresAt).toBe(exp)
        }), 300)
      // the property is not vacuous: some samples were good tokens
      expect(accepted).toBeGreaterThan(0)
    }))

  it.effect("accepts each of the tokens the tampering property starts from", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      for (const { provider, token } of tokensToTamper) yield* provider.authenticate(bearer(token))
    }))

  it.effect("refuses a valid token with any single character replaced by another base64url one", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const sample = fc.record({ which: fc.nat(), position: fc.nat(), shift: fc.integer({ min: 1, max: 63 }) })
      yield* forAll(sample, ({ position, shift, which }) =>
        Effect.gen(function*() {
          const { provider, token } = tokensToTamper[which % tokensToTamper.length]!
          const positions = [...token].flatMap((char, index) => (char === "." ? [] : [index]))
          const at = positions[position % positions.length]!
          const replacement = BASE64URL[(BASE64URL.indexOf(token[at]!) + shift) % 64]!
          const tampered = token.slice(0, at) + replacement + token.slice(at + 1)
          expect(tampered).not.toBe(token)
          const failure = yield* expectTyped401(provider, bearer(tampered))
          expect(failure._tag).toBe("InvalidCredentials")
        }), 300)
    }))

  it.effect("calls a segment malformed exactly when base64url would not spell its bytes back the same way", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const { provider, token } = tokensToTamper[0]!
      const segments = token.split(".")
      let malformed = 0
      // Every last character of the payload: canonical ones reach the signature check (and fail
      // it, the bytes being others), the rest are refused before any crypto. (A header changed
      // so is no JSON; the signature has its own test below.)
      for (const index of [1]) {
        for (const last of BASE64URL) {
          const segment = segments[index]!.slice(0, -1) + last
          if (segment === segments[index]) continue
          const tampered = segments.map((s, i) => (i === index ? segment : s)).join(".")
          const canonical = Buffer.from(segment, "base64url").toString("base64url") === segment
          const reason = AuthFailure.primaryOf(yield* refusal(provider, bearer(tampered))).reason
          if (canonical) expect(reason).toBe("bad_signature")
          else {
            expect(reason).toBe("malformed_token")
            malformed++
          }
        }
      }
      expect(malformed).toBeGreaterThan(0)
    }))

  it.effect("refuses a signature re-spelt with other unused trailing bits (base64url must be canonical)", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      let respelt = 0
      for (const { provider, token } of tokensToTamper) {
        const signature = token.slice(token.lastIndexOf(".") + 1)
        const unused = [0, 0, 4, 2][signature.length % 4]!
        const last = BASE64URL.indexOf(signature.at(-1)!)
        for (let bits = 1; bits < 1 << unused; bits++) {
          const tampered = token.slice(0, -1) + BASE64URL[last ^ bits]
          // the same signature bytes, spelt differently
          const bytes = (jws: string) => Buffer.from(jws.slice(jws.lastIndexOf(".") + 1), "base64url")
          expect(bytes(tampered)).toStrictEqual(bytes(token))
          expectRefusal(yield* refusal(provider, bearer(tampered)), { tag: "InvalidCredentials", reason: "malformed_token" })
          respelt++
        }
      }
      expect(respelt).toBeGreaterThan(0)
    }))

  type Resign = (claims: Record<string, unknown>) => Promise<string>
  const times = { iat: NOW - 10, exp: NOW + 600 }
  const resignCases: ReadonlyArray<{ provider: Jwt.Service; right: Resign; wrong: ReadonlyArray<Resign> }> = [
    {
      provider: strict,
      right: (claims) => signToken({ alg: "HS256", key: SECRET_256, claims, ...times }),
      wrong: [
        (claims) => signToken({ alg: "HS256", key: OTHER_SECRET_256, claims, ...times }),
        (claims) => signToken({ alg: "HS384", key: SECRET_256, claims, ...times }),
        (claims) => signToken({ alg: "HS512", key: SECRET_256, claims, ...times }),
        (claims) => signToken({ alg: "RS256", key: keys.rsa.privateKey, claims, ...times }),
        async (claims) => handMade("{\"alg\":\"HS256\"}", JSON.stringify({ ...claims, ...times }), SECRET_256.slice(0, 31))
      ]
    },
    {
      provider: Effect.runSync(Jwt.make({ publicKey: keys.rsa.pem })),
      right: (claims) => signToken({ alg: "RS256", key: keys.rsa.privateKey, claims, ...times }),
      wrong: [
        (claims) => signToken({ alg: "RS256", key: keys.rsaOther.privateKey, claims, ...times }),
        (claims) => signToken({ alg: "PS256", key: keys.rsa.privateKey, claims, ...times }),
        (claims) => signToken({ alg: "RS512", key: keys.rsa.privateKey, claims, ...times }),
        (claims) => signToken({ alg: "ES256", key: keys.p256.privateKey, claims, ...times }),
        async (claims) => handMade("{\"alg\":\"HS256\"}", JSON.stringify({ ...claims, ...times }), keys.rsa.pem)
      ]
    }
  ]

  it.effect("refuses a valid token's claims re-signed with another key or another algorithm", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const sample = fc.record({
        which: fc.nat(),
        variant: fc.nat(),
        sub: fc.string({ minLength: 1, maxLength: 30 }),
        scopes: fc.array(fc.stringMatching(/^[a-z:]{1,12}$/), { maxLength: 4 }),
        secret: fc.uint8Array({ minLength: 32, maxLength: 64 })
      })
      yield* forAll(sample, ({ scopes, secret, sub, variant, which }) =>
        Effect.gen(function*() {
          const { provider, right, wrong } = resignCases[which % resignCases.length]!
          const claims = { sub, scope: scopes.join(" ") }
          // the claims as such are good
          const principal = yield* provider.authenticate(bearer(yield* Effect.promise(() => right(claims))))
          expect(principal.subject).toBe(sub)
          expect(principal.scopes).toStrictEqual(scopes)
          const resigners = [...wrong, (claims: Record<string, unknown>) => signToken({ alg: "HS256", key: secret, claims, ...times })]
          const token = yield* Effect.promise(() => resigners[variant % resigners.length]!(claims))
          const failure = yield* expectTyped401(provider, bearer(token))
          expect(failure._tag).toBe("InvalidCredentials")
          expect(["bad_signature", "alg_not_allowed"]).toContain(AuthFailure.primaryOf(failure).reason)
        }), 150)
    }))
})

describe("the Promise API with public keys", () => {
  it("resolves, never rejects, for tokens of every kind against a JWK Set", async () => {
    const provider = new JWTAuthProvider({ jwks: JWKS })
    try {
      const now = Math.floor(Date.now() / 1000)
      const good = await signToken({ alg: "ES256", key: keys.p256.privateKey, header: { kid: "ec-1" }, now })
      expect(await provider.check(bearer(good))).toMatchObject({ ok: true, principal: { subject: "user-1" } })
      const unknown = await signToken({ alg: "ES256", key: keys.p256.privateKey, header: { kid: "__proto__" }, now })
      expect(await provider.check(bearer(unknown))).toStrictEqual({ ok: false, ...unauthorized(INVALID_TOKEN), reason: "unknown_kid" })
    } finally {
      await provider.dispose()
    }
  })
})
