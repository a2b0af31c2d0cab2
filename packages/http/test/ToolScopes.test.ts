/**
 * `ToolScopes`: the option is checked at startup (tool names, RFC 6749 scope tokens, at
 * least one per tool) and kept in a `Map`; a body calling a tool without all its scopes
 * gets the contract's 403 whose challenge lists every scope of the refused tools, once.
 */
import { describe, expect, it } from "@effect/vitest"
import { ScopeHierarchy, ToolScopes } from "@mcpgate/http"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as Either from "effect/Either"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"

const call = (name: unknown, id: number | undefined = 1) => ({
  jsonrpc: "2.0",
  ...(id === undefined ? {} : { id }),
  method: "tools/call",
  params: { name, arguments: {} }
})

const problemsOf = (options: unknown): string => {
  const decoded = ToolScopes.decode(options)
  if (Either.isRight(decoded)) throw new Error("expected a refusal")
  expect(decoded.left).toBeInstanceOf(ConfigurationError)
  return decoded.left.message
}

const TOOLS = ToolScopes.unsafeMake({ deploy: ["deploy:write", "ops"], search: ["docs:read"] })

describe("ToolScopes", () => {
  describe("the option", () => {
    it("decodes to a Map, each scope once", () => {
      const decoded = ToolScopes.unsafeMake({ deploy: ["a", "b", "a"], search: ["c"] })
      expect(decoded).toBeInstanceOf(Map)
      expect([...decoded]).toEqual([["deploy", ["a", "b"]], ["search", ["c"]]])
    })

    it("keeps `__proto__` and `constructor` as tool names, never as object machinery", () => {
      const decoded = ToolScopes.unsafeMake(JSON.parse(`{"__proto__":["root"],"constructor":["ctor"],"toString":["x"]}`))
      expect([...decoded.keys()]).toEqual(["__proto__", "constructor", "toString"])
      expect(ToolScopes.refusedScopes(decoded, call("__proto__"), [])).toEqual(["root"])
      expect(ToolScopes.refusedScopes(decoded, call("constructor"), ["ctor"])).toEqual([])
      expect(ToolScopes.refusedScopes(decoded, call("hasOwnProperty"), [])).toEqual([])
      expect(ToolScopes.refusedScopes(ToolScopes.empty, call("constructor"), [])).toEqual([])
    })

    it("refuses a tool without scopes: leave it out to require none", () => {
      expect(problemsOf({ deploy: [] })).toContain("deploy: must list at least one scope")
    })

    it("refuses scopes that are not RFC 6749 scope tokens", () => {
      for (const bad of ["two words", "quote\"d", "back\\slash", "", "tab\there", "é", 7]) {
        expect(problemsOf({ deploy: ["ok", bad] })).toContain(`deploy: ${JSON.stringify(bad)} is not a scope`)
      }
    })

    it("refuses an empty tool name, a list that is not an array, and a value that is not a plain object", () => {
      expect(problemsOf({ "": ["a"] })).toContain("a tool name must not be empty")
      expect(problemsOf({ deploy: "deploy:write" })).toContain("deploy: must be a list of scopes")
      for (const bad of [[], ["deploy"], null, "deploy", new Map([["deploy", ["a"]]])]) {
        expect(problemsOf(bad)).toContain("toolScopes must be an object of tool name → scopes")
      }
    })

    it("reports every problem at once", () => {
      const message = problemsOf({ a: [], b: ["x y"], c: ["fine"] })
      expect(message).toContain("a: must list at least one scope")
      expect(message).toContain("b: \"x y\" is not a scope")
      expect(message).not.toContain("c:")
    })
  })

  describe("the check", () => {
    it("lets a caller with every required scope call the tool", () => {
      expect(ToolScopes.check(TOOLS, call("deploy"), ["ops", "deploy:write", "more"])).toBeUndefined()
    })

    it("refuses a caller missing one scope with the contract's 403, listing all the tool's scopes", () => {
      expect(ToolScopes.check(TOOLS, call("deploy"), ["deploy:write"])).toStrictEqual({
        status: 403,
        headers: {
          ...JSON_HEADERS,
          "www-authenticate": `Bearer realm="mcp", error="insufficient_scope", scope="deploy:write ops"`
        },
        body: Bodies.insufficientScope
      })
    })

    it("names the protected-resource metadata when there is one", () => {
      const url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
      expect(ToolScopes.check(TOOLS, call("search"), [], { resourceMetadata: url })?.headers["www-authenticate"]).toBe(
        `Bearer realm="mcp", error="insufficient_scope", scope="docs:read", resource_metadata="${url}"`
      )
    })

    it("lets anyone call a tool that is not in the map, and any other method", () => {
      expect(ToolScopes.check(TOOLS, call("whoami"), [])).toBeUndefined()
      expect(ToolScopes.check(TOOLS, { jsonrpc: "2.0", id: 1, method: "tools/list" }, [])).toBeUndefined()
      expect(ToolScopes.check(TOOLS, { jsonrpc: "2.0", id: 1, method: "prompts/get", params: { name: "deploy" } }, []))
        .toBeUndefined()
    })

    it("refuses a whole batch for one refused call, listing every scope the batch needs once, held or not", () => {
      const batch = [call("whoami", 1), call("search", 2), call("deploy", 3), call("deploy", 4)]
      expect(ToolScopes.refusedScopes(TOOLS, batch, [])).toEqual(["docs:read", "deploy:write", "ops"])
      // MCP 2026-07-28: every scope of the operation in one challenge, so one re-authorization does.
      expect(ToolScopes.refusedScopes(TOOLS, batch, ["docs:read"])).toEqual(["docs:read", "deploy:write", "ops"])
      expect(ToolScopes.refusedScopes(TOOLS, batch, ["docs:read", "ops", "deploy:write"])).toEqual([])
    })

    it("counts a tools/call sent as a notification too", () => {
      expect(ToolScopes.refusedScopes(TOOLS, call("search", undefined), [])).toEqual(["docs:read"])
    })

    it("finds no tool in bodies that call none: odd shapes pass to the transport's own validation", () => {
      for (const body of [null, 7, "deploy", [], [null], { method: "tools/call" }, { method: "tools/call", params: ["deploy"] }, call(7)]) {
        expect(ToolScopes.refusedScopes(TOOLS, body, [])).toEqual([])
      }
    })

    it("does nothing without tool scopes", () => {
      expect(ToolScopes.check(ToolScopes.empty, call("deploy"), [])).toBeUndefined()
    })
  })

  describe("with requiredScopes and a hierarchy (a policy)", () => {
    const POLICY = ToolScopes.policyOf({
      toolScopes: ToolScopes.unsafeMake({ read: ["files:read"], deploy: ["deploy:write", "ops"] }),
      requiredScopes: ["mcp"],
      scopeHierarchy: ScopeHierarchy.unsafeMake({ admin: "*", "files:write": ["files:read"] })
    })
    const challengeOf = (body: unknown, held: ReadonlyArray<string>) =>
      ToolScopes.check(POLICY, body, held)?.headers["www-authenticate"]

    it("lets a broad scope pass where a narrower one is required", () => {
      expect(ToolScopes.check(POLICY, call("read"), ["mcp", "files:write"])).toBeUndefined()
      expect(ToolScopes.check(POLICY, call("deploy"), ["admin"])).toBeUndefined()
      expect(ToolScopes.check(POLICY, undefined, ["admin"])).toBeUndefined()
    })

    it("refuses a request without the required scopes, a body or none, naming them first, then the tools'", () => {
      expect(challengeOf(undefined, [])).toBe(`Bearer realm="mcp", error="insufficient_scope", scope="mcp"`)
      expect(challengeOf(call("whoami"), ["files:read"])).toBe(`Bearer realm="mcp", error="insufficient_scope", scope="mcp"`)
      expect(challengeOf(call("read"), ["files:write"])).toBe(`Bearer realm="mcp", error="insufficient_scope", scope="mcp files:read"`)
      expect(challengeOf([call("read", 1), call("deploy", 2)], ["mcp", "files:read", "ops"])).toBe(
        `Bearer realm="mcp", error="insufficient_scope", scope="mcp files:read deploy:write ops"`
      )
    })

    it("never names offline_access in a challenge (MCP 2026-07-28, refresh tokens)", () => {
      const policy = ToolScopes.policyOf({ toolScopes: ToolScopes.unsafeMake({ sync: ["offline_access", "sync"] }) })
      expect(ToolScopes.check(policy, call("sync"), [])?.headers["www-authenticate"]).toBe(
        `Bearer realm="mcp", error="insufficient_scope", scope="sync"`
      )
    })

    it("gives SDK v2 tools a scopeChallenge that decides the same way and names the same scopes", () => {
      const challenge = ToolScopes.scopeChallenge(["files:read"], POLICY)
      expect(challenge({ authInfo: { scopes: ["mcp", "files:write"] } })).toBeUndefined()
      expect(challenge({ authInfo: { scopes: ["files:write"] } })).toEqual({ scopes: ["mcp", "files:read"] })
      expect(ToolScopes.refusedScopes(POLICY, call("read"), ["files:write"])).toEqual(["mcp", "files:read"])
      // Unauthenticated: the SDK's authentication gate answers, as its own `requireScopes` leaves it.
      expect(challenge({})).toBeUndefined()
      expect(ToolScopes.scopeChallenge(["a"])({ authInfo: { scopes: ["b"] } })).toEqual({ scopes: ["a"] })
    })
  })
})
