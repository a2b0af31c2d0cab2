/**
 * `createMcpFetchHandler`: SDK v2's `createMcpHandler` behind mcpgate's policy, served over a
 * real loopback port (`@hono/node-server`) to real SDK clients of both protocol eras, and
 * called in process with `handler.fetch(new Request(...))`. Every answer before the SDK is
 * compared with `@mcpgate/testing/contract`, byte for byte.
 */
import { describe, expect, it } from "@effect/vitest"
import { AuthProvider } from "@mcpgate/auth-core"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as Effect from "effect/Effect"
import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import type { McpFetchHandlerOptions } from "@mcpgate/mcp-sdk/McpFetchHandler"
import { Answer, Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import { inScope, onClose } from "@mcpgate/testing/scoped"
import { thrownBy } from "@mcpgate/testing/thrownBy"
import { expectAnswer, send } from "@mcpgate/testing/wire"
import { apiKeys, jwts, KEY_ALICE, KEY_BOB, tokenFor } from "../fixtures/credentials.js"
import { connectModern, serveFetch, socketAddress, whoamiFactory } from "../fixtures/fetch.js"
import type { Seen } from "../fixtures/mcp.js"
import { connect } from "../fixtures/mcp.js"

const RESOURCE = "https://mcp.example.com/mcp"
const METADATA_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

const handlerWith = (seen: Array<Seen>, options: Partial<McpFetchHandlerOptions> = {}) =>
  createMcpFetchHandler({
    auth: { provider: AuthProvider.firstOf(apiKeys().service, jwts().service) },
    createServer: whoamiFactory(seen),
    clientAddress: socketAddress,
    ...options
  })

const textOf = (result: any): string => result.content[0].text

/** A `Headers` as a plain object (names lower-case). */
const entriesOf = (headers: Headers): Record<string, string> => {
  const entries: Record<string, string> = {}
  headers.forEach((value, name) => {
    entries[name] = value
  })
  return entries
}

describe("createMcpFetchHandler", () => {
  describe("refuses bad options at once, with a ConfigurationError", () => {
    it("an unknown (misspelled) option, naming it", () => {
      const error = thrownBy(() => createMcpFetchHandler({ auth: { provider: apiKeys() }, createServer: () => ({}), endpont: "/mcp" } as never))
      expect(error).toBeInstanceOf(ConfigurationError)
      expect((error as Error).message).toContain("endpont")
    })

    it("a failed-attempt budget without any way to learn the client's address", () => {
      const error = thrownBy(() => createMcpFetchHandler({ auth: { provider: apiKeys() }, createServer: () => ({}), rateLimit: { maxFailures: 3 } }))
      expect(error).toBeInstanceOf(ConfigurationError)
      expect((error as Error).message).toContain("clientAddressHeader")
    })
  })

  describe("serves real SDK clients over a loopback port", () => {
    it.scopedLive("a 2026-07-28 client with an API key and one with a JWT reach the tool as themselves", () =>
      inScope(async (use) => {
        const seen: Array<Seen> = []
        const base = await use(serveFetch(handlerWith(seen)))
        const url = new URL("/mcp", base)
        const alice = await connectModern(url, { "x-api-key": KEY_ALICE })
        await use(onClose(() => alice.close()))
        expect(JSON.parse(textOf(await alice.callTool("whoami")))).toMatchObject({ provider: "api-key", subject: "alice", scopes: ["tools:read"] })
        const bob = await connectModern(url, { authorization: `Bearer ${await tokenFor("bob")}` })
        await use(onClose(() => bob.close()))
        expect(JSON.parse(textOf(await bob.callTool("whoami")))).toMatchObject({ provider: "jwt", subject: "bob" })
        // The credential headers never reach the tools (docs/design.md, exposeToken).
        expect(seen.map((saw) => [saw.headers["x-api-key"], saw.headers["authorization"], saw.authInfo?.["token"]])).toStrictEqual([
          [undefined, undefined, ""],
          [undefined, undefined, ""]
        ])
      }))

    it.scopedLive("2025-era clients of SDK v1 and v2 are served by the stateless fallback", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(handlerWith([])))
        for (const sdk of ["v1", "v2"] as const) {
          const client = await connect(sdk, "http-stream", new URL("/mcp", base), { "x-api-key": KEY_BOB })
          await use(onClose(() => client.close()))
          expect(await client.whoami()).toMatchObject({ provider: "api-key", subject: "bob" })
          expect(client.sessionId()).toBeUndefined()
        }
      }))

    it.scopedLive("with exposeToken, tools see the credential as authInfo.token and its header", () =>
      inScope(async (use) => {
        const seen: Array<Seen> = []
        const base = await use(serveFetch(handlerWith(seen, { exposeToken: true })))
        const client = await connectModern(new URL("/mcp", base), { "x-api-key": KEY_ALICE })
        await use(onClose(() => client.close()))
        await client.callTool("whoami")
        expect([seen[0]!.authInfo?.["token"], seen[0]!.headers["x-api-key"]]).toStrictEqual([KEY_ALICE, KEY_ALICE])
      }))
  })

  describe("answers what docs/behaviour.md says, byte for byte on the wire", () => {
    it.scopedLive("401 for no credential, a wrong key, a bad token, and lines the Fetch API joined", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(handlerWith([])))
        const both = `${Challenge.apiKey()}, ${Challenge.bearer}`
        expectAnswer(await send(base, "POST", "/mcp"), Answer.both(Bodies.apiKey, both))
        expectAnswer(await send(base, "POST", "/mcp", [["X-API-Key", "mcp_sdk_wrong_key_000000"]]), Answer.both(Bodies.apiKey, both))
        expectAnswer(
          await send(base, "POST", "/mcp", [["Authorization", "Bearer not.a.jwt"]]),
          Answer.both(Bodies.jwt, `${Challenge.apiKey()}, ${Challenge.invalidToken}`)
        )
        // Two lines, each good alone: joined by the platform, still malformed (invalid_request).
        const token = await tokenFor("bob")
        expectAnswer(
          await send(base, "POST", "/mcp", [["Authorization", `Bearer ${token}`], ["Authorization", `Bearer ${token}`]]),
          Answer.both(Bodies.jwt, `${Challenge.apiKey()}, ${Challenge.invalidRequest}`)
        )
        expectAnswer(
          await send(base, "POST", "/mcp", [["X-API-Key", KEY_ALICE], ["X-API-Key", KEY_ALICE]]),
          Answer.both(Bodies.apiKey, both)
        )
      }))

    it.scopedLive("429 with Retry-After once a client spends its budget, while another client is still heard", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(handlerWith([], { rateLimit: { maxFailures: 2, window: 60 } })))
        const wrong: Array<[string, string]> = [["X-API-Key", "mcp_sdk_wrong_key_000000"]]
        await send(base, "POST", "/mcp", wrong)
        await send(base, "POST", "/mcp", wrong)
        const refused = await send(base, "POST", "/mcp", [["X-API-Key", KEY_ALICE]])
        expect({ status: refused.status, body: refused.body, retryAfter: Number(refused.header("retry-after")) }).toMatchObject({
          status: 429,
          body: Bodies.rateLimited
        })
        expect(Number(refused.header("retry-after"))).toBeGreaterThanOrEqual(59)
        const other = await send(base, "POST", "/mcp", wrong, undefined, { localAddress: "127.0.0.2" })
        expect(other.status).toBe(401)
      }))

    it.scopedLive("RFC 9728 metadata, health, 404, and Bearer challenges naming the metadata", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(handlerWith([], {
          protectedResource: { resource: RESOURCE, authorizationServers: ["https://auth.example.com"] }
        })))
        const document = "{\"resource\":\"https://mcp.example.com/mcp\",\"authorization_servers\":[\"https://auth.example.com\"]," +
          "\"bearer_methods_supported\":[\"header\"]}"
        for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
          expectAnswer(await send(base, "GET", path), {
            statusLine: "HTTP/1.1 200 OK",
            headers: { "content-type": "application/json", "cache-control": "public, max-age=3600", "content-length": String(document.length) },
            body: document
          })
        }
        expectAnswer(await send(base, "GET", "/health"), Answer.health())
        expectAnswer(await send(base, "GET", "/elsewhere"), Answer.notFound())
        expectAnswer(await send(base, "GET", "//x/mcp"), Answer.notFound())
        expectAnswer(
          await send(base, "POST", "/mcp"),
          Answer.both(Bodies.apiKey, `${Challenge.apiKey()}, Bearer realm="mcp", resource_metadata="${METADATA_URL}"`)
        )
      }))

    it.scopedLive("a CORS preflight from an allowed origin, and the origin refused otherwise", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(handlerWith([], { allowedOrigins: ["https://app.example.com"] })))
        const preflight = await send(base, "OPTIONS", "/mcp", [["Origin", "https://app.example.com"], ["Access-Control-Request-Method", "POST"]])
        expect({ status: preflight.status, headers: Object.fromEntries(preflight.headers.filter(([name]) => name.startsWith("access-control") || name === "vary")) }).toStrictEqual({
          status: 204,
          headers: {
            "access-control-allow-origin": "https://app.example.com",
            "access-control-expose-headers": "Mcp-Session-Id, WWW-Authenticate",
            "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
            "access-control-allow-headers": "Content-Type, Accept, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-API-Key",
            "access-control-max-age": "600",
            vary: "Origin"
          }
        })
        expectAnswer(await send(base, "POST", "/mcp", [["Origin", "https://evil.example.com"]]), Answer.originNotAllowed({ vary: "Origin" }))
      }))

    it.scopedLive("tool scopes: a call without the scope is the 403 with its challenge; the scoped caller reaches the tool", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(handlerWith([], { toolScopes: { deploy: ["deploy:write"] } })))
        const url = new URL("/mcp", base)
        const alice = await connectModern(url, { "x-api-key": KEY_ALICE })
        await use(onClose(() => alice.close()))
        const refused = await alice.callTool("deploy").then(() => undefined, (error: unknown) => error)
        // The SDK client recognises the 403 `insufficient_scope` challenge and names the scope.
        expect(String(refused)).toContain("InsufficientScopeError")
        expect(String(refused)).toContain("deploy:write")
        expect(textOf(await alice.callTool("whoami"))).toContain("alice")
        const deployer = await connectModern(url, { authorization: `Bearer ${await tokenFor("carol", { claims: { scope: "deploy:write" } })}` })
        await use(onClose(() => deployer.close()))
        expect(textOf(await deployer.callTool("deploy"))).toBe("deployed")
        const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "deploy", arguments: {} } })
        expectAnswer(
          await send(base, "POST", "/mcp", [["X-API-Key", KEY_ALICE], ["Content-Type", "application/json"], ["Accept", "application/json, text/event-stream"]], body),
          {
            statusLine: "HTTP/1.1 403 Forbidden",
            headers: {
              ...JSON_HEADERS,
              "www-authenticate": "Bearer realm=\"mcp\", error=\"insufficient_scope\", scope=\"deploy:write\"",
              "content-length": String(Bodies.insufficientScope.length)
            },
            body: Bodies.insufficientScope
          }
        )
      }))
  })

  describe("scopes as the 2026-07-28 revision wants them, as the Node servers judge them", () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      new Request("http://localhost/mcp", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body: JSON.stringify(body)
      })
    const call = (name: string, id: number | string = 1) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } })
    const answerOf = async (response: Response) => ({ status: response.status, challenge: response.headers.get("www-authenticate"), body: await response.text() })
    const scoped = (seen: Array<Seen>) =>
      handlerWith(seen, {
        requiredScopes: ["tools:read"],
        toolScopes: { deploy: ["deploy:write"] },
        scopeHierarchy: { "deploy:admin": ["deploy:write", "tools:read"] }
      })

    it.effect("every Bearer 401 names the required scopes; a 403 names every scope the request needs", () =>
      Effect.promise(async () => {
        const handler = scoped([])
        expect(await answerOf(await handler.fetch(post({ authorization: "Bearer x" }, call("whoami"))))).toStrictEqual({
          status: 401,
          // Both providers' challenges (`firstOf`), the Bearer one naming the scope to ask for.
          challenge: `ApiKey realm="mcp", header="X-API-Key", Bearer realm="mcp", error="invalid_token", scope="tools:read"`,
          body: Bodies.jwt
        })
        // Alice holds tools:read, not deploy:write: the 403 lists both, the one she holds first.
        expect(await answerOf(await handler.fetch(post({ "x-api-key": KEY_ALICE }, call("deploy"))))).toStrictEqual({
          status: 403,
          challenge: `Bearer realm="mcp", error="insufficient_scope", scope="tools:read deploy:write"`,
          body: Bodies.insufficientScope
        })
        // Bob holds no scope at all: even `whoami` needs the required one.
        expect(await answerOf(await handler.fetch(post({ "x-api-key": KEY_BOB }, call("whoami"))))).toStrictEqual({
          status: 403,
          challenge: `Bearer realm="mcp", error="insufficient_scope", scope="tools:read"`,
          body: Bodies.insufficientScope
        })
      }))

    it.scopedLive("a broad scope of the hierarchy passes every check its narrower scopes pass", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(scoped([])))
        const admin = await connectModern(new URL("/mcp", base), {
          authorization: `Bearer ${await tokenFor("dana", { claims: { scope: "deploy:admin" } })}`
        })
        await use(onClose(() => admin.close()))
        expect(textOf(await admin.callTool("deploy"))).toBe("deployed")
        expect(textOf(await admin.callTool("whoami"))).toContain("dana")
      }))

    it.effect("Mcp-Method and Mcp-Name that disagree with the body are the JSON-RPC 400, before any tool runs", () =>
      Effect.promise(async () => {
        const seen: Array<Seen> = []
        const handler = scoped(seen)
        const key = { "x-api-key": KEY_ALICE }
        const renamed = await handler.fetch(post({ ...key, "mcp-method": "tools/call", "mcp-name": "whoami" }, call("deploy", "r-1")))
        expect(await answerOf(renamed)).toStrictEqual({ status: 400, challenge: null, body: Bodies.mcpNameMismatch("r-1") })
        const listed = await handler.fetch(post({ ...key, "mcp-method": "tools/list" }, call("whoami", 7)))
        expect(await answerOf(listed)).toStrictEqual({ status: 400, challenge: null, body: Bodies.mcpMethodMismatch(7) })
        expect(seen).toStrictEqual([])
        const agreeing = await handler.fetch(post({ ...key, "mcp-method": "tools/call", "mcp-name": "whoami" }, call("whoami")))
        expect(agreeing.status).toBe(200)
        await agreeing.text()
        expect(seen.length).toBe(1)
      }))
  })

  describe("bad input gets a clean 4xx, never a 500 nor a rejection", () => {
    const key = { "x-api-key": KEY_ALICE, "content-type": "application/json", accept: "application/json, text/event-stream" }
    const initialize = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" })

    it.effect("a body already used, and a stream body that errors (the SDK's own 400)", () =>
      Effect.promise(async () => {
        for (const toolScopes of [undefined, { deploy: ["deploy:write"] }]) {
          const handler = handlerWith([], toolScopes === undefined ? {} : { toolScopes })
          const used = new Request("http://localhost/mcp", { method: "POST", headers: key, body: initialize })
          await used.text()
          const failing = new Request("http://localhost/mcp", {
            method: "POST",
            headers: key,
            body: new ReadableStream({ pull: (controller) => controller.error(new Error("connection reset")) }),
            duplex: "half"
          } as RequestInit)
          for (const request of [used, failing]) {
            const response = await handler.fetch(request)
            expect(response.status).toBe(400)
            expect(await response.text()).toContain("-32700")
          }
        }
      }))

    it.effect("a giant header, or too many, is the 431 before anything else", () =>
      Effect.promise(async () => {
        const handler = handlerWith([])
        const giant = await handler.fetch(new Request("http://localhost/mcp", { method: "POST", headers: { "x-padding": "a".repeat(20_000) } }))
        const many = await handler.fetch(new Request("http://localhost/mcp", {
          headers: Object.fromEntries(Array.from({ length: 2001 }, (_, index) => [`x-h${index}`, "1"]))
        }))
        for (const response of [giant, many]) {
          expect({ status: response.status, headers: entriesOf(response.headers), body: await response.text() }).toStrictEqual({
            status: 431,
            headers: { ...JSON_HEADERS, connection: "close", "content-length": String(Bodies.headerFieldsTooLarge.length) },
            body: Bodies.headerFieldsTooLarge
          })
        }
      }))

    it.effect("odd URL encodings are other paths (404), and a credential in the query is refused", () =>
      Effect.promise(async () => {
        const handler = handlerWith([])
        for (const path of ["/%6Dcp", "/mcp%2F", "/MCP", "/mcp/", "/%2e%2e/mcp%00"]) {
          const response = await handler.fetch(new Request(`http://localhost${path}`, { method: "POST", headers: key }))
          expect([path, response.status, await response.text()]).toStrictEqual([path, 404, Bodies.notFound])
        }
        const query = await handler.fetch(new Request("http://localhost/mcp?api_key=x", { method: "POST", headers: key }))
        expect([query.status, await query.text()]).toStrictEqual([401, Bodies.apiKey])
      }))

    it.scopedLive("a header value that is not ASCII, on the wire, is a 401", () =>
      inScope(async (use) => {
        const base = await use(serveFetch(handlerWith([])))
        const keyed = await send(base, "POST", "/mcp", [["X-API-Key", "ключ-ключ-ключ-ключ"]])
        const bearer = await send(base, "POST", "/mcp", [["Authorization", "Bearer tökén"]])
        expect([keyed.status, keyed.body, bearer.status, bearer.header("www-authenticate")]).toStrictEqual([
          401,
          Bodies.apiKey,
          401,
          `${Challenge.apiKey()}, ${Challenge.invalidRequest}`
        ])
      }))
  })
})
