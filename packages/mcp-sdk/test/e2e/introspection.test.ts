/**
 * Opaque tokens from a real authorization server (oidc-provider), checked by introspection in
 * front of Streamable HTTP (`MCPServer`), with a real SDK v2 client: served when active,
 * refused with the exact 401 once revoked, the exact 503 while the server is down (never a
 * 401, which would make the client throw its token away), and the 403 for a tool whose scope
 * the token lacks. Live clocks throughout: the tokens carry `Date.now()` times.
 */
import { describe, expect, it } from "@effect/vitest"
import { IntrospectionAuthProvider } from "@mcpgate/auth-core"
import type { AuthorizationServer } from "@mcpgate/testing/authorizationServer"
import { authorizationServer, CLIENTS, RESOURCE } from "@mcpgate/testing/authorizationServer"
import { Answer, Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"
import { send } from "@mcpgate/testing/wire"
import { bearer, connectAs, initializeRaw, inSession, POST_HEADERS, serve } from "./support.js"

const providerFor = (as: AuthorizationServer) =>
  new IntrospectionAuthProvider({
    issuer: as.issuer,
    audience: RESOURCE,
    clientId: CLIENTS.resourceServer.id,
    clientSecret: CLIENTS.resourceServer.secret,
    cache: false,
    timeout: 1
  })

const CALL_WHOAMI = JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "whoami", arguments: {} } })

describe("Streamable HTTP with introspected opaque tokens", () => {
  it.scopedLive("serves an SDK v2 client holding an active token, and names the caller to the tool", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint, seen } = await use(serve("v2", "http-stream", { auth: { provider: providerFor(as) } }))
      const token = await as.token({ format: "opaque", scope: "tools:read" })
      const client = await use(connectAs("v2", "http-stream", endpoint, { authorization: `Bearer ${token}` }))
      const caller = await client.whoami()
      expect(caller).toMatchObject({ subject: CLIENTS.app.id, scopes: ["tools:read"] })
      expect(seen).toHaveLength(1)
    }))

  it.scopedLive("answers a revoked token with the exact 401, and an unreachable server with the exact 503", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint } = await use(serve("v2", "http-stream", { auth: { provider: providerFor(as) } }))
      const token = await as.token({ format: "opaque" })
      const sessionId = await initializeRaw(endpoint, bearer(token))

      await as.revoke(token)
      const revoked = await send(endpoint, "POST", endpoint.pathname, [...POST_HEADERS, ...inSession(sessionId), ...bearer(token)], CALL_WHOAMI)
      const expected401 = Answer.jwt(Challenge.invalidToken)
      expect({ statusLine: revoked.statusLine, body: revoked.body, challenge: revoked.header("www-authenticate") })
        .toStrictEqual({ statusLine: expected401.statusLine, body: expected401.body, challenge: expected401.headers["www-authenticate"] })

      const fresh = await as.token({ format: "opaque" })
      await as.stop()
      const down = await send(endpoint, "POST", endpoint.pathname, [...POST_HEADERS, ...bearer(fresh)], CALL_WHOAMI)
      expect({
        statusLine: down.statusLine,
        contentType: down.header("content-type"),
        cacheControl: down.header("cache-control"),
        challenge: down.header("www-authenticate"),
        body: down.body
      }).toStrictEqual({
        statusLine: "HTTP/1.1 503 Service Unavailable",
        contentType: JSON_HEADERS["content-type"],
        cacheControl: JSON_HEADERS["cache-control"],
        challenge: undefined,
        body: Bodies.unavailable
      })
    }))

  it.scopedLive("refuses a tool whose scope the introspected token lacks with the 403 insufficient_scope", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint, seen } = await use(serve("v2", "http-stream", {
        auth: { provider: providerFor(as) },
        toolScopes: { whoami: ["admin"] }
      }))
      const token = await as.token({ format: "opaque", scope: "tools:read" })
      const sessionId = await initializeRaw(endpoint, bearer(token))
      const refused = await send(endpoint, "POST", endpoint.pathname, [...POST_HEADERS, ...inSession(sessionId), ...bearer(token)], CALL_WHOAMI)
      expect(refused.statusLine).toBe("HTTP/1.1 403 Forbidden")
      expect(refused.body).toBe(Bodies.insufficientScope)
      expect(refused.header("www-authenticate")).toMatch(/^Bearer realm="mcp", error="insufficient_scope", scope="admin"/)
      expect(seen).toHaveLength(0)
    }))
})
