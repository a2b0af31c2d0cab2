/**
 * Contract section 5 through real MCP SDKs: a client that sends its credential in
 * `requestInit.headers` connects over legacy SSE, lists and calls a tool, and the tool sees
 * the caller's identity as the SDK's `AuthInfo`, never the raw credential unless the server
 * opts in with `exposeToken`.
 */
import type { SseServer } from "@mcpgate/node"
import { describe, expect, it } from "@effect/vitest"
import { decodeJwt } from "jose"
import { apiKeyProvider, jwtProvider, KEY_ALICE, tokenFor } from "@mcpgate/testing/credentials"
import type { McpClient, Sdk, Seen } from "./mcp.js"
import { connectClient, mcpServer, SDK_PAIRS as PAIRS, stop } from "./mcp.js"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import { start } from "../fixtures/servers.js"


const POLICIES = [
  { name: "stream and posts authenticated", endpoints: { sse: true, messages: true } },
  { name: "default policy (posts only)", endpoints: undefined }
] as const

/** A server whose sessions run `sdk`'s McpServer with `whoami`, stopped with the test's scope. */
const serve = (sdk: Sdk, options: Omit<SseServer.SseServerOptions, "onSession">) => {
  const seen: Array<Seen> = []
  return acquire(
    async (): Promise<{ readonly server: SseServer.RunningServer; readonly seen: Array<Seen> }> => ({
      server: await start({ ...options, onSession: mcpServer(sdk, seen) }),
      seen
    }),
    ({ server }) => stop(server)
  )
}

/** A connected client, closed with the test's scope (before the server it talks to). */
const connect = (sdk: Sdk, base: URL, headers: Record<string, string>) =>
  acquire((): Promise<McpClient> => connectClient(sdk, base, headers), (client) => client.close())

describe.each(PAIRS)("SDK $client client ↔ SDK $server McpServer", ({ client: clientSdk, server: serverSdk }) => {
  describe.each(POLICIES)("$name", ({ endpoints }) => {
    const auth = <P>(provider: P) => endpoints === undefined ? { provider } : { provider, endpoints }

    it.scopedLive("an API key: the tool sees the key's label as clientId, its scopes, the provider, and no token", () => inScope(async (use) => {
      const { server, seen } = await use(serve(serverSdk, { auth: auth(apiKeyProvider()) }))
      const client = await use(connect(clientSdk, server.url, { "X-API-Key": KEY_ALICE }))

      expect(await client.toolNames()).toEqual(["whoami"])
      expect(await client.whoami()).toBe("alice")

      expect(seen).toHaveLength(1)
      const { authInfo, headers } = seen[0]!
      expect(authInfo).toMatchObject({
        token: "",
        clientId: "alice",
        scopes: ["tools:read"],
        extra: { provider: "api-key", subject: "alice", keyLabel: "alice" }
      })
      expect(authInfo?.expiresAt).toBeUndefined()
      // The request is visible to the tool, its credential is not.
      expect(headers["content-type"]).toBe("application/json")
      expect(headers).not.toHaveProperty("x-api-key")
      expect(JSON.stringify(headers)).not.toContain(KEY_ALICE)
      expect(server.sse.sessionCount()).toBe(1)
    }))

    it.scopedLive("a JWT: the tool sees sub as clientId, the scopes, exp as expiresAt, the claims, and no token", () => inScope(async (use) => {
      const { server, seen } = await use(serve(serverSdk, { auth: auth(jwtProvider()) }))
      const token = await tokenFor("alice", { claims: { scope: "tools:read tools:write" } })
      const client = await use(connect(clientSdk, server.url, { Authorization: `Bearer ${token}` }))

      expect(await client.toolNames()).toEqual(["whoami"])
      expect(await client.whoami()).toBe("alice")

      expect(seen).toHaveLength(1)
      const { authInfo, headers } = seen[0]!
      expect(authInfo).toMatchObject({
        token: "",
        clientId: "alice",
        scopes: ["tools:read", "tools:write"],
        expiresAt: decodeJwt(token).exp,
        extra: { provider: "jwt", subject: "alice", claims: { sub: "alice" } }
      })
      expect(typeof authInfo?.expiresAt).toBe("number")
      expect(headers["content-type"]).toBe("application/json")
      expect(headers).not.toHaveProperty("authorization")
      expect(JSON.stringify(headers)).not.toContain(token)
    }))

    it.scopedLive("a JWT's client_id is the clientId when present", () => inScope(async (use) => {
      const { server, seen } = await use(serve(serverSdk, { auth: auth(jwtProvider()) }))
      const token = await tokenFor("alice", { claims: { client_id: "cli-42" } })
      const client = await use(connect(clientSdk, server.url, { Authorization: `Bearer ${token}` }))

      expect(await client.whoami()).toBe("cli-42")
      expect(seen[0]?.authInfo).toMatchObject({ clientId: "cli-42", extra: { subject: "alice" } })
    }))

    it.scopedLive("exposeToken: the tool sees the raw API key as token and in the headers", () => inScope(async (use) => {
      const { server, seen } = await use(serve(serverSdk, { auth: auth(apiKeyProvider()), exposeToken: true }))
      const client = await use(connect(clientSdk, server.url, { "X-API-Key": KEY_ALICE }))

      expect(await client.whoami()).toBe("alice")
      expect(seen[0]?.authInfo?.token).toBe(KEY_ALICE)
      expect(seen[0]?.headers["x-api-key"]).toBe(KEY_ALICE)
    }))

    it.scopedLive("exposeToken: the tool sees the raw JWT (without its scheme) as token, and the Authorization header", () => inScope(async (use) => {
      const { server, seen } = await use(serve(serverSdk, { auth: auth(jwtProvider()), exposeToken: true }))
      const token = await tokenFor("alice")
      const client = await use(connect(clientSdk, server.url, { Authorization: `Bearer ${token}` }))

      expect(await client.whoami()).toBe("alice")
      expect(seen[0]?.authInfo?.token).toBe(token)
      expect(seen[0]?.headers["authorization"]).toBe(`Bearer ${token}`)
    }))
  })
})

describe("a custom API-key header", () => {
  it.scopedLive("is hidden from tools like the default one", () => inScope(async (use) => {
    const { server, seen } = await use(serve("v1", { auth: { provider: apiKeyProvider({ headerName: "X-Custom-Key" }) } }))
    const client = await use(connect("v2", server.url, { "X-Custom-Key": KEY_ALICE, "X-Trace": "t-1" }))

    expect(await client.whoami()).toBe("alice")
    expect(seen[0]?.headers["x-trace"]).toBe("t-1")
    expect(seen[0]?.headers).not.toHaveProperty("x-custom-key")
    expect(JSON.stringify(seen[0]?.headers)).not.toContain(KEY_ALICE)
  }))
})
