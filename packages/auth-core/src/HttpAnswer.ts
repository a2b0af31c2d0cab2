/**
 * The exact HTTP answers of docs/behaviour.md#answers, as data: status, lower-case headers, body.
 *
 * This module is the one place that holds each body string and challenge; adapters only
 * copy an `HttpAnswer` onto the wire.
 *
 * @example
 * ```ts
 * import { HttpAnswer } from "@mcpgate/auth-core"
 *
 * const answer = HttpAnswer.fromFailure(failure)
 * res.writeHead(answer.status, answer.headers).end(answer.body)
 * ```
 *
 * @since 0.1.0
 */
import type { AuthFailure, SingleFailure } from "./AuthFailure.js"
import { failuresOf, primaryOf } from "./AuthFailure.js"
import * as Challenges from "./internal/challenges.js"

/**
 * An HTTP answer: header names are lower-case, the body is the exact UTF-8 text.
 *
 * @since 0.1.0
 */
export interface HttpAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

/**
 * The `type` of an error body.
 *
 * @since 0.1.0
 */
export type ErrorType =
  | "authentication_error"
  | "authorization_error"
  | "rate_limit_error"
  | "not_found_error"
  | "invalid_request_error"
  | "api_error"

/**
 * The body of every error answer: `{ error, status, type }` in that key order.
 *
 * @since 0.1.0
 */
export const errorBody = (error: string, status: number, type: ErrorType): string =>
  JSON.stringify({ error, status, type })

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" } as const

/**
 * An error answer with the headers every error carries (docs/behaviour.md#answers).
 *
 * @since 0.1.0
 */
export const error = (
  status: number,
  message: string,
  type: ErrorType,
  headers: Readonly<Record<string, string>> = {}
): HttpAnswer => ({
  status,
  headers: { ...JSON_HEADERS, ...headers },
  body: errorBody(message, status, type)
})

/**
 * The error strings of docs/behaviour.md#answers, each in one place.
 *
 * @since 0.1.0
 */
export const Messages = {
  apiKey: "Invalid API key",
  jwt: "Invalid or expired JWT token",
  // mcp-framework's default `getAuthError()` message, for custom providers.
  unauthorized: "Unauthorized",
  rateLimited: "Too many failed authentication attempts",
  sessionForbidden: "Session belongs to another identity",
  insufficientScope: "Insufficient scope",
  originNotAllowed: "Origin not allowed",
  sessionNotFound: "Session not found",
  payloadTooLarge: "Payload too large",
  invalidJsonRpc: "Invalid JSON-RPC message",
  unavailable: "Authentication unavailable",
  notFound: "Not found",
  methodNotAllowed: "Method not allowed",
  unsupportedMediaType: "Unsupported media type",
  tooManySessions: "Too many open sessions",
  headerFieldsTooLarge: "Request header fields too large"
} as const

/**
 * Escapes a value for an HTTP quoted-string (RFC 9110 5.6.4).
 *
 * @since 0.1.0
 */
export const quote: (value: string) => string = Challenges.quote

/**
 * The `WWW-Authenticate` challenge for one provider's failure (docs/behaviour.md#challenges).
 *
 * @since 0.1.0
 */
export const challengeOf = (failure: SingleFailure, options: ChallengeOptions = {}): string => {
  const params = failure.challenge
  if (params.scheme === "ApiKey") return `ApiKey realm=${quote(params.realm)}, header=${quote(params.headerName)}`
  return Challenges.tokenChallenge(
    { ...params, resourceMetadata: params.resourceMetadata ?? options.resourceMetadata },
    failure,
    options.scope
  )
}

/**
 * What a server adds to every Bearer challenge it sends.
 *
 * @since 0.1.0
 */
export interface ChallengeOptions {
  /**
   * The URL of the server's protected-resource metadata (RFC 9728), sent as
   * `resource_metadata` in Bearer challenges that do not name one already.
   */
  readonly resourceMetadata?: string | undefined
  /** The scopes a token needs, sent as `scope` in Bearer challenges (never `offline_access`). */
  readonly scope?: ReadonlyArray<string> | undefined
}

/**
 * The answer to a failed authentication: 401 with the provider's body and challenges, or
 * 503 when the key source was unreachable. With several providers, every challenge is
 * listed (comma-separated, RFC 9110 11.6.1).
 *
 * @since 0.1.0
 */
export const fromFailure = (failure: AuthFailure, options: ChallengeOptions = {}): HttpAnswer => {
  const primary = primaryOf(failure)
  if (primary._tag === "KeySourceUnavailable") return unavailable
  const challenges = failuresOf(failure).map((single) => challengeOf(single, options)).join(", ")
  if (primary.provider === "custom") {
    // The refusal a migrated mcp-framework provider chose, in the body shape of every error.
    const { message, status } = primary.refusal ?? { status: 401, message: Messages.unauthorized }
    return error(status, message, "authentication_error", { "www-authenticate": challenges })
  }
  // `OAuthAuthProvider` answers with mcp-framework's body for it, `Unauthorized`.
  const message = primary.provider === "jwt" ? Messages.jwt : primary.provider === "oauth" ? Messages.unauthorized : Messages.apiKey
  return error(401, message, "authentication_error", { "www-authenticate": challenges })
}

/** Whole seconds, at least 1, for `Retry-After` (RFC 9110 10.2.3): a bad figure (NaN, Infinity) is 1. */
const retryAfter = (seconds: number): string => String(Number.isFinite(seconds) ? Math.max(1, Math.ceil(seconds)) : 1)

/**
 * 429 for a client over its failed-attempt budget; `retryAfterSeconds` is rounded up to
 * whole seconds, at least 1.
 *
 * @since 0.1.0
 */
export const tooManyAttempts = (retryAfterSeconds: number): HttpAnswer =>
  error(429, Messages.rateLimited, "rate_limit_error", { "retry-after": retryAfter(retryAfterSeconds) })

/**
 * 429 for a client or an identity that holds as many open sessions (SSE streams, Streamable
 * HTTP sessions) as it may, with `Retry-After`. A body of its own: the failed-attempt one
 * would tell a client that its credential is being refused.
 *
 * @since 0.1.0
 */
export const tooManySessions = (retryAfterSeconds: number): HttpAnswer =>
  error(429, Messages.tooManySessions, "rate_limit_error", { "retry-after": retryAfter(retryAfterSeconds) })

/**
 * 503 for a server that holds as many open sessions as it may, whoever asks, with
 * `Retry-After`: the same words as the 429, as the server's own limit.
 *
 * @since 0.1.0
 */
export const sessionsUnavailable = (retryAfterSeconds: number): HttpAnswer =>
  error(503, Messages.tooManySessions, "api_error", { "retry-after": retryAfter(retryAfterSeconds) })

/**
 * 431 for a request with more header lines than the server reads (RFC 6585 5): judged on a
 * truncated set, a repeated credential header could go unseen.
 *
 * @since 0.1.0
 */
export const headerFieldsTooLarge: HttpAnswer = error(431, Messages.headerFieldsTooLarge, "invalid_request_error")

/**
 * 403 for an authenticated caller whose session belongs to another identity.
 *
 * @since 0.1.0
 */
export const sessionForbidden: HttpAnswer = error(403, Messages.sessionForbidden, "authorization_error")

/**
 * 403 for an authenticated caller without the scopes a tool requires; the challenge lists
 * every required scope (RFC 6750 3.1).
 *
 * @since 0.1.0
 */
export const insufficientScope = (
  requiredScopes: ReadonlyArray<string>,
  options: { readonly realm?: string; readonly resourceMetadata?: string | undefined } = {}
): HttpAnswer =>
  error(403, Messages.insufficientScope, "authorization_error", {
    "www-authenticate": Challenges.bearerChallenge(
      { scheme: "Bearer", realm: options.realm ?? "mcp", resourceMetadata: options.resourceMetadata },
      "insufficient_scope",
      requiredScopes
    )
  })

/**
 * 403 for an `Origin` that is not allowed, or a `Host` that is not loopback while bound to it.
 *
 * @since 0.1.0
 */
export const originNotAllowed: HttpAnswer = error(403, Messages.originNotAllowed, "authorization_error")

/**
 * 404 for an unknown or missing SSE session id (after authentication).
 *
 * @since 0.1.0
 */
export const sessionNotFound: HttpAnswer = error(404, Messages.sessionNotFound, "not_found_error")

/**
 * 413 for a body over the size cap.
 *
 * @since 0.1.0
 */
export const payloadTooLarge: HttpAnswer = error(413, Messages.payloadTooLarge, "invalid_request_error")

/**
 * 400 for a body that is not JSON or not JSON-RPC.
 *
 * @since 0.1.0
 */
export const invalidJsonRpc: HttpAnswer = error(400, Messages.invalidJsonRpc, "invalid_request_error")

/**
 * 503 when a key source (a remote JWKS, a shared store chosen fail-closed) is unreachable.
 *
 * @since 0.1.0
 */
export const unavailable: HttpAnswer = error(503, Messages.unavailable, "api_error")

/**
 * 404 for a path that is not served (answered before authentication).
 *
 * @since 0.1.0
 */
export const notFound: HttpAnswer = error(404, Messages.notFound, "not_found_error")

/**
 * 405 for a method not allowed on a served path, with `Allow`.
 *
 * @since 0.1.0
 */
export const methodNotAllowed = (allow: ReadonlyArray<string>): HttpAnswer =>
  error(405, Messages.methodNotAllowed, "invalid_request_error", { allow: allow.join(", ") })

/**
 * 415 for a `POST` whose `Content-Type` is not `application/json`.
 *
 * @since 0.1.0
 */
export const unsupportedMediaType: HttpAnswer = error(415, Messages.unsupportedMediaType, "invalid_request_error")

/**
 * 202 for a message accepted on the legacy SSE transport; the reply goes on the stream.
 *
 * @since 0.1.0
 */
export const accepted: HttpAnswer = { status: 202, headers: {}, body: "" }

/**
 * 200 for the public `GET /health`.
 *
 * @since 0.1.0
 */
export const health: HttpAnswer = {
  status: 200,
  headers: JSON_HEADERS,
  body: JSON.stringify({ ok: true })
}
