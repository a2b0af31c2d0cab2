/**
 * mcpgate as Express 5 middleware: put it in front of an MCP route and every request is
 * authenticated as mcpgate's servers do it (strict headers, a credential in the URL refused,
 * failed attempts limited per client with 429, counted and logged), refused with the exact
 * bytes of docs/behaviour.md#answers, and let through with `req.auth` set in the shape of
 * the MCP SDK's `AuthInfo`, as SDK v1's `requireBearerAuth` sets it and as SDK v2's
 * transports (`@modelcontextprotocol/node`, `@modelcontextprotocol/express`) read it: tools
 * see the caller as `extra.authInfo` (v1) or `ctx.http.authInfo` (v2).
 *
 * It is `NodeGuard` (`@mcpgate/node`) with the options users of `requireBearerAuth` know:
 * `requiredScopes` (a caller without all of them gets the 403 `insufficient_scope`) and
 * `resourceMetadataUrl` (named in every Bearer challenge, RFC 9728), or mcpgate's
 * `protectedResource`, whose document `protectedResourceMetadata` serves.
 *
 * @example
 * ```ts
 * import { JWTAuthProvider } from "@mcpgate/auth-core"
 * import { requireAuth } from "@mcpgate/express"
 * import { createMcpExpressApp } from "@modelcontextprotocol/express"
 *
 * const app = createMcpExpressApp()
 * const auth = requireAuth({
 *   provider: new JWTAuthProvider({ secret: process.env.MCP_JWT_SECRET! }),
 *   requiredScopes: ["tools:read"],
 *   trustProxy: ["loopback"]
 * })
 * app.post("/mcp", auth, (req, res) => transport.handleRequest(req, res, req.body))
 * ```
 *
 * @since 0.1.0
 */
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import { Options } from "@mcpgate/auth-core"
import type { AuthInfo, ServerOptions } from "@mcpgate/http"
import { Pipeline, ProtectedResource, RequestGate, ToolScopes } from "@mcpgate/http"
import { NodeGuard, NodeHttp } from "@mcpgate/node"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { Request, RequestHandler } from "express"
import { ExpressAuthOptions, resourceOf } from "./internal/options.js"

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface ExpressAuthOptions extends
  ServerOptions.ScopeOptions,
  Pick<
    NodeGuard.NodeGuardOptions,
    "provider" | "exposeToken" | "requestContext" | "rateLimit" | "trustProxy" | "logger" | "gate" | "maxHeadersCount"
  >
{
  // `requiredScopes` is SDK v1's: a caller without all of them gets the 403 with
  // `error="insufficient_scope"` naming every one (it spends no budget). `trustProxy` alone
  // says whose `X-Forwarded-For` is believed: Express's own `trust proxy` setting is not read.
  /**
   * The URL of the protected-resource metadata (RFC 9728), named as `resource_metadata` in
   * every Bearer challenge, as with `requireBearerAuth`. It must have the RFC's form
   * (`https://host/.well-known/oauth-protected-resource/<path>`): the resource it is for
   * (`https://host/<path>`) is then the audience every JWT must name (RFC 8707).
   */
  readonly resourceMetadataUrl?: string | URL
  /** The server as a protected resource, whose document `protectedResourceMetadata` serves. */
  readonly protectedResource?: ProtectedResource.Options
}

/**
 * `AuthInfo` as mcpgate sets it on `req.auth`: the SDK's fields, `resource` and SDK v2's
 * `resourceMetadataUrl` when the server is a protected resource.
 *
 * @since 0.1.0
 */
export interface ExpressAuthInfo extends AuthInfo.AuthInfo {
  resourceMetadataUrl?: string
}

/**
 * A request the middleware let through.
 *
 * @since 0.1.0
 */
export type AuthenticatedRequest = Request & { auth: ExpressAuthInfo }

/**
 * The middleware, as an Effect that fails with a `ConfigurationError` on bad options.
 *
 * @since 0.1.0
 */
export const make = (options: ExpressAuthOptions): Effect.Effect<RequestHandler, ConfigurationError> => decode(options)

/**
 * The middleware; throws a `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: ExpressAuthOptions): RequestHandler =>
  Either.getOrThrowWith(decode(options), (error) => error)

/**
 * The same as `unsafeMake`, under the name an app reads well: `app.post("/mcp", requireAuth(options), handler)`.
 *
 * @since 0.1.0
 */
export const requireAuth: (options: ExpressAuthOptions) => RequestHandler = unsafeMake

const decode = (input: ExpressAuthOptions): Either.Either<RequestHandler, ConfigurationError> => {
  const { resourceMetadataUrl, ...rest } = input
  const normalized = resourceMetadataUrl === undefined ? rest : { ...rest, resourceMetadataUrl: String(resourceMetadataUrl) }
  return Either.flatMap(Options.decode(ExpressAuthOptions, normalized, "requireAuth"), (decoded) =>
    Either.try({
      try: () => middlewareOf(decoded),
      catch: (error) => error as ConfigurationError
    }))
}

const middlewareOf = (decoded: typeof ExpressAuthOptions.Type): RequestHandler => {
  const resource = decoded.protectedResource?.resource ??
    (decoded.resourceMetadataUrl === undefined ? undefined : resourceOf(decoded.resourceMetadataUrl))
  const metadataUrl = resource === undefined ? undefined : ProtectedResource.metadataUrlOf(resource)
  const required = [...new Set(decoded.requiredScopes)]
  const gate = decoded.gate ?? RequestGate.unsafeMake(NodeHttp.serviceOf(decoded.provider), {
    rateLimit: decoded.rateLimit,
    trustProxy: decoded.trustProxy,
    logger: decoded.logger,
    // docs/behaviour.md#challenges: every Bearer 401 names the metadata and the scopes needed.
    requiredScopes: required.length === 0 ? undefined : required,
    protectedResource: resource === undefined || metadataUrl === undefined
      ? undefined
      : { resource, metadataUrl, scopesSupported: decoded.protectedResource?.scopesSupported }
  })
  const guard = NodeGuard.unsafeMake({
    provider: decoded.provider,
    exposeToken: decoded.exposeToken,
    requestContext: decoded.requestContext,
    gate,
    ...(decoded.maxHeadersCount === undefined ? {} : { maxHeadersCount: decoded.maxHeadersCount })
  })
  const policy = ToolScopes.policyOf({ requiredScopes: required, scopeHierarchy: decoded.scopeHierarchy })
  const challenge = { resourceMetadata: gate.gate.challenge.resourceMetadata }
  const resourceUrl = resource === undefined ? undefined : new URL(resource)
  return (request, response, next) => {
    guard.middleware(request, response, () => {
      const auth = (request as AuthenticatedRequest).auth
      // RFC 6750 3.1: the 403 lists every scope the route needs, held or not.
      const forbidden = required.length === 0 ? undefined : ToolScopes.check(policy, undefined, auth.scopes, challenge)
      if (forbidden !== undefined) {
        // Refused: nothing after this reads an identity off the request.
        delete (request as Partial<AuthenticatedRequest>).auth
        return NodeHttp.writeAnswer(response, forbidden)
      }
      if (resourceUrl !== undefined) auth.resource = resourceUrl
      if (metadataUrl !== undefined) auth.resourceMetadataUrl = metadataUrl
      next()
    })
  }
}

/**
 * Serves the protected-resource metadata (RFC 9728) of `options`, the exact 200 of
 * docs/behaviour.md#answers, on `GET` and `HEAD` at its paths (the path of its URL, and the
 * plain `/.well-known/oauth-protected-resource` MCP clients fall back to); other methods
 * there are the 405, and every other path goes on to `next`. Mount it at the app's root,
 * and give `requireAuth` the same `protectedResource`. Throws a `ConfigurationError` for
 * bad options.
 *
 * @since 0.1.0
 */
export const protectedResourceMetadata = (options: ProtectedResource.Options): RequestHandler => {
  const served = ProtectedResource.unsafeMake(options)
  const paths = new Set(served.metadataPaths)
  return (request, response, next) => {
    const url = Pipeline.targetOf(request.originalUrl)
    if (url === undefined || !paths.has(url.pathname) || request.method === "OPTIONS") return next()
    if (request.method !== "GET" && request.method !== "HEAD") {
      return NodeHttp.writeAnswer(response, HttpAnswer.methodNotAllowed(["GET", "HEAD", "OPTIONS"]))
    }
    NodeHttp.writeAnswer(response, served.answer)
  }
}
