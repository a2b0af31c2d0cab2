/**
 * What the gate holds a token to once its provider accepted it, where only the server knows
 * the answer: the token names this protected resource in `aud` (RFC 9728 2, RFC 8707), and a
 * token bound to a key comes with a proof of that key for this request (RFC 9449,
 * docs/behaviour.md#dpop). One place for every adapter, since the gate is the one part that
 * sees the request's method and URL.
 */
import type { AuthFailure } from "@mcpgate/auth-core/AuthFailure"
import { ClaimMismatch } from "@mcpgate/auth-core/AuthFailure"
import type * as AuthProvider from "@mcpgate/auth-core/AuthProvider"
import type { RequestHeaders } from "@mcpgate/auth-core/Credentials"
import type { Principal } from "@mcpgate/auth-core/Principal"
import type * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { addressedTo } from "../ProtectedResource.js"

/** The request as these rules read it. */
export interface Checked {
  readonly headers: RequestHeaders
  readonly method?: string | undefined
  readonly url?: string | undefined
}

/**
 * The rules of a gate: undefined when a principal passes as it is, else the Effect that
 * decides (an `Exit` when nothing needs waiting for).
 */
export const make = (
  provider: AuthProvider.Service,
  protectedResource: { readonly resource: string; readonly metadataUrl: string } | undefined
): (request: Checked, principal: Principal) => Effect.Effect<Principal, AuthFailure> | undefined => {
  const binding = provider.dpop
  // `htu` is compared under the resource's origin when there is one: behind a proxy, the
  // scheme and host the server sees are not those the client addressed (docs/behaviour.md#dpop).
  const origin = protectedResource === undefined ? undefined : originOf(protectedResource.resource)
  const wrongAudience = protectedResource === undefined ? undefined : Exit.fail(
    new ClaimMismatch({
      provider: "jwt",
      reason: "audience_mismatch",
      // Providers do not expose their realm; the default realm names it.
      challenge: {
        ...(binding?.challenge("Bearer") ?? { scheme: "Bearer", realm: "mcp" }),
        resourceMetadata: protectedResource.metadataUrl
      }
    })
  )
  return (request, principal) => {
    if (wrongAudience !== undefined && principal.provider === "jwt" && !addressedTo(principal, protectedResource!.resource)) {
      return wrongAudience
    }
    return binding?.check({ headers: request.headers, method: request.method, url: request.url, origin }, principal)
  }
}

const originOf = (resource: string): string | undefined => {
  try {
    return new URL(resource).origin
  } catch {
    return undefined
  }
}
