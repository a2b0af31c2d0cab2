import { afterAll, describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, AuthProvider, ConfigurationError } from "@mcpgate/auth-core"
import type { AuthFailure, CheckResult, Credentials } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import { fingerprint, KEY_ONE, KEY_THREE, KEY_TWO, sha256Hex } from "@mcpgate/testing/apiKeys"
import { apiKey401 } from "@mcpgate/testing/contract"
import { sendRaw } from "@mcpgate/testing/nodeRequest"
import { thrownBy } from "@mcpgate/testing/thrownBy"
import { acquire, inScope } from "@mcpgate/testing/scoped"

/** A provider of a test, disposed when the test's scope closes. */
const provider = (options: ConstructorParameters<typeof APIKeyAuthProvider>[0]) =>
  acquire(() => new APIKeyAuthProvider(options), (made) => made.dispose())

/** The exact refusal: the API-key 401 plus its reason code. */
const refused = (reason: AuthFailure.ReasonCode, headerName = "X-API-Key"): CheckResult => ({
  ok: false,
  ...apiKey401(headerName),
  reason
})

const principalOf = (key: string, label?: string) => ({
  provider: "api-key",
  subject: label ?? fingerprint(key),
  clientId: label ?? fingerprint(key),
  scopes: [],
  expiresAt: undefined,
  keyLabel: label
})

/** The result with the opaque identity and key id left out of a principal. */
const contractView = (result: CheckResult) => {
  if (!result.ok) return result
  const { identity: _identity, keyId: _keyId, credentialHeader: _header, ...principal } = result.principal
  return { ok: true, principal }
}

describe("APIKeyAuthProvider", () => {
  const teamKeys = new APIKeyAuthProvider({ keys: [KEY_ONE, { key: KEY_TWO, label: "ci", scopes: ["tools:read"] }], headerName: "X-Team-Key" })
  afterAll(() => teamKeys.dispose())

  it("resolves { ok: true, principal } for a configured key", async () => {
    expect(contractView(await teamKeys.check({ "x-team-key": KEY_ONE }))).toEqual({
      ok: true,
      principal: principalOf(KEY_ONE)
    })
    expect(contractView(await teamKeys.check({ "X-Team-Key": KEY_TWO }))).toEqual({
      ok: true,
      principal: { ...principalOf(KEY_TWO, "ci"), scopes: ["tools:read"] }
    })
  })

  it("resolves the exact answer with lower-case header names and a reason code otherwise", async () => {
    const cases: ReadonlyArray<readonly [Credentials.RequestHeaders, AuthFailure.ReasonCode]> = [
      [{}, "missing"],
      [{ "x-team-key": "" }, "empty_header"],
      [{ "x-team-key": [KEY_ONE, KEY_ONE] }, "duplicate_header"],
      [{ "x-team-key": "mcp_live_0000000000000000wrong" }, "unknown_key"],
      [{ "x-api-key": KEY_ONE }, "missing"],
      [{ authorization: `Bearer ${KEY_ONE}` }, "missing"]
    ]
    for (const [request, reason] of cases) {
      const result = await teamKeys.check(request)
      expect(result).toStrictEqual(refused(reason, "X-Team-Key"))
      if (!result.ok) {
        expect(Object.keys(result.headers)).toEqual(["content-type", "cache-control", "www-authenticate"])
      }
    }
  })

  describe("accepts every request shape", () => {
    it("a Fetch Headers", async () => {
      expect(contractView(await teamKeys.check(new Headers({ "X-Team-Key": KEY_ONE })))).toEqual({
        ok: true,
        principal: principalOf(KEY_ONE)
      })
      expect(await teamKeys.check(new Headers())).toStrictEqual(refused("missing", "X-Team-Key"))
    })

    it("a header record", async () => {
      expect((await teamKeys.check({ "X-TEAM-KEY": KEY_ONE })).ok).toBe(true)
      expect((await teamKeys.check({ "x-team-key": [KEY_ONE] })).ok).toBe(true)
    })

    it("{ headersDistinct }", async () => {
      expect((await teamKeys.check({ headersDistinct: { "x-team-key": [KEY_ONE] } })).ok).toBe(true)
      expect(await teamKeys.check({ headersDistinct: { "x-team-key": [KEY_ONE, KEY_TWO] } })).toStrictEqual(
        refused("duplicate_header", "X-Team-Key")
      )
    })

    it("a live Node IncomingMessage, whose repeated key lines it refuses", async () => {
      const single = await sendRaw([["X-Team-Key", KEY_ONE]], (request) => teamKeys.check(request))
      expect(contractView(single)).toEqual({ ok: true, principal: principalOf(KEY_ONE) })

      // Node's `headers` would offer "KEY_ONE, KEY_TWO" on one line; the provider sees two.
      const repeated = await sendRaw([["X-Team-Key", KEY_ONE], ["x-team-key", KEY_TWO]], (request) =>
        teamKeys.check(request))
      expect(repeated).toStrictEqual(refused("duplicate_header", "X-Team-Key"))
    })
  })

  describe("never rejects", () => {
    const defaults = new APIKeyAuthProvider({ keys: [KEY_ONE] })
    afterAll(() => defaults.dispose())

    it("for odd header shapes", async () => {
      const throwing = new Proxy({}, {
        ownKeys: () => {
          throw new Error("boom")
        }
      })
      const odd: ReadonlyArray<unknown> = [
        null,
        undefined,
        42,
        "x-api-key",
        [],
        [KEY_ONE],
        { headersDistinct: null },
        { headersDistinct: 42 },
        { headersDistinct: { "x-api-key": 42 } },
        { "x-api-key": 42 },
        { "x-api-key": { value: KEY_ONE } },
        { "x-api-key": [42, null] },
        { get: () => undefined, forEach: () => undefined },
        {
          get: () => {
            throw new Error("boom")
          },
          forEach: () => undefined
        },
        new Map([["x-api-key", KEY_ONE]]),
        throwing
      ]
      for (const input of odd) {
        const result = await defaults.check(input as Credentials.RequestHeaders)
        expect(result.ok, `for ${String(input)}`).toBe(false)
        if (!result.ok) {
          expect({ status: result.status, headers: result.headers, body: result.body }).toStrictEqual(apiKey401())
        }
      }
    })

    it.scopedLive("and answers odd shapes with the configured challenge, not a default one", () => inScope(async (use) => {
      const custom = await use(provider({ keys: [KEY_ONE], headerName: "X-Team-Key", realm: "tools" }))
      const odd: ReadonlyArray<unknown> = [null, { headersDistinct: { "x-team-key": 42 } }, new Map([["x-team-key", KEY_ONE]])]
      for (const input of odd) {
        const result = await custom.check(input as Credentials.RequestHeaders)
        expect(result).toMatchObject({
          ok: false,
          status: 401,
          headers: { "www-authenticate": "ApiKey realm=\"tools\", header=\"X-Team-Key\"" }
        })
      }
    }))

    it("for any value at all (property)", async () => {
      await FastCheck.assert(
        FastCheck.asyncProperty(FastCheck.anything({ withMap: true, withSet: true, withNullPrototype: true }), async (input) => {
          const result = await defaults.check(input as Credentials.RequestHeaders)
          expect(result).toMatchObject({ ok: false, ...apiKey401() })
        }),
        { numRuns: 150 }
      )
    })

    it("for any header value (property)", async () => {
      await FastCheck.assert(
        FastCheck.asyncProperty(
          FastCheck.oneof(FastCheck.fullUnicodeString(), FastCheck.array(FastCheck.string(), { maxLength: 3 })),
          async (value) => {
            const result = await defaults.check({ "x-api-key": value })
            expect(result).toMatchObject({ ok: false, ...apiKey401() })
          }
        ),
        { numRuns: 150 }
      )
    })
  })

  describe("updateKeys", () => {
    it.scopedLive("replaces the key set: the old key fails on its next request, the new one passes", () => inScope(async (use) => {
      const rotating = await use(provider({ keys: [KEY_ONE] }))
      expect((await rotating.check({ "x-api-key": KEY_ONE })).ok).toBe(true)
      rotating.updateKeys([KEY_TWO, { sha256: sha256Hex(KEY_THREE), label: "three" }])
      expect(await rotating.check({ "x-api-key": KEY_ONE })).toStrictEqual(refused("unknown_key"))
      expect(contractView(await rotating.check({ "x-api-key": KEY_TWO }))).toEqual({
        ok: true,
        principal: principalOf(KEY_TWO)
      })
      expect(contractView(await rotating.check({ "x-api-key": KEY_THREE }))).toEqual({
        ok: true,
        principal: principalOf(KEY_THREE, "three")
      })
    }))

    it.scopedLive("throws a ConfigurationError on bad keys, synchronously, and keeps the old set", () => inScope(async (use) => {
      const rotating = await use(provider({ keys: [KEY_ONE] }))
      expect(() => rotating.updateKeys([KEY_TWO, "short"])).toThrow(/keys\[1\] is shorter than 16 characters/)
      expect(() => rotating.updateKeys([KEY_TWO, KEY_TWO])).toThrow(ConfigurationError.ConfigurationError)
      expect((await rotating.check({ "x-api-key": KEY_ONE })).ok).toBe(true)
      expect(await rotating.check({ "x-api-key": KEY_TWO })).toStrictEqual(refused("unknown_key"))
    }))

    it.scopedLive("an empty set revokes every key: the run-time rotation fails closed, where an empty start is refused", () => inScope(async (use) => {
      expect(() => new APIKeyAuthProvider({ keys: [] })).toThrow(/keys is empty/)
      const rotating = await use(provider({ keys: [KEY_ONE, KEY_TWO] }))
      rotating.updateKeys([])
      expect(rotating.getKeyCount()).toBe(0)
      for (const key of [KEY_ONE, KEY_TWO]) {
        expect(await rotating.check({ "x-api-key": key })).toStrictEqual(refused("unknown_key"))
        expect(await rotating.authenticate({ "x-api-key": key })).toBe(false)
      }
      rotating.updateKeys([KEY_TWO])
      expect((await rotating.check({ "x-api-key": KEY_TWO })).ok).toBe(true)
    }))

    it.scopedLive("is seen by Effect code that uses the provider's service or layer", () => inScope(async (use) => {
      const rotating = await use(provider({ keys: [KEY_ONE] }))
      const viaLayer = (key: string) =>
        Effect.runPromise(
          Effect.either(
            Effect.flatMap(AuthProvider.AuthProvider, (service) => service.authenticate({ "x-api-key": key })).pipe(
              Effect.provide(rotating.layer)
            )
          )
        )
      expect((await viaLayer(KEY_ONE))._tag).toBe("Right")
      rotating.updateKeys([KEY_TWO])
      expect((await viaLayer(KEY_ONE))._tag).toBe("Left")
      expect((await viaLayer(KEY_TWO))._tag).toBe("Right")
      expect(rotating.service.kinds).toEqual(["api-key"])
    }))
  })

  describe("construction", () => {
    it("throws a ConfigurationError synchronously on bad options, without quoting a key", () => {
      const bad: ReadonlyArray<readonly [unknown, RegExp]> = [
        [{ keys: [] }, /keys is empty/],
        [{ keys: ["too-short"] }, /keys\[0\] is shorter than 16 characters/],
        [{ keys: [KEY_ONE, KEY_ONE] }, /keys\[1\] repeats an earlier key/],
        [{ keys: [KEY_ONE], headerName: "X API Key" }, /is not a valid HTTP header name/],
        [{ keys: [KEY_ONE], header: "X-Team-Key" }, /header: is unexpected/],
        [{ keys: [{ key: KEY_ONE, lable: "typo" }] }, /keys\[0\]: unknown field lable; an entry has key, sha256, label, scopes, expiresAt/],
        [{ keys: [{ key: KEY_ONE, sha256: "0".repeat(64) }] }, /keys\[0\]: give exactly one of key and sha256/],
        [{ keys: [{ key: KEY_ONE, label: "", scopes: ["a b"] }] }, /keys\[0\]\.label: .*\n.*keys\[0\]\.scopes\.0: a scope is visible ASCII/],
        [{ keys: [KEY_ONE, 42] }, /keys\[1\]: a key is a string, a Redacted string, or an entry/],
        [{ keys: KEY_ONE }, /keys must be an array of keys/]
      ]
      for (const [options, message] of bad) {
        const thrown = thrownBy(() => new APIKeyAuthProvider(options as ConstructorParameters<typeof APIKeyAuthProvider>[0]))
        expect(thrown).toBeInstanceOf(ConfigurationError.ConfigurationError)
        expect((thrown as Error).message).toMatch(message)
        expect((thrown as Error).message).not.toContain(KEY_ONE)
      }
    })
  })

  it("dispose() resolves, and a disposed provider still refuses rather than rejects", async () => {
    const disposable = new APIKeyAuthProvider({ keys: [KEY_ONE] })
    expect((await disposable.check({ "x-api-key": KEY_ONE })).ok).toBe(true)
    await expect(disposable.dispose()).resolves.toBeUndefined()
    const after = await disposable.check({ "x-api-key": KEY_ONE })
    expect(after.ok).toBe(false)
    expect(after).toMatchObject(apiKey401())
  })
})
