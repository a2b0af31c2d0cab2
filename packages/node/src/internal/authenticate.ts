/**
 * One authentication step of an adapter: the gate's verdict (failed-attempt limit, then the
 * provider's check) on a Node request, with "no credentials at all" told apart for
 * endpoints where credentials are optional.
 */
import { HttpAnswer } from "@mcpgate/auth-core"
import { ClientAddress, Gate } from "@mcpgate/http"
import type { AuthProvider } from "@mcpgate/auth-core"
import { CustomProvider } from "@mcpgate/auth-core"
import type { RateLimiter } from "@mcpgate/http"
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Runtime from "effect/Runtime"
import type { IncomingMessage } from "node:http"

export type Outcome =
  | { readonly _tag: "Authenticated"; readonly principal: Principal }
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Refused"; readonly answer: HttpAnswer.HttpAnswer }

/** A provider as the Node adapters accept it: the Effect service, or a Promise provider that wraps one. */
export type ProviderInput = CustomProvider.ServiceInput

export const serviceOf: (input: ProviderInput) => AuthProvider.Service = CustomProvider.serviceOf

/** What a gate is built from, beyond the provider. */
export interface RequestGateOptions {
  /** The failed-attempt limit: options, a limiter shared with another adapter, or `false` for none. */
  readonly rateLimit?: RateLimiter.Options | RateLimiter.RateLimiter | false | undefined
  /** Proxies whose `X-Forwarded-For` entries are believed (addresses, CIDR ranges, `loopback`...). */
  readonly trustProxy?: ReadonlyArray<string> | undefined
  /**
   * The server as an OAuth protected resource (`ProtectedResource.make`): Bearer challenges
   * name its metadata, and JWTs must name it in `aud`.
   */
  readonly protectedResource?: Gate.ProtectedResource | undefined
  /** Replaces Effect's default logger for the gate's log lines. */
  readonly logger?: Logger.Logger<unknown, unknown> | undefined
  /** The runtime the gate runs in (an Effect app's own, with its logger); default Effect's default runtime. */
  readonly runtime?: Runtime.Runtime<never> | undefined
}

/** A gate as a Node adapter runs it: the core gate, the trusted proxies, and the runtime. */
export interface RequestGate {
  readonly gate: Gate.Gate
  readonly provider: AuthProvider.Service
  readonly proxies: ClientAddress.TrustedProxies
  readonly run: <A>(effect: Effect.Effect<A>) => Promise<A>
}

/** A gate for a provider; throws `ConfigurationError` for bad `rateLimit` or `trustProxy`. */
export const makeRequestGate = (provider: AuthProvider.Service, options: RequestGateOptions = {}): RequestGate => {
  const proxies = ClientAddress.trustedProxies(options.trustProxy ?? [])
  const gate = Gate.make(provider, { rateLimit: options.rateLimit, protectedResource: options.protectedResource })
  const runPromise = Runtime.runPromise(options.runtime ?? Runtime.defaultRuntime)
  const logger = options.logger
  const run = logger === undefined
    ? runPromise
    : <A>(effect: Effect.Effect<A>) => runPromise(Effect.provide(effect, Logger.replace(Logger.defaultLogger, logger)))
  return { gate, provider, proxies, run }
}

/** The client a request counts against: the socket address, or behind trusted proxies the forwarded one. */
export const clientOf = (gate: RequestGate, request: IncomingMessage): string =>
  ClientAddress.of(request.socket.remoteAddress, request.headers["x-forwarded-for"], gate.proxies)

/**
 * Checks a request. With `required` false, a request that presents no credentials at all
 * passes as anonymous; one that presents credentials still has them checked, so a wrong or
 * another caller's credential is never ignored.
 */
export const authenticate = async (gate: RequestGate, request: IncomingMessage, required: boolean): Promise<Outcome> =>
  gate.run(gate.gate.check({ headers: request, client: clientOf(gate, request), query: queryOf(request.url) }, required))

/** The query of a request target (`/messages?sessionId=...`), where the gate looks for credentials. */
const queryOf = (url: string | undefined): string | undefined => {
  const start = url === undefined ? -1 : url.indexOf("?")
  return start === -1 ? undefined : url!.slice(start)
}
