/**
 * Scopes per tool: a `tools/call` naming a tool of the map is refused with the 403
 * `insufficient_scope` (docs/behaviour.md#answers, RFC 6750 3.1) unless the caller holds
 * every scope that tool requires. Tools left out of the map need no scope.
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
 * Every scope required by the tools that `body` calls without the caller holding all their
 * scopes, each once; empty when the body may pass. `body` is a parsed JSON-RPC message or
 * batch; anything else calls no tool. Every `tools/call` counts, notification or not.
 *
 * @since 0.1.0
 */
export const refusedScopes = (toolScopes: ToolScopes, body: unknown, held: ReadonlyArray<string>): ReadonlyArray<string> => {
  if (toolScopes.size === 0) return []
  const holding = new Set(held)
  const required = new Set<string>()
  for (const message of Array.isArray(body) ? body : [body]) {
    const tool = toolOf(message)
    const scopes = tool === undefined ? undefined : toolScopes.get(tool)
    if (scopes === undefined || scopes.every((scope) => holding.has(scope))) continue
    for (const scope of scopes) required.add(scope)
  }
  return [...required]
}

/**
 * The 403 for a body that calls a tool without its scopes (the challenge lists every scope
 * of the refused tools), or undefined when it may pass. `held` is the caller's
 * `principal.scopes`, or none for an anonymous caller.
 *
 * @since 0.1.0
 */
export const check = (
  toolScopes: ToolScopes,
  body: unknown,
  held: ReadonlyArray<string>,
  options: HttpAnswer.ChallengeOptions = {}
): HttpAnswer.HttpAnswer | undefined => {
  const required = refusedScopes(toolScopes, body, held)
  return required.length === 0
    ? undefined
    : HttpAnswer.insufficientScope(required, { resourceMetadata: options.resourceMetadata })
}
