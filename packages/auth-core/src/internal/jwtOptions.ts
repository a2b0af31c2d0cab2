/**
 * The JWT provider's options: their schemas, their decoding, and the one rule the schemas
 * cannot state (the ceiling on the clock tolerance). What the key material must be is settled
 * in `jwtKeyMaterial.ts`.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "../ConfigurationError.js"
import { DpopOptionsSchema } from "./dpopOptions.js"
import * as Keys from "./jwtKeys.js"
import {
  configurationError,
  decodeOptions,
  HeaderName,
  HttpUrl,
  PositiveInt,
  Realm,
  Seconds,
  SecretString,
  secretMessage
} from "./options.js"

const StringOrStrings = Schema.Union(Schema.String, Schema.Array(Schema.String))
const Jwk = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** The key material: exactly one of these is given. */
const KeyFields = {
  secret: Schema.optional(SecretString.annotations(secretMessage("secret must be a string or a Redacted string"))),
  publicKey: Schema.optional(Schema.Union(Schema.String, Jwk)),
  jwks: Schema.optional(Schema.Struct({ keys: Schema.Array(Jwk) })),
  jwksUrl: Schema.optional(HttpUrl),
  algorithms: Schema.optional(Schema.NonEmptyArray(
    Schema.Literal(...Keys.ALGORITHMS).annotations({
      message: (issue) => ({
        message: `${JSON.stringify(issue.actual)} is not a supported algorithm; use ${Keys.ALGORITHMS.join(", ")}`,
        override: true
      })
    })
  ))
}

export const JwtKeyOptionsSchema = Schema.Struct(KeyFields)

export const JwtOptionsSchema = Schema.Struct({
  ...KeyFields,
  headerName: Schema.optionalWith(HeaderName, { default: () => "Authorization" }),
  requireBearer: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  issuer: Schema.optional(StringOrStrings),
  audience: Schema.optional(StringOrStrings),
  clockTolerance: Schema.optionalWith(Seconds, { default: () => 30 }),
  maxTokenAge: Schema.optional(Seconds),
  /** The longest a token may be issued for (`exp - iat`); `iat` is then required. */
  maxTokenLifetime: Schema.optional(Seconds.pipe(Schema.filter((seconds) => seconds > 0 || "must be more than 0 seconds"))),
  requiredClaims: Schema.optional(Schema.Array(Schema.String)),
  realm: Schema.optionalWith(Realm, { default: () => "mcp" }),
  /** RFC 9728: the URL of the protected-resource metadata, announced in every challenge. */
  resourceMetadata: Schema.optional(HttpUrl),
  /** How long a remote JWKS fetch may take before the request is answered 503. */
  jwksTimeout: Schema.optionalWith(Seconds, { default: () => 5 }),
  /** How long fetched remote keys are trusted before they are fetched again. */
  jwksCacheMaxAge: Schema.optionalWith(Seconds, { default: () => 600 }),
  /**
   * The verified-token cache: a repeated token is checked by its SHA-256 instead of its
   * signature. `false` turns it off; `{ maxEntries }` bounds it (default 10,000 tokens).
   */
  tokenCache: Schema.optionalWith(
    Schema.Union(Schema.Boolean, Schema.Struct({ maxEntries: Schema.optional(PositiveInt) })),
    { default: () => true }
  ),
  /** DPoP (RFC 9449): proofs for bound tokens, `Authorization: DPoP` read (docs/behaviour.md#dpop). */
  dpop: Schema.optional(DpopOptionsSchema)
})

export type JwtOptionsInput = Schema.Schema.Encoded<typeof JwtOptionsSchema>
export type JwtKeyOptionsInput = Schema.Schema.Encoded<typeof JwtKeyOptionsSchema>
export type JwtOptions = Schema.Schema.Type<typeof JwtOptionsSchema>

const MAX_CLOCK_TOLERANCE = 300

/** The error for JWT options that decode but cannot be served. */
export const invalidJwtOptions = (message: string) => Either.left(configurationError(`Invalid JWT options: ${message}`))

/** Decodes the options and checks the clock tolerance; the key material is not looked at yet. */
export const decodeJwtOptions = (input: unknown): Either.Either<JwtOptions, ConfigurationError> =>
  Either.flatMap(decodeOptions(JwtOptionsSchema, input, "JWT"), (options) =>
    options.clockTolerance > MAX_CLOCK_TOLERANCE
      ? invalidJwtOptions(`clockTolerance is ${options.clockTolerance} s; at most ${MAX_CLOCK_TOLERANCE} s is allowed`)
      // RFC 9449 7.1: the DPoP scheme lives in `Authorization`, and is read only there.
      : options.dpop !== undefined && (options.headerName.toLowerCase() !== "authorization" || !options.requireBearer)
      ? invalidJwtOptions("dpop needs the token in the Authorization header (headerName \"Authorization\", requireBearer true)")
      : Either.right(options))
