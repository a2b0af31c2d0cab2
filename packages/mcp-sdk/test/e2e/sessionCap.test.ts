/**
 * One identity holds at most `maxSessionsPerIdentity` Streamable HTTP sessions (default 32),
 * on both SDK lines. The attack: one valid key opening thousands of sessions (some 31 KiB
 * each, kept for the idle timeout). A new session past the cap closes the identity's least
 * recently active session with no request open (most often one whose client left without
 * `DELETE`; a client still there gets the SDK's 404 and initializes anew); when every one has
 * a request open, the `initialize` is refused with 429 and `Retry-After`. Another identity's
 * sessions are never touched.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, McpHttp, MCPServer, StreamableHttp } from "@mcpgate/mcp-sdk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { apiKeys, KEY_ALICE, KEY_BOB } from "../fixtures/credentials.js"
import { Bodies } from "@mcpgate/testing/contract"
import type { RawResponse } from "@mcpgate/testing/wire"
import { openGet, send } from "@mcpgate/testing/wire"
import { apiKey, INITIALIZE, initializeRaw, inSession, pingIn, POST_HEADERS, serve, sleep } from "./support.js"
import { inScope, onClose } from "@mcpgate/testing/scoped"

const SDKS = ["v1", "v2"] as const

const TOO_MANY_SESSIONS = `${Bodies.tooManySessions}`

const ACCEPT_SSE: readonly [string, string] = ["Accept", "text/event-stream"]

const expectServed = (response: RawResponse) => expect(response.status, response.body).toBe(200)

const expectSdkNotFound = (response: RawResponse) => {
  expect(response.status).toBe(404)
  expect(response.body).toBe(Bodies.sdkSessionNotFound)
}

/** A raw `initialize` with Alice's or Bob's key, whatever its answer. */
const initialize = (mcp: URL, key: string) => send(mcp, "POST", mcp.pathname, [...POST_HEADERS, ...apiKey(key)], INITIALIZE)

describe.concurrent("maxSessionsPerIdentity on Streamable HTTP", () => {
  for (const sdk of SDKS) {
    it.scopedLive(`SDK ${sdk}: past the cap, the least recently active idle session of that identity closes; Bob's are untouched`, () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, maxSessionsPerIdentity: 2 }))
      const bob = await initializeRaw(endpoint, apiKey(KEY_BOB))
      const first = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      await sleep(5)
      const second = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      await sleep(5)
      // The first is used again: now the second is the least recently active.
      expectServed(await pingIn(endpoint, first, apiKey(KEY_ALICE)))
      await sleep(5)

      const third = await initializeRaw(endpoint, apiKey(KEY_ALICE))

      expectSdkNotFound(await pingIn(endpoint, second, apiKey(KEY_ALICE)))
      expectServed(await pingIn(endpoint, first, apiKey(KEY_ALICE)))
      expectServed(await pingIn(endpoint, third, apiKey(KEY_ALICE)))
      expectServed(await pingIn(endpoint, bob, apiKey(KEY_BOB)))
      expect(server.sessionCount).toBe(3)
    }))

    it.scopedLive(`SDK ${sdk}: when every session of the identity has a request open, 429 with Retry-After; nothing is cut`, () => inScope(async (use) => {
      const { endpoint, server } = await use(serve(sdk, "http-stream", { auth: { provider: apiKeys() }, maxSessionsPerIdentity: 2 }))
      const sessions = [await initializeRaw(endpoint, apiKey(KEY_ALICE)), await initializeRaw(endpoint, apiKey(KEY_ALICE))]
      const streams = await Promise.all(
        sessions.map((id) => openGet(endpoint, "/mcp", [ACCEPT_SSE, ...inSession(id), ...apiKey(KEY_ALICE)]))
      )
      for (const stream of streams) await use(onClose(() => stream.close()))

      const refused = await initialize(endpoint, KEY_ALICE)
      expect(refused.status).toBe(429)
      expect(refused.body).toBe(TOO_MANY_SESSIONS)
      expect(refused.header("retry-after")).toBe("10")
      expect(refused.header("content-type")).toBe("application/json")
      expect(refused.header("cache-control")).toBe("no-store")
      expect(streams.some((stream) => stream.isEnded())).toBe(false)
      // Bob has room of his own.
      expectServed(await initialize(endpoint, KEY_BOB))

      // Alice's client drops one stream: that session is idle now, and gives way.
      streams[0]!.close()
      // The server hears of it when the socket closes: ask again, a bounded number of times.
      let opened = await initialize(endpoint, KEY_ALICE)
      for (let tries = 0; tries < 20 && opened.status === 429; tries++) {
        await sleep(50)
        opened = await initialize(endpoint, KEY_ALICE)
      }
      expectServed(opened)
      expectSdkNotFound(await pingIn(endpoint, sessions[0]!, apiKey(KEY_ALICE)))
      expectServed(await pingIn(endpoint, sessions[1]!, apiKey(KEY_ALICE)))
      expect(streams[1]!.isEnded()).toBe(false)
      expect(server.sessionCount).toBe(3)
    }))
  }

  it.scopedLive("an attacker with one key: 100 initializes, one after another, leave 32 sessions (the default)", () => inScope(async (use) => {
    const { endpoint, server } = await use(serve("v2", "http-stream", { auth: { provider: apiKeys() } }))
    for (let i = 0; i < 100; i++) expectServed(await initialize(endpoint, KEY_ALICE))
    expect(server.sessionCount).toBe(32)
  }))

  it.scopedLive("50 initializes at once against a cap of 5: each is served or refused with 429, and at most 5 sessions stay", () => inScope(async (use) => {
    const { endpoint, server } = await use(serve("v1", "http-stream", { auth: { provider: apiKeys() }, maxSessionsPerIdentity: 5 }))
    const answers = await Promise.all(Array.from({ length: 50 }, () => initialize(endpoint, KEY_ALICE)))
    for (const answer of answers) expect([200, 429]).toContain(answer.status)
    expect(answers.filter((answer) => answer.status === 200).length).toBeGreaterThanOrEqual(5)
    await sleep(50)
    expect(server.sessionCount).toBeLessThanOrEqual(5)
  }))
})

describe("the option", () => {
  it("is a positive whole number, refused at construction otherwise", async () => {
    const construct = (value: unknown) => () =>
      new MCPServer({
        transport: { type: "http-stream", options: { auth: { provider: apiKeys() }, maxSessionsPerIdentity: value as number } }
      })
    expect(construct(0)).toThrow("0 is not a positive whole number")
    expect(construct(2.5)).toThrow("2.5 is not a positive whole number")
    await expect(
      StreamableHttp.makePromise({ auth: { provider: apiKeys() }, createServer: () => ({}) as never, maxSessionsPerIdentity: -1 })
    ).rejects.toThrow("maxSessionsPerIdentity: -1 is not a positive whole number")
    const exit = await Effect.runPromiseExit(
      Effect.scoped(Layer.build(
        McpHttp.layer({ port: 0, register: () => {}, stream: { maxSessionsPerIdentity: 0 } }).pipe(
          Layer.provide(ApiKey.layer({ keys: [KEY_ALICE] }))
        )
      ))
    )
    expect(Exit.isFailure(exit) && String(exit.cause)).toContain("0 is not a positive whole number")
  })

  it.scopedLive("McpHttp.layer passes it on: with a cap of 1, a second session replaces the first", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        McpHttp.layer({ port: 0, register: () => {}, stream: { maxSessionsPerIdentity: 1 } }).pipe(
          Layer.provide(ApiKey.layer({ keys: [KEY_ALICE] }))
        )
      )
      const mcp = new URL("/mcp", Context.get(context, McpHttp.McpHttp).url)
      const first = yield* Effect.promise(() => initializeRaw(mcp, apiKey(KEY_ALICE)))
      yield* Effect.promise(() => initializeRaw(mcp, apiKey(KEY_ALICE)))
      expectSdkNotFound(yield* Effect.promise(() => pingIn(mcp, first, apiKey(KEY_ALICE))))
    }))
})
