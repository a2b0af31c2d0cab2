/**
 * The caller's identity in the MCP SDK's terms. mcpgate hands tools a `Principal` mapped
 * onto the SDK's `AuthInfo` (`token`, `clientId`, `scopes`, `expiresAt`, `resource`,
 * `extra`); tools of SDK v1 read it as `extra.authInfo`, tools of SDK v2 as
 * `ctx.http.authInfo`. `getPrincipal` reads it back from either, typed.
 *
 * @example
 * ```ts
 * import { getPrincipal } from "@mcpgate/mcp-sdk"
 *
 * server.registerTool("whoami", { description: "Who is calling" }, async (extraOrCtx) => {
 *   const caller = getPrincipal(extraOrCtx) // SDK v1 `extra` or SDK v2 `ctx`
 *   return { content: [{ type: "text", text: caller?.clientId ?? "anonymous" }] }
 * })
 * ```
 *
 * @since 0.1.0
 */
import { AuthInfo } from "@mcpgate/http"
import type { Principal } from "@mcpgate/auth-core/Principal"

/**
 * The SDK's `AuthInfo`, declared structurally: the same shape in SDK v1 and v2.
 *
 * @since 0.1.0
 */
export type McpAuthInfo = AuthInfo.AuthInfo

/**
 * What a tool learns of its caller: the principal without the internals of the check.
 *
 * @since 0.1.0
 */
export type Caller = Omit<Principal, "keyId" | "credentialHeader">

/**
 * Maps a principal onto the SDK's `AuthInfo`. `token` stays the empty string unless the
 * server chose to expose the raw credential; `resource` is the server's own resource
 * identifier (RFC 8707), when configured.
 *
 * @since 0.1.0
 */
export const fromPrincipal: (
  principal: Principal,
  options?: { readonly token?: string | undefined; readonly resource?: URL | undefined }
) => McpAuthInfo = AuthInfo.fromPrincipal

const PROVIDERS: ReadonlySet<string> = new Set<Principal["provider"]>(["api-key", "jwt", "custom"])

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

/**
 * The caller described by an `AuthInfo` that mcpgate built; undefined for any other
 * (an anonymous request, or an `AuthInfo` from another verifier).
 *
 * @since 0.1.0
 */
export const toCaller = (authInfo: unknown): Caller | undefined => {
  if (!isRecord(authInfo) || !isRecord(authInfo["extra"])) return undefined
  const { clientId, expiresAt, scopes } = authInfo
  const { claims, identity, keyLabel, provider, subject } = authInfo["extra"]
  if (
    typeof provider !== "string" || !PROVIDERS.has(provider) || typeof subject !== "string" ||
    typeof identity !== "string" || typeof clientId !== "string" || !Array.isArray(scopes)
  ) return undefined
  const caller: {
    -readonly [K in keyof Caller]: Caller[K]
  } = {
    provider: provider as Principal["provider"],
    subject,
    clientId,
    identity,
    scopes: scopes.filter((scope): scope is string => typeof scope === "string")
  }
  if (typeof expiresAt === "number") caller.expiresAt = expiresAt
  if (typeof keyLabel === "string") caller.keyLabel = keyLabel
  if (isRecord(claims)) caller.claims = claims
  return caller
}

/**
 * The caller of a tool, from what the SDK hands the tool's handler: SDK v1's `extra`
 * (`extra.authInfo`) or SDK v2's `ctx` (`ctx.http.authInfo`). Undefined when the request
 * was anonymous (an open endpoint) or not authenticated by mcpgate.
 *
 * @since 0.1.0
 */
export const getPrincipal = (extraOrCtx: unknown): Caller | undefined => {
  if (!isRecord(extraOrCtx)) return undefined
  const http = extraOrCtx["http"]
  return toCaller(isRecord(http) && http["authInfo"] !== undefined ? http["authInfo"] : extraOrCtx["authInfo"])
}
