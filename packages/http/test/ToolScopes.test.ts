/**
 * `ToolScopes`: the option is checked at startup (tool names, RFC 6749 scope tokens, at
 * least one per tool) and kept in a `Map`; a body calling a tool without all its scopes
 * gets the contract's 403 whose challenge lists every scope of the refused tools, once.
 */
import { describe, expect, it } from "@effect/vitest"
import { ToolScopes } from "@mcpgate/http"
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

    it("refuses a whole batch for one refused call, listing the scopes of every refused tool once", () => {
      const batch = [call("whoami", 1), call("search", 2), call("deploy", 3), call("deploy", 4)]
      expect(ToolScopes.refusedScopes(TOOLS, batch, [])).toEqual(["docs:read", "deploy:write", "ops"])
      expect(ToolScopes.refusedScopes(TOOLS, batch, ["docs:read"])).toEqual(["deploy:write", "ops"])
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
})
