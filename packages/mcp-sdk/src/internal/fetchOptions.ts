/**
 * `createMcpFetchHandler`'s options, decoded once (unknown keys are errors, as everywhere),
 * under the names users of `StreamableHttp` and `MCPServer` know, plus what only a Fetch
 * handler needs (`clientAddress`, `clientAddressHeader`, `maxHeaderSize`, `legacy`). Nothing
 * here imports `node:*` or `@mcpgate/node`: the handler runs on Workers and in browsers.
 */
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import { decode, Path, PositiveInt } from "@mcpgate/auth-core/Options"
import * as Fetch from "@mcpgate/http/Fetch"
import * as ProtectedResource from "@mcpgate/http/ProtectedResource"
import * as ServerOptions from "@mcpgate/http/ServerOptions"
import * as ToolScopes from "@mcpgate/http/ToolScopes"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"

export const Provider = ServerOptions.ProviderInputSchema

/** The SDK's own cap on a body it reads (`DEFAULT_MAX_REQUEST_BODY_SIZE`, 4 MiB). */
export const DEFAULT_MAX_REQUEST_BODY_SIZE = 4 * 1024 * 1024

/** The first path used twice: one handler routes by path, so a repeat hides an endpoint. */
const repeatedPath = (paths: ReadonlyArray<string | false>): true | string => {
  const served = paths.filter((path): path is string => path !== false)
  const repeated = served.find((path, index) => served.indexOf(path) !== index)
  return repeated === undefined || `${JSON.stringify(repeated)} is used twice: every endpoint needs a path of its own`
}

const FetchHandlerOptions = Schema.Struct({
  auth: Schema.Struct({ provider: Provider }),
  createServer: ServerOptions.Fn,
  endpoint: Schema.optionalWith(Path, { default: () => "/mcp" }),
  healthEndpoint: ServerOptions.healthEndpoint,
  metricsEndpoint: Schema.optionalWith(Schema.Union(Path, Schema.Literal(false)), { default: () => false as const }),
  responseMode: Schema.optionalWith(Schema.Literal("auto", "stream", "batch"), { default: () => "auto" as const }),
  legacy: Schema.optionalWith(Schema.Literal("stateless", "reject"), { default: () => "stateless" as const }),
  toolScopes: Schema.optionalWith(ToolScopes.ToolScopesSchema, { default: () => ToolScopes.empty }),
  maxRequestBodySize: Schema.optionalWith(PositiveInt, { default: () => DEFAULT_MAX_REQUEST_BODY_SIZE }),
  ...Fetch.fetchFields
}).pipe(
  Schema.filter((options) =>
    repeatedPath([
      options.endpoint,
      options.healthEndpoint,
      options.metricsEndpoint,
      ...(options.protectedResource === undefined ? [] : ProtectedResource.metadataPathsOf(options.protectedResource.resource))
    ])
  ),
  Fetch.withFetchRules
)

/** The handler's settings: the shared Fetch settings and the MCP ones. */
export interface FetchHandlerSettings {
  readonly fetch: Fetch.FetchSettings
  readonly createServer: (context: never) => unknown
  readonly endpoint: string
  readonly healthEndpoint: string | false
  readonly metricsEndpoint: string | false
  /** As `createMcpHandler` takes it. */
  readonly responseMode: "auto" | "sse" | "json"
  readonly legacy: "stateless" | "reject"
  /** `requiredScopes` and `toolScopes`, judged with `scopeHierarchy`. */
  readonly scopes: ToolScopes.Policy
  readonly maxRequestBodySize: number
}

const RESPONSE_MODES = { auto: "auto", stream: "sse", batch: "json" } as const

/** The settings, or the `ConfigurationError` naming every bad option. */
export const decodeFetchHandlerOptions = (
  input: {
    readonly auth: { readonly provider: ProviderInput }
    readonly createServer: (context: never) => unknown
    readonly clientAddress?: unknown
    readonly onError?: unknown
  }
): Either.Either<FetchHandlerSettings, ConfigurationError> =>
  Either.flatMap(decode(FetchHandlerOptions, input, "Fetch handler"), (decoded) =>
    Either.map(Fetch.settingsOf(serviceOf(decoded.auth.provider), decoded, input), (fetch) => ({
      fetch,
      createServer: input.createServer,
      endpoint: decoded.endpoint,
      healthEndpoint: decoded.healthEndpoint,
      metricsEndpoint: decoded.metricsEndpoint,
      responseMode: RESPONSE_MODES[decoded.responseMode],
      legacy: decoded.legacy,
      scopes: ToolScopes.policyOf(decoded),
      maxRequestBodySize: decoded.maxRequestBodySize
    })))
