/**
 * mcp-framework's provider contract, so that code written for it takes mcpgate's providers
 * unchanged: `authenticate(req)` resolves to something truthy to let a request in (`true`,
 * or `{ data }` with what is known of the caller) and to `false` to refuse it;
 * `getAuthError()` names the refusal. Code written to this interface (mcp-framework's own
 * transports among it) reads any truthy value as success, so a refusal must be `false`,
 * never an object (see `docs/design.md`, "Two faces of a provider").
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider } from "@mcpgate/auth-core"
 * import { MCPServer } from "mcp-framework"
 *
 * // mcp-framework's own server, with mcpgate's provider: a wrong key is refused.
 * const server = new MCPServer({
 *   transport: { type: "http-stream", options: { auth: { provider: new APIKeyAuthProvider({ keys }) } } }
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { IncomingMessage } from "node:http"
import { Messages } from "./HttpAnswer.js"
import type { Principal } from "./Principal.js"

/**
 * What a provider resolves to when it lets the caller in with data about them: the JWT's
 * claims, say. mcp-framework hands `data` to tools through its request context.
 *
 * @since 0.1.0
 */
export interface AuthResult {
  data?: Record<string, unknown>
}

/**
 * mcp-framework's provider interface.
 *
 * @since 0.1.0
 */
export interface AuthProvider {
  /** Truthy lets the request in; `false` refuses it. */
  authenticate(req: IncomingMessage): Promise<boolean | AuthResult>
  /** The refusal's status and message, sent as `{"error":message,"status":status,"type":"authentication_error"}`. */
  getAuthError?(): { status: number; message: string; headers?: Record<string, string> }
}

/**
 * mcp-framework's `auth` option: the provider, and which SSE endpoints require it.
 *
 * @since 0.1.0
 */
export interface AuthConfig {
  provider: AuthProvider
  endpoints?: {
    /** The SSE stream (`GET`); default false. */
    sse?: boolean
    /** The messages (`POST`); default true. */
    messages?: boolean
    /** Streamable HTTP's initialize request; mcpgate authenticates it always. */
    initialize?: boolean
    /** mcp-framework's OAuth endpoints; the protected-resource metadata is public either way. */
    oauth?: boolean
  }
}

/**
 * The refusal of a provider that names none: mcp-framework's default, and that of
 * `OAuthAuthProvider`.
 *
 * @since 0.1.0
 */
export const DEFAULT_AUTH_ERROR: { readonly status: 401; readonly message: string } = Object.freeze({
  status: 401,
  message: Messages.unauthorized
})

/**
 * What `authenticate` resolves to for an accepted principal, as mcp-framework's provider of
 * the same kind does: `true` for an API key, `{ data: <claims> }` otherwise. `data` is a
 * copy, so code that adds to it cannot change what the next request sees.
 *
 * @since 0.1.0
 */
export const acceptanceOf = (principal: Principal): true | AuthResult =>
  principal.provider === "api-key" ? true : { data: { ...principal.claims } }

/**
 * What tools find in the request context for a principal: the claims of a JWT or of a
 * custom provider's `data`, the label and scopes of an API key (never the key). A fresh
 * object for each request.
 *
 * @since 0.1.0
 */
export const contextDataOf = (principal: Principal): Record<string, unknown> =>
  principal.provider === "api-key"
    ? principal.keyLabel === undefined
      ? { scopes: [...principal.scopes] }
      : { label: principal.keyLabel, scopes: [...principal.scopes] }
    : { ...principal.claims }
