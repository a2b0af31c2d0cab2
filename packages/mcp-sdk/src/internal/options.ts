/**
 * The options of the Streamable HTTP endpoint, `MCPServer` and the `McpHttp` Layer, decoded
 * once at startup: unknown or misspelled keys are errors (mcp-framework silently ignores
 * them, and a typo in `auth` leaves its server open).
 */
import { AuthProvider, Options } from "@mcpgate/auth-core"
import { CrossOrigin, EndpointPolicy, ProtectedResource, ToolScopes } from "@mcpgate/http"
import { NodeHttp } from "@mcpgate/node"
import type * as Runtime from "effect/Runtime"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { isProviderInput, serviceOf } from "@mcpgate/auth-core/CustomProvider"
import type { StreamableHttpOptions } from "../StreamableHttp.js"
import type { McpServerLike, SdkLine } from "./sdk.js"

export const Provider = Schema.declare(isProviderInput, {
  message: () =>
    "provider must be an APIKeyAuthProvider, a JWTAuthProvider, an AuthProvider service, " +
    "or an object with authenticate(req)"
})

/** `MCPServer` also takes a Layer of the `AuthProvider` service, built when it starts. */
const ProviderOrLayer = Schema.declare(
  (value: unknown): value is ProviderInput | Layer.Layer<AuthProvider.AuthProvider, unknown> =>
    Layer.isLayer(value) || isProviderInput(value),
  {
    message: () =>
      "provider must be an APIKeyAuthProvider, a JWTAuthProvider, an AuthProvider service or Layer, " +
      "or an object with authenticate(req)"
  }
)

const Fn = Schema.declare((value: unknown): value is (...args: Array<never>) => unknown => typeof value === "function", {
  message: () => "must be a function"
})

const Port = Schema.Number.pipe(
  Schema.filter((port) => Number.isInteger(port) && port >= 0 && port <= 65535 || `${port} is not a port (0 to 65535)`)
)

const PositiveSeconds = Options.Seconds.pipe(
  Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds")
)

const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n > 0 || `${n} is not a positive whole number`)
)

/**
 * `maxSessionsPerIdentity`: the most Streamable HTTP sessions one identity may hold open.
 * Default 32: a few clients (an IDE, an agent, their restarts) per credential, while 2,000
 * sessions of some 31 KiB each, kept for the idle timeout, are out of reach.
 */
export const DEFAULT_MAX_SESSIONS_PER_IDENTITY = 32

const Host = Schema.String.pipe(Schema.filter((host) => host.length > 0 || "must not be empty"))

/** Options both transports take beyond mcp-framework's. */
const common = {
  healthEndpoint: Schema.optional(Schema.Union(Options.Path, Schema.Literal(false))),
  metricsEndpoint: Schema.optional(Schema.Union(Options.Path, Schema.Literal(false))),
  allowedHosts: Schema.optional(Schema.Array(Options.HostName)),
  exposeToken: Schema.optional(Schema.Boolean),
  requestContext: Schema.optional(Schema.Boolean),
  resource: Schema.optional(Options.HttpUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  toolScopes: Schema.optional(ToolScopes.ToolScopesSchema),
  rateLimit: NodeHttp.gateFields.rateLimit,
  trustProxy: NodeHttp.gateFields.trustProxy,
  logger: NodeHttp.gateFields.logger,
  ...NodeHttp.headerLimitFields
}

// mcp-framework's CORS fields that mcpgate decides itself (contract section 6.2).
const decided = (field: string) =>
  Schema.optional(Schema.Never.annotations({
    message: () => `cors.${field} is decided by mcpgate (the MCP headers and your credential header); remove it`
  }))

/** One origin or a list, read as a list, so that a bad one is reported once, by position. */
const AllowOrigin = Schema.transform(
  Schema.Union(Schema.String, Schema.Array(Schema.String)),
  Schema.Array(Schema.String),
  {
    strict: true,
    decode: (value) => (typeof value === "string" ? [value] : value),
    encode: (list) => list
  }
).pipe(Schema.compose(Schema.Array(Options.Origin)))

/** mcp-framework's `cors`: only the allowed origin is the server's choice. */
const Cors = Schema.Struct({
  allowOrigin: Schema.optional(AllowOrigin),
  allowMethods: decided("allowMethods"),
  allowHeaders: decided("allowHeaders"),
  exposeHeaders: decided("exposeHeaders"),
  maxAge: decided("maxAge")
})

// mcp-framework's `endpoints.oauth`: it guards nothing either server serves, since the
// protected-resource metadata is public (RFC 9728 3); accepted so migrating code runs.
const oauth = Schema.optional(Schema.Boolean)

const SseAuth = Schema.Struct({
  provider: ProviderOrLayer,
  endpoints: Schema.optional(Schema.Struct({ ...EndpointPolicy.EndpointPolicySchema.fields, oauth }))
})

// Streamable HTTP authenticates every request, `initialize` included (MCP specification,
// Authorization); `endpoints` may only say so. mcp-framework reads `sse: false` here as
// "initialize without credentials".
const StreamAuth = Schema.Struct({
  provider: ProviderOrLayer,
  endpoints: Schema.optional(
    Schema.Struct({
      sse: Schema.optional(Schema.Boolean),
      messages: Schema.optional(Schema.Boolean),
      initialize: Schema.optional(Schema.Boolean),
      oauth
    }).pipe(
      Schema.filter((endpoints) =>
        endpoints.sse !== false && endpoints.messages !== false && endpoints.initialize !== false ||
        "Streamable HTTP authenticates every request, initialize included (MCP specification): remove endpoints"
      )
    )
  )
})

/** The first path used twice, for a refusal: one server routes by path, so a repeat hides an endpoint. */
const repeatedPath = (paths: ReadonlyArray<string | false>): true | string => {
  const served = paths.filter((path): path is string => path !== false)
  const repeated = served.find((path, index) => served.indexOf(path) !== index)
  return repeated === undefined || `${JSON.stringify(repeated)} is used twice: every endpoint needs a path of its own`
}

/** The paths the protected-resource metadata (RFC 9728) is served on, routes like the endpoints. */
const metadataPaths = (protectedResource: { readonly resource: string } | undefined): ReadonlyArray<string> =>
  protectedResource === undefined ? [] : ProtectedResource.metadataPathsOf(protectedResource.resource)

const SseTransportOptions = Schema.Struct({
  port: Schema.optional(Port),
  host: Schema.optional(Host),
  endpoint: Schema.optional(Options.Path),
  messageEndpoint: Schema.optional(Options.Path),
  auth: SseAuth,
  cors: Schema.optional(Cors),
  ...NodeHttp.streamLimitFields,
  ...common
})

const StreamTransportOptions = Schema.Struct({
  port: Schema.optional(Port),
  host: Schema.optional(Host),
  endpoint: Schema.optional(Options.Path),
  auth: StreamAuth,
  cors: Schema.optional(Cors),
  responseMode: Schema.optional(Schema.Literal("stream", "batch")),
  stateless: Schema.optional(Schema.Boolean),
  sessionIdleTimeout: Schema.optional(PositiveSeconds),
  maxSessionsPerIdentity: Schema.optional(PositiveInt),
  ...common
})

export const MCPServerOptions = Schema.Struct({
  name: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  sdk: Schema.optional(Schema.Literal("v1", "v2")),
  transport: Schema.Union(
    Schema.Struct({
      type: Schema.Literal("sse"),
      options: SseTransportOptions.pipe(
        Schema.filter((options) =>
          repeatedPath([
            options.endpoint ?? "/sse",
            options.messageEndpoint ?? "/messages",
            options.healthEndpoint ?? "/health",
            options.metricsEndpoint ?? false,
            ...metadataPaths(options.protectedResource)
          ])
        ),
        Schema.filter(ProtectedResource.oneResource),
        Schema.filter(NodeHttp.anonymousBelowTotal)
      )
    }),
    Schema.Struct({
      type: Schema.Literal("http-stream"),
      options: StreamTransportOptions.pipe(
        Schema.filter((options) =>
          repeatedPath([
            options.endpoint ?? "/mcp",
            options.healthEndpoint ?? "/health",
            options.metricsEndpoint ?? false,
            ...metadataPaths(options.protectedResource)
          ])
        ),
        Schema.filter(ProtectedResource.oneResource)
      )
    })
  ),
  onError: Schema.optional(Fn)
})

export type MCPServerOptions = typeof MCPServerOptions.Type

/** `cors.allowOrigin`, decoded to a list of allowed origins. */
export const allowedOriginsOf = (cors: { readonly allowOrigin?: ReadonlyArray<string> | undefined } | undefined) =>
  cors?.allowOrigin

const StreamableOptions = Schema.Struct({
  auth: Schema.Struct({ provider: Provider }),
  createServer: Fn,
  endpoint: Schema.optionalWith(Options.Path, { default: () => "/mcp" }),
  healthEndpoint: Schema.optionalWith(Schema.Union(Options.Path, Schema.Literal(false)), { default: () => "/health" as const }),
  stateless: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  sessionIdleTimeout: Schema.optionalWith(PositiveSeconds, { default: () => 30 * 60 }),
  maxSessionsPerIdentity: Schema.optionalWith(PositiveInt, { default: () => DEFAULT_MAX_SESSIONS_PER_IDENTITY }),
  maxHeadersCount: Schema.optionalWith(PositiveInt, { default: () => NodeHttp.DEFAULT_MAX_HEADERS_COUNT }),
  responseMode: Schema.optionalWith(Schema.Literal("stream", "batch"), { default: () => "stream" as const }),
  allowedOrigins: Schema.optional(Schema.Array(Schema.String)),
  allowedHosts: Schema.optional(Schema.Array(Schema.String)),
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  requestContext: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  resource: Schema.optional(Options.HttpUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  toolScopes: Schema.optionalWith(ToolScopes.ToolScopesSchema, { default: () => ToolScopes.empty }),
  sdk: Schema.optional(Schema.Literal("v1", "v2")),
  onError: Schema.optional(Fn),
  ...NodeHttp.gateFields
}).pipe(
  Schema.filter((options) =>
    repeatedPath([options.endpoint, options.healthEndpoint, ...metadataPaths(options.protectedResource)])
  ),
  Schema.filter(ProtectedResource.oneResource),
  Schema.filter(NodeHttp.oneGateSource),
  Schema.filter(NodeHttp.gateKnowsResource)
)

/** The decoded settings of a Streamable HTTP endpoint. */
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
  /** Scopes per tool, checked on each `POST` body; empty: bodies are left to the SDK untouched. */
  readonly toolScopes: ToolScopes.ToolScopes
  readonly sdk: SdkLine | undefined
  readonly onError: ((error: unknown) => void) | undefined
}

export const decodeStreamableOptions = (
  input: StreamableHttpOptions,
  runtime?: Runtime.Runtime<never>
): Either.Either<StreamableSettings, ConfigurationError> =>
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
      (cors): StreamableSettings => ({
        provider,
        gate: decoded.gate ?? NodeHttp.gate(provider, { ...decoded, protectedResource, runtime }),
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
        toolScopes: decoded.toolScopes,
        sdk: decoded.sdk,
        onError: input.onError
      })
    )
  })

/** The `McpHttp` Layer's options: both transports by default, each may be turned off. */
export const McpHttpOptions = Schema.Struct({
  name: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  port: Schema.optional(Port),
  host: Schema.optional(Host),
  register: Fn,
  sse: Schema.optional(Schema.Union(
    Schema.Literal(false),
    Schema.Struct({
      endpoint: Schema.optional(Options.Path),
      messageEndpoint: Schema.optional(Options.Path),
      endpoints: Schema.optional(EndpointPolicy.EndpointPolicySchema),
      ...NodeHttp.streamLimitFields
    }).pipe(Schema.filter(NodeHttp.anonymousBelowTotal))
  )),
  stream: Schema.optional(Schema.Union(
    Schema.Literal(false),
    Schema.Struct({
      endpoint: Schema.optional(Options.Path),
      responseMode: Schema.optional(Schema.Literal("stream", "batch")),
      stateless: Schema.optional(Schema.Boolean),
      sessionIdleTimeout: Schema.optional(PositiveSeconds),
      maxSessionsPerIdentity: Schema.optional(PositiveInt)
    })
  )),
  allowedOrigins: Schema.optional(Schema.Array(Options.Origin)),
  sdk: Schema.optional(Schema.Literal("v1", "v2")),
  onError: Schema.optional(Fn),
  ...common
}).pipe(
  Schema.filter((options) => options.sse !== false || options.stream !== false || "serve at least one transport"),
  Schema.filter((options) =>
    repeatedPath([
      ...(options.sse === false ? [] : [options.sse?.endpoint ?? "/sse", options.sse?.messageEndpoint ?? "/messages"]),
      ...(options.stream === false ? [] : [options.stream?.endpoint ?? "/mcp"]),
      options.healthEndpoint ?? "/health",
      options.metricsEndpoint ?? false,
      ...metadataPaths(options.protectedResource)
    ])
  ),
  Schema.filter(ProtectedResource.oneResource)
)
