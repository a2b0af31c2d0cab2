/**
 * Contract section 6, steps 1 and 2, on `/mcp`: the preflight is answered without
 * credentials; an `Origin` that is not allowed is refused before anything else; an allowed
 * one is echoed; and a loopback server refuses a `Host` that is not a loopback name
 * (DNS rebinding), credentials or not.
 */
import { describe, expect, it } from "@effect/vitest"
import { apiKeys, KEY_ALICE } from "../fixtures/credentials.js"
import type { RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { apiKey, INITIALIZE, POST_HEADERS, serve } from "./support.js"
import { Bodies } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"

const ALLOW_HEADERS = ["Content-Type", "Accept", "Authorization", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID", "X-API-Key"]

/** The header lines of an answer but those Node manages, names lower-cased. */
const headersOf = (response: RawResponse): Record<string, string> =>
  Object.fromEntries(response.headers.filter(([name]) => !["date", "connection", "keep-alive"].includes(name)))

const expectOriginRefused = (response: RawResponse, vary: boolean) => {
  expect({ statusLine: response.statusLine, headers: headersOf(response), body: response.body }).toEqual({
    statusLine: "HTTP/1.1 403 Forbidden",
    headers: {
      "content-type": "application/json",
      "cache-control": "no-store",
      "content-length": String(Bodies.originNotAllowed.length),
      ...(vary ? { vary: "Origin" } : {})
    },
    body: Bodies.originNotAllowed
  })
}

for (const sdk of ["v1", "v2"] as const) {
  describe(`CORS on /mcp (server ${sdk})`, () => {
    it.scopedLive("OPTIONS /mcp needs no credentials: 204 with the methods and the MCP and credential headers", () => inScope(async (use) => {
      const { base } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() } }))
      const response = await send(base, "OPTIONS", "/mcp", [["Access-Control-Request-Method", "POST"]])

      expect(response.statusLine).toBe("HTTP/1.1 204 No Content")
      expect(response.body).toBe("")
      expect(response.header("access-control-allow-methods")).toBe("GET, POST, DELETE, OPTIONS")
      expect(response.header("access-control-allow-headers")?.split(", ").sort()).toEqual([...ALLOW_HEADERS].sort())
      expect(response.header("www-authenticate")).toBeUndefined()
      // No origins configured: none is granted access.
      expect(response.header("access-control-allow-origin")).toBeUndefined()
    }))

    describe(`cors: { allowOrigin: "https://app.example" }`, () => {
      const cors = { allowOrigin: "https://app.example" }

      it.scopedLive("another Origin gets the exact 403, even with a valid key and even for a preflight", () => inScope(async (use) => {
        const { base, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, cors }))
        const evil: ReadonlyArray<readonly [string, string]> = [["Origin", "https://evil.example"]]

        expectOriginRefused(await send(base, "POST", "/mcp", [...POST_HEADERS, ...evil, ...apiKey(KEY_ALICE)], INITIALIZE), true)
        expectOriginRefused(await send(base, "OPTIONS", "/mcp", [...evil, ["Access-Control-Request-Method", "POST"]]), true)
        // Refused before authentication: no credentials is the same 403, not a 401.
        expectOriginRefused(await send(base, "POST", "/mcp", [...POST_HEADERS, ...evil], INITIALIZE), true)
        expect(server.sessionCount).toBe(0)
      }))

      it.scopedLive("the allowed origin is echoed on the preflight, on the answer, and on a 401", () => inScope(async (use) => {
        const { base, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, cors }))
        const app: ReadonlyArray<readonly [string, string]> = [["Origin", "https://app.example"]]

        const preflight = await send(base, "OPTIONS", "/mcp", [...app, ["Access-Control-Request-Method", "POST"]])
        expect(preflight.status).toBe(204)
        expect(preflight.header("access-control-allow-origin")).toBe("https://app.example")
        expect(preflight.header("vary")).toBe("Origin")

        const initialized = await send(base, "POST", "/mcp", [...POST_HEADERS, ...app, ...apiKey(KEY_ALICE)], INITIALIZE)
        expect(initialized.status).toBe(200)
        expect(initialized.header("access-control-allow-origin")).toBe("https://app.example")
        // A browser client must be able to read its session id.
        expect(initialized.header("access-control-expose-headers")?.split(", ")).toContain("Mcp-Session-Id")
        expect(server.sessionCount).toBe(1)

        const refused = await send(base, "POST", "/mcp", [...POST_HEADERS, ...app], INITIALIZE)
        expect(refused.status).toBe(401)
        expect(refused.body).toBe(Bodies.apiKey)
        expect(refused.header("access-control-allow-origin")).toBe("https://app.example")
      }))

      it.scopedLive("a request without Origin (not a browser) is not refused", () => inScope(async (use) => {
        const { base } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, cors }))
        const initialized = await send(base, "POST", "/mcp", [...POST_HEADERS, ...apiKey(KEY_ALICE)], INITIALIZE)
        expect(initialized.status).toBe(200)
        expect(initialized.header("access-control-allow-origin")).toBeUndefined()
      }))
    })

    it.scopedLive(`cors: { allowOrigin: "*" }: an authenticated request from any origin gets that origin echoed`, () => inScope(async (use) => {
      const { base } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, cors: { allowOrigin: "*" } }))
      for (const origin of ["https://anywhere.example", "http://localhost:5173"]) {
        const response = await send(base, "POST", "/mcp", [...POST_HEADERS, ["Origin", origin], ...apiKey(KEY_ALICE)], INITIALIZE)
        expect(response.status).toBe(200)
        expect(response.header("access-control-allow-origin")).toBe(origin)
      }
    }))

    it.scopedLive("DNS rebinding: Host evil.example on the loopback server gets the 403, even with a valid key", () => inScope(async (use) => {
      const { base, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() } }))
      for (const host of ["evil.example", `evil.example:${base.port}`, "127.0.0.1.evil.example"]) {
        expectOriginRefused(await send(base, "POST", "/mcp", [["Host", host], ...POST_HEADERS, ...apiKey(KEY_ALICE)], INITIALIZE), false)
      }
      expect(server.sessionCount).toBe(0)
      // Loopback names are served.
      for (const host of [`localhost:${base.port}`, `127.0.0.1:${base.port}`]) {
        const response = await send(base, "POST", "/mcp", [["Host", host], ...POST_HEADERS, ...apiKey(KEY_ALICE)], INITIALIZE)
        expect(response.status, host).toBe(200)
      }
    }))
  })
}

it.scopedLive("DNS rebinding on the SSE transport: GET /sse with Host evil.example gets the 403", () => inScope(async (use) => {
  const { base, server } = await use(serve("v2", "sse", { auth: { provider: apiKeys() } }))
  expectOriginRefused(await send(base, "GET", "/sse", [["Host", "evil.example"], ...apiKey(KEY_ALICE)]), false)
  expect(server.sessionCount).toBe(0)
}))
