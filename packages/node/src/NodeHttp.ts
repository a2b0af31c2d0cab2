/**
 * The pieces every `node:http` adapter of mcpgate is built from, public so that other
 * adapters (Streamable HTTP in `@mcpgate/mcp-sdk`, say) answer byte for byte alike: a gate
 * (failed-attempt limit, then authentication, with "no credentials" told apart), writing an
 * `HttpAnswer`, and reading the request target and single-line headers safely.
 *
 * @example
 * ```ts
 * import { NodeHttp } from "@mcpgate/node"
 *
 * const gate = NodeHttp.gate(provider, { trustProxy: ["loopback"] })
 * const outcome = await NodeHttp.authenticate(gate, req, true)
 * if (outcome._tag === "Refused") return NodeHttp.writeAnswer(res, outcome.answer, corsHeaders)
 * ```
 *
 * @since 0.1.0
 */
import type { AuthProvider, CustomProvider } from "@mcpgate/auth-core"
import type { Gate } from "@mcpgate/http"
import { RequestGate } from "@mcpgate/http"

export {
  /**
   * Checks a request through a gate: 429 for a client over its failed-attempt budget, then
   * the provider's check. With `required` false, a request without any credentials is
   * `Anonymous`, while presented credentials are always checked. The verdict comes at once
   * when the gate needed nothing to wait for, else as a promise; never rejects.
   *
   * @since 0.1.0
   */
  authenticate,
  /**
   * The client a request counts against: its socket address (IPv6 by /64), or behind
   * trusted proxies the rightmost untrusted `X-Forwarded-For` entry.
   *
   * @since 0.1.0
   */
  clientOf
} from "./internal/authenticate.js"

/**
 * A gate for a provider (`RequestGate.unsafeMake`): its failed-attempt limiter, trusted
 * proxies, protected resource and logger. Share one between the endpoints of one server so
 * they share one budget. Throws a `ConfigurationError` for bad options.
 *
 * @since 0.1.0
 */
export const gate: (provider: AuthProvider.Service, options?: RequestGate.Options) => RequestGate.RequestGate =
  RequestGate.unsafeMake

/**
 * A gate as servers run it.
 *
 * @since 0.1.0
 */
export type RequestGate = RequestGate.RequestGate

/**
 * The options of `gate`.
 *
 * @since 0.1.0
 */
export type RequestGateOptions = RequestGate.Options

/**
 * What one authentication step found: the gate's verdict.
 *
 * @since 0.1.0
 */
export type Verdict = Gate.Verdict

/**
 * A provider as the Node adapters accept it: the Effect service, or a Promise provider wrapping one.
 *
 * @since 0.1.0
 */
export type ProviderInput = CustomProvider.ServiceInput

export {
  /**
   * The Effect service of a provider input.
   *
   * @since 0.1.0
   */
  serviceOf
} from "@mcpgate/auth-core/CustomProvider"
export {
  /**
   * A `node:http` server as mcpgate's adapters listen on: short header and request timeouts
   * (`SERVER_TIMEOUTS`), and one header line read beyond `maxHeadersCount`, so that
   * `tooManyHeaderLines` sees a request that carries more.
   *
   * @since 0.1.0
   */
  createServer,
  /**
   * A Node request as the pipeline reads it (`Pipeline.Request`).
   *
   * @since 0.1.0
   */
  describe,
  /**
   * Listens on a port and host and answers the server's URL (an IPv6 address in brackets).
   *
   * @since 0.1.0
   */
  listenOn,
  /**
   * The header-line limit when none is configured: 2,000, Node's documented figure.
   *
   * @since 0.1.0
   */
  DEFAULT_MAX_HEADERS_COUNT,
  /**
   * The timeouts `createServer` sets: 10 s for the request head, 60 s for a whole request
   * (which open `GET` streams outlive), 5 s for an idle kept-alive connection.
   *
   * @since 0.1.0
   */
  SERVER_TIMEOUTS,
  /**
   * Whether a request carries more than `maxHeadersCount` header lines, or may have had some
   * dropped by its server's parser: such a request is answered 431 before anything reads
   * its headers, as a second credential line could hide behind the lines Node dropped.
   *
   * @since 0.1.0
   */
  tooManyHeaderLines,
  /**
   * The full URL a client addressed, for the request information handed to tools.
   *
   * @since 0.1.0
   */
  fullUrlOf,
  /**
   * One header's value; undefined when absent or sent on several lines.
   *
   * @since 0.1.0
   */
  singleHeader,
  /**
   * The request target's path and query, never read as an authority (`//host/path`).
   *
   * @since 0.1.0
   */
  targetOf,
  /**
   * Writes an `HttpAnswer` with an exact `Content-Length`, plus extra (CORS) headers.
   *
   * @since 0.1.0
   */
  writeAnswer
} from "./internal/nodeHttp.js"
export {
  /**
   * A body's bytes, stopping as soon as they pass a cap (the rest left unread); undefined
   * when the client leaves first.
   *
   * @since 0.1.0
   */
  readBytes,
  /**
   * What `readBytes` read.
   *
   * @since 0.1.0
   */
  type BytesRead
} from "./internal/body.js"
export {
  /**
   * The Schema fields of the gate options (`rateLimit`, `trustProxy`, `logger`, `gate`), for
   * adapters that decode their options with `effect/Schema` (`ServerOptions.gateFields`).
   *
   * @since 0.1.0
   */
  gateFields,
  /**
   * The check that a gate given whole along with `protectedResource` was made with it, so
   * that its challenges name the metadata served (`ServerOptions.gateKnowsResource`).
   *
   * @since 0.1.0
   */
  gateKnowsResource,
  /**
   * The check that a gate and the options it is made from are not both given
   * (`ServerOptions.oneGateSource`).
   *
   * @since 0.1.0
   */
  oneGateSource
} from "@mcpgate/http/ServerOptions"
export {
  /**
   * The Schema fields of the caps on open SSE streams (`maxStreams`, `maxAnonymousStreams`,
   * `maxAnonymousStreamsPerClient`, `anonymousStreamTimeout`), for adapters that pass them
   * on to `SseServer` and check them at construction.
   *
   * @since 0.1.0
   */
  streamLimitFields,
  /**
   * The check that `maxAnonymousStreams` stays below `maxStreams`.
   *
   * @since 0.1.0
   */
  anonymousBelowTotal,
  /**
   * The Schema field `maxHeadersCount` (a positive whole number; default applied by the user).
   *
   * @since 0.1.0
   */
  headerLimitFields
} from "./internal/options.js"
export {
  /**
   * The pipeline in front of a server's own work: 431 for a head Node may have cut short,
   * then the pipeline's answer written, or the route served with the caller.
   *
   * @since 0.1.0
   */
  front,
  /**
   * A request listener that never lets an error become a 500: the exchange ends, and
   * `onError` hears of it.
   *
   * @since 0.1.0
   */
  listener,
  /**
   * `onError`, guarded: a reporter that throws cannot take the server down.
   *
   * @since 0.1.0
   */
  reporter
} from "./internal/front.js"
