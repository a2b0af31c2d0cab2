/**
 * A gate as a server runs it: the core `Gate` (failed-attempt limit, then the provider's
 * check), the proxies whose `X-Forwarded-For` is believed, and the Effect runtime its refusals
 * are counted and logged in. One request gate per server, shared by its endpoints, gives a
 * client one budget across them (docs/behaviour.md#order-of-checks, steps 4 and 5).
 *
 * `verdict` answers synchronously whenever the gate can (`Gate.checkNow`): a request let in
 * with an API key or a cached token costs no fiber and no promise.
 *
 * @example
 * ```ts
 * import { RequestGate } from "@mcpgate/http"
 *
 * const gate = RequestGate.unsafeMake(provider, { trustProxy: ["loopback"] })
 * const verdict = await RequestGate.verdict(gate, {
 *   headers: request.headers,
 *   remoteAddress: "192.0.2.1",
 *   query: undefined
 * }, true)
 * ```
 *
 * @since 0.1.0
 */
import type * as AuthProvider from "@mcpgate/auth-core/AuthProvider"
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { RequestHeaders } from "@mcpgate/auth-core/Credentials"
import { headerLines } from "@mcpgate/auth-core/Credentials"
import { Lru } from "@mcpgate/auth-core/Lru"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as Runtime from "effect/Runtime"
import * as ClientAddress from "./ClientAddress.js"
import * as Gate from "./Gate.js"
import type * as RateLimiter from "./RateLimiter.js"

/**
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("@mcpgate/http/RequestGate")

/**
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * What a request gate is made from, beyond the provider.
 *
 * @since 0.1.0
 */
export interface Options {
  /** The failed-attempt limit: options, a limiter shared with another server, or `false` for none. */
  readonly rateLimit?: RateLimiter.Options | RateLimiter.RateLimiter | false | undefined
  /** Proxies whose `X-Forwarded-For` entries are believed (addresses, CIDR ranges, `loopback`...). */
  readonly trustProxy?: ReadonlyArray<string> | undefined
  /**
   * The server as an OAuth protected resource (`ProtectedResource.make`): Bearer challenges
   * name its metadata, and JWTs must name it in `aud`.
   */
  readonly protectedResource?: Gate.ProtectedResource | undefined
  /** The scopes every request needs, named in every Bearer 401 challenge (`Gate.Options`). */
  readonly requiredScopes?: ReadonlyArray<string> | undefined
  /** Replaces Effect's default logger for the gate's log lines. */
  readonly logger?: Logger.Logger<unknown, unknown> | undefined
  /** The runtime the gate runs in (an Effect app's own, with its logger); default Effect's default runtime. */
  readonly runtime?: Runtime.Runtime<never> | undefined
}

/**
 * A request gate.
 *
 * @since 0.1.0
 */
export interface RequestGate {
  readonly [TypeId]: TypeId
  readonly gate: Gate.Gate
  readonly provider: AuthProvider.Service
  readonly proxies: ClientAddress.TrustedProxies
  /** Runs an Effect of the gate in its runtime, with its logger. */
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
  /** The client a request counts against (`ClientAddress.of`), remembered per socket address. */
  readonly clientOf: (remoteAddress: string | undefined, headers: RequestHeaders) => string
}

/**
 * One request as the gate reads it.
 *
 * @since 0.1.0
 */
export interface Request {
  readonly headers: RequestHeaders
  /** The peer's socket address. */
  readonly remoteAddress: string | undefined
  /** The request target's query (`?a=b`), where credentials must never be; undefined for none. */
  readonly query: string | undefined
  /** The method and absolute URL, which a DPoP proof must name (`Gate.Request`). */
  readonly method?: string | undefined
  readonly url?: string | undefined
}

/**
 * Whether a value is a request gate.
 *
 * @since 0.1.0
 */
export const isRequestGate = (value: unknown): value is RequestGate =>
  typeof value === "object" && value !== null && TypeId in value

// Clients whose budget key is remembered, by socket address: parsing an address costs more
// than the rest of a cached check.
const REMEMBERED_ADDRESSES = 4096

/**
 * A request gate for a provider. Throws `ConfigurationError` for bad `rateLimit` or `trustProxy`.
 *
 * @since 0.1.0
 */
export const unsafeMake = (provider: AuthProvider.Service, options: Options = {}): RequestGate => {
  const proxies = ClientAddress.trustedProxies(options.trustProxy ?? [])
  const gate = Gate.unsafeMake(provider, {
    rateLimit: options.rateLimit,
    protectedResource: options.protectedResource,
    requiredScopes: options.requiredScopes
  })
  const runPromise = Runtime.runPromise(options.runtime ?? Runtime.defaultRuntime)
  const logger = options.logger
  const run = logger === undefined
    ? runPromise
    : <A>(effect: Effect.Effect<A>) => runPromise(Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger)))
  // Without trusted proxies the key depends on the socket address alone.
  const keys = proxies.ranges.length === 0 ? new Lru<string, string>(REMEMBERED_ADDRESSES) : undefined
  const clientOf = (remoteAddress: string | undefined, headers: RequestHeaders): string => {
    if (keys === undefined) return ClientAddress.of(remoteAddress, forwardedFor(headers), proxies)
    if (remoteAddress === undefined) return ClientAddress.of(undefined, undefined)
    let key = keys.get(remoteAddress)
    if (key === undefined) {
      key = ClientAddress.of(remoteAddress, undefined)
      keys.set(remoteAddress, key)
    }
    return key
  }
  return { [TypeId]: TypeId, gate, provider, proxies, run, clientOf }
}

/**
 * The same, as an Effect that fails with the `ConfigurationError`.
 *
 * @since 0.1.0
 */
export const make = (provider: AuthProvider.Service, options: Options = {}): Effect.Effect<RequestGate, ConfigurationError> =>
  Effect.try({
    try: () => unsafeMake(provider, options),
    catch: (error) => error instanceof ConfigurationError ? error : new ConfigurationError({ message: String(error) })
  })

const forwardedFor = (headers: RequestHeaders): ReadonlyArray<string> | undefined => {
  try {
    const lines = headerLines(headers, "x-forwarded-for")
    return lines.length === 0 ? undefined : lines
  } catch {
    return undefined
  }
}

/**
 * The gate's verdict on one request: synchronous when nothing needed waiting for, else a
 * promise. With `required` false, a request without any credentials is `Anonymous`, while
 * presented credentials are always checked. Never rejects.
 *
 * @since 0.1.0
 */
export const verdict = (
  requestGate: RequestGate,
  request: Request,
  required: boolean,
  client: string = requestGate.clientOf(request.remoteAddress, request.headers)
): Gate.Verdict | Promise<Gate.Verdict> => {
  const checked = requestGate.gate.checkNow(
    { headers: request.headers, client, query: request.query, method: request.method, url: request.url },
    required
  )
  if (Exit.isExit(checked) && Exit.isSuccess(checked)) return checked.value as Gate.Verdict
  return requestGate.run(checked)
}
