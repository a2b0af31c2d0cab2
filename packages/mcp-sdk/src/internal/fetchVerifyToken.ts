/**
 * `mcp-handler`'s `verifyToken(request, bearerToken)` as a provider, so that its users keep
 * their function while mcpgate's rules apply around it: the `Authorization` header is read
 * strictly (docs/behaviour.md#reading-credentials: a repeated or malformed header is
 * `invalid_request` and `verifyToken` never runs), failed attempts spend the budget, and
 * every refusal is the answer of docs/behaviour.md#introspection,
 * `{"error":"Unauthorized",...}` with the Bearer challenge.
 *
 * `verifyToken` resolving an `AuthInfo` lets the caller in (unless its `expiresAt` has
 * passed, as `mcp-handler` checks); `undefined` for a token refuses it (`invalid_token`); a
 * throw or a rejection refuses it too, never a 500. The handler then gets that very
 * `AuthInfo`, as `mcp-handler` hands it on.
 */
import * as AuthFailure from "@mcpgate/auth-core/AuthFailure"
import type * as AuthProvider from "@mcpgate/auth-core/AuthProvider"
import type { RequestHeaders } from "@mcpgate/auth-core/Credentials"
import { readBearer } from "@mcpgate/auth-core/Credentials"
import type { Principal } from "@mcpgate/auth-core/Principal"
import type { AuthInfo } from "@mcpgate/http/AuthInfo"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * `mcp-handler`'s token verifier.
 *
 * @since 0.1.0
 */
export type VerifyToken = (
  request: Request,
  bearerToken?: string
) => AuthInfo | undefined | Promise<AuthInfo | undefined>

const REFUSAL = { status: 401, message: "Unauthorized" } as const

const isAuthInfo = (value: unknown): value is AuthInfo =>
  typeof value === "object" && value !== null && typeof (value as AuthInfo).clientId === "string" &&
  Array.isArray((value as AuthInfo).scopes)

/** The provider, and what it found for each principal it let in. */
export const verifyTokenProvider = (
  verifyToken: VerifyToken,
  /** The request whose headers the pipeline checks (the guard describes each request afresh). */
  requestOf: (headers: RequestHeaders) => Request | undefined,
  /** The `resource_metadata` of this request's challenges, if any. */
  metadataUrlOf: (request: Request) => string | undefined
): { readonly service: AuthProvider.Service; readonly authInfoOf: WeakMap<Principal, AuthInfo> } => {
  const authInfoOf = new WeakMap<Principal, AuthInfo>()
  const authenticate = (headers: RequestHeaders): Effect.Effect<Principal, AuthFailure.AuthFailure> =>
    Effect.suspend(() => {
      const request = requestOf(headers)
      const fields = (reason: AuthFailure.ReasonCode): AuthFailure.FailureFields => ({
        provider: "custom",
        reason,
        refusal: REFUSAL,
        challenge: { scheme: "Bearer", realm: "mcp", resourceMetadata: request === undefined ? undefined : metadataUrlOf(request) }
      })
      const read = readBearer(headers, "authorization", true)
      switch (read._tag) {
        case "Absent":
          return Effect.fail(new AuthFailure.MissingCredentials(fields("missing")))
        case "Malformed":
          return Effect.fail(new AuthFailure.MalformedRequest(fields(read.reason)))
        case "TooLarge":
          return Effect.fail(new AuthFailure.InvalidCredentials(fields("token_too_large")))
      }
      if (request === undefined) return Effect.fail(new AuthFailure.InvalidCredentials(fields("verification_error")))
      const token = read.value
      return Effect.flatMap(
        Effect.tryPromise({
          try: async () => verifyToken(request, token),
          catch: () => new AuthFailure.InvalidCredentials(fields("verification_error"))
        }),
        (authInfo): Effect.Effect<Principal, AuthFailure.AuthFailure> => {
          if (!isAuthInfo(authInfo)) return Effect.fail(new AuthFailure.InvalidCredentials(fields("custom_refusal")))
          if (authInfo.expiresAt !== undefined && authInfo.expiresAt <= Date.now() / 1000) {
            return Effect.fail(new AuthFailure.ExpiredCredentials(fields("expired")))
          }
          const subject = typeof authInfo.extra?.["sub"] === "string" ? authInfo.extra["sub"] : authInfo.clientId
          const principal: Principal = {
            provider: "custom",
            subject,
            clientId: authInfo.clientId,
            scopes: authInfo.scopes.filter((scope) => typeof scope === "string"),
            expiresAt: authInfo.expiresAt,
            identity: `custom:${subject}`,
            keyId: "verifyToken",
            credentialHeader: "authorization"
          }
          authInfoOf.set(principal, authInfo)
          return Effect.succeed(principal)
        }
      )
    })
  return {
    service: {
      kinds: ["custom"],
      headerNames: ["Authorization"],
      authenticate,
      stillValid: (principal) =>
        Effect.sync(() => principal.expiresAt === undefined || principal.expiresAt > Date.now() / 1000),
      changes: Stream.never
    },
    authInfoOf
  }
}
