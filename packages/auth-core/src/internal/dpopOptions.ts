/**
 * The `dpop` option of the token providers (`Jwt`, `Introspection` and their Promise classes),
 * one schema for all: whether a binding is required, the proof algorithms, how old a proof may
 * be, and the bound of the replay cache (docs/behaviour.md#dpop).
 */
import * as Schema from "effect/Schema"
import { PositiveInt, Seconds } from "./options.js"

/**
 * The JWS algorithms a proof may be signed with: asymmetric only (RFC 9449 4.2: "MUST NOT be
 * none or an identifier for a symmetric algorithm").
 */
export const PROOF_ALGORITHMS = [
  "ES256", "ES384", "ES512",
  "EdDSA", "Ed25519",
  "RS256", "RS384", "RS512",
  "PS256", "PS384", "PS512"
] as const

/** The algorithms announced and accepted unless configured: those clients use. */
export const DEFAULT_PROOF_ALGORITHMS: ReadonlyArray<typeof PROOF_ALGORITHMS[number]> = ["ES256", "EdDSA", "RS256", "PS256"]

/** The longest `maxAge` allowed: a replayed proof is refused only while the cache holds its `jti`. */
export const MAX_PROOF_AGE = 300

export const DpopOptionsSchema = Schema.Struct({
  /** Refuse tokens without a DPoP binding (`cnf.jkt`); default false, so unbound tokens keep working. */
  required: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  algorithms: Schema.optionalWith(
    Schema.NonEmptyArray(
      Schema.Literal(...PROOF_ALGORITHMS).annotations({
        message: (issue) => ({
          message: `${JSON.stringify(issue.actual)} is not an asymmetric JWS algorithm; use ${PROOF_ALGORITHMS.join(", ")}`,
          override: true
        })
      })
    ),
    { default: () => [...DEFAULT_PROOF_ALGORITHMS] as [typeof PROOF_ALGORITHMS[number]] }
  ),
  /** How old a proof's `iat` may be, in seconds (default 60, at most 300). */
  maxAge: Schema.optionalWith(
    Seconds.pipe(Schema.filter((seconds) => seconds > 0 && seconds <= MAX_PROOF_AGE || `must be more than 0 and at most ${MAX_PROOF_AGE} seconds`)),
    { default: () => 60 }
  ),
  /** How many proofs the replay cache remembers (default 100,000). */
  replayCache: Schema.optionalWith(Schema.Struct({ maxEntries: Schema.optional(PositiveInt) }), { default: () => ({}) })
})

export type DpopOptionsInput = Schema.Schema.Encoded<typeof DpopOptionsSchema>
export type DpopOptions = Schema.Schema.Type<typeof DpopOptionsSchema>

/** The replay cache's bound when none is configured. */
export const DEFAULT_REPLAY_ENTRIES = 100_000
