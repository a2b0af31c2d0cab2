/**
 * mcpgate in front of any web-standard handler, `(request: Request, ...rest) => Response`:
 * an SDK v2 `createMcpHandler(...).fetch`, a Vercel `mcp-handler` route, a Hono app's
 * `fetch`. The request goes through the pipeline (docs/behaviour.md#order-of-checks: Origin
 * and Host, the preflight, RFC 9728 metadata, the failed-attempt budget, the provider's
 * check, then `requiredScopes`), and the handler gets the caller the way its ecosystem
 * expects: `authInfo` in its second argument (SDK v2's `fetch(request, { authInfo })`) and
 * `request.auth` (`mcp-handler`, which hands `req.auth` to the SDK itself).
 *
 * `auth` is one of mcpgate's providers, or, for users of `mcp-handler`, its
 * `verifyToken(request, bearerToken)` with its options `required`, `requiredScopes`,
 * `resourceMetadataPath` and `resourceUrl`; then mcpgate's strict Bearer parsing, budget,
 * challenges and answers apply around that function, and the handler gets the very
 * `AuthInfo` it returned. Unlike `mcp-handler`, `required` defaults to `true`: an endpoint
 * open to anonymous callers is a choice to write down (`required: false`).
 *
 * The second argument: `undefined` becomes `{ authInfo }`; an object is copied with
 * `authInfo` added (a Next.js `{ params }`, a Worker's `env`); other arguments pass as they
 * are. An anonymous caller (`required: false`) adds nothing. The credential headers are
 * removed from the request the handler gets unless `exposeToken`. No `node:*` import.
 *
 * @example
 * ```ts
 * import { JWTAuthProvider } from "@mcpgate/auth-core"
 * import { withMcpAuth } from "@mcpgate/mcp-sdk/WithMcpAuth"
 * import { createMcpHandler } from "@modelcontextprotocol/server"
 *
 * const mcp = createMcpHandler(createServer)
 * export default {
 *   fetch: withMcpAuth(mcp.fetch, new JWTAuthProvider({ jwksUrl: JWKS_URL }), {
 *     clientAddressHeader: "CF-Connecting-IP"
 *   })
 * }
 * ```
 *
 * @since 0.1.0
 */
import { withoutScheme } from "@mcpgate/auth-core/Credentials"
import type { ConfigurationError as ConfigurationErrorClass } from "@mcpgate/auth-core/ConfigurationError"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { isProviderInput, serviceOf } from "@mcpgate/auth-core/CustomProvider"
import { decode, Path } from "@mcpgate/auth-core/Options"
import { fromPrincipal } from "@mcpgate/http/AuthInfo"
import type { AuthInfo } from "@mcpgate/http/AuthInfo"
import * as Fetch from "@mcpgate/http/Fetch"
import * as ServerOptions from "@mcpgate/http/ServerOptions"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { handOver, withResponseHeaders } from "./internal/fetchServing.js"
import type { VerifyToken } from "./internal/fetchVerifyToken.js"
import { verifyTokenProvider } from "./internal/fetchVerifyToken.js"
import type { McpFetchHandlerOptions } from "./McpFetchHandler.js"

export type {
  /**
   * `mcp-handler`'s token verifier: an `AuthInfo` for a good token, else `undefined`.
   *
   * @since 0.1.0
   */
  VerifyToken
} from "./internal/fetchVerifyToken.js"

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface WithMcpAuthOptions extends
  Pick<
    McpFetchHandlerOptions,
    | "clientAddress"
    | "clientAddressHeader"
    | "allowedOrigins"
    | "allowedHosts"
    | "exposeToken"
    | "resource"
    | "protectedResource"
    | "requiredScopes"
    | "scopeHierarchy"
    | "rateLimit"
    | "trustProxy"
    | "gate"
    | "logger"
    | "maxHeadersCount"
    | "maxHeaderSize"
    | "onError"
  >
{
  /** Whether a request without credentials is refused; default `true` (`mcp-handler`: false). */
  readonly required?: boolean
  /** A health path answered here without credentials, or `false` (default). */
  readonly healthEndpoint?: string | false
  /** `verifyToken` only: the path of the metadata named in challenges; default `/.well-known/oauth-protected-resource`. */
  readonly resourceMetadataPath?: string
  /** `verifyToken` only: the public URL the metadata path is taken against; default the request's own origin. */
  readonly resourceUrl?: string
}

const WithMcpAuthOptionsSchema = Schema.Struct({
  required: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  healthEndpoint: Schema.optionalWith(ServerOptions.HealthEndpoint, { default: () => false as const }),
  resourceMetadataPath: Schema.optional(Path),
  resourceUrl: Schema.optional(Schema.String),
  ...Fetch.fetchFields
}).pipe(
  Fetch.withFetchRules
)

const DEFAULT_METADATA_PATH = "/.well-known/oauth-protected-resource"

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/**
 * Wraps `handler` with authentication. Throws a `ConfigurationError` for bad options or an
 * `auth` that is neither a provider nor a function.
 *
 * @since 0.1.0
 */
export const withMcpAuth = <Rest extends Array<any>>(
  handler: (request: Request, ...rest: Rest) => Response | Promise<Response>,
  auth: ProviderInput | VerifyToken,
  options: WithMcpAuthOptions = {}
): (request: Request, ...rest: Rest) => Promise<Response> => {
  const verifying = typeof auth === "function" && !isProviderInput(auth)
  if (!verifying && !isProviderInput(auth)) {
    throw new ConfigurationError({
      message: "withMcpAuth: auth must be an APIKeyAuthProvider, a JWTAuthProvider, an AuthProvider service, " +
        "an object with authenticate(req), or a verifyToken(request, bearerToken) function"
    })
  }
  const decoded = Either.getOrThrowWith(
    decode(WithMcpAuthOptionsSchema, options, "withMcpAuth"),
    (error): ConfigurationErrorClass => error
  )
  if (!verifying && (decoded.resourceMetadataPath !== undefined || decoded.resourceUrl !== undefined)) {
    throw new ConfigurationError({
      message: "withMcpAuth: resourceMetadataPath and resourceUrl go with a verifyToken function; " +
        "with a provider, give protectedResource"
    })
  }
  const requests = new WeakMap<object, Request>()
  const metadataPath = decoded.resourceMetadataPath ?? DEFAULT_METADATA_PATH
  const verifier = verifying
    ? verifyTokenProvider(
      auth as VerifyToken,
      (headers) => requests.get(headers),
      (request) => {
        if (decoded.protectedResource !== undefined) return undefined
        try {
          return new URL(metadataPath, decoded.resourceUrl ?? request.url).href
        } catch {
          return undefined
        }
      }
    )
    : undefined
  const provider = verifier?.service ?? serviceOf(auth as ProviderInput)
  const settings = Either.getOrThrowWith(Fetch.settingsOf(provider, decoded, options), (error) => error)
  const guarded = Fetch.guard({ settings, required: decoded.required, healthEndpoint: decoded.healthEndpoint, requests })
  const serving = {
    credentialHeaders: new Set(provider.headerNames.map((name) => name.toLowerCase())),
    exposeToken: settings.exposeToken,
    resource: settings.resource,
    // The guard has checked `requiredScopes`; the wrapped handler reads its own body.
    scopes: settings.scopes,
    maxRequestBodySize: 0,
    challenge: {}
  }

  return async (request: Request, ...rest: Rest): Promise<Response> => {
    const guard = await guarded(request, rest[0], rest[1])
    if (guard._tag === "Answer") return guard.response
    const { corsHeaders, principal } = guard
    if (principal === undefined) return withResponseHeaders(await handler(request, ...rest), corsHeaders)
    const authInfo: AuthInfo = verifier?.authInfoOf.get(principal) ?? fromPrincipal(principal, {
      token: settings.exposeToken ? withoutScheme(request.headers.get(principal.credentialHeader ?? "authorization")) : undefined,
      resource: settings.resource
    })
    const forwarded = handOver(request, serving, undefined)
    // `mcp-handler` reads the caller here, and hands it to the SDK itself.
    ;(forwarded as Request & { auth?: AuthInfo }).auth = authInfo
    const [first, ...others] = rest
    const second = first === undefined ? { authInfo } : isRecord(first) ? { ...first, authInfo } : first
    const args = [second, ...others] as unknown as Rest
    return withResponseHeaders(await handler(forwarded, ...args), corsHeaders)
  }
}
