/**
 * The failed-attempt limit on both transports and both SDK lines (contract section 6, step
 * 4): one budget per client across the endpoints of one server, 429 before any check, and
 * the failure log lines through the logger the application chose.
 */
import { describe, expect, it } from "@effect/vitest"
import { RateLimitStore } from "@mcpgate/http"
import { ApiKey, McpHttp } from "@mcpgate/mcp-sdk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import { apiKeys, KEY_ALICE, KEY_BOB } from "../fixtures/credentials.js"
import { registerWhoami } from "../fixtures/mcp.js"
import { apiKey, INITIALIZE, POST_HEADERS, serve } from "./support.js"
import { Bodies } from "@mcpgate/testing/contract"
import { send, sendFrom } from "@mcpgate/testing/wire"
import { inScope } from "@mcpgate/testing/scoped"
const WRONG = "mcp_sdk_wrong_key_0000000000"

describe.each(["v1", "v2"] as const)(
  "Streamable HTTP (server %s)",
  (sdk) => {
    it.scopedLive("answers 429 once a client has spent its budget, good key included; another address is served", () => inScope(async (use) => {
      const { base } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, rateLimit: { maxFailures: 3 } }))
      for (let i = 0; i < 3; i++) {
        const refused = await send(base, "POST", "/mcp", [...POST_HEADERS, ...apiKey(WRONG)], INITIALIZE)
        expect(refused.status).toBe(401)
      }
      const limited = await send(base, "POST", "/mcp", [...POST_HEADERS, ...apiKey(KEY_ALICE)], INITIALIZE)
      expect(limited.status).toBe(429)
      expect(limited.body).toBe(Bodies.rateLimited)
      expect(limited.header("retry-after")).toMatch(/^(60|59)$/)
      for (const method of ["GET", "DELETE"]) {
        expect((await send(base, method, "/mcp", apiKey(KEY_ALICE))).status).toBe(429)
      }
      const other = await sendFrom("127.0.0.2", base, "POST", "/mcp", [...POST_HEADERS, ...apiKey(KEY_ALICE), ["Host", base.host]], INITIALIZE)
      expect(other.status).toBe(200)
    }))
  }
)

describe("one server, both transports: one budget per client", () => {
  it("failures on the SSE endpoints and on /mcp add up; the app's Logger layer receives every failure line", async () => {
    const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
    const capture = Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ annotations, message }) => lines.push({ message, annotations: Object.fromEntries(annotations) }))
    )
    const layer = McpHttp.layer({ port: 0, register: registerWhoami([]), rateLimit: { maxFailures: 4 } }).pipe(
      Layer.provide(ApiKey.layer({ keys: [{ key: KEY_ALICE, label: "alice" }, { key: KEY_BOB, label: "bob" }] })),
      Layer.provide(capture)
    )
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const { url } = Context.get(yield* Layer.build(layer), McpHttp.McpHttp)
      const sseFailure = () =>
        send(url, "POST", "/messages?sessionId=none", [["Content-Type", "application/json"], ...apiKey(WRONG)], "{}")
      const streamFailure = () => send(url, "POST", "/mcp", [...POST_HEADERS, ...apiKey(WRONG)], INITIALIZE)
      const statuses = [
        (yield* Effect.promise(sseFailure)).status,
        (yield* Effect.promise(streamFailure)).status,
        (yield* Effect.promise(sseFailure)).status,
        (yield* Effect.promise(streamFailure)).status,
        (yield* Effect.promise(sseFailure)).status,
        (yield* Effect.promise(() => send(url, "POST", "/mcp", [...POST_HEADERS, ...apiKey(KEY_BOB)], INITIALIZE))).status
      ]
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429])
    })))
    const failures = lines.filter((line) => String(line.message) === "authentication failed")
    expect(failures.length).toBe(4)
    expect(failures[0]!.annotations).toMatchObject({ reason: "unknown_key", provider: "api-key", client: "127.0.0.1" })
    expect(JSON.stringify(lines)).not.toContain(WRONG)
    expect(lines.map((line) => String(line.message))).toContain("client over its failed-attempt budget")
  })

  it.scopedLive("MCPServer takes a logger for its failure lines", () => inScope(async (use) => {
    const lines: Array<unknown> = []
    const { base } = await use(serve("v2", "http-stream", {
      auth: { provider: apiKeys() },
      logger: Logger.make(({ message }) => lines.push(message))
    }))
    await send(base, "POST", "/mcp", [...POST_HEADERS, ...apiKey(WRONG)], INITIALIZE)
    expect(lines.map(String)).toEqual(["authentication failed"])
  }))

  it("McpHttp.layer counts in the RateLimitStore of its context (RedisStore.layer, say) when the options name no store", async () => {
    const store = RateLimitStore.memory()
    const layer = McpHttp.layer({ port: 0, register: registerWhoami([]), rateLimit: { maxFailures: 2 } }).pipe(
      Layer.provide(ApiKey.layer({ keys: [{ key: KEY_ALICE, label: "alice" }] })),
      Layer.provide(Layer.succeed(RateLimitStore.RateLimitStore, store)),
      Layer.provide(Logger.replace(Logger.defaultLogger, Logger.none))
    )
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const { url } = Context.get(yield* Layer.build(layer), McpHttp.McpHttp)
      const post = (key: string) => Effect.promise(() => send(url, "POST", "/mcp", [...POST_HEADERS, ...apiKey(key)], INITIALIZE))
      expect((yield* post(WRONG)).status).toBe(401)
      expect(store.size()).toBe(1)
      expect(yield* store.peek("127.0.0.1", Date.now())).toMatchObject({ failures: 1 })
      expect((yield* post(WRONG)).status).toBe(401)
      expect((yield* post(KEY_ALICE)).status).toBe(429)
    })))
  })
})
