/**
 * `StreamableHttp.make`: options checked at startup (a `ConfigurationError`, as an async
 * rejection), the endpoint mounted on one's own `node:http` server and served to real SDK
 * clients of both lines, the SDK line chosen by `sdk`, and `close()` closing the sessions.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { StreamableHttp } from "@mcpgate/mcp-sdk"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js"
import { McpServer as McpServerV2 } from "@modelcontextprotocol/server"
import { apiKeys, jwts, KEY_ALICE, KEY_BOB, tokenFor } from "./fixtures/credentials.js"
import type { Sdk, Seen } from "./fixtures/mcp.js"
import { connect, registerWhoami } from "./fixtures/mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { Bodies } from "@mcpgate/testing/contract"
import { mountEndpoint } from "./fixtures/mount.js"
import { inScope, onClose } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"



/** What a tool handler was given, per call. */
interface Shape {
  readonly http: boolean
  readonly requestInfo: boolean
  readonly clientId: string | undefined
}

/** An SDK server of `line` with `whoami` and `shape`, which records the handler's argument. */
const serverFactory = (line: Sdk, seen: Array<Seen>, shapes: Array<Shape>) => () => {
  const server: any = line === "v1"
    ? new McpServerV1({ name: "test-v1", version: "1.0.0" })
    : new McpServerV2({ name: "test-v2", version: "1.0.0" })
  registerWhoami(seen)(server)
  server.registerTool("shape", { description: "What the handler got" }, async (extraOrCtx: any) => {
    shapes.push({
      http: extraOrCtx?.http !== undefined,
      requestInfo: extraOrCtx?.requestInfo !== undefined,
      clientId: (extraOrCtx?.http?.authInfo ?? extraOrCtx?.authInfo)?.clientId
    })
    return { content: [{ type: "text", text: "ok" }] }
  })
  return server
}

/** Mounts `handle` on a fresh `node:http` server on 127.0.0.1, closed after the test; its base and `path` there. */
const mount = async (use: Use, endpoint: StreamableHttp.StreamableHttpServer, path = "/mcp") => {
  const base = await use(mountEndpoint(endpoint))
  return { base, url: new URL(path, base) }
}

const connected = async (use: Use, ...args: Parameters<typeof connect>) => {
  const client = await connect(...args)
  await use(onClose(() => client.close().catch(() => {})))
  return client
}

/** The error `make` rejects with; it must not throw synchronously. */
const refusalOf = async (options: unknown): Promise<ConfigurationError> => {
  let made: Promise<unknown> | undefined
  expect(() => {
    made = StreamableHttp.makePromise(options as StreamableHttp.StreamableHttpOptions)
  }).not.toThrow()
  const error = await rejectionOf(made!)
  expect(error).toBeInstanceOf(ConfigurationError)
  return error as ConfigurationError
}

const createServer = () => new McpServerV2({ name: "unused", version: "1.0.0" })

describe("StreamableHttp.make", () => {
  describe("refuses bad options with a ConfigurationError, as a rejection", () => {
    it("an unknown (misspelled) option, naming it", async () => {
      const error = await refusalOf({ auth: { provider: apiKeys() }, createServer, endpont: "/mcp" })
      expect(error.message).toContain("endpont")
    })

    it("an unknown key inside auth (Streamable HTTP has no open endpoints)", async () => {
      const error = await refusalOf({ auth: { provider: apiKeys(), endpoints: { messages: false } }, createServer })
      expect(error.message).toContain("endpoints")
    })

    it("an endpoint that is not a path", async () => {
      for (const endpoint of ["mcp", "/mcp?x=1", "/mcp#top", "/m cp", "", "https://example.com/mcp"]) {
        const error = await refusalOf({ auth: { provider: apiKeys() }, createServer, endpoint })
        expect(error.message, endpoint).toContain("is not a path")
      }
    })

    it("an endpoint equal to the health endpoint, default or chosen", async () => {
      for (
        const options of [
          { endpoint: "/health" },
          { endpoint: "/status", healthEndpoint: "/status" }
        ]
      ) {
        const error = await refusalOf({ auth: { provider: apiKeys() }, createServer, ...options })
        expect(error.message).toContain("is used twice: every endpoint needs a path of its own")
      }
    })

    it("a missing createServer, or one that is not a function", async () => {
      await refusalOf({ auth: { provider: apiKeys() } })
      const error = await refusalOf({ auth: { provider: apiKeys() }, createServer: new McpServerV2({ name: "x", version: "1" }) })
      expect(error.message).toContain("createServer")
    })

    it("a missing or foreign provider, an unknown SDK line, a bad response mode or idle timeout", async () => {
      for (
        const options of [
          { createServer },
          { auth: {}, createServer },
          { auth: { provider: { verify: () => true } }, createServer },
          { auth: { provider: apiKeys() }, createServer, sdk: "v3" },
          { auth: { provider: apiKeys() }, createServer, responseMode: "json" },
          { auth: { provider: apiKeys() }, createServer, sessionIdleTimeout: 0 },
          { auth: { provider: apiKeys() }, createServer, allowedOrigins: ["https://app.example.com/"] }
        ]
      ) {
        await refusalOf(options)
      }
    })

    it("accepts the same options once corrected", async () => {
      const endpoint = await StreamableHttp.makePromise({ auth: { provider: apiKeys() }, createServer, endpoint: "/status", healthEndpoint: false })
      expect(endpoint.sessionCount()).toBe(0)
      await endpoint.close()
    })
  })

  describe("mounted on one's own node:http server", () => {
    for (const line of ["v2", "v1"] as const) {
      it.scopedLive(`sdk: "${line}" serves real v2 and v1 clients, each tool sees the caller`, () => inScope(async (use) => {
        const seen: Array<Seen> = []
        const shapes: Array<Shape> = []
        const endpoint = await StreamableHttp.makePromise({
          auth: { provider: apiKeys() },
          sdk: line,
          createServer: serverFactory(line, seen, shapes)
        })
        const { url } = await mount(use, endpoint)

        const v2 = await connected(use, "v2", "http-stream", url, { "x-api-key": KEY_ALICE })
        const v1 = await connected(use, "v1", "http-stream", url, { "x-api-key": KEY_BOB })
        expect(await v2.toolNames()).toEqual(["whoami", "shape"])
        expect(await v2.whoami()).toMatchObject({ provider: "api-key", clientId: "alice", scopes: ["tools:read"] })
        expect(await v1.whoami()).toMatchObject({ provider: "api-key", clientId: "bob", scopes: [] })
        expect(endpoint.sessionCount()).toBe(2)
        expect(v2.sessionId()).toMatch(/^[0-9a-f-]{36}$/)

        // The credential header is not handed to tools.
        for (const { headers } of seen) expect(headers["x-api-key"]).toBeUndefined()
      }))
    }

    it.scopedLive("the SDK line decides what tools get: v2 a ctx with http, v1 an extra with requestInfo", () => inScope(async (use) => {
      for (const line of ["v2", "v1"] as const) {
        const shapes: Array<Shape> = []
        const endpoint = await StreamableHttp.makePromise({
          auth: { provider: apiKeys() },
          sdk: line,
          createServer: serverFactory(line, [], shapes)
        })
        const { url } = await mount(use, endpoint)
        const client = new Client({ name: "shape-client", version: "1.0.0" })
        await client.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { "x-api-key": KEY_ALICE } } }))
        await use(onClose(() => client.close()))
        await client.callTool({ name: "shape", arguments: {} })
        expect(shapes, line).toEqual([
          line === "v2"
            ? { http: true, requestInfo: false, clientId: "alice" }
            : { http: false, requestInfo: true, clientId: "alice" }
        ])
      }
    }))

    it.scopedLive("answers before authentication: 404 elsewhere, health; then the contract's 401 without credentials", () => inScope(async (use) => {
      const endpoint = await StreamableHttp.makePromise({ auth: { provider: apiKeys() }, createServer })
      const { base, url } = await mount(use, endpoint)
      const notFound = await fetch(new URL("/elsewhere", base))
      expect(notFound.status).toBe(404)
      const health = await fetch(new URL("/health", base))
      expect(health.status).toBe(200)
      expect(await health.text()).toBe("{\"ok\":true}")
      const refused = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: "{}"
      })
      expect(refused.status).toBe(401)
      expect(refused.headers.get("www-authenticate")).toBe("ApiKey realm=\"mcp\", header=\"X-API-Key\"")
      expect(await refused.text()).toBe(Bodies.apiKey)
      await expect(connect("v2", "http-stream", url, {})).rejects.toBeDefined()
      expect(endpoint.sessionCount()).toBe(0)
    }))

    it.scopedLive("a chosen endpoint is served there, and the default path is then unknown", () => inScope(async (use) => {
      const endpoint = await StreamableHttp.makePromise({
        auth: { provider: jwts() },
        endpoint: "/api/mcp",
        createServer: serverFactory("v2", [], [])
      })
      const { base, url } = await mount(use, endpoint, "/api/mcp")
      const client = await connected(use, "v2", "http-stream", url, { authorization: `Bearer ${await tokenFor("alice")}` })
      expect(await client.whoami()).toMatchObject({ provider: "jwt", subject: "alice" })
      expect((await fetch(new URL("/mcp", base), { method: "POST" })).status).toBe(404)
    }))

    it.scopedLive("close() closes every session: the count drops to 0 and the next request finds no session", () => inScope(async (use) => {
      const endpoint = await StreamableHttp.makePromise({ auth: { provider: apiKeys() }, createServer: serverFactory("v2", [], []) })
      const { url } = await mount(use, endpoint)
      const alice = await connected(use, "v2", "http-stream", url, { "x-api-key": KEY_ALICE })
      const bob = await connected(use, "v1", "http-stream", url, { "x-api-key": KEY_BOB })
      expect(await alice.whoami()).toMatchObject({ clientId: "alice" })
      expect(await bob.whoami()).toMatchObject({ clientId: "bob" })
      expect(endpoint.sessionCount()).toBe(2)
      const sessionId = alice.sessionId()!

      await endpoint.close()
      expect(endpoint.sessionCount()).toBe(0)
      // Authenticated, then the SDK's own answer for a session it does not know.
      const after = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          "x-api-key": KEY_ALICE,
          "mcp-session-id": sessionId,
          "mcp-protocol-version": "2025-03-26"
        },
        body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list", params: {} })
      })
      expect(after.status).toBe(404)
      await expect(alice.whoami()).rejects.toBeDefined()
      // Closing twice is harmless.
      await endpoint.close()
    }))
  })
})
