/**
 * The JWT provider for code that does not use Effect, with the reference's name and
 * option names.
 *
 * @since 0.1.0
 */
import { Messages } from "./HttpAnswer.js"
import * as internal from "./internal/jwt.js"
import { orThrow, PromiseProvider, runSyncOrThrow } from "./internal/promiseProvider.js"
import type * as Jwt from "./Jwt.js"

/**
 * JWT authentication: `new JWTAuthProvider({ secret, algorithms, headerName, requireBearer })`
 * plus every option of `Jwt.Options` (`publicKey`, `jwks`, `jwksUrl`, `issuer`, `audience`,
 * `clockTolerance`, ...). The constructor throws a `ConfigurationError` on bad options.
 * `check(req)` resolves to the principal or the exact answer; `authenticate(req)` is
 * mcp-framework's contract (`{ data: <claims> }` or `false`), so the provider also works
 * inside mcp-framework's own `MCPServer`. Neither rejects for a bad token.
 *
 * @example
 * ```ts
 * import { JWTAuthProvider } from "@mcpgate/auth-core"
 *
 * const provider = new JWTAuthProvider({ secret: process.env.MCP_JWT_SECRET!, issuer: "https://issuer.example" })
 * const result = await provider.check({ authorization: `Bearer ${token}` })
 * if (result.ok) console.log(result.principal.subject, result.principal.scopes)
 * ```
 *
 * @since 0.1.0
 */
export class JWTAuthProvider extends PromiseProvider {
  declare readonly service: Jwt.Service

  constructor(options: Jwt.Options) {
    const { keys, options: decoded } = orThrow(internal.parseOptions(options))
    const { checkNow, provider } = runSyncOrThrow(internal.makeChecker(decoded, keys))
    super(
      provider,
      "jwt",
      provider.dpop?.challenge("Bearer") ?? { scheme: "Bearer", realm: decoded.realm, resourceMetadata: decoded.resourceMetadata },
      Messages.jwt,
      checkNow
    )
  }

  /** Replaces the verification keys atomically; tokens of a removed key fail from the next request. */
  updateKeys(keys: Jwt.KeyOptions): void {
    runSyncOrThrow(this.service.updateKeys(keys))
  }
}
