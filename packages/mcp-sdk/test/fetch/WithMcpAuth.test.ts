/**
 * `withMcpAuth`: the pipeline in front of any Fetch handler. With one of mcpgate's providers
 * around SDK v2's `createMcpHandler(...).fetch` (reached by a real client over a loopback
 * port) and around a plain handler; with `mcp-handler`'s own `withMcpAuth` style
 * `verifyToken`, whose refusals get mcpgate's strict parsing, budget and answers; and the
 * caller handed on as `authInfo` and `request.auth`.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { withMcpAuth } from "@mcpgate/mcp-sdk/WithMcpAuth"
import { Bodies, Challenge } from "@mcpgate/testing/contract"
import { inScope, onClose } from "@mcpgate/testing/scoped"
import { thrownBy } from "@mcpgate/testing/thrownBy"
import { createMcpHandler } from "@modelcontextprotocol/server"
import * as Effect from "effect/Effect"
import { apiKeys, KEY_ALICE } from "../fixtures/credentials.js"
import { connectModern, serveFetch, socketAddress, whoamiFactory } from "../fixtures/fetch.js"
import type { Seen } from "../fixtures/mcp.js"

const UNAUTHORIZED = "{\"error\":\"Unauthorized\",\"status\":401,\"type\":\"authentication_error\"}"

/** A handler that answers with what it was given. */
const echo = async (request: Request, options?: { authInfo?: unknown }) =>
  Response.json({ authInfo: options?.authInfo ?? null, auth: (request as any).auth ?? null, key: request.headers.get("x-api-key") })

const verifyToken = async (_request: Request, token?: string) =>
  token === "good-token" ? { token, clientId: "vercel-user", scopes: ["read"], extra: { sub: "user-1" } } : undefined

describe("withMcpAuth", () => {
  it("refuses an auth that is neither a provider nor a function, and verifyToken options with a provider", () => {
    expect(thrownBy(() => withMcpAuth(echo, {} as never))).toBeInstanceOf(ConfigurationError)
    expect(thrownBy(() => withMcpAuth(echo, apiKeys(), { resourceMetadataPath: "/meta" }))).toBeInstanceOf(ConfigurationError)
  })

  it.scopedLive("around SDK v2's handler: a real client reaches the tool as itself, without its key in sight", () =>
    inScope(async (use) => {
      const seen: Array<Seen> = []
      const mcp = createMcpHandler(whoamiFactory(seen))
      const base = await use(serveFetch({ fetch: withMcpAuth(mcp.fetch, apiKeys(), { clientAddress: socketAddress }), close: mcp.close }))
      const client = await connectModern(new URL("/mcp", base), { "x-api-key": KEY_ALICE })
      await use(onClose(() => client.close()))
      const result: any = await client.callTool("whoami")
      expect(JSON.parse(result.content[0].text)).toMatchObject({ provider: "api-key", subject: "alice" })
      expect(seen[0]!.headers["x-api-key"]).toBeUndefined()
    }))

  it.effect("hands the caller on as authInfo (second argument) and request.auth; refuses with the contract's answer", () =>
    Effect.promise(async () => {
      const wrapped = withMcpAuth(echo, apiKeys())
      const ok = await wrapped(new Request("http://localhost/api/mcp", { method: "POST", headers: { "x-api-key": KEY_ALICE } }))
      const seen = await ok.json()
      expect(seen.authInfo).toMatchObject({ token: "", clientId: "alice", scopes: ["tools:read"] })
      expect(seen.auth).toStrictEqual(seen.authInfo)
      expect(seen.key).toBeNull()
      const refused = await wrapped(new Request("http://localhost/anything", { method: "POST" }))
      expect([refused.status, refused.headers.get("www-authenticate"), await refused.text()]).toStrictEqual([401, Challenge.apiKey(), Bodies.apiKey])
    }))

  it.effect("an object second argument keeps its members (a Next.js { params }), with authInfo added", () =>
    Effect.promise(async () => {
      const wrapped = withMcpAuth(async (_request: Request, context: { params: unknown; authInfo?: any }) =>
        Response.json({ params: context.params, clientId: context.authInfo?.clientId }), apiKeys())
      const answer = await wrapped(new Request("http://localhost/api/mcp", { headers: { "x-api-key": KEY_ALICE } }), { params: { transport: "mcp" } })
      expect(await answer.json()).toStrictEqual({ params: { transport: "mcp" }, clientId: "alice" })
    }))

  describe("with mcp-handler's verifyToken", () => {
    it.effect("a good token reaches the handler with verifyToken's own AuthInfo", () =>
      Effect.promise(async () => {
        const wrapped = withMcpAuth(echo, verifyToken)
        const ok = await wrapped(new Request("http://localhost/api/mcp", { method: "POST", headers: { authorization: "Bearer good-token" } }))
        expect((await ok.json()).auth).toStrictEqual({ token: "good-token", clientId: "vercel-user", scopes: ["read"], extra: { sub: "user-1" } })
      }))

    it.effect("refusals get strict parsing and the Bearer challenges, naming the metadata as mcp-handler does", () =>
      Effect.promise(async () => {
        const wrapped = withMcpAuth(echo, verifyToken, { resourceUrl: "https://mcp.example.com" })
        const meta = "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource\""
        const cases: ReadonlyArray<readonly [Record<string, string>, string]> = [
          [{}, `${Challenge.bearer}, ${meta}`],
          [{ authorization: "Bearer wrong-token" }, `${Challenge.invalidToken}, ${meta}`],
          [{ authorization: "Bearer good-token, Bearer good-token" }, `${Challenge.invalidRequest}, ${meta}`],
          [{ authorization: "Bearer  good token" }, `${Challenge.invalidRequest}, ${meta}`]
        ]
        for (const [headers, challenge] of cases) {
          const refused = await wrapped(new Request("http://localhost/api/mcp", { method: "POST", headers }))
          expect([refused.status, refused.headers.get("www-authenticate"), await refused.text()]).toStrictEqual([401, challenge, UNAUTHORIZED])
        }
      }))

    it.effect("a verifyToken that throws, or an AuthInfo already expired, is a 401, never a 500", () =>
      Effect.promise(async () => {
        const throwing = withMcpAuth(echo, async () => {
          throw new Error("database down")
        })
        const expired = withMcpAuth(echo, async () => ({ token: "t", clientId: "c", scopes: [], expiresAt: 1 }))
        for (const wrapped of [throwing, expired]) {
          const refused = await wrapped(new Request("http://localhost/api/mcp", { headers: { authorization: "Bearer abc" } }))
          expect([refused.status, await refused.text()]).toStrictEqual([401, UNAUTHORIZED])
        }
      }))

    it.effect("requiredScopes: a caller without them is the 403 insufficient_scope; required: false lets anonymous callers through", () =>
      Effect.promise(async () => {
        const scoped = withMcpAuth(echo, verifyToken, { requiredScopes: ["write"] })
        const forbidden = await scoped(new Request("http://localhost/api/mcp", { headers: { authorization: "Bearer good-token" } }))
        expect([forbidden.status, await forbidden.text()]).toStrictEqual([403, Bodies.insufficientScope])
        const open = withMcpAuth(echo, verifyToken, { required: false })
        const anonymous = await open(new Request("http://localhost/api/mcp"))
        expect([anonymous.status, (await anonymous.json()).authInfo]).toStrictEqual([200, null])
      }))

    it.effect("failed guesses spend the client's budget (429)", () =>
      Effect.promise(async () => {
        const wrapped = withMcpAuth(echo, verifyToken, { clientAddressHeader: "X-Real-IP", rateLimit: { maxFailures: 2 } })
        const guess = () => wrapped(new Request("http://localhost/api/mcp", { headers: { authorization: "Bearer guess", "x-real-ip": "198.51.100.7" } }))
        await guess()
        await guess()
        const locked = await guess()
        expect([locked.status, await locked.text()]).toStrictEqual([429, Bodies.rateLimited])
      }))
  })
})
