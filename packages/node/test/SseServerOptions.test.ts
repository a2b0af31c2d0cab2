/**
 * The SSE server's options: refused at startup with a readable `ConfigurationError` (never a
 * server that silently runs with an option ignored), and the Effect constructor that takes
 * the provider from context and closes with its scope.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, ConfigurationError } from "@mcpgate/auth-core"
import { SseServer } from "@mcpgate/node"
import type { SseTransport } from "@mcpgate/node"
import * as Effect from "effect/Effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { apiKeyProvider, KEY_ALICE } from "@mcpgate/testing/credentials"
import { openStream } from "@mcpgate/testing/wire"

const provider = apiKeyProvider()
const onSession = (transport: SseTransport) => transport.start()

/** The message `make` throws for these options. */
const refusal = (options: unknown): string => {
  try {
    SseServer.unsafeMake(options as SseServer.SseServerOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
    return (error as Error).message
  }
  throw new Error("expected the options to be refused")
}

describe("SseServer options", () => {
  it("a misspelled option is refused, naming it: the reference ignored such options", () => {
    expect(refusal({ auth: { provider }, onSession, messagesEndpoint: "/m" })).toContain("messagesEndpoint: is unexpected")
    expect(refusal({ auth: { provider, endpoints: { mesages: true } }, onSession })).toContain(
      "auth.endpoints.mesages: is unexpected"
    )
  })

  it("auth and onSession are required; a provider must be an mcpgate provider", () => {
    expect(refusal({ onSession })).toContain("auth: is missing")
    expect(refusal({ auth: { provider } })).toContain("onSession: is missing")
    expect(refusal({ auth: { provider: { keys: [KEY_ALICE] } }, onSession })).toContain(
      "provider must be an mcpgate provider"
    )
  })

  it("paths start with / and carry no query; the three paths differ", () => {
    expect(refusal({ auth: { provider }, onSession, endpoint: "sse" })).toContain("\"sse\" is not a path")
    expect(refusal({ auth: { provider }, onSession, messageEndpoint: "/messages?x=1" })).toContain("is not a path")
    expect(refusal({ auth: { provider }, onSession, endpoint: "/mcp", messageEndpoint: "/mcp" })).toContain(
      "endpoint, messageEndpoint and healthEndpoint must differ"
    )
  })

  it("sizes are positive whole numbers; the heartbeat a positive duration", () => {
    expect(refusal({ auth: { provider }, onSession, maxBodyBytes: 0 })).toContain("0 is not a positive whole number")
    expect(refusal({ auth: { provider }, onSession, maxBufferedBytes: 1.5 })).toContain("1.5 is not a positive whole number")
    expect(refusal({ auth: { provider }, onSession, heartbeat: "soon" })).toContain("\"soon\" is not a duration")
    expect(refusal({ auth: { provider }, onSession, heartbeat: 0 })).toContain("must be more than 0 seconds")
  })

  it("an allowed origin must be an origin", () => {
    expect(refusal({ auth: { provider }, onSession, allowedOrigins: ["https://app.example/"] })).toContain(
      "is not an origin"
    )
  })

  it("no message quotes a key", () => {
    const message = refusal({ auth: { provider: { service: { key: KEY_ALICE } } }, onSession, bogus: KEY_ALICE })
    expect(message).not.toContain(KEY_ALICE)
  })
})

describe("SseServer.make: the request listener on a server of one's own", () => {
  it("serves streams, and close() ends them", async () => {
    const sse = SseServer.unsafeMake({ auth: { provider, endpoints: { sse: true } }, onSession })
    const server = http.createServer(sse.handle)
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
    try {
      const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
      const stream = await openStream(url, [["X-API-Key", KEY_ALICE]])
      expect((await stream.next()).event).toBe("endpoint")
      expect(sse.sessionCount()).toBe(1)
      await sse.close()
      await stream.ended
      expect(sse.sessionCount()).toBe(0)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe("SseServer.makeScoped", () => {
  it.live("takes the provider from context and ends every stream when its scope closes", () =>
    Effect.gen(function*() {
      const server = http.createServer()
      yield* Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)))
      const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)
      const stream = yield* Effect.scoped(
        Effect.gen(function*() {
          const sse = yield* SseServer.makeScoped({ endpoints: { sse: true }, onSession })
          server.on("request", sse.handle)
          const stream = yield* Effect.promise(() => openStream(url, [["X-API-Key", KEY_ALICE]]))
          expect((yield* Effect.promise(() => stream.next())).event).toBe("endpoint")
          // Another key is refused: the layer's provider is the one in use.
          const refused = yield* Effect.promise(() => openStream(url, [["X-API-Key", "mcp_test_nobody_000000000"]]))
          expect(refused.response.status).toBe(401)
          return stream
        })
      ).pipe(Effect.provide(ApiKey.layer({ keys: [KEY_ALICE] })))
      yield* Effect.promise(() => stream.ended)
      server.closeAllConnections()
      yield* Effect.promise(() => new Promise((resolve) => server.close(resolve)))
    }))
})
