/**
 * Authentication in front of any Node HTTP handler: plain `node:http`, Express, or
 * Fastify's raw `req`/`res`. A request either yields its `Principal`, with `req.auth` set
 * in the shape of the MCP SDK's `AuthInfo` (what the SDK's Streamable HTTP transports
 * read), or has been answered with the exact bytes of docs/behaviour.md#answers. Failed attempts are limited
 * per client (429), counted and logged, as on the transports.
 *
 * @example
 * ```ts
 * import { JWTAuthProvider } from "@mcpgate/auth-core"
 * import { NodeGuard } from "@mcpgate/node"
 *
 * const guard = NodeGuard.unsafeMake({ provider: new JWTAuthProvider({ secret: process.env.MCP_JWT_SECRET! }) })
 *
 * // node:http
 * http.createServer(async (req, res) => {
 *   const principal = await guard.authenticate(req, res)
 *   if (principal === undefined) return // the 401 (or 503) has been sent
 *   // ... serve the authenticated request
 * })
 *
 * // Express
 * app.use("/mcp", guard.middleware)
 * ```
 *
 * @since 0.1.0
 */
import type { AuthInfo } from "@mcpgate/http/AuthInfo"
import type { Principal } from "@mcpgate/auth-core/Principal"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import type { RateLimiter } from "@mcpgate/http"
import { AuthProvider, HttpAnswer, Options } from "@mcpgate/auth-core"
import type * as Logger from "effect/Logger"
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { CustomProvider } from "@mcpgate/auth-core"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import type { Gate } from "@mcpgate/http"
import { RequestGate } from "@mcpgate/http"
import { authenticate } from "./internal/authenticate.js"
import { authInfoOf } from "./internal/messageExtra.js"
import { DEFAULT_MAX_HEADERS_COUNT, tooManyHeaderLines, writeAnswer } from "./internal/nodeHttp.js"
import { GuardOptions } from "./internal/options.js"
import * as RequestContext from "./RequestContext.js"

/**
 * The options.
 *
 * @since 0.1.0
 */
export interface NodeGuardOptions {
  readonly provider: CustomProvider.ServiceInput
  /** Whether `req.auth.token` carries the raw credential; default false (the empty string). */
  readonly exposeToken?: boolean
  /**
   * Whether what `middleware` calls next may read the caller with mcp-framework's `getRequestContext()`; default
   * false. Off, tools read it with `getPrincipal` or the SDK's
   * `authInfo` alone: on Node 20 and 22 the first `AsyncLocalStorage.run` turns on async
   * hooks for the whole process, which costs some 15% of a request (`bench/RESULTS.md`).
   */
  readonly requestContext?: boolean
  /** The failed-attempt limit (default 20 failures per client per 60 s, in memory), or `false`. */
  readonly rateLimit?: RateLimiter.Options | RateLimiter.RateLimiter | false
  /** Proxies whose `X-Forwarded-For` is believed: addresses, CIDR ranges, `loopback`, ... */
  readonly trustProxy?: ReadonlyArray<string>
  /** Replaces Effect's default logger for the failure log lines. */
  readonly logger?: Logger.Logger<unknown, unknown>
  /** A gate (`NodeHttp.gate`) for the same provider, shared with other endpoints; replaces the options above. */
  readonly gate?: RequestGate.RequestGate
  /**
   * The most header lines a request may carry (default 2,000); one with more, or with as
   * many as the server's parser keeps, is refused with 431 rather than judged on what Node kept.
   */
  readonly maxHeadersCount?: number
}

/**
 * A request that passed the guard.
 *
 * @since 0.1.0
 */
export type AuthenticatedRequest = IncomingMessage & { auth: AuthInfo }

/**
 * The guard.
 *
 * @since 0.1.0
 */
export interface NodeGuard {
  /**
   * Resolves with the principal (and sets `req.auth`), or with undefined once the refusal
   * has been written. Never rejects.
   */
  readonly authenticate: (request: IncomingMessage, response: ServerResponse) => Promise<Principal | undefined>
  /**
   * The same as Connect/Express middleware: `next()` only for authenticated requests, run
   * in their request context (`getRequestContext()`) with `requestContext: true`.
   */
  readonly middleware: (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void
}

/**
 * A guard from options, as an Effect that fails with a `ConfigurationError` on bad ones.
 *
 * @since 0.1.0
 */
export const make = (options: NodeGuardOptions): Effect.Effect<NodeGuard, ConfigurationError> => decode(options)

/**
 * Builds a guard; throws a `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const unsafeMake = (options: NodeGuardOptions): NodeGuard => Either.getOrThrowWith(decode(options), (error) => error)

const decode = (input: NodeGuardOptions): Either.Either<NodeGuard, ConfigurationError> =>
  Either.map(Options.decode(GuardOptions, input, "guard"), (decoded) => {
    const provider = serviceOf(decoded.provider)
    const gate = decoded.gate ?? RequestGate.unsafeMake(provider, decoded)
    const extraOptions = {
      credentialHeaders: provider.headerNames.map((name) => name.toLowerCase()),
      exposeToken: decoded.exposeToken
    }
    const maxHeadersCount = decoded.maxHeadersCount ?? DEFAULT_MAX_HEADERS_COUNT
    /** The caller, or undefined once answered: at once when the gate needed nothing to wait for. */
    const guard = (request: IncomingMessage, response: ServerResponse): Principal | undefined | Promise<Principal | undefined> => {
      try {
        // Judged on a truncated set of lines, a second credential line could go unseen.
        if (tooManyHeaderLines(request, maxHeadersCount)) {
          writeAnswer(response, HttpAnswer.headerFieldsTooLarge)
          return undefined
        }
        const outcome = authenticate(gate, request, true)
        return outcome instanceof Promise
          ? outcome.then((settled) => admit(request, response, settled), () => refuseUnverified(response))
          : admit(request, response, outcome)
      } catch {
        return refuseUnverified(response)
      }
    }
    const admit = (request: IncomingMessage, response: ServerResponse, outcome: Gate.Verdict): Principal | undefined => {
      try {
        if (outcome._tag === "Refused") {
          writeAnswer(response, outcome.answer)
          return undefined
        }
        // Credentials are required here: nothing verified is nothing let in.
        if (outcome._tag === "Anonymous") return refuseUnverified(response)
        ;(request as AuthenticatedRequest).auth = authInfoOf(request, outcome.principal, extraOptions)
        return outcome.principal
      } catch {
        return refuseUnverified(response)
      }
    }
    // Unreachable with mcpgate's providers: a custom one that yields something other than a
    // principal. Nothing was verified, so the request is refused with the 401 (never a 500,
    // never let through, never handed on as an error for the app to answer).
    const refuseUnverified = (response: ServerResponse): undefined => {
      try {
        writeAnswer(response, HttpAnswer.fromFailure(AuthProvider.unverified(provider), gate.gate.challenge))
      } catch {
        response.destroy()
      }
      return undefined
    }
    const proceed = (principal: Principal | undefined, next: (error?: unknown) => void): void => {
      // What runs after, tools included, reads the caller through `getRequestContext()` too.
      if (principal === undefined) return
      if (decoded.requestContext) RequestContext.runAs(principal, next)
      else next()
    }
    return {
      authenticate: async (request, response) => guard(request, response),
      middleware: (request, response, next) => {
        const principal = guard(request, response)
        if (principal instanceof Promise) void principal.then((settled) => proceed(settled, next))
        else proceed(principal, next)
      }
    }
  })
