// An MCP server as a Cloudflare Worker behind an API key, through the Fetch handler.
// Cloudflare sets `CF-Connecting-IP` to the client's address (wrangler dev does too). It runs
// without `nodejs_compat`: nothing it imports needs a `node:*` module.
// In packages/mcp-sdk, the packages built (`pnpm build` at the root; wrangler 4 needs Node 22.12+):
//   echo 'MCP_API_KEY=<16+ visible ASCII characters>' > examples/.dev.vars   # kept out of git
//   npx wrangler dev --config examples/wrangler.toml                          # --port picks the port (default 8787)
//   then: MCP_URL=http://127.0.0.1:8787/mcp MCP_API_KEY=<the same key> node examples/client.mjs
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { getPrincipal } from "@mcpgate/mcp-sdk/McpAuthInfo"
import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import type { McpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import { McpServer } from "@modelcontextprotocol/server"

interface Env {
  readonly MCP_API_KEY: string
}

const createServer = () => {
  const server = new McpServer({ name: "fetch-worker-example", version: "1.0.0" })
  server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => ({
    content: [{ type: "text", text: JSON.stringify(getPrincipal(ctx)) }]
  }))
  return server
}

// The key arrives with the first request's `env`: the handler (and its failed-attempt
// budget) is made then, once per isolate.
let mcp: McpFetchHandler | undefined

export default {
  fetch(request: Request, env: Env, ctx: unknown): Promise<Response> {
    mcp ??= createMcpFetchHandler({
      auth: { provider: new APIKeyAuthProvider({ keys: [env.MCP_API_KEY] }) },
      clientAddressHeader: "CF-Connecting-IP",
      createServer
    })
    return mcp.fetch(request, env, ctx)
  }
}
