/**
 * One provider trusting several authorization servers, each with its own audience, keys and
 * algorithms, or its own introspection. A token is checked only against the issuer it names:
 * its `iss` is read cheaply and strictly before anything is verified, then that issuer's
 * provider (a `Jwt` or an `Introspection` one) verifies it in full; a token naming an issuer
 * not listed is refused without any network call. Without key material, an issuer's
 * `jwks_uri` is found by discovery (RFC 8414, else OpenID Connect); without an `endpoint`, its
 * introspection endpoint too. A token that is not a JWT names no issuer: it is introspected
 * by the issuer `opaqueTokens` names, and refused when none is named
 * (docs/behaviour.md#several-issuers).
 *
 * @example
 * ```ts
 * import { Issuers } from "@mcpgate/auth-core"
 *
 * const AuthLive = Issuers.layer({
 *   issuers: [
 *     // keys from the issuer's metadata (RFC 8414 / OpenID discovery)
 *     { issuer: "https://login.example.com", jwt: { audience: "https://mcp.example.com/mcp", algorithms: ["RS256"] } },
 *     { issuer: "https://partner.example.org", jwt: { jwksUrl: "https://partner.example.org/keys", audience: "mcp" } },
 *     // opaque tokens, introspected; the endpoint is discovered
 *     {
 *       issuer: "https://auth.example.com",
 *       introspection: { audience: "https://mcp.example.com/mcp", clientId: "mcp", clientSecret: process.env.SECRET! }
 *     }
 *   ],
 *   opaqueTokens: "https://auth.example.com"
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { AuthProvider } from "./AuthProvider.js"
import type { ConfigurationError } from "./ConfigurationError.js"
import type * as Introspection from "./Introspection.js"
import * as internal from "./internal/issuers.js"
import type * as Jwt from "./Jwt.js"

type Shared = "headerName" | "requireBearer" | "realm" | "resourceMetadata" | "issuer"

/**
 * One trusted issuer: exactly one of `jwt` (the options of `Jwt.Options`; without `secret`,
 * `publicKey`, `jwks` or `jwksUrl` the keys are discovered) and `introspection` (the options of
 * `Introspection.Options`; without `endpoint` it is discovered). `issuer` is both the value
 * `iss` must hold and where discovery looks.
 *
 * @since 0.1.0
 */
export type IssuerOptions =
  | { readonly issuer: string; readonly jwt: Omit<Jwt.Options, Shared>; readonly introspection?: undefined }
  | {
    readonly issuer: string
    readonly introspection: Omit<Introspection.Options, Shared | "discoveryCacheMaxAge">
    readonly jwt?: undefined
  }

/**
 * The options: `issuers` (at least one), `opaqueTokens` (the issuer, configured with
 * introspection, that checks tokens which are not JWTs), `discovery` (`{ timeout: 5,
 * cacheMaxAge: 600 }`), and, for all issuers at once, `headerName`, `requireBearer`, `realm`
 * and `resourceMetadata`.
 *
 * @since 0.1.0
 */
export interface Options {
  readonly issuers: readonly [IssuerOptions, ...Array<IssuerOptions>]
  readonly opaqueTokens?: string
  readonly discovery?: { readonly timeout?: number | string; readonly cacheMaxAge?: number | string }
  readonly headerName?: string
  readonly requireBearer?: boolean
  readonly realm?: string
  readonly resourceMetadata?: string
}

/**
 * The provider's service: an `AuthProvider` that also lists the issuers it trusts.
 *
 * @since 0.1.0
 */
export interface Service extends internal.IssuersProvider {}

/**
 * Builds the provider; fails with a readable `ConfigurationError` naming the issuer at fault.
 * Nothing is fetched before the first token.
 *
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, ConfigurationError> => internal.makeIssuers(options)

/**
 * A Layer of the provider as the `AuthProvider`.
 *
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<AuthProvider, ConfigurationError> =>
  Layer.effect(AuthProvider, make(options))
