/**
 * DPoP (RFC 9449) end to end: a real authorization server (oidc-provider) issues access tokens
 * bound to a client's key (`cnf.jkt`), as JWTs and as opaque tokens seen through introspection;
 * `MCPServer` serves Streamable HTTP in front of the SDK. A bound token is served only with a
 * fresh proof of its key for this method and URL, once; every other request gets the exact 401
 * with the DPoP challenge (docs/behaviour.md#dpop). Live clocks: the tokens carry real times.
 */
import { describe, expect, it } from "@effect/vitest"
import { IntrospectionAuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import type { Jwt } from "@mcpgate/auth-core"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import type { AuthorizationServer } from "@mcpgate/testing/authorizationServer"
import { authorizationServer, CLIENTS, RESOURCE } from "@mcpgate/testing/authorizationServer"
import { Answer, Challenge } from "@mcpgate/testing/contract"
import type { DpopKey } from "@mcpgate/testing/dpop"
import { dpopFetch, dpopKey } from "@mcpgate/testing/dpop"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { bearer, INITIALIZE, POST_HEADERS, serve } from "./support.js"

const jwtProvider = (as: AuthorizationServer, dpop: Jwt.Options["dpop"] = {}) =>
  new JWTAuthProvider({ jwksUrl: as.jwksUri, issuer: as.issuer, audience: RESOURCE, dpop })

const introspectionProvider = (as: AuthorizationServer) =>
  new IntrospectionAuthProvider({
    issuer: as.issuer,
    audience: RESOURCE,
    clientId: CLIENTS.resourceServer.id,
    clientSecret: CLIENTS.resourceServer.secret,
    dpop: {}
  })

/** A token of `as` bound to `key`, as a client gets it: a proof for the token endpoint. */
const boundToken = async (as: AuthorizationServer, key: DpopKey, format: "jwt" | "opaque" = "jwt") =>
  as.token({ format, dpop: await key.proof("POST", `${as.issuer}/token`) })

const dpopCredentials = (token: string, proof?: string): HeaderLines =>
  [["Authorization", `DPoP ${token}`], ...(proof === undefined ? [] : [["DPoP", proof] as const])]

const initialize = (endpoint: URL, credentials: HeaderLines) =>
  send(endpoint, "POST", endpoint.pathname, [...POST_HEADERS, ...credentials], INITIALIZE)

/** The answer on the wire against the contract's: status line, body and challenge, byte for byte. */
const expectRefused = (response: RawResponse, challenge: string) => {
  const expected = Answer.jwt(challenge)
  expect({ statusLine: response.statusLine, body: response.body, challenge: response.header("www-authenticate") })
    .toStrictEqual({ statusLine: expected.statusLine, body: expected.body, challenge: expected.headers["www-authenticate"] })
}

describe("DPoP-bound tokens on Streamable HTTP", () => {
  it.scopedLive("serves a bound JWT with a good proof, and an SDK v2 client whose fetch adds proofs", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint, seen } = await use(serve("v2", "http-stream", { auth: { provider: jwtProvider(as) } }))
      const key = await dpopKey()
      const token = await boundToken(as, key)
      const proof = await key.proof("POST", endpoint.href, { accessToken: token })
      const raw = await initialize(endpoint, dpopCredentials(token, proof))
      expect(raw.status, raw.body).toBe(200)

      const client = await use(acquire(async () => {
        const connected = new Client({ name: "dpop-client", version: "1.0.0" })
        await connected.connect(new StreamableHTTPClientTransport(endpoint, {
          fetch: dpopFetch(key),
          requestInit: { headers: { authorization: `DPoP ${token}` } }
        }))
        return connected
      }, (connected) => connected.close().catch(() => undefined)))
      const answer = await client.callTool({ name: "whoami", arguments: {} })
      expect(answer.isError).not.toBe(true)
      expect(seen).toHaveLength(1)
      expect(seen[0]).toMatchObject({ caller: { subject: CLIENTS.app.id, claims: { cnf: { jkt: key.thumbprint } } } })
      // The proof is a credential header: kept from tools as `Authorization` is.
      expect(Object.keys(seen[0]!.headers)).not.toContain("dpop")
    }))

  it.scopedLive("refuses a replayed proof, a proof for another URL or method, for another token, of another key, too old, or none", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint } = await use(serve("v2", "http-stream", { auth: { provider: jwtProvider(as) } }))
      const key = await dpopKey()
      const token = await boundToken(as, key)
      const otherToken = await boundToken(as, key)
      const proof = await key.proof("POST", endpoint.href, { accessToken: token })
      expect((await initialize(endpoint, dpopCredentials(token, proof))).status).toBe(200)

      const refusedProofs: ReadonlyArray<readonly [string, string | undefined]> = [
        ["replayed", proof],
        ["another URL", await key.proof("POST", new URL("/other", endpoint).href, { accessToken: token })],
        ["another method", await key.proof("GET", endpoint.href, { accessToken: token })],
        ["another token's ath", await key.proof("POST", endpoint.href, { accessToken: otherToken })],
        ["another key", await (await dpopKey()).proof("POST", endpoint.href, { accessToken: token })],
        ["too old", await key.proof("POST", endpoint.href, { accessToken: token, iat: Math.floor(Date.now() / 1000) - 600 })],
        ["issued in the future", await key.proof("POST", endpoint.href, { accessToken: token, iat: Math.floor(Date.now() / 1000) + 600 })],
        ["none", undefined]
      ]
      for (const [what, refused] of refusedProofs) {
        const response = await initialize(endpoint, dpopCredentials(token, refused))
        expect(response.status, what).toBe(401)
        expectRefused(response, Challenge.dpop.invalidProof)
      }
    }))

  it.scopedLive("refuses a bound token sent as Bearer, and an unbound one sent as DPoP", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint } = await use(serve("v2", "http-stream", { auth: { provider: jwtProvider(as) } }))
      const key = await dpopKey()
      const token = await boundToken(as, key)
      expectRefused(await initialize(endpoint, bearer(token)), Challenge.dpop.bearerInvalidToken)

      const unbound = await as.token()
      const proof = await key.proof("POST", endpoint.href, { accessToken: unbound })
      expectRefused(await initialize(endpoint, dpopCredentials(unbound, proof)), Challenge.dpop.invalidToken)
      expectRefused(await initialize(endpoint, []), Challenge.dpop.none)
    }))

  it.scopedLive("keeps serving unbound Bearer tokens, unless binding is required", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const lenient = await use(serve("v2", "http-stream", { auth: { provider: jwtProvider(as) } }))
      const strict = await use(serve("v2", "http-stream", { auth: { provider: jwtProvider(as, { required: true }) } }))
      const unbound = await as.token()
      expect((await initialize(lenient.endpoint, bearer(unbound))).status).toBe(200)
      expectRefused(await initialize(strict.endpoint, bearer(unbound)), Challenge.dpop.bearerInvalidToken)

      const key = await dpopKey()
      const token = await boundToken(as, key)
      const proof = await key.proof("POST", strict.endpoint.href, { accessToken: token })
      expect((await initialize(strict.endpoint, dpopCredentials(token, proof))).status).toBe(200)
    }))

  it.scopedLive("compares htu with the protected resource's origin when the server is one (RFC 9728)", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint } = await use(serve("v2", "http-stream", {
        auth: { provider: jwtProvider(as) },
        protectedResource: { resource: RESOURCE, authorizationServers: [as.issuer] }
      }))
      const key = await dpopKey()
      const token = await boundToken(as, key)
      // The resource is http://127.0.0.1/mcp: the server's own port is not what clients address.
      const asSeen = await key.proof("POST", endpoint.href, { accessToken: token })
      const refused = await initialize(endpoint, dpopCredentials(token, asSeen))
      expect(refused.status).toBe(401)
      expect(refused.header("www-authenticate")).toBe(
        `Bearer realm="mcp", resource_metadata="http://127.0.0.1/.well-known/oauth-protected-resource/mcp", DPoP algs="ES256 EdDSA RS256 PS256", error="invalid_dpop_proof"`
      )
      const asAddressed = await key.proof("POST", RESOURCE, { accessToken: token })
      expect((await initialize(endpoint, dpopCredentials(token, asAddressed))).status).toBe(200)
    }))

  it.scopedLive("holds an introspected opaque token to its cnf.jkt", () =>
    inScope(async (use) => {
      const as = await use(authorizationServer())
      const { endpoint } = await use(serve("v2", "http-stream", { auth: { provider: introspectionProvider(as) } }))
      const key = await dpopKey()
      const token = await boundToken(as, key, "opaque")
      expectRefused(await initialize(endpoint, dpopCredentials(token)), Challenge.dpop.invalidProof)
      expectRefused(await initialize(endpoint, bearer(token)), Challenge.dpop.bearerInvalidToken)
      const proof = await key.proof("POST", endpoint.href, { accessToken: token })
      expect((await initialize(endpoint, dpopCredentials(token, proof))).status).toBe(200)
      const foreign = await (await dpopKey()).proof("POST", endpoint.href, { accessToken: token })
      expectRefused(await initialize(endpoint, dpopCredentials(token, foreign)), Challenge.dpop.invalidProof)
    }))
})
