/**
 * The MCP SDK's `AuthInfo`, from a `Principal` (docs/behaviour.md#identity). Tools read it as
 * `extra.authInfo` (SDK v1) or `ctx.http.authInfo` (SDK v2); both SDKs declare the same
 * shape, copied here structurally so the core needs no SDK at run time.
 *
 * @example
 * ```ts
 * import { AuthInfo } from "@mcpgate/http"
 *
 * const authInfo = AuthInfo.fromPrincipal(principal)
 * authInfo.token // "" unless the server opts in with { token }
 * ```
 *
 * @since 0.1.0
 */
import type { Principal } from "@mcpgate/auth-core/Principal"

/**
 * The SDK's `AuthInfo`.
 *
 * @since 0.1.0
 */
export interface AuthInfo {
  /** The raw credential: the empty string unless the server opts in to exposing it. */
  token: string
  clientId: string
  scopes: Array<string>
  /** Seconds since the epoch. */
  expiresAt?: number
  resource?: URL
  extra?: Record<string, unknown>
}

/**
 * What mcpgate puts in `AuthInfo.extra`: the parts of the principal the SDK has no field for.
 *
 * @since 0.1.0
 */
export interface Extra {
  readonly provider: Principal["provider"]
  readonly subject: string
  readonly identity: string
  readonly keyLabel?: string
  readonly claims?: Readonly<Record<string, unknown>>
}

/**
 * Maps a principal onto `AuthInfo`. Pass `token` only when the server chose to expose the
 * raw credential to its tools, and `resource` when the server knows its own resource
 * identifier (its canonical URL, which tokens name as their audience).
 *
 * @since 0.1.0
 */
export const fromPrincipal = (
  principal: Principal,
  options: {
    readonly token?: string | undefined
    /** The server's own resource identifier (RFC 8707), when it has one. */
    readonly resource?: URL | undefined
  } = {}
): AuthInfo => {
  const extra: Record<string, unknown> = {
    provider: principal.provider,
    subject: principal.subject,
    identity: principal.identity
  }
  if (principal.keyLabel !== undefined) extra["keyLabel"] = principal.keyLabel
  if (principal.claims !== undefined) extra["claims"] = principal.claims
  const authInfo: AuthInfo = {
    token: options.token ?? "",
    clientId: principal.clientId,
    scopes: [...principal.scopes],
    extra
  }
  if (principal.expiresAt !== undefined) authInfo.expiresAt = principal.expiresAt
  if (options.resource !== undefined) authInfo.resource = options.resource
  return authInfo
}
