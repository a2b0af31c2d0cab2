/**
 * `mcpAuth` in a Hono app in front of SDK v2's `createMcpHandler`, served on a loopback port
 * with `@hono/node-server` and reached by a real SDK client, and called in process with
 * `app.request(...)`: the caller in `c.get("auth")`, the exact answers of the contract.
 */
import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, AuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { mcpAuth } from "@mcpgate/hono"
import type { McpAuthOptions, McpAuthVariables } from "@mcpgate/hono"
import { getRequestListener } from "@hono/node-server"
import { Answer, Bodies, Challenge } from "@mcpgate/testing/contract"
import { tokenFor } from "@mcpgate/testing/credentials"
import { httpServer, inScope, onClose } from "@mcpgate/testing/scoped"
import { thrownBy } from "@mcpgate/testing/thrownBy"
import { expectAnswer, send } from "@mcpgate/testing/wire"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server"
import * as Effect from "effect/Effect"
import { Hono } from "hono"

const KEY = "mcp_hono_alice_4e1b8d2c7a90"
const SECRET = "hono-test-secret-with-at-least-32-bytes!"

const provider = () =>
  AuthProvider.firstOf(
    new APIKeyAuthProvider({ keys: [{ key: KEY, label: "alice", scopes: ["tools:read"] }] }).service,
    new JWTAuthProvider({ secret: SECRET }).service
  )

/** An app with the middleware on /mcp and SDK v2's handler behind it; tools answer with the caller and the headers they saw. */
const appWith = (options: Partial<McpAuthOptions> = {}) => {
  const mcp = createMcpHandler(() => {
    const server = new McpServer({ name: "hono-test", version: "1.0.0" })
    server.registerTool("whoami", { description: "Who" }, async (ctx: any) => ({
      content: [{ type: "text", text: JSON.stringify({ clientId: ctx.http?.authInfo?.clientId, key: ctx.http?.req?.headers.get("x-api-key") }) }]
    }))
    return server
  })
  const app = new Hono<{ Variables: McpAuthVariables }>()
  app.use("/mcp", mcpAuth({ provider: provider(), clientAddress: (_request, env) => env?.incoming?.socket?.remoteAddress, ...options }))
  app.all("/mcp", (c) => mcp.fetch(c.req.raw, { authInfo: c.get("auth") as never }))
  return app
}

const serve = (app: Hono<any>) =>
  Effect.map(httpServer(getRequestListener(app.fetch)), ({ url }) => url)

describe("mcpAuth", () => {
  it("refuses bad options at once", () => {
    const error = thrownBy(() => mcpAuth({ provider: provider(), rateLimt: false } as never))
    expect(error).toBeInstanceOf(ConfigurationError)
    expect((error as Error).message).toContain("rateLimt")
  })

  it.scopedLive("lets an SDK v2 client with an API key and one with a JWT reach the tool; tools see no credential", () =>
    inScope(async (use) => {
      const base = await use(serve(appWith()))
      for (const headers of [{ "x-api-key": KEY }, { authorization: `Bearer ${await tokenFor("bob", { secret: SECRET })}` }]) {
        const client = new Client({ name: "hono-client", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } } as never)
        await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", base), { requestInit: { headers } }))
        await use(onClose(() => client.close()))
        const result: any = await client.callTool({ name: "whoami", arguments: {} })
        expect(JSON.parse(result.content[0].text)).toStrictEqual({ clientId: "x-api-key" in headers ? "alice" : "bob", key: null })
      }
    }))

  it.scopedLive("answers refusals, preflights and metadata as the contract says", () =>
    inScope(async (use) => {
      const base = await use(serve(appWith({
        allowedOrigins: ["https://app.example.com"],
        protectedResource: { resource: "https://mcp.example.com/mcp", authorizationServers: ["https://auth.example.com"] }
      })))
      const challenges = `${Challenge.apiKey()}, Bearer realm="mcp", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`
      // With allowed origins configured, every answer says it varies by Origin.
      expectAnswer(await send(base, "POST", "/mcp"), Answer.both(Bodies.apiKey, challenges, { vary: "Origin" }))
      expectAnswer(
        await send(base, "POST", "/mcp", [["Origin", "https://app.example.com"], ["X-API-Key", "mcp_hono_wrong_0000000000"]]),
        Answer.both(Bodies.apiKey, challenges, {
          "access-control-allow-origin": "https://app.example.com",
          "access-control-expose-headers": "Mcp-Session-Id, WWW-Authenticate",
          vary: "Origin"
        })
      )
      expectAnswer(await send(base, "POST", "/mcp", [["Origin", "https://evil.example.com"]]), Answer.originNotAllowed({ vary: "Origin" }))
      const preflight = await send(base, "OPTIONS", "/mcp", [["Origin", "https://app.example.com"], ["Access-Control-Request-Method", "POST"]])
      expect([preflight.status, preflight.header("access-control-allow-origin"), preflight.header("access-control-allow-headers")]).toStrictEqual([
        204,
        "https://app.example.com",
        "Content-Type, Accept, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-API-Key"
      ])
    }))

  it.effect("in process: the caller in c.get(\"auth\"), 429 once a client spends its budget", () =>
    Effect.promise(async () => {
      const app = new Hono<{ Variables: McpAuthVariables }>()
      app.use("/mcp", mcpAuth({ provider: provider(), clientAddressHeader: "CF-Connecting-IP", rateLimit: { maxFailures: 1, window: 60 } }))
      app.post("/mcp", (c) => c.json(c.get("auth")))
      const ok = await app.request("/mcp", { method: "POST", headers: { "x-api-key": KEY, "cf-connecting-ip": "192.0.2.1" } })
      expect(await ok.json()).toMatchObject({ token: "", clientId: "alice", scopes: ["tools:read"] })
      await app.request("/mcp", { method: "POST", headers: { "x-api-key": "mcp_hono_wrong_0000000000", "cf-connecting-ip": "192.0.2.9" } })
      const locked = await app.request("/mcp", { method: "POST", headers: { "x-api-key": "mcp_hono_wrong_0000000000", "cf-connecting-ip": "192.0.2.9" } })
      expect([locked.status, await locked.text()]).toStrictEqual([429, Bodies.rateLimited])
      const other = await app.request("/mcp", { method: "POST", headers: { "x-api-key": KEY, "cf-connecting-ip": "192.0.2.2" } })
      expect(other.status).toBe(200)
    }))

  it.effect("removes the credential headers from what follows, even when a middleware before it read the body", () =>
    Effect.promise(async () => {
      const app = new Hono<{ Variables: McpAuthVariables }>()
      app.use("/mcp", async (c, next) => {
        await c.req.raw.text()
        await next()
      })
      app.use("/mcp", mcpAuth({ provider: provider(), clientAddressHeader: "CF-Connecting-IP" }))
      app.post("/mcp", (c) => c.json({ key: c.req.raw.headers.get("x-api-key"), clientId: c.get("auth").clientId }))
      const response = await app.request("/mcp", {
        method: "POST",
        headers: { "x-api-key": KEY, "cf-connecting-ip": "192.0.2.1", "content-type": "application/json" },
        body: "{}"
      })
      expect(await response.json()).toStrictEqual({ key: null, clientId: "alice" })
    }))
})
