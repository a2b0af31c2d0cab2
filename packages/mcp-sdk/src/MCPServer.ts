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
import type { EndpointPolicy } from "@mcpgate/http"
import type { SseServer } from "@mcpgate/node"
import { AuthProvider, Options } from "@mcpgate/auth-core"
import { ProtectedResource, ToolScopes } from "@mcpgate/http"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import type { Host, HostSettings } from "./internal/host.js"
import { listen } from "./internal/host.js"
import { allowedOriginsOf, MCPServerOptions as OptionsSchema } from "./internal/options.js"
import type { McpServerLike, SdkLine } from "./internal/sdk.js"
import type { ServingOptions, StreamOptions } from "./StreamableHttp.js"
import { loadSdk } from "./internal/sdk.js"

/**
 * mcp-framework's `cors`: `allowOrigin` is an origin, a list of origins, or `"*"`. The
 * allowed methods and headers follow from the transport and the provider.
 *
 * @since 0.1.0
 */
export interface CorsOptions {
  readonly allowOrigin?: string | ReadonlyArray<string>
}

/**
 * A provider: an `APIKeyAuthProvider`, a `JWTAuthProvider`, an `AuthProvider` service, an
 * object of mcp-framework's custom shape, or a Layer of the `AuthProvider` service
 * (`ApiKey.layerConfig()`, say), built when the server starts and released when it stops.
 *
 * @since 0.1.0
 */
export type ProviderOption = ProviderInput | Layer.Layer<AuthProvider.AuthProvider, unknown>

/**
 * What both transports accept besides mcp-framework's options.
 *
 * @since 0.1.0
 */
export interface CommonTransportOptions
  extends Pick<
    ServingOptions,
    | "healthEndpoint"
    | "allowedHosts"
    | "exposeToken"
    | "requestContext"
    | "resource"
    | "protectedResource"
    | "toolScopes"
    | "rateLimit"
    | "trustProxy"
    | "logger"
    | "maxHeadersCount"
  >
{
  /** Default 8080; 0 picks a free port. */
  readonly port?: number
  /** Default `"127.0.0.1"`. */
  readonly host?: string
  /** The origins allowed (mcp-framework's name for `allowedOrigins`). */
  readonly cors?: CorsOptions
  /**
   * Where Effect's metrics (mcpgate's `mcpgate_auth_*` counters and the app's own) are
   * served in the Prometheus text format, e.g. `"/metrics"`; default `false`: not served.
   * The route is public like health (no authentication, no rate limiting); only the
   * `Origin` and `Host` checks apply. Counts of failures by reason tell an attacker how the
   * server is probed: serve it on a loopback or internal port (`host: "127.0.0.1"`), or
   * keep it from the outside at the proxy.
   */
  readonly metricsEndpoint?: string | false
}

/**
 * The legacy HTTP+SSE transport's `auth`: `endpoints.sse` defaults to false and
 * `endpoints.messages` to true, as mcp-framework documents; `endpoints.oauth` is accepted
 * and changes nothing (the protected-resource metadata is public either way).
 *
 * @since 0.1.0
 */
export interface SseAuthOptions {
  readonly provider: ProviderOption
  readonly endpoints?: EndpointPolicy.Options & { readonly oauth?: boolean }
}

/**
 * Streamable HTTP's `auth`. `endpoints` is accepted for migrating code, but Streamable HTTP
 * authenticates every request, `initialize` included, so none of them may be false.
 *
 * @since 0.1.0
 */
export interface HttpStreamAuthOptions {
  readonly provider: ProviderOption
  readonly endpoints?: {
    readonly sse?: true
    readonly messages?: true
    readonly initialize?: true
    readonly oauth?: boolean
  }
}

/**
 * The caps on open streams of the legacy HTTP+SSE transport, as `SseServer` takes them:
 * `maxStreams` (1,000, then 503), `maxAnonymousStreams` (a quarter of it, then 503),
 * `maxAnonymousStreamsPerClient` (16, then 429) and `anonymousStreamTimeout` (60 s).
 *
 * @since 0.2.0
 */
export type StreamLimitOptions = Pick<
  SseServer.SseServerOptions,
  "maxStreams" | "maxAnonymousStreams" | "maxAnonymousStreamsPerClient" | "anonymousStreamTimeout"
>

/**
 * The legacy HTTP+SSE transport: `GET endpoint` opens the stream (default `"/sse"`),
 * `POST messageEndpoint` carries messages (default `"/messages"`).
 *
 * @since 0.1.0
 */
export interface SseTransportOptions extends CommonTransportOptions, StreamLimitOptions {
  readonly endpoint?: string
  readonly messageEndpoint?: string
  readonly auth: SseAuthOptions
}

/**
 * Streamable HTTP at `endpoint` (default `"/mcp"`); every request is authenticated.
 *
 * @since 0.1.0
 */
export interface HttpStreamTransportOptions extends CommonTransportOptions, StreamOptions {
  readonly endpoint?: string
  readonly auth: HttpStreamAuthOptions
}

/**
 * One transport, with `auth` in its `options` or beside them, as mcp-framework accepts. It is
 * required in one of the two places; the constructor refuses a transport without it.
 *
 * @since 0.1.0
 */
export type TransportOptions =
  | {
    readonly type: "sse"
    readonly options?: Omit<SseTransportOptions, "auth"> & { readonly auth?: SseAuthOptions }
    readonly auth?: SseAuthOptions
  }
  | {
    readonly type: "http-stream"
    readonly options?: Omit<HttpStreamTransportOptions, "auth"> & { readonly auth?: HttpStreamAuthOptions }
    readonly auth?: HttpStreamAuthOptions
  }

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface MCPServerOptions {
  /** Default `"mcp-server"`. */
  readonly name?: string
  /** Default `"1.0.0"`. */
  readonly version?: string
  readonly transport: TransportOptions
  /** The SDK line; default v2 when installed, else v1. */
  readonly sdk?: SdkLine
  /** Hears of errors raised while serving; never given a secret. */
  readonly onError?: (error: unknown) => void
}

/**
 * `auth: undefined` (say, from an unset variable) in plain words rather than as the schema
 * of every provider: mcp-framework would run such a server open.
 */
const authLeftOut = (options: unknown): ConfigurationError | undefined => {
  const transportOptions = (options as { transport?: { options?: unknown } } | null)?.transport?.options
  if (typeof transportOptions !== "object" || transportOptions === null || !("auth" in transportOptions)) return undefined
  if ((transportOptions as { auth?: unknown }).auth != null) return undefined
  return new ConfigurationError({
    message: "Invalid MCPServer options:\n  - transport.options.auth is required: mcpgate serves only authenticated MCP, " +
      "e.g. auth: { provider: new APIKeyAuthProvider({ keys }) }"
  })
}

/**
 * mcp-framework's `transport: { type, auth, options }`, as `options.auth` (it copies `auth`
 * there too). `auth` in both places is refused rather than one silently winning.
 */
const withTransportAuth = (options: MCPServerOptions): MCPServerOptions => {
  const transport = (options as { transport?: unknown } | null)?.transport
  if (typeof transport !== "object" || transport === null || !("auth" in transport)) return options
  const { auth, options: transportOptions, ...rest } = transport as { auth: unknown; options?: unknown }
  if (typeof transportOptions === "object" && transportOptions !== null && "auth" in transportOptions) {
    throw new ConfigurationError({
      message: "Invalid MCPServer options:\n  - transport.auth: auth is given twice, beside and inside transport.options; " +
        "keep one of them"
    })
  }
  const merged = transportOptions === undefined ? { auth } : { ...(transportOptions as object), auth }
  return { ...options, transport: { ...rest, options: merged } as unknown as TransportOptions }
}

/** The SSE server's endpoint policy, without mcp-framework's `oauth`, which guards nothing here. */
const withoutOauth = (
  endpoints: (EndpointPolicy.Options & { readonly oauth?: boolean | undefined }) | undefined
): EndpointPolicy.Options | undefined => {
  if (endpoints === undefined) return undefined
  const { oauth: _oauth, ...policy } = endpoints
  return policy
}

/** One call to the SDK server's registration API, replayed on every SDK server made. */
type Registration = (server: any) => void

/**
 * The server.
 *
 * @since 0.1.0
 */
export class MCPServer {
  readonly #settings: Omit<HostSettings, "createServer" | "provider">
  readonly #provider: ProviderOption
  #providerScope: Scope.CloseableScope | undefined
  readonly #name: string
  readonly #version: string
  readonly #sdk: SdkLine | undefined
  readonly #registrations: Array<Registration> = []
  #host: Host | undefined
  #starting: Promise<void> | undefined

  /** Checks every option; throws a `ConfigurationError` naming each problem. */
  constructor(input: MCPServerOptions) {
    const options = withTransportAuth(input)
    const decoded = Either.getOrThrowWith(
      Options.decode(OptionsSchema, options, "MCPServer"),
      (error) => authLeftOut(options) ?? error
    )
    const { transport } = decoded
    const common = transport.options
    this.#name = decoded.name ?? "mcp-server"
    this.#version = decoded.version ?? "1.0.0"
    this.#sdk = decoded.sdk
    this.#provider = common.auth.provider
    const protectedResource = common.protectedResource === undefined
      ? undefined
      : ProtectedResource.fromDecoded(common.protectedResource)
    this.#settings = {
      port: common.port ?? 8080,
      host: common.host ?? "127.0.0.1",
      sse: transport.type === "sse"
        ? {
          endpoint: transport.options.endpoint ?? "/sse",
          messageEndpoint: transport.options.messageEndpoint ?? "/messages",
          endpoints: withoutOauth(transport.options.auth.endpoints),
          maxStreams: transport.options.maxStreams,
          maxAnonymousStreams: transport.options.maxAnonymousStreams,
          maxAnonymousStreamsPerClient: transport.options.maxAnonymousStreamsPerClient,
          anonymousStreamTimeout: transport.options.anonymousStreamTimeout
        }
        : undefined,
      stream: transport.type === "http-stream"
        ? {
          endpoint: transport.options.endpoint ?? "/mcp",
          responseMode: transport.options.responseMode ?? "stream",
          stateless: transport.options.stateless ?? false,
          sessionIdleTimeout: transport.options.sessionIdleTimeout,
          maxSessionsPerIdentity: transport.options.maxSessionsPerIdentity
        }
        : undefined,
      healthEndpoint: common.healthEndpoint ?? "/health",
      metricsEndpoint: common.metricsEndpoint ?? false,
      allowedOrigins: allowedOriginsOf(common.cors),
      allowedHosts: common.allowedHosts,
      exposeToken: common.exposeToken ?? false,
      // mcp-framework's tools read `getRequestContext()`: on by default for its users.
      requestContext: common.requestContext ?? true,
      resource: common.resource ?? protectedResource?.resource,
      protectedResource: common.protectedResource,
      toolScopes: common.toolScopes ?? ToolScopes.empty,
      gate: {
        rateLimit: common.rateLimit,
        trustProxy: common.trustProxy,
        logger: common.logger,
        protectedResource,
        runtime: undefined
      },
      onError: input.onError,
      maxHeadersCount: common.maxHeadersCount,
      drainMs: 5000
    }
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
      const sdk = await loadSdk(this.#sdk)
      const createServer = (): McpServerLike => {
        const server = new sdk.McpServer({ name: this.#name, version: this.#version })
        for (const register of this.#registrations) register(server)
        return server
      }
      const provider = await this.#buildProvider()
      try {
        this.#host = await listen({ ...this.#settings, provider, createServer }, sdk)
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
    if (!Layer.isLayer(this.#provider)) return serviceOf(this.#provider as ProviderInput)
    const layer = this.#provider as Layer.Layer<AuthProvider.AuthProvider, unknown>
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
