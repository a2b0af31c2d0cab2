// `pnpm demo --oauth` (or MCP_AUTH=oauth): the demo as the protected resource of a local
// OAuth authorization server (./authorization-server.mjs, oidc-provider in this process).
// The demo's provider is mcp-framework's `OAuthAuthProvider`, given only the authorization
// server's issuer: it finds the keys (MCP_OAUTH_TOKENS=jwt, the default) or the
// introspection endpoint (MCP_OAUTH_TOKENS=opaque) through the issuer's metadata (RFC 8414),
// and the demo serves its RFC 9728 metadata, so an MCP client holding the printed client
// credentials finds everything from the first 401.
import { OAuthAuthProvider } from "@mcpgate/mcp-sdk"
import { startAuthorizationServer } from "./authorization-server.mjs"

/** The scopes the demo's authorization server grants. */
export const OAUTH_SCOPES = "mcp:tools"

/**
 * Starts the authorization server for `resource` and builds the demo's provider.
 * Resolves to `{ as, provider, protectedResource, banner(url), close() }`.
 */
export const startOAuthMode = async ({ resource, format, port, host }) => {
  const as = await startAuthorizationServer({ resource, scopes: OAUTH_SCOPES, format, port, host })
  try {
    const provider = new OAuthAuthProvider({
      authorizationServers: [as.issuer],
      resource,
      validation: format === "opaque"
        ? { type: "introspection", introspection: { clientId: as.clients.resourceServer.id, clientSecret: as.clients.resourceServer.secret } }
        : { type: "jwt" }
    })
    return {
      as,
      provider,
      protectedResource: provider.protectedResource,
      banner: (url) => bannerLines(as, format, resource, url),
      close: async () => {
        await provider.dispose()
        await as.close()
      }
    }
  } catch (error) {
    await as.close()
    throw error
  }
}

const bannerLines = (as, format, resource, url) => {
  const { app } = as.clients
  const mcp = new URL("/mcp", url)
  const metadata = new URL(`/.well-known/oauth-protected-resource${new URL(resource).pathname}`, url)
  const getToken = `curl -s -u ${app.id}:${app.secret} -d grant_type=client_credentials -d scope=${OAUTH_SCOPES} ${as.tokenEndpoint}`
  return [
    `  send header      Authorization: Bearer <an access token from the authorization server below>`,
    `  resource         ${resource}  (OAuth protected resource, RFC 9728)`,
    `  metadata         ${metadata}  (no auth)`,
    `  authorization    ${as.issuer}  (oidc-provider in this process; metadata at ${as.issuer}/.well-known/oauth-authorization-server)`,
    `  tokens           ${format === "opaque" ? "opaque, checked by introspection (RFC 7662)" : "JWTs, checked with the keys found through discovery"}; aud ${resource}`,
    `  client           ${app.id} / ${app.secret}  (client credentials made for this run, shown once)`,
    "",
    "Get a token, then call the tool, from another terminal:",
    `  TOKEN=$(${getToken} | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token')`,
    `  MCP_URL=${mcp} MCP_TOKEN=$TOKEN node packages/mcp-sdk/examples/client.mjs`,
    `  curl -i ${mcp}  (the 401: WWW-Authenticate names resource_metadata)`,
    `  curl -s -u ${app.id}:${app.secret} -d token=$TOKEN ${as.issuer}/token/revocation  (revoked: ${
      format === "opaque" ? "refused on the next request not answered from the 60 s cache" : "a JWT stays valid until exp; try MCP_OAUTH_TOKENS=opaque"
    })`
  ]
}
