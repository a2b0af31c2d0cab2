/**
 * `McpHeaders.check` (docs/behaviour.md#mcp-headers; MCP 2026-07-28, Streamable HTTP,
 * "Server Validation"): `Mcp-Method` and `Mcp-Name` must agree with the body they travel
 * with, byte for byte after decoding, or the request gets the contract's 400.
 */
import { describe, expect, it } from "@effect/vitest"
import { McpHeaders } from "@mcpgate/http"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import * as FastCheck from "effect/FastCheck"

// The answers to a request of id 1, as every `call` below is.
const METHOD_400 = { status: 400, headers: JSON_HEADERS, body: Bodies.mcpMethodMismatch(1) }
const NAME_400 = { status: 400, headers: JSON_HEADERS, body: Bodies.mcpNameMismatch(1) }

const call = (name: string, meta?: string) => ({
  jsonrpc: "2.0",
  id: 1,
  method: "tools/call",
  params: { name, arguments: {}, ...(meta === undefined ? {} : { _meta: { "io.modelcontextprotocol/protocolVersion": meta } }) }
})
const sentinel = (value: string) => `=?base64?${btoa(String.fromCharCode(...new TextEncoder().encode(value)))}?=`

describe("McpHeaders.check", () => {
  it("passes headers that agree with the body, in any case of their names", () => {
    expect(McpHeaders.check({ "Mcp-Method": "tools/call", "MCP-NAME": "deploy" }, call("deploy"))).toBeUndefined()
    expect(McpHeaders.check(new Headers({ "mcp-method": "tools/call" }), call("deploy"))).toBeUndefined()
    const read = { jsonrpc: "2.0", id: 2, method: "resources/read", params: { uri: "file:///a b.txt" } }
    expect(McpHeaders.check({ "mcp-method": "resources/read", "mcp-name": "file:///a b.txt" }, read)).toBeUndefined()
    const task = { jsonrpc: "2.0", id: 3, method: "tasks/get", params: { taskId: "t-1" } }
    expect(McpHeaders.check({ "mcp-method": "tasks/get", "mcp-name": "t-1" }, task)).toBeUndefined()
  })

  it("refuses a method or a name that differs, by case too: header values are case-sensitive", () => {
    expect(McpHeaders.check({ "mcp-method": "tools/list" }, call("deploy"))).toEqual(METHOD_400)
    expect(McpHeaders.check({ "mcp-method": "Tools/Call" }, call("deploy"))).toEqual(METHOD_400)
    expect(McpHeaders.check({ "mcp-method": "tools/call", "mcp-name": "search" }, call("deploy"))).toEqual(NAME_400)
    expect(McpHeaders.check({ "mcp-method": "tools/call", "mcp-name": "Deploy" }, call("deploy"))).toEqual(NAME_400)
  })

  it("answers with the request's own id, a string as well as a number", () => {
    expect(McpHeaders.check({ "mcp-method": "tools/list" }, { ...call("deploy"), id: "req-7" })).toEqual({
      ...METHOD_400,
      body: Bodies.mcpMethodMismatch("req-7")
    })
  })

  it("refuses a header sent twice", () => {
    expect(McpHeaders.check({ "mcp-method": ["tools/call", "tools/call"] }, call("deploy"))).toEqual(METHOD_400)
    expect(McpHeaders.check({ "mcp-name": ["deploy", "deploy"] }, call("deploy"))).toEqual(NAME_400)
  })

  it("decodes the Base64 sentinel before comparing; raw non-ASCII, control characters and bad sentinels are refused", () => {
    expect(McpHeaders.check({ "mcp-name": sentinel("météo 天气") }, call("météo 天气"))).toBeUndefined()
    expect(McpHeaders.check({ "mcp-name": sentinel(" padded ") }, call(" padded "))).toBeUndefined()
    expect(McpHeaders.check({ "mcp-name": sentinel("=?base64?x?=") }, call("=?base64?x?="))).toBeUndefined()
    // Node hands a raw byte 0xE9 on as "é": it must have come Base64-encoded.
    expect(McpHeaders.check({ "mcp-name": "m\u00e9teo" }, call("m\u00e9teo"))).toEqual(NAME_400)
    expect(McpHeaders.check({ "mcp-name": "a\u0001b" }, call("a\u0001b"))).toEqual(NAME_400)
    for (const bad of ["=?base64?not base64?=", "=?base64?QQ?=", `=?base64?${btoa("\xff\xfe")}?=`, "=?BASE64?ZGVwbG95?="]) {
      expect(McpHeaders.check({ "mcp-name": bad }, call("deploy"))).toEqual(NAME_400)
    }
  })

  it("refuses an Mcp-Name on a message with nothing to mirror", () => {
    expect(McpHeaders.check({ "mcp-name": "deploy" }, { jsonrpc: "2.0", id: 1, method: "tools/list" })).toEqual(NAME_400)
    expect(McpHeaders.check({ "mcp-name": "deploy" }, { jsonrpc: "2.0", id: 1, result: {} })).toEqual(NAME_400)
    expect(McpHeaders.check({ "mcp-method": "tools/call" }, { jsonrpc: "2.0", id: 1, result: {} })).toEqual(METHOD_400)
  })

  it("allows missing headers before 2026-07-28, and requires them of a 2026-07-28 request", () => {
    expect(McpHeaders.check({}, call("deploy"))).toBeUndefined()
    expect(McpHeaders.check({ "mcp-protocol-version": "2025-06-18" }, call("deploy"))).toBeUndefined()
    expect(McpHeaders.check({ "mcp-protocol-version": "2026-07-28" }, call("deploy"))).toEqual(METHOD_400)
    expect(McpHeaders.check({ "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call" }, call("deploy"))).toEqual(NAME_400)
    expect(McpHeaders.check({}, call("deploy", "2026-07-28"))).toEqual(METHOD_400)
    expect(McpHeaders.check({ "mcp-method": "tools/call", "mcp-name": "deploy" }, call("deploy", "2026-07-28"))).toBeUndefined()
    // Notifications are exempt from presence, not from agreement.
    const note = { jsonrpc: "2.0", method: "notifications/initialized" }
    expect(McpHeaders.check({ "mcp-protocol-version": "2026-07-28" }, note)).toBeUndefined()
    expect(McpHeaders.check({ "mcp-method": "notifications/cancelled" }, note)).toEqual({ ...METHOD_400, body: Bodies.mcpMethodMismatch(null) })
  })

  it("refuses either header on a batch, which names no single method", () => {
    const batch = [call("deploy"), call("deploy")]
    expect(McpHeaders.check({ "mcp-method": "tools/call" }, batch)).toEqual({ ...METHOD_400, body: Bodies.mcpMethodMismatch(null) })
    expect(McpHeaders.check({ "mcp-name": "deploy" }, batch)).toEqual({ ...NAME_400, body: Bodies.mcpNameMismatch(null) })
    expect(McpHeaders.check({}, batch)).toBeUndefined()
  })

  it.prop(
    "for any tool name, its header form (plain when it can be, the sentinel otherwise) agrees, and any other name does not",
    { name: FastCheck.string({ unit: "grapheme", minLength: 1 }), other: FastCheck.string({ minLength: 1 }) },
    ({ name, other }) => {
      const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(name) && !/^=\?base64\?.*\?=$/.test(name)
      const header = plain ? name : sentinel(name)
      expect(McpHeaders.check({ "mcp-method": "tools/call", "mcp-name": header }, call(name))).toBeUndefined()
      if (other !== name) expect(McpHeaders.check({ "mcp-method": "tools/call", "mcp-name": header }, call(other))).toEqual(NAME_400)
    }
  )
})
