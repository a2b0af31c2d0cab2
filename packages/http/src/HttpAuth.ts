/**
 * mcpgate for Effect HTTP apps (`@effect/platform`): a middleware that authenticates every
 * request with the `AuthProvider` in context and runs the app with the caller's
 * `Principal` as `CurrentPrincipal`, or answers with the exact bytes of docs/behaviour.md#answers.
 *
 * Import it from `@mcpgate/http/HttpAuth`; `@effect/platform` is an optional peer.
 *
 * @example
 * ```ts
 * import { ApiKey } from "@mcpgate/auth-core"
 * import * as HttpAuth from "@mcpgate/http/HttpAuth"
 * import { HttpServerResponse } from "@effect/platform"
 * import { Effect } from "effect"
 *
 * const app = Effect.gen(function*() {
 *   const principal = yield* HttpAuth.CurrentPrincipal
 *   return HttpServerResponse.text(`hello ${principal.clientId}`)
 * })
 * const guarded = HttpAuth.authenticate(app) // requires AuthProvider, e.g. ApiKey.layer(...)
 * ```
 *
 * @since 0.1.0
 */
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type { RequestHeaders } from "@mcpgate/auth-core/Credentials"
import { AuthProvider, HttpAnswer } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ClientAddress from "./ClientAddress.js"
import * as Gate from "./Gate.js"

/**
 * The authenticated caller, in the context of a guarded app.
 *
 * @since 0.1.0
 */
export class CurrentPrincipal extends Context.Tag("@mcpgate/http/HttpAuth/CurrentPrincipal")<
  CurrentPrincipal,
  Principal
>() {}

/**
 * Guards an app: it runs only for authenticated requests, with `CurrentPrincipal`. Requests
 * go through the gate (`Gate`): a credential in the URL is refused, a client over its
 * failed-attempt budget gets 429, and refusals are counted and logged, as on every other
 * adapter. The gate of each provider is made once and kept while the provider lives, so
 * the budget holds across requests.
 *
 * @since 0.1.0
 */
export const authenticate = <E, R>(
  app: HttpApp.Default<E, R>
): HttpApp.Default<E, Exclude<R, CurrentPrincipal> | AuthProvider.AuthProvider | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(AuthProvider.AuthProvider, (provider) => guard(gateOf(provider), app))

/**
 * Guards an app with the given provider service instead of the one in context, and the
 * gate's options (`rateLimit`, `trustProxy`, `protectedResource`); throws a
 * `ConfigurationError` for bad ones.
 *
 * @since 0.1.0
 */
export const authenticateWith = (provider: AuthProvider.Service, options: Gate.Options & { readonly trustProxy?: ReadonlyArray<string> } = {}) => {
  const gate = { gate: Gate.unsafeMake(provider, options), proxies: ClientAddress.trustedProxies(options.trustProxy ?? []) }
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, Exclude<R, CurrentPrincipal> | HttpServerRequest.HttpServerRequest> =>
    guard(gate, app)
}

interface PlatformGate {
  readonly gate: Gate.Gate
  readonly proxies: ClientAddress.TrustedProxies
}

// The gate of each provider in context, made on its first request: a gate per request would
// forget every failed attempt. Weak, so a provider that is dropped takes its gate along.
const gates = new WeakMap<AuthProvider.Service, PlatformGate>()
const gateOf = (provider: AuthProvider.Service): PlatformGate => {
  let gate = gates.get(provider)
  if (gate === undefined) {
    gate = { gate: Gate.unsafeMake(provider), proxies: ClientAddress.trustedProxies([]) }
    gates.set(provider, gate)
  }
  return gate
}

const guard = <E, R>(
  { gate, proxies }: PlatformGate,
  app: HttpApp.Default<E, R>
): HttpApp.Default<E, Exclude<R, CurrentPrincipal> | HttpServerRequest.HttpServerRequest> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const verdict = Effect.suspend(() => {
      const client = ClientAddress.of(Option.getOrUndefined(request.remoteAddress), forwardedFor(request), proxies)
      const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : undefined
      // The URL a DPoP proof must name, as the server sees it (docs/behaviour.md#dpop).
      const url = `http://${request.headers["host"] ?? ""}${request.url}`
      return gate.checkNow({ headers: headersOf(request), client, query, method: request.method, url }, true)
    }).pipe(
      // Headers or an address that cannot be read: nothing was verified, so the 401, never a 500.
      Effect.catchAllDefect(() => Effect.succeed<Gate.Verdict>({ _tag: "Refused", answer: unverified(gate) }))
    )
    return Effect.flatMap(verdict, (verdict) =>
      verdict._tag === "Authenticated"
        ? Effect.provideService(app, CurrentPrincipal, verdict.principal)
        : Effect.succeed(toResponse(verdict._tag === "Refused" ? verdict.answer : unverified(gate))))
  })

const unverified = (gate: Gate.Gate): HttpAnswer.HttpAnswer =>
  HttpAnswer.fromFailure(AuthProvider.unverified(gate.provider), gate.challenge)

const forwardedFor = (request: HttpServerRequest.HttpServerRequest): string | undefined => request.headers["x-forwarded-for"]

/**
 * `authenticate` as an `HttpMiddleware`, e.g. for `HttpApp.toWebHandler(app, middleware)`.
 * The middleware type cannot say so, but the guarded app then needs an `AuthProvider`.
 *
 * @since 0.1.0
 */
export const middleware: HttpMiddleware.HttpMiddleware = HttpMiddleware.make((app) => authenticate(app))

/**
 * An `HttpAnswer` as a platform response, byte for byte.
 *
 * @since 0.1.0
 */
export const toResponse = (answer: HttpAnswer.HttpAnswer): HttpServerResponse.HttpServerResponse => {
  // An empty answer (202, a 204 preflight) has no body at all: a text body would add a
  // `text/plain` Content-Type, and a Fetch Response refuses any body with a 204.
  if (answer.body.length === 0) return HttpServerResponse.empty({ status: answer.status, headers: answer.headers })
  const { "content-type": contentType, ...headers } = answer.headers
  return contentType === undefined
    // Raw bytes: the platform adds no Content-Type of its own.
    ? HttpServerResponse.raw(new TextEncoder().encode(answer.body), { status: answer.status, headers })
    : HttpServerResponse.text(answer.body, { status: answer.status, headers, contentType })
}

/**
 * The most faithful view of the headers: the Node request or Fetch `Headers` underneath
 * when there is one, so that repeated credential lines are seen as such.
 */
const headersOf = (request: HttpServerRequest.HttpServerRequest): RequestHeaders => {
  const source = request.source
  if (typeof Request !== "undefined" && source instanceof Request) return source.headers
  if (typeof source === "object" && source !== null && "headersDistinct" in source) return source as RequestHeaders
  return request.headers
}
