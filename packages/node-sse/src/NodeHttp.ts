/**
 * The pieces every `node:http` adapter of mcpgate is built from, public so that other
 * adapters (Streamable HTTP in `@mcpgate/mcp-sdk`, say) answer byte for byte alike: one
 * authentication step with "no credentials" told apart, writing an `HttpAnswer`, and
 * reading the request target and single-line headers safely.
 *
 * @example
 * ```ts
 * import { NodeHttp } from "@mcpgate/node-sse"
 *
 * const outcome = await NodeHttp.authenticate(provider, req, true)
 * if (outcome._tag === "Refused") return NodeHttp.writeAnswer(res, outcome.answer, corsHeaders)
 * ```
 *
 * @since 0.1.0
 */
export {
  /**
   * Checks a request; with `required` false, a request without any credentials is
   * `Anonymous`, while presented credentials are always checked.
   *
   * @since 0.1.0
   */
  authenticate,
  /**
   * What one authentication step found: `Authenticated`, `Anonymous` or `Refused` (with its answer).
   *
   * @since 0.1.0
   */
  type Outcome,
  /**
   * A provider as adapters accept it: the Effect service, or a Promise provider wrapping one.
   *
   * @since 0.1.0
   */
  type ProviderInput,
  /**
   * The Effect service of a provider input.
   *
   * @since 0.1.0
   */
  serviceOf
} from "./internal/authenticate.js"
export {
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
