/**
 * The resource-server side of MCP authorization: OAuth 2.0 Protected Resource Metadata
 * (RFC 9728). A server says which authorization servers issue tokens for it; a client that
 * gets a 401 finds the metadata URL in the Bearer challenge (`resource_metadata`), reads the
 * document there, and asks one of those authorization servers for a token addressed to the
 * resource (`aud`).
 *
 * This module holds the derivation and the exact answer; the adapters serve it as a public
 * route (docs/behaviour.md#order-of-checks, step 3) and give `{ resource, metadataUrl }` to
 * their gate, which names the metadata in every Bearer challenge and refuses JWTs for another
 * audience.
 *
 * @example
 * ```ts
 * import { ProtectedResource } from "@mcpgate/http"
 *
 * const protectedResource = ProtectedResource.unsafeMake({
 *   resource: "https://mcp.example.com/mcp",
 *   authorizationServers: ["https://auth.example.com"],
 *   scopesSupported: ["tools:read"]
 * })
 * protectedResource.metadataUrl
 * // "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
 * protectedResource.metadataPaths
 * // ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { Principal } from "@mcpgate/auth-core/Principal"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import { decode as decodeOptions, HttpUrl } from "@mcpgate/auth-core/Options"
import { isScopeToken } from "@mcpgate/auth-core/Principal"

/**
 * The options, as written by users.
 *
 * @since 0.1.0
 */
export interface Options {
  /**
   * The resource identifier: the server's canonical URL (`https://mcp.example.com/mcp`),
   * absolute http(s), without a fragment. JWTs must name it in `aud`.
   */
  readonly resource: string
  /** The issuers of the authorization servers that issue tokens for the resource; at least one. */
  readonly authorizationServers: ReadonlyArray<string>
  /** The scopes the resource understands (RFC 6749 scope tokens), announced to clients. */
  readonly scopesSupported?: ReadonlyArray<string> | undefined
  /** A name for people (`resource_name`). */
  readonly resourceName?: string | undefined
  /** A page for developers about the resource (`resource_documentation`). */
  readonly resourceDocumentation?: string | undefined
}

/**
 * The metadata document (RFC 9728 section 2), with its snake_case members.
 *
 * @since 0.1.0
 */
export interface Document {
  readonly resource: string
  readonly authorization_servers: ReadonlyArray<string>
  readonly scopes_supported?: ReadonlyArray<string>
  readonly bearer_methods_supported: ReadonlyArray<"header">
  readonly resource_name?: string
  readonly resource_documentation?: string
}

/**
 * A protected resource: what the gate needs (`resource`, `metadataUrl`, so it is a
 * `Gate.ProtectedResource`), the paths a server answers, and the answer itself.
 *
 * @since 0.1.0
 */
export interface ProtectedResource {
  /** The resource identifier, as configured. */
  readonly resource: string
  /** Where the document is (RFC 9728 section 3.1), named in every Bearer challenge. */
  readonly metadataUrl: string
  /**
   * The request paths that answer the document: the path of `metadataUrl`, and the plain
   * `/.well-known/oauth-protected-resource`, which MCP clients try when the first fails.
   */
  readonly metadataPaths: ReadonlyArray<string>
  /** The scopes announced (`offline_access` left out), named in 401 challenges without `requiredScopes`. */
  readonly scopesSupported: ReadonlyArray<string> | undefined
  readonly document: Document
  /** 200 with the document as JSON, for `GET` and `HEAD` on `metadataPaths`. */
  readonly answer: HttpAnswer.HttpAnswer
}

/** RFC 9728 section 3: the well-known URI suffix. */
const WELL_KNOWN = "/.well-known/oauth-protected-resource"


/** RFC 9728 1.2: a resource identifier has no fragment. */
const Resource = HttpUrl.pipe(
  Schema.filter((url) =>
    !url.includes("#") ||
    `${JSON.stringify(url)} has a fragment, and a resource identifier may not have one (RFC 9728 section 1.2)`
  )
)

/** RFC 8414 2: an issuer identifier has neither query nor fragment. */
const Issuer = HttpUrl.pipe(
  Schema.filter((url) =>
    !/[?#]/.test(url) ||
    `${JSON.stringify(url)} is not an issuer identifier: no query or fragment (RFC 8414 section 2)`
  )
)

const ScopeToken = Schema.String.pipe(
  Schema.filter((scope) =>
    isScopeToken(scope) ||
    `${JSON.stringify(scope)} is not a scope token: visible ASCII without spaces, '"' or '\\' (RFC 6749 section 3.3)`
  )
)

const NonEmpty = Schema.String.pipe(Schema.filter((text) => text.length > 0 || "must not be empty"))

/**
 * The options schema, shared by the adapters' `protectedResource` option.
 *
 * @since 0.1.0
 */
export const OptionsSchema = Schema.Struct({
  resource: Resource,
  authorizationServers: Schema.Array(Issuer).pipe(
    Schema.filter((servers) =>
      servers.length > 0 || "name at least one authorization server, e.g. [\"https://auth.example.com\"]"
    )
  ),
  scopesSupported: Schema.optional(Schema.Array(ScopeToken)),
  resourceName: Schema.optional(NonEmpty),
  resourceDocumentation: Schema.optional(HttpUrl)
})

/**
 * The metadata URL of a resource (RFC 9728 section 3.1): the well-known segment goes between
 * the host and the path, and the query stays; a resource without a path gets the plain
 * well-known URL. `https://mcp.example.com/mcp` gives
 * `https://mcp.example.com/.well-known/oauth-protected-resource/mcp`.
 *
 * @since 0.1.0
 */
export const metadataUrlOf = (resource: string): string => {
  const url = new URL(resource)
  // "any terminating slash following the host component MUST be removed" (RFC 9728 3.1)
  const path = url.pathname === "/" ? "" : url.pathname
  return `${url.origin}${WELL_KNOWN}${path}${url.search}`
}

/**
 * The request paths a server answers the metadata on: the path of `metadataUrlOf(resource)`;
 * without its trailing slash, if it has one (the MCP SDK client drops it); and the plain
 * well-known path, which MCP clients fall back to.
 *
 * @since 0.1.0
 */
export const metadataPathsOf = (resource: string): ReadonlyArray<string> => {
  const path = new URL(metadataUrlOf(resource)).pathname
  return [...new Set([path, path.length > WELL_KNOWN.length ? path.replace(/\/+$/, "") : path, WELL_KNOWN])]
}

/**
 * The check adapters run on their own `resource` option: it defaults to
 * `protectedResource.resource`, and the two may not differ.
 *
 * @since 0.1.0
 */
export const oneResource = (options: {
  readonly resource?: string | undefined
  readonly protectedResource?: { readonly resource: string } | undefined
}): true | string =>
  options.resource === undefined || options.protectedResource === undefined ||
  options.resource === options.protectedResource.resource ||
  `resource (${JSON.stringify(options.resource)}) and protectedResource.resource (${
    JSON.stringify(options.protectedResource.resource)
  }) differ: give the resource once, in protectedResource`

/**
 * A protected resource from options, or the `ConfigurationError` that names the bad option.
 *
 * @since 0.1.0
 */
export const decode = (options: Options): Either.Either<ProtectedResource, ConfigurationError> =>
  Either.map(decodeOptions(OptionsSchema, options, "protectedResource"), fromDecoded)

/**
 * A protected resource from options, as an Effect that fails with a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<ProtectedResource, ConfigurationError> => decode(options)

/**
 * A protected resource from options; throws `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: Options): ProtectedResource =>
  Either.getOrThrowWith(decode(options), (error) => error)

// The document changes only with the configuration: let clients and caches keep it an hour.
const ANSWER_HEADERS = { "content-type": "application/json", "cache-control": "public, max-age=3600" } as const

/**
 * A protected resource from already decoded options (the adapters decode
 * `protectedResource` with their own options).
 *
 * @since 0.1.0
 */
export const fromDecoded = (options: typeof OptionsSchema.Type): ProtectedResource => {
  // MCP 2026-07-28 (authorization, "Refresh Tokens"): a protected resource SHOULD NOT list
  // `offline_access` in `scopes_supported`, as refresh tokens are no resource requirement.
  const scopesSupported = options.scopesSupported?.filter((scope) => scope !== "offline_access")
  const document: Document = {
    resource: options.resource,
    authorization_servers: [...options.authorizationServers],
    ...(scopesSupported === undefined ? {} : { scopes_supported: [...scopesSupported] }),
    // Tokens travel in the Authorization header only, never in the query
    // (docs/behaviour.md#reading-credentials).
    bearer_methods_supported: ["header"],
    ...(options.resourceName === undefined ? {} : { resource_name: options.resourceName }),
    ...(options.resourceDocumentation === undefined ? {} : { resource_documentation: options.resourceDocumentation })
  }
  return {
    resource: options.resource,
    metadataUrl: metadataUrlOf(options.resource),
    metadataPaths: metadataPathsOf(options.resource),
    scopesSupported,
    document,
    answer: { status: 200, headers: ANSWER_HEADERS, body: JSON.stringify(document) }
  }
}

/**
 * Whether a principal's JWT names the resource in `aud` (RFC 9728 2, RFC 8707 2): a token
 * issued for another server is refused here, whatever its signature.
 *
 * @since 0.1.0
 */
export const addressedTo = (principal: Principal, resource: string): boolean => {
  const aud = principal.claims?.["aud"]
  return typeof aud === "string" ? aud === resource : Array.isArray(aud) && aud.includes(resource)
}
