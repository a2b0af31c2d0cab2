/**
 * Steps 1 and 2 of every request (docs/behaviour.md#order-of-checks), as data: the `Origin`
 * check, the `Host` check that guards a loopback server against DNS rebinding, and the CORS
 * headers of a preflight and of every other answer. Pure, so every adapter answers alike.
 *
 * @example
 * ```ts
 * import { CrossOrigin } from "@mcpgate/http"
 *
 * const cors = CrossOrigin.unsafeMake({ allowedOrigins: ["https://app.example"], credentialHeaders: ["X-API-Key"] })
 * const refusal = CrossOrigin.check(cors, { origin, host, localAddress })
 * if (refusal) return refusal // the 403 of docs/behaviour.md#answers
 * ```
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { HttpAnswer } from "@mcpgate/auth-core/HttpAnswer"
import { originNotAllowed } from "@mcpgate/auth-core/HttpAnswer"
import { ANY_ORIGIN, decode as decodeOptions, HeaderName, HostName, Origin as OriginText } from "@mcpgate/auth-core/Options"

const OptionsSchema = Schema.Struct({
  allowedOrigins: Schema.optional(Schema.Array(OriginText)),
  allowedHosts: Schema.optional(Schema.Array(HostName)),
  credentialHeaders: Schema.optional(Schema.Array(HeaderName))
})

/**
 * The options: `allowedOrigins` are exact origins (`https://app.example.com`), or `"*"`
 * for any; without them no `Origin` is refused and no origin is granted CORS access.
 * `allowedHosts` are the names the server answers to (any port); when set, every `Host`
 * must be one of them, which replaces the loopback rule (for a server behind a local
 * reverse proxy, say).
 * `credentialHeaders` are the extra request headers a browser client may send (a custom
 * API-key header).
 *
 * @since 0.1.0
 */
export type Options = Schema.Schema.Encoded<typeof OptionsSchema>

/**
 * A decoded cross-origin policy.
 *
 * @since 0.1.0
 */
export interface CrossOrigin {
  readonly allowedOrigins: ReadonlySet<string> | undefined
  /** Lower-case host names; undefined: the loopback rule. */
  readonly allowedHosts: ReadonlySet<string> | undefined
  /** The `Access-Control-Allow-Headers` value. */
  readonly allowHeaders: string
}

/** Always allowed, whatever the providers (docs/behaviour.md#order-of-checks, step 2). */
const BASE_HEADERS = ["Content-Type", "Accept", "Authorization", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID"]

/** Readable by browser clients: the session id, and the challenge an OAuth client follows. */
const EXPOSE_HEADERS = "Mcp-Session-Id, WWW-Authenticate"

/**
 * Decodes the policy, refusing unknown keys and anything that is not an origin.
 *
 * @since 0.1.0
 */
export const decode = (options: unknown = {}): Either.Either<CrossOrigin, ConfigurationError> =>
  Either.map(decodeOptions(OptionsSchema, options, "cross-origin"), (decoded) => {
    const headers = [...BASE_HEADERS]
    for (const name of decoded.credentialHeaders ?? []) {
      if (!headers.some((known) => known.toLowerCase() === name.toLowerCase())) headers.push(name)
    }
    return {
      allowedOrigins: decoded.allowedOrigins === undefined ? undefined : new Set(decoded.allowedOrigins),
      allowedHosts: decoded.allowedHosts === undefined
        ? undefined
        : new Set(decoded.allowedHosts.map((host) => host.toLowerCase())),
      allowHeaders: headers.join(", ")
    }
  })

/**
 * The policy from options, as an Effect that fails with a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const make = (options: Options = {}): Effect.Effect<CrossOrigin, ConfigurationError> => decode(options)

/**
 * The policy from options, throwing a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: Options = {}): CrossOrigin => Either.getOrThrowWith(decode(options), (error) => error)

/**
 * What the checks read of a request.
 *
 * @since 0.1.0
 */
export interface RequestFacts {
  readonly origin: string | undefined
  readonly host: string | undefined
  /** The local address of the socket the request came in on. */
  readonly localAddress: string | undefined
}

/**
 * Whether an IP address is a loopback one (127.0.0.0/8, `::1`, or IPv4-mapped loopback).
 *
 * @since 0.1.0
 */
export const isLoopbackAddress = (address: string): boolean =>
  address === "::1" || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address)

/**
 * Whether a `Host` header names a loopback host: `localhost`, a 127.x address or `[::1]`,
 * with an optional port.
 *
 * @since 0.1.0
 */
export const isLoopbackHost = (host: string): boolean => {
  const match = /^(\[::1\]|[^:[\]]+)(:\d{1,5})?$/.exec(host)
  if (match === null) return false
  const name = match[1]!.toLowerCase()
  return name === "localhost" || name === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
}

/** The name of a `Host` header without its port, lower-case; undefined when malformed. */
const hostNameOf = (host: string): string | undefined => {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.exec(host)
  return match === null ? undefined : match[1]!.toLowerCase()
}

/**
 * Whether an `Origin` is the server's own: its scheme is http(s) and its host and port are
 * those the request was sent to (`Host`). Browsers omit default ports from both alike.
 */
const isOwnOrigin = (origin: string, host: string | undefined): boolean => {
  const match = /^https?:\/\/([^/?#]+)$/i.exec(origin)
  return match !== null && host !== undefined && match[1]!.toLowerCase() === host.toLowerCase()
}

/**
 * The 403 for a request refused at step 1 (docs/behaviour.md#order-of-checks), else undefined: an
 * `Origin` that is present and not allowed (with no allowed origins configured, on a
 * loopback socket, any browser origin but the server's own: a page the user visits must not
 * reach a local server, not even to spend its failed-attempt budget with `no-cors`
 * requests); a `Host` not in `allowedHosts` when set; else, on a loopback socket, a `Host`
 * that does not name a loopback host (a DNS-rebinding page reaches the server under its own
 * name).
 *
 * @since 0.1.0
 */
export const check = (policy: CrossOrigin, request: RequestFacts): HttpAnswer | undefined => {
  const onLoopback = request.localAddress !== undefined && isLoopbackAddress(request.localAddress)
  if (request.origin !== undefined) {
    const allowed = policy.allowedOrigins !== undefined
      ? isAllowed(policy.allowedOrigins, request.origin)
      : !onLoopback || isOwnOrigin(request.origin, request.host)
    if (!allowed) return withHeaders(originNotAllowed, varyOf(policy))
  }
  if (policy.allowedHosts !== undefined) {
    const name = request.host === undefined ? undefined : hostNameOf(request.host)
    return name !== undefined && policy.allowedHosts.has(name) ? undefined : withHeaders(originNotAllowed, varyOf(policy))
  }
  if (onLoopback && (request.host === undefined || !isLoopbackHost(request.host))) {
    return withHeaders(originNotAllowed, varyOf(policy))
  }
  return undefined
}

/**
 * The CORS headers of any answer to this origin: the origin is echoed only when allowed.
 *
 * @since 0.1.0
 */
export const responseHeaders = (policy: CrossOrigin, origin: string | undefined): Readonly<Record<string, string>> => {
  if (policy.allowedOrigins === undefined) return {}
  if (origin === undefined || !isAllowed(policy.allowedOrigins, origin)) return VARY
  return { "access-control-allow-origin": origin, "access-control-expose-headers": EXPOSE_HEADERS, ...VARY }
}

/**
 * The 204 answer to an `OPTIONS` preflight, given without authentication.
 *
 * @since 0.1.0
 */
export const preflight = (
  policy: CrossOrigin,
  origin: string | undefined,
  allowMethods: ReadonlyArray<string>
): HttpAnswer => ({
  status: 204,
  headers: {
    ...responseHeaders(policy, origin),
    "access-control-allow-methods": allowMethodsOf(allowMethods),
    "access-control-allow-headers": policy.allowHeaders,
    "access-control-max-age": "600"
  },
  body: ""
})

/**
 * Adds headers to an answer (CORS headers to a refusal, say).
 *
 * @since 0.1.0
 */
export const withHeaders = (answer: HttpAnswer, headers: Readonly<Record<string, string>>): HttpAnswer =>
  Object.keys(headers).length === 0 ? answer : { ...answer, headers: { ...answer.headers, ...headers } }

/** The methods, each once (methods are case-sensitive, RFC 9110 9.1), with `OPTIONS` last unless given. */
const allowMethodsOf = (allowMethods: ReadonlyArray<string>): string =>
  [...new Set([...allowMethods, "OPTIONS"])].join(", ")

const isAllowed = (allowed: ReadonlySet<string>, origin: string): boolean => allowed.has(origin) || allowed.has(ANY_ORIGIN)

const VARY = { vary: "Origin" } as const
const varyOf = (policy: CrossOrigin) => (policy.allowedOrigins === undefined ? {} : VARY)
