/**
 * Credentials in the URL: refused before any provider runs, and spending no budget
 * (docs/behaviour.md#order-of-checks, step 1). The MCP specification forbids access tokens in
 * the URI; they leak into logs, browser histories and Referer headers.
 */
import type { AuthFailure, ReasonCode, SingleFailure } from "@mcpgate/auth-core/AuthFailure"
import { MalformedRequest, NoProviderAccepted } from "@mcpgate/auth-core/AuthFailure"

// Names under which clients put credentials in URLs (RFC 6750 2.3, mcp-framework's
// `?api_key=` for EventSource).
const QUERY_CREDENTIALS = ["api_key", "apiKey", "access_token", "token"]

/** Whether a request target's query (`?a=b`, or without the `?`) carries a credential. */
export const credentialInQuery = (query: string | undefined): boolean => {
  if (query === undefined || query.length < 2) return false
  const params = new URLSearchParams(query)
  return QUERY_CREDENTIALS.some((name) => params.has(name))
}

/** Every failure of a check, re-reasoned as a malformed request (`error="invalid_request"`). */
export const asMalformed = (failure: AuthFailure, reason: ReasonCode): AuthFailure => {
  const malformed = (single: SingleFailure) => new MalformedRequest({ ...single, keyLabel: undefined, reason })
  return failure._tag === "NoProviderAccepted"
    ? new NoProviderAccepted({ primary: malformed(failure.primary), failures: failure.failures.map(malformed) })
    : malformed(failure)
}
