/**
 * Contract section 6, steps 1 and 2, on the wire: a disallowed `Origin` is refused before
 * anything else; an allowed one is echoed on every answer; preflights are answered without
 * authentication; on a loopback server a `Host` that is not loopback is refused (DNS rebinding).
 */
import { AuthProvider } from "@mcpgate/auth-core"
import { SseServer } from "@mcpgate/node"
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as os from "node:os"
import { apiKeyProvider, jwtProvider, KEY_ALICE, tokenFor } from "@mcpgate/testing/credentials"
import { Answer } from "@mcpgate/testing/contract"
import { ask, exchange, expectAnswer, headersOf, requestBytes } from "@mcpgate/testing/wire"
import { ping, serve } from "./harness.js"
import { inScope } from "@mcpgate/testing/scoped"


const APP = "https://app.example"
const OTHER_APP = "http://localhost:5173"
const EVIL = "https://evil.example"
const ALICE = ["X-API-Key", KEY_ALICE] as const
const JSON_CT = ["Content-Type", "application/json"] as const
const VARY = { vary: "Origin" } as const
const granted = (origin: string) => ({
  "access-control-allow-origin": origin,
  "access-control-expose-headers": "Mcp-Session-Id, WWW-Authenticate",
  vary: "Origin"
})

const withOrigins = (extra: { sse?: boolean } = {}) =>
  serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: extra.sse ?? false } }, allowedOrigins: [APP, OTHER_APP] })

/** Origins (scheme, host, port) that are not among the allowed ones. */
const otherOrigins = FastCheck.webUrl().map((url) => new URL(url).origin).filter((o) => o !== APP && o !== OTHER_APP)

describe("with allowedOrigins, a disallowed Origin gets 403 before anything else", () => {
  it.scopedLive.each([
    ["the public health route", "GET", "/health", []],
    ["an unknown path (not 404)", "GET", "/nope", []],
    ["a preflight", "OPTIONS", "/messages", []],
    ["a POST without credentials (not 401)", "POST", "/messages?sessionId=x", [JSON_CT]],
    ["a POST with a valid key", "POST", "/messages?sessionId=x", [JSON_CT, ALICE]],
    ["the stream", "GET", "/sse", [ALICE]]
  ] as const)("%s", ([_, method, path, headers]) => inScope(async (use) => {
    const server = await use(withOrigins({ sse: true }))
    const response = await server.ask(method, path, [["Origin", EVIL], ...headers], method === "POST" ? ping(1) : undefined)
    expectAnswer(response, Answer.originNotAllowed(VARY))
    expect(server.running.sse.sessionCount()).toBe(0)
  }))

  it.scopedLive.each([
    ["`null` (a sandboxed page or a file)", [["Origin", "null"]]],
    ["an allowed origin with a trailing slash", [["Origin", `${APP}/`]]],
    ["an allowed host over another scheme", [["Origin", "http://app.example"]]],
    ["an allowed host on another port", [["Origin", "https://app.example:8443"]]],
    ["an allowed origin in upper case", [["Origin", APP.toUpperCase()]]],
    ["an empty Origin", [["Origin", ""]]],
    ["two Origin lines, both allowed", [["Origin", APP], ["Origin", APP]]]
  ] as const)("Origin %s is not allowed", ([_, headers]) => inScope(async (use) => {
    const server = await use(withOrigins())
    expectAnswer(await server.ask("GET", "/health", headers), Answer.originNotAllowed(VARY))
  }))

  it.scopedLive("any origin not configured gets the exact 403", () => inScope(async (use) => {
    const server = await use(withOrigins())
    await FastCheck.assert(
      FastCheck.asyncProperty(otherOrigins, async (origin) => {
        expectAnswer(await server.ask("GET", "/sse", [["Origin", origin]]), Answer.originNotAllowed(VARY))
      }),
      { numRuns: 40 }
    )
  }))
})

describe("with allowedOrigins, an allowed Origin is echoed on every answer", () => {
  it.scopedLive.each([APP, OTHER_APP] as const)("health for %s: the origin itself, exposed headers, Vary", (origin) => inScope(async (use) => {
    const server = await use(withOrigins())
    expectAnswer(await server.ask("GET", "/health", [["Origin", origin]]), Answer.health(granted(origin)))
  }))

  it.scopedLive("a 401, so that a browser client can read WWW-Authenticate", () => inScope(async (use) => {
    const server = await use(withOrigins())
    expectAnswer(
      await server.ask("POST", "/messages?sessionId=x", [["Origin", APP], JSON_CT], ping(1)),
      Answer.apiKey("X-API-Key", granted(APP))
    )
  }))

  it.scopedLive("404, 405, 202 and the stream head", () => inScope(async (use) => {
    const server = await use(withOrigins())
    const origin = ["Origin", APP] as const
    expectAnswer(await server.ask("GET", "/nope", [origin]), Answer.notFound(granted(APP)))
    expectAnswer(await server.ask("PUT", "/sse", [origin]), Answer.methodNotAllowed("GET, OPTIONS", granted(APP)))
    const session = await server.open([origin])
    expect(headersOf(session.stream.response)).toMatchObject(granted(APP))
    expectAnswer(await server.post(session.id, [origin, ALICE]), Answer.accepted(granted(APP)))
  }))

  it.scopedLive("a request without Origin (not a browser) passes, with Vary and no grant", () => inScope(async (use) => {
    const server = await use(withOrigins())
    expectAnswer(await server.ask("GET", "/health", []), Answer.health(VARY))
  }))
})

describe("preflight: 204 without authentication", () => {
  const REQUIRED = ["Content-Type", "Accept", "Authorization", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID"]
  const allowHeaders = (value: string | undefined) => (value ?? "").split(",").map((name) => name.trim().toLowerCase())

  it.scopedLive("for an allowed origin, on both endpoints, with credentials required on both", () => inScope(async (use) => {
    const server = await use(withOrigins({ sse: true }))
    for (const [path, methods] of [["/sse", "GET, OPTIONS"], ["/messages", "POST, OPTIONS"]] as const) {
      const response = await server.ask("OPTIONS", path, [
        ["Origin", APP],
        ["Access-Control-Request-Method", methods.split(",")[0]!],
        ["Access-Control-Request-Headers", "x-api-key, content-type"]
      ])
      expect(response.statusLine).toBe("HTTP/1.1 204 No Content")
      expect(headersOf(response)).toEqual({
        ...granted(APP),
        "access-control-allow-methods": methods,
        "access-control-allow-headers":
          "Content-Type, Accept, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-API-Key",
        "access-control-max-age": "600"
      })
      expect(response.body).toBe("")
    }
  }))

  it.scopedLive.each([
    ["the API-key provider", () => apiKeyProvider(), ["X-API-Key"]],
    ["a custom API-key header", () => apiKeyProvider({ headerName: "X-Custom-Key" }), ["X-Custom-Key"]],
    ["a custom JWT header", () => jwtProvider({ headerName: "X-Token" }), ["X-Token"]],
    [
      "both providers",
      () => AuthProvider.firstOf(apiKeyProvider({ headerName: "X-Custom-Key" }).service, jwtProvider({ headerName: "X-Token" }).service),
      ["X-Custom-Key", "X-Token"]
    ]
  ] as const)("with %s, the allowed headers include the credential header and the MCP headers", ([_, provider, names]) => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: provider() }, allowedOrigins: [APP] }))
    const response = await server.ask("OPTIONS", "/messages", [["Origin", APP]])
    expect(response.status).toBe(204)
    const allowed = allowHeaders(response.header("access-control-allow-headers"))
    for (const name of [...REQUIRED, ...names]) expect(allowed).toContain(name.toLowerCase())
    expect(response.header("access-control-expose-headers")).toContain("Mcp-Session-Id")
  }))

  it.scopedLive("a preflight carrying bad credentials is still 204: credentials are not looked at", () => inScope(async (use) => {
    const server = await use(withOrigins({ sse: true }))
    const response = await server.ask("OPTIONS", "/sse", [["Origin", APP], ["X-API-Key", "x"], ["X-API-Key", "y"]])
    expect(response.statusLine).toBe("HTTP/1.1 204 No Content")
  }))

  it.scopedLive("a preflight for an unknown path: 404", () => inScope(async (use) => {
    const server = await use(withOrigins())
    expectAnswer(await server.ask("OPTIONS", "/nope", [["Origin", APP]]), Answer.notFound(granted(APP)))
  }))

  it.scopedLive("without allowedOrigins, a preflight from the server's own origin is 204 but grants no origin", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const response = await server.ask("OPTIONS", "/sse", [["Origin", `http://${server.host}`]])
    expect(response.statusLine).toBe("HTTP/1.1 204 No Content")
    expect(response.header("access-control-allow-origin")).toBeUndefined()
    expect(response.header("access-control-allow-methods")).toBe("GET, OPTIONS")
  }))
})

describe("on a loopback server without allowedOrigins, only the server's own origin gets through", () => {
  it.scopedLive("any other origin gets the 403 on every route, before authentication, and grants nothing", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } }))
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.oneof(otherOrigins, FastCheck.constantFrom(APP, "null", "http://127.0.0.1", "http://localhost:1")), async (origin) => {
        const line = ["Origin", origin] as const
        expectAnswer(await server.ask("GET", "/health", [line]), Answer.originNotAllowed())
        expectAnswer(await server.ask("OPTIONS", "/sse", [line]), Answer.originNotAllowed())
        expectAnswer(await server.ask("POST", "/messages?sessionId=x", [line, JSON_CT, ALICE], ping(1)), Answer.originNotAllowed())
      }),
      { numRuns: 30 }
    )
    expect(server.running.sse.sessionCount()).toBe(0)
  }))

  it.scopedLive("the server's own origin, in any letter case, gets the plain answer: no CORS headers, no Vary", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    for (const origin of [`http://${server.host}`, `HTTP://${server.host.toUpperCase()}`]) {
      expectAnswer(await server.ask("GET", "/health", [["Origin", origin]]), Answer.health())
    }
  }))

  it.scopedLive("a page's no-cors requests without a credential spend none of the loopback address's budget", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, rateLimit: { maxFailures: 3 } }))
    // What a page the user visits can send: simple requests, a foreign Origin, no credential.
    for (let i = 0; i < 25; i++) {
      const response = await server.ask("POST", "/messages?sessionId=x", [["Origin", EVIL], ["Content-Type", "text/plain"]], ping(i))
      expectAnswer(response, Answer.originNotAllowed())
    }
    // The user's own client, with its key, is still served (a 404 for this unknown session, after auth).
    const mine = await server.ask("POST", "/messages?sessionId=x", [JSON_CT, ALICE], ping(99))
    expect(mine.status).toBe(404)
  }))
})

describe("on a loopback server, Host must name a loopback host (DNS rebinding)", () => {
  it.scopedLive.each([
    ["evil.example"],
    ["evil.example:80"],
    ["localhost.evil.example"],
    ["127.0.0.1.evil.example"],
    ["127.0.0.1:80@evil.example"],
    ["[::2]"],
    ["0.0.0.0"],
    ["192.0.2.2"]
  ] as const)("`Host: %s` gets 403 on every route, before authentication", ([host]) => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } }))
    const hostLine = ["Host", host] as const
    expectAnswer(await server.ask("GET", "/health", [hostLine]), Answer.originNotAllowed())
    expectAnswer(await server.ask("GET", "/sse", [hostLine, ALICE]), Answer.originNotAllowed())
    expectAnswer(await server.ask("POST", "/messages?sessionId=x", [hostLine, JSON_CT, ALICE], ping(1)), Answer.originNotAllowed())
    expectAnswer(await server.ask("GET", "/nope", [hostLine]), Answer.originNotAllowed())
    expectAnswer(await server.ask("OPTIONS", "/sse", [hostLine]), Answer.originNotAllowed())
    expect(server.running.sse.sessionCount()).toBe(0)
  }))

  it.scopedLive("any non-loopback domain name is refused", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const domains = FastCheck.domain().filter((domain) => domain.toLowerCase() !== "localhost")
    await FastCheck.assert(
      FastCheck.asyncProperty(domains, FastCheck.option(FastCheck.integer({ min: 1, max: 65535 })), async (domain, port) => {
        const host = port === null ? domain : `${domain}:${port}`
        expectAnswer(await server.ask("GET", "/health", [["Host", host]]), Answer.originNotAllowed())
      }),
      { numRuns: 40 }
    )
  }))

  it.scopedLive("each loopback spelling passes: localhost, 127.x, [::1], with or without port, any case", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const port = server.url.port
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, "localhost", "LOCALHOST", `LocalHost:${port}`, "127.0.0.1", "127.1.2.3:80", `[::1]:${port}`, "[::1]"]) {
      expectAnswer(await server.ask("GET", "/health", [["Host", host]]), Answer.health())
    }
  }))

  it.scopedLive("a stream and a message through `Host: localhost:<port>` work end to end", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const hostLine = ["Host", `localhost:${server.url.port}`] as const
    const session = await server.open([])
    expectAnswer(await server.ask("POST", `/messages?sessionId=${session.id}`, [hostLine, JSON_CT, ALICE], ping(1)), Answer.accepted())
  }))

  it.scopedLive("two Host lines, both loopback: 403", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    expectAnswer(await server.ask("GET", "/health", [["Host", server.host], ["Host", server.host]]), Answer.originNotAllowed())
  }))

  it.scopedLive("an HTTP/1.0 request without Host: 403", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    expectAnswer(await exchange(server.url, requestBytes("GET /health HTTP/1.0", [])), Answer.originNotAllowed())
  }))

  it.scopedLive("the Host check holds even for an allowed Origin", () => inScope(async (use) => {
    const server = await use(withOrigins())
    expectAnswer(await server.ask("GET", "/health", [["Host", "evil.example"], ["Origin", APP]]), Answer.originNotAllowed(VARY))
  }))

  it("an IPv6 loopback server accepts `Host: [::1]:<port>` and refuses another host", async () => {
    const running = await SseServer.listen({ auth: { provider: jwtProvider() }, onSession: (t) => t.start(), port: 0, host: "::1" })
    try {
      expect(running.url.hostname).toBe("[::1]")
      expectAnswer(await ask(running.url, "GET", "/health", [["Host", `[::1]:${running.url.port}`]]), Answer.health())
      expectAnswer(await ask(running.url, "GET", "/health", [["Host", "evil.example"]]), Answer.originNotAllowed())
      const token = await tokenFor("alice")
      expectAnswer(
        await ask(running.url, "POST", "/messages?sessionId=x", [["Authorization", `Bearer ${token}`], JSON_CT], ping(1)),
        Answer.sessionNotFound()
      )
    } finally {
      await running.close()
    }
  })
})

const externalAddress = Object.values(os.networkInterfaces())
  .flat()
  .find((info) => info !== undefined && info.family === "IPv4" && !info.internal)?.address

describe("with allowedHosts, Host must be one of them, on any socket", () => {
  it.scopedLive("a listed name with the server's port passes; a loopback name or another name gets 403", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, allowedHosts: ["mcp.example.com"] }))
    const port = server.url.port
    expectAnswer(await server.ask("GET", "/health", [["Host", `mcp.example.com:${port}`]]), Answer.health())
    expectAnswer(await server.ask("GET", "/health", [["Host", "MCP.example.com"]]), Answer.health())
    expectAnswer(await server.ask("GET", "/health", [["Host", `127.0.0.1:${port}`]]), Answer.originNotAllowed())
    expectAnswer(await server.ask("GET", "/health", [["Host", "evil.example"]]), Answer.originNotAllowed())
  }))

  it.scopedLive("a host with a scheme or a port is a configuration error", () => inScope(async (use) => {
    await expect(use(serve({ auth: { provider: apiKeyProvider() }, allowedHosts: ["https://mcp.example.com"] }))).rejects
      .toThrow("is not a host name")
  }))
})

describe("on a server bound to a non-loopback address, Host is not restricted", () => {
  it.skipIf(externalAddress === undefined)("`Host: evil.example` is served (names are the proxy's business there)", async () => {
    const running = await SseServer.listen({ auth: { provider: apiKeyProvider() }, onSession: (t) => t.start(), port: 0, host: externalAddress! })
    try {
      expectAnswer(await ask(running.url, "GET", "/health", [["Host", "evil.example"]]), Answer.health())
      expectAnswer(await ask(running.url, "POST", "/messages?sessionId=x", [["Host", "mcp.example.com"], JSON_CT], ping(1)), Answer.apiKey())
    } finally {
      await running.close()
    }
  })
})
