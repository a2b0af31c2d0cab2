/**
 * Authorization server metadata found from the issuer alone (RFC 8414, else OpenID Connect
 * Discovery): where its keys (`jwks_uri`) and its introspection endpoint are. A document is
 * used only when its `issuer` is exactly the configured one (RFC 8414 3.3); it is cached for
 * `cacheMaxAge` (600 s), then fetched again in the background, the last good document serving
 * while the server cannot be reached. `Introspection` and `Issuers` use it when no endpoint or
 * key source is configured.
 *
 * @example
 * ```ts
 * import { Discovery } from "@mcpgate/auth-core"
 * import { Effect } from "effect"
 *
 * Discovery.metadataUrls("https://auth.example.com/tenant-a")
 * // { oauth: "https://auth.example.com/.well-known/oauth-authorization-server/tenant-a",
 * //   openid: "https://auth.example.com/tenant-a/.well-known/openid-configuration" }
 *
 * const program = Effect.gen(function*() {
 *   const discovery = yield* Discovery.make({ issuer: "https://auth.example.com" })
 *   const metadata = yield* discovery.metadata
 *   return metadata.introspection_endpoint
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "./ConfigurationError.js"
import * as internal from "./internal/discovery.js"
import { configurationError, decodeOptions, Seconds } from "./internal/options.js"

/**
 * The members of a metadata document that mcpgate reads; the others are kept as they came.
 *
 * @since 0.1.0
 */
export type Metadata = internal.Metadata

/**
 * Where an issuer's metadata is looked for, in this order: RFC 8414's URL (the well-known
 * segment before the issuer's path, section 3.1), then OpenID Connect Discovery's.
 *
 * @since 0.1.0
 */
export const metadataUrls: (issuer: string) => { readonly oauth: string; readonly openid: string } = internal.metadataUrls

const OptionsSchema = Schema.Struct({
  issuer: Schema.String,
  /** How long one fetch of a document may take. */
  timeout: Schema.optionalWith(Seconds, { default: () => 5 }),
  /** How long a document is used before it is fetched again. */
  cacheMaxAge: Schema.optionalWith(Seconds, { default: () => 600 })
})

/**
 * `issuer` (an http(s) URL without query or fragment), `timeout` (5 s), `cacheMaxAge` (600 s).
 * Durations are seconds, jose-style text ("10m") or Effect `Duration`s.
 *
 * @since 0.1.0
 */
export type Options = Schema.Schema.Encoded<typeof OptionsSchema>

/**
 * No usable document could be had: the server is unreachable, slow, answers an error or
 * garbage, or names another issuer. Authentication that needs it answers 503.
 *
 * @since 0.1.0
 */
export class DiscoveryUnavailable extends Data.TaggedError("DiscoveryUnavailable")<{ readonly issuer: string }> {}

/**
 * An issuer's metadata, cached.
 *
 * @since 0.1.0
 */
export interface Service {
  readonly issuer: string
  readonly metadata: Effect.Effect<Metadata, DiscoveryUnavailable>
  /** The same on the given clock reading, as a Promise that never rejects (undefined when unavailable). */
  readonly metadataAt: (nowMillis: number) => Promise<Metadata | undefined>
}

/**
 * The metadata source of these options, decoded synchronously (the Promise API's
 * constructors throw on bad options before any async work).
 *
 * @since 0.1.0
 */
export const sourceOf = (options: Options): Either.Either<internal.MetadataSource, ConfigurationError> =>
  Either.flatMap(decodeOptions(OptionsSchema, options, "discovery"), (decoded) =>
    internal.isIssuerIdentifier(decoded.issuer)
      ? Either.right(internal.make({
        issuer: decoded.issuer,
        timeoutMillis: decoded.timeout * 1000,
        maxAgeMillis: decoded.cacheMaxAge * 1000
      }))
      : Either.left(configurationError(
        `Invalid discovery options: issuer ${JSON.stringify(decoded.issuer)} is not an http(s) URL without query or fragment (RFC 8414 2)`
      )))

/**
 * Builds the metadata source; nothing is fetched before the first use.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, ConfigurationError> =>
  Effect.map(sourceOf(options), (source) => ({
    issuer: source.issuer,
    metadataAt: source.metadata,
    metadata: Effect.clockWith((clock) =>
      Effect.flatMap(
        Effect.promise(() => source.metadata(clock.unsafeCurrentTimeMillis())),
        (found) => found === undefined ? Effect.fail(new DiscoveryUnavailable({ issuer: source.issuer })) : Effect.succeed(found)
      )
    )
  }))
