/**
 * MCP Streamable HTTP (protocol 2025-03-26 and later) through the SDK's own transport
 * (v2 `NodeStreamableHTTPServerTransport`, v1 `StreamableHTTPServerTransport`), behind
 * mcpgate's checks. Every request (`POST`, `GET`, `DELETE`) is authenticated before its
 * body is read, as the MCP specification requires; the identity reaches the SDK as
 * `req.auth` and tools as `authInfo`. Each session (`Mcp-Session-Id`) is bound to the
 * identity that initialized it: another identity gets the 403 of docs/behaviour.md#answers,
 * and the session closes when its owner's credential expires or is revoked. After
 * authentication, the SDK transport's own answers stand (unknown session, bad JSON, wrong method).
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider, StreamableHttp } from "@mcpgate/mcp-sdk"
 * import { McpServer } from "@modelcontextprotocol/server"
 * import { createServer } from "node:http"
 *
 * const mcp = await StreamableHttp.makePromise({
 *   auth: { provider: new APIKeyAuthProvider({ keys: [process.env.MCP_API_KEY!] }) },
 *   createServer: () => {
 *     const server = new McpServer({ name: "example", version: "1.0.0" })
 *     server.registerTool("whoami", {}, async (ctx) => ({
 *       content: [{ type: "text", text: ctx.http?.authInfo?.clientId ?? "anonymous" }]
 *     }))
 *     return server
 *   }
 * })
 * createServer(mcp.handle).listen(8080, "127.0.0.1")
 * ```
 *
 * @since 0.1.0
 */
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { StreamableHttpOptions, StreamableHttpServer } from "./internal/serving.js"
import { loadSdk } from "./internal/sdk.js"
import { build } from "./internal/streamable.js"
import { decodeStreamableOptions } from "./internal/streamableOptions.js"

export type {
  /**
   * How Streamable HTTP keeps (or does not keep) sessions and answers `POST`s; shared by
   * `StreamableHttp.make`, `MCPServer` and `McpHttp.layer`.
   *
   * @since 0.1.0
   */
  StreamOptions,
  /**
   * What every way of serving takes besides its transports; shared by `StreamableHttp.make`
   * and `McpHttp.layer`.
   *
   * @since 0.1.0
   */
  ServingOptions,
  /**
   * The options, as written by users.
   *
   * @since 0.1.0
   */
  StreamableHttpOptions,
  /**
   * A Streamable HTTP endpoint: a Node request listener plus its sessions.
   *
   * @since 0.1.0
   */
  StreamableHttpServer
} from "./internal/serving.js"

/**
 * Builds the endpoint; loads the SDK first. Fails with a `ConfigurationError` for bad
 * options or a missing SDK.
 *
 * @since 0.1.0
 */
export const make = (options: StreamableHttpOptions): Effect.Effect<StreamableHttpServer, ConfigurationError> =>
  Effect.tryPromise({
    try: () => makePromise(options),
    catch: (error) => error instanceof ConfigurationError ? error : new ConfigurationError({ message: String(error) })
  })

/**
 * The same as a Promise, for code without Effect: rejects with the `ConfigurationError`.
 *
 * @since 0.1.0
 */
export const makePromise = async (options: StreamableHttpOptions): Promise<StreamableHttpServer> => {
  const decoded = decodeStreamableOptions(options)
  if (Either.isLeft(decoded)) throw decoded.left
  const { sdk, settings } = decoded.right
  return build(settings, await loadSdk(sdk))
}
