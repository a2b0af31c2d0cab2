/**
 * Which endpoints require credentials. On the legacy SSE transport, as the reference
 * documents: `sse` (the `GET` stream) defaults to `false`, `messages` (the `POST`s) to
 * `true`. On Streamable HTTP every request is authenticated, as the MCP specification
 * requires, and no option turns that off (docs/behaviour.md#endpoint-policy).
 *
 * `requiredScopes` are the scopes every authenticated request to a server's MCP endpoints
 * needs, whatever it calls: named in every Bearer 401 challenge (`scope`), and a caller
 * without them (through the `ScopeHierarchy`) gets the 403 `insufficient_scope`, which also
 * names the scopes of any tool the request calls (`ToolScopes.check`).
 *
 * @example
 * ```ts
 * import { EndpointPolicy } from "@mcpgate/http"
 *
 * const policy = EndpointPolicy.unsafeMake({ sse: true })
 * EndpointPolicy.requiresAuth(policy, "sse") // true
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { decode as decodeOptions } from "@mcpgate/auth-core/Options"
import { isScopeToken } from "@mcpgate/auth-core/Principal"

/**
 * The `endpoints` option with its defaults.
 *
 * @since 0.1.0
 */
export const EndpointPolicySchema = Schema.Struct({
  sse: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  messages: Schema.optionalWith(Schema.Boolean, { default: () => true })
})

/**
 * The policy, defaults applied.
 *
 * @since 0.1.0
 */
export type EndpointPolicy = Schema.Schema.Type<typeof EndpointPolicySchema>

/**
 * The `endpoints` option as written by users.
 *
 * @since 0.1.0
 */
export type Options = Schema.Schema.Encoded<typeof EndpointPolicySchema>

/**
 * Which endpoint a request is for.
 *
 * @since 0.1.0
 */
export type Endpoint = "sse" | "messages" | "streamable-http"

/**
 * Decodes the option, refusing unknown keys (a misspelled `mesages: true` must not leave
 * an endpoint open).
 *
 * @since 0.1.0
 */
export const decode = (options: unknown = {}): Either.Either<EndpointPolicy, ConfigurationError> =>
  decodeOptions(EndpointPolicySchema, options, "endpoints")

/**
 * The policy from options, as an Effect that fails with a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<EndpointPolicy, ConfigurationError> => decode(options)

/**
 * The policy from options, throwing a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: Options = {}): EndpointPolicy => Either.getOrThrowWith(decode(options), (error) => error)

/**
 * The reference's defaults: `{ sse: false, messages: true }`.
 *
 * @since 0.1.0
 */
export const defaults: EndpointPolicy = unsafeMake()

/**
 * Whether requests to the endpoint must carry valid credentials.
 *
 * @since 0.1.0
 */
export const requiresAuth = (policy: EndpointPolicy, endpoint: Endpoint): boolean =>
  endpoint === "streamable-http" ? true : policy[endpoint]

/**
 * The `requiredScopes` option: RFC 6749 scope tokens, at least one (leave the option out to
 * require none), each kept once.
 *
 * @since 0.1.0
 */
export const RequiredScopesSchema = Schema.Array(
  Schema.String.pipe(Schema.filter((scope) =>
    isScopeToken(scope) ||
    `${JSON.stringify(scope)} is not a scope: visible ASCII without spaces, quotes or backslashes (RFC 6749 3.3)`
  ))
).pipe(
  Schema.filter((scopes) => scopes.length > 0 || "must list at least one scope (leave the option out to require none)"),
  Schema.transform(Schema.Array(Schema.String), { strict: true, decode: (scopes) => [...new Set(scopes)], encode: (scopes) => scopes })
)
