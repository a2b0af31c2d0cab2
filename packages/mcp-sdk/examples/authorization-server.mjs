// A local OAuth 2.1 authorization server for `pnpm demo` with MCP_AUTH=oauth (and for
// bench/introspection.mjs): panva's oidc-provider, in this process, on a loopback port. It
// issues access tokens by the client credentials grant for one resource indicator (RFC 8707),
// as JWTs (RFC 9068) or opaque tokens, and serves discovery (RFC 8414 and OpenID Connect),
// its keys, introspection (RFC 7662) and revocation (RFC 7009).
//
// For trying things out only: its clients and keys are made for this run and kept in memory.
// oidc-provider is a development dependency of the mcpgate repository, not of
// @mcpgate/mcp-sdk: this file is loaded only when asked for.
import { exportJWK, generateKeyPair } from "jose"
import { randomBytes } from "node:crypto"
import * as http from "node:http"

const secret = () => randomBytes(24).toString("base64url")

/**
 * Starts the server. `resource`: the one resource indicator it issues tokens for; `scopes`
 * (space-separated) its scopes; `format`: "jwt" or "opaque"; `port` (0: any free one), `host`.
 * Resolves to `{ issuer, clients: { app, resourceServer }, server, close() }`, where each
 * client is `{ id, secret }`: `app` gets tokens, `resourceServer` introspects them.
 */
export const startAuthorizationServer = async ({ resource, scopes = "mcp", format = "jwt", port = 0, host = "127.0.0.1", lifetime = 3600 }) => {
  // Imported here: only this mode needs it, and it warns about its runtime when loaded.
  const { Provider } = await import("oidc-provider")
  const { privateKey } = await generateKeyPair("RS256", { extractable: true })
  const signing = { ...(await exportJWK(privateKey)), kid: `demo-${randomBytes(4).toString("hex")}`, alg: "RS256", use: "sig" }
  const clients = {
    app: { id: "mcp-demo-client", secret: secret() },
    resourceServer: { id: "mcp-demo-resource-server", secret: secret() }
  }
  const client = ({ id, secret }) => ({
    client_id: id,
    client_secret: secret,
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
    scope: scopes
  })

  const server = http.createServer()
  await new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(port, host, () => resolve(undefined))
  })
  const address = server.address()
  const issuer = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`
  const provider = new Provider(issuer, {
    jwks: { keys: [signing] },
    scopes: ["openid", ...scopes.split(" ")],
    clients: [client(clients.app), client(clients.resourceServer)],
    cookies: { keys: [secret()] },
    // The lifetime the resource server's information gave the token.
    ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? lifetime },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // The resource server may introspect any token; a client revokes only its own.
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, indicator) => {
          if (indicator !== resource) throw new Error(`unknown resource ${indicator}`)
          return {
            scope: scopes,
            accessTokenTTL: lifetime,
            accessTokenFormat: format,
            ...(format === "jwt" ? { jwt: { sign: { alg: "RS256" } } } : {})
          }
        }
      }
    }
  })
  server.on("request", provider.callback())
  return {
    issuer,
    clients,
    server,
    /** The token endpoint, for `curl -u id:secret -d grant_type=client_credentials`. */
    tokenEndpoint: `${issuer}/token`,
    introspectionEndpoint: `${issuer}/token/introspection`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve(undefined))
      })
  }
}

/** An access token for the resource, as the demo's client gets one. */
export const tokenFrom = async (as, scope) => {
  const response = await fetch(as.tokenEndpoint, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${as.clients.app.id}:${as.clients.app.secret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded"
    },
    body: new URLSearchParams({ grant_type: "client_credentials", ...(scope === undefined ? {} : { scope }) })
  })
  const body = await response.json()
  if (!response.ok) throw new Error(`token request refused: ${response.status} ${JSON.stringify(body)}`)
  return body.access_token
}
