/**
 * The one request pipeline every server of mcpgate runs, whatever carries the request
 * (`node:http`, a Fetch handler): a pure function of a web-standard request description to a
 * decision, either the answer to send now or the route to serve with the caller it was
 * authenticated as. The steps, in order (docs/behaviour.md#order-of-checks):
 *
 * 1. `Origin` against the allowed origins, and on a loopback socket `Host` against loopback
 *    names (`CrossOrigin.check`), before anything else is read;
 * 2. the route (404), the preflight (`OPTIONS`), the method (405 with `Allow`);
 * 3. public routes: health and the protected-resource metadata (RFC 9728) are answered here,
 *    other public routes proceed without authentication;
 * 4. and 5. the request gate (`Gate.checkNow`): a credential in the URL, the client's
 *    failed-attempt budget (429), then the provider's check, as the route's policy requires.
 *
 * What follows (sessions, bodies, tool scopes) is the transport's, after `Proceed`.
 *
 * @example
 * ```ts
 * import { Pipeline } from "@mcpgate/http"
 *
 * const pipeline = Pipeline.unsafeMake({
 *   gate, cors, healthEndpoint: "/health", protectedResource: undefined,
 *   routes: [{ name: "mcp", path: "/mcp", methods: ["GET", "POST", "DELETE"], credentials: "required" }]
 * })
 * const decision = await pipeline.decide({
 *   method: "POST", target: "/mcp", headers: request.headers,
 *   remoteAddress: "192.0.2.1", localAddress: "192.0.2.2"
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as AuthProvider from "@mcpgate/auth-core/AuthProvider"
import type { RequestHeaders } from "@mcpgate/auth-core/Credentials"
import { headerLines } from "@mcpgate/auth-core/Credentials"
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as Exit from "effect/Exit"
import * as CrossOrigin from "./CrossOrigin.js"
import type * as Gate from "./Gate.js"
import type * as ProtectedResource from "./ProtectedResource.js"
import type * as RequestGate from "./RequestGate.js"

/**
 * What a route asks of its callers: a credential (`required`), a credential if one is
 * presented (`optional`: none at all passes as anonymous, a wrong one is refused), or
 * nothing (`none`: public, no budget spent or checked).
 *
 * @since 0.1.0
 */
export type Credentials = "required" | "optional" | "none"

/**
 * One route of a server.
 *
 * @since 0.1.0
 */
export interface Route<R extends string> {
  readonly name: R
  readonly path: string
  /** The methods served, `OPTIONS` aside (the preflight is answered for every route). */
  readonly methods: ReadonlyArray<string>
  readonly credentials: Credentials
  /**
   * Whether other methods are the transport's to answer, after authentication (the MCP SDK
   * answers them in its own words); default false: 405 here.
   */
  readonly anyMethod?: boolean | undefined
}

/**
 * A request as the pipeline reads it: nothing of any runtime's own objects.
 *
 * @since 0.1.0
 */
export interface Request {
  readonly method: string
  /** The request target as on the request line: `/path?query` (origin form) or an absolute URL. */
  readonly target: string
  readonly headers: RequestHeaders
  /** The peer's socket address, which the failed-attempt budget is kept for. */
  readonly remoteAddress: string | undefined
  /** The address the request arrived on: on a loopback one, `Host` must be a loopback name. */
  readonly localAddress: string | undefined
  /** The absolute URL as the server sees it, for DPoP's `htu`; default `http://<Host><target>` (docs/behaviour.md#dpop). */
  readonly url?: string | undefined
}

/**
 * Send this answer now (CORS headers included where they apply).
 *
 * @since 0.1.0
 */
export interface Answer {
  readonly _tag: "Answer"
  readonly answer: HttpAnswer.HttpAnswer
}

/**
 * Serve the route, for this caller (undefined: anonymous, or a route without credentials).
 *
 * @since 0.1.0
 */
export interface Proceed<R extends string> {
  readonly _tag: "Proceed"
  readonly route: R
  /** The target's path and query (its authority is never read from the target). */
  readonly url: URL
  readonly principal: Principal | undefined
  /** The client the request counts against (`ClientAddress.of`). */
  readonly client: string
  /** The CORS headers every answer to this request carries. */
  readonly corsHeaders: Readonly<Record<string, string>>
}

/**
 * @since 0.1.0
 */
export type Decision<R extends string> = Answer | Proceed<R>

/**
 * What a pipeline is made from.
 *
 * @since 0.1.0
 */
export interface Options<R extends string> {
  readonly routes: ReadonlyArray<Route<R>>
  readonly gate: RequestGate.RequestGate
  readonly cors: CrossOrigin.CrossOrigin
  /** The public health path, or `false` for none. */
  readonly healthEndpoint: string | false
  /** The protected-resource metadata to serve (RFC 9728), if any. */
  readonly protectedResource: ProtectedResource.ProtectedResource | undefined
}

/**
 * A pipeline.
 *
 * @since 0.1.0
 */
export interface Pipeline<R extends string> {
  readonly gate: RequestGate.RequestGate
  readonly cors: CrossOrigin.CrossOrigin
  /** The challenge options (`resource_metadata`) for answers built after the pipeline. */
  readonly challenge: Gate.Gate["challenge"]
  /** The decision on one request: synchronous unless the gate had to wait. Never rejects. */
  readonly decide: (request: Request) => Decision<R> | Promise<Decision<R>>
}

type Served<R extends string> =
  | { readonly kind: "route"; readonly route: Route<R> }
  | { readonly kind: "answer"; readonly methods: ReadonlyArray<string>; readonly answer: HttpAnswer.HttpAnswer }

// RFC 9110 9.1: a general-purpose server supports HEAD wherever it supports GET.
const READ_METHODS = ["GET", "HEAD"]

/**
 * A pipeline over routes. Throws a `TypeError` when two routes share a path.
 *
 * @since 0.1.0
 */
export const unsafeMake = <R extends string>(options: Options<R>): Pipeline<R> => {
  const { gate, cors } = options
  const paths = new Map<string, Served<R>>()
  const add = (path: string, served: Served<R>) => {
    if (paths.has(path)) throw new TypeError(`two routes of one server share the path ${JSON.stringify(path)}`)
    paths.set(path, served)
  }
  for (const route of options.routes) add(route.path, { kind: "route", route })
  if (options.healthEndpoint !== false) add(options.healthEndpoint, { kind: "answer", methods: READ_METHODS, answer: HttpAnswer.health })
  for (const path of options.protectedResource?.metadataPaths ?? []) {
    add(path, { kind: "answer", methods: READ_METHODS, answer: options.protectedResource!.answer })
  }

  const decide = (request: Request): Decision<R> | Promise<Decision<R>> => {
    // 1. Origin and Host, before anything else.
    const origin = singleLine(request.headers, "origin")
    const refusal = originRefusal(cors, request)
    if (refusal !== undefined) return answer(refusal)
    const corsHeaders = CrossOrigin.responseHeaders(cors, origin)

    // 2. The route, the preflight, the method.
    const url = targetOf(request.target)
    const served = url === undefined ? undefined : paths.get(url.pathname)
    if (served === undefined) return answer(withHeaders(HttpAnswer.notFound, corsHeaders))
    const methods = served.kind === "route" ? served.route.methods : served.methods
    if (request.method === "OPTIONS") return answer(CrossOrigin.preflight(cors, origin, methods))
    if (!methods.includes(request.method) && !(served.kind === "route" && served.route.anyMethod === true)) {
      return answer(withHeaders(HttpAnswer.methodNotAllowed([...methods, "OPTIONS"]), corsHeaders))
    }

    // 3. Public routes.
    if (served.kind === "answer") return answer(withHeaders(served.answer, corsHeaders))
    const route = served.route
    const client = gate.clientOf(request.remoteAddress, request.headers)
    if (route.credentials === "none") return proceed(route.name, url!, undefined, client, corsHeaders)

    // 4 and 5. The request gate, before any body is read.
    const required = route.credentials === "required"
    const target = gate.provider.dpop === undefined ? undefined : request.url ?? hostUrl(request.headers, url!)
    const checked = gate.gate.checkNow({ headers: request.headers, client, query: url!.search, method: request.method, url: target }, required)
    const settle = (verdict: Gate.Verdict): Decision<R> => {
      switch (verdict._tag) {
        case "Authenticated":
          return proceed(route.name, url!, verdict.principal, client, corsHeaders)
        case "Refused":
          return answer(withHeaders(verdict.answer, corsHeaders))
        case "Anonymous":
          // The gate never lets a required credential pass as anonymous; if it did, nothing
          // was verified, and nothing is let in.
          return required
            ? answer(withHeaders(HttpAnswer.fromFailure(AuthProvider.unverified(gate.provider), gate.gate.challenge), corsHeaders))
            : proceed(route.name, url!, undefined, client, corsHeaders)
      }
    }
    // A request let in without waiting is decided now, without a fiber or a promise.
    return Exit.isExit(checked) && Exit.isSuccess(checked) ? settle(checked.value as Gate.Verdict) : gate.run(checked).then(settle)
  }

  return { gate, cors, challenge: gate.gate.challenge, decide }
}

const answer = (reply: HttpAnswer.HttpAnswer): Answer => ({ _tag: "Answer", answer: reply })

const proceed = <R extends string>(
  route: R,
  url: URL,
  principal: Principal | undefined,
  client: string,
  corsHeaders: Readonly<Record<string, string>>
): Proceed<R> => ({ _tag: "Proceed", route, url, principal, client, corsHeaders })

/**
 * The answer with the request's CORS headers added after its own.
 *
 * @since 0.1.0
 */
export const withHeaders = (
  reply: HttpAnswer.HttpAnswer,
  headers: Readonly<Record<string, string>>
): HttpAnswer.HttpAnswer => {
  for (const _ in headers) return { ...reply, headers: { ...reply.headers, ...headers } }
  return reply
}

/**
 * Step 1 alone: the answer to a request whose `Origin` or `Host` the policy refuses, or
 * undefined. For routes served outside a pipeline (a metrics route, say) that must still
 * refuse what a DNS-rebinding page sends. A repeated `Origin` or `Host` is no value anyone
 * can vouch for.
 *
 * @since 0.1.0
 */
export const originRefusal = (
  cors: CrossOrigin.CrossOrigin,
  request: Pick<Request, "headers" | "localAddress">
): HttpAnswer.HttpAnswer | undefined => {
  const origins = linesOf(request.headers, "origin")
  return CrossOrigin.check(cors, {
    origin: origins.length === 0 ? undefined : origins.length === 1 ? origins[0] : "",
    host: singleLine(request.headers, "host"),
    localAddress: request.localAddress
  })
}

/** `http://<Host><path>`: the URL a Node server sees, which a DPoP proof names (docs/behaviour.md#dpop). */
const hostUrl = (headers: RequestHeaders, url: URL): string | undefined =>
  singleLine(headers, "host") === undefined ? undefined : `http://${singleLine(headers, "host")}${url.pathname}`

const singleLine = (headers: RequestHeaders, name: string): string | undefined => {
  const lines = linesOf(headers, name)
  return lines.length === 1 ? lines[0] : undefined
}

/** A header's lines; none when the headers cannot be read (they are judged by the gate). */
const linesOf = (headers: RequestHeaders, name: string): ReadonlyArray<string> => {
  try {
    return headerLines(headers, name)
  } catch {
    return []
  }
}

/**
 * The request target's path and query; undefined when it cannot be parsed. An origin-form
 * target ("/path?query") is read as a path only: resolved against a base, `//host/path` or
 * `/\host/path` would name an authority and leave `/path`, so a request for `//x/messages`
 * would reach the message endpoint. Of an absolute-form target only path and query are used.
 *
 * @since 0.1.0
 */
export const targetOf = (target: string): URL | undefined => {
  try {
    return target.startsWith("/") ? new URL(`http://localhost${target}`) : new URL(target)
  } catch {
    return undefined
  }
}
