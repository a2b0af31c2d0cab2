/**
 * The limits of `MCPServer` and `McpHttp.layer` on both transports, as an attacker meets them:
 * - a request with more header lines than the server reads (`maxHeadersCount`, default
 *   2,000) is refused with 431 before any route or provider, `/metrics` included, so a
 *   second `X-API-Key` cannot hide behind 2,100 padding lines; `StreamableHttp.make` mounted
 *   on a server with Node's defaults refuses where that server may have dropped lines;
 * - the caps on open legacy SSE streams reach `SseServer` from both APIs, and bad values
 *   are refused at construction.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, McpHttp, MCPServer, StreamableHttp } from "@mcpgate/mcp-sdk"
import { McpServer } from "@modelcontextprotocol/server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { apiKeys, KEY_ALICE, KEY_BOB } from "../fixtures/credentials.js"
import { Bodies } from "@mcpgate/testing/contract"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { openGet, send } from "@mcpgate/testing/wire"
import { apiKey, INITIALIZE, POST_HEADERS, serve } from "./support.js"
import { mountEndpoint } from "../fixtures/mount.js"
import { inScope, onClose } from "@mcpgate/testing/scoped"

const HEADER_FIELDS_TOO_LARGE = `${Bodies.headerFieldsTooLarge}`
const TOO_MANY_SESSIONS = `${Bodies.tooManySessions}`

/** `count` short header lines (`a:0`), so that thousands fit in Node's 16 KiB head. */
const padding = (count: number): HeaderLines => Array.from({ length: count }, (_, i) => ["a", String(i % 10)] as const)

/** Alice's key, `count` padding lines, then Bob's key. */
const smuggled = (count: number): HeaderLines => [...apiKey(KEY_ALICE), ...padding(count), ...apiKey(KEY_BOB)]

/**
 * On a server of one's own, the 431 of whoever refused first: ours, or on Node 22 and later,
 * whose parser refuses more lines than its server keeps, Node's own, without a body. Either
 * way the request is refused before anything reads its headers.
 */
const expectRefusedOnOwnServer = (response: RawResponse) => {
  if (response.body === "") expect(response.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large")
  else expect431(response)
}

const expect431 = (response: RawResponse) => {
  expect(response.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large")
  expect(response.body).toBe(HEADER_FIELDS_TOO_LARGE)
  expect(response.header("content-type")).toBe("application/json")
  expect(response.header("cache-control")).toBe("no-store")
  expect(response.header("connection")).toBe("close")
}

describe("more header lines than the server reads: 431", () => {
  for (const transport of ["http-stream", "sse"] as const) {
    it.scopedLive(`MCPServer (${transport}): 2,100 padding lines before a second X-API-Key, on every path, /metrics included`, () => inScope(async (use) => {
      const { base } = await use(serve("v2", transport, { auth: { provider: apiKeys() }, metricsEndpoint: "/metrics" }))
      const paths = transport === "sse" ? ["/sse", "/messages?sessionId=x"] : ["/mcp"]
      for (const path of [...paths, "/health", "/metrics", "/elsewhere"]) {
        expect431(await send(base, "POST", path, [...POST_HEADERS, ...smuggled(2100)], INITIALIZE))
      }
    }))
  }

  it.scopedLive("MCPServer: maxHeadersCount sets the limit (20 lines pass, 21 do not); a real client is served under it", () => inScope(async (use) => {
    const { base } = await use(serve("v2", "http-stream", { auth: { provider: apiKeys() }, maxHeadersCount: 20 }))
    // `send` adds Host and Connection: 18 more make 20.
    expect((await send(base, "GET", "/health", padding(18))).status).toBe(200)
    expect431(await send(base, "GET", "/health", padding(19)))
    const served = await send(base, "POST", "/mcp", [...POST_HEADERS, ...apiKey(KEY_ALICE)], INITIALIZE)
    expect(served.status, served.body).toBe(200)
  }))

  it.scopedLive("StreamableHttp.make on a server with Node's defaults (1,000 lines kept): 431 past them, the duplicate seen below", () => inScope(async (use) => {
    const endpoint = await StreamableHttp.makePromise({
      auth: { provider: apiKeys() },
      createServer: () => new McpServer({ name: "limits", version: "1.0.0" }),
      rateLimit: false
    })
    const base = await use(mountEndpoint(endpoint))
    // A GET: Node 22 closes the connection with its own 431 before a body could be sent.
    expectRefusedOnOwnServer(await send(base, "GET", "/mcp", smuggled(1100)))
    const duplicate = await send(base, "POST", "/mcp", [...POST_HEADERS, ...smuggled(900)], INITIALIZE)
    expect(duplicate.status).toBe(401)
    expect(duplicate.body).toBe(Bodies.apiKey)
  }))

  it("is a positive whole number, refused at construction", () => {
    expect(
      () => new MCPServer({ transport: { type: "sse", options: { auth: { provider: apiKeys() }, maxHeadersCount: 0 } } })
    ).toThrow("0 is not a positive whole number")
  })
})

describe("the caps on open SSE streams reach the legacy transport", () => {
  it.scopedLive("MCPServer: a second anonymous stream from one client past maxAnonymousStreamsPerClient: 1 is a 429", () => inScope(async (use) => {
    const { base } = await use(serve("v2", "sse", { auth: { provider: apiKeys() }, maxAnonymousStreamsPerClient: 1 }))
    const stream = await openGet(base, "/sse", [])
    await use(onClose(() => stream.close()))
    const refused = await send(base, "GET", "/sse")
    expect(refused.status).toBe(429)
    expect(refused.body).toBe(TOO_MANY_SESSIONS)
    expect(Number(refused.header("retry-after"))).toBeGreaterThanOrEqual(1)
    // With a credential, the client is served.
    const own = await openGet(base, "/sse", apiKey(KEY_ALICE))
    await use(onClose(() => own.close()))
  }))

  it.scopedLive("McpHttp.layer: the same through sse options", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        McpHttp.layer({ port: 0, register: () => {}, sse: { maxAnonymousStreamsPerClient: 1 } }).pipe(
          Layer.provide(ApiKey.layer({ keys: [KEY_ALICE] }))
        )
      )
      const base = Context.get(context, McpHttp.McpHttp).url
      const stream = yield* Effect.acquireRelease(Effect.promise(() => openGet(base, "/sse", [])), (s) => Effect.sync(s.close))
      expect(stream.response.status).toBe(200)
      const refused = yield* Effect.promise(() => send(base, "GET", "/sse"))
      expect(refused.status).toBe(429)
      expect(refused.body).toBe(TOO_MANY_SESSIONS)
    }))

  it("bad caps are refused at construction, by MCPServer and by McpHttp.layer", async () => {
    expect(
      () =>
        new MCPServer({
          transport: { type: "sse", options: { auth: { provider: apiKeys() }, maxStreams: 4, maxAnonymousStreams: 4 } }
        })
    ).toThrow("maxAnonymousStreams (4) must be below maxStreams (4)")
    expect(
      () => new MCPServer({ transport: { type: "sse", options: { auth: { provider: apiKeys() }, anonymousStreamTimeout: 0 } } })
    ).toThrow("must be more than 0 seconds")
    const exit = await Effect.runPromiseExit(Effect.scoped(Layer.build(
      McpHttp.layer({ port: 0, register: () => {}, sse: { maxAnonymousStreams: 2000 } }).pipe(
        Layer.provide(ApiKey.layer({ keys: [KEY_ALICE] }))
      )
    )))
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("must be below maxStreams (1000)")
  })
})
