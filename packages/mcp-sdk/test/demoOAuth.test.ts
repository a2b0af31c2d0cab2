/**
 * `pnpm demo --oauth` (MCP_AUTH=oauth) works as its banner says: run from the repository root
 * against the built packages, it starts a local authorization server (oidc-provider) in its
 * own process and serves `whoami` as that server's protected resource. The client credentials
 * it prints get a token at the printed token endpoint; an SDK client holding the token is
 * served; without one the answer is the 401 naming the metadata, which is served without
 * credentials. JWTs (keys found by discovery) and opaque tokens (introspected, so a revoked
 * one is refused once no cached answer stands for it).
 */
import { describe, expect, it } from "@effect/vitest"
import { Bodies } from "@mcpgate/testing/contract"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"
import { connect } from "./fixtures/mcp.js"
import { DEMO, freePort, run } from "./support/processes.js"

/** Starts the demo in OAuth mode and reads what its banner printed. */
const startOAuthDemo = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const port = yield* Effect.promise(freePort)
    const demo = yield* run(DEMO, { PORT: String(port), MCP_AUTH: "oauth", ...env })
    yield* Effect.promise(() => demo.waitFor(/^Stop with Ctrl-C\.$/m, 20_000))
    const banner = demo.stdout()
    const [, id, secret, tokenEndpoint] = /curl -s -u ([^:\s]+):(\S+) -d grant_type=client_credentials -d scope=\S+ (\S+)/.exec(banner)!
    return { demo, banner, mcp: new URL(`http://127.0.0.1:${port}/mcp`), id: id!, secret: secret!, tokenEndpoint: tokenEndpoint! }
  })

/** The token the banner's `curl` command gets. */
const tokenFrom = async ({ id, secret, tokenEndpoint }: { id: string; secret: string; tokenEndpoint: string }) => {
  const response = await fetch(tokenEndpoint, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`${id}:${secret}`)}`, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", scope: "mcp:tools" })
  })
  expect(response.status).toBe(200)
  return ((await response.json()) as { access_token: string }).access_token
}

describe("pnpm demo --oauth", () => {
  it.scopedLive("serves an SDK client holding a JWT from its own authorization server, and the metadata to find it", () =>
    inScope(async (use) => {
      const demo = await use(startOAuthDemo({}))
      expect(demo.banner).toContain(`resource         ${demo.mcp.href}  (OAuth protected resource, RFC 9728)`)
      const metadataUrl = new URL("/.well-known/oauth-protected-resource/mcp", demo.mcp).href

      const refused = await fetch(demo.mcp, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
      expect(refused.status).toBe(401)
      expect(await refused.text()).toBe(Bodies.unauthorized)
      expect(refused.headers.get("www-authenticate")).toBe(`Bearer realm="mcp", resource_metadata="${metadataUrl}"`)
      const metadata = await (await fetch(metadataUrl)).json() as { resource: string; authorization_servers: Array<string> }
      expect(metadata.resource).toBe(demo.mcp.href)
      expect(demo.tokenEndpoint).toBe(`${metadata.authorization_servers[0]}/token`)

      const token = await tokenFrom(demo)
      expect(token.split(".")).toHaveLength(3)
      const client = await use(acquire(() => connect("v2", "http-stream", demo.mcp, { authorization: `Bearer ${token}` }), (c) => c.close()))
      expect(await client.whoami()).toMatchObject({ subject: "mcp-demo-client", scopes: ["mcp:tools"] })
    }))

  it.scopedLive("with MCP_OAUTH_TOKENS=opaque, introspects its tokens", () =>
    inScope(async (use) => {
      const demo = await use(startOAuthDemo({ MCP_OAUTH_TOKENS: "opaque" }))
      expect(demo.banner).toContain("opaque, checked by introspection (RFC 7662)")
      const token = await tokenFrom(demo)
      expect(token).not.toContain(".")
      const client = await use(acquire(() => connect("v2", "http-stream", demo.mcp, { authorization: `Bearer ${token}` }), (c) => c.close()))
      expect(await client.whoami()).toMatchObject({ subject: "mcp-demo-client", scopes: ["mcp:tools"] })
    }))
})
