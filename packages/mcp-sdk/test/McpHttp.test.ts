/**
 * `McpHttp.layer`: the Effect way to serve MCP. One program, whichever provider Layer is
 * provided; both transports by default, each may be turned off; bad options fail the
 * Layer with a `ConfigurationError`, a taken port with a `ListenError`; when the scope ends,
 * the port is released and open streams end.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, Jwt, McpHttp } from "@mcpgate/mcp-sdk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "./fixtures/credentials.js"
import type { Sdk, Seen, Transport } from "./fixtures/mcp.js"
import { connect, registerWhoami } from "./fixtures/mcp.js"
import { Bodies } from "@mcpgate/testing/contract"


const ApiKeys = ApiKey.layer({
  keys: [{ key: KEY_ALICE, label: "alice", scopes: ["tools:read"] }, { key: KEY_BOB, label: "bob" }]
})
const Jwts = Jwt.layer({ secret: SECRET })

/** The server in context, for the rest of the scope. */
const serve = <E, R>(layer: Layer.Layer<McpHttp.McpHttp, E, R>) =>
  Effect.map(Layer.build(layer), (context) => Context.get(context, McpHttp.McpHttp))

/** A connected client, closed with the scope (before the server, which was built first). */
const client = (sdk: Sdk, transport: Transport, url: URL, headers: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(() => connect(sdk, transport, url, headers)),
    (connected) => Effect.promise(() => connected.close().catch(() => {}))
  )

/** What whoami answers to each SDK line over each transport. */
const whoamiEverywhere = (url: URL, headers: Record<string, string>) =>
  Effect.forEach(
    [
      ["v2", "sse"],
      ["v1", "sse"],
      ["v2", "http-stream"],
      ["v1", "http-stream"]
    ] as const,
    ([sdk, transport]) =>
      Effect.flatMap(
        client(sdk, transport, new URL(transport === "sse" ? "/sse" : "/mcp", url), headers),
        (connected) => Effect.promise(() => connected.whoami())
      )
  )

/** The same program whatever the provider: serve whoami, call it over both transports. */
const program = (credentials: () => Promise<Record<string, string>>) =>
  Effect.gen(function*() {
    const seen: Array<Seen> = []
    const server = yield* McpHttp.McpHttp
    const headers = yield* Effect.promise(credentials)
    const callers = yield* whoamiEverywhere(server.url, headers)
    return { callers, seen, server }
  })

const Server = (seen: Array<Seen> = []) => McpHttp.layer({ port: 0, register: registerWhoami(seen) })

const fingerprint = (key: string) => createHash("sha256").update(key, "utf8").digest("hex").slice(0, 8)

const listenOn = (port: number) =>
  new Promise<http.Server>((resolve, reject) => {
    const server = http.createServer()
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => resolve(server))
  })

const closeServer = (server: http.Server) => new Promise<void>((resolve) => server.close(() => resolve()))

describe("McpHttp.layer", () => {
  it.scopedLive("with ApiKey.layer: serves whoami over /sse and /mcp to real v1 and v2 clients", () =>
    Effect.gen(function*() {
      const seen: Array<Seen> = []
      const server = yield* serve(Server(seen).pipe(Layer.provide(ApiKeys)))
      expect(server.url.hostname).toBe("127.0.0.1")
      expect(Number(server.url.port)).toBeGreaterThan(0)
      const callers = yield* whoamiEverywhere(server.url, { "x-api-key": KEY_ALICE })
      for (const caller of callers) {
        expect(caller).toMatchObject({ provider: "api-key", clientId: "alice", keyLabel: "alice", scopes: ["tools:read"] })
      }
      expect(seen).toHaveLength(4)
      // Tools never see the credential header.
      for (const { headers } of seen) expect(headers["x-api-key"]).toBeUndefined()
      expect(server.sessionCount()).toBe(4)
    }))

  it.scopedLive("switching to Jwt.layer is all it takes: the same program, another provider", () =>
    Effect.gen(function*() {
      const viaKeys = yield* program(async () => ({ "x-api-key": KEY_BOB })).pipe(
        Effect.provide(Server().pipe(Layer.provide(ApiKeys)))
      )
      const viaJwt = yield* program(async () => ({ authorization: `Bearer ${await tokenFor("alice")}` })).pipe(
        Effect.provide(Server().pipe(Layer.provide(Jwts)))
      )
      expect(viaKeys.callers.map((caller) => caller?.clientId)).toEqual(["bob", "bob", "bob", "bob"])
      for (const caller of viaJwt.callers) {
        expect(caller).toMatchObject({ provider: "jwt", subject: "alice", clientId: "alice", scopes: ["tools:read"] })
      }
    }))

  it.scopedLive("the JWT server refuses an API key, and the API-key server a JWT (no provider is implied)", () =>
    Effect.gen(function*() {
      const post = (url: URL, headers: Record<string, string>) =>
        Effect.promise(() =>
          fetch(new URL("/mcp", url), {
            method: "POST",
            headers: { ...headers, "content-type": "application/json", accept: "application/json, text/event-stream" },
            body: "{}"
          })
        )
      const jwtServer = yield* serve(Server().pipe(Layer.provide(Jwts)))
      const keyServer = yield* serve(Server().pipe(Layer.provide(ApiKeys)))
      const refusedKey = yield* post(jwtServer.url, { "x-api-key": KEY_ALICE })
      expect(refusedKey.status).toBe(401)
      expect(refusedKey.headers.get("www-authenticate")).toBe("Bearer realm=\"mcp\"")
      const token = yield* Effect.promise(() => tokenFor("alice"))
      const refusedToken = yield* post(keyServer.url, { authorization: `Bearer ${token}` })
      expect(refusedToken.status).toBe(401)
      expect(refusedToken.headers.get("www-authenticate")).toBe("ApiKey realm=\"mcp\", header=\"X-API-Key\"")
    }))

  it.scopedLive("ApiKey.layerConfig() reads MCP_API_KEYS from the ConfigProvider", () =>
    Effect.gen(function*() {
      const server = yield* serve(Server().pipe(Layer.provide(ApiKey.layerConfig()))).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MCP_API_KEYS", `${KEY_ALICE}, ${KEY_BOB}`]])))
      )
      const alice = yield* client("v2", "http-stream", new URL("/mcp", server.url), { "x-api-key": KEY_ALICE })
      const bob = yield* client("v1", "sse", new URL("/sse", server.url), { "x-api-key": KEY_BOB })
      expect(yield* Effect.promise(() => alice.whoami())).toMatchObject({ provider: "api-key", clientId: fingerprint(KEY_ALICE) })
      expect(yield* Effect.promise(() => bob.whoami())).toMatchObject({ provider: "api-key", clientId: fingerprint(KEY_BOB) })
    }))

  it.scopedLive("ApiKey.layerConfig() without MCP_API_KEYS fails the Layer with a ConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(serve(Server().pipe(Layer.provide(ApiKey.layerConfig())))).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
      )
      expect(String(error)).toContain("MCP_API_KEYS")
    }))

  it.scopedLive("sse: false turns the legacy transport off: 404 on /sse and /messages, /mcp still served", () =>
    Effect.gen(function*() {
      const server = yield* serve(
        McpHttp.layer({ port: 0, register: registerWhoami([]), sse: false }).pipe(Layer.provide(ApiKeys))
      )
      for (const path of ["/sse", "/messages"]) {
        const response = yield* Effect.promise(() => fetch(new URL(path, server.url), { headers: { "x-api-key": KEY_ALICE } }))
        expect(response.status, path).toBe(404)
        expect(yield* Effect.promise(() => response.text())).toBe(Bodies.notFound)
      }
      const alice = yield* client("v2", "http-stream", new URL("/mcp", server.url), { "x-api-key": KEY_ALICE })
      expect(yield* Effect.promise(() => alice.whoami())).toMatchObject({ clientId: "alice" })
      // Health is still answered, by the Streamable HTTP endpoint.
      const health = yield* Effect.promise(() => fetch(new URL("/health", server.url)))
      expect(health.status).toBe(200)
    }))

  it.scopedLive("stream: false turns Streamable HTTP off: 404 on /mcp, /sse still served", () =>
    Effect.gen(function*() {
      const server = yield* serve(
        McpHttp.layer({ port: 0, register: registerWhoami([]), stream: false }).pipe(Layer.provide(ApiKeys))
      )
      const response = yield* Effect.promise(() =>
        fetch(new URL("/mcp", server.url), {
          method: "POST",
          headers: { "x-api-key": KEY_ALICE, "content-type": "application/json" },
          body: "{}"
        })
      )
      expect(response.status).toBe(404)
      expect(yield* Effect.promise(() => response.text())).toBe(Bodies.notFound)
      const alice = yield* client("v1", "sse", new URL("/sse", server.url), { "x-api-key": KEY_ALICE })
      expect(yield* Effect.promise(() => alice.whoami())).toMatchObject({ clientId: "alice" })
    }))

  it.scopedLive("custom endpoints are served where configured", () =>
    Effect.gen(function*() {
      const server = yield* serve(
        McpHttp.layer({
          port: 0,
          register: registerWhoami([]),
          sse: { endpoint: "/legacy/sse", messageEndpoint: "/legacy/messages" },
          stream: { endpoint: "/v2/mcp" }
        }).pipe(Layer.provide(ApiKeys))
      )
      const viaSse = yield* client("v2", "sse", new URL("/legacy/sse", server.url), { "x-api-key": KEY_BOB })
      const viaStream = yield* client("v2", "http-stream", new URL("/v2/mcp", server.url), { "x-api-key": KEY_BOB })
      expect(yield* Effect.promise(() => viaSse.whoami())).toMatchObject({ clientId: "bob" })
      expect(yield* Effect.promise(() => viaStream.whoami())).toMatchObject({ clientId: "bob" })
      const old = yield* Effect.promise(() => fetch(new URL("/mcp", server.url), { method: "POST" }))
      expect(old.status).toBe(404)
    }))

  describe("configuration errors fail the Layer", () => {
    const configurationErrorOf = (options: unknown) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(
          serve(McpHttp.layer(options as McpHttp.McpHttpOptions).pipe(Layer.provide(ApiKeys)))
        )
        expect(error._tag).toBe("ConfigurationError")
        return error.message
      })

    it.scopedLive("sse: false and stream: false together", () =>
      Effect.gen(function*() {
        expect(yield* configurationErrorOf({ port: 0, register: registerWhoami([]), sse: false, stream: false }))
          .toContain("serve at least one transport")
      }))

    it.scopedLive("an unknown option, named", () =>
      Effect.gen(function*() {
        expect(yield* configurationErrorOf({ prot: 0, register: registerWhoami([]) })).toContain("prot")
        expect(yield* configurationErrorOf({ port: 0, register: registerWhoami([]), stream: { endpont: "/x" } }))
          .toContain("endpont")
      }))

    it.scopedLive("a missing register, a bad port or path", () =>
      Effect.gen(function*() {
        yield* configurationErrorOf({ port: 0 })
        yield* configurationErrorOf({ port: 70000, register: registerWhoami([]) })
        yield* configurationErrorOf({ port: 0, register: registerWhoami([]), stream: { endpoint: "mcp" } })
      }))

    it.scopedLive("the legacy transport's own paths colliding with the health path", () =>
      Effect.gen(function*() {
        expect(yield* configurationErrorOf({ port: 0, register: registerWhoami([]), sse: { endpoint: "/health" } }))
          .toContain("is used twice: every endpoint needs a path of its own")
        expect(yield* configurationErrorOf({ port: 0, register: registerWhoami([]), healthEndpoint: "/sse" }))
          .toContain("is used twice: every endpoint needs a path of its own")
        expect(yield* configurationErrorOf({ port: 0, register: registerWhoami([]), sse: false, stream: { endpoint: "/health" } }))
          .toContain("is used twice: every endpoint needs a path of its own")
      }))

    // One server routes by path: a path used twice would hide an endpoint (GET /health
    // answering 401, say).
    it("the Streamable HTTP path colliding with the health path or the legacy transport's paths", () =>
      Effect.gen(function*() {
        for (
          const extra of [
            { stream: { endpoint: "/health" } },
            { stream: { endpoint: "/sse" } },
            { stream: { endpoint: "/messages" } },
            { sse: { endpoint: "/mcp" } },
            { healthEndpoint: "/mcp" }
          ]
        ) {
          expect(yield* configurationErrorOf({ port: 0, register: registerWhoami([]), ...extra }))
            .toContain("is used twice: every endpoint needs a path of its own")
        }
      }).pipe(Effect.scoped, Effect.runPromise))
  })

  it.live("when the scope closes, the port is released and open streams end", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* serve(Server().pipe(Layer.provide(ApiKeys))).pipe(Scope.extend(scope))
      const port = Number(server.url.port)

      // A legacy SSE stream (GET is open by default) and a Streamable HTTP session.
      const stream = yield* Effect.promise(() => fetch(new URL("/sse", server.url)))
      expect(stream.status).toBe(200)
      const reader = stream.body!.getReader()
      const first = yield* Effect.promise(() => reader.read())
      expect(new TextDecoder().decode(first.value)).toContain("event: endpoint")
      const mcp = yield* Effect.promise(() => connect("v2", "http-stream", new URL("/mcp", server.url), { "x-api-key": KEY_ALICE }))
      expect(server.sessionCount()).toBe(2)

      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      expect(Date.now() - started).toBeLessThan(2000)

      // The stream ended (cleanly or cut), the port is free.
      const ended = yield* Effect.promise(async () => {
        try {
          for (;;) if ((await reader.read()).done) return "done"
        } catch {
          return "cut"
        }
      })
      expect(["done", "cut"]).toContain(ended)
      const again = yield* Effect.promise(() => listenOn(port))
      yield* Effect.promise(() => closeServer(again))
      yield* Effect.promise(() => mcp.close().catch(() => {}))
    }))

  it.live("a registration the SDK refuses fails the Layer with a ConfigurationError, before anything listens", () =>
    Effect.gen(function*() {
      const twice = (server: any) => {
        server.registerTool("twice", {}, async () => ({ content: [] }))
        server.registerTool("twice", {}, async () => ({ content: [] }))
      }
      const error = yield* Effect.flip(serve(McpHttp.layer({ port: 0, register: twice }).pipe(Layer.provide(ApiKeys))))
      expect(error._tag).toBe("ConfigurationError")
      expect(error.message).toBe("The MCP server could not be made from its registrations: Tool twice is already registered")
    }).pipe(Effect.scoped))

  it.live("a taken port fails the Layer with a ListenError", () =>
    Effect.gen(function*() {
      const taken = yield* Effect.acquireRelease(Effect.promise(() => listenOn(0)), (server) => Effect.promise(() => closeServer(server)))
      const port = (taken.address() as AddressInfo).port
      const error = yield* Effect.flip(serve(McpHttp.layer({ port, register: registerWhoami([]) }).pipe(Layer.provide(ApiKeys))))
      expect(error._tag).toBe("ListenError")
      expect(error.message).toContain("EADDRINUSE")
    }).pipe(Effect.scoped))
})
