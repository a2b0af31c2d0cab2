/**
 * The JWT provider: tokens verified by jose against an explicit algorithm allowlist, with
 * `exp` required, issuer and audience checks, and keys given as an HMAC secret, a public
 * key (SPKI PEM or JWK), a local JWK Set, or a remote JWKS URL (docs/behaviour.md#keys-and-tokens).
 *
 * @example
 * ```ts
 * import { Jwt } from "@mcpgate/auth-core"
 *
 * // HS256 with a secret from the environment: MCP_JWT_SECRET, MCP_JWT_ISSUER, ...
 * const AuthLive = Jwt.layerConfig()
 *
 * // Or tokens of an identity provider, by its JWKS.
 * const AuthFromIdp = Jwt.layer({
 *   jwksUrl: "https://idp.example.com/.well-known/jwks.json",
 *   issuer: "https://idp.example.com/",
 *   audience: "https://mcp.example.com/"
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { AuthProvider } from "./AuthProvider.js"
import type { ConfigurationError } from "./ConfigurationError.js"
import * as internal from "./internal/jwt.js"
import { ALGORITHMS } from "./internal/jwtKeys.js"

/**
 * The options, as written by users. Key material, exactly one of: `secret` (UTF-8, at least
 * 32/48/64 bytes for HS256/384/512), `publicKey` (SPKI PEM or JWK), `jwks` (`{ keys }`),
 * `jwksUrl`. Then `algorithms` (default: follows the key, `["HS256"]` for a secret),
 * `headerName` (`"Authorization"`), `requireBearer` (true), `issuer`, `audience`,
 * `clockTolerance` (30 s, at most 300 s), `maxTokenAge`, `maxTokenLifetime` (the longest
 * `exp - iat` accepted; `iat` then required), `requiredClaims`, `realm` (`"mcp"`),
 * `resourceMetadata`, `jwksTimeout` (5 s), `jwksCacheMaxAge` (600 s). Durations are seconds,
 * jose-style text ("1h") or Effect `Duration`s.
 *
 * @since 0.1.0
 */
export type Options = internal.JwtOptionsInput

/**
 * Replacement key material for `updateKeys`: one of `secret`, `publicKey`, `jwks`,
 * `jwksUrl`, and optionally new `algorithms`.
 *
 * @since 0.1.0
 */
export type KeyOptions = internal.JwtKeyOptionsInput

/**
 * The algorithm names a provider may allow.
 *
 * @since 0.1.0
 */
export const algorithms: ReadonlyArray<string> = ALGORITHMS

/**
 * The JWT provider's service: an `AuthProvider` that can also rotate its keys.
 *
 * @since 0.1.0
 */
export interface Service extends internal.JwtProvider {}

/**
 * The JWT provider in context, for rotating keys at run time with `updateKeys`.
 *
 * @since 0.1.0
 */
export class Jwt extends Context.Tag("@mcpgate/auth-core/Jwt")<Jwt, Service>() {}

/**
 * Builds the provider; fails with a readable `ConfigurationError` on bad options.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, ConfigurationError> =>
  Effect.flatMap(internal.parseOptions(options), ({ keys, options }) => internal.makeProvider(options, keys))

/**
 * A Layer providing both `AuthProvider` and `Jwt` (the rotation handle).
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<AuthProvider | Jwt, ConfigurationError> =>
  Layer.effectContext(
    Effect.map(make(options), (service) => Context.make(AuthProvider, service).pipe(Context.add(Jwt, service)))
  )

// An empty variable reads as unset: `MCP_JWT_ISSUER=` must not demand an empty issuer.
const optionalText = (name: string) =>
  Config.map(Config.option(Config.string(name)), Option.filter((text) => text.trim().length > 0))

const commaList = (name: string) =>
  Config.map(
    optionalText(name),
    Option.map((list) => list.split(",").map((item) => item.trim()).filter((item) => item.length > 0))
  )

/**
 * Where `layerConfig` reads each option; every entry may be replaced by another `Config`.
 *
 * @since 0.1.0
 */
export interface ConfigOptions {
  readonly secret?: Config.Config<Option.Option<Redacted.Redacted<string>>>
  readonly publicKey?: Config.Config<Option.Option<string>>
  readonly jwksUrl?: Config.Config<Option.Option<string>>
  readonly algorithms?: Config.Config<Option.Option<ReadonlyArray<string>>>
  readonly issuer?: Config.Config<Option.Option<string>>
  readonly audience?: Config.Config<Option.Option<string>>
  readonly clockTolerance?: Config.Config<Option.Option<number>>
  readonly headerName?: Config.Config<Option.Option<string>>
}

/**
 * A Layer whose options come from `Config`: `MCP_JWT_SECRET` (read as `Redacted`),
 * `MCP_JWT_PUBLIC_KEY`, `MCP_JWT_JWKS_URL`, `MCP_JWT_ALGORITHMS` (comma-separated),
 * `MCP_JWT_ISSUER`, `MCP_JWT_AUDIENCE`, `MCP_JWT_CLOCK_TOLERANCE` (seconds). Options not
 * read from the environment (say `requiredClaims`) may be passed as `fixed`.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: ConfigOptions = {},
  fixed: Omit<Options, "secret" | "publicKey" | "jwks" | "jwksUrl"> = {}
): Layer.Layer<AuthProvider | Jwt, ConfigurationError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        secret: config.secret ??
          Config.map(Config.option(Config.redacted("MCP_JWT_SECRET")), Option.filter((secret) => Redacted.value(secret).length > 0)),
        publicKey: config.publicKey ?? optionalText("MCP_JWT_PUBLIC_KEY"),
        jwksUrl: config.jwksUrl ?? optionalText("MCP_JWT_JWKS_URL"),
        algorithms: config.algorithms ?? commaList("MCP_JWT_ALGORITHMS"),
        issuer: config.issuer ?? optionalText("MCP_JWT_ISSUER"),
        audience: config.audience ?? optionalText("MCP_JWT_AUDIENCE"),
        clockTolerance: config.clockTolerance ?? Config.option(Config.number("MCP_JWT_CLOCK_TOLERANCE")),
        headerName: config.headerName ?? Config.succeed(Option.none())
      }),
      (read) => {
        const options: Record<string, unknown> = { ...fixed }
        for (const [name, value] of Object.entries(read) as Array<[string, Option.Option<unknown>]>) {
          if (Option.isSome(value)) options[name] = value.value
        }
        return layer(options as Options)
      }
    )
  )
