/**
 * What a message handed to the MCP SDK carries besides itself: `authInfo`, and the HTTP
 * request as SDK v1 (`requestInfo`) and SDK v2 (`request`) handlers read it.
 */
import { AuthInfo } from "@mcpgate/http"
import { withoutScheme } from "@mcpgate/auth-core/Credentials"
import type { Principal } from "@mcpgate/auth-core/Principal"
import type { IncomingHttpHeaders, IncomingMessage } from "node:http"

/**
 * Typed with optional fields only, so that the SDKs' own `MessageExtraInfo` (v1 and v2)
 * fits it and an `SseTransport` is assignable to either SDK's `Transport`.
 */
export interface MessageExtra {
  authInfo?: AuthInfo.AuthInfo
  /** What SDK v1 handlers read. */
  requestInfo?: { headers: Record<string, string | Array<string> | undefined>; url?: URL }
  /** What SDK v2 handlers read; built on first read, as most handlers never look. */
  request?: Request
}

export interface ExtraOptions {
  /** Lower-case names of the headers credentials are read from. */
  readonly credentialHeaders: ReadonlyArray<string>
  /** Whether tools may see the raw credential (`AuthInfo.token` and the headers). */
  readonly exposeToken: boolean
  /** The server's resource identifier, when configured. */
  readonly resource?: URL | undefined
}

/** The request's headers; credential headers are left out unless the server exposes tokens. */
export const visibleHeaders = (request: IncomingMessage, options: ExtraOptions): IncomingHttpHeaders => {
  const headers: IncomingHttpHeaders = { ...request.headers }
  if (!options.exposeToken) for (const name of options.credentialHeaders) delete headers[name]
  return headers
}

/**
 * The raw credential that authenticated, its `Bearer` scheme removed: read from the header
 * the principal names, so that with several providers another header's (wrong) value is
 * never the one handed on. A custom provider that names no header gets the first present.
 */
export const rawCredential = (
  request: IncomingMessage,
  principal: Principal,
  options: ExtraOptions
): string | undefined => {
  const names = principal.credentialHeader === undefined ? options.credentialHeaders : [principal.credentialHeader]
  for (const name of names) {
    const value = request.headersDistinct[name]?.[0]
    if (value !== undefined) return withoutScheme(value)
  }
  return undefined
}

export const authInfoOf = (
  request: IncomingMessage,
  principal: Principal,
  options: ExtraOptions
): AuthInfo.AuthInfo =>
  AuthInfo.fromPrincipal(principal, {
    token: options.exposeToken ? rawCredential(request, principal, options) : undefined,
    resource: options.resource
  })

export const messageExtra = (
  request: IncomingMessage,
  url: URL,
  principal: Principal | undefined,
  options: ExtraOptions
): MessageExtra => {
  const headers = visibleHeaders(request, options)
  const method = request.method ?? "POST"
  let built: Request | undefined
  const extra = {
    requestInfo: { headers, url },
    get request(): Request {
      built ??= new Request(url, { method, headers: fetchHeaders(headers) })
      return built
    }
  } as MessageExtra
  if (principal !== undefined) extra.authInfo = authInfoOf(request, principal, options)
  return extra
}

const fetchHeaders = (headers: IncomingHttpHeaders): Headers => {
  const result = new Headers()
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    for (const line of Array.isArray(value) ? value : [value]) {
      try {
        result.append(name, line)
      } catch {
        // A value Fetch refuses stays out of the copy; the SDK only reads it for information.
      }
    }
  }
  return result
}
