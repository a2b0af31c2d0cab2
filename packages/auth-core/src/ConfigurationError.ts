/**
 * Bad configuration, found at startup (Layer construction or a constructor), never per
 * request. The message says what is wrong and how to fix it, and never quotes a secret.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * A provider's options were refused.
 *
 * @since 0.1.0
 */
export class ConfigurationError extends Data.TaggedError("ConfigurationError")<{
  readonly message: string
}> {
  override get name(): string {
    return "ConfigurationError"
  }
}
