/**
 * Who the caller is, once authenticated (docs/behaviour.md#identity).
 *
 * @since 0.1.0
 */
import type { ProviderKind } from "./AuthFailure.js"

/**
 * The identity a successful check yields. Adapters map it onto the MCP SDK's `AuthInfo`.
 *
 * @since 0.1.0
 */
export interface Principal {
  readonly provider: ProviderKind
  /** JWT `sub` (else the client id); for an API key, its label or fingerprint. */
  readonly subject: string
  /** JWT `client_id`, else `azp`, else `sub`; for an API key, its label, else an 8-hex fingerprint. */
  readonly clientId: string
  readonly scopes: ReadonlyArray<string>
  /** When the credential stops being valid, in seconds since the epoch. */
  readonly expiresAt?: number | undefined
  /** The verified JWT claims. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined
  /** The configured label of the API key, when it has one. */
  readonly keyLabel?: string | undefined
  /**
   * Two requests with equal `identity` are the same caller: (provider, `iss`, `sub`) for
   * JWTs, so a refreshed token keeps its session; (provider, key entry) for API keys.
   */
  readonly identity: string
  /**
   * Names the key that proved the credential (an API-key entry, a JWT key), so a provider
   * can tell after a rotation whether the credential is still good. Not a secret.
   */
  readonly keyId: string
  /**
   * The request header the credential was read from, lower-case (`authorization` for an API
   * key sent as a Bearer token). Not a secret; lets an adapter that exposes the raw
   * credential expose the one that authenticated.
   */
  readonly credentialHeader?: string | undefined
}

/**
 * Whether two principals are the same caller, for binding a session to its owner.
 *
 * @since 0.1.0
 */
export const sameIdentity = (self: Principal, that: Principal): boolean => self.identity === that.identity

/**
 * Scopes from JWT claims: `scope` (space-separated, RFC 8693) or `scp` (an array, or a
 * space-separated string as some issuers send it).
 *
 * @since 0.1.0
 */
export const scopesFromClaims = (claims: Readonly<Record<string, unknown>>): ReadonlyArray<string> => {
  // An empty or odd `scope` must not hide a good `scp`.
  const fromScope = scopeList(claims["scope"])
  return fromScope.length > 0 ? fromScope : scopeList(claims["scp"])
}

const scopeList = (value: unknown): ReadonlyArray<string> => {
  if (typeof value === "string") return value.split(" ").filter((s) => s.length > 0)
  if (Array.isArray(value)) return value.filter((s): s is string => typeof s === "string" && s.length > 0)
  return []
}

// RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/**
 * Whether a string is one scope as RFC 6749 3.3 spells it: visible ASCII without spaces,
 * `"` or `\\`. Configured scopes (tool scopes, announced scopes) must be.
 *
 * @since 0.1.0
 */
export const isScopeToken = (value: string): boolean => SCOPE_TOKEN.test(value)
