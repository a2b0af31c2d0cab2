/**
 * `StreamableHttp.make`'s options, decoded once into the settings the endpoint is built from
 * (`streamable.ts`). The host writes the same settings itself from the options `MCPServer`
 * or `McpHttp` decoded, so nothing is decoded twice.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import { Options } from "@mcpgate/auth-core"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import { CrossOrigin, ProtectedResource, ServerOptions, ToolScopes } from "@mcpgate/http"
import { NodeHttp } from "@mcpgate/node"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import {
  DEFAULT_MAX_SESSIONS_PER_IDENTITY,
  DEFAULT_SESSION_IDLE_SECONDS,
  DEFAULT_STREAM_ENDPOINT,
  metadataPaths,
  Provider,
  repeatedPath
} from "./options.js"
import type { McpServerLike, SdkLine } from "./sdk.js"
import type { StreamableHttpOptions } from "./serving.js"

const StreamableOptions = Schema.Struct({
  auth: Schema.Struct({ provider: Provider }),
  createServer: ServerOptions.Fn,
  endpoint: Schema.optionalWith(Options.Path, { default: () => DEFAULT_STREAM_ENDPOINT }),
  healthEndpoint: ServerOptions.healthEndpoint,
  stateless: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  sessionIdleTimeout: Schema.optionalWith(ServerOptions.PositiveSeconds, { default: () => DEFAULT_SESSION_IDLE_SECONDS }),
  maxSessionsPerIdentity: Schema.optionalWith(Options.PositiveInt, { default: () => DEFAULT_MAX_SESSIONS_PER_IDENTITY }),
  maxHeadersCount: Schema.optionalWith(Options.PositiveInt, { default: () => NodeHttp.DEFAULT_MAX_HEADERS_COUNT }),
  responseMode: Schema.optionalWith(Schema.Literal("stream", "batch"), { default: () => "stream" as const }),
  allowedOrigins: Schema.optional(Schema.Array(Schema.String)),
  allowedHosts: Schema.optional(Schema.Array(Schema.String)),
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  requestContext: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  resource: Schema.optional(Options.HttpUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  ...ServerOptions.scopeFields,
  sdk: Schema.optional(Schema.Literal("v1", "v2")),
  onError: Schema.optional(ServerOptions.Fn),
  ...ServerOptions.gateFields
}).pipe(
  Schema.filter((options) =>
    repeatedPath([options.endpoint, options.healthEndpoint, ...metadataPaths(options.protectedResource)])
  ),
  Schema.filter(ProtectedResource.oneResource),
  Schema.filter(ServerOptions.scopesKnown),
  Schema.filter(ServerOptions.oneGateSource),
  Schema.filter(ServerOptions.gateKnowsResource)
)

/** The settings of a Streamable HTTP endpoint: options decoded, with what they are made into. */
export interface StreamableSettings {
  readonly provider: AuthProvider.Service
  readonly gate: NodeHttp.RequestGate
  readonly createServer: () => McpServerLike | Promise<McpServerLike>
  readonly endpoint: string
  readonly healthEndpoint: string | false
  readonly stateless: boolean
  readonly sessionIdleTimeout: number
  /** Past it, the identity's least recently active idle session is closed, or 429 if none is idle. */
  readonly maxSessionsPerIdentity: number
  /** The most header lines a request may carry; more is a 431. */
  readonly maxHeadersCount: number
  readonly responseMode: "stream" | "batch"
  readonly cors: CrossOrigin.CrossOrigin
  readonly exposeToken: boolean
  /** Whether requests run in mcp-framework's request context (`getRequestContext()`). */
  readonly requestContext: boolean
  readonly resource: URL | undefined
  /** Served at its metadata paths when given (RFC 9728). */
  readonly protectedResource: ProtectedResource.ProtectedResource | undefined
  /**
   * The scope policy (`requiredScopes`, tool scopes, hierarchy): with tool scopes, each `POST`
   * body is read and checked; without any scope, bodies are left to the SDK untouched.
   */
  readonly toolScopes: ToolScopes.Policy
  readonly onError: ((error: unknown) => void) | undefined
}

/** The settings, and the SDK line to load (`StreamableHttp.make` loads it; the host has it). */
export const decodeStreamableOptions = (
  input: StreamableHttpOptions
): Either.Either<{ readonly settings: StreamableSettings; readonly sdk: SdkLine | undefined }, ConfigurationError> =>
  Either.flatMap(Options.decode(StreamableOptions, input, "Streamable HTTP"), (decoded) => {
    const provider = serviceOf(decoded.auth.provider)
    const protectedResource = decoded.protectedResource === undefined
      ? undefined
      : ProtectedResource.fromDecoded(decoded.protectedResource)
    const resource = decoded.resource ?? protectedResource?.resource
    return Either.map(
      CrossOrigin.decode({
        credentialHeaders: provider.headerNames,
        ...(decoded.allowedOrigins === undefined ? {} : { allowedOrigins: decoded.allowedOrigins }),
        ...(decoded.allowedHosts === undefined ? {} : { allowedHosts: decoded.allowedHosts })
      }),
      (cors) => ({
        sdk: decoded.sdk,
        settings: {
          provider,
          gate: decoded.gate ?? NodeHttp.gate(provider, { ...decoded, protectedResource }),
          createServer: input.createServer,
          endpoint: decoded.endpoint,
          healthEndpoint: decoded.healthEndpoint,
          stateless: decoded.stateless,
          sessionIdleTimeout: decoded.sessionIdleTimeout,
          maxSessionsPerIdentity: decoded.maxSessionsPerIdentity,
          maxHeadersCount: decoded.maxHeadersCount,
          responseMode: decoded.responseMode,
          cors,
          exposeToken: decoded.exposeToken,
          requestContext: decoded.requestContext,
          resource: resource === undefined ? undefined : new URL(resource),
          protectedResource,
          toolScopes: ServerOptions.scopePolicyOf(decoded),
          onError: input.onError
        }
      })
    )
  })
