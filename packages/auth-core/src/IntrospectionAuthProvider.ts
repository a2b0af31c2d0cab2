/**
 * The introspection provider for code that does not use Effect.
 *
 * @since 0.1.0
 */
import { Messages } from "./HttpAnswer.js"
import type * as Introspection from "./Introspection.js"
import { checkerOf } from "./Introspection.js"
import { challengeOf } from "./internal/introspection.js"
import { parseIntrospectionOptions } from "./internal/introspectionOptions.js"
import { orThrow, PromiseProvider } from "./internal/promiseProvider.js"

/**
 * Opaque tokens checked by introspection (RFC 7662), with every option of
 * `Introspection.Options`. The constructor throws a `ConfigurationError` on bad options.
 * `check(req)` resolves to the principal or the exact answer (the 503 when the authorization
 * server cannot answer); `authenticate(req)` is mcp-framework's contract (`{ data: <claims> }`
 * or `false`). Neither rejects.
 *
 * @example
 * ```ts
 * import { IntrospectionAuthProvider } from "@mcpgate/auth-core"
 *
 * const provider = new IntrospectionAuthProvider({
 *   endpoint: "https://auth.example.com/oauth/introspect",
 *   issuer: "https://auth.example.com",
 *   audience: "https://mcp.example.com/mcp",
 *   clientId: "mcp-resource-server",
 *   clientSecret: process.env.INTROSPECTION_SECRET!
 * })
 * const result = await provider.check({ authorization: `Bearer ${token}` })
 * ```
 *
 * @since 0.1.0
 */
export class IntrospectionAuthProvider extends PromiseProvider {
  declare readonly service: Introspection.Service

  constructor(options: Introspection.Options) {
    const { options: decoded } = orThrow(parseIntrospectionOptions(options))
    const { checkNow, provider } = orThrow(checkerOf(options))
    super(provider, "jwt", provider.dpop?.challenge("Bearer") ?? challengeOf(decoded), Messages.jwt, checkNow)
  }
}
