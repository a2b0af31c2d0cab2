/**
 * An mcpgate provider in the shape of the MCP SDK's `OAuthTokenVerifier`
 * (`verifyAccessToken(token)`), for servers that already use the SDK's bearer middleware
 * (`requireBearerAuth` in SDK v1's Express helpers or SDK v2). Every check of the provider
 * still runs: algorithm allowlist, `exp`, issuer, audience, rotation. The SDK's middleware
 * refuses an `AuthInfo` without `expiresAt`: JWTs always carry one, API keys only when their
 * entry has an `expiresAt`.
 *
 * @example
 * ```ts
 * import { JWTAuthProvider, TokenVerifier } from "@mcpgate/mcp-sdk"
 * import { requireBearerAuth } from "@modelcontextprotocol/server"
 *
 * const verifier = TokenVerifier.unsafeMake(new JWTAuthProvider({ secret: process.env.MCP_JWT_SECRET! }))
 * const gate = requireBearerAuth({ verifier })
 * ```
 *
 * @since 0.1.0
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import { Options } from "@mcpgate/auth-core"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { RequestGate } from "@mcpgate/http"
import * as Either from "effect/Either"
import * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import type { SdkLine } from "./internal/sdk.js"
import { loadSdk } from "./internal/sdk.js"
import type { McpAuthInfo } from "./McpAuthInfo.js"
import { fromPrincipal } from "./McpAuthInfo.js"

/**
 * The SDK's `OAuthTokenVerifier`, declared structurally.
 *
 * @since 0.1.0
 */
export interface OAuthTokenVerifier {
  verifyAccessToken(token: string): Promise<McpAuthInfo>
}

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface TokenVerifierOptions {
  /**
   * The SDK line whose bearer middleware calls the verifier: its error classes are the ones
   * thrown. Default: v2 when installed, else v1.
   */
  readonly sdk?: SdkLine
  /** The server's resource identifier (RFC 8707), reported as `AuthInfo.resource` for `expectedResource`. */
  readonly resource?: URL | string
  /** Whether `AuthInfo.token` carries the token; default false. */
  readonly exposeToken?: boolean
  /** Replaces Effect's default logger for the gate's failure log lines. */
  readonly logger?: Logger.Logger<unknown, unknown>
}

const VerifierOptions = Schema.Struct({
  sdk: Schema.optional(Schema.Literal("v1", "v2")),
  resource: Schema.optional(Schema.Union(Options.HttpUrl, Schema.instanceOf(URL).pipe(Schema.transform(Schema.String, {
    strict: true,
    decode: (url) => url.href,
    encode: (href) => new URL(href)
  })))),
  exposeToken: Schema.optional(Schema.Boolean),
  logger: Schema.optional(Schema.declare(
    (value: unknown): value is Logger.Logger<unknown, unknown> => Logger.isLogger(value),
    { message: () => "logger must be an Effect Logger (Logger.make, Logger.json, ...)" }
  ))
})

/**
 * Builds the verifier; throws a `ConfigurationError` for bad options. A refused token rejects
 * with the SDK's `invalid_token` error (the middleware answers 401); an unreachable key source
 * with its `server_error`. The reason is never in the message: the middleware sends it to the
 * client.
 *
 * @since 0.1.0
 */
export const unsafeMake = (provider: ProviderInput, options: TokenVerifierOptions = {}): OAuthTokenVerifier =>
  Either.getOrThrowWith(make(provider, options), (error) => error)

/**
 * The same, as an Effect that fails with a `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const make = (
  provider: ProviderInput,
  options: TokenVerifierOptions = {}
): Either.Either<OAuthTokenVerifier, ConfigurationError> =>
  Either.map(Options.decode(VerifierOptions, options, "token verifier"), (decoded) => build(serviceOf(provider), decoded))

const build = (service: AuthProvider.Service, decoded: typeof VerifierOptions.Type): OAuthTokenVerifier => {
  const resource = decoded.resource === undefined ? undefined : new URL(decoded.resource)
  const exposeToken = decoded.exposeToken === true
  // Through the gate, so refusals are counted and logged as on every other adapter. The SDK
  // hands a verifier the token alone, not the client's address, so there is no budget to
  // keep per client: a shared one would let anyone lock everyone out. Servers that want the
  // failed-attempt limit put `StreamableHttp` or `NodeGuard` in front instead.
  const gate = RequestGate.unsafeMake(service, { rateLimit: false, logger: decoded.logger })
  return {
    verifyAccessToken: async (token) => {
      const verdict = await RequestGate.verdict(gate, { headers: headersFor(service, token), remoteAddress: undefined, query: undefined }, true)
      if (verdict._tag === "Authenticated") {
        return fromPrincipal(verdict.principal, { token: exposeToken ? token : undefined, resource })
      }
      const sdk = await loadSdk(decoded.sdk)
      if (verdict._tag === "Refused" && verdict.answer.status === 503) throw sdk.serverError("Authentication unavailable")
      throw sdk.invalidToken("Invalid token")
    }
  }
}

/**
 * The request a provider expects for a bare token: `Authorization: Bearer <token>` for a
 * JWT provider, the configured header for an API-key provider (the SDK middleware has
 * already taken the token out of the Bearer header).
 */
const headersFor = (service: AuthProvider.Service, token: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const name of service.headerNames) {
    headers[name.toLowerCase()] = name.toLowerCase() === "authorization" ? `Bearer ${token}` : token
  }
  if (service.headerNames.length === 0) headers["authorization"] = `Bearer ${token}`
  return headers
}
