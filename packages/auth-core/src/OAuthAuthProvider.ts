/**
 * mcp-framework's `OAuthAuthProvider`, with its option names, so that its users change only
 * the import: `authorizationServers`, `resource`, `validation: { type: "jwt" | "introspection",
 * ... }`, `headerName`. Underneath are mcpgate's own providers: `Jwt` on the configured
 * `jwksUri` (or the `jwks_uri` of the issuer's metadata, RFC 8414), or `Introspection`
 * (RFC 7662, its endpoint given or discovered).
 *
 * Where mcp-framework is weaker than the MCP specification, this follows the specification:
 * a token must name the resource in `aud` on introspection too (`validation.audience`
 * defaults to `resource` and may not be anything else, nor `"*"`); the challenge names the
 * metadata with `resource_metadata` (RFC 9728 5.1), not a `resource=` parameter; an
 * authorization server that cannot answer is a 503, never a 401; `exp` is required.
 * `MCPServer` serves the RFC 9728 metadata of such a provider without credentials.
 *
 * @example
 * ```ts
 * import { MCPServer, OAuthAuthProvider } from "@mcpgate/mcp-sdk"
 *
 * const server = new MCPServer({
 *   transport: {
 *     type: "http-stream",
 *     options: {
 *       port: 8080,
 *       auth: {
 *         provider: new OAuthAuthProvider({
 *           authorizationServers: ["https://auth.example.com"],
 *           resource: "https://mcp.example.com/mcp",
 *           validation: { type: "jwt", jwksUri: "https://auth.example.com/.well-known/jwks.json", issuer: "https://auth.example.com" }
 *         })
 *       }
 *     }
 *   }
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import type { ChallengeParams } from "./AuthFailure.js"
import * as Challenges from "./internal/challenges.js"
import { makeOAuthChecker, OAUTH_REFUSAL } from "./internal/oauth.js"
import type { OAuthOptionsInput } from "./internal/oauthOptions.js"
import { PromiseProvider } from "./internal/promiseProvider.js"

/**
 * The options, as mcp-framework names them. `authorizationServers` (their issuer URLs, at
 * least one) and `resource` (this server's identifier, RFC 9728) are announced in the
 * metadata. `validation.issuer` defaults to the authorization servers; `validation.audience`
 * to `resource`. For `type: "jwt"`, `jwksUri` (else discovered) and `algorithms`
 * (`["RS256", "ES256"]`); for `type: "introspection"`, `introspection: { endpoint (else
 * discovered), clientId, clientSecret, cacheTTL }` (milliseconds, as in mcp-framework; the
 * answer is never kept past the token's `exp`). Then `headerName` (`"Authorization"`) and
 * `realm` (`"mcp"`).
 *
 * @since 0.1.0
 */
export type OAuthConfig = OAuthOptionsInput

/**
 * mcp-framework's introspection settings (`validation.introspection`).
 *
 * @since 0.1.0
 */
export type IntrospectionSettings = Extract<OAuthConfig["validation"], { type: "introspection" }>["introspection"]

/**
 * OAuth 2.1 access tokens, as mcp-framework's `OAuthAuthProvider` takes them. The constructor
 * throws a `ConfigurationError` on bad options. `authenticate(req)` resolves to
 * `{ data: <claims> }` or `false` (mcp-framework's contract; the token itself is not copied
 * into `data`); `check(req)` to the principal or the exact answer: 401
 * `{"error":"Unauthorized","status":401,"type":"authentication_error"}` with the Bearer
 * challenge, or the 503 when the authorization server cannot answer. Neither rejects.
 *
 * @since 0.1.0
 */
export class OAuthAuthProvider extends PromiseProvider {
  readonly #resource: string
  readonly #authorizationServers: ReadonlyArray<string>
  readonly #challenge: Extract<ChallengeParams, { scheme: "Bearer" }>

  constructor(config: OAuthConfig) {
    const checker = Either.getOrThrowWith(makeOAuthChecker(config), (error) => error)
    super(checker.service, "oauth", checker.challenge, OAUTH_REFUSAL.message, checker.checkNow)
    this.#resource = checker.options.resource
    this.#authorizationServers = [...checker.options.authorizationServers]
    this.#challenge = checker.challenge
  }

  /** mcp-framework's name: the authorization servers announced in the metadata (a copy). */
  getAuthorizationServers(): Array<string> {
    return [...this.#authorizationServers]
  }

  /** mcp-framework's name: the resource identifier announced in the metadata. */
  getResource(): string {
    return this.#resource
  }

  /**
   * What `MCPServer` serves as RFC 9728 metadata for this provider.
   */
  get protectedResource(): { readonly resource: string; readonly authorizationServers: ReadonlyArray<string> } {
    return { resource: this.#resource, authorizationServers: this.getAuthorizationServers() }
  }

  /**
   * mcp-framework's challenge builder, with the challenge mcpgate sends:
   * `Bearer realm="mcp"[, error="<error>"], resource_metadata="<metadata URL>"`. A description
   * is accepted for the signature's sake and never sent: an answer does not say why
   * (docs/behaviour.md#challenges).
   */
  getWWWAuthenticateHeader(error?: string, _errorDescription?: string): string {
    return Challenges.bearerChallenge(this.#challenge, error === undefined || error === "" ? undefined : error)
  }
}
