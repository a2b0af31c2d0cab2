/**
 * The pipeline on the Fetch API (`Request` in, `Response` out), for every runtime that
 * serves `(request) => Response`: Workers, Deno, Bun, Hono, Next.js route handlers, and Node
 * through an adapter. A web `Request` becomes a `Pipeline.Request`, an `HttpAnswer` becomes a
 * `Response` with the very status, headers and bytes `NodeHttp.writeAnswer` writes
 * (docs/behaviour.md#answers),
 * and `guard` runs the pipeline in front of any handler. No `node:*` module and none of
 * Node's globals are used here.
 *
 * Duplicate lines: a Fetch `Headers` has already joined repeated lines with ", " when we
 * see it, so the wire's lines cannot be counted. The credential headers (the provider's
 * `headerNames` and `Authorization`), `Origin` and `Host` are therefore read as one line per
 * ", "-separated part: none of their legitimate values holds a comma (API keys refuse one
 * at startup, a b64token and a JWT cannot carry one, an origin or host never does), so a
 * joined value is the ambiguous credential docs/behaviour.md#reading-credentials calls
 * malformed, and it gets the same answer as on Node (`invalid_request` for Bearer;
 * docs/behaviour.md#web-standard-handlers).
 *
 * @example
 * ```ts
 * import { Fetch } from "@mcpgate/http"
 *
 * const decided = await pipeline.decide(Fetch.describe(request, { credentialHeaders: ["X-API-Key"], remoteAddress }))
 * if (decided._tag === "Answer") return Fetch.toResponse(decided.answer, { method: request.method })
 * ```
 *
 * @since 0.1.0
 */
export {
  /**
   * The pipeline in front of any Fetch handler, whatever path it is mounted on.
   *
   * @since 0.1.0
   */
  guard,
  /**
   * What `guard` decided: the `Response` to send now, or the caller to serve.
   *
   * @since 0.1.0
   */
  type Guarded,
  /**
   * What `guard` is made from.
   *
   * @since 0.1.0
   */
  type GuardSettings
} from "./internal/fetchGuard.js"
export {
  /**
   * How the client address of a Fetch request is learned (`clientAddress`, `clientAddressHeader`).
   *
   * @since 0.1.0
   */
  type AddressOptions,
  /**
   * The reader of the client address the options describe; undefined when they name none.
   *
   * @since 0.1.0
   */
  addressReader,
  /**
   * A client-address reader: `(request, env, ctx)` to an address, or undefined.
   *
   * @since 0.1.0
   */
  type AddressReader,
  /**
   * The Schema fields every Fetch adapter takes beyond its provider, and their settings.
   *
   * @since 0.1.0
   */
  fetchFields,
  /**
   * Checks on the decoded fields: a budget needs a client address.
   *
   * @since 0.1.0
   */
  budgetHasAddress,
  /**
   * The rules every Fetch adapter's options meet together (one resource, one gate source,
   * known scopes, a budget with an address), applied after its own.
   *
   * @since 0.1.0
   */
  withFetchRules,
  /**
   * The settings a guard or a handler is made from, out of the decoded fields.
   *
   * @since 0.1.0
   */
  settingsOf,
  /**
   * The settings shared by Fetch adapters.
   *
   * @since 0.1.0
   */
  type FetchSettings
} from "./internal/fetchSettings.js"
export {
  /**
   * The largest request head read, in bytes: Node's default `maxHeaderSize` (16 KiB).
   *
   * @since 0.1.0
   */
  DEFAULT_MAX_HEADER_SIZE,
  /**
   * The most header fields read: the Node servers' default `maxHeadersCount` (2,000).
   *
   * @since 0.1.0
   */
  DEFAULT_MAX_HEADERS_COUNT,
  /**
   * The limits on a request head.
   *
   * @since 0.1.0
   */
  type HeadLimits,
  /**
   * Whether a request's head is over the limits (answered 431 before anything reads it).
   *
   * @since 0.1.0
   */
  isHeadTooLarge,
  /**
   * The 431 for a head over the limits, with `Connection: close` as on Node.
   *
   * @since 0.1.0
   */
  headTooLarge,
  /**
   * The request target (`/path?query`) of a Fetch request's URL; its authority is never read.
   *
   * @since 0.1.0
   */
  targetOf,
  /**
   * A Fetch `Headers` as a header record, joined credential lines split back apart.
   *
   * @since 0.1.0
   */
  headersOf,
  /**
   * A Fetch request as the pipeline reads it (`Pipeline.Request`).
   *
   * @since 0.1.0
   */
  describe,
  /**
   * An answer as a `Response`, byte for byte as `NodeHttp.writeAnswer` writes it.
   *
   * @since 0.1.0
   */
  toResponse
} from "./internal/fetchRequest.js"
