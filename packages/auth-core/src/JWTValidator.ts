/**
 * mcp-framework's `JWTValidator`: `new JWTValidator({ jwksUri, audience, issuer, algorithms })`
 * and `validate(token)`, which resolves to the token's claims or rejects with a
 * `TokenValidationError`. Underneath is mcpgate's JWT provider on a remote JWK Set (jose,
 * cached), so a token is held to what a server holds it to: an explicit algorithm allowlist
 * (`["RS256", "ES256"]` by default), `exp` required, `iss` and `aud` checked, `nbf` and `iat`
 * with 30 s of tolerance. Unlike mcp-framework, `aud` must name the audience (a `client_id`
 * equal to it does not stand in for it, and `"*"` is refused), and `kid` is not required.
 *
 * @example
 * ```ts
 * import { JWTValidator } from "@mcpgate/auth-core"
 *
 * const validator = new JWTValidator({
 *   jwksUri: "https://auth.example.com/.well-known/jwks.json",
 *   audience: "https://mcp.example.com/mcp",
 *   issuer: "https://auth.example.com"
 * })
 * const claims = await validator.validate(token) // rejects with a TokenValidationError
 * ```
 *
 * @since 0.1.0
 */
import { Messages } from "./HttpAnswer.js"
import * as internal from "./internal/jwt.js"
import type { JwtValidatorInput } from "./internal/oauthOptions.js"
import { jwtValidatorOptions } from "./internal/oauthOptions.js"
import { orThrow, PromiseProvider, runSyncOrThrow } from "./internal/promiseProvider.js"
import type { TokenClaims } from "./internal/tokenValidator.js"
import { TokenValidationError, validateWith } from "./internal/tokenValidator.js"

export {
  /**
   * Why `validate` rejected: `reason` (a stable code) and `unavailable` (the key source or
   * authorization server could not answer).
   *
   * @since 0.1.0
   */
  TokenValidationError
}

export type {
  /**
   * mcp-framework's `TokenClaims`: what `validate` resolves to.
   *
   * @since 0.1.0
   */
  TokenClaims
}

/**
 * mcp-framework's `JWTValidationConfig`: `jwksUri`, `audience`, `issuer`, `algorithms`,
 * `cacheTTL` (how long fetched keys are trusted, in milliseconds; 15 minutes). Its jwks-rsa
 * settings `rateLimit` and `cacheMaxEntries` are accepted and change nothing (jose fetches the
 * whole set at most once per cooldown).
 *
 * @since 0.1.0
 */
export type JWTValidationConfig = JwtValidatorInput

/**
 * Validates JWT access tokens against a remote JWK Set.
 *
 * @since 0.1.0
 */
export class JWTValidator {
  readonly #provider: PromiseProvider

  /** Throws a `ConfigurationError` on bad options. Nothing is fetched before the first token. */
  constructor(config: JWTValidationConfig) {
    const { keys, options } = orThrow(internal.parseOptions(orThrow(jwtValidatorOptions(config))))
    const { checkNow, provider } = runSyncOrThrow(internal.makeChecker(options, keys))
    this.#provider = new PromiseProvider(
      provider,
      "jwt",
      { scheme: "Bearer", realm: options.realm, resourceMetadata: undefined },
      Messages.jwt,
      checkNow
    )
  }

  /** The token's claims (a copy), or a rejection with a `TokenValidationError`. */
  validate(token: string): Promise<TokenClaims> {
    return validateWith(this.#provider, token)
  }

  /** Releases the validator's runtime; from then on every token is refused. */
  dispose(): Promise<void> {
    return this.#provider.dispose()
  }
}
