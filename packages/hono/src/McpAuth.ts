/**
 * mcpgate as Hono middleware, on every runtime Hono runs on (Workers, Deno, Bun, Node,
 * Vercel, Lambda): the request pipeline of `@mcpgate/http` (docs/behaviour.md#order-of-checks)
 * in front of the routes it is mounted on, with the same answers, byte for byte, as the Node
 * servers. The caller reaches the next handlers as `c.get("auth")`, SDK v2's `AuthInfo`, the
 * value `createMcpHandler(...).fetch(c.req.raw, { authInfo: c.get("auth") })` takes, next to
 * the `parsedBody` that `@modelcontextprotocol/hono`'s app sets. The credential headers are
 * removed from `c.req.raw` unless `exposeToken`. No `node:*` module is imported.
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider } from "@mcpgate/auth-core"
 * import { mcpAuth } from "@mcpgate/hono"
 * import { createMcpHandler } from "@modelcontextprotocol/server"
 * import { Hono } from "hono"
 *
 * const mcp = createMcpHandler(createServer)
 * const app = new Hono()
 * app.use("/mcp", mcpAuth({ provider: new APIKeyAuthProvider({ keys: [API_KEY] }), clientAddressHeader: "CF-Connecting-IP" }))
 * app.all("/mcp", (c) => mcp.fetch(c.req.raw, { authInfo: c.get("auth") }))
 * export default app
 * ```
 *
 * @since 0.1.0
 */
import { withoutScheme } from "@mcpgate/auth-core/Credentials"
import type { ProviderInput } from "@mcpgate/auth-core/CustomProvider"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import { decode } from "@mcpgate/auth-core/Options"
import type { Principal } from "@mcpgate/auth-core/Principal"
import type { AuthInfo } from "@mcpgate/http/AuthInfo"
import { fromPrincipal } from "@mcpgate/http/AuthInfo"
import * as Fetch from "@mcpgate/http/Fetch"
import type { ProtectedResource, RateLimiter, RequestGate } from "@mcpgate/http"
import * as ServerOptions from "@mcpgate/http/ServerOptions"
import * as Either from "effect/Either"
import type * as Logger from "effect/Logger"
import * as Schema from "effect/Schema"
import type { Context, MiddlewareHandler } from "hono"

/**
 * What the middleware sets on the context.
 *
 * @since 0.1.0
 */
export interface McpAuthVariables {
  /** The caller as SDK v2's `AuthInfo`; unset for an anonymous caller (`required: false`). */
  auth: AuthInfo
  /** The caller as mcpgate's `Principal`. */
  principal: Principal
}

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface McpAuthOptions extends ServerOptions.ScopeOptions {
  /** `APIKeyAuthProvider`, `JWTAuthProvider`, `AuthProvider.firstOf(...)`, or a custom provider. */
  readonly provider: ProviderInput
  /** Whether a request without credentials is refused; default `true`. */
  readonly required?: boolean
  /** The client's address: `(request, env, executionCtx)`; e.g. Bun's `server.requestIP`. */
  readonly clientAddress?: (request: Request, env: any, ctx: any) => string | undefined | null
  /** A header the platform sets to the client's address (`CF-Connecting-IP`). */
  readonly clientAddressHeader?: string
  /** A health path answered here, or `false` (default). */
  readonly healthEndpoint?: string | false
  readonly allowedOrigins?: ReadonlyArray<string>
  readonly allowedHosts?: ReadonlyArray<string>
  /** Whether handlers see the raw credential (`auth.token`, and its header); default false. */
  readonly exposeToken?: boolean
  readonly resource?: string
  /** The app as an OAuth protected resource (RFC 9728): metadata served here, challenges name it. */
  readonly protectedResource?: ProtectedResource.Options
  /** The failed-attempt budget; needs a client address. */
  readonly rateLimit?: RateLimiter.Options | RateLimiter.RateLimiter | false
  readonly trustProxy?: ReadonlyArray<string>
  readonly gate?: RequestGate.RequestGate
  readonly logger?: Logger.Logger<unknown, unknown>
  readonly maxHeadersCount?: number
  readonly maxHeaderSize?: number
  readonly onError?: (error: unknown) => void
}

const McpAuthOptionsSchema = Schema.Struct({
  provider: ServerOptions.ProviderInputSchema,
  required: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  healthEndpoint: Schema.optionalWith(ServerOptions.HealthEndpoint, { default: () => false as const }),
  ...Fetch.fetchFields
}).pipe(
  Fetch.withFetchRules
)

/**
 * The request without its credential headers: changed in place where its headers can change,
 * else a copy (Deno, Workers). A body another middleware already read stays read: the copy
 * then carries none, as there is none left to give.
 */
const withoutCredentials = (raw: Request, names: ReadonlyArray<string>): Request => {
  try {
    for (const name of names) raw.headers.delete(name)
    return raw
  } catch {
    const headers = new Headers(raw.headers)
    for (const name of names) headers.delete(name)
    return raw.bodyUsed
      ? new Request(raw.url, { method: raw.method, headers, signal: raw.signal })
      : new Request(raw, { headers })
  }
}

/** Hono's execution context, where the runtime has one (its getter throws elsewhere). */
const executionCtxOf = (c: Context): unknown => {
  try {
    return c.executionCtx
  } catch {
    return undefined
  }
}

/**
 * The middleware. Throws a `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const mcpAuth = (options: McpAuthOptions): MiddlewareHandler<{ Variables: McpAuthVariables }> => {
  const decoded = Either.getOrThrowWith(decode(McpAuthOptionsSchema, options, "mcpAuth"), (error) => error)
  const provider = serviceOf(decoded.provider)
  const settings = Either.getOrThrowWith(Fetch.settingsOf(provider, decoded, options), (error) => error)
  const guarded = Fetch.guard({ settings, required: decoded.required, healthEndpoint: decoded.healthEndpoint })
  const credentialHeaders = provider.headerNames

  return async (c, next) => {
    const raw = c.req.raw
    const guard = await guarded(raw, c.env, executionCtxOf(c))
    if (guard._tag === "Answer") return guard.response
    const { corsHeaders, principal } = guard
    if (principal !== undefined) {
      const token = settings.exposeToken
        ? withoutScheme(raw.headers.get(principal.credentialHeader ?? credentialHeaders[0] ?? "authorization"))
        : undefined
      c.set("auth", fromPrincipal(principal, { token, resource: settings.resource }))
      c.set("principal", principal)
      // What the next handlers (and tools, through the SDK) see carries no credential.
      if (!settings.exposeToken) c.req.raw = withoutCredentials(raw, credentialHeaders)
    }
    await next()
    if (Object.keys(corsHeaders).length === 0) return
    try {
      for (const name in corsHeaders) c.res.headers.set(name, corsHeaders[name]!)
    } catch {
      // A response whose headers cannot change (one from `fetch`): copied, then set.
      const copy = new Response(c.res.body, c.res)
      for (const name in corsHeaders) copy.headers.set(name, corsHeaders[name]!)
      c.res = copy
    }
  }
}
