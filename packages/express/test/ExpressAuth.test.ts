import { afterAll, describe, expect, it } from "@effect/vitest"
import { AuthProvider, ConfigurationError, JWTAuthProvider } from "@mcpgate/auth-core"
import { ExpressAuth, protectedResourceMetadata, requireAuth } from "@mcpgate/express"
import { AuthMetrics } from "@mcpgate/http"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "@mcpgate/testing/credentials"
import { Answer, Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import { httpServer, inScope } from "@mcpgate/testing/scoped"
import type { HeaderLines } from "@mcpgate/testing/wire"
import { expectAnswer, headersOf, send, sendFrom } from "@mcpgate/testing/wire"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type { RequestHandler } from "express"
import { connect, mcpApp } from "./fixtures/mcpApp.js"
import type { Sdk } from "./fixtures/mcpApp.js"

const apiKeys = apiKeyProvider()
const jwts = jwtProvider()
const both = AuthProvider.firstOf(apiKeys.service, jwts.service)
afterAll(() => Promise.all([apiKeys.dispose(), jwts.dispose()]))

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "wire", version: "1" } }
})
const MCP_HEADERS: HeaderLines = [["Content-Type", "application/json"], ["Accept", "application/json, text/event-stream"]]

/** A real Express app with `auth` in front of `/mcp`, on a loopback port for the test's scope. */
const appWith = (auth: RequestHandler, sdk: Sdk = "v2") => httpServer(mcpApp(sdk, auth))

/** `POST /mcp` with an initialize request and these credential header lines. */
const post = (url: URL, headers: HeaderLines, path = "/mcp") => send(url, "POST", path, [...MCP_HEADERS, ...headers], INITIALIZE)

const PAIRS: ReadonlyArray<readonly [Sdk, Sdk]> = [["v1", "v1"], ["v2", "v2"], ["v1", "v2"], ["v2", "v1"]]

describe("requireAuth in a real Express 5 app", () => {
  describe.each(PAIRS)("SDK %s on the server, %s client", (server, client) => {
    it.scopedLive("a valid API key reaches the tool, which reads the caller as authInfo", () =>
      inScope(async (use) => {
        const { url } = await use(appWith(requireAuth({ provider: both }), server))
        const mcp = await connect(client, new URL("/mcp", url), { "X-API-Key": KEY_ALICE })
        try {
          expect(await mcp.whoami()).toMatchObject({
            token: "",
            clientId: "alice",
            scopes: ["tools:read"],
            extra: { provider: "api-key", subject: "alice", keyLabel: "alice" }
          })
        } finally {
          await mcp.close()
        }
      }))

    it.scopedLive("a valid JWT reaches the tool, with its expiry and claims", () =>
      inScope(async (use) => {
        const { url } = await use(appWith(requireAuth({ provider: both }), server))
        const token = await tokenFor("carol", { claims: { client_id: "cli-9" } })
        const mcp = await connect(client, new URL("/mcp", url), { Authorization: `Bearer ${token}` })
        try {
          const authInfo = await mcp.whoami()
          expect(authInfo).toMatchObject({
            token: "",
            clientId: "cli-9",
            scopes: ["tools:read"],
            extra: { provider: "jwt", subject: "carol", claims: { sub: "carol", client_id: "cli-9" } }
          })
          expect(typeof authInfo?.["expiresAt"]).toBe("number")
        } finally {
          await mcp.close()
        }
      }))
  })

  it.scopedLive("a client without a valid credential never connects", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: apiKeys })))
      for (const sdk of ["v1", "v2"] as const) {
        await expect(connect(sdk, new URL("/mcp", url), { "X-API-Key": "mcp_test_not_a_key_000000" })).rejects.toThrow()
      }
    }))
})

describe("refusals: the contract's bytes, and the route never runs", () => {
  it.scopedLive("API key missing, wrong, empty or sent twice: the API-key 401", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: apiKeys })))
      for (
        const headers of [
          [],
          [["X-API-Key", "mcp_test_not_a_key_000000"]],
          [["X-API-Key", ""]],
          [["X-API-Key", KEY_ALICE], ["X-API-Key", KEY_BOB]]
        ] as ReadonlyArray<HeaderLines>
      ) {
        expectAnswer(await post(url, headers), Answer.apiKey())
      }
    }))

  it.scopedLive("JWT: no token, a wrong token, a malformed header: each its challenge", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: jwts })))
      const wrong = await tokenFor("carol", { secret: "another-secret-of-at-least-32-bytes!!" })
      expectAnswer(await post(url, []), Answer.jwt(Challenge.bearer))
      expectAnswer(await post(url, [["Authorization", "Basic dXNlcjpwYXNz"]]), Answer.jwt(Challenge.bearer))
      expectAnswer(await post(url, [["Authorization", `Bearer ${wrong}`]]), Answer.jwt(Challenge.invalidToken))
      expectAnswer(await post(url, [["Authorization", "Bearer"]]), Answer.jwt(Challenge.invalidRequest))
      expectAnswer(await post(url, [["Authorization", `Bearer ${wrong} extra`]]), Answer.jwt(Challenge.invalidRequest))
      // Node keeps the first of two Authorization lines; so would Express's `req.get`. Both are seen.
      const good = await tokenFor("carol")
      expectAnswer(
        await post(url, [["Authorization", `Bearer ${good}`], ["Authorization", `Bearer ${wrong}`]]),
        Answer.jwt(Challenge.invalidRequest)
      )
    }))

  it.scopedLive("a credential in the URL is refused before any provider, even a good one", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: apiKeys })))
      const token = await tokenFor("carol")
      const { url: jwtUrl } = await use(appWith(requireAuth({ provider: jwts })))
      expectAnswer(await post(url, [["X-API-Key", KEY_ALICE]], `/mcp?api_key=${KEY_ALICE}`), Answer.apiKey())
      expectAnswer(await post(jwtUrl, [], `/mcp?access_token=${token}`), Answer.jwt(Challenge.invalidRequest))
    }))

  it.scopedLive("with several providers, the JWT body when Authorization was sent, and both challenges", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: both })))
      const challenges = `${Challenge.apiKey()}, ${Challenge.invalidToken}`
      expectAnswer(await post(url, [["Authorization", "Bearer abc.def.ghi"]]), Answer.both(Bodies.jwt, challenges))
      expectAnswer(await post(url, []), Answer.both(Bodies.apiKey, `${Challenge.apiKey()}, ${Challenge.bearer}`))
    }))
})

describe("failed-attempt limiting", () => {
  const WRONG: HeaderLines = [["X-API-Key", "mcp_test_not_a_key_000000"]]

  it.scopedLive("every wrong key counts; past the budget the 429, while another client is still heard", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: apiKeys, rateLimit: { maxFailures: 3, window: 60 } })))
      for (let i = 0; i < 3; i++) expectAnswer(await post(url, WRONG), Answer.apiKey())
      const limited = await post(url, WRONG)
      expect(limited.statusLine).toBe("HTTP/1.1 429 Too Many Requests")
      expect(headersOf(limited)).toEqual({
        ...JSON_HEADERS,
        "retry-after": expect.stringMatching(/^(60|59)$/),
        "content-length": String(Buffer.byteLength(Bodies.rateLimited))
      })
      expect(limited.body).toBe(Bodies.rateLimited)
      // A request without any credential is no guess: it spends nothing, but is still refused.
      expect((await post(url, [])).status).toBe(429)
      // Another socket address is another client.
      const other = await sendFrom("127.0.0.2", url, "POST", "/mcp", [...MCP_HEADERS, ["X-API-Key", KEY_BOB]], INITIALIZE)
      expect(other.status).toBe(200)
    }))

  it.scopedLive("a missing key spends no budget", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: apiKeys, rateLimit: { maxFailures: 2, window: 60 } })))
      for (let i = 0; i < 5; i++) expectAnswer(await post(url, []), Answer.apiKey())
      expect((await post(url, [["X-API-Key", KEY_ALICE]])).status).toBe(200)
    }))

  it.scopedLive("X-Forwarded-For names the client only behind a trusted proxy", () =>
    inScope(async (use) => {
      const rateLimit = { maxFailures: 1, window: 60 }
      const { url: trusting } = await use(appWith(requireAuth({ provider: apiKeys, rateLimit, trustProxy: ["loopback"] })))
      const { url: plain } = await use(appWith(requireAuth({ provider: apiKeys, rateLimit })))
      const from = (address: string): HeaderLines => [...WRONG, ["X-Forwarded-For", address]]
      expect((await post(trusting, from("198.51.100.1"))).status).toBe(401)
      expect((await post(trusting, from("198.51.100.1"))).status).toBe(429)
      expect((await post(trusting, from("198.51.100.2"))).status).toBe(401)
      expect((await post(plain, from("198.51.100.1"))).status).toBe(401)
      // Untrusted, the header is the client's own word: the socket is still the one client.
      expect((await post(plain, from("198.51.100.2"))).status).toBe(429)
    }))

  it.scopedLive("refusals and successes are counted by provider and reason", () =>
    inScope(async (use) => {
      const counter = (metric: Metric.Metric.Counter<number>) => Effect.runSync(Metric.value(metric)).count
      const unknownKey = AuthMetrics.failures.pipe(Metric.tagged("provider", "api-key"), Metric.tagged("reason", "unknown_key"))
      const successes = AuthMetrics.successes.pipe(Metric.tagged("provider", "api-key"))
      const [failedBefore, servedBefore] = [counter(unknownKey), counter(successes)]
      const { url } = await use(appWith(requireAuth({ provider: apiKeys })))
      await post(url, WRONG)
      await post(url, WRONG)
      await post(url, [["X-API-Key", KEY_ALICE]])
      expect(counter(unknownKey) - failedBefore).toBe(2)
      expect(counter(successes) - servedBefore).toBe(1)
    }))
})

describe("requiredScopes", () => {
  it.scopedLive("a caller without every required scope gets the 403 naming them all, and the route never runs", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: both, requiredScopes: ["tools:read", "tools:write"] })))
      const refused = await post(url, [["X-API-Key", KEY_ALICE]])
      expectAnswer(refused, {
        statusLine: "HTTP/1.1 403 Forbidden",
        headers: {
          ...JSON_HEADERS,
          "www-authenticate": "Bearer realm=\"mcp\", error=\"insufficient_scope\", scope=\"tools:read tools:write\"",
          "content-length": String(Buffer.byteLength(Bodies.insufficientScope))
        },
        body: Bodies.insufficientScope
      })
      const token = await tokenFor("carol", { claims: { scope: "tools:read tools:write" } })
      expect((await post(url, [["Authorization", `Bearer ${token}`]])).status).toBe(200)
    }))

  it.scopedLive("every Bearer 401 names the required scopes", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: jwts, requiredScopes: ["tools:read", "tools:write"] })))
      const scope = "scope=\"tools:read tools:write\""
      expectAnswer(await post(url, []), Answer.jwt(`Bearer realm="mcp", ${scope}`))
      expectAnswer(await post(url, [["Authorization", "Bearer a.b.c"]]), Answer.jwt(`${Challenge.invalidToken}, ${scope}`))
    }))

  it.scopedLive("a broad scope of scopeHierarchy stands for the narrower ones it implies", () =>
    inScope(async (use) => {
      const auth = requireAuth({ provider: jwts, requiredScopes: ["files:read"], scopeHierarchy: { "files:write": ["files:read"] } })
      const { url } = await use(appWith(auth))
      const writer = await tokenFor("carol", { claims: { scope: "files:write" } })
      const other = await tokenFor("dave", { claims: { scope: "tools:read" } })
      expect((await post(url, [["Authorization", `Bearer ${writer}`]])).status).toBe(200)
      expect((await post(url, [["Authorization", `Bearer ${other}`]])).header("www-authenticate")).toBe(
        "Bearer realm=\"mcp\", error=\"insufficient_scope\", scope=\"files:read\""
      )
    }))

  it.scopedLive("a refusal for scopes spends no failed-attempt budget", () =>
    inScope(async (use) => {
      const auth = requireAuth({ provider: apiKeys, requiredScopes: ["tools:read"], rateLimit: { maxFailures: 1, window: 60 } })
      const { url } = await use(appWith(auth))
      for (let i = 0; i < 3; i++) expect((await post(url, [["X-API-Key", KEY_BOB]])).status).toBe(403)
      expect((await post(url, [["X-API-Key", KEY_ALICE]])).status).toBe(200)
    }))
})

describe("resourceMetadataUrl and protectedResource (RFC 9728)", () => {
  const resource = "http://127.0.0.1/mcp"
  const metadataUrl = "http://127.0.0.1/.well-known/oauth-protected-resource/mcp"
  // RFC 7519 4.1.3: a token with `aud` passes only a provider told its audience.
  const forResource = new JWTAuthProvider({ secret: SECRET, audience: resource })
  afterAll(() => forResource.dispose())

  it.scopedLive("every Bearer challenge names the metadata, and a JWT must name the resource", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: jwts, resourceMetadataUrl: new URL(metadataUrl) })))
      expectAnswer(await post(url, []), Answer.jwt(`${Challenge.bearer}, resource_metadata="${metadataUrl}"`))
      const elsewhere = await tokenFor("carol")
      expectAnswer(
        await post(url, [["Authorization", `Bearer ${elsewhere}`]]),
        Answer.jwt(`${Challenge.invalidToken}, resource_metadata="${metadataUrl}"`)
      )
    }))

  it.scopedLive("a JWT for the resource reaches the tool with resource and resourceMetadataUrl in authInfo", () =>
    inScope(async (use) => {
      const { url } = await use(appWith(requireAuth({ provider: forResource, resourceMetadataUrl: metadataUrl })))
      const token = await tokenFor("carol", { claims: { aud: resource } })
      const mcp = await connect("v2", new URL("/mcp", url), { Authorization: `Bearer ${token}` })
      try {
        expect(await mcp.whoami()).toMatchObject({ clientId: "carol", resource, resourceMetadataUrl: metadataUrl })
      } finally {
        await mcp.close()
      }
    }))

  it.scopedLive("the 403 for scopes names the metadata too", () =>
    inScope(async (use) => {
      const auth = requireAuth({ provider: forResource, requiredScopes: ["admin"], resourceMetadataUrl: metadataUrl })
      const { url } = await use(appWith(auth))
      const token = await tokenFor("carol", { claims: { aud: resource } })
      const refused = await post(url, [["Authorization", `Bearer ${token}`]])
      expect(refused.status).toBe(403)
      expect(refused.header("www-authenticate")).toBe(
        `Bearer realm="mcp", error="insufficient_scope", scope="admin", resource_metadata="${metadataUrl}"`
      )
    }))

  it.scopedLive("protectedResourceMetadata serves the exact document at its paths; others go on", () =>
    inScope(async (use) => {
      const options = { resource, authorizationServers: ["https://auth.example.com"], scopesSupported: ["tools:read"] }
      const app = mcpApp("v2", requireAuth({ provider: jwts, protectedResource: options }))
      app.use(protectedResourceMetadata(options))
      const { url } = await use(httpServer(app))
      const body =
        "{\"resource\":\"http://127.0.0.1/mcp\",\"authorization_servers\":[\"https://auth.example.com\"],\"scopes_supported\":[\"tools:read\"],\"bearer_methods_supported\":[\"header\"]}"
      for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
        const answer = await send(url, "GET", path)
        expect({ statusLine: answer.statusLine, headers: headersOf(answer), body: answer.body }).toEqual({
          statusLine: "HTTP/1.1 200 OK",
          headers: {
            "content-type": "application/json",
            "cache-control": "public, max-age=3600",
            "content-length": String(Buffer.byteLength(body))
          },
          body
        })
      }
      expectAnswer(
        await send(url, "POST", "/.well-known/oauth-protected-resource/mcp"),
        Answer.methodNotAllowed("GET, HEAD, OPTIONS")
      )
      // Without requiredScopes, the challenge names the scopes the resource announces.
      expect((await post(url, [])).header("www-authenticate")).toBe(
        `${Challenge.bearer}, scope="tools:read", resource_metadata="${metadataUrl}"`
      )
    }))
})

describe("configuration errors surface when the middleware is made", () => {
  const fails = (options: unknown, words: RegExp) => {
    let thrown: unknown
    try {
      ExpressAuth.unsafeMake(options as ExpressAuth.ExpressAuthOptions)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(ConfigurationError.ConfigurationError)
    expect(String((thrown as Error).message)).toMatch(words)
  }

  it("refuses a misspelled option, a bad scope, a provider that is none, and a metadata URL of another form", () => {
    fails({ provider: apiKeys, requiredScope: ["a"] }, /requiredScope/)
    fails({ provider: apiKeys, requiredScopes: ["two words"] }, /not a scope/)
    fails({ provider: { authenticate: () => true } }, /provider must be an mcpgate provider/)
    fails({ provider: jwts, resourceMetadataUrl: "https://mcp.example.com/metadata.json" }, /not a protected-resource metadata URL/)
    fails(
      {
        provider: jwts,
        resourceMetadataUrl: "https://mcp.example.com/.well-known/oauth-protected-resource/other",
        protectedResource: { resource: "https://mcp.example.com/mcp", authorizationServers: ["https://auth.example.com"] }
      },
      /give one of them/
    )
    fails({ provider: apiKeys, trustProxy: ["not an address"] }, /trustProxy/)
  })

  it.effect("make fails with the ConfigurationError as an Effect", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(ExpressAuth.make({ provider: apiKeys, rateLimit: { maxFailures: 0 } }))
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
    }))
})
