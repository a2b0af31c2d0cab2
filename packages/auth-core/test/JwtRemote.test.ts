import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { AuthFailure, HttpAnswer, Jwt, JWTAuthProvider } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import type { JwkObject } from "@mcpgate/testing/tokens"
import {
  bearer,
  expectRefusal,
  makeKeys,
  rsaPair,
  NO_CREDENTIALS,
  NOW_MS,
  refusal,
  SECRET_256,
  sign,
  signToken,
  UNAVAILABLE
} from "@mcpgate/testing/tokens"

const [keys, { privateKey: strangerRsa }] = await Promise.all([makeKeys(), rsaPair()])

const withKid = (jwk: JwkObject, kid: string, alg: string): JwkObject => ({ ...jwk, kid, alg, use: "sig" })

/** What each path of the test key server answers. */
const routes: Record<string, (res: ServerResponse, hit: number) => void> = {
  "/jwks.json": (res) => json(res, { keys: [withKid(keys.rsa.jwk, "rsa-1", "RS256"), withKid(keys.p256.jwk, "ec-1", "ES256")] }),
  "/two-rsa.json": (res) => json(res, { keys: [keys.rsaOther.jwk, keys.rsa.jwk] }),
  "/error": (res) => res.writeHead(500, { "content-type": "text/plain" }).end("boom"),
  "/not-json": (res) => res.writeHead(200, { "content-type": "application/json" }).end("<html>"),
  "/not-a-set": (res) => json(res, { hello: "world" }),
  // answers nothing, ever: the connection is closed in afterAll
  "/hang": () => {},
  // fails once, then serves the set
  "/flaky": (res, hit) => (hit === 1 ? res.writeHead(503).end() : routes["/jwks.json"]!(res, hit))
}

const json = (res: ServerResponse, body: unknown) =>
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body))

const hits = new Map<string, number>()
const hitsOf = (path: string) => hits.get(path) ?? 0

let server: Server
let base = ""
/** A port nothing listens on: a key source that is down. */
let closedPort = 0

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? "/"
    const hit = hitsOf(path) + 1
    hits.set(path, hit)
    const route = routes[path]
    if (route === undefined) res.writeHead(404).end()
    else route(res, hit)
  })
  base = `http://127.0.0.1:${await listen(server)}`
  const down = createServer()
  closedPort = await listen(down)
  await new Promise((resolve) => down.close(resolve))
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

const remote = (path: string, options: Omit<Jwt.Options, "jwksUrl"> = {}) =>
  Effect.orDie(Jwt.make({ jwksUrl: `${base}${path}`, algorithms: ["RS256", "ES256"], ...options }))

const rsaToken = (kid?: string) =>
  sign({ alg: "RS256", key: keys.rsa.privateKey, ...(kid === undefined ? {} : { header: { kid } }), claims: { sub: "alice" } })

/** Asserts a 503 of an unreachable key source, with its exact answer. */
const expectUnavailable = (failure: AuthFailure.AuthFailure) => {
  expect(failure._tag).toBe("KeySourceUnavailable")
  expect(AuthFailure.primaryOf(failure).reason).toBe("key_source_unavailable")
  expect(AuthFailure.isUnavailable(failure)).toBe(true)
  expect(HttpAnswer.fromFailure(failure)).toStrictEqual(UNAVAILABLE)
}

describe("Jwt provider with a remote JWKS (jwksUrl)", () => {
  it.effect("verifies tokens whose kid names a key of the served set", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/jwks.json")
      const principal = yield* provider.authenticate(bearer(yield* rsaToken("rsa-1")))
      expect(principal.subject).toBe("alice")
      const ec = yield* sign({ alg: "ES256", key: keys.p256.privateKey, header: { kid: "ec-1" }, claims: { sub: "bob" } })
      expect((yield* provider.authenticate(bearer(ec))).subject).toBe("bob")
      expect(yield* provider.stillValid(principal)).toBe(true)
    }))

  it.effect("fetches the set once and answers later tokens from its cache", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/jwks.json")
      const before = hitsOf("/jwks.json")
      for (let i = 0; i < 3; i++) yield* provider.authenticate(bearer(yield* rsaToken("rsa-1")))
      expect(hitsOf("/jwks.json") - before).toBe(1)
    }))

  it.effect("refuses a token whose kid is not in the set: 401 unknown_kid", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/jwks.json")
      for (const kid of ["rsa-2", "constructor", "__proto__"]) {
        expectRefusal(yield* refusal(provider, bearer(yield* rsaToken(kid))), { tag: "InvalidCredentials", reason: "unknown_kid" })
      }
    }))

  it.effect("refuses a token signed by a key outside the set under a known kid: 401 bad_signature", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/jwks.json")
      const forged = yield* sign({ alg: "RS256", key: keys.rsaOther.privateKey, header: { kid: "rsa-1" } })
      expectRefusal(yield* refusal(provider, bearer(forged)), { tag: "InvalidCredentials", reason: "bad_signature" })
    }))

  it.effect("tries each matching key for a token without kid", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/two-rsa.json")
      yield* provider.authenticate(bearer(yield* rsaToken()))
      yield* provider.authenticate(bearer(yield* sign({ alg: "RS256", key: keys.rsaOther.privateKey })))
      const stranger = yield* sign({ alg: "RS256", key: strangerRsa })
      expectRefusal(yield* refusal(provider, bearer(stranger)), { tag: "InvalidCredentials", reason: "bad_signature" })
      const ec = yield* sign({ alg: "ES256", key: keys.p256.privateKey })
      expectRefusal(yield* refusal(provider, bearer(ec)), { tag: "InvalidCredentials", reason: "no_matching_key" })
    }))

  it.effect("allows RS256 only when algorithms is omitted, and refuses other algs before any fetch", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* Effect.orDie(Jwt.make({ jwksUrl: `${base}/jwks.json` }))
      const before = hitsOf("/jwks.json")
      const ec = yield* sign({ alg: "ES256", key: keys.p256.privateKey, header: { kid: "ec-1" } })
      expectRefusal(yield* refusal(provider, bearer(ec)), { tag: "InvalidCredentials", reason: "alg_not_allowed" })
      const hs = yield* sign({ alg: "HS256", key: SECRET_256, header: { kid: "rsa-1" } })
      expectRefusal(yield* refusal(provider, bearer(hs)), { tag: "InvalidCredentials", reason: "alg_not_allowed" })
      expect(hitsOf("/jwks.json")).toBe(before)
      yield* provider.authenticate(bearer(yield* rsaToken("rsa-1")))
      expect(hitsOf("/jwks.json")).toBe(before + 1)
    }))

  it.effect("refuses huge and malformed tokens with a 401 before any fetch", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/jwks.json")
      const before = hitsOf("/jwks.json")
      const huge = `${"a".repeat(4000)}.${"b".repeat(4000)}.${"c".repeat(200)}`
      expectRefusal(yield* refusal(provider, bearer(huge)), { tag: "InvalidCredentials", reason: "token_too_large" })
      expectRefusal(yield* refusal(provider, bearer("a.b.c")), { tag: "InvalidCredentials", reason: "malformed_token" })
      expect(hitsOf("/jwks.json")).toBe(before)
    }))
})

describe("Jwt provider when the remote JWKS is unreachable", () => {
  const sources = [
    { name: "is down (connection refused)", url: () => `http://127.0.0.1:${closedPort}/jwks.json` },
    { name: "answers 500", url: () => `${base}/error` },
    { name: "answers a body that is not JSON", url: () => `${base}/not-json` },
    { name: "answers JSON that is not a key set", url: () => `${base}/not-a-set` }
  ]
  for (const { name, url } of sources) {
    it.effect(`answers 503 "Authentication unavailable" when the key source ${name}`, () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(NOW_MS)
        const provider = yield* Jwt.make({ jwksUrl: url() })
        expectUnavailable(yield* refusal(provider, bearer(yield* rsaToken("rsa-1"))))
        // and again on the next request: a failure is not cached as an empty set
        expectUnavailable(yield* refusal(provider, bearer(yield* rsaToken())))
      }))
  }

  it.effect("answers 503 when the key source hangs beyond jwksTimeout, and does not wait longer", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/hang", { jwksTimeout: 0.2 })
      const token = yield* rsaToken("rsa-1")
      const started = Date.now()
      expectUnavailable(yield* refusal(provider, bearer(token)))
      const waited = Date.now() - started
      expect(waited).toBeGreaterThanOrEqual(150)
      expect(waited).toBeLessThan(2000)
      expect(hitsOf("/hang")).toBeGreaterThan(0)
    }))

  it.effect("still answers 401, not 503, for what is wrong with the request itself", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* Jwt.make({ jwksUrl: `http://127.0.0.1:${closedPort}/jwks.json` })
      expectRefusal(yield* refusal(provider, {}), { tag: "MissingCredentials", reason: "missing", challenge: NO_CREDENTIALS })
      expectRefusal(yield* refusal(provider, bearer("x".repeat(9000))), { tag: "InvalidCredentials", reason: "token_too_large" })
      expectRefusal(yield* refusal(provider, bearer("not-a-jwt")), { tag: "InvalidCredentials", reason: "malformed_token" })
      const hs = yield* sign({ alg: "HS256", key: SECRET_256 })
      expectRefusal(yield* refusal(provider, bearer(hs)), { tag: "InvalidCredentials", reason: "alg_not_allowed" })
    }))

  it.effect("recovers as soon as the key source answers again", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(NOW_MS)
      const provider = yield* remote("/flaky")
      const token = yield* rsaToken("rsa-1")
      expectUnavailable(yield* refusal(provider, bearer(token)))
      expect((yield* provider.authenticate(bearer(token))).subject).toBe("alice")
    }))

  it("resolves the Promise API to the exact 503, never rejecting", async () => {
    const provider = new JWTAuthProvider({ jwksUrl: `http://127.0.0.1:${closedPort}/jwks.json`, jwksTimeout: 1 })
    try {
      const token = await signToken({ alg: "RS256", key: keys.rsa.privateKey, header: { kid: "rsa-1" }, now: Math.floor(Date.now() / 1000) })
      expect(await provider.check(bearer(token))).toStrictEqual({ ok: false, ...UNAVAILABLE, reason: "key_source_unavailable" })
    } finally {
      await provider.dispose()
    }
  })
})
