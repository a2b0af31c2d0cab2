// The three legacy HTTP+SSE servers of bench/http.mjs, each in a child process of its own
// (the side to start is the argument). Each hands every session a fresh MCP SDK v1
// `McpServer` with the same tool, so the MCP work is the same code on all three and only
// transport and auth differ:
//   ours      `SseServer.listen` from @mcpgate/node, API keys, default options (rate limit on);
//   framework mcp-framework's `SSEServerTransport` with its own `APIKeyAuthProvider`, same keys;
//   open      `SseServer.listen` again with authentication off on both endpoints.
// mcp-framework's `SSEServerTransport` is what its `MCPServer` runs for `type: "sse"`, and
// `SseServer.listen` is what ours does; both are a node:http server plus a server per session.
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { SseServer } from "@mcpgate/node"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { API_KEYS, registerTool, serveUntilStopped } from "./common.mjs"

const mcpServer = () => {
  const server = new McpServer({ name: "bench", version: "1.0.0" })
  registerTool(server)
  return server
}
const connectSession = async (transport) => {
  await mcpServer().connect(transport)
}

const ourServer = async (endpoints) => {
  const running = await SseServer.listen({
    port: 0,
    auth: { provider: new APIKeyAuthProvider({ keys: API_KEYS }), endpoints },
    // With messages open, no POST ever binds the load's stream: it must outlive the run.
    ...(endpoints?.messages === false ? { anonymousStreamTimeout: 3600 } : {}),
    onSession: connectSession
  })
  return { url: running.url.href, close: () => running.close() }
}

/** Each side in a process of its own (the side is this script's argument). */
const sides = {
  ours: () => ourServer(undefined),
  open: () => ourServer({ sse: false, messages: false }),
  framework: async () => {
    // mcp-framework exports its SSE transport only through `MCPServer`, not from its entry
    // point; the file is imported directly (the same module instance `MCPServer` would use).
    // Only this process loads mcp-framework: its request context is an AsyncLocalStorage,
    // which turns on promise hooks for everything else in the process once used.
    const { APIKeyAuthProvider: FrameworkAPIKeyAuthProvider } = await import("mcp-framework")
    const { SSEServerTransport } = await import(new URL("./transports/sse/server.js", import.meta.resolve("mcp-framework")))
    const framework = new SSEServerTransport({
      port: 0,
      host: "127.0.0.1",
      auth: { provider: new FrameworkAPIKeyAuthProvider({ keys: API_KEYS }), endpoints: { sse: false, messages: true } }
    })
    framework.setServerFactory(mcpServer)
    await framework.start()
    // It listens on the port it was given (0: any free one) and keeps the server to itself.
    return { url: `http://127.0.0.1:${framework._server.address().port}/`, close: () => framework.close() }
  }
}

const side = process.argv[2]
const started = await sides[side]()
serveUntilStopped({ [side]: started.url }, started.close)
