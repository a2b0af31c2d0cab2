import { describe, expect, it, layer } from "@effect/vitest"
import { APIKeyAuthProvider, ApiKey, AuthFailure, AuthProvider, ConfigurationError, HttpAnswer } from "@mcpgate/auth-core"
import type { Credentials, Principal } from "@mcpgate/auth-core"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { vi } from "vitest"
import { casingOf, fingerprint, KEY_ONE, KEY_SIXTEEN, KEY_THREE, KEY_TWO, sha256Hex } from "@mcpgate/testing/apiKeys"
import { apiKey401 } from "@mcpgate/testing/contract"
import { thrownBy } from "@mcpgate/testing/thrownBy"

// Counts the library's hashing and comparisons, to show the cost of a lookup does not
// depend on the number of keys. Both functions keep their real behaviour.
// The core finds `node:crypto` at run time (`process.getBuiltinModule`, see
// src/internal/platform.ts), not by an import a mock could replace: its functions are watched
// on the module object itself.
const crypto = process.getBuiltinModule("node:crypto")
vi.spyOn(crypto, "hash")
vi.spyOn(crypto, "timingSafeEqual")

const HOW_TO_MAKE_A_KEY = "randomBytes(32).toString('base64url')"

const authenticate = (request: Credentials.RequestHeaders) =>
  Effect.flatMap(AuthProvider.AuthProvider, (provider) => provider.authenticate(request))

/** The failure of a request that must be refused. */
const refuse = (request: Credentials.RequestHeaders) => Effect.flip(authenticate(request))

/** The exact HTTP answer to a request that must be refused. */
const answerTo = (request: Credentials.RequestHeaders) => Effect.map(refuse(request), HttpAnswer.fromFailure)

/** The principal of an unlabelled key without scopes or expiry (contract section 5). */
const plainPrincipal = (key: string) => ({
  provider: "api-key",
  subject: fingerprint(key),
  clientId: fingerprint(key),
  scopes: [],
  expiresAt: undefined,
  keyLabel: undefined
})

/** The fields of a principal that the contract names, without the opaque identity and key id. */
const contractFields = ({ identity: _identity, keyId: _keyId, credentialHeader: _header, ...rest }: Principal.Principal) => rest

/** Builds a Layer in a scope of its own, as a server does at startup. */
const buildLayer = <A, E>(self: Layer.Layer<A, E>) => Effect.scoped(Layer.build(self))

const configWith = (entries: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

// ---------------------------------------------------------------------------------------
// The same core behaviour, whichever way the provider is built.
// ---------------------------------------------------------------------------------------

const coreSuite = (
  name: string,
  headerName: string,
  providerLayer: Layer.Layer<AuthProvider.AuthProvider | ApiKey.ApiKey, unknown>
) =>
  layer(providerLayer)(name, (it) => {
    const lower = headerName.toLowerCase()

    it.effect("authenticates each configured key, as the Principal of section 5", () =>
      Effect.gen(function*() {
        for (const key of [KEY_ONE, KEY_TWO]) {
          const principal = yield* authenticate({ [headerName]: key })
          expect(contractFields(principal)).toEqual(plainPrincipal(key))
          expect(principal.subject).toMatch(/^[0-9a-f]{8}$/)
        }
      }))

    it.effect("gives the same identity to the same key, and different ones to different keys", () =>
      Effect.gen(function*() {
        const one = yield* authenticate({ [headerName]: KEY_ONE })
        const again = yield* authenticate({ [lower]: KEY_ONE })
        const two = yield* authenticate({ [headerName]: KEY_TWO })
        expect(again.identity).toBe(one.identity)
        expect(again.keyId).toBe(one.keyId)
        expect(two.identity).not.toBe(one.identity)
        expect(two.keyId).not.toBe(one.keyId)
        for (const principal of [one, two]) {
          expect(JSON.stringify(principal)).not.toContain(KEY_ONE)
          expect(JSON.stringify(principal)).not.toContain(KEY_TWO)
        }
      }))

    it.effect("matches the header name case-insensitively, in every request shape", () =>
      Effect.gen(function*() {
        const requests: ReadonlyArray<Credentials.RequestHeaders> = [
          { [headerName]: KEY_ONE },
          { [lower]: KEY_ONE },
          { [headerName.toUpperCase()]: KEY_ONE },
          new Headers({ [headerName]: KEY_ONE }),
          { headersDistinct: { [lower]: [KEY_ONE] } }
        ]
        for (const request of requests) {
          expect(contractFields(yield* authenticate(request))).toEqual(plainPrincipal(KEY_ONE))
        }
      }))

    it.effect("refuses a missing key: MissingCredentials, the exact 401", () =>
      Effect.gen(function*() {
        expect(yield* refuse({})).toMatchObject({ _tag: "MissingCredentials", provider: "api-key", reason: "missing" })
        expect(yield* answerTo({})).toStrictEqual(apiKey401(headerName))
        expect(yield* answerTo(new Headers())).toStrictEqual(apiKey401(headerName))
        expect(yield* answerTo({ headersDistinct: {} })).toStrictEqual(apiKey401(headerName))
      }))

    it.effect("refuses an empty key: MalformedRequest(empty_header), the exact 401", () =>
      Effect.gen(function*() {
        expect(yield* refuse({ [headerName]: "" })).toMatchObject({
          _tag: "MalformedRequest",
          provider: "api-key",
          reason: "empty_header"
        })
        expect(yield* answerTo({ [headerName]: "" })).toStrictEqual(apiKey401(headerName))
      }))

    it.effect("refuses duplicate header lines, even of valid keys: MalformedRequest(duplicate_header)", () =>
      Effect.gen(function*() {
        const duplicates: ReadonlyArray<Credentials.RequestHeaders> = [
          { [lower]: [KEY_ONE, KEY_TWO] },
          { [lower]: [KEY_ONE, KEY_ONE] },
          { [headerName]: KEY_ONE, [headerName.toUpperCase()]: KEY_TWO },
          { headersDistinct: { [lower]: [KEY_ONE, KEY_TWO] } }
        ]
        for (const request of duplicates) {
          expect(yield* refuse(request)).toMatchObject({
            _tag: "MalformedRequest",
            provider: "api-key",
            reason: "duplicate_header"
          })
          expect(yield* answerTo(request)).toStrictEqual(apiKey401(headerName))
        }
      }))

    it.effect("refuses the joined value a Fetch Headers makes of duplicate lines", () =>
      Effect.gen(function*() {
        const headers = new Headers()
        headers.append(headerName, KEY_ONE)
        headers.append(headerName, KEY_TWO)
        expect(yield* answerTo(headers)).toStrictEqual(apiKey401(headerName))
      }))

    it.effect("refuses a wrong key, however near the right one: InvalidCredentials(unknown_key)", () =>
      Effect.gen(function*() {
        const wrong = [
          "mcp_live_0000000000000000wrong",
          KEY_ONE + "x",
          KEY_ONE.slice(0, -1),
          KEY_ONE.toUpperCase(),
          ` ${KEY_ONE}`,
          `${KEY_ONE},${KEY_TWO}`,
          sha256Hex(KEY_ONE)
        ]
        for (const key of wrong) {
          expect(yield* refuse({ [headerName]: key })).toMatchObject({
            _tag: "InvalidCredentials",
            provider: "api-key",
            reason: "unknown_key"
          })
          expect(yield* answerTo({ [headerName]: key })).toStrictEqual(apiKey401(headerName))
        }
      }))

    it.effect("names an unknown key by nothing derived from it: no digest, no fingerprint, no prefix", () =>
      Effect.gen(function*() {
        const wrongKey = "mcp_live_0000000000000000wrong"
        const failure = yield* refuse({ [headerName]: wrongKey })
        expect(AuthFailure.primaryOf(failure).reason).toBe("unknown_key")
        expect(AuthFailure.primaryOf(failure).keyLabel).toBeUndefined()
        const text = JSON.stringify(failure)
        expect(text).not.toContain(wrongKey)
        expect(text).not.toContain(fingerprint(wrongKey))
        expect(text).not.toContain(sha256Hex(wrongKey).slice(0, 6))
      }))

    it.effect("does not read Authorization: Bearer <key> unless allowBearer is set", () =>
      Effect.gen(function*() {
        const request = { authorization: `Bearer ${KEY_ONE}` }
        expect(yield* refuse(request)).toMatchObject({ _tag: "MissingCredentials", reason: "missing" })
        expect(yield* answerTo(request)).toStrictEqual(apiKey401(headerName))
      }))

    it.effect("reads keys from the configured header only: not the URL, a cookie or another header", () =>
      Effect.gen(function*() {
        const other = headerName === "X-API-Key" ? "x-team-key" : "x-api-key"
        const nodeRequest = {
          url: `/mcp?api_key=${KEY_ONE}&${lower}=${KEY_ONE}`,
          headersDistinct: {
            cookie: [`${lower}=${KEY_ONE}`],
            "api-key": [KEY_ONE],
            [other]: [KEY_ONE],
            [`${lower}-2`]: [KEY_ONE]
          }
        }
        expect(yield* refuse(nodeRequest)).toMatchObject({ _tag: "MissingCredentials", reason: "missing" })
        expect(yield* answerTo(nodeRequest)).toStrictEqual(apiKey401(headerName))
      }))
  })

coreSuite("ApiKey.layer, default header", "X-API-Key", ApiKey.layer({ keys: [KEY_ONE, KEY_TWO] }))

coreSuite(
  "ApiKey.layerConfig, default header",
  "X-API-Key",
  ApiKey.layerConfig().pipe(Layer.provide(configWith({ MCP_API_KEYS: `${KEY_ONE},${KEY_TWO}` })))
)

coreSuite(
  "ApiKey.layer, custom header",
  "X-Team-Key",
  ApiKey.layer({ keys: [KEY_ONE, KEY_TWO], headerName: "X-Team-Key" })
)

coreSuite(
  "ApiKey.layerConfig, custom header",
  "X-Team-Key",
  ApiKey.layerConfig().pipe(
    Layer.provide(configWith({ MCP_API_KEYS: `${KEY_ONE}, ${KEY_TWO}`, MCP_API_KEY_HEADER: "X-Team-Key" }))
  )
)

// ---------------------------------------------------------------------------------------

describe("ApiKey", () => {
  describe("entries: labels, scopes, digests, expiry", () => {
    it.effect("names a labelled key by its label, with its scopes", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({
          keys: [{ key: KEY_ONE, label: "deploy-bot", scopes: ["tools:read", "tools:write"] }, KEY_TWO]
        })
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_ONE }))).toEqual({
          provider: "api-key",
          subject: "deploy-bot",
          clientId: "deploy-bot",
          scopes: ["tools:read", "tools:write"],
          expiresAt: undefined,
          keyLabel: "deploy-bot"
        })
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_TWO }))).toEqual(plainPrincipal(KEY_TWO))
      }))

    it.effect("takes keys as Redacted values", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({
          keys: [Redacted.make(KEY_ONE), { key: Redacted.make(KEY_TWO), label: "redacted" }]
        })
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_ONE }))).toEqual(plainPrincipal(KEY_ONE))
        expect((yield* provider.authenticate({ "x-api-key": KEY_TWO })).keyLabel).toBe("redacted")
      }))

    it.effect("matches a { sha256 } entry, the lower-case hex digest of the key's UTF-8 bytes, to the key", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({
          keys: [{ sha256: sha256Hex(KEY_ONE), label: "ci", scopes: ["tools:read"] }, { sha256: sha256Hex(KEY_TWO) }]
        })
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_ONE }))).toEqual({
          provider: "api-key",
          subject: "ci",
          clientId: "ci",
          scopes: ["tools:read"],
          expiresAt: undefined,
          keyLabel: "ci"
        })
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_TWO }))).toEqual(plainPrincipal(KEY_TWO))
        expect(yield* Effect.flip(provider.authenticate({ "x-api-key": KEY_THREE }))).toMatchObject({
          reason: "unknown_key"
        })
        // The digest itself is not a key.
        expect(yield* Effect.flip(provider.authenticate({ "x-api-key": sha256Hex(KEY_ONE) }))).toMatchObject({
          reason: "unknown_key"
        })
      }))

    it.effect("gives a { sha256 } entry the same principal as the plaintext key it stands for", () =>
      Effect.gen(function*() {
        const fromKey = yield* ApiKey.make({ keys: [KEY_ONE] })
        const fromDigest = yield* ApiKey.make({ keys: [{ sha256: sha256Hex(KEY_ONE) }] })
        expect(yield* fromDigest.authenticate({ "x-api-key": KEY_ONE })).toEqual(
          yield* fromKey.authenticate({ "x-api-key": KEY_ONE })
        )
      }))

    it.effect("hashes non-ASCII presented values as UTF-8 without failing", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({ keys: [KEY_ONE] })
        expect(yield* Effect.flip(provider.authenticate({ "x-api-key": "clé-😀-\uD800" }))).toMatchObject({
          _tag: "InvalidCredentials",
          reason: "unknown_key"
        })
      }))

    it.effect("refuses an entry whose expiresAt (seconds) has passed: ExpiredCredentials, the exact 401", () =>
      Effect.gen(function*() {
        const expiresAt = 1_767_225_600 // 2026-01-01T00:00:00Z
        const provider = yield* ApiKey.make({
          keys: [{ key: KEY_ONE, label: "temporary", expiresAt }, { key: KEY_TWO, expiresAt }, KEY_THREE]
        })
        yield* TestClock.setTime(expiresAt * 1000 - 1)
        const principal = yield* provider.authenticate({ "x-api-key": KEY_ONE })
        expect(contractFields(principal)).toEqual({
          provider: "api-key",
          subject: "temporary",
          clientId: "temporary",
          scopes: [],
          expiresAt,
          keyLabel: "temporary"
        })
        expect(yield* provider.stillValid(principal)).toBe(true)

        yield* TestClock.setTime(expiresAt * 1000)
        const expired = yield* Effect.flip(provider.authenticate({ "x-api-key": KEY_ONE }))
        expect(expired).toMatchObject({
          _tag: "ExpiredCredentials",
          provider: "api-key",
          reason: "expired",
          keyLabel: "temporary"
        })
        expect(HttpAnswer.fromFailure(expired)).toStrictEqual(apiKey401())
        expect(yield* Effect.flip(provider.authenticate({ "x-api-key": KEY_TWO }))).toMatchObject({
          _tag: "ExpiredCredentials",
          keyLabel: fingerprint(KEY_TWO)
        })
        expect(yield* provider.stillValid(principal)).toBe(false)
        // A key without expiresAt never expires.
        yield* TestClock.setTime(expiresAt * 1000 * 10)
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_THREE }))).toEqual(
          plainPrincipal(KEY_THREE)
        )
      }))

    it.effect("announces a configured realm in its challenge", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({ keys: [KEY_ONE], realm: "tools", headerName: "X-Team-Key" })
        const failure = yield* Effect.flip(provider.authenticate({}))
        expect(HttpAnswer.fromFailure(failure).headers["www-authenticate"]).toBe(
          "ApiKey realm=\"tools\", header=\"X-Team-Key\""
        )
      }))
  })

  describe("allowBearer", () => {
    const make = ApiKey.make({ keys: [KEY_ONE], allowBearer: true })

    it.effect("reads Authorization: Bearer <key>, scheme in any casing, one or more spaces", () =>
      Effect.gen(function*() {
        const provider = yield* make
        for (const authorization of [`Bearer ${KEY_ONE}`, `bearer ${KEY_ONE}`, `BEARER   ${KEY_ONE}`]) {
          expect(contractFields(yield* provider.authenticate({ authorization }))).toEqual(plainPrincipal(KEY_ONE))
        }
        expect(contractFields(yield* provider.authenticate(new Headers({ Authorization: `Bearer ${KEY_ONE}` }))))
          .toEqual(plainPrincipal(KEY_ONE))
      }))

    it.effect("carries every key that configuration accepts, not only RFC 6750 b64tokens", () =>
      Effect.gen(function*() {
        const odd = "key!with#chars@and$more%^&*(){}"
        const provider = yield* ApiKey.make({ keys: [odd], allowBearer: true })
        expect((yield* provider.authenticate({ authorization: `Bearer ${odd}` })).provider).toBe("api-key")
        // a comma can only come from joined lines, and is still malformed
        expect(yield* Effect.flip(provider.authenticate({ authorization: `Bearer ${odd},${odd}` }))).toMatchObject({
          _tag: "MalformedRequest",
          reason: "malformed_header"
        })
      }))

    it.effect("still reads the configured header", () =>
      Effect.gen(function*() {
        const provider = yield* make
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_ONE }))).toEqual(plainPrincipal(KEY_ONE))
      }))

    it.effect("refuses a wrong Bearer key, a malformed or repeated Authorization, and another scheme", () =>
      Effect.gen(function*() {
        const provider = yield* make
        const cases: ReadonlyArray<readonly [Credentials.RequestHeaders, string, string]> = [
          [{ authorization: "Bearer mcp_live_0000000000000000wrong" }, "InvalidCredentials", "unknown_key"],
          [{ authorization: `Bearer ${KEY_ONE} extra` }, "MalformedRequest", "malformed_header"],
          [{ authorization: `Bearer\t${KEY_ONE}` }, "MalformedRequest", "malformed_header"],
          [{ authorization: "Bearer" }, "MalformedRequest", "malformed_header"],
          [{ authorization: "" }, "MalformedRequest", "empty_header"],
          [{ authorization: [`Bearer ${KEY_ONE}`, `Bearer ${KEY_ONE}`] }, "MalformedRequest", "duplicate_header"],
          [{ authorization: `Basic ${Buffer.from(`user:${KEY_ONE}`).toString("base64")}` }, "MissingCredentials", "missing"],
          [{ authorization: `Bearer ${"a".repeat(8193)}` }, "InvalidCredentials", "token_too_large"]
        ]
        for (const [request, tag, reason] of cases) {
          const failure = yield* Effect.flip(provider.authenticate(request))
          expect(failure).toMatchObject({ _tag: tag, provider: "api-key", reason })
          expect(HttpAnswer.fromFailure(failure)).toStrictEqual(apiKey401())
        }
      }))

    it.effect("lets the configured header win when both are present", () =>
      Effect.gen(function*() {
        const provider = yield* make
        expect(
          yield* Effect.flip(
            provider.authenticate({ "x-api-key": "mcp_live_0000000000000000wrong", authorization: `Bearer ${KEY_ONE}` })
          )
        ).toMatchObject({ reason: "unknown_key" })
        expect(
          contractFields(yield* provider.authenticate({ "x-api-key": KEY_ONE, authorization: "Bearer something-else" }))
        ).toEqual(plainPrincipal(KEY_ONE))
      }))

    it.effect("is off by default, and can be set through layerConfig", () =>
      Effect.gen(function*() {
        const byDefault = yield* ApiKey.make({ keys: [KEY_ONE] })
        expect(yield* Effect.flip(byDefault.authenticate({ authorization: `Bearer ${KEY_ONE}` }))).toMatchObject({
          _tag: "MissingCredentials"
        })
        const fromConfig = yield* authenticate({ authorization: `Bearer ${KEY_ONE}` }).pipe(
          Effect.provide(
            ApiKey.layerConfig({ allowBearer: Config.succeed(Option.some(true)) }).pipe(
              Layer.provide(configWith({ MCP_API_KEYS: KEY_ONE }))
            )
          )
        )
        expect(contractFields(fromConfig)).toEqual(plainPrincipal(KEY_ONE))
      }))
  })

  describe("configuration errors, at construction", () => {
    /** Builds with both APIs; both must refuse, with the same message. */
    const refuseOptions = (options: unknown) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(ApiKey.make(options as ApiKey.Options))
        expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
        expect(error._tag).toBe("ConfigurationError")
        const thrown = thrownBy(() => new APIKeyAuthProvider(options as ApiKey.Options))
        expect(thrown).toBeInstanceOf(ConfigurationError.ConfigurationError)
        expect((thrown as Error).name).toBe("ConfigurationError")
        expect((thrown as Error).message).toBe(error.message)
        return error.message
      })

    const badKeys: ReadonlyArray<readonly [string, string, RegExp]> = [
      ["a key with a comma", "abcdefgh,ijklmnopqrs", /keys\[1\] contains a comma or whitespace/],
      ["a key with a space", "abcdefgh ijklmnopqrs", /keys\[1\] contains a comma or whitespace/],
      ["a key with a tab", "abcdefgh\tijklmnopqrs", /keys\[1\] contains a comma or whitespace/],
      ["a key with a trailing newline", "abcdefghijklmnopqrs\n", /keys\[1\] contains a comma or whitespace/],
      ["a key with non-ASCII characters", "clé-secrète-très-longue", /keys\[1\] contains characters other than visible ASCII/],
      ["a key with a control character", "abcdefgh\u0000ijklmnopqrs", /keys\[1\] contains characters other than visible ASCII/],
      ["a key of 15 characters", "abcdefghijklmno", /keys\[1\] is shorter than 16 characters/]
    ]

    for (const [what, key, message] of badKeys) {
      it.effect(`refuses ${what}, saying how to make a good one and never quoting it`, () =>
        Effect.gen(function*() {
          for (const spec of [key, Redacted.make(key), { key, label: "bad" }]) {
            const text = yield* refuseOptions({ keys: [KEY_ONE, spec] })
            expect(text).toMatch(message)
            expect(text).toContain(HOW_TO_MAKE_A_KEY)
            expect(text).not.toContain(key)
            expect(text).not.toContain(KEY_ONE)
          }
        }))
    }

    it.effect("accepts a key of exactly 16 visible ASCII characters", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({ keys: [KEY_SIXTEEN, "!#$%&'*+-./:;<=>?@[]^_`{|}~\"\\()"] })
        expect(contractFields(yield* provider.authenticate({ "x-api-key": KEY_SIXTEEN }))).toEqual(
          plainPrincipal(KEY_SIXTEEN)
        )
      }))

    it.effect("refuses an empty key list, saying how to make a key", () =>
      Effect.gen(function*() {
        const text = yield* refuseOptions({ keys: [] })
        expect(text).toMatch(/keys is empty/)
        expect(text).toContain(HOW_TO_MAKE_A_KEY)
      }))

    it.effect("refuses an empty key, saying how to make a key", () =>
      Effect.gen(function*() {
        const text = yield* refuseOptions({ keys: [""] })
        expect(text).toMatch(/keys\[0\] is empty/)
        expect(text).toContain(HOW_TO_MAKE_A_KEY)
      }))

    it.effect("refuses duplicate keys, also a plaintext key and its sha256 together", () =>
      Effect.gen(function*() {
        const duplicates: ReadonlyArray<ReadonlyArray<ApiKey.KeySpec>> = [
          [KEY_ONE, KEY_ONE],
          [KEY_ONE, { key: KEY_ONE, label: "again" }],
          [Redacted.make(KEY_ONE), KEY_ONE],
          [KEY_ONE, { sha256: sha256Hex(KEY_ONE) }],
          [{ sha256: sha256Hex(KEY_ONE), label: "ci" }, KEY_ONE],
          [{ sha256: sha256Hex(KEY_ONE) }, { sha256: sha256Hex(KEY_ONE) }]
        ]
        for (const keys of duplicates) {
          const text = yield* refuseOptions({ keys })
          expect(text).toMatch(/keys\[1\] repeats an earlier key/)
          expect(text).not.toContain(KEY_ONE)
        }
      }))

    it.effect("refuses a sha256 that is not 64 lower-case hex digits, saying what it must be", () =>
      Effect.gen(function*() {
        const digest = sha256Hex(KEY_ONE)
        for (const sha256 of [digest.toUpperCase(), digest.slice(1), digest + "0", digest.replace(/.$/, "g"), ""]) {
          const text = yield* refuseOptions({ keys: [KEY_TWO, { sha256 }] })
          expect(text).toMatch(/keys\[1\]/)
          expect(text).toContain("64-character lower-case hex SHA-256 digest of the key's UTF-8 bytes")
          expect(text).not.toContain(KEY_TWO)
        }
      }))

    it.effect("refuses an invalid headerName", () =>
      Effect.gen(function*() {
        for (const headerName of ["X API Key", "X-API-Key:", "", "Ключ", "X-API-Key\r\n"]) {
          const text = yield* refuseOptions({ keys: [KEY_ONE], headerName })
          expect(text).toContain(`${JSON.stringify(headerName)} is not a valid HTTP header name`)
          expect(text).not.toContain(KEY_ONE)
        }
      }))

    it.effect("refuses an unknown option such as a misspelled header, rather than running without it", () =>
      Effect.gen(function*() {
        const text = yield* refuseOptions({ keys: [KEY_ONE], header: "X-Team-Key" })
        expect(text).toMatch(/header: is unexpected/)
        expect(text).toContain("\"headerName\"")
        expect(text).not.toContain(KEY_ONE)
        expect(yield* refuseOptions({ keys: [KEY_ONE], allowbearer: true })).toMatch(/allowbearer: is unexpected/)
      }))

    it.effect("never quotes a key in a message about the shape of the options", () =>
      Effect.gen(function*() {
        for (
          const options of [
            { keys: KEY_ONE },
            { keys: [KEY_ONE, 42] },
            { keys: [{ key: KEY_ONE, lable: "typo" }] },
            { keys: [{ key: KEY_ONE, sha256: sha256Hex(KEY_TWO) }] },
            { keys: [{ key: KEY_ONE, scopes: "tools:read" }] },
            { keys: [{ key: KEY_ONE, expiresAt: "tomorrow" }] }
          ]
        ) {
          const text = yield* refuseOptions(options)
          expect(text).not.toContain(KEY_ONE)
          expect(text).not.toContain(sha256Hex(KEY_TWO))
        }
      }))

    it.effect("fails the Layer, so that no server starts with bad keys", () =>
      Effect.gen(function*() {
        const fromOptions = yield* Effect.flip(buildLayer(ApiKey.layer({ keys: [] })))
        expect(fromOptions).toBeInstanceOf(ConfigurationError.ConfigurationError)

        const tooShort = yield* Effect.flip(
          buildLayer(ApiKey.layerConfig().pipe(Layer.provide(configWith({ MCP_API_KEYS: `${KEY_ONE},short` }))))
        )
        expect(tooShort).toBeInstanceOf(ConfigurationError.ConfigurationError)
        expect((tooShort as ConfigurationError.ConfigurationError).message).toMatch(/keys\[1\] is shorter than 16/)

        const trailingComma = yield* Effect.flip(
          buildLayer(ApiKey.layerConfig().pipe(Layer.provide(configWith({ MCP_API_KEYS: `${KEY_ONE},` }))))
        )
        expect((trailingComma as ConfigurationError.ConfigurationError).message).toMatch(/keys\[1\] is empty/)

        const badHeader = yield* Effect.flip(
          buildLayer(
            ApiKey.layerConfig().pipe(
              Layer.provide(configWith({ MCP_API_KEYS: KEY_ONE, MCP_API_KEY_HEADER: "X API Key" }))
            )
          )
        )
        expect(badHeader).toBeInstanceOf(ConfigurationError.ConfigurationError)
      }))

    it.effect("fails layerConfig when MCP_API_KEYS is not set, rather than running without auth", () =>
      Effect.gen(function*() {
        const missing = yield* Effect.flip(buildLayer(ApiKey.layerConfig().pipe(Layer.provide(configWith({})))))
        expect(missing).not.toBeInstanceOf(ConfigurationError.ConfigurationError)
        expect(String(missing)).toContain("MCP_API_KEYS")
      }))
  })

  describe("properties", () => {
    const provider = Effect.runSync(ApiKey.make({ keys: [KEY_ONE, KEY_TWO] }))
    const nearMiss = FastCheck.tuple(
      FastCheck.constantFrom(KEY_ONE, KEY_TWO),
      FastCheck.nat({ max: KEY_ONE.length - 1 }),
      FastCheck.char()
    ).map(([key, at, char]) => key.slice(0, at) + char + key.slice(at + 1))
    const notAKey = FastCheck.oneof(FastCheck.string(), FastCheck.fullUnicodeString(), FastCheck.asciiString({ minLength: 16 }), nearMiss)
      .filter((candidate) => candidate !== KEY_ONE && candidate !== KEY_TWO)

    it.effect.prop(
      "answers any string that is not a configured key with exactly the API-key 401",
      [notAKey],
      ([candidate]) =>
        Effect.gen(function*() {
          const failure = yield* Effect.flip(provider.authenticate({ "x-api-key": candidate }))
          expect(HttpAnswer.fromFailure(failure)).toStrictEqual(apiKey401())
        }),
      { fastCheck: { numRuns: 200 } }
    )

    it.effect.prop(
      "finds the key for any casing of the header name",
      [casingOf("X-API-Key")],
      ([name]) =>
        Effect.gen(function*() {
          for (const request of [{ [name]: KEY_ONE }, { headersDistinct: { [name]: [KEY_ONE] } }, new Headers({ [name]: KEY_ONE })]) {
            expect(contractFields(yield* provider.authenticate(request))).toEqual(plainPrincipal(KEY_ONE))
          }
        }),
      { fastCheck: { numRuns: 100 } }
    )
  })

  describe("rotation", () => {
    const rotating = <A, E>(self: Effect.Effect<A, E, ApiKey.ApiKey | AuthProvider.AuthProvider>) =>
      Effect.provide(self, ApiKey.layer({ keys: [KEY_ONE] }))

    it.effect("rotates the very provider the AuthProvider tag serves", () =>
      rotating(Effect.gen(function*() {
        expect(yield* ApiKey.ApiKey).toBe(yield* AuthProvider.AuthProvider)
      })))

    it.effect("replaces the set: the old key fails on its next request, the new ones pass", () =>
      rotating(Effect.gen(function*() {
        const rotation = yield* ApiKey.ApiKey
        expect(contractFields(yield* authenticate({ "x-api-key": KEY_ONE }))).toEqual(plainPrincipal(KEY_ONE))

        yield* rotation.updateKeys([KEY_TWO, { key: KEY_THREE, label: "new", scopes: ["tools:read"] }])

        expect(yield* refuse({ "x-api-key": KEY_ONE })).toMatchObject({ _tag: "InvalidCredentials", reason: "unknown_key" })
        expect(yield* answerTo({ "x-api-key": KEY_ONE })).toStrictEqual(apiKey401())
        expect(contractFields(yield* authenticate({ "x-api-key": KEY_TWO }))).toEqual(plainPrincipal(KEY_TWO))
        expect(contractFields(yield* authenticate({ "x-api-key": KEY_THREE }))).toMatchObject({
          subject: "new",
          keyLabel: "new",
          scopes: ["tools:read"]
        })
      })))

    it.effect("turns stillValid false for a principal of a removed key, and only for it", () =>
      rotating(Effect.gen(function*() {
        const rotation = yield* ApiKey.ApiKey
        const one = yield* authenticate({ "x-api-key": KEY_ONE })
        expect(yield* rotation.stillValid(one)).toBe(true)

        yield* rotation.updateKeys([KEY_ONE, KEY_TWO])
        const two = yield* authenticate({ "x-api-key": KEY_TWO })
        expect(yield* rotation.stillValid(one)).toBe(true)
        expect(yield* rotation.stillValid(two)).toBe(true)

        yield* rotation.updateKeys([KEY_TWO])
        expect(yield* rotation.stillValid(one)).toBe(false)
        expect(yield* rotation.stillValid(two)).toBe(true)

        yield* rotation.updateKeys([{ sha256: sha256Hex(KEY_ONE) }])
        expect(yield* rotation.stillValid(one)).toBe(true)
        expect(yield* rotation.stillValid(two)).toBe(false)
      })))

    it.effect("refuses an invalid update and leaves the old set in place, whole", () =>
      rotating(Effect.gen(function*() {
        const rotation = yield* ApiKey.ApiKey
        const one = yield* authenticate({ "x-api-key": KEY_ONE })
        for (const keys of [[KEY_TWO, "short"], [KEY_TWO, KEY_TWO], [KEY_TWO, "has space in it, too"]]) {
          const error = yield* Effect.flip(rotation.updateKeys(keys))
          expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
          expect(error.message).not.toContain(KEY_TWO)
          expect(contractFields(yield* authenticate({ "x-api-key": KEY_ONE }))).toEqual(plainPrincipal(KEY_ONE))
          expect(yield* refuse({ "x-api-key": KEY_TWO })).toMatchObject({ reason: "unknown_key" })
          expect(yield* rotation.stillValid(one)).toBe(true)
        }
      })))

    it.live("emits changes once per update, and not for a refused one", () =>
      rotating(Effect.scoped(Effect.gen(function*() {
        const rotation = yield* ApiKey.ApiKey
        const seen = yield* Ref.make(0)
        const firstTwo = yield* Effect.forkScoped(Stream.runCollect(Stream.take(rotation.changes, 2)))
        yield* Effect.forkScoped(Stream.runForEach(rotation.changes, () => Ref.update(seen, (n) => n + 1)))
        yield* Effect.sleep("50 millis") // let both subscribers subscribe

        yield* rotation.updateKeys([KEY_TWO])
        yield* Effect.flip(rotation.updateKeys(["short"]))
        yield* rotation.updateKeys([KEY_ONE, KEY_TWO])

        const collected = yield* Fiber.join(firstTwo).pipe(Effect.timeout("5 seconds"))
        expect(collected.length).toBe(2)
        yield* Effect.sleep("50 millis") // a third emission would have arrived by now
        expect(yield* Ref.get(seen)).toBe(2)
      }))))
  })

  describe("cost and lookup by digest (no timing)", () => {
    const bulkKeys = Array.from({ length: 10_000 }, (_, i) => `bulk-key-${String(i).padStart(6, "0")}-mcpgate`)
    const hash = vi.mocked(crypto.hash)
    const timingSafeEqual = vi.mocked(crypto.timingSafeEqual)

    /** Hash and comparison calls made while authenticating one request. */
    const countCalls = <A, E>(self: () => Effect.Effect<A, E>) =>
      Effect.gen(function*() {
        hash.mockClear()
        timingSafeEqual.mockClear()
        const result = yield* Effect.either(Effect.suspend(self))
        return { result, hashes: hash.mock.calls.length, comparisons: timingSafeEqual.mock.calls.length }
      })

    it.effect("finds the first, a middle and the last of 10,000 keys configured only as digests", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({
          keys: bulkKeys.map((key, i) => ({ sha256: sha256Hex(key), label: `bulk-${i}` }))
        })
        for (const i of [0, 5_000, 9_999]) {
          expect((yield* provider.authenticate({ "x-api-key": bulkKeys[i]! })).keyLabel).toBe(`bulk-${i}`)
        }
        expect(yield* Effect.flip(provider.authenticate({ "x-api-key": "bulk-key-010000-mcpgate" }))).toMatchObject({
          reason: "unknown_key"
        })
      }))

    it.effect("hashes the presented key once and compares at most once, whether 1 or 10,000 keys", () =>
      Effect.gen(function*() {
        const one = yield* ApiKey.make({ keys: [bulkKeys[9_999]!] })
        const many = yield* ApiKey.make({ keys: bulkKeys })
        const last = { "x-api-key": bulkKeys[9_999]! }
        const wrong = { "x-api-key": "bulk-key-010000-mcpgate" }

        const hitOne = yield* countCalls(() => one.authenticate(last))
        const hitMany = yield* countCalls(() => many.authenticate(last))
        expect(hitOne.result._tag).toBe("Right")
        expect(hitMany.result._tag).toBe("Right")
        expect(hitMany.hashes).toBe(1)
        expect(hash.mock.calls[0]?.[0]).toBe("sha256")
        expect(hitMany.comparisons).toBeLessThanOrEqual(1)
        expect(hitMany).toMatchObject({ hashes: hitOne.hashes, comparisons: hitOne.comparisons })

        const missOne = yield* countCalls(() => one.authenticate(wrong))
        const missMany = yield* countCalls(() => many.authenticate(wrong))
        expect(missMany.result._tag).toBe("Left")
        expect(missMany.hashes).toBe(1)
        expect(missMany.comparisons).toBeLessThanOrEqual(1)
        expect(missMany).toMatchObject({ hashes: missOne.hashes, comparisons: missOne.comparisons })
      }))

    it.effect("puts no key, presented or configured, in a principal or a failure", () =>
      Effect.gen(function*() {
        const provider = yield* ApiKey.make({ keys: [KEY_ONE, { key: KEY_TWO, label: "two" }] })
        const seen = [
          yield* provider.authenticate({ "x-api-key": KEY_ONE }),
          yield* provider.authenticate({ "x-api-key": KEY_TWO }),
          yield* Effect.flip(provider.authenticate({ "x-api-key": KEY_THREE })),
          yield* Effect.flip(provider.authenticate({ "x-api-key": [KEY_ONE, KEY_TWO] }))
        ]
        for (const value of seen) {
          const text = JSON.stringify(value)
          expect(text).not.toContain(KEY_ONE)
          expect(text).not.toContain(KEY_TWO)
          expect(text).not.toContain(KEY_THREE)
        }
      }))
  })
})
