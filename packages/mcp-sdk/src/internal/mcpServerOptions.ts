/**
 * `MCPServer`'s options, decoded once, when it is constructed, into what its host serves
 * (`host.ts`): nothing of them is decoded again when it starts.
 */
import { OAuthAuthProvider, Options } from "@mcpgate/auth-core"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { EndpointPolicy, ProtectedResource, ServerOptions } from "@mcpgate/http"
import { NodeHttp } from "@mcpgate/node"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ServingHostSettings, SseHostSettings, StreamHostSettings } from "./hostSettings.js"
import type { MCPServerOptions, ProviderOption, TransportOptions } from "./mcpServerTypes.js"
import {
  common,
  DEFAULT_MESSAGE_ENDPOINT,
  DEFAULT_SERVER_INFO,
  DEFAULT_SSE_ENDPOINT,
  DEFAULT_STREAM_ENDPOINT,
  Host,
  metadataPaths,
  Port,
  ProviderOrLayer,
  repeatedPath,
  servingHostSettings,
  sseHostSettings,
  streamFields,
  streamHostSettings
} from "./options.js"
import type { SdkLine } from "./sdk.js"

// mcp-framework's CORS fields that mcpgate decides itself (docs/behaviour.md#order-of-checks, step 2).
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
  ...streamFields,
  ...common
})

const OptionsSchema = Schema.Struct({
  name: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  sdk: Schema.optional(Schema.Literal("v1", "v2")),
  transport: Schema.Union(
    Schema.Struct({
      type: Schema.Literal("sse"),
      options: SseTransportOptions.pipe(
        Schema.filter((options) =>
          repeatedPath([
            options.endpoint ?? DEFAULT_SSE_ENDPOINT,
            options.messageEndpoint ?? DEFAULT_MESSAGE_ENDPOINT,
            options.healthEndpoint,
            options.metricsEndpoint ?? false,
            ...metadataPaths(options.protectedResource)
          ])
        ),
        Schema.filter(ProtectedResource.oneResource),
        Schema.filter(ServerOptions.scopesKnown),
        Schema.filter(NodeHttp.anonymousBelowTotal)
      )
    }),
    Schema.Struct({
      type: Schema.Literal("http-stream"),
      options: StreamTransportOptions.pipe(
        Schema.filter((options) =>
          repeatedPath([
            options.endpoint ?? DEFAULT_STREAM_ENDPOINT,
            options.healthEndpoint,
            options.metricsEndpoint ?? false,
            ...metadataPaths(options.protectedResource)
          ])
        ),
        Schema.filter(ProtectedResource.oneResource),
        Schema.filter(ServerOptions.scopesKnown)
      )
    })
  ),
  onError: Schema.optional(ServerOptions.Fn)
})

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

/**
 * An `OAuthAuthProvider` makes the server an OAuth protected resource, as in mcp-framework:
 * its RFC 9728 metadata (`resource`, `authorization_servers` from the provider) is served
 * without credentials and named in every challenge. A `protectedResource` given as well
 * must be for the same resource (it may add scopes or a name).
 */
const withOAuthMetadata = (options: MCPServerOptions): MCPServerOptions => {
  const transportOptions = (options as { transport?: { options?: unknown } } | null)?.transport?.options
  if (typeof transportOptions !== "object" || transportOptions === null) return options
  const { auth, protectedResource } = transportOptions as { auth?: { provider?: unknown }; protectedResource?: { resource?: unknown } }
  const provider = auth?.provider
  if (!(provider instanceof OAuthAuthProvider)) return options
  if (protectedResource != null) {
    if (protectedResource.resource === provider.getResource()) return options
    throw new ConfigurationError({
      message: `Invalid MCPServer options:\n  - transport.options.protectedResource.resource (${
        JSON.stringify(protectedResource.resource)
      }) is not the OAuthAuthProvider's resource (${JSON.stringify(provider.getResource())}): leave protectedResource out, ` +
        "or give it the same resource"
    })
  }
  const transport = (options as { transport: object }).transport
  return {
    ...options,
    transport: { ...transport, options: { ...transportOptions, protectedResource: provider.protectedResource } } as unknown as TransportOptions
  }
}

/** The SSE server's endpoint policy, without mcp-framework's `oauth`, which guards nothing here. */
const withoutOauth = (
  endpoints: (EndpointPolicy.EndpointPolicy & { readonly oauth?: boolean | undefined }) | undefined
): EndpointPolicy.EndpointPolicy | undefined => {
  if (endpoints === undefined) return undefined
  const { oauth: _oauth, ...policy } = endpoints
  return policy
}

/** What `MCPServer` keeps of its options: the host's settings but the provider's service and SDK servers. */
export interface MCPServerSettings {
  readonly name: string
  readonly version: string
  readonly sdk: SdkLine | undefined
  /** Built when the server starts, when it is a Layer. */
  readonly provider: ProviderOption
  readonly host: ServingHostSettings & {
    readonly sse: SseHostSettings | undefined
    readonly stream: StreamHostSettings | undefined
  }
}

/** Decodes the options, once; throws a `ConfigurationError` naming each problem. */
export const decodeMCPServerOptions = (input: MCPServerOptions): MCPServerSettings => {
  const options = withOAuthMetadata(withTransportAuth(input))
  const decoded = Either.getOrThrowWith(
    Options.decode(OptionsSchema, options, "MCPServer"),
    (error) => authLeftOut(options) ?? error
  )
  const { transport } = decoded
  const common = transport.options
  return {
    name: decoded.name ?? DEFAULT_SERVER_INFO.name,
    version: decoded.version ?? DEFAULT_SERVER_INFO.version,
    sdk: decoded.sdk,
    provider: common.auth.provider,
    host: {
      ...servingHostSettings(common, {
        allowedOrigins: common.cors?.allowOrigin,
        // mcp-framework's tools read `getRequestContext()`: on by default for its users.
        requestContext: true,
        rateLimit: common.rateLimit,
        runtime: undefined,
        onError: input.onError
      }),
      sse: transport.type === "sse"
        ? sseHostSettings({ ...transport.options, endpoints: withoutOauth(transport.options.auth.endpoints) })
        : undefined,
      stream: transport.type === "http-stream" ? streamHostSettings(transport.options) : undefined
    }
  }
}
