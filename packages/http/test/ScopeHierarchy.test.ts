/**
 * `ScopeHierarchy` (MCP 2026-07-28: "Servers MUST account for scope hierarchies, where a
 * broader scope implies narrower ones"): the option is checked at startup (scope tokens,
 * no cycle), implication is reflexive and transitive, and a caller granted a broad scope
 * passes every check, endpoint or tool, that its narrower scopes pass.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { ScopeHierarchy, ServerOptions, ToolScopes } from "@mcpgate/http"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"

const problemsOf = (options: unknown): string => {
  const decoded = ScopeHierarchy.decode(options)
  if (Either.isRight(decoded)) throw new Error("expected a refusal")
  expect(decoded.left).toBeInstanceOf(ConfigurationError)
  return decoded.left.message
}

const FILES = ScopeHierarchy.unsafeMake({
  admin: "*",
  "files:write": ["files:read"],
  "files:read": ["files:list"],
  root: ["admin"]
})

describe("ScopeHierarchy", () => {
  describe("the option", () => {
    it("reads broad scope → narrower scopes, transitively, and \"*\" for every scope", () => {
      expect(ScopeHierarchy.satisfies(FILES, ["files:write"], "files:list")).toBe(true)
      expect(ScopeHierarchy.satisfies(FILES, ["files:read"], "files:write")).toBe(false)
      expect(ScopeHierarchy.satisfies(FILES, ["admin"], "anything:at-all")).toBe(true)
      // A scope that implies a universal one is universal too.
      expect(ScopeHierarchy.satisfies(FILES, ["root"], "deploy:write")).toBe(true)
      expect(ScopeHierarchy.missing(FILES, ["files:read"], ["files:write", "files:list", "ops"])).toEqual(["files:write", "ops"])
    })

    it("matches exactly without a hierarchy", () => {
      expect(ScopeHierarchy.satisfies(ScopeHierarchy.empty, ["files:write"], "files:read")).toBe(false)
      expect(ScopeHierarchy.satisfies(ScopeHierarchy.empty, ["files:read"], "files:read")).toBe(true)
    })

    it("refuses a cycle, naming its path", () => {
      expect(problemsOf({ a: ["b"], b: ["c"], c: ["a"] })).toContain("has a cycle (a → b → c → a)")
      expect(problemsOf({ "files:write": ["files:write"] })).toContain("has a cycle (files:write → files:write)")
    })

    it("refuses scopes that are not RFC 6749 scope tokens, empty lists and other shapes, by scope", () => {
      expect(problemsOf({ "files write": ["a"] })).toContain("\"files write\" is not a scope")
      expect(problemsOf({ admin: ["ok", "not ok"] })).toContain("admin: \"not ok\" is not a scope")
      expect(problemsOf({ admin: [] })).toContain("admin: must list the narrower scopes it implies")
      expect(problemsOf({ admin: "all" })).toContain("admin: must list the narrower scopes it implies, e.g. [\"files:read\"], or be \"*\"")
      for (const bad of [null, [], "admin", new Map()]) expect(problemsOf(bad)).toContain("scopeHierarchy must be an object")
    })

    it("keeps `__proto__` as a scope name like any other", () => {
      const hierarchy = ScopeHierarchy.unsafeMake(JSON.parse(`{"__proto__":["x"]}`))
      expect(ScopeHierarchy.satisfies(hierarchy, ["__proto__"], "x")).toBe(true)
      expect(ScopeHierarchy.satisfies(hierarchy, ["constructor"], "x")).toBe(false)
    })

    it("names the narrower scopes nothing requires or announces: a misspelling is a startup error", () => {
      const hierarchy = ScopeHierarchy.unsafeMake({ "files:write": ["files:raed"], admin: "*" })
      expect(ScopeHierarchy.unknownScopes(hierarchy, ["files:read"])).toEqual(["files:raed"])
      expect(ServerOptions.scopesKnown({ scopeHierarchy: hierarchy, toolScopes: ToolScopes.unsafeMake({ read: ["files:read"] }) }))
        .toBe(
          "scopeHierarchy names \"files:raed\", which no toolScopes, requiredScopes or protectedResource.scopesSupported " +
            "names: a misspelling? Name it there, or leave it out"
        )
      expect(ServerOptions.scopesKnown({ scopeHierarchy: hierarchy, protectedResource: { scopesSupported: ["files:raed"] } }))
        .toBe(true)
      expect(ServerOptions.scopesKnown({ scopeHierarchy: hierarchy, requiredScopes: ["files:raed"] })).toBe(true)
    })
  })

  describe("for all hierarchies", () => {
    const SCOPES = ["a", "b", "c", "d", "e", "f"]
    const scope = FastCheck.constantFrom(...SCOPES)
    // Edges only from an earlier scope to a later one: never a cycle. A few scopes imply all.
    const hierarchy = FastCheck.record({
      edges: FastCheck.array(FastCheck.tuple(scope, scope), { maxLength: 12 }),
      universal: FastCheck.subarray(SCOPES, { maxLength: 1 })
    }).map(({ edges, universal }) => {
      const options: Record<string, Array<string> | "*"> = {}
      for (const [from, to] of edges) {
        const [broad, narrow] = from < to ? [from, to] : [to, from]
        if (broad === narrow || universal.includes(broad)) continue
        options[broad] = [...new Set([...(options[broad] === "*" ? [] : options[broad] ?? []), narrow])]
      }
      for (const broad of universal) options[broad] = "*"
      return ScopeHierarchy.unsafeMake(options)
    })

    it.prop("implication is reflexive", { hierarchy, x: scope }, ({ hierarchy, x }) => {
      expect(ScopeHierarchy.implies(hierarchy, x, x)).toBe(true)
    })

    it.prop("implication is transitive", { hierarchy, x: scope, y: scope, z: scope }, ({ hierarchy, x, y, z }) => {
      if (ScopeHierarchy.implies(hierarchy, x, y) && ScopeHierarchy.implies(hierarchy, y, z)) {
        expect(ScopeHierarchy.implies(hierarchy, x, z)).toBe(true)
      }
    })

    it.prop(
      "a caller granted a broad scope passes every check its narrower scopes pass, endpoint and tool scopes alike",
      {
        hierarchy,
        broad: scope,
        held: FastCheck.subarray(SCOPES),
        required: FastCheck.subarray(SCOPES, { maxLength: 2 }),
        tool: FastCheck.subarray(SCOPES, { minLength: 1, maxLength: 2 })
      },
      ({ broad, held, hierarchy, required, tool }) => {
        const narrower = held.filter((s) => ScopeHierarchy.implies(hierarchy, broad, s))
        const policy = ToolScopes.policyOf({
          toolScopes: ToolScopes.unsafeMake({ t: tool }),
          requiredScopes: required,
          scopeHierarchy: hierarchy
        })
        const body = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "t" } }
        if (ToolScopes.check(policy, body, narrower) === undefined) expect(ToolScopes.check(policy, body, [broad])).toBeUndefined()
        if (ToolScopes.check(policy, undefined, narrower) === undefined) {
          expect(ToolScopes.check(policy, undefined, [broad])).toBeUndefined()
        }
      }
    )
  })
})
