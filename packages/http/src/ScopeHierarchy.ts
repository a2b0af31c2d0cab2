/**
 * Scope hierarchies: a broader scope implies narrower ones (`files:write` implies
 * `files:read`, `admin` implies every scope). The MCP specification (2026-07-28,
 * authorization, "Step-Up Authorization Flow") says servers MUST account for them when
 * deciding whether a token is sufficient. This module is the one place that rule lives:
 * endpoint scopes (`requiredScopes`) and tool scopes (`toolScopes`) are both checked with
 * `satisfies`, and SDK v2 tools through `ToolScopes.scopeChallenge`.
 *
 * The option maps a broad scope to the narrower scopes it implies directly, or to `"*"` for
 * every scope. Implication is reflexive and transitive; a cycle (`a` implies `b` implies
 * `a`) is a configuration error, as it says two scopes are one.
 *
 * @example
 * ```ts
 * import { ScopeHierarchy } from "@mcpgate/http"
 *
 * const hierarchy = ScopeHierarchy.unsafeMake({
 *   admin: "*",
 *   "files:write": ["files:read"],
 *   "files:read": ["files:list"]
 * })
 * ScopeHierarchy.satisfies(hierarchy, ["files:write"], "files:list") // true
 * ScopeHierarchy.missing(hierarchy, ["files:read"], ["files:write", "files:list"]) // ["files:write"]
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { decode as decodeOptions } from "@mcpgate/auth-core/Options"
import { isScopeToken } from "@mcpgate/auth-core/Principal"

/**
 * The option as written by users: broad scope → the narrower scopes it implies directly,
 * or `"*"` for every scope.
 *
 * @since 0.1.0
 */
export type Options = Readonly<Record<string, ReadonlyArray<string> | "*">>

/**
 * The decoded hierarchy: what each broad scope implies, directly or through others.
 *
 * @since 0.1.0
 */
export interface ScopeHierarchy {
  /** Broad scope → every narrower scope it implies (itself left out). */
  readonly implied: ReadonlyMap<string, ReadonlySet<string>>
  /** The scopes that imply every scope: `"*"`, or a scope that implies one of those. */
  readonly universal: ReadonlySet<string>
}

/**
 * No hierarchy: a scope implies itself only.
 *
 * @since 0.1.0
 */
export const empty: ScopeHierarchy = { implied: new Map(), universal: new Set() }

const isPlainObject = (value: unknown): value is Readonly<Record<string, unknown>> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

const Input = Schema.declare(isPlainObject, {
  message: () => "scopeHierarchy must be an object of scope → the narrower scopes it implies, " +
    "e.g. { \"files:write\": [\"files:read\"], admin: \"*\" }"
})

const Decoded = Schema.declare(
  (value: unknown): value is ScopeHierarchy => typeof value === "object" && value !== null && "implied" in value,
  { identifier: "ScopeHierarchy" }
)

const NOT_A_SCOPE = "is not a scope: visible ASCII without spaces, quotes or backslashes (RFC 6749 3.3)"

const problemOf = (scope: string, narrower: unknown): string | undefined => {
  if (!isScopeToken(scope)) return `${JSON.stringify(scope)} ${NOT_A_SCOPE}`
  if (narrower === "*") return undefined
  if (!Array.isArray(narrower) || narrower.length === 0) {
    return "must list the narrower scopes it implies, e.g. [\"files:read\"], or be \"*\" for every scope"
  }
  const bad: unknown = narrower.find((s) => typeof s !== "string" || !isScopeToken(s))
  return bad === undefined ? undefined : `${JSON.stringify(bad)} ${NOT_A_SCOPE}`
}

/** The first cycle of direct implications, as the path that closes it, or undefined. */
const cycleOf = (direct: ReadonlyMap<string, ReadonlyArray<string>>): ReadonlyArray<string> | undefined => {
  const done = new Set<string>()
  const path: Array<string> = []
  const visit = (scope: string): ReadonlyArray<string> | undefined => {
    const at = path.indexOf(scope)
    if (at >= 0) return [...path.slice(at), scope]
    if (done.has(scope)) return undefined
    path.push(scope)
    for (const narrower of direct.get(scope) ?? []) {
      const cycle = visit(narrower)
      if (cycle !== undefined) return cycle
    }
    path.pop()
    done.add(scope)
    return undefined
  }
  for (const scope of direct.keys()) {
    const cycle = visit(scope)
    if (cycle !== undefined) return cycle
  }
  return undefined
}

/** Every scope reachable from `scope` through direct implications, `scope` left out. */
const reachable = (direct: ReadonlyMap<string, ReadonlyArray<string>>, scope: string): Set<string> => {
  const seen = new Set<string>()
  const pending = [...(direct.get(scope) ?? [])]
  while (pending.length > 0) {
    const next = pending.pop()!
    if (seen.has(next)) continue
    seen.add(next)
    pending.push(...(direct.get(next) ?? []))
  }
  return seen
}

/**
 * The `scopeHierarchy` option: scope tokens (RFC 6749 3.3) only, each broad scope with at
 * least one narrower scope or `"*"`, and no cycle. Every problem is reported, by scope.
 *
 * @since 0.1.0
 */
export const ScopeHierarchySchema: Schema.Schema<ScopeHierarchy, Options> = Schema.transformOrFail(Input, Decoded, {
  strict: true,
  decode: (input, _, ast) => {
    const issues: Array<ParseResult.ParseIssue> = []
    const direct = new Map<string, ReadonlyArray<string>>()
    const all = new Set<string>()
    // Own keys only, read as data: `__proto__` is a scope name like any other.
    for (const scope of Object.keys(input)) {
      const narrower: unknown = input[scope]
      const problem = problemOf(scope, narrower)
      if (problem !== undefined) issues.push(new ParseResult.Pointer(scope, input, new ParseResult.Type(ast, narrower, problem)))
      else if (narrower === "*") all.add(scope)
      else direct.set(scope, [...new Set(narrower as ReadonlyArray<string>)])
    }
    const cycle = issues.length === 0 ? cycleOf(direct) : undefined
    if (cycle !== undefined) {
      issues.push(new ParseResult.Type(ast, input, `has a cycle (${cycle.join(" → ")}): two scopes that imply each other are one scope`))
    }
    if (issues.length > 0) {
      return ParseResult.fail(new ParseResult.Composite(ast, input, issues as [ParseResult.ParseIssue, ...Array<ParseResult.ParseIssue>]))
    }
    const implied = new Map<string, ReadonlySet<string>>()
    for (const scope of direct.keys()) implied.set(scope, reachable(direct, scope))
    const universal = new Set(all)
    for (const [scope, narrower] of implied) if ([...narrower].some((s) => all.has(s))) universal.add(scope)
    return ParseResult.succeed({ implied, universal })
  },
  encode: (hierarchy) =>
    ParseResult.succeed(Object.fromEntries([
      ...[...hierarchy.implied].map(([scope, narrower]) => [scope, [...narrower]] as const),
      ...[...hierarchy.universal].map((scope) => [scope, "*"] as const)
    ]))
}) as Schema.Schema<ScopeHierarchy, Options>

/**
 * Decodes the option, refusing bad scopes and cycles.
 *
 * @since 0.1.0
 */
export const decode = (options: unknown): Either.Either<ScopeHierarchy, ConfigurationError> =>
  decodeOptions(ScopeHierarchySchema, options, "scopeHierarchy")

/**
 * The hierarchy from options, as an Effect that fails with a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<ScopeHierarchy, ConfigurationError> => decode(options)

/**
 * The hierarchy from options, throwing a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: Options): ScopeHierarchy => Either.getOrThrowWith(decode(options), (error) => error)

/**
 * Whether holding `broad` is enough for `narrow`: the same scope, a scope that implies it,
 * or a scope that implies every scope.
 *
 * @since 0.1.0
 */
export const implies = (hierarchy: ScopeHierarchy, broad: string, narrow: string): boolean =>
  broad === narrow || hierarchy.universal.has(broad) || hierarchy.implied.get(broad)?.has(narrow) === true

/**
 * Whether a caller holding `held` has `required`, directly or through a broader scope.
 *
 * @since 0.1.0
 */
export const satisfies = (hierarchy: ScopeHierarchy, held: ReadonlyArray<string>, required: string): boolean =>
  held.some((scope) => implies(hierarchy, scope, required))

/**
 * The scopes of `required` that a caller holding `held` lacks, in their order.
 *
 * @since 0.1.0
 */
export const missing = (
  hierarchy: ScopeHierarchy,
  held: ReadonlyArray<string>,
  required: ReadonlyArray<string>
): ReadonlyArray<string> => required.filter((scope) => !satisfies(hierarchy, held, scope))

/**
 * The narrower scopes the hierarchy names that are not in `known` (the scopes a server's
 * options require or announce) nor broad scopes of the hierarchy themselves: most likely
 * misspelled, since nothing would ever ask for them.
 *
 * @since 0.1.0
 */
export const unknownScopes = (hierarchy: ScopeHierarchy, known: Iterable<string>): ReadonlyArray<string> => {
  const names = new Set<string>([...known, ...hierarchy.implied.keys(), ...hierarchy.universal])
  const unknown = new Set<string>()
  for (const narrower of hierarchy.implied.values()) for (const scope of narrower) if (!names.has(scope)) unknown.add(scope)
  return [...unknown]
}
