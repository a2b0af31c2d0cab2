/**
 * The options of the Express middleware, decoded once at startup: `NodeGuard`'s, plus what
 * users of the MCP SDK's `requireBearerAuth` know (`requiredScopes`, `resourceMetadataUrl`)
 * and mcpgate's `protectedResource`. A misspelled option, a bad scope or a metadata URL that
 * names no resource is a `ConfigurationError`, never a middleware that lets requests in.
 */
import { Options } from "@mcpgate/auth-core"
import { isScopeToken } from "@mcpgate/auth-core/Principal"
import { ProtectedResource, ScopeHierarchy, ServerOptions } from "@mcpgate/http"
import * as Schema from "effect/Schema"

const ScopeToken = Schema.String.pipe(
  Schema.filter((scope) =>
    isScopeToken(scope) ||
    `${JSON.stringify(scope)} is not a scope: visible ASCII without spaces, quotes or backslashes (RFC 6749 3.3)`
  )
)

/** RFC 9728 3.1: the well-known segment between the host and the resource's path. */
const WELL_KNOWN = "/.well-known/oauth-protected-resource"

/**
 * The resource a metadata URL is for (RFC 9728 3.1, read backwards):
 * `https://mcp.example.com/.well-known/oauth-protected-resource/mcp` is for
 * `https://mcp.example.com/mcp`, and the plain well-known URL for the origin itself.
 * Undefined for a URL of another form.
 */
export const resourceOf = (metadataUrl: string): string | undefined => {
  const url = new URL(metadataUrl)
  if (!url.pathname.startsWith(WELL_KNOWN)) return undefined
  const path = url.pathname.slice(WELL_KNOWN.length)
  if (path !== "" && !path.startsWith("/")) return undefined
  return `${url.origin}${path}${url.search}`
}

const MetadataUrl = Options.HttpUrl.pipe(
  Schema.filter((url) =>
    resourceOf(url) !== undefined ||
    `${JSON.stringify(url)} is not a protected-resource metadata URL (https://host${WELL_KNOWN}/<path>, ` +
      "RFC 9728 3.1): give the resource itself as protectedResource instead"
  )
)

export const ExpressAuthOptions = Schema.Struct({
  provider: ServerOptions.ServiceInputSchema,
  // As in the SDK, an empty list requires nothing.
  requiredScopes: Schema.optionalWith(Schema.Array(ScopeToken), { default: () => [] }),
  scopeHierarchy: Schema.optional(ScopeHierarchy.ScopeHierarchySchema),
  resourceMetadataUrl: Schema.optional(MetadataUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  requestContext: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  maxHeadersCount: Schema.optional(Options.PositiveInt),
  ...ServerOptions.gateFields
}).pipe(
  Schema.filter(ServerOptions.oneGateSource),
  Schema.filter(ServerOptions.gateKnowsResource),
  Schema.filter(ServerOptions.scopesKnown),
  Schema.filter((options) =>
    options.resourceMetadataUrl === undefined || options.protectedResource === undefined ||
    options.resourceMetadataUrl === ProtectedResource.metadataUrlOf(options.protectedResource.resource) ||
    `resourceMetadataUrl (${JSON.stringify(options.resourceMetadataUrl)}) is not the metadata URL of ` +
      `protectedResource.resource (${JSON.stringify(ProtectedResource.metadataUrlOf(options.protectedResource.resource))}): ` +
      "give one of them"
  ),
  Schema.filter((options) =>
    options.gate === undefined || options.resourceMetadataUrl === undefined ||
    options.gate.gate.challenge.resourceMetadata === options.resourceMetadataUrl ||
    "gate was made without this resourceMetadataUrl: make it with its protectedResource, or give the options instead of gate"
  )
)

export type Decoded = typeof ExpressAuthOptions.Type
