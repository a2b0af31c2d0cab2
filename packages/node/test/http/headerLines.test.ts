/**
 * A request with more header lines than the server reads is refused with 431 before anything
 * looks at its headers, rather than judged on the lines Node kept. The attack: Node stops
 * keeping lines past its limit, so a second `X-API-Key` placed after enough padding would
 * never be seen, and the duplicate-credential rule (contract section 3) would be skipped.
 */
import { describe, expect, it } from "@effect/vitest"
import type { AuthProvider } from "@mcpgate/auth-core"
import { ConfigurationError } from "@mcpgate/auth-core"
import { NodeGuard, NodeHttp, SseServer } from "@mcpgate/node"
import type { SseTransport } from "@mcpgate/node"
import * as Effect from "effect/Effect"
import { apiKeyProvider, KEY_ALICE, KEY_BOB } from "@mcpgate/testing/credentials"
import { Answer, Bodies } from "@mcpgate/testing/contract"
import type { Expected } from "@mcpgate/testing/contract"
import type { HeaderLines } from "@mcpgate/testing/wire"
import { build, exchange, expectAnswer } from "@mcpgate/testing/wire"
import { ping, serve } from "./harness.js"
import { acquire, httpServer, inScope } from "@mcpgate/testing/scoped"



/** The 431 written out here, independently of the library (Node adds `Connection: close`). */
const tooLarge: Expected = {
  statusLine: "HTTP/1.1 431 Request Header Fields Too Large",
  headers: {
    "content-type": "application/json",
    "cache-control": "no-store",
    "content-length": String(Buffer.byteLength(Bodies.headerFieldsTooLarge))
  },
  body: Bodies.headerFieldsTooLarge
}

/**
 * On a server of one's own, the 431 of whoever refused first: ours, or on Node 22 and later,
 * whose parser refuses more lines than its server keeps, Node's own, without a body. Either
 * way the request is refused before anything reads its headers.
 */
const expectRefusedOnOwnServer = (response: Awaited<ReturnType<typeof exchange>>) => {
  if (response.body === "") expect(response.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large")
  else expectAnswer(response, tooLarge)
}

/** `count` short header lines (`a:0`): 5 bytes each, so thousands fit in Node's 16 KiB head. */
const padding = (count: number): HeaderLines => Array.from({ length: count }, (_, i) => [`a`, String(i % 10)] as const)

/** Alice's key, `count` padding lines, then Bob's key: two credential lines, far apart. */
const smuggled = (count: number): HeaderLines => [["X-API-Key", KEY_ALICE], ...padding(count), ["X-API-Key", KEY_BOB]]

/** A provider that counts its checks, to show the refusal comes before any. */
const counting = () => {
  const service = apiKeyProvider().service
  let checks = 0
  const provider: AuthProvider.Service = {
    ...service,
    authenticate: (request) => Effect.suspend(() => (checks++, service.authenticate(request)))
  }
  return { provider, checks: () => checks }
}

describe("more header lines than the server reads: 431, before anything else", () => {
  it.scopedLive("2,100 padding lines between two X-API-Key lines: 431 with the contract's body, no provider run, no budget spent", () => inScope(async (use) => {
    const { provider, checks } = counting()
    const server = await use(serve({ auth: { provider, endpoints: { sse: true } }, rateLimit: { maxFailures: 1 } }))
    for (const [method, path] of [["GET", "/sse"], ["POST", "/messages?sessionId=x"], ["GET", "/health"], ["GET", "/elsewhere"]]) {
      const response = await exchange(server.url, build(server.url, method!, path!, smuggled(2100), method === "POST" ? ping(1) : undefined))
      expectAnswer(response, tooLarge)
      // The connection goes with the refusal: nothing more is read from it.
      expect(response.header("connection")).toBe("close")
    }
    expect(checks()).toBe(0)
    // Nothing was spent: with a budget of one failure, a valid key is still served.
    const stream = await server.open([["X-API-Key", KEY_ALICE]])
    expect(stream.id).toMatch(/^[0-9a-f-]{36}$/)
  }))

  it.scopedLive("below the limit the second line is seen, and the request is the malformed one it is (401)", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } }))
    expectAnswer(await server.ask("GET", "/sse", smuggled(1900)), Answer.apiKey())
  }))

  it.scopedLive("the limit is maxHeadersCount: 20 lines pass, 21 are refused", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, maxHeadersCount: 20 }))
    // Host, then 19 more: 20 lines.
    expectAnswer(await server.ask("GET", "/health", padding(19)), Answer.health())
    expectAnswer(await server.ask("GET", "/health", padding(20)), tooLarge)
  }))

  it.scopedLive("SseServer.make on a server of one's own, with Node's defaults (1,000 lines kept): 431 wherever lines may be gone", () => inScope(async (use) => {
    const sse = SseServer.unsafeMake({
      auth: { provider: apiKeyProvider(), endpoints: { sse: true } },
      onSession: (transport: SseTransport) => transport.start(),
      rateLimit: false
    })
    const { url } = await use(httpServer(sse.handle))
    // Released first: the endpoint closes before the server it is mounted on.
    await use(acquire(() => sse, (endpoint) => endpoint.close()))
    // Node keeps 1,000 lines here: Bob's line after 1,100 padding lines never reaches `headers`.
    expectRefusedOnOwnServer(await exchange(url, build(url, "GET", "/sse", smuggled(1100))))
    expectAnswer(await exchange(url, build(url, "GET", "/sse", smuggled(900))), Answer.apiKey())
  }))

  it.scopedLive("NodeGuard in front of a handler on a server of one's own: 431, and the handler never runs", () => inScope(async (use) => {
    const { checks, provider } = counting()
    let served = 0
    const guard = NodeGuard.unsafeMake({ provider, rateLimit: false })
    const { url } = await use(httpServer(async (request, response) => {
      if ((await guard.authenticate(request, response)) === undefined) return
      served++
      response.end("served")
    }))
    expectRefusedOnOwnServer(await exchange(url, build(url, "GET", "/mcp", smuggled(1100))))
    expect([served, checks()]).toEqual([0, 0])
    expectAnswer(await exchange(url, build(url, "GET", "/mcp", smuggled(900))), Answer.apiKey())
  }))

  it.scopedLive("listen's server reads one line beyond the limit, so that it sees the excess", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, maxHeadersCount: 50 }))
    expect(server.running.server.maxHeadersCount).toBe(51)
    const defaults = await use(serve({ auth: { provider: apiKeyProvider() } }))
    expect(defaults.running.server.maxHeadersCount).toBe(NodeHttp.DEFAULT_MAX_HEADERS_COUNT + 1)
  }))

  it("maxHeadersCount must be a positive whole number", () => {
    for (const bad of [0, -1, 1.5, "20"]) {
      expect(() =>
        SseServer.unsafeMake({ auth: { provider: apiKeyProvider() }, onSession: () => {}, maxHeadersCount: bad as number })
      ).toThrow(ConfigurationError.ConfigurationError)
    }
    expect(() => SseServer.unsafeMake({ auth: { provider: apiKeyProvider() }, onSession: () => {}, maxHeadersCount: 0 })).toThrow(
      "maxHeadersCount: 0 is not a positive whole number"
    )
  })
})
