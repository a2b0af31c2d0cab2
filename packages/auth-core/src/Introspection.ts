/**
 * The introspection provider (RFC 7662): opaque access tokens checked by asking the
 * authorization server, which sees a revocation at once. The resource server authenticates
 * with `client_secret_basic` (default) or `client_secret_post`; an answer must say
 * `active: true`, then meets the JWT provider's claim rules (`exp` required, `iss` and `aud`
 * against the configuration, `nbf`, `iat`), and its `scope` gives the principal's scopes.
 * Answers are cached by the SHA-256 of the token, never past its `exp`; concurrent checks of
 * one token make one call; an authorization server that is unreachable, slow past `timeout`,
 * failing or answering garbage gives the 503, never a 401 (docs/behaviour.md#introspection).
 *
 * @example
 * ```ts
 * import { Introspection } from "@mcpgate/auth-core"
 * import { Redacted } from "effect"
 *
 * const AuthLive = Introspection.layer({
 *   issuer: "https://auth.example.com",          // the endpoint is discovered (RFC 8414)
 *   audience: "https://mcp.example.com/mcp",
 *   clientId: "mcp-resource-server",
 *   clientSecret: Redacted.make(process.env.INTROSPECTION_SECRET!)
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { AuthProvider } from "./AuthProvider.js"
import type { ConfigurationError } from "./ConfigurationError.js"
import * as Discovery from "./Discovery.js"
import type { EndpointSource, IntrospectionChecker } from "./internal/introspection.js"
import * as internal from "./internal/introspection.js"
import type { IntrospectionOptions, IntrospectionOptionsInput } from "./internal/introspectionOptions.js"
import { parseIntrospectionOptions } from "./internal/introspectionOptions.js"

/**
 * The options. `endpoint`, or one `issuer` to discover it from; `clientId` and `clientSecret`
 * (a string or `Redacted`), `clientAuthentication` (`"client_secret_basic"`); the claim rules
 * of `Jwt.Options`: `issuer`, `audience`, `clockTolerance` (30 s), `maxTokenAge`,
 * `maxTokenLifetime`, `requiredClaims`; `timeout` (5 s); `cache` (`true`, `false`, or
 * `{ ttl: 60, inactiveTtl: 5, maxEntries: 10_000 }`); `discoveryCacheMaxAge` (600 s);
 * `headerName`, `requireBearer`, `realm`, `resourceMetadata` as for JWTs.
 *
 * @since 0.1.0
 */
export type Options = IntrospectionOptionsInput

/**
 * The introspection provider's service: an `AuthProvider` whose `inFlight` tells how many
 * introspections are under way.
 *
 * @since 0.1.0
 */
export interface Service extends internal.IntrospectionProvider {}

/**
 * The introspection provider in context.
 *
 * @since 0.1.0
 */
export class Introspection extends Context.Tag("@mcpgate/auth-core/Introspection")<Introspection, Service>() {}

/** Where the endpoint of decoded options is: given, or discovered from the issuer. */
const endpointOf = (options: IntrospectionOptions): Either.Either<EndpointSource, ConfigurationError> =>
  options.endpoint !== undefined
    ? Either.right(internal.fixedEndpoint(options.endpoint))
    : Either.map(
      Discovery.sourceOf({ issuer: options.issuer as string, timeout: options.timeout, cacheMaxAge: options.discoveryCacheMaxAge }),
      (source) => (now: number) => source.metadata(now).then((metadata) => metadata?.introspection_endpoint)
    )

/**
 * The checker of these options, built synchronously (for the Promise class).
 *
 * @since 0.1.0
 */
export const checkerOf = (options: Options): Either.Either<IntrospectionChecker, ConfigurationError> =>
  Either.flatMap(parseIntrospectionOptions(options), (parsed) =>
    Either.map(endpointOf(parsed.options), (endpoint) => internal.makeChecker(parsed, endpoint)))

/**
 * Builds the provider; fails with a readable `ConfigurationError` on bad options. Nothing is
 * fetched before the first token.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, ConfigurationError> =>
  Effect.map(checkerOf(options), (checker) => checker.provider)

/**
 * A Layer providing both `AuthProvider` and `Introspection`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<AuthProvider | Introspection, ConfigurationError> =>
  Layer.effectContext(
    Effect.map(make(options), (service) => Context.make(AuthProvider, service).pipe(Context.add(Introspection, service)))
  )
