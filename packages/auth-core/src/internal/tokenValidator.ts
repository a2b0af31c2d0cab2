/**
 * mcp-framework's validators (`JWTValidator`, `IntrospectionValidator`): `validate(token)`
 * resolves to the token's claims or rejects, over a provider of mcpgate's own, so that a
 * token is held to exactly what the server holds it to.
 */
import type { ReasonCode } from "../AuthFailure.js"
import type { PromiseProvider } from "./promiseProvider.js"

/** mcp-framework's `TokenClaims`: what `validate` resolves to. `exp` is always there. */
export interface TokenClaims {
  readonly sub?: string
  readonly iss?: string
  readonly aud?: string | ReadonlyArray<string>
  readonly exp: number
  readonly nbf?: number
  readonly iat?: number
  readonly scope?: string
  readonly [claim: string]: unknown
}

/**
 * Why `validate` rejected: `reason` is the stable code of docs/behaviour.md#logs-and-metrics;
 * `unavailable` is true when the key source or the authorization server could not answer
 * (a server answers 503 then, not 401). The message never holds the token.
 */
export class TokenValidationError extends Error {
  override readonly name = "TokenValidationError"
  constructor(readonly reason: ReasonCode, readonly unavailable: boolean) {
    super(unavailable
      ? "Token validation unavailable: the authorization server or its keys could not be reached"
      : `Token validation failed (${reason})`)
  }
}

// RFC 6750 2.1: a bearer token is b64token characters only.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

/** Validates a token with a provider: its claims (a copy), or a `TokenValidationError`. */
export const validateWith = async (provider: PromiseProvider, token: unknown): Promise<TokenClaims> => {
  if (typeof token !== "string" || !B64TOKEN.test(token)) throw new TokenValidationError("malformed_token", false)
  const result = await provider.check({ authorization: `Bearer ${token}` })
  if (result.ok) return { ...result.principal.claims } as TokenClaims
  throw new TokenValidationError(result.reason, result.status === 503)
}
