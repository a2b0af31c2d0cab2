/**
 * Real MCP SDKs on both ends of an `SseServer`: a server builder per SDK major (v1
 * `@modelcontextprotocol/sdk`, v2 `@modelcontextprotocol/server`) whose `whoami` tool records
 * what a tool sees, and a client per SDK major that connects over the legacy SSE transport.
 */
import type { SseServer, SseTransport } from "@mcpgate/node"
import { Client as ClientV2, SSEClientTransport as SSEClientTransportV2 } from "@modelcontextprotocol/client"
import { Client as ClientV1 } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport as SSEClientTransportV1 } from "@modelcontextprotocol/sdk/client/sse.js"
import { McpServer as McpServerV1 } from "@modelcontextprotocol/sdk/server/mcp.js"
import { McpServer as McpServerV2 } from "@modelcontextprotocol/server"

export type Sdk = "v1" | "v2"

/** What the `whoami` tool saw on one call. */
export interface Seen {
  readonly authInfo:
    | {
      readonly token: string
      readonly clientId: string
      readonly scopes: ReadonlyArray<string>
      readonly expiresAt?: number | undefined
      readonly extra?: Record<string, unknown> | undefined
    }
    | undefined
  /** The request headers the tool was given, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>
}

const lowerCased = (headers: Record<string, string | Array<string> | undefined>): Record<string, string> => {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) result[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value
  }
  return result
}

const headersOf = (request: Request): Record<string, string> => {
  const result: Record<string, string> = {}
  request.headers.forEach((value, name) => {
    result[name.toLowerCase()] = value
  })
  return result
}

/**
 * An `onSession` that connects a fresh McpServer of the given SDK to each transport. Its
 * `whoami` tool pushes what it saw onto `seen` and answers with the client id.
 */
export const mcpServer = (sdk: Sdk, seen: Array<Seen>, transports: Array<SseTransport> = []) =>
async (transport: SseTransport): Promise<void> => {
  transports.push(transport)
  if (sdk === "v1") {
    const server = new McpServerV1({ name: "node-sse-test-v1", version: "1.0.0" })
    server.registerTool("whoami", { description: "Who is calling" }, async (extra) => {
      seen.push({ authInfo: extra.authInfo, headers: lowerCased(extra.requestInfo?.headers ?? {}) })
      return { content: [{ type: "text", text: extra.authInfo?.clientId ?? "anonymous" }] }
    })
    // The point of the type-check: our transport is an SDK v1 `Transport`.
    await server.connect(transport)
  } else {
    const server = new McpServerV2({ name: "node-sse-test-v2", version: "1.0.0" })
    server.registerTool("whoami", { description: "Who is calling" }, async (ctx) => {
      const req = ctx.http?.req
      seen.push({
        authInfo: ctx.http?.authInfo,
        headers: req === undefined ? {} : headersOf(req)
      })
      return { content: [{ type: "text", text: ctx.http?.authInfo?.clientId ?? "anonymous" }] }
    })
    // The same for SDK v2.
    await server.connect(transport)
  }
}

/** A connected MCP client, whatever its SDK. */
export interface McpClient {
  readonly toolNames: () => Promise<ReadonlyArray<string>>
  /** Calls `whoami` and returns the text it answered. */
  readonly whoami: () => Promise<string>
  readonly close: () => Promise<void>
}

const textOf = (result: unknown): string => {
  const content = (result as { readonly content?: unknown }).content as ReadonlyArray<{ readonly type: string; readonly text?: string }> | undefined
  const first = content?.[0]
  if (first?.type !== "text" || first.text === undefined) throw new Error(`unexpected tool result ${JSON.stringify(result)}`)
  return first.text
}

/**
 * Connects a client of the given SDK to `<base>/sse`, sending `headers` on the stream and
 * on every POST. Rejects as the SDK's `connect` does.
 */
export const connectClient = async (sdk: Sdk, base: URL, headers: Record<string, string>): Promise<McpClient> => {
  const url = new URL("/sse", base)
  if (sdk === "v1") {
    const client = new ClientV1({ name: "node-sse-test-client-v1", version: "1.0.0" })
    await client.connect(new SSEClientTransportV1(url, { requestInit: { headers } }))
    return {
      toolNames: async () => (await client.listTools()).tools.map((tool) => tool.name),
      whoami: async () => textOf(await client.callTool({ name: "whoami", arguments: {} })),
      close: () => client.close()
    }
  }
  const client = new ClientV2({ name: "node-sse-test-client-v2", version: "1.0.0" })
  await client.connect(new SSEClientTransportV2(url, { requestInit: { headers } }))
  return {
    toolNames: async () => (await client.listTools()).tools.map((tool) => tool.name),
    whoami: async () => textOf(await client.callTool({ name: "whoami", arguments: {} })),
    close: () => client.close()
  }
}

/**
 * Closes a server for cleanup: ends every session, then drops the remaining connections.
 * `server.close()` alone waits for connections a client opened but never sent a request on
 * (undici keeps such spares for its 4 s keep-alive), which would slow every test down.
 */
export const stop = async (server: SseServer.RunningServer): Promise<void> => {
  await server.sse.close()
  server.server.closeAllConnections()
  await server.close()
}

/** Every client and server pairing: each SDK with itself, and across versions. */
export const SDK_PAIRS: ReadonlyArray<{ readonly client: Sdk; readonly server: Sdk }> = [
  { client: "v1", server: "v1" },
  { client: "v2", server: "v2" },
  { client: "v1", server: "v2" },
  { client: "v2", server: "v1" }
]
