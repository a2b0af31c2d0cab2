/**
 * The API-key provider: keys matched by SHA-256 digest, never as plain strings, at a cost
 * that does not grow with the number of keys (docs/behaviour.md#keys-and-tokens).
 *
 * @example
 * ```ts
 * import { ApiKey, AuthProvider } from "@mcpgate/auth-core"
 * import { Effect, Redacted } from "effect"
 *
 * // Keys from the environment: MCP_API_KEYS=key-one,key-two (comma-separated).
 * const AuthLive = ApiKey.layerConfig()
 *
 * // Or from code, with labels and scopes; `sha256` keeps plaintext out of configuration.
 * const AuthFromCode = ApiKey.layer({
 *   keys: [
 *     { key: Redacted.make(process.env.ADMIN_KEY!), label: "admin", scopes: ["tools:write"] },
 *     { sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", label: "ci" }
 *   ]
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
import * as internal from "./internal/apiKey.js"

/**
 * The options, as written by users: `keys` (plaintext or `Redacted` strings, or entries
 * `{ key | sha256, label?, scopes?, expiresAt? }`), `headerName` (default `"X-API-Key"`),
 * `allowBearer` (also read `Authorization: Bearer <key>`, default false), `realm` (default `"mcp"`).
 *
 * @since 0.1.0
 */
export type Options = internal.ApiKeyOptionsInput

/**
 * One key as configured.
 *
 * @since 0.1.0
 */
export type KeySpec = internal.KeySpecInput

/**
 * The API-key provider's service: an `AuthProvider` that can also rotate its keys.
 *
 * @since 0.1.0
 */
export interface Service extends internal.ApiKeyProvider {}

/**
 * The API-key provider in context, for rotating keys at run time with `updateKeys`.
 *
 * @since 0.1.0
 */
export class ApiKey extends Context.Tag("@mcpgate/auth-core/ApiKey")<ApiKey, Service>() {}

/**
 * Builds the provider; fails with a readable `ConfigurationError` on bad options.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, ConfigurationError> =>
  Effect.flatMap(internal.parseOptions(options), ({ keys, options }) => internal.makeProvider(options, keys))

/**
 * A Layer providing both `AuthProvider` and `ApiKey` (the rotation handle).
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<AuthProvider | ApiKey, ConfigurationError> =>
  Layer.effectContext(
    Effect.map(make(options), (service) => Context.make(AuthProvider, service).pipe(Context.add(ApiKey, service)))
  )

/**
 * Keys from `MCP_API_KEYS`, comma-separated, held as `Redacted` values from the moment
 * they are read.
 *
 * @since 0.1.0
 */
export const keysConfig: Config.Config<ReadonlyArray<Redacted.Redacted<string>>> = Config.map(
  Config.redacted("MCP_API_KEYS"),
  (joined) => Redacted.value(joined).split(",").map((key) => Redacted.make(key.trim()))
)

/**
 * The options `layerConfig` reads; each may be replaced by another `Config`.
 *
 * @since 0.1.0
 */
export interface ConfigOptions {
  readonly keys?: Config.Config<ReadonlyArray<Redacted.Redacted<string>>>
  readonly headerName?: Config.Config<Option.Option<string>>
  readonly allowBearer?: Config.Config<Option.Option<boolean>>
  readonly realm?: Config.Config<Option.Option<string>>
}

/**
 * A Layer whose options come from `Config`: by default `MCP_API_KEYS` and
 * `MCP_API_KEY_HEADER`, so secrets come from the environment, not from code.
 *
 * @since 0.1.0
 */
export const layerConfig = (
  config: ConfigOptions = {}
): Layer.Layer<AuthProvider | ApiKey, ConfigurationError | ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      Config.all({
        keys: config.keys ?? keysConfig,
        headerName: config.headerName ?? Config.option(Config.string("MCP_API_KEY_HEADER")),
        allowBearer: config.allowBearer ?? Config.succeed(Option.none()),
        realm: config.realm ?? Config.succeed(Option.none())
      }),
      ({ allowBearer, headerName, keys, realm }) =>
        layer({
          keys,
          ...Option.match(headerName, { onNone: () => ({}), onSome: (headerName) => ({ headerName }) }),
          ...Option.match(allowBearer, { onNone: () => ({}), onSome: (allowBearer) => ({ allowBearer }) }),
          ...Option.match(realm, { onNone: () => ({}), onSome: (realm) => ({ realm }) })
        })
    )
  )
