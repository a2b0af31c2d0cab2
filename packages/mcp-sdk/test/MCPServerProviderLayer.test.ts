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
import { cleanupAfterEach } from "./fixtures/cleanup.js"
import { KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "./fixtures/credentials.js"
import type { Seen } from "./fixtures/mcp.js"
import { connect, registerWhoami } from "./fixtures/mcp.js"

const defer = cleanupAfterEach()

const fromEnvironment = (variables: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(variables))))

const serve = async (provider: Layer.Layer<AuthProvider.AuthProvider, unknown>) => {
  const seen: Array<Seen> = []
  const server = new MCPServer({ transport: { type: "http-stream", options: { port: 0, auth: { provider } } } })
    .configure(registerWhoami(seen))
  defer(() => server.stop())
  await server.start()
  return { server, seen, url: new URL("/mcp", server.url) }
}

describe("MCPServer with a provider Layer", () => {
  it("ApiKey.layer: a client with a key is told who it is", async () => {
    const { url } = await serve(ApiKey.layer({ keys: [{ key: KEY_ALICE, label: "alice" }] }))
    const client = await connect("v2", "http-stream", url, { "x-api-key": KEY_ALICE })
    defer(() => client.close())
    expect(await client.whoami()).toMatchObject({ provider: "api-key", clientId: "alice" })
  })

  it("ApiKey.layerConfig reading MCP_API_KEYS, and Jwt.layerConfig reading MCP_JWT_SECRET: the same server", async () => {
    const keys = await serve(ApiKey.layerConfig().pipe(Layer.provide(fromEnvironment({ MCP_API_KEYS: `${KEY_ALICE},${KEY_BOB}` }))))
    const bob = await connect("v1", "http-stream", keys.url, { "x-api-key": KEY_BOB })
    defer(() => bob.close())
    expect(await bob.whoami()).toMatchObject({ provider: "api-key" })

    const jwts = await serve(Jwt.layerConfig().pipe(Layer.provide(fromEnvironment({ MCP_JWT_SECRET: SECRET }))))
    const carol = await connect("v2", "http-stream", jwts.url, { authorization: `Bearer ${await tokenFor("carol")}` })
    defer(() => carol.close())
    expect(await carol.whoami()).toMatchObject({ provider: "jwt", subject: "carol" })
  })

  it("a Layer that fails rejects start() with its own error, and nothing listens", async () => {
    const server = new MCPServer({
      transport: {
        type: "sse",
        options: { port: 0, auth: { provider: ApiKey.layerConfig().pipe(Layer.provide(fromEnvironment({ MCP_API_KEYS: "short" }))) } }
      }
    })
    defer(() => server.stop())
    const error = await server.start().then(() => undefined, (error: unknown) => error)
    expect(error).toMatchObject({ _tag: "ConfigurationError" })
    expect((error as Error).message).toContain("keys[0] is shorter than 16 characters")
    expect(server.url).toBeUndefined()
  })

  it("the Layer is released when the server stops, not before", async () => {
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
    const { server } = await serve(tracked)
    expect(events).toEqual(["built"])
    await server.stop()
    expect(events).toEqual(["built", "released"])
  })
})
