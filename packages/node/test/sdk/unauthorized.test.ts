/**
 * Contract sections 1 and 7 as real MCP clients meet them: without credentials (or with a
 * wrong one) the SDK's `connect` fails with the exact 401. When the stream itself is
 * authenticated (`endpoints.sse: true`) the SDK reports the stream's status code; with
 * the default policy the stream opens and the first POST (`initialize`) fails with the
 * contract's body, which the SDK quotes in its message.
 */
import { describe, expect, it } from "@effect/vitest"
import { apiKeyProvider, jwtProvider, KEY_ALICE, tokenFor } from "@mcpgate/testing/credentials"
import type { Sdk, Seen } from "./mcp.js"
import { connectClient, mcpServer, SDK_PAIRS as SDKS, stop } from "./mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import { Bodies } from "@mcpgate/testing/contract"
import { start } from "../fixtures/servers.js"


const PROVIDERS = [
  { name: "API key", provider: () => apiKeyProvider(), body: Bodies.apiKey, wrong: async () => ({ "X-API-Key": "mcp_test_nobody_0000000000" }) },
  {
    name: "JWT",
    provider: () => jwtProvider(),
    body: Bodies.jwt,
    wrong: async () => ({ Authorization: `Bearer ${await tokenFor("alice", { secret: "another-secret-of-at-least-32-bytes!!" })}` })
  }
] as const

/** A server whose sessions run `sdk`'s McpServer, stopped with the test's scope. */
const serve = (sdk: Sdk, auth: Parameters<typeof start>[0]["auth"]) => {
  const seen: Array<Seen> = []
  return acquire(async () => ({ server: await start({ auth, onSession: mcpServer(sdk, seen) }), seen }), ({ server }) => stop(server))
}

/** Connects and, should that wrongly succeed, still closes the client. */
const connectionError = (sdk: Sdk, base: URL, headers: Record<string, string>): Promise<unknown> =>
  rejectionOf(
    connectClient(sdk, base, headers).then(async (client) => {
      await client.close()
      return client
    })
  )

describe.each(SDKS)("SDK $client client → SDK $server McpServer", ({ client: clientSdk, server: serverSdk }) => {
  describe.each(PROVIDERS)("$name provider", ({ body, provider, wrong }) => {
    it.scopedLive("sse: true, no credentials: connect fails with the stream's 401", () => inScope(async (use) => {
      const { server } = await use(serve(serverSdk, { provider: provider(), endpoints: { sse: true, messages: true } }))

      const error = await connectionError(clientSdk, server.url, {})
      expect(error).toMatchObject({ code: 401 })
      expect(server.sse.sessionCount()).toBe(0)
    }))

    it.scopedLive("sse: true, a wrong credential: connect fails with the stream's 401", () => inScope(async (use) => {
      const { server } = await use(serve(serverSdk, { provider: provider(), endpoints: { sse: true, messages: true } }))

      const error = await connectionError(clientSdk, server.url, await wrong())
      expect(error).toMatchObject({ code: 401 })
      expect(server.sse.sessionCount()).toBe(0)
    }))

    it.scopedLive("default policy, no credentials: the initialize POST fails with the exact 401 body", () => inScope(async (use) => {
      const { seen, server } = await use(serve(serverSdk, { provider: provider() }))

      const error = await connectionError(clientSdk, server.url, {})
      expect(error).toBeInstanceOf(Error)
      const message = (error as Error).message
      expect(message).toContain("HTTP 401")
      expect(message).toContain(body)
      // The body ends the message: nothing about why the credential failed follows it.
      expect(message.endsWith(body)).toBe(true)
      expect(seen).toEqual([])
    }))

    it.scopedLive("default policy, a wrong credential: a presented credential is always checked, so the stream gets the 401", () => inScope(async (use) => {
      const { server } = await use(serve(serverSdk, { provider: provider() }))

      const error = await connectionError(clientSdk, server.url, await wrong())
      expect(error).toMatchObject({ code: 401 })
      expect(server.sse.sessionCount()).toBe(0)
    }))
  })
})

describe("a credential for another provider, default policy", () => {
  it.scopedLive("an API key sent to a JWT server: the stream opens (no Authorization), the POST gets the JWT body", () => inScope(async (use) => {
    const { server } = await use(serve("v1", { provider: jwtProvider() }))

    const error = await connectionError("v1", server.url, { "X-API-Key": KEY_ALICE })
    expect((error as Error).message).toContain("HTTP 401")
    expect((error as Error).message.endsWith(Bodies.jwt)).toBe(true)
  }))

  it.scopedLive("a JWT sent to an API-key server: the stream opens (no API-key header), the POST gets the API-key body", () => inScope(async (use) => {
    const { server } = await use(serve("v2", { provider: apiKeyProvider() }))

    const error = await connectionError("v2", server.url, { Authorization: `Bearer ${await tokenFor("alice")}` })
    expect((error as Error).message).toContain("HTTP 401")
    expect((error as Error).message.endsWith(Bodies.apiKey)).toBe(true)
  }))
})
