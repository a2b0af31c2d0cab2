/**
 * What the end-to-end tests share: servers started through the public API and clients, as
 * scoped resources (the test's scope closes clients, then servers), and raw MCP requests
 * over the wire client of `@mcpgate/testing/wire`.
 */
import { expect } from "@effect/vitest"
import { MCPServer } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import type { HttpStreamTransportOptions, SseTransportOptions } from "@mcpgate/mcp-sdk/MCPServer"
import { acquire } from "@mcpgate/testing/scoped"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { openGet, send } from "@mcpgate/testing/wire"
import type { McpClient, Sdk, Seen, Transport } from "../fixtures/mcp.js"
import { connect, registerWhoami } from "../fixtures/mcp.js"

// ---------------------------------------------------------------------------------------
// Raw MCP over Streamable HTTP.

export const apiKey = (key: string): HeaderLines => [["X-API-Key", key]]
export const bearer = (token: string): HeaderLines => [["Authorization", `Bearer ${token}`]]

export const PROTOCOL_VERSION = "2025-03-26"

export const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "raw", version: "1.0.0" } }
})
export const PING = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" })

/** What every MCP `POST` carries besides credentials. */
export const POST_HEADERS: HeaderLines = [
  ["Content-Type", "application/json"],
  ["Accept", "application/json, text/event-stream"]
]

/** The headers of a request in a session. */
export const inSession = (sessionId: string): HeaderLines => [
  ["Mcp-Session-Id", sessionId],
  ["Mcp-Protocol-Version", PROTOCOL_VERSION]
]

/** Initializes a session with a raw `POST` and returns its id (the `Mcp-Session-Id` answered). */
export const initializeRaw = async (mcp: URL, credentials: HeaderLines): Promise<string> => {
  const response = await send(mcp, "POST", mcp.pathname, [...POST_HEADERS, ...credentials], INITIALIZE)
  expect(response.status, response.body).toBe(200)
  const sessionId = response.header("mcp-session-id")
  expect(sessionId).toMatch(/^[0-9a-f-]{36}$/)
  return sessionId!
}

/** A raw `ping` in a session. */
export const pingIn = (mcp: URL, sessionId: string, credentials: HeaderLines): Promise<RawResponse> =>
  send(mcp, "POST", mcp.pathname, [...POST_HEADERS, ...inSession(sessionId), ...credentials], PING)

/** The JSON-RPC messages of an answer, whether one JSON body or SSE `data:` lines. */
export const messagesOf = (response: RawResponse): Array<Record<string, unknown>> => {
  if (response.header("content-type")?.startsWith("application/json")) return [JSON.parse(response.body)]
  return response.body.split("\n").filter((line) => line.startsWith("data: ")).map((line) => JSON.parse(line.slice(6)))
}

// ---------------------------------------------------------------------------------------
// Servers and clients, stopped after each test.

/** The options of either transport, but the address (always 127.0.0.1 and a free port). */
export type ServerOptions =
  & Omit<SseTransportOptions, "port" | "host" | "auth">
  & Omit<HttpStreamTransportOptions, "port" | "host" | "auth">
  & { readonly auth: { readonly provider: SseTransportOptions["auth"]["provider"] } }

export interface Served {
  readonly server: MCPServer
  /** The base URL, e.g. `http://127.0.0.1:41234`. */
  readonly base: URL
  /** The transport's MCP endpoint: `/mcp` or `/sse`. */
  readonly endpoint: URL
  /** What `whoami` saw, one entry per call. */
  readonly seen: Array<Seen>
}

/** An `MCPServer` of `sdk` with `whoami`, on 127.0.0.1 and a free port, started; stopped with the test's scope. */
export const serve = (sdk: Sdk, transport: Transport, options: ServerOptions) =>
  acquire(
    async (): Promise<Served> => {
      const seen: Array<Seen> = []
      const server = new MCPServer({
        sdk,
        transport: { type: transport, options: { ...options, port: 0, host: "127.0.0.1" } } as MCPServerOptions["transport"]
      })
      server.configure(registerWhoami(seen))
      await server.start()
      const base = server.url!
      return { server, base, endpoint: new URL(transport === "sse" ? "/sse" : "/mcp", base), seen }
    },
    ({ server }) => server.stop()
  )

/** A connected client, closed with the test's scope (before the servers it talks to, acquired earlier). */
export const connectAs = (sdk: Sdk, transport: Transport, endpoint: URL, headers: Record<string, string>) =>
  acquire(
    (): Promise<McpClient> => connect(sdk, transport, endpoint, headers),
    (client) => client.close().catch(() => undefined)
  )

/** An open `GET` stream (see `openGet`), closed with the test's scope, before the server it was opened on. */
export const openedGet = (base: URL, path: string, headers: HeaderLines) =>
  acquire(() => openGet(base, path, headers), (stream) => stream.close())

/** Polls `condition` every 10 ms until it holds; rejects after `timeoutMs`. */
export const waitFor = async (what: string, condition: () => boolean, timeoutMs = 3000): Promise<number> => {
  const start = Date.now()
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return Date.now() - start
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Races `promise` against a deadline. */
export const within = <A>(ms: number, what: string, promise: Promise<A>): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms)
    })
  ]).finally(() => clearTimeout(timer))
}
