/**
 * Scopes per tool: a `tools/call` naming a tool of the map is refused with the 403
 * `insufficient_scope` (docs/behaviour.md#answers, RFC 6750 3.1) unless the caller holds
 * every scope that tool requires. Tools left out of the map need no scope. With a `Policy`
 * (`policyOf`) the same check also holds every request to `requiredScopes`, judges held
 * scopes through a `ScopeHierarchy`, and names every scope the request needs in the refusal
 * (docs/behaviour.md#challenges); `scopeChallenge` gives SDK v2 tools the same decision.
 *
 * Transports check where they parse a request's body (docs/behaviour.md#order-of-checks, step 7): after
 * authentication, session lookup and identity binding. One refused call refuses the whole
 * request, batch included, and nothing of it reaches the MCP server. A refusal is not a
 * failed authentication: it spends no rate-limit budget.
 *
 * @example
 * ```ts
 * import { ToolScopes } from "@mcpgate/http"
 *
 * const toolScopes = ToolScopes.unsafeMake({ deploy: ["deploy:write"], search: ["docs:read"] })
 * const refusal = ToolScopes.check(toolScopes, JSON.parse(body), principal.scopes)
 * if (refusal !== undefined) return res.writeHead(refusal.status, refusal.headers).end(refusal.body)
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import { decode as decodeOptions } from "@mcpgate/auth-core/Options"
import { isScopeToken } from "@mcpgate/auth-core/Principal"
import * as ScopeHierarchy from "./ScopeHierarchy.js"

/**
 * The option as written by users: tool name → the scopes a caller must all hold.
 *
 * @since 0.1.0
 */
export type Options = Readonly<Record<string, ReadonlyArray<string>>>

/**
 * The decoded option: a `Map`, so that no tool name (`__proto__`, `constructor`) is ever
 * looked up on a plain object. Scopes are listed once each.
 *
 * @since 0.1.0
 */
export type ToolScopes = ReadonlyMap<string, ReadonlyArray<string>>


const isPlainObject = (value: unknown): value is Readonly<Record<string, unknown>> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

const Input = Schema.declare(isPlainObject, {
  message: () => "toolScopes must be an object of tool name → scopes, e.g. { deploy: [\"deploy:write\"] }"
})

const Decoded = Schema.declare((value: unknown): value is ToolScopes => value instanceof Map, {
  identifier: "ToolScopes"
})

const problemOf = (scopes: unknown): string | undefined => {
  if (!Array.isArray(scopes)) return "must be a list of scopes, e.g. [\"tools:write\"]"
  if (scopes.length === 0) return "must list at least one scope (leave the tool out to require none)"
  const bad: unknown = scopes.find((scope) => typeof scope !== "string" || !isScopeToken(scope))
  return bad === undefined
    ? undefined
    : `${JSON.stringify(bad)} is not a scope: visible ASCII without spaces, quotes or backslashes (RFC 6749 3.3)`
}

/**
 * The `toolScopes` option: a plain object of non-empty tool names, each with at least one
 * RFC 6749 scope token; decoded to a `Map`. Every problem is reported, by tool name.
 *
 * @since 0.1.0
 */
export const ToolScopesSchema: Schema.Schema<ToolScopes, Options> = Schema.transformOrFail(Input, Decoded, {
  strict: true,
  decode: (input, _, ast) => {
    const issues: Array<ParseResult.ParseIssue> = []
    const toolScopes = new Map<string, ReadonlyArray<string>>()
    // Own keys only, read as data: a `__proto__` key of parsed JSON is a tool name like any other.
    for (const tool of Object.keys(input)) {
      const scopes: unknown = input[tool]
      const problem = tool.length === 0 ? "a tool name must not be empty" : problemOf(scopes)
      if (problem === undefined) toolScopes.set(tool, [...new Set(scopes as ReadonlyArray<string>)])
      else if (tool.length === 0) issues.push(new ParseResult.Type(ast, input, problem))
      else issues.push(new ParseResult.Pointer(tool, input, new ParseResult.Type(ast, scopes, problem)))
    }
    if (issues.length === 0) return ParseResult.succeed(toolScopes)
    return ParseResult.fail(new ParseResult.Composite(ast, input, issues as [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>]))
  },
  encode: (toolScopes) => ParseResult.succeed(Object.fromEntries(toolScopes))
}) as Schema.Schema<ToolScopes, Options>

/**
 * No tool needs a scope.
 *
 * @since 0.1.0
 */
export const empty: ToolScopes = new Map()

/**
 * Decodes the option, refusing bad tool names and scopes.
 *
 * @since 0.1.0
 */
export const decode = (options: unknown): Either.Either<ToolScopes, ConfigurationError> =>
  decodeOptions(ToolScopesSchema, options, "toolScopes")

/**
 * The map from options, as an Effect that fails with a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<ToolScopes, ConfigurationError> => decode(options)

/**
 * The map from options, throwing a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: Options): ToolScopes => Either.getOrThrowWith(decode(options), (error) => error)

/** The tool a message calls, if it is a `tools/call` with a tool name. */
const toolOf = (message: unknown): string | undefined => {
  if (typeof message !== "object" || message === null) return undefined
  const { method, params } = message as { readonly method?: unknown; readonly params?: unknown }
  if (method !== "tools/call" || typeof params !== "object" || params === null) return undefined
  const name = (params as { readonly name?: unknown }).name
  return typeof name === "string" ? name : undefined
}

/**
 * Every scope a server requires: of every request (`required`, the `requiredScopes`
 * option) and per tool (`tools`), judged through one hierarchy (`ScopeHierarchy`).
 *
 * @since 0.1.0
 */
export interface Policy {
  readonly tools: ToolScopes
  /** The scopes every request needs (`requiredScopes`), listed first in a refusal. */
  readonly required: ReadonlyArray<string>
  readonly hierarchy: ScopeHierarchy.ScopeHierarchy
}

/**
 * The policy of decoded options; what is left out requires nothing, and no hierarchy means
 * each scope implies itself only.
 *
 * @since 0.1.0
 */
export const policyOf = (options: {
  readonly toolScopes?: ToolScopes | undefined
  readonly requiredScopes?: ReadonlyArray<string> | undefined
  readonly scopeHierarchy?: ScopeHierarchy.ScopeHierarchy | undefined
}): Policy => ({
  tools: options.toolScopes ?? empty,
  required: options.requiredScopes ?? [],
  hierarchy: options.scopeHierarchy ?? ScopeHierarchy.empty
})

/**
 * Whether a policy asks anything of anyone: without, transports check nothing and leave
 * bodies unread.
 *
 * @since 0.1.0
 */
export const isActive = (policy: Policy): boolean => policy.tools.size > 0 || policy.required.length > 0

/**
 * The scopes `body` needs: `required`, then every scope of every tool of `tools` it calls
 * (a `tools/call`, alone or in a batch, notification or not), each once. `body` is a parsed
 * JSON-RPC message or batch; anything else (undefined: a body not read) calls no tool.
 *
 * @since 0.1.0
 */
export const scopesNeeded = (policy: Policy, body: unknown): ReadonlyArray<string> => {
  if (policy.tools.size === 0) return policy.required
  const needed = new Set(policy.required)
  for (const message of Array.isArray(body) ? body : [body]) {
    const tool = toolOf(message)
    for (const scope of (tool === undefined ? undefined : policy.tools.get(tool)) ?? []) needed.add(scope)
  }
  return [...needed]
}

const asPolicy = (scopes: ToolScopes | Policy): Policy => "tools" in scopes ? scopes : policyOf({ toolScopes: scopes })

/**
 * What a refusal of `body` names: every scope it needs (`scopesNeeded`) when the caller,
 * holding `held`, lacks any of them through the hierarchy; empty when the body may pass.
 * The MCP specification (2026-07-28, "Scope Challenge Handling") asks for every scope of
 * the operation in one challenge, so that a client re-authorizes once, not once per scope.
 *
 * @since 0.1.0
 */
export const refusedScopes = (scopes: ToolScopes | Policy, body: unknown, held: ReadonlyArray<string>): ReadonlyArray<string> => {
  const policy = asPolicy(scopes)
  const needed = scopesNeeded(policy, body)
  return ScopeHierarchy.missing(policy.hierarchy, held, needed).length === 0 ? [] : needed
}

/**
 * The 403 `insufficient_scope` for a body the caller lacks scopes for (the challenge lists
 * every scope the request needs, docs/behaviour.md#challenges), or undefined when it may
 * pass. `scopes` is a policy, or the tool scopes alone; `held` is the caller's
 * `principal.scopes`, or none for an anonymous caller.
 *
 * @since 0.1.0
 */
export const check = (
  scopes: ToolScopes | Policy,
  body: unknown,
  held: ReadonlyArray<string>,
  options: HttpAnswer.ChallengeOptions = {}
): HttpAnswer.HttpAnswer | undefined => {
  const required = refusedScopes(scopes, body, held)
  return required.length === 0
    ? undefined
    : HttpAnswer.insufficientScope(required, { resourceMetadata: options.resourceMetadata })
}

/**
 * The SDK v2 `scopeChallenge` of a tool (`server.registerTool(name, { scopeChallenge }, ...)`)
 * that decides as mcpgate does: with the hierarchy, and naming the policy's `required`
 * scopes with the tool's, as mcpgate's own 403 does. Where mcpgate's `toolScopes` also
 * names the tool, mcpgate answers first and the SDK never sees the call; this is for tools
 * checked by the SDK alone, and for SDK servers served without mcpgate in front. Unlike
 * the SDK's `requireScopes`, which matches scopes exactly, `files:write` passes a tool
 * that needs `files:read` when the hierarchy says so.
 *
 * @since 0.1.0
 */
export const scopeChallenge = (
  scopes: ReadonlyArray<string>,
  policy: Pick<Policy, "hierarchy"> & Partial<Pick<Policy, "required">> = { hierarchy: ScopeHierarchy.empty }
) => {
  const needed = [...new Set([...(policy.required ?? []), ...scopes])]
  // Without `authInfo` the request was not authenticated: the SDK leaves that to its gate.
  return (context: { readonly authInfo?: { readonly scopes: ReadonlyArray<string> } | undefined }) =>
    context.authInfo === undefined || ScopeHierarchy.missing(policy.hierarchy, context.authInfo.scopes, needed).length === 0
      ? undefined
      : { scopes: needed }
}
