/**
 * The pipeline in front of any Fetch handler (`withMcpAuth`, `@mcpgate/hono`): the handler
 * serves whatever paths it serves, so every request is routed to one guarded route, except
 * the public paths the guard answers itself (the protected-resource metadata, RFC 9728, and
 * health when asked for). The checks and their order are the pipeline's
 * (docs/behaviour.md#order-of-checks): Origin and Host, the preflight, public routes, the
 * failed-attempt budget and the provider's check; then, for an authenticated caller, the
 * scopes the whole endpoint requires (403 `insufficient_scope`, which spends no budget).
 */
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as Pipeline from "../Pipeline.js"
import * as ToolScopes from "../ToolScopes.js"
import { describe, headTooLarge, isHeadTooLarge, targetOf, toResponse } from "./fetchRequest.js"
import type { FetchSettings } from "./fetchSettings.js"

/** What `guard` is made from. */
export interface GuardSettings {
  readonly settings: FetchSettings
  /** Whether a request without credentials is refused (else it proceeds as anonymous). */
  readonly required: boolean
  /** A health path the guard answers itself, or `false`. */
  readonly healthEndpoint: string | false
  /**
   * Where the guard notes which request each header record it checks was read from, for a
   * provider that needs the request itself (`withMcpAuth`'s `verifyToken`).
   */
  readonly requests?: WeakMap<object, Request> | undefined
}

/** What the guard decided: the response to send now, or the caller to serve. */
export type Guarded =
  | { readonly _tag: "Answer"; readonly response: Response }
  | {
    readonly _tag: "Proceed"
    /** Undefined: anonymous, on a guard whose credentials are optional. */
    readonly principal: Principal | undefined
    /** The client the request counts against. */
    readonly client: string
    /** The CORS headers every answer to this request carries. */
    readonly corsHeaders: Readonly<Record<string, string>>
  }

// Not a path a client can name: every `/` path the handler serves is routed here.
const GUARDED = "/.mcpgate/guarded"

// MCP's methods over HTTP, announced in preflights; others still reach the handler once authenticated.
const MCP_METHODS = ["GET", "POST", "DELETE"]

/** The pipeline in front of a handler; decides synchronously when nothing had to wait. */
export const guard = (options: GuardSettings) => {
  const { settings } = options
  const pipeline = Pipeline.unsafeMake<"guarded">({
    routes: [{
      name: "guarded",
      path: GUARDED,
      methods: MCP_METHODS,
      credentials: options.required ? "required" : "optional",
      anyMethod: true
    }],
    gate: settings.gate,
    cors: settings.cors,
    healthEndpoint: options.healthEndpoint,
    protectedResource: settings.protectedResource
  })
  const publicPaths = new Set<string>(settings.protectedResource?.metadataPaths ?? [])
  if (options.healthEndpoint !== false) publicPaths.add(options.healthEndpoint)
  const credentialHeaders = settings.provider.headerNames
  const limits = { maxHeadersCount: settings.maxHeadersCount, maxHeaderSize: settings.maxHeaderSize }
  const { scopes } = settings

  return (request: Request, env?: unknown, ctx?: unknown): Guarded | Promise<Guarded> => {
    if (isHeadTooLarge(request, limits)) return { _tag: "Answer", response: toResponse(headTooLarge) }
    const target = targetOf(request.url)
    const query = target.indexOf("?")
    const path = query === -1 ? target : target.slice(0, query)
    const settle = (decision: Pipeline.Decision<"guarded">): Guarded => {
      if (decision._tag === "Answer") {
        return { _tag: "Answer", response: toResponse(decision.answer, { method: request.method }) }
      }
      const { client, corsHeaders, principal } = decision
      // `requiredScopes`, with the hierarchy (docs/behaviour.md#endpoint-policy); no body is read here.
      const refusal = principal === undefined ? undefined : ToolScopes.check(scopes, undefined, principal.scopes, pipeline.challenge)
      if (refusal !== undefined) return { _tag: "Answer", response: toResponse(Pipeline.withHeaders(refusal, corsHeaders)) }
      return { _tag: "Proceed", principal, client, corsHeaders }
    }
    const described = describe(request, {
      credentialHeaders,
      remoteAddress: settings.address?.(request, env, ctx),
      target: publicPaths.has(path) ? target : query === -1 ? GUARDED : GUARDED + target.slice(query)
    })
    options.requests?.set(described.headers, request)
    const decision = pipeline.decide(described)
    return decision instanceof Promise ? decision.then(settle) : settle(decision)
  }
}
