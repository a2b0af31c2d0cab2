/**
 * The options of the SSE server and the guard, decoded once at startup.
 */
import { EndpointPolicy, Options } from "@mcpgate/auth-core"
import * as Schema from "effect/Schema"
import type { ProviderInput } from "./authenticate.js"

const isProviderInput = (value: unknown): value is ProviderInput => {
  if (typeof value !== "object" || value === null) return false
  const service = "service" in value ? (value as { service: unknown }).service : value
  return typeof service === "object" && service !== null &&
    typeof (service as { authenticate?: unknown }).authenticate === "function" &&
    Array.isArray((service as { headerNames?: unknown }).headerNames)
}

export const Provider = Schema.declare(isProviderInput, {
  message: () =>
    "provider must be an mcpgate provider: an APIKeyAuthProvider, a JWTAuthProvider, or an AuthProvider service"
})

const Path = Options.Path

const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n > 0 || `${n} is not a positive whole number`)
)

const PositiveSeconds = Options.Seconds.pipe(
  Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds")
)

const Fn = Schema.declare((value: unknown): value is (...args: Array<never>) => unknown => typeof value === "function", {
  message: () => "must be a function"
})

export const AuthOptions = Schema.Struct({
  provider: Provider,
  endpoints: Schema.optionalWith(EndpointPolicy.EndpointPolicySchema, { default: () => EndpointPolicy.defaults })
})

export const SseServerOptions = Schema.Struct({
  auth: AuthOptions,
  onSession: Fn,
  endpoint: Schema.optionalWith(Path, { default: () => "/sse" }),
  messageEndpoint: Schema.optionalWith(Path, { default: () => "/messages" }),
  healthEndpoint: Schema.optionalWith(Schema.Union(Path, Schema.Literal(false)), { default: () => "/health" as const }),
  allowedOrigins: Schema.optional(Schema.Array(Schema.String)),
  allowedHosts: Schema.optional(Schema.Array(Schema.String)),
  maxBodyBytes: Schema.optionalWith(PositiveInt, { default: () => 4 * 1024 * 1024 }),
  maxBufferedBytes: Schema.optionalWith(PositiveInt, { default: () => 8 * 1024 * 1024 }),
  heartbeat: Schema.optionalWith(PositiveSeconds, { default: () => 15 }),
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  resource: Schema.optional(Options.HttpUrl),
  onError: Schema.optional(Fn)
}).pipe(
  Schema.filter((options) => {
    const paths = [options.endpoint, options.messageEndpoint, options.healthEndpoint].filter((p) => p !== false)
    return new Set(paths).size === paths.length || "endpoint, messageEndpoint and healthEndpoint must differ"
  })
)

export const GuardOptions = Schema.Struct({
  provider: Provider,
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
