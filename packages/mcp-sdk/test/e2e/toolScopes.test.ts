/**
 * `toolScopes` (contract sections 1, 2 and 6.7) on both SDK lines: a `tools/call` of a
 * scoped tool from a caller without every scope it requires is refused whole with the
 * exact 403 and `insufficient_scope` challenge, and the SDK never sees the request. Tools
 * left out, `tools/list` and every other method are unaffected. On Streamable HTTP the body
 * is read before the SDK's transport would read it; whatever is wrong with a body (not
 * JSON, not JSON-RPC, too large, wrong headers) still gets the SDK's own answer, byte for
 * byte as without `toolScopes`. A refusal spends no failed-attempt budget.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { ApiKey, MCPServer, McpHttp, StreamableHttp } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import { Client as ClientV2, SSEClientTransport as SseV2, StreamableHTTPClientTransport as StreamV2 } from "@modelcontextprotocol/client"
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport as SseV1 } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport as StreamV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js"
import { McpServer as McpServerV2 } from "@modelcontextprotocol/server"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import { apiKeys, jwts, KEY_ALICE, KEY_BOB, tokenFor } from "../fixtures/credentials.js"
import type { Sdk, Seen, Transport } from "../fixtures/mcp.js"
import { registerWhoami } from "../fixtures/mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { Bodies } from "@mcpgate/testing/contract"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { postAfterContinue, send } from "@mcpgate/testing/wire"
import { apiKey, bearer, initializeRaw, inSession, messagesOf, POST_HEADERS } from "./support.js"
import { mountEndpoint } from "../fixtures/mount.js"
import { inScope, onClose } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"


const ALICE = apiKey(KEY_ALICE) // her key entry has scopes: ["tools:read"]
const BOB = apiKey(KEY_BOB) // his has none

const TOOL_SCOPES = { search: ["tools:read"], deploy: ["deploy:write", "ops"] }


/** The 403 of contract section 1, its challenge (section 2) listing `scopes`. */
const expectInsufficientScope = (response: RawResponse, scopes: string): void => {
  expect({
    statusLine: response.statusLine,
    contentType: response.header("content-type"),
    cacheControl: response.header("cache-control"),
    challenge: response.header("www-authenticate"),
    body: response.body
  }).toEqual({
    statusLine: "HTTP/1.1 403 Forbidden",
    contentType: "application/json",
    cacheControl: "no-store",
    challenge: `Bearer realm="mcp", error="insufficient_scope", scope="${scopes}"`,
    body: Bodies.insufficientScope
  })
}

const callOf = (id: number, name: string) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } })
const call = (id: number, name: string) => JSON.stringify(callOf(id, name))

/** Registers `deploy` and `search` (each records its run in `ran`) besides `whoami`. */
const registerTools = (ran: Array<string>, seen: Array<Seen>) => (server: any): void => {
  registerWhoami(seen)(server)
  for (const name of ["deploy", "search"]) {
    server.registerTool(name, { description: name }, async () => {
      ran.push(name)
      return { content: [{ type: "text", text: `${name} ran` }] }
    })
  }
}

type ServeOptions = {
  readonly toolScopes?: Readonly<Record<string, ReadonlyArray<string>>>
  readonly provider?: "api-key" | "jwt"
  readonly stateless?: boolean
  readonly responseMode?: "stream" | "batch"
}

/** An `MCPServer` of `sdk` on `transport` with the three tools, on 127.0.0.1 and a free port. */
const serve = async (use: Use, sdk: Sdk, transport: Transport, { provider, ...options }: ServeOptions = {}) => {
  const ran: Array<string> = []
  const seen: Array<Seen> = []
  const server = new MCPServer({
    sdk,
    transport: {
      type: transport,
      options: { port: 0, auth: { provider: provider === "jwt" ? jwts() : apiKeys() }, ...options }
    } as MCPServerOptions["transport"]
  })
  server.configure(registerTools(ran, seen))
  await server.start()
  await use(onClose(() => server.stop()))
  const base = server.url!
  return { base, endpoint: new URL(transport === "sse" ? "/sse" : "/mcp", base), ran, seen }
}

/** A client of `sdk` over `transport`, closed after the test. */
const connect = async (use: Use, sdk: Sdk, transport: Transport, url: URL, headers: HeaderLines) => {
  const requestInit = { requestInit: { headers: Object.fromEntries(headers) } }
  const client: any = sdk === "v1"
    ? new ClientV1({ name: "scopes-v1", version: "1.0.0" })
    : new ClientV2({ name: "scopes-v2", version: "1.0.0" })
  await client.connect(
    transport === "sse"
      ? (sdk === "v1" ? new SseV1(url, requestInit) : new SseV2(url, requestInit))
      : (sdk === "v1" ? new StreamV1(url, requestInit) : new StreamV2(url, requestInit))
  )
  await use(onClose(() => client.close().catch(() => undefined)))
  return {
    toolNames: async (): Promise<Array<string>> => (await client.listTools()).tools.map((tool: { name: string }) => tool.name),
    call: async (name: string): Promise<string> => (await client.callTool({ name, arguments: {} })).content[0].text
  }
}

/** A raw `POST` of `body` in a session. */
const postIn = (mcp: URL, sessionId: string, credentials: HeaderLines, body: string) =>
  send(mcp, "POST", mcp.pathname, [...POST_HEADERS, ...inSession(sessionId), ...credentials], body)

describe.each(["v1", "v2"] as const)("toolScopes on Streamable HTTP, SDK %s", (sdk) => {
  it.scopedLive("a key entry with the scopes calls the tool; a key without gets the exact 403 and the tool never runs", () => inScope(async (use) => {
    const { endpoint, ran } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES })
    const alice = await connect(use, sdk, "http-stream", endpoint, ALICE)
    expect(await alice.call("search")).toBe("search ran")

    const bobs = await initializeRaw(endpoint, BOB)
    expectInsufficientScope(await postIn(endpoint, bobs, BOB, call(1, "search")), "tools:read")
    // Alice holds one of deploy's two scopes: refused, and the challenge names both.
    const alices = await initializeRaw(endpoint, ALICE)
    expectInsufficientScope(await postIn(endpoint, alices, ALICE, call(2, "deploy")), "deploy:write ops")
    expect(ran).toEqual(["search"])
  }))

  it.scopedLive("an SDK client without the scopes still lists every tool and calls unscoped ones; the scoped call rejects", () => inScope(async (use) => {
    const { endpoint, ran } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES })
    const bob = await connect(use, sdk, "http-stream", endpoint, BOB)
    expect(await bob.toolNames()).toEqual(["whoami", "deploy", "search"])
    expect(JSON.parse(await bob.call("whoami"))).toMatchObject({ clientId: "bob" })
    // v1 reports the status; v2 reads the challenge: `Insufficient scope: required "deploy:write ops"`.
    expect(String(await rejectionOf(bob.call("deploy")))).toMatch(sdk === "v1" ? /403/ : /Insufficient scope: required "deploy:write ops"/)
    expect(ran).toEqual([])
  }))

  it.scopedLive("a batch with one refused call is refused whole, naming every scope it needs once, held or not; an allowed batch passes", () => inScope(async (use) => {
    const { endpoint, ran, seen } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES, responseMode: "batch" })
    const alices = await initializeRaw(endpoint, ALICE)
    const batch = [callOf(1, "whoami"), callOf(2, "deploy"), callOf(3, "search"), callOf(4, "deploy")]
    // Alice holds tools:read; the challenge still names it (MCP 2026-07-28: every scope of the operation).
    expectInsufficientScope(await postIn(endpoint, alices, ALICE, JSON.stringify(batch)), "deploy:write ops tools:read")
    const bobs = await initializeRaw(endpoint, BOB)
    expectInsufficientScope(await postIn(endpoint, bobs, BOB, JSON.stringify(batch)), "deploy:write ops tools:read")
    expect([ran, seen]).toEqual([[], []])

    const allowed = await postIn(endpoint, alices, ALICE, JSON.stringify([callOf(5, "whoami"), callOf(6, "search")]))
    expect(allowed.status, allowed.body).toBe(200)
    expect(messagesOf(allowed)[0]).toHaveLength(2)
    expect(ran).toEqual(["search"])
  }))

  it.scopedLive("a JWT's scopes come from `scope` (\"a b\") or `scp`", () => inScope(async (use) => {
    const { endpoint, ran } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES, provider: "jwt" })
    const both = await tokenFor("carol", { claims: { scope: "deploy:write ops" } })
    const one = await tokenFor("carol", { claims: { scope: "deploy:write" } })
    const scp = await tokenFor("carol", { claims: { scope: undefined, scp: ["ops", "deploy:write"] } })
    const session = await initializeRaw(endpoint, bearer(both))
    expect((await postIn(endpoint, session, bearer(both), call(1, "deploy"))).status).toBe(200)
    // A refreshed token of the same identity keeps the session; its scopes are its own.
    expectInsufficientScope(await postIn(endpoint, session, bearer(one), call(2, "deploy")), "deploy:write ops")
    expect((await postIn(endpoint, session, bearer(scp), call(3, "deploy"))).status).toBe(200)
    expect(ran).toEqual(["deploy", "deploy"])
  }))

  it.scopedLive("tools see the same authInfo and headers as without toolScopes (the body is handed over, nothing else changes)", () => inScope(async (use) => {
    const { endpoint, seen } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES })
    const alice = await connect(use, sdk, "http-stream", endpoint, ALICE)
    expect(JSON.parse(await alice.call("whoami"))).toMatchObject({ clientId: "alice", scopes: ["tools:read"] })
    expect(seen[0]!.authInfo).toMatchObject({ token: "", clientId: "alice", scopes: ["tools:read"] })
    expect(seen[0]!.headers).not.toHaveProperty("x-api-key")
    expect(seen[0]!.headers["content-type"]).toBe("application/json")
  }))

  it.scopedLive("stateless serving checks the same way", () => inScope(async (use) => {
    const { endpoint, ran } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES, stateless: true, responseMode: "batch" })
    const post = (credentials: HeaderLines, body: string) => send(endpoint, "POST", "/mcp", [...POST_HEADERS, ...credentials], body)
    expectInsufficientScope(await post(BOB, call(1, "search")), "tools:read")
    const allowed = await post(ALICE, call(2, "search"))
    expect(allowed.status, allowed.body).toBe(200)
    expect(messagesOf(allowed)[0]).toMatchObject({ id: 2, result: { content: [{ text: "search ran" }] } })
    expect(ran).toEqual(["search"])
  }))

  it.scopedLive("spends no failed-attempt budget: 30 refused calls from one client are all 403, never 429", () => inScope(async (use) => {
    const { endpoint } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES, responseMode: "batch" })
    const bobs = await initializeRaw(endpoint, BOB)
    for (let id = 1; id <= 30; id++) expectInsufficientScope(await postIn(endpoint, bobs, BOB, call(id, "search")), "tools:read")
    expect((await postIn(endpoint, bobs, BOB, call(31, "whoami"))).status).toBe(200)
  }))

  it.scopedLive("Expect: 100-continue: the body is asked for after authentication, then checked", () => inScope(async (use) => {
    const { endpoint } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES, stateless: true, responseMode: "batch" })
    const refused = await postAfterContinue(endpoint, KEY_BOB, call(1, "search"))
    expect(refused.statusLines).toEqual(["HTTP/1.1 100 Continue", "HTTP/1.1 403 Forbidden"])
    expect(refused.text.endsWith(Bodies.insufficientScope)).toBe(true)
    const allowed = await postAfterContinue(endpoint, KEY_ALICE, call(2, "search"))
    expect(allowed.statusLines).toEqual(["HTTP/1.1 100 Continue", "HTTP/1.1 200 OK"])
  }))

  describe("a body the SDK refuses gets the SDK's own answer, exactly as without toolScopes", () => {
    /** The same request to a server without toolScopes and one with; both answers, Node's own headers left out. */
    const both = async (use: Use, request: (mcp: URL, sessionId: string) => Promise<Answer>): Promise<Answer> => {
      const plain = await serve(use, sdk, "http-stream")
      const scoped = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES })
      const [fromPlain, fromScoped] = [
        await request(plain.endpoint, await initializeRaw(plain.endpoint, ALICE)),
        await request(scoped.endpoint, await initializeRaw(scoped.endpoint, ALICE))
      ]
      expect(fromScoped).toEqual(fromPlain)
      expect(scoped.ran).toEqual([])
      return fromScoped
    }
    const sessionHeaders = (sessionId: string) => ({
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      "x-api-key": KEY_ALICE,
      "mcp-session-id": sessionId,
      "mcp-protocol-version": "2025-03-26"
    })

    it.scopedLive.each([
      ["not JSON", "{\"jsonrpc\": \"2.0\", ", 400],
      ["empty", "", 400],
      ["not UTF-8", Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 400],
      ["JSON, not JSON-RPC", "{\"hello\":\"world\"}", 400],
      ["null", "null", 400],
      ["a batch with one bad message", JSON.stringify([callOf(1, "search"), { jsonrpc: "2.0" }]), 400],
      ["a scoped tool's call with an id of the wrong type", JSON.stringify({ ...callOf(1, "search"), id: {} }), 400]
    ] as const)("%s", ([_, body, status]) => inScope(async (use) => {
      const answer = await both(use, (mcp, sessionId) => post(mcp, sessionHeaders(sessionId), body))
      expect(answer.status).toBe(status)
    }))

    it.scopedLive("not JSON, as the first request of a session", () => inScope(async (use) => {
      const answer = await both(use, (mcp) => post(mcp, { ...sessionHeaders(""), "mcp-session-id": undefined }, "{nope"))
      expect(answer.status).toBe(400)
    }))

    it.scopedLive("over the SDK's 4 MiB cap, sent chunked", () => inScope(async (use) => {
      const body = JSON.stringify({ ...callOf(1, "whoami"), pad: "x".repeat(4 * 1024 * 1024) })
      const answer = await both(use, (mcp, sessionId) => post(mcp, sessionHeaders(sessionId), body, { chunked: true }))
      expect(answer.status).toBe(413)
    }))

    it.scopedLive("over the SDK's 4 MiB cap, declared by Content-Length", () => inScope(async (use) => {
      const answer = await both(use, (mcp, sessionId) => post(mcp, { ...sessionHeaders(sessionId), "content-length": "4194305" }, undefined))
      expect(answer.status).toBe(413)
    }))

    it.scopedLive("an unscoped call with the wrong Content-Type, or without Accept", () => inScope(async (use) => {
      expect((await both(use, (mcp, sessionId) => post(mcp, { ...sessionHeaders(sessionId), "content-type": "text/plain" }, call(1, "whoami")))).status)
        .toBe(415)
      expect((await both(use, (mcp, sessionId) => post(mcp, { ...sessionHeaders(sessionId), accept: undefined }, call(1, "whoami")))).status)
        .toBe(406)
    }))
  })

  it.scopedLive("a refused call is answered 403 whatever its headers: the body is checked before the SDK's header checks", () => inScope(async (use) => {
    const { endpoint } = await serve(use, sdk, "http-stream", { toolScopes: TOOL_SCOPES })
    const bobs = await initializeRaw(endpoint, BOB)
    const response = await send(
      endpoint,
      "POST",
      "/mcp",
      [["Content-Type", "text/plain"], ...inSession(bobs), ...BOB],
      call(1, "search")
    )
    expectInsufficientScope(response, "tools:read")
  }))
})

describe.each(["v1", "v2"] as const)("toolScopes on MCPServer's legacy SSE transport, SDK %s", (sdk) => {
  it.scopedLive("a key entry with the scopes calls the tool; a key without has the call refused, and still lists and calls the rest", () => inScope(async (use) => {
    const { endpoint, ran } = await serve(use, sdk, "sse", { toolScopes: TOOL_SCOPES })
    const alice = await connect(use, sdk, "sse", endpoint, ALICE)
    expect(await alice.call("search")).toBe("search ran")
    const bob = await connect(use, sdk, "sse", endpoint, BOB)
    expect(await bob.toolNames()).toEqual(["whoami", "deploy", "search"])
    expect(String(await rejectionOf(bob.call("search")))).toContain("403")
    expect(JSON.parse(await bob.call("whoami"))).toMatchObject({ clientId: "bob" })
    expect(ran).toEqual(["search"])
  }))
})

describe("toolScopes on StreamableHttp.make and McpHttp.layer", () => {
  it.scopedLive.each(["v1", "v2"] as const)("StreamableHttp.make, SDK %s: refused and allowed calls", (sdk) => inScope(async (use) => {
    const ran: Array<string> = []
    const endpoint = await StreamableHttp.makePromise({
      auth: { provider: apiKeys() },
      sdk,
      toolScopes: TOOL_SCOPES,
      responseMode: "batch",
      createServer: () => {
        const server: any = sdk === "v1" ? new McpServerV1({ name: "t", version: "1" }) : new McpServerV2({ name: "t", version: "1" })
        registerTools(ran, [])(server)
        return server
      }
    })
    const mcp = new URL("/mcp", await use(mountEndpoint(endpoint)))
    const bobs = await initializeRaw(mcp, BOB)
    expectInsufficientScope(await postIn(mcp, bobs, BOB, call(1, "deploy")), "deploy:write ops")
    const alices = await initializeRaw(mcp, ALICE)
    expect((await postIn(mcp, alices, ALICE, call(2, "search"))).status).toBe(200)
    expect(ran).toEqual(["search"])
  }))

  it.scopedLive("McpHttp.layer: both transports refuse alike", () =>
    Effect.gen(function*() {
      const ran: Array<string> = []
      const context = yield* Layer.build(
        McpHttp.layer({ port: 0, register: registerTools(ran, []), toolScopes: TOOL_SCOPES }).pipe(
          Layer.provide(ApiKey.layer({ keys: [{ key: KEY_ALICE, label: "alice", scopes: ["tools:read"] }, { key: KEY_BOB, label: "bob" }] }))
        )
      )
      const { url } = Context.get(context, McpHttp.McpHttp)
      for (const transport of ["sse", "http-stream"] as const) {
        const bob = yield* inScope((use) => connect(use, "v2", transport, new URL(transport === "sse" ? "/sse" : "/mcp", url), BOB))
        expect(String(yield* Effect.promise(() => rejectionOf(bob.call("search"))))).toMatch(/403|Insufficient scope/)
        const alice = yield* inScope((use) => connect(use, "v2", transport, new URL(transport === "sse" ? "/sse" : "/mcp", url), ALICE))
        expect(yield* Effect.promise(() => alice.call("search"))).toBe("search ran")
      }
      expect(ran).toEqual(["search", "search"])
    }))
})

describe("toolScopes options are checked at startup", () => {
  const createServer = () => new McpServerV2({ name: "unused", version: "1.0.0" })

  it("StreamableHttp.make rejects a tool without scopes, a bad scope token, and a misspelled key", async () => {
    const refusal = async (extra: Record<string, unknown>) => {
      const error = await rejectionOf(StreamableHttp.makePromise({ auth: { provider: apiKeys() }, createServer, ...extra } as never))
      expect(error).toBeInstanceOf(ConfigurationError)
      return (error as Error).message
    }
    expect(await refusal({ toolScopes: { deploy: [] } })).toContain("toolScopes.deploy: must list at least one scope")
    expect(await refusal({ toolScopes: { deploy: ["deploy write"] } })).toContain("toolScopes.deploy: \"deploy write\" is not a scope")
    expect(await refusal({ toolScopes: { deploy: ["a\\b"] } })).toContain("is not a scope")
    expect(await refusal({ toolScopes: { "": ["a"] } })).toContain("toolScopes: a tool name must not be empty")
    expect(await refusal({ toolScope: { deploy: ["a"] } })).toContain("toolScope: is unexpected")
  })

  it("MCPServer throws for either transport", () => {
    for (const type of ["sse", "http-stream"] as const) {
      expect(() =>
        new MCPServer({ transport: { type, options: { auth: { provider: apiKeys() }, toolScopes: { deploy: [] } } } as never })
      ).toThrow("transport.options.toolScopes.deploy: must list at least one scope")
    }
  })

  it.scopedLive("McpHttp.layer fails with a ConfigurationError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(
        McpHttp.layer({ port: 0, register: () => {}, toolScopes: { deploy: ["ok", "not ok"] } }).pipe(
          Layer.provide(ApiKey.layer({ keys: [KEY_ALICE] }))
        )
      ))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toContain("toolScopes.deploy: \"not ok\" is not a scope")
    }))
})

// ---------------------------------------------------------------------------------------

interface Answer {
  readonly status: number
  /** Every header but those Node manages (`date`, `connection`, `keep-alive`). */
  readonly headers: Readonly<Record<string, string | Array<string> | undefined>>
  readonly body: string
}

/**
 * A `POST` through `node:http`: `headers` (undefined values left out), the body in one piece,
 * chunked, or none (a declared `Content-Length` is then left unsent).
 */
const post = (
  url: URL,
  headers: Readonly<Record<string, string | undefined>>,
  body: string | Buffer | undefined,
  options: { readonly chunked?: boolean } = {}
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const defined = Object.fromEntries(Object.entries(headers).filter(([, value]) => value !== undefined && value !== ""))
    const request = http.request(url, { method: "POST", headers: defined, agent: false }, (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("end", () => {
        const { connection: _c, date: _d, "keep-alive": _k, ...rest } = response.headers
        resolve({ status: response.statusCode!, headers: rest, body: Buffer.concat(chunks).toString("utf8") })
        request.destroy()
      })
    })
    // The server may stop reading an over-size body and close: the answer already received counts.
    request.on("error", (error) => reject(error))
    if (body === undefined) return void request.flushHeaders()
    const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body
    if (options.chunked !== true) {
      request.setHeader("content-length", String(bytes.length))
      return void request.end(bytes)
    }
    for (let offset = 0; offset < bytes.length; offset += 64 * 1024) request.write(bytes.subarray(offset, offset + 64 * 1024))
    request.end()
  })
