/**
 * `MCPServer`, end to end with real SDKs on both ends: tools and prompts registered once with
 * the SDK's own signatures are served to every session, on both SDK lines and both
 * transports; the caller reaches them; `start`, `stop`, `url` and `sessionCount` behave as
 * documented; a port already taken is a rejected `start()` that leaves nothing behind.
 */
import { describe, expect, it } from "@effect/vitest"
import { getPrincipal, getRequestContext, MCPServer } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import { Client as ClientV2, SSEClientTransport as SseV2, StreamableHTTPClientTransport as StreamV2 } from "@modelcontextprotocol/client"
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport as SseV1 } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport as StreamV1 } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js"
import { McpServer as McpServerV2 } from "@modelcontextprotocol/server"
import * as net from "node:net"
import { z } from "zod"
import { apiKeys, jwts, KEY_ALICE, KEY_BOB, tokenFor } from "./fixtures/credentials.js"
import type { Sdk, Seen, Transport } from "./fixtures/mcp.js"
import { registerWhoami } from "./fixtures/mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { started as startedServer } from "./fixtures/whoamiServer.js"
import { Bodies } from "@mcpgate/testing/contract"
import { acquire, inScope, nestedScope, onClose } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"

/** The part of either SDK line's `Client` these tests use. */
interface SdkClient {
  listTools(): Promise<{ tools: Array<{ name: string; inputSchema: Record<string, unknown> }> }>
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<Record<string, unknown>>
  getPrompt(params: { name: string; arguments?: Record<string, string> }): Promise<Record<string, unknown>>
  getServerVersion(): { name: string; version: string } | undefined
  close(): Promise<void>
}

type Options = NonNullable<MCPServerOptions["transport"]["options"]>

/**
 * A started server, stopped with the test's scope. Its clients are closed after it stops:
 * the other order leaves it waiting for the connections the clients' pools keep (see the
 * `stop()` test below).
 */
const serve = (
  type: Transport,
  options: Omit<MCPServerOptions, "transport"> & {
    readonly auth?: NonNullable<Options["auth"]>
    /** mcp-framework's other form: `transport: { type, auth, options }`. */
    readonly authBesideOptions?: boolean
    readonly requestContext?: boolean
  },
  register: (server: MCPServer) => void = () => undefined
) => Effect.gen(function*() {
  const { auth = { provider: apiKeys() }, authBesideOptions = false, requestContext, ...rest } = options
  const transportOptions = { port: 0, ...(requestContext === undefined ? {} : { requestContext }) }
  const transport = authBesideOptions ? { type, auth, options: transportOptions } : { type, options: { ...transportOptions, auth } }
  const server = new MCPServer({ ...rest, transport: transport as MCPServerOptions["transport"] })
  register(server)
  // Made before the server is started, so closed after it has stopped.
  const clients = yield* nestedScope
  yield* startedServer(server)
  /** Connects a client of `sdk` to the server's endpoint for `type`. */
  const connect = async (sdk: Sdk, headers: Record<string, string>): Promise<SdkClient> => {
    const url = new URL(type === "sse" ? "/sse" : "/mcp", server.url)
    const init = { requestInit: { headers } }
    const client = sdk === "v1" ? new ClientV1({ name: "facade-test", version: "1.0.0" }) : new ClientV2({ name: "facade-test", version: "1.0.0" })
    const transport = type === "sse"
      ? (sdk === "v1" ? new SseV1(url, init) : new SseV2(url, init))
      : (sdk === "v1" ? new StreamV1(url, init) : new StreamV2(url, init))
    await (client as unknown as { connect(transport: unknown): Promise<void> }).connect(transport)
    return client as unknown as SdkClient
  }
  const open = (sdk: Sdk, headers: Record<string, string>): Promise<SdkClient> =>
    clients(acquire(() => connect(sdk, headers), (client) => client.close()))
  return { server, open }
})

const textOf = (result: Record<string, unknown>): string => {
  const content = result["content"] as Array<{ type: string; text: string }>
  expect(content[0]?.type).toBe("text")
  return content[0]!.text
}

/** `add` with a zod input schema, in each line's own form: v1 a raw shape, v2 a zod object. */
const registerAdd = (sdk: Sdk) => (server: MCPServer) => {
  const shape = { a: z.number(), b: z.number() }
  server.registerTool(
    "add",
    { description: "Adds two numbers", inputSchema: sdk === "v1" ? shape : z.object(shape) },
    async ({ a, b }: { a: number; b: number }, extraOrCtx: unknown) => ({
      content: [{ type: "text", text: `${a + b} for ${getPrincipal(extraOrCtx)?.clientId ?? "nobody"}` }]
    })
  )
}

const registerGreeting = (sdk: Sdk) => (server: MCPServer) => {
  const shape = { name: z.string() }
  server.registerPrompt(
    "greeting",
    { description: "Greets someone", argsSchema: sdk === "v1" ? shape : z.object(shape) },
    ({ name }: { name: string }, extraOrCtx: unknown) => ({
      messages: [{
        role: "user",
        content: { type: "text", text: `Hello ${name}, from ${getPrincipal(extraOrCtx)?.clientId ?? "nobody"}` }
      }]
    })
  )
}

const COMBINATIONS = (["v1", "v2"] as const).flatMap((sdk) =>
  (["http-stream", "sse"] as const).map((type) => ({ sdk, type }))
)

describe.each(COMBINATIONS)("MCPServer with SDK $sdk over $type", ({ sdk, type }) => {
  it.scopedLive("a tool registered with the SDK's signature and a zod schema is served to every session, two at once", () => inScope(async (use) => {
    const { open, server } = await use(serve(type, { sdk }, registerAdd(sdk)))
    const alice = await open(sdk, { "x-api-key": KEY_ALICE })
    const bob = await open(sdk, { "x-api-key": KEY_BOB })
    expect(server.sessionCount).toBe(2)

    for (const client of [alice, bob]) {
      const { tools } = await client.listTools()
      expect(tools.map((tool) => tool.name)).toEqual(["add"])
      expect(tools[0]!.inputSchema).toMatchObject({
        type: "object",
        properties: { a: { type: "number" }, b: { type: "number" } },
        required: ["a", "b"]
      })
    }
    // Both sessions call at once; each handler sees its own caller.
    const [forAlice, forBob] = await Promise.all([
      alice.callTool({ name: "add", arguments: { a: 2, b: 3 } }),
      bob.callTool({ name: "add", arguments: { a: 40, b: 2 } })
    ])
    expect(textOf(forAlice!)).toBe("5 for alice")
    expect(textOf(forBob!)).toBe("42 for bob")

    // The schema is the SDK's to enforce.
    const invalid = await bob.callTool({ name: "add", arguments: { a: "two", b: 3 } })
    expect(invalid["isError"]).toBe(true)
    expect(textOf(invalid)).toContain("Input validation error")
  }))

  it.scopedLive("a prompt registered with the SDK's signature is served, and knows its caller", () => inScope(async (use) => {
    const { open } = await use(serve(type, { sdk }, registerGreeting(sdk)))
    const bob = await open(sdk, { "x-api-key": KEY_BOB })
    expect(await bob.getPrompt({ name: "greeting", arguments: { name: "Ada" } })).toMatchObject({
      messages: [{ role: "user", content: { type: "text", text: "Hello Ada, from bob" } }]
    })
  }))

  it.scopedLive("configure runs on each SDK server made, one at start and one per session, of the chosen SDK line", () => inScope(async (use) => {
    const configured: Array<unknown> = []
    const { open } = await use(serve(type, { sdk }, (server) =>
      server.configure((sdkServer) => {
        configured.push(sdkServer)
        sdkServer.registerTool("configured", { description: "Registered through configure" }, async () => ({
          content: [{ type: "text", text: "configured" }]
        }))
      })))
    // One made by start(), to check the registrations before anything listens.
    expect(configured).toHaveLength(1)
    const alice = await open(sdk, { "x-api-key": KEY_ALICE })
    const bob = await open(sdk, { "x-api-key": KEY_BOB })
    expect(configured).toHaveLength(3)
    expect(new Set(configured).size).toBe(3)
    for (const made of configured) expect(made).toBeInstanceOf(sdk === "v1" ? McpServerV1 : McpServerV2)
    for (const client of [alice, bob]) {
      expect(textOf(await client.callTool({ name: "configured", arguments: {} }))).toBe("configured")
    }
  }))

  it.scopedLive("name and version reach the client, and getPrincipal in a tool gives the caller", () => inScope(async (use) => {
    const seen: Array<Seen> = []
    const { open } = await use(serve(type, { sdk, name: "facade-under-test", version: "2.3.4", auth: { provider: jwts() } }, (server) =>
      server.configure(registerWhoami(seen))))
    const client = await open(sdk, { authorization: `Bearer ${await tokenFor("user-7", { claims: { client_id: "app-7" } })}` })
    expect(client.getServerVersion()).toMatchObject({ name: "facade-under-test", version: "2.3.4" })
    const answer = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))
    expect(answer).toMatchObject({ provider: "jwt", subject: "user-7", clientId: "app-7", scopes: ["tools:read"] })
    expect(seen).toHaveLength(1)
    expect(seen[0]!.caller).toEqual(answer)
    // The credential is not handed to the tool.
    expect(seen[0]!.authInfo?.["token"]).toBe("")
  }))

  it.scopedLive("getRequestContext() in a tool gives what mcp-framework's does: a JWT's claims, a key's label and scopes", () => inScope(async (use) => {
    const contexts: Array<unknown> = []
    const register = (server: MCPServer) =>
      server.registerTool("context", { description: "The request context" }, async () => {
        contexts.push(getRequestContext())
        return { content: [{ type: "text", text: "seen" }] }
      })
    const byToken = await use(serve(type, { sdk, auth: { provider: jwts() } }, register))
    const token = await tokenFor("user-7", { claims: { tenant: "t-1" } })
    await (await byToken.open(sdk, { authorization: `Bearer ${token}` })).callTool({ name: "context", arguments: {} })
    const byKey = await use(serve(type, { sdk }, register))
    await (await byKey.open(sdk, { "x-api-key": KEY_ALICE })).callTool({ name: "context", arguments: {} })
    expect(contexts).toEqual([
      { sub: "user-7", tenant: "t-1", scope: "tools:read", iat: expect.any(Number), exp: expect.any(Number) },
      { label: "alice", scopes: ["tools:read"] }
    ])
    // Outside a request there is none.
    expect(getRequestContext()).toBeUndefined()
  }))

  it.scopedLive("requestContext: false leaves tools without it (getPrincipal still gives the caller)", () => inScope(async (use) => {
    const seen: Array<unknown> = []
    const { open } = await use(serve(type, { sdk, requestContext: false }, (server) =>
      server.registerTool("context", { description: "The request context" }, async (extraOrCtx: unknown) => {
        seen.push([getRequestContext(), getPrincipal(extraOrCtx)?.clientId])
        return { content: [{ type: "text", text: "seen" }] }
      })))
    await (await open(sdk, { "x-api-key": KEY_ALICE })).callTool({ name: "context", arguments: {} })
    expect(seen).toEqual([[undefined, "alice"]])
  }))

  it.scopedLive("auth beside the options (mcp-framework's transport.auth) guards the server the same way", () => inScope(async (use) => {
    const { open, server } = await use(serve(type, { sdk, authBesideOptions: true }, registerAdd(sdk)))
    const refused = await fetch(new URL(type === "sse" ? "/messages?sessionId=x" : "/mcp", server.url), {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "not-a-configured-key-at-all" },
      body: "{}"
    })
    expect(refused.status).toBe(401)
    expect(await refused.text()).toBe(Bodies.apiKey)
    const client = await open(sdk, { "x-api-key": KEY_BOB })
    expect(textOf(await client.callTool({ name: "add", arguments: { a: 1, b: 2 } }))).toBe("3 for bob")
  }))

  it.scopedLive("name and version default to mcp-server 1.0.0", () => inScope(async (use) => {
    const { open } = await use(serve(type, { sdk }))
    const client = await open(sdk, { "x-api-key": KEY_ALICE })
    expect(client.getServerVersion()).toMatchObject({ name: "mcp-server", version: "1.0.0" })
  }))
})

describe("MCPServer's life cycle", () => {
  const options = (port = 0): MCPServerOptions => ({
    transport: { type: "http-stream", options: { port, auth: { provider: apiKeys() } } }
  })

  it.scopedLive("registering after start() throws, already while start() is pending, and registers nothing", () => inScope(async (use) => {
    const tool = () => ({ content: [] })
    const server = new MCPServer(options()).registerTool("early", {}, tool)
    // Made before the server is stopped, so its client is closed after the server stops.
    const clients = await use(nestedScope)
    await use(onClose(() => server.stop()))
    const starting = server.start()
    const attempts = [
      () => server.registerTool("late", {}, tool),
      () => server.registerPrompt("late", {}, () => ({ messages: [] })),
      () => server.registerResource("late", "late://x", {}, () => ({ contents: [] })),
      () => server.configure(() => undefined)
    ]
    for (const attempt of attempts) expect(attempt).toThrow("register tools before start()")
    await starting
    for (const attempt of attempts) expect(attempt).toThrow("register tools before start()")

    const client = await clients(acquire(() => new ClientV2({ name: "late", version: "1.0.0" }), (client) => client.close()))
    await client.connect(new StreamV2(new URL("/mcp", server.url), { requestInit: { headers: { "x-api-key": KEY_ALICE } } }))
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(["early"])
    expect(client.getServerCapabilities()?.prompts).toBeUndefined()
    expect(client.getServerCapabilities()?.resources).toBeUndefined()
  }))

  it.scopedLive("a registration the SDK refuses (two tools of one name) fails start(), and nothing listens", () => inScope(async (use) => {
    for (const sdk of ["v1", "v2"] as const) {
      const tool = () => ({ content: [] })
      const server = new MCPServer({ ...options(), sdk }).registerTool("twice", {}, tool).registerTool("twice", {}, tool)
      await use(onClose(() => server.stop()))
      const error = await server.start().then(() => undefined, (error: unknown) => error)
      expect(error).toMatchObject({
        _tag: "ConfigurationError",
        message: "The MCP server could not be made from its registrations: Tool twice is already registered"
      })
      expect(server.url).toBeUndefined()
    }
  }))

  it.scopedLive("start() twice is one start: the same promise, the same port", () => inScope(async (use) => {
    const server = new MCPServer(options())
    await use(onClose(() => server.stop()))
    const first = server.start()
    const second = server.start()
    expect(second).toBe(first)
    await first
    const url = server.url
    expect(server.start()).toBe(first)
    await server.start()
    expect(server.url).toBe(url)
  }))

  it("stop() before start() is harmless, and so is stopping twice", async () => {
    const never = new MCPServer(options())
    await never.stop()
    await never.stop()
    expect(never.url).toBeUndefined()
    expect(never.sessionCount).toBe(0)

    const server = new MCPServer(options())
    await server.start()
    await Promise.all([server.stop(), server.stop()])
    await server.stop()
    await expect(fetch(new URL("/health", server.url))).rejects.toThrow()
  })

  it.scopedLive("url is http://127.0.0.1:<port> once started; sessionCount counts open sessions; stop() ends them", () => inScope(async (use) => {
    const server = new MCPServer(options()).registerTool("noop", {}, () => ({ content: [] }))
    expect(server.url).toBeUndefined()
    expect(server.sessionCount).toBe(0)
    await use(startedServer(server))
    const url = server.url!
    expect(url.protocol).toBe("http:")
    expect(url.hostname).toBe("127.0.0.1")
    expect(Number(url.port)).toBeGreaterThan(0)
    expect(url.href).toBe(`http://127.0.0.1:${url.port}/`)
    expect(await (await fetch(new URL("/health", url))).text()).toBe("{\"ok\":true}")

    const client = new ClientV2({ name: "count", version: "1.0.0" })
    const transport = new StreamV2(new URL("/mcp", url), { requestInit: { headers: { "x-api-key": KEY_ALICE } } })
    await client.connect(transport)
    expect(server.sessionCount).toBe(1)
    await server.stop()
    expect(server.sessionCount).toBe(0)
    // The session is gone with the server.
    await expect(client.listTools()).rejects.toThrow()
    await client.close()
  }))

  it("a port already taken: start() rejects with EADDRINUSE and leaves nothing running", async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    const port = (blocker.address() as net.AddressInfo).port
    const listening = () => process.getActiveResourcesInfo().filter((kind) => kind === "TCPServerWrap").length
    // A listener that failed to bind closes its handle asynchronously.
    const settled = async (count: number) => {
      for (let waited = 0; listening() !== count && waited < 1000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
      return listening()
    }
    const before = listening()

    for (const type of ["http-stream", "sse"] as const) {
      const server = new MCPServer({ transport: { type, options: { port, auth: { provider: apiKeys() } } } })
      const error = await rejectionOf(server.start())
      expect(error).toMatchObject({ code: "EADDRINUSE", port })
      expect(server.url).toBeUndefined()
      expect(server.sessionCount).toBe(0)
      await server.stop()
      expect(await settled(before)).toBe(before)
    }

    // With the blocker gone, nothing answers on the port: no listener was left behind.
    await new Promise<void>((resolve) => blocker.close(() => resolve()))
    const refused = await rejectionOf(new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => {
        socket.destroy()
        resolve(undefined)
      })
      socket.once("error", reject)
    }))
    expect(refused).toMatchObject({ code: "ECONNREFUSED" })
  })

  it.scopedLive("a failed start() may be tried again: once the port is free, the same server starts there", () => inScope(async (use) => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve))
    const port = (blocker.address() as net.AddressInfo).port
    const server = new MCPServer({ transport: { type: "http-stream", options: { port, auth: { provider: apiKeys() } } } })
    await use(onClose(() => server.stop()))
    expect(await rejectionOf(server.start())).toMatchObject({ code: "EADDRINUSE", port })
    await new Promise<void>((resolve) => blocker.close(() => resolve()))
    await server.start()
    expect(server.url?.port).toBe(String(port))
  }))

  // Node's `closeIdleConnections` skips a connection on which no request has started, and
  // every SDK client leaves one such spare behind when it closes: `stop()` must not wait
  // the whole drain for it.
  it.scopedLive("stop() does not wait for a connection on which no request was ever sent", () => inScope(async (use) => {
    const server = await use(startedServer(new MCPServer(options())))
    const socket = await use(acquire(() => net.connect(Number(server.url!.port), "127.0.0.1"), (socket) => void socket.destroy()))
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
    const started = Date.now()
    await server.stop()
    expect(Date.now() - started).toBeLessThan(1000)
  }), 10_000)
})
