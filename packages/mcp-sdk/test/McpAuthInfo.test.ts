/**
 * `McpAuthInfo`: a principal mapped onto the SDK's `AuthInfo` (`fromPrincipal`) and read
 * back by tools (`getPrincipal`) from SDK v1's `extra` (`extra.authInfo`) or SDK v2's `ctx`
 * (`ctx.http.authInfo`). The internals of the check (`keyId`, `credentialHeader`) never
 * reach tools; anything mcpgate did not build reads as no caller, and never throws.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { getPrincipal, McpAuthInfo } from "@mcpgate/mcp-sdk"
import type { Caller } from "@mcpgate/mcp-sdk"
import * as FastCheck from "effect/FastCheck"

/** A marker no generated string contains, to look for the internals in the output. */
const KEY_ID_MARKER = "\u0000mcpgate-key-id\u0000"
const HEADER_MARKER = "\u0000mcpgate-header\u0000"

const optional = <A>(arbitrary: FastCheck.Arbitrary<A>) => FastCheck.option(arbitrary, { nil: undefined })

const principalArbitrary: FastCheck.Arbitrary<Principal> = FastCheck.record({
  provider: FastCheck.constantFrom("api-key" as const, "jwt" as const, "custom" as const),
  subject: FastCheck.string(),
  clientId: FastCheck.string(),
  identity: FastCheck.string(),
  scopes: FastCheck.array(FastCheck.string(), { maxLength: 5 }),
  expiresAt: optional(FastCheck.integer({ min: 0, max: 2 ** 40 })),
  keyLabel: optional(FastCheck.string()),
  claims: optional(FastCheck.dictionary(FastCheck.string(), FastCheck.jsonValue(), { maxKeys: 5 })),
  keyId: FastCheck.string().map((id) => KEY_ID_MARKER + id),
  credentialHeader: optional(FastCheck.constantFrom("authorization", "x-api-key").map((name) => HEADER_MARKER + name))
})

/** The caller a tool should see: the principal without the internals and without undefined fields. */
const callerOf = (principal: Principal): Caller => ({
  provider: principal.provider,
  subject: principal.subject,
  clientId: principal.clientId,
  identity: principal.identity,
  scopes: [...principal.scopes],
  ...(principal.expiresAt === undefined ? {} : { expiresAt: principal.expiresAt }),
  ...(principal.keyLabel === undefined ? {} : { keyLabel: principal.keyLabel }),
  ...(principal.claims === undefined ? {} : { claims: principal.claims })
})

/** What each SDK line hands a tool. */
const v1Extra = (authInfo: unknown) => ({ signal: new AbortController().signal, requestId: 1, authInfo })
const v2Ctx = (authInfo: unknown) => ({ mcpReq: { id: 1 }, http: { authInfo, req: undefined } })

const ALICE: Principal = {
  provider: "jwt",
  subject: "alice",
  clientId: "alice-client",
  identity: "jwt:https://issuer.example:alice",
  scopes: ["tools:read"],
  expiresAt: 1_900_000_000,
  claims: { sub: "alice", iss: "https://issuer.example" },
  keyId: "jwt:secret",
  credentialHeader: "authorization"
}

describe("McpAuthInfo", () => {
  it("maps a principal onto the SDK's AuthInfo, token empty unless given, resource when given", () => {
    expect(McpAuthInfo.fromPrincipal(ALICE)).toStrictEqual({
      token: "",
      clientId: "alice-client",
      scopes: ["tools:read"],
      expiresAt: 1_900_000_000,
      extra: {
        provider: "jwt",
        subject: "alice",
        identity: "jwt:https://issuer.example:alice",
        claims: { sub: "alice", iss: "https://issuer.example" }
      }
    })
    const resource = new URL("https://mcp.example.com/mcp")
    const withBoth = McpAuthInfo.fromPrincipal(ALICE, { token: "raw-token", resource })
    expect(withBoth.token).toBe("raw-token")
    expect(withBoth.resource).toBe(resource)
  })

  it.prop(
    "getPrincipal(fromPrincipal(p)) is p without its internals, from SDK v1's extra and SDK v2's ctx alike",
    [principalArbitrary, optional(FastCheck.string())],
    ([principal, token]) => {
      const authInfo = McpAuthInfo.fromPrincipal(principal, { token })
      const expected = callerOf(principal)
      expect(getPrincipal(v1Extra(authInfo))).toStrictEqual(expected)
      expect(getPrincipal(v2Ctx(authInfo))).toStrictEqual(expected)
      expect(McpAuthInfo.toCaller(authInfo)).toStrictEqual(expected)
      // The same after the AuthInfo went through JSON (a tool result, a log line).
      expect(getPrincipal(v2Ctx(JSON.parse(JSON.stringify(authInfo))))).toStrictEqual(
        JSON.parse(JSON.stringify(expected))
      )
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "keyId and credentialHeader never reach the AuthInfo nor the caller",
    [principalArbitrary],
    ([principal]) => {
      const authInfo = McpAuthInfo.fromPrincipal(principal)
      const caller = getPrincipal(v2Ctx(authInfo))!
      expect("keyId" in caller).toBe(false)
      expect("credentialHeader" in caller).toBe(false)
      expect(Object.keys(authInfo.extra!)).not.toContain("keyId")
      expect(Object.keys(authInfo.extra!)).not.toContain("credentialHeader")
      for (const text of [JSON.stringify(authInfo), JSON.stringify(caller)]) {
        expect(text).not.toContain(JSON.stringify(KEY_ID_MARKER).slice(1, -1))
        expect(text).not.toContain(JSON.stringify(HEADER_MARKER).slice(1, -1))
      }
    },
    { fastCheck: { numRuns: 200 } }
  )

  it("reads v2's ctx.http.authInfo first, v1's extra.authInfo otherwise", () => {
    const alice = McpAuthInfo.fromPrincipal(ALICE)
    const bob = McpAuthInfo.fromPrincipal({ ...ALICE, subject: "bob", identity: "jwt:bob" })
    expect(getPrincipal({ http: { authInfo: alice }, authInfo: bob })?.subject).toBe("alice")
    expect(getPrincipal({ http: {}, authInfo: bob })?.subject).toBe("bob")
    expect(getPrincipal({ http: { req: {} }, authInfo: bob })?.subject).toBe("bob")
  })

  it("returns undefined for no context, an anonymous request, or an AuthInfo from another verifier", () => {
    const foreign = { token: "abc", clientId: "client-1", scopes: ["read"], expiresAt: 1_900_000_000 }
    for (
      const input of [
        undefined,
        null,
        {},
        "authInfo",
        42,
        [],
        v1Extra(undefined),
        v2Ctx(undefined),
        { http: null },
        v1Extra(foreign),
        v2Ctx(foreign),
        v2Ctx({ ...foreign, extra: {} }),
        v2Ctx({ ...foreign, extra: { provider: "oauth", subject: "s", identity: "i" } })
      ]
    ) {
      expect(getPrincipal(input), JSON.stringify(input) ?? String(input)).toBeUndefined()
    }
  })

  it("returns undefined for mcpgate-like extras with a field missing or of the wrong type", () => {
    const good = McpAuthInfo.fromPrincipal(ALICE)
    const spoiled: ReadonlyArray<Record<string, unknown>> = [
      { ...good, extra: { ...good.extra, provider: "JWT" } },
      { ...good, extra: { ...good.extra, provider: undefined } },
      { ...good, extra: { ...good.extra, subject: 1 } },
      { ...good, extra: { ...good.extra, identity: null } },
      { ...good, extra: "jwt" },
      { ...good, extra: null },
      { ...good, clientId: 7 },
      { ...good, scopes: "tools:read" },
      { ...good, scopes: undefined }
    ]
    for (const authInfo of spoiled) {
      expect(getPrincipal(v1Extra(authInfo)), JSON.stringify(authInfo)).toBeUndefined()
      expect(getPrincipal(v2Ctx(authInfo)), JSON.stringify(authInfo)).toBeUndefined()
    }
  })

  it("drops what is not of its type from the optional fields instead of refusing the caller", () => {
    const good = McpAuthInfo.fromPrincipal(ALICE)
    const caller = getPrincipal(v2Ctx({
      ...good,
      scopes: ["tools:read", 3, null, "tools:write"],
      expiresAt: "soon",
      extra: { ...good.extra, keyLabel: 12, claims: "not-an-object" }
    }))
    expect(caller).toStrictEqual({
      provider: "jwt",
      subject: "alice",
      clientId: "alice-client",
      identity: "jwt:https://issuer.example:alice",
      scopes: ["tools:read", "tools:write"]
    })
  })

  it.prop(
    "never throws on random JSON, however it is wrapped, and answers undefined or a well-formed caller",
    [FastCheck.jsonValue()],
    ([value]) => {
      const good = McpAuthInfo.fromPrincipal(ALICE)
      for (
        const input of [
          value,
          v1Extra(value),
          v2Ctx(value),
          { http: value },
          v2Ctx({ ...good, extra: value }),
          v2Ctx({ ...good, scopes: value }),
          v1Extra({ ...(typeof value === "object" ? value : {}), extra: { provider: "api-key", subject: "s", identity: "i" } })
        ]
      ) {
        const caller = getPrincipal(input)
        if (caller !== undefined) {
          expect(["api-key", "jwt", "custom"]).toContain(caller.provider)
          expect(typeof caller.subject).toBe("string")
          expect(typeof caller.clientId).toBe("string")
          expect(typeof caller.identity).toBe("string")
          expect(caller.scopes.every((scope) => typeof scope === "string")).toBe(true)
        }
      }
    },
    { fastCheck: { numRuns: 300 } }
  )
})
