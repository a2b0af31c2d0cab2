/**
 * A real browser: Chromium runs a page with an MCP SDK v2 client, served from one loopback
 * origin, against servers on another origin that name the page's origin as allowed. What a
 * browser enforces is what is checked: the preflight passes (else `fetch` fails), the page can
 * read `WWW-Authenticate` and `Mcp-Session-Id` only when the server exposes them, and a wrong
 * key shows our exact 401 body in the page.
 */
import { describe, expect, layer } from "@effect/vitest"
import type { Vitest } from "@effect/vitest"
import { StreamableHttp } from "@mcpgate/mcp-sdk"
import { Bodies, Challenge } from "@mcpgate/testing/contract"
import { apiKeyProvider, KEY_ALICE } from "@mcpgate/testing/credentials"
import { acquire, httpServer, inScope } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { getRequestListener } from "@hono/node-server"
import type { Browser } from "playwright-core"
import type { LoadedPage } from "./support/browser.js"
import { chromium, openPage, pageOrigin } from "./support/browser.js"
import { createHandler } from "./fixtures/server.js"
import { bothChallenges } from "./support/answers.js"
import { toolServer } from "./fixtures/tools.js"

/** Chromium, the page's origin, and another origin serving the same page, shared by every test of the file. */
class BrowserAndPage extends Context.Tag("BrowserAndPage")<BrowserAndPage, {
  readonly browser: Browser
  readonly origin: URL
  /** An origin the servers do not allow. */
  readonly otherOrigin: URL
}>() {}

const browserAndPage = Layer.scoped(BrowserAndPage, Effect.all({ browser: chromium, origin: pageOrigin, otherOrigin: pageOrigin }))

const WRONG_KEY = "mcp_test_wrong_0000000000"

/** A page, a server and an SDK client in a second on this machine; far more when all the runtimes start at once. */
const TEST_TIMEOUT_MS = 30_000

/** An MCP `initialize` as a client sends it. */
const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "page", version: "1.0.0" } }
})

const postHeaders = (key: string) => ({
  "X-API-Key": key,
  "Content-Type": "application/json",
  Accept: "application/json, text/event-stream"
})

/** A server under test: its `/mcp` URL and each request's method and final status, in order. */
interface Server {
  readonly url: URL
  readonly seen: ReadonlyArray<string>
}

/** The Node Streamable HTTP server, allowing the page's origin, on a loopback port of its own. */
const nodeServer = (use: Use, page: URL): Promise<Server> =>
  use(Effect.gen(function*() {
    const endpoint = yield* acquire(
      () =>
        StreamableHttp.makePromise({
          auth: { provider: apiKeyProvider() },
          createServer: toolServer,
          allowedOrigins: [page.origin]
        }),
      (endpoint) => endpoint.close()
    )
    const seen: Array<string> = []
    const { url } = yield* httpServer((request, response) => {
      response.on("finish", () => seen.push(`${request.method} ${response.statusCode}`))
      endpoint.handle(request, response)
    })
    return { url: new URL("/mcp", url), seen }
  }))

/**
 * mcpgate's Fetch handler (the server of the shared suite, allowing the page's origin) behind
 * @hono/node-server in this process; the client's address is the socket's.
 */
const fetchServer = (use: Use, page: URL): Promise<Server> =>
  use(Effect.gen(function*() {
    const handler = yield* acquire(
      () => createHandler({ clientAddress: (_request, env) => env.incoming.socket.remoteAddress }, { allowedOrigins: [page.origin] }),
      (handler) => handler.close()
    )
    const seen: Array<string> = []
    // The globals stay Node's own: this process runs the other servers too.
    const listener = getRequestListener(handler.fetch, { overrideGlobalObjects: false })
    const { url } = yield* httpServer((request, response) => {
      response.on("finish", () => seen.push(`${request.method} ${response.statusCode}`))
      void listener(request, response)
    })
    return { url: new URL("/mcp", url), seen }
  }))

type It = Vitest.MethodsNonLive<BrowserAndPage, true>

/**
 * A test with a fresh server (`serve`, allowing the page's origin) and a fresh page of that
 * origin, or of the other origin when `fromOtherOrigin`.
 */
const withServerAndPage = (
  serve: (use: Use, page: URL) => Promise<Server>,
  body: (server: Server, page: LoadedPage) => Promise<void>,
  fromOtherOrigin = false
) =>
() =>
  Effect.flatMap(BrowserAndPage, ({ browser, origin, otherOrigin }) =>
    inScope(async (use) => {
      const server = await serve(use, origin)
      await body(server, await use(openPage(browser, fromOtherOrigin ? otherOrigin : origin)))
    }))

/** What every server shows the page; `challenge` is its `WWW-Authenticate` for a wrong key. */
const pageChecks = (it: It, serve: (use: Use, page: URL) => Promise<Server>, challenge: string) => {
  it.scoped(
    "a valid key passes the preflight and reaches a tool through the SDK client",
    withServerAndPage(serve, async (server, page) => {
      const call = await page.call("callTool", server.url.href, { "X-API-Key": KEY_ALICE }, "whoami")
      expect(call.text).toBe("alice")
      expect(server.seen).toContain("OPTIONS 204")
      expect(await page.shown()).toContain("whoami: alice")
    }),
    TEST_TIMEOUT_MS
  )

  it.scoped(
    "a wrong key: the page reads our exact 401 body and the WWW-Authenticate challenge",
    withServerAndPage(serve, async (server, page) => {
      const answer = await page.call("request", server.url.href, { method: "POST", headers: postHeaders(WRONG_KEY), body: INITIALIZE })
      expect(answer).toStrictEqual({ status: 401, wwwAuthenticate: challenge, sessionId: null, body: Bodies.apiKey })
      const message = await page.call("connectionError", server.url.href, { "X-API-Key": WRONG_KEY })
      expect(message).toBe(`Error POSTing to endpoint: ${Bodies.apiKey}`)
      expect(await page.shown()).toContain(Bodies.apiKey)
    }),
    TEST_TIMEOUT_MS
  )

  it.scoped(
    "a page of an origin not allowed: the preflight is refused, so the browser sends nothing and shows nothing",
    withServerAndPage(serve, async (server, page) => {
      const request = page.call("request", server.url.href, { method: "POST", headers: postHeaders(KEY_ALICE), body: INITIALIZE })
      await expect(request).rejects.toThrow("Failed to fetch")
      expect(server.seen).toStrictEqual(["OPTIONS 403"])
    }, true),
    TEST_TIMEOUT_MS
  )
}

layer(browserAndPage, { timeout: "60 seconds", excludeTestServices: true })("a page in Chromium, on another origin", (it) => {
  describe("against the Node Streamable HTTP server", () => {
    pageChecks(it, nodeServer, Challenge.apiKey())

    it.scoped(
      "reads Mcp-Session-Id from the answer to initialize, and the session it names serves the page",
      withServerAndPage(nodeServer, async (server, page) => {
        const initialized = await page.call("request", server.url.href, { method: "POST", headers: postHeaders(KEY_ALICE), body: INITIALIZE })
        expect(initialized.status).toBe(200)
        expect(initialized.sessionId).toMatch(/^[\x21-\x7e]+$/)
        const listed = await page.call("request", server.url.href, {
          method: "POST",
          headers: { ...postHeaders(KEY_ALICE), "Mcp-Session-Id": initialized.sessionId!, "Mcp-Protocol-Version": "2025-06-18" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" })
        })
        expect(listed.status).toBe(200)
        expect(listed.body).toContain("\"whoami\"")
      }),
      TEST_TIMEOUT_MS
    )
  })

  // Stateless (SDK v2's createMcpHandler): no Mcp-Session-Id to read; its exposure is checked by
  // the shared suite, and reading it in a page by the Node server's tests above.
  describe("against mcpgate's Fetch handler", () => {
    pageChecks(it, fetchServer, bothChallenges())
  })
})
