/**
 * The MCP SDK, loaded when first needed: v2 (`@modelcontextprotocol/server` with
 * `@modelcontextprotocol/node`) when installed, else v1 (`@modelcontextprotocol/sdk`).
 * Both are optional peers, so nothing here is imported statically, and the shapes used are
 * declared structurally: one adapter serves both lines.
 */
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"

/** Which SDK line. */
export type SdkLine = "v1" | "v2"

/** The SDK's `Transport`, as far as mcpgate drives it. */
export interface TransportLike {
  start(): Promise<void>
  close(): Promise<void>
  onclose?: (() => void) | undefined
  readonly sessionId?: string | undefined
}

/** The SDK's Node Streamable HTTP transport (v1 `StreamableHTTPServerTransport`, v2 `NodeStreamableHTTPServerTransport`). */
export interface StreamableTransportLike extends TransportLike {
  handleRequest(request: unknown, response: unknown, parsedBody?: unknown): Promise<void>
}

/** What both lines' transport constructors accept. */
export interface StreamableTransportOptions {
  sessionIdGenerator: (() => string) | undefined
  onsessioninitialized?: (sessionId: string) => void | Promise<void>
  onsessionclosed?: (sessionId: string) => void | Promise<void>
  enableJsonResponse?: boolean
  /** The largest `POST` body the transport reads (both lines: default 4 MiB). */
  maxRequestBodySize?: number
}

/** The SDK's `McpServer`, as far as mcpgate drives it. */
export interface McpServerLike {
  connect(transport: never): Promise<void>
  close(): Promise<void>
}

/** One loaded SDK line. */
export interface Sdk {
  readonly line: SdkLine
  readonly McpServer: new(info: { name: string; version: string }) => McpServerLike
  readonly StreamableTransport: new(options: StreamableTransportOptions) => StreamableTransportLike
  /** Builds the error the line's bearer middleware answers with 401 (`invalid_token`). */
  readonly invalidToken: (message: string) => Error
  /** Builds the error the line's bearer middleware answers with 500 (`server_error`). */
  readonly serverError: (message: string) => Error
}

// Specifiers in variables: the type checker must not require an optional peer.
const V2_SERVER = "@modelcontextprotocol/server"
const V2_NODE = "@modelcontextprotocol/node"
const V1_MCP = "@modelcontextprotocol/sdk/server/mcp.js"
const V1_STREAMABLE = "@modelcontextprotocol/sdk/server/streamableHttp.js"
const V1_ERRORS = "@modelcontextprotocol/sdk/server/auth/errors.js"

type Module = Record<string, any>

const isNotFound = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" || code === "ERR_PACKAGE_PATH_NOT_EXPORTED"
}

const importOptional = async (specifier: string): Promise<Module | undefined> => {
  try {
    return await import(specifier) as Module
  } catch (error) {
    if (isNotFound(error)) return undefined
    throw error
  }
}

const loadV2 = async (): Promise<Sdk | undefined> => {
  const [server, node] = await Promise.all([importOptional(V2_SERVER), importOptional(V2_NODE)])
  if (server === undefined || node === undefined) return undefined
  const { OAuthError, OAuthErrorCode } = server
  return {
    line: "v2",
    McpServer: server["McpServer"],
    StreamableTransport: node["NodeStreamableHTTPServerTransport"],
    invalidToken: (message) => new OAuthError(OAuthErrorCode.InvalidToken, message),
    serverError: (message) => new OAuthError(OAuthErrorCode.ServerError, message)
  }
}

const loadV1 = async (): Promise<Sdk | undefined> => {
  const [mcp, streamable, errors] = await Promise.all([
    importOptional(V1_MCP),
    importOptional(V1_STREAMABLE),
    importOptional(V1_ERRORS)
  ])
  if (mcp === undefined || streamable === undefined || errors === undefined) return undefined
  return {
    line: "v1",
    McpServer: mcp["McpServer"],
    StreamableTransport: streamable["StreamableHTTPServerTransport"],
    invalidToken: (message) => new errors["InvalidTokenError"](message),
    serverError: (message) => new errors["ServerError"](message)
  }
}

const INSTALL_HINT = "npm install @modelcontextprotocol/server @modelcontextprotocol/node " +
  "(SDK v2), or npm install @modelcontextprotocol/sdk (SDK v1)"

const cache = new Map<SdkLine | "any", Promise<Sdk>>()

/**
 * The SDK line asked for, or v2 when installed, else v1. Rejects with a `ConfigurationError`
 * that says what to install.
 */
export const loadSdk = (line?: SdkLine): Promise<Sdk> => {
  const key = line ?? "any"
  let loaded = cache.get(key)
  if (loaded === undefined) {
    loaded = (async () => {
      const sdk = line === "v1" ? await loadV1() : line === "v2" ? await loadV2() : (await loadV2()) ?? (await loadV1())
      if (sdk !== undefined) return sdk
      const wanted = line === undefined ? "the MCP SDK" : `MCP SDK ${line}`
      throw new ConfigurationError({ message: `${wanted} is not installed: ${INSTALL_HINT}` })
    })()
    // A failed load is not remembered: the package may be installed next time.
    loaded.catch(() => cache.delete(key))
    cache.set(key, loaded)
  }
  return loaded
}
