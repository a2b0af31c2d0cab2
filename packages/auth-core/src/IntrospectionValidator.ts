/**
 * mcp-framework's `IntrospectionValidator`: `new IntrospectionValidator({ endpoint, clientId,
 * clientSecret, cacheTTL })` and `validate(token)`, which resolves to the introspection
 * answer's claims or rejects with a `TokenValidationError`. Underneath is mcpgate's
 * introspection provider (RFC 7662): `active: true` required, then the JWT claim rules
 * (`exp` required, `nbf`, `iss` when `issuer` is given), answers cached by the token's
 * SHA-256 and never past its `exp`, concurrent checks of one token sharing one call.
 *
 * Unlike mcp-framework, `audience` is required and `aud` checked: the MCP specification
 * requires a resource server to check that a token was issued for it (RFC 8707), on
 * introspection as on JWTs. An authorization server that cannot answer rejects with
 * `unavailable: true`, which a server answers 503.
 *
 * @example
 * ```ts
 * import { IntrospectionValidator } from "@mcpgate/auth-core"
 *
 * const validator = new IntrospectionValidator({
 *   endpoint: "https://auth.example.com/oauth/introspect",
 *   clientId: "mcp-server",
 *   clientSecret: process.env.OAUTH_CLIENT_SECRET!,
 *   audience: "https://mcp.example.com/mcp"
 * })
 * const claims = await validator.validate(token)
 * ```
 *
 * @since 0.1.0
 */
import { Messages } from "./HttpAnswer.js"
import { checkerOf } from "./Introspection.js"
import { challengeOf } from "./internal/introspection.js"
import { parseIntrospectionOptions } from "./internal/introspectionOptions.js"
import type { IntrospectionValidatorInput } from "./internal/oauthOptions.js"
import { introspectionValidatorOptions } from "./internal/oauthOptions.js"
import { orThrow, PromiseProvider } from "./internal/promiseProvider.js"
import type { TokenClaims } from "./internal/tokenValidator.js"
import { validateWith } from "./internal/tokenValidator.js"

/**
 * mcp-framework's `IntrospectionConfig`: `endpoint`, `clientId`, `clientSecret` (sent with
 * `client_secret_basic`), `cacheTTL` (milliseconds; 60 s by default, never past the token's
 * `exp`), plus `audience` (required) and `issuer`.
 *
 * @since 0.1.0
 */
export type IntrospectionConfig = IntrospectionValidatorInput

/**
 * Validates opaque access tokens by introspection.
 *
 * @since 0.1.0
 */
export class IntrospectionValidator {
  readonly #provider: PromiseProvider
  readonly #inFlight: () => number

  /** Throws a `ConfigurationError` on bad options. Nothing is fetched before the first token. */
  constructor(config: IntrospectionConfig) {
    const options = orThrow(introspectionValidatorOptions(config))
    const { options: decoded } = orThrow(parseIntrospectionOptions(options))
    const { checkNow, provider } = orThrow(checkerOf(options))
    this.#provider = new PromiseProvider(provider, "jwt", challengeOf(decoded), Messages.jwt, checkNow)
    this.#inFlight = provider.inFlight
  }

  /** The answer's claims (a copy), or a rejection with a `TokenValidationError`. */
  validate(token: string): Promise<TokenClaims> {
    return validateWith(this.#provider, token)
  }

  /** How many introspections are under way (concurrent checks of one token share one). */
  inFlight(): number {
    return this.#inFlight()
  }

  /** Releases the validator's runtime; from then on every token is refused. */
  dispose(): Promise<void> {
    return this.#provider.dispose()
  }
}
