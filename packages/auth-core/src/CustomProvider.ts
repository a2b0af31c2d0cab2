/**
 * Providers of mcp-framework's custom shape, so that migrating code keeps working:
 * `authenticate(req)` resolving to `true`, `false` or `{ data }`, and an optional
 * `getAuthError()` naming the refusal's status and message. mcpgate runs them like its own
 * providers: a provider that throws or rejects refuses (never a 500), and the refusal is
 * written in the body shape of every error answer (docs/behaviour.md#answers).
 *
 * @example
 * ```ts
 * import { MCPServer } from "@mcpgate/mcp-sdk"
 *
 * const provider = {
 *   async authenticate(req) {
 *     const user = await lookUpSession(req.headers["x-session"])
 *     return user ? { data: { sub: user.id, scopes: user.scopes } } : false
 *   },
 *   getAuthError: () => ({ status: 401, message: "Session expired" })
 * }
 * new MCPServer({ transport: { type: "http-stream", options: { auth: { provider } } } })
 * ```
 *
 * @since 0.1.0
 */
import * as AuthFailure from "./AuthFailure.js"
import * as AuthProvider from "./AuthProvider.js"
import type { RequestHeaders } from "./Credentials.js"
import { DEFAULT_AUTH_ERROR } from "./McpFrameworkAuth.js"
import * as Principal from "./Principal.js"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type { IncomingMessage } from "node:http"
import { unnamedIdentity } from "./internal/customIdentity.js"

/**
 * mcp-framework's provider interface.
 *
 * @since 0.1.0
 */
export interface CustomProvider {
  authenticate(request: IncomingMessage): Promise<boolean | CustomResult> | boolean | CustomResult
  getAuthError?(): { readonly status: number; readonly message: string }
  /**
   * mcpgate's addition: the request headers that carry the credential. They are allowed in
   * CORS preflights and kept from tools (unless the server exposes tokens); mcpgate cannot
   * know them otherwise.
   */
  readonly headerNames?: ReadonlyArray<string>
}

/**
 * What a custom provider resolves to when it lets the caller in with data about them
 * (mcp-framework's `AuthResult`).
 *
 * @since 0.1.0
 */
export interface CustomResult {
  readonly data?: Record<string, unknown>
}

/**
 * Every provider mcpgate's adapters accept: an `APIKeyAuthProvider` or `JWTAuthProvider`
 * (anything with an Effect `service`), an `AuthProvider` service, or a custom provider.
 *
 * @since 0.1.0
 */
export type ProviderInput = ServiceInput | CustomProvider

/**
 * mcpgate's own providers as adapters accept them: an `AuthProvider` service, or a Promise
 * provider (`APIKeyAuthProvider`, `JWTAuthProvider`) that wraps one.
 *
 * @since 0.1.0
 */
export type ServiceInput = AuthProvider.Service | { readonly service: AuthProvider.Service }

const isService = (value: object): value is AuthProvider.Service =>
  Array.isArray((value as Partial<AuthProvider.Service>).kinds) &&
  Array.isArray((value as Partial<AuthProvider.Service>).headerNames) &&
  typeof (value as Partial<AuthProvider.Service>).authenticate === "function"

/**
 * Whether a value is a provider of any accepted kind.
 *
 * @since 0.1.0
 */
export const isProviderInput = (value: unknown): value is ProviderInput => {
  if (typeof value !== "object" || value === null) return false
  if ("service" in value) return typeof value.service === "object" && value.service !== null && isService(value.service)
  return isService(value) || typeof (value as Partial<CustomProvider>).authenticate === "function"
}

/**
 * Whether a value is one of mcpgate's own providers (`ServiceInput`), custom ones excluded.
 *
 * @since 0.1.0
 */
export const isServiceInput = (value: unknown): value is ServiceInput => {
  if (typeof value !== "object" || value === null) return false
  const service = "service" in value ? value.service : value
  return typeof service === "object" && service !== null && isService(service)
}

/**
 * The Effect service behind any accepted provider.
 *
 * @since 0.1.0
 */
export const serviceOf = (input: ProviderInput): AuthProvider.Service => {
  if ("service" in input) return input.service
  if (isService(input)) return input
  return fromCustom(input)
}

/**
 * A custom provider as an `AuthProvider` service. `true`, or an object (mcp-framework's
 * `{ data }`, without `ok: false`), lets the caller in; anything else refuses, as "no
 * credentials" (an open endpoint lets the request in anonymously); a throw refuses on every
 * endpoint. The principal: `subject` from the data's
 * `sub`, `id`, `userId` or `clientId` (else "custom"); `clientId` from `client_id` or
 * `clientId` (else the subject); scopes from `scope`, `scp` or `scopes`; `expiresAt` from a
 * numeric `exp`; the data itself as `claims`. Two callers are the same identity when their
 * subjects are equal. A caller let in without a subject (`true`, or data without one) is
 * named by a keyed digest of the credential it showed: the provider's `headerNames` (and
 * mcp-framework's `getHeaderName()`), else `Authorization`, `X-API-Key` and `Cookie`. So two
 * keys are two identities, and one cannot drive the other's session; a caller who showed
 * none of those headers is an identity of its own on every request.
 *
 * @since 0.1.0
 */
export const fromCustom = (provider: CustomProvider): AuthProvider.Service => {
  const headerNames = credentialHeadersOf(provider)
  // On the web path the keyed digest is Web Crypto's, and is waited for.
  const identityOf = unnamedIdentity(headerNames.length > 0 ? headerNames : DEFAULT_CREDENTIAL_HEADERS)
  const fields = () => ({
    provider: "custom" as const,
    challenge: { scheme: "Bearer" as const, realm: "mcp", resourceMetadata: undefined },
    refusal: refusalOf(provider)
  })
  // A refusal counts as "no credentials": mcpgate cannot tell a wrong credential from none,
  // and an endpoint left open lets such a request in, as mcp-framework does.
  const refuse = () => new AuthFailure.MissingCredentials({ ...fields(), reason: "custom_refusal" })
  // A provider that throws has not vouched for anyone, on any endpoint.
  const broken = () => new AuthFailure.InvalidCredentials({ ...fields(), reason: "verification_error" })
  return {
    kinds: ["custom"],
    headerNames,
    authenticate: (request) =>
      Effect.flatMap(
        Effect.tryPromise({
          try: async () => provider.authenticate(asNodeRequest(request)),
          catch: broken
        }),
        (verdict): Effect.Effect<Principal.Principal, AuthFailure.SingleFailure> => {
          const data = verdict === true ? {} : isAcceptance(verdict) ? isRecord(verdict.data) ? verdict.data : {} : undefined
          if (data === undefined) return Effect.fail(refuse())
          const named = subjectOf(data)
          if (named !== undefined) return Effect.succeed(principalOf(data, `custom:${named}`))
          const unnamed = identityOf(request)
          return typeof unnamed === "string"
            ? Effect.succeed(principalOf(data, unnamed))
            : Effect.map(Effect.promise(() => unnamed), (identity) => principalOf(data, identity))
        }
      ),
    // Nothing to re-check against: a custom provider has no key set to rotate.
    stillValid: () => Effect.succeed(true),
    changes: Stream.never
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/**
 * An object lets the caller in, as in mcp-framework, except one that says it does not: a
 * JavaScript provider that hands on a rich verdict (`{ ok: false, ... }`) or resolves to
 * an `Error` instead of throwing it must not open the door.
 */
const isAcceptance = (verdict: unknown): verdict is CustomResult =>
  isRecord(verdict) && !(verdict instanceof Error) && (!("ok" in verdict) || verdict["ok"] === true)

/** The provider's `getAuthError()`, kept to a client error status and a one-line message. */
const refusalOf = (provider: CustomProvider): { readonly status: number; readonly message: string } => {
  try {
    const chosen = provider.getAuthError?.()
    if (chosen === undefined) return DEFAULT_AUTH_ERROR
    const status = Number.isInteger(chosen.status) && chosen.status >= 400 && chosen.status <= 499
      ? chosen.status
      : DEFAULT_AUTH_ERROR.status
    const message = typeof chosen.message === "string" && chosen.message.length > 0
      ? chosen.message.replace(/[\r\n]+/g, " ").slice(0, 500)
      : DEFAULT_AUTH_ERROR.message
    return { status, message }
  } catch {
    return DEFAULT_AUTH_ERROR
  }
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.length > 0 ? value : typeof value === "number" ? String(value) : undefined

/** The headers a custom provider reads credentials from, as it declares them. */
const credentialHeadersOf = (provider: CustomProvider): ReadonlyArray<string> => {
  const declared = Array.isArray(provider.headerNames) ? provider.headerNames.filter((name) => typeof name === "string") : []
  let framework: unknown
  try {
    // mcp-framework's `APIKeyAuthProvider` names its header this way.
    framework = (provider as { getHeaderName?: () => unknown }).getHeaderName?.()
  } catch {
    framework = undefined
  }
  return typeof framework === "string" && !declared.some((name) => name.toLowerCase() === framework.toLowerCase())
    ? [...declared, framework]
    : declared
}

// Where credentials usually are, for a provider that declares no headers.
const DEFAULT_CREDENTIAL_HEADERS = ["authorization", "x-api-key", "cookie"]

const subjectOf = (data: Record<string, unknown>): string | undefined =>
  text(data["sub"]) ?? text(data["id"]) ?? text(data["userId"]) ?? text(data["clientId"])

/** The principal of a caller let in, with its identity (`custom:` and its subject, or a keyed digest). */
const principalOf = (data: Record<string, unknown>, identity: string): Principal.Principal => {
  const subject = subjectOf(data) ?? "custom"
  const listed = Array.isArray(data["scopes"])
    ? data["scopes"].filter((scope): scope is string => typeof scope === "string")
    : []
  const exp = data["exp"]
  return {
    provider: "custom",
    subject,
    clientId: text(data["client_id"]) ?? text(data["clientId"]) ?? subject,
    scopes: listed.length > 0 ? listed : Principal.scopesFromClaims(data),
    expiresAt: typeof exp === "number" && Number.isFinite(exp) ? exp : undefined,
    claims: data,
    identity,
    keyId: "custom"
  }
}

/** A custom provider reads `req.headers`; a bare header record is given that shape. */
const asNodeRequest = (request: RequestHeaders): IncomingMessage => {
  const node = request as Partial<IncomingMessage>
  if (isRecord(node.headers) || isRecord(node.headersDistinct)) return request as IncomingMessage
  const headers: Record<string, string> = {}
  if (typeof (request as Headers).forEach === "function" && typeof (request as Headers).get === "function") {
    ;(request as Headers).forEach((value, name) => {
      headers[name] = value
    })
  } else {
    for (const [name, value] of Object.entries(request as Record<string, unknown>)) {
      if (typeof value === "string") headers[name.toLowerCase()] = value
      else if (Array.isArray(value)) headers[name.toLowerCase()] = value.join(", ")
    }
  }
  return { headers } as unknown as IncomingMessage
}
