/**
 * `MCPServer` with a provider given as a Layer of the `AuthProvider` service: built when
 * the server starts (its configuration errors reject `start()`, with the Layer's own error),
 * released when it stops.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthProvider, Jwt, MCPServer } from "@mcpgate/mcp-sdk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "./fixtures/credentials.js"
import type { Seen } from "./fixtures/mcp.js"
import { connect, registerWhoami } from "./fixtures/mcp.js"
import { started } from "./fixtures/whoamiServer.js"
import { acquire, inScope, onClose } from "@mcpgate/testing/scoped"

const fromEnvironment = (variables: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(variables))))

/** A server with `whoami` and `provider`, started; stopped with the test's scope. */
const serve = (provider: Layer.Layer<AuthProvider.AuthProvider, unknown>) =>
  Effect.suspend(() => {
    const seen: Array<Seen> = []
    const server = new MCPServer({ transport: { type: "http-stream", options: { port: 0, auth: { provider } } } })
      .configure(registerWhoami(seen))
    return Effect.map(started(server), () => ({ server, seen, url: new URL("/mcp", server.url) }))
  })

/** A connected client, closed with the test's scope (before the server, acquired earlier). */
const connectTo = (...args: Parameters<typeof connect>) => acquire(() => connect(...args), (client) => client.close())

describe("MCPServer with a provider Layer", () => {
  it.scopedLive("ApiKey.layer: a client with a key is told who it is", () => inScope(async (use) => {
    const { url } = await use(serve(ApiKey.layer({ keys: [{ key: KEY_ALICE, label: "alice" }] })))
    const client = await use(connectTo("v2", "http-stream", url, { "x-api-key": KEY_ALICE }))
    expect(await client.whoami()).toMatchObject({ provider: "api-key", clientId: "alice" })
  }))

  it.scopedLive("ApiKey.layerConfig reading MCP_API_KEYS, and Jwt.layerConfig reading MCP_JWT_SECRET: the same server", () => inScope(async (use) => {
    const keys = await use(serve(ApiKey.layerConfig().pipe(Layer.provide(fromEnvironment({ MCP_API_KEYS: `${KEY_ALICE},${KEY_BOB}` })))))
    const bob = await use(connectTo("v1", "http-stream", keys.url, { "x-api-key": KEY_BOB }))
    expect(await bob.whoami()).toMatchObject({ provider: "api-key" })

    const jwts = await use(serve(Jwt.layerConfig().pipe(Layer.provide(fromEnvironment({ MCP_JWT_SECRET: SECRET })))))
    const carol = await use(connectTo("v2", "http-stream", jwts.url, { authorization: `Bearer ${await tokenFor("carol")}` }))
    expect(await carol.whoami()).toMatchObject({ provider: "jwt", subject: "carol" })
  }))

  it.scopedLive("a Layer that fails rejects start() with its own error, and nothing listens", () => inScope(async (use) => {
    const server = new MCPServer({
      transport: {
        type: "sse",
        options: { port: 0, auth: { provider: ApiKey.layerConfig().pipe(Layer.provide(fromEnvironment({ MCP_API_KEYS: "short" }))) } }
      }
    })
    await use(onClose(() => server.stop()))
    const error = await server.start().then(() => undefined, (error: unknown) => error)
    expect(error).toMatchObject({ _tag: "ConfigurationError" })
    expect((error as Error).message).toContain("keys[0] is shorter than 16 characters")
    expect(server.url).toBeUndefined()
  }))

  it.scopedLive("the Layer is released when the server stops, not before", () => inScope(async (use) => {
    const events: Array<string> = []
    const tracked = Layer.scoped(
      AuthProvider.AuthProvider,
      Effect.acquireRelease(
        Effect.map(ApiKey.make({ keys: [KEY_ALICE] }), (service) => {
          events.push("built")
          return service
        }),
        () => Effect.sync(() => events.push("released"))
      )
    )
    const { server } = await use(serve(tracked))
    expect(events).toEqual(["built"])
    await server.stop()
    expect(events).toEqual(["built", "released"])
  }))
})
