/**
 * Option decoding shared by the core and its adapters, so that every constructor refuses
 * unknown keys and reports problems in the same words (docs/behaviour.md#keys-and-tokens:
 * configuration errors surface at startup, name fields and never quote a secret).
 *
 * @example
 * ```ts
 * import { Options } from "@mcpgate/auth-core"
 * import { Schema } from "effect"
 *
 * const MyOptions = Schema.Struct({ headerName: Options.HeaderName, timeout: Options.Seconds })
 * const decoded = Options.decode(MyOptions, input, "my adapter") // Either<..., ConfigurationError>
 * ```
 *
 * @since 0.1.0
 */
export {
  /**
   * The value of `allowedOrigins` that admits any origin.
   *
   * @since 0.1.0
   */
  ANY_ORIGIN,
  /**
   * Decodes options with `onExcessProperty: "error"`, each problem on its own line.
   *
   * @since 0.1.0
   */
  decodeOptions as decode,
  /**
   * An HTTP header name (RFC 9110 5.1).
   *
   * @since 0.1.0
   */
  HeaderName,
  /**
   * A host name without scheme or port (`mcp.example.com`).
   *
   * @since 0.1.0
   */
  HostName,
  /**
   * An absolute http(s) URL.
   *
   * @since 0.1.0
   */
  HttpUrl,
  /**
   * An exact origin (`https://app.example.com`), or `"*"` for any.
   *
   * @since 0.1.0
   */
  Origin,
  /**
   * A request path as a server option: starts with "/", visible ASCII, no query or fragment.
   *
   * @since 0.1.0
   */
  Path,
  /**
   * A whole number of at least 1.
   *
   * @since 0.1.0
   */
  PositiveInt,
  /**
   * A duration in seconds: a number, jose-style text ("1h") or an Effect `Duration`.
   *
   * @since 0.1.0
   */
  Seconds
} from "./internal/options.js"
