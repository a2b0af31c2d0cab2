/**
 * mcp-framework's serverless names, so that its users change only the import:
 * `authenticateWebRequest(request, authConfig, context, sourceIp?)` resolves to
 * `{ result }` for a caller let in and to `{ response }`, a ready web `Response`, for a
 * refusal; `createIncomingMessageShim(request, sourceIp?)` gives a `Request` the shape its
 * providers read. No `node:*` module: it runs on Workers, Deno, Bun and Lambda alike.
 *
 * Where it is stricter than mcp-framework's:
 * - every refusal is mcpgate's exact answer (docs/behaviour.md#answers): the body in the
 *   shape of every error, `Cache-Control: no-store`, and the provider's challenge
 *   (docs/behaviour.md#challenges) with realm `mcp`, for a missing credential too;
 * - a credential in the URL query (`api_key`, `apiKey`, `access_token`, `token`) is refused
 *   before any provider runs (docs/behaviour.md#order-of-checks, step 1), where
 *   mcp-framework's API-key provider reads `api_key` from the query;
 * - headers are read strictly (docs/behaviour.md#reading-credentials);
 * - failed attempts are limited per `sourceIp` (429, docs/behaviour.md#order-of-checks,
 *   step 4), counted and logged, never with a credential; without an address limiting is
 *   off for that request (once, a warning says so), never one budget shared by everyone;
 * - no `authConfig.provider` rejects with a `ConfigurationError`, where mcp-framework lets
 *   every request in.
 *
 * `authConfig.endpoints` does not apply here, as in mcp-framework: every request needs a
 * credential. The providers may be mcpgate's (`APIKeyAuthProvider`, `JWTAuthProvider`,
 * `AuthProvider.firstOf`, an Effect service) or any of mcp-framework's shape, its own
 * included. A provider's failed-attempt budget is kept across calls for as long as the
 * provider object lives.
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider } from "@mcpgate/auth-core"
 * import { authenticateWebRequest } from "@mcpgate/http"
 *
 * const auth = { provider: new APIKeyAuthProvider({ keys: [process.env.MCP_API_KEY!] }) }
 *
 * export default {
 *   async fetch(request: Request): Promise<Response> {
 *     const outcome = await authenticateWebRequest(request, auth, "request", request.headers.get("cf-connecting-ip") ?? undefined)
 *     if ("response" in outcome) return outcome.response // 401, 429 or 503, byte for byte
 *     return serveMcp(request, outcome.result.principal)
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 */
import * as AuthProvider from "@mcpgate/auth-core/AuthProvider"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { isProviderInput, serviceOf } from "@mcpgate/auth-core/CustomProvider"
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import { createIncomingMessageShim } from "@mcpgate/auth-core/IncomingMessageShim"
import type { AuthResult } from "@mcpgate/auth-core/McpFrameworkAuth"
import { contextDataOf } from "@mcpgate/auth-core/McpFrameworkAuth"
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as ClientAddress from "./ClientAddress.js"
import type * as Gate from "./Gate.js"
import { toResponse } from "./internal/fetchRequest.js"
import * as RequestGate from "./RequestGate.js"

export {
  /**
   * mcp-framework's shim: a `Request` as the `IncomingMessage` its providers read
   * (`headers`, `url`, `method`, `socket.remoteAddress`), a plain object with no `node:*`
   * module behind it; `socket.remoteAddress` is `sourceIp`, undefined when not given.
   *
   * @since 0.1.0
   */
  createIncomingMessageShim
} from "@mcpgate/auth-core/IncomingMessageShim"

/**
 * mcp-framework's `AuthConfig`, taking mcpgate's providers as well as its own shape.
 *
 * @since 0.1.0
 */
export interface WebAuthConfig {
  readonly provider: ProviderInput
  /** Accepted for mcp-framework's sake; it does not apply to a single web request. */
  readonly endpoints?: Readonly<Record<string, boolean | undefined>> | undefined
}

/**
 * What a caller let in resolves to: mcp-framework's `AuthResult` (`data`: a JWT's claims, a
 * custom provider's data, an API key's label and scopes, never the key), and the principal.
 *
 * @since 0.1.0
 */
export interface WebAuthResult extends AuthResult {
  readonly data: Record<string, unknown>
  readonly principal: Principal
}

/**
 * The outcome: `{ result }` to serve the request, `{ response }` to send instead.
 *
 * @since 0.1.0
 */
export type WebAuthOutcome = { readonly result: WebAuthResult } | { readonly response: Response }

interface Gates {
  /** For requests with a client address: the default budget, 20 failures per 60 s. */
  readonly limited: RequestGate.RequestGate
  /** For requests without one: no budget rather than one shared by every caller. */
  readonly unlimited: RequestGate.RequestGate
  warned: boolean
}

// One pair of gates per provider object, made on its first request: a gate per request
// would forget every failed attempt. Weak, so a provider that is dropped takes them along.
const gates = new WeakMap<object, Gates>()

const gatesOf = (provider: ProviderInput): Gates => {
  let found = gates.get(provider)
  if (found === undefined) {
    const service = serviceOf(provider)
    found = {
      limited: RequestGate.unsafeMake(service),
      unlimited: RequestGate.unsafeMake(service, { rateLimit: false }),
      warned: false
    }
    gates.set(provider, found)
  }
  return found
}

const NO_PROVIDER = "authenticateWebRequest needs authConfig.provider: mcpgate lets no request in unauthenticated " +
  "(mcp-framework lets every request in without one). Give { provider: new APIKeyAuthProvider({ keys }) }, say."

/**
 * Authenticates a web-standard request. Resolves to `{ result }` when the caller is let in,
 * or to `{ response }` with the exact refusal (401, 429 with `Retry-After`, or 503 for an
 * unreachable key source). `context` names the request in log lines (mcp-framework passes
 * `"message"` or `"request"`); `sourceIp` is the client address failed attempts are
 * counted against, as the platform reports it (Lambda's `requestContext`, Cloudflare's
 * `CF-Connecting-IP`). Never rejects for anything a request carries; rejects with a
 * `ConfigurationError` when `authConfig` has no provider.
 *
 * @since 0.1.0
 */
export const authenticateWebRequest = async (
  request: Request,
  authConfig: WebAuthConfig | undefined,
  context?: string,
  sourceIp?: string
): Promise<WebAuthOutcome> => {
  const provider: unknown = authConfig?.provider
  if (!isProviderInput(provider)) throw new ConfigurationError({ message: NO_PROVIDER })
  const pair = gatesOf(provider)
  // An address that is no address (empty, a name) would be "unknown", one budget for all.
  const address = typeof sourceIp === "string" && ClientAddress.of(sourceIp, undefined) !== "unknown" ? sourceIp : undefined
  const gate = address === undefined ? pair.unlimited : pair.limited
  if (address === undefined && !pair.warned) {
    pair.warned = true
    await gate.run(Effect.logWarning(
      "authenticateWebRequest called without a client address (sourceIp): failed-attempt limiting is off for such requests"
    ))
  }
  let verdict: Gate.Verdict
  try {
    const shim = createIncomingMessageShim(request, address)
    const checked = gate.gate.checkNow(
      { headers: shim, client: gate.clientOf(address, shim), query: queryOf(request.url), method: request.method, url: request.url },
      true
    )
    verdict = Exit.isExit(checked) && Exit.isSuccess(checked)
      ? checked.value as Gate.Verdict
      : await gate.run(typeof context === "string" ? Effect.annotateLogs(checked, "context", context) : checked)
  } catch {
    // Headers that cannot be read, say: nothing was verified.
    verdict = { _tag: "Anonymous" }
  }
  switch (verdict._tag) {
    case "Authenticated":
      return { result: { data: contextDataOf(verdict.principal), principal: verdict.principal } }
    case "Refused":
      return { response: toResponse(verdict.answer) }
    case "Anonymous":
      return { response: toResponse(HttpAnswer.fromFailure(AuthProvider.unverified(gate.provider), gate.gate.challenge)) }
  }
}

/** The query of a request URL (`?a=b`), where a credential must never be; undefined for none. */
const queryOf = (url: string): string | undefined => {
  const start = url.indexOf("?")
  if (start === -1) return undefined
  const end = url.indexOf("#", start)
  return end === -1 ? url.slice(start) : url.slice(start, end)
}
