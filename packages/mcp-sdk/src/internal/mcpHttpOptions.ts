/**
 * The `McpHttp` Layer's options, decoded once when the Layer is built: both transports by
 * default, each of which may be turned off.
 */
import { Options } from "@mcpgate/auth-core"
import { EndpointPolicy, ProtectedResource, ServerOptions } from "@mcpgate/http"
import { NodeHttp } from "@mcpgate/node"
import * as Schema from "effect/Schema"
import {
  common,
  DEFAULT_MESSAGE_ENDPOINT,
  DEFAULT_SSE_ENDPOINT,
  DEFAULT_STREAM_ENDPOINT,
  Host,
  metadataPaths,
  Port,
  repeatedPath,
  streamFields
} from "./options.js"

export const McpHttpOptions = Schema.Struct({
  name: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  port: Schema.optional(Port),
  host: Schema.optional(Host),
  register: ServerOptions.Fn,
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
      ...streamFields
    })
  )),
  allowedOrigins: Schema.optional(Schema.Array(Options.Origin)),
  sdk: Schema.optional(Schema.Literal("v1", "v2")),
  onError: Schema.optional(ServerOptions.Fn),
  ...common
}).pipe(
  Schema.filter((options) => options.sse !== false || options.stream !== false || "serve at least one transport"),
  Schema.filter((options) =>
    repeatedPath([
      ...(options.sse === false
        ? []
        : [options.sse?.endpoint ?? DEFAULT_SSE_ENDPOINT, options.sse?.messageEndpoint ?? DEFAULT_MESSAGE_ENDPOINT]),
      ...(options.stream === false ? [] : [options.stream?.endpoint ?? DEFAULT_STREAM_ENDPOINT]),
      options.healthEndpoint,
      options.metricsEndpoint ?? false,
      ...metadataPaths(options.protectedResource)
    ])
  ),
  Schema.filter(ProtectedResource.oneResource),
  Schema.filter(ServerOptions.scopesKnown)
)
