/**
 * An MCP server in one screen, with mcp-framework's shape: `new MCPServer({ transport:
 * { type: "sse" | "http-stream", options: { port, host, endpoint, auth, cors } } })`, tools
 * registered once with the SDK's own `registerTool` signature and served to every session,
 * `start()` and `stop()`. The MCP SDK does the protocol (v2 when installed, else v1);
 * mcpgate does the authentication, the session binding and the exact answers.
 *
 * Unlike mcp-framework, options are checked when the server is constructed: an unknown or
 * misspelled key, a weak key or secret, or a missing provider is a `ConfigurationError`,
 * never a server that quietly runs without authentication.
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider, getPrincipal, MCPServer } from "@mcpgate/mcp-sdk"
 *
 * const server = new MCPServer({
 *   name: "example",
 *   transport: {
 *     type: "http-stream",
 *     options: { port: 8080, auth: { provider: new APIKeyAuthProvider({ keys: [process.env.MCP_API_KEY!] }) } }
 *   }
 * })
 * server.registerTool("whoami", { description: "Who is calling" }, async (extraOrCtx: unknown) => ({
 *   content: [{ type: "text", text: getPrincipal(extraOrCtx)?.clientId ?? "anonymous" }]
 * }))
 * await server.start()
 * ```
 *
 * @since 0.1.0
 */
import { AuthProvider } from "@mcpgate/auth-core"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type { Host } from "./internal/host.js"
import { listen } from "./internal/host.js"
import type { MCPServerSettings } from "./internal/mcpServerOptions.js"
import { decodeMCPServerOptions } from "./internal/mcpServerOptions.js"
import type { MCPServerOptions } from "./internal/mcpServerTypes.js"
import type { McpServerLike } from "./internal/sdk.js"
import { loadSdk } from "./internal/sdk.js"

export type {
  /**
   * What both transports accept besides mcp-framework's options.
   *
   * @since 0.1.0
   */
  CommonTransportOptions,
  /**
   * mcp-framework's `cors`: `allowOrigin` is an origin, a list of origins, or `"*"`.
   *
   * @since 0.1.0
   */
  CorsOptions,
  /**
   * Streamable HTTP's `auth`; none of its `endpoints` may be false.
   *
   * @since 0.1.0
   */
  HttpStreamAuthOptions,
  /**
   * Streamable HTTP at `endpoint` (default `"/mcp"`); every request is authenticated.
   *
   * @since 0.1.0
   */
  HttpStreamTransportOptions,
  /**
   * The options.
   *
   * @since 0.1.0
   */
  MCPServerOptions,
  /**
   * A provider, or a Layer of the `AuthProvider` service built when the server starts.
   *
   * @since 0.1.0
   */
  ProviderOption,
  /**
   * The legacy HTTP+SSE transport's `auth`.
   *
   * @since 0.1.0
   */
  SseAuthOptions,
  /**
   * The legacy HTTP+SSE transport (default `"/sse"` and `"/messages"`).
   *
   * @since 0.1.0
   */
  SseTransportOptions,
  /**
   * The caps on open streams of the legacy HTTP+SSE transport, as `SseServer` takes them.
   *
   * @since 0.1.0
   */
  StreamLimitOptions,
  /**
   * One transport, with `auth` in its `options` or beside them, as mcp-framework accepts.
   *
   * @since 0.1.0
   */
  TransportOptions
} from "./internal/mcpServerTypes.js"

/** One call to the SDK server's registration API, replayed on every SDK server made. */
type Registration = (server: any) => void

/**
 * The server.
 *
 * @since 0.1.0
 */
export class MCPServer {
  readonly #settings: MCPServerSettings
  #providerScope: Scope.CloseableScope | undefined
  readonly #registrations: Array<Registration> = []
  #host: Host | undefined
  #starting: Promise<void> | undefined

  /** Checks every option, once; throws a `ConfigurationError` naming each problem. */
  constructor(input: MCPServerOptions) {
    this.#settings = decodeMCPServerOptions(input)
  }

  /**
   * Registers a tool with the SDK's `registerTool(name, config, handler)`; it is served to
   * every session. The handler gets what the SDK gives it (v1: `(args, extra)`, v2:
   * `(args, ctx)`, without `inputSchema` just the second); read the caller with `getPrincipal`.
   */
  registerTool(name: string, config: Record<string, unknown>, handler: (...args: Array<any>) => unknown): this {
    return this.configure((server) => server.registerTool(name, config, handler))
  }

  /** Registers a prompt with the SDK's `registerPrompt(name, config, callback)`. */
  registerPrompt(name: string, config: Record<string, unknown>, callback: (...args: Array<any>) => unknown): this {
    return this.configure((server) => server.registerPrompt(name, config, callback))
  }

  /** Registers a resource with the SDK's `registerResource(name, uriOrTemplate, config, callback)`. */
  registerResource(name: string, uriOrTemplate: unknown, config: Record<string, unknown>, callback: (...args: Array<any>) => unknown): this {
    return this.configure((server) => server.registerResource(name, uriOrTemplate, config, callback))
  }

  /** Runs `register` on every SDK `McpServer` made, for any other part of the SDK's API. */
  configure(register: (server: any) => void): this {
    if (this.#starting !== undefined) throw new Error("register tools before start(): sessions already open would not see them")
    this.#registrations.push(register)
    return this
  }

  /**
   * Loads the SDK and listens. Rejects if the SDK is missing, a registration fails (the SDK
   * refuses two tools of one name, say), or the port is taken; nothing is left running then,
   * and `start()` may be called again.
   */
  start(): Promise<void> {
    this.#starting ??= (async () => {
      const { host, name, sdk: line, version } = this.#settings
      const sdk = await loadSdk(line)
      const createServer = (): McpServerLike => {
        const server = new sdk.McpServer({ name, version })
        for (const register of this.#registrations) register(server)
        return server
      }
      const provider = await this.#buildProvider()
      try {
        this.#host = await listen({ ...host, provider, createServer }, sdk)
      } catch (error) {
        await this.#releaseProvider()
        throw error
      }
    })().catch((error: unknown) => {
      // Nothing was left running: a later start() may try again (once the port is free, say).
      this.#starting = undefined
      throw error
    })
    return this.#starting
  }

  /** Ends every open stream and session, lets requests in flight finish (up to 5 s), and closes. */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => undefined)
    await this.#host?.close()
    await this.#releaseProvider()
  }

  /** The provider's service; a Layer is built here, in a scope that `stop()` closes. */
  async #buildProvider(): Promise<AuthProvider.Service> {
    const { provider } = this.#settings
    if (!Layer.isLayer(provider)) return serviceOf(provider as ProviderInput)
    const layer = provider as Layer.Layer<AuthProvider.AuthProvider, unknown>
    const scope = Effect.runSync(Scope.make())
    this.#providerScope = scope
    const exit = await Effect.runPromiseExit(Layer.buildWithScope(layer, scope))
    if (Exit.isSuccess(exit)) return Context.get(exit.value, AuthProvider.AuthProvider)
    await this.#releaseProvider()
    // The Layer's own error (a ConfigurationError, a ConfigError), not Effect's wrapper.
    throw Cause.squash(exit.cause)
  }

  async #releaseProvider(): Promise<void> {
    const scope = this.#providerScope
    this.#providerScope = undefined
    if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  }

  /** The base URL once started, e.g. `http://127.0.0.1:8080`. */
  get url(): URL | undefined {
    return this.#host?.url
  }

  /** How many sessions are open. */
  get sessionCount(): number {
    return this.#host?.sessionCount() ?? 0
  }
}
