/**
 * Why a request was not authenticated, as typed data.
 *
 * Every failure names the provider that refused, a stable `reason` code for logs and
 * metrics, and the parameters of the provider's challenge, so that `HttpAnswer` can
 * build the exact HTTP answer without asking the provider again. No failure ever
 * carries a credential: only codes, labels and 8-hex fingerprints.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"

/**
 * Which kind of provider refused. `oauth` is mcp-framework's `OAuthAuthProvider`: Bearer
 * tokens like `jwt`, refused with its own body (docs/behaviour.md#the-promise-api).
 *
 * @since 0.1.0
 */
export type ProviderKind = "api-key" | "jwt" | "oauth" | "custom"

/**
 * What a provider announces in `WWW-Authenticate` (docs/behaviour.md#challenges).
 *
 * @since 0.1.0
 */
export type ChallengeParams =
  | {
    readonly scheme: "ApiKey"
    readonly realm: string
    readonly headerName: string
  }
  | {
    readonly scheme: "Bearer"
    readonly realm: string
    readonly resourceMetadata?: string | undefined
    /**
     * A provider that accepts DPoP (RFC 9449 7.1) also announces `DPoP algs="..."`; the error
     * code goes on the challenge of the scheme the request used (`presented`).
     */
    readonly dpop?: { readonly algorithms: ReadonlyArray<string>; readonly presented: "Bearer" | "DPoP" } | undefined
  }

/**
 * Stable machine-readable codes: the code is the contract, the message is prose.
 *
 * @since 0.1.0
 */
export type ReasonCode =
  // the credential is absent (or another scheme was used, RFC 6750 3.1)
  | "missing"
  // the request is malformed as HTTP
  | "empty_header"
  | "duplicate_header"
  | "malformed_header"
  | "ambiguous_credentials"
  | "credential_in_query"
  // the credential is present but wrong
  | "unknown_key"
  | "token_too_large"
  | "malformed_token"
  | "alg_not_allowed"
  | "unknown_kid"
  | "no_matching_key"
  | "bad_signature"
  | "verification_error"
  | "claims_invalid"
  | "expired"
  | "not_yet_valid"
  | "issued_in_future"
  | "issuer_mismatch"
  | "audience_mismatch"
  | "unexpected_audience"
  | "token_too_old"
  | "lifetime_too_long"
  | "missing_claim"
  // an introspection answer said `active: false` (RFC 7662 2.2)
  | "token_inactive"
  // the token names an issuer that is not trusted
  | "unknown_issuer"
  // a custom provider (mcp-framework's `authenticate(req)` shape) said no
  | "custom_refusal"
  // the key source could not be reached
  | "key_source_unavailable"
  // DPoP (RFC 9449): the token's binding, then the proof (docs/behaviour.md#dpop)
  | "dpop_bound_token_as_bearer"
  | "dpop_binding_required"
  | "dpop_unbound_token"
  | "dpop_bad_binding"
  | "dpop_proof_missing"
  | "dpop_proof_malformed"
  | "dpop_alg_not_allowed"
  | "dpop_bad_signature"
  | "dpop_method_mismatch"
  | "dpop_url_mismatch"
  | "dpop_proof_too_old"
  | "dpop_issued_in_future"
  | "dpop_ath_mismatch"
  | "dpop_key_mismatch"
  | "dpop_replayed"
  | "dpop_request_unknown"

/**
 * What every single-provider failure carries.
 *
 * @since 0.1.0
 */
export interface FailureFields {
  readonly provider: ProviderKind
  readonly reason: ReasonCode
  readonly challenge: ChallengeParams
  /** The configured label, or an 8-hex fingerprint, of a configured API key; never the key, nor anything of an unknown one. */
  readonly keyLabel?: string | undefined
  /**
   * A custom provider's own refusal (mcp-framework's `getAuthError()`): its status and
   * message replace the body of the 401. Only for `provider: "custom"`.
   */
  readonly refusal?: { readonly status: number; readonly message: string } | undefined
}

/**
 * No credential was presented (header absent, or a scheme other than Bearer).
 * Answered 401 with a challenge that carries no error code (RFC 6750 3.1).
 *
 * @since 0.1.0
 */
export class MissingCredentials extends Data.TaggedError("MissingCredentials")<FailureFields> {}

/**
 * The request is malformed as HTTP: an empty header, duplicate lines, tabs, a second
 * token, or anything after it. Answered 401 with `error="invalid_request"`.
 *
 * @since 0.1.0
 */
export class MalformedRequest extends Data.TaggedError("MalformedRequest")<FailureFields> {}

/**
 * A credential is present but does not prove anything: unknown key, bad signature,
 * not a well-formed JWT, disallowed algorithm. Answered 401 with `error="invalid_token"`.
 *
 * @since 0.1.0
 */
export class InvalidCredentials extends Data.TaggedError("InvalidCredentials")<FailureFields> {}

/**
 * The credential was valid once and has expired (JWT `exp`, or an API key's `expiresAt`).
 *
 * @since 0.1.0
 */
export class ExpiredCredentials extends Data.TaggedError("ExpiredCredentials")<FailureFields> {}

/**
 * The credential is not valid yet: `nbf`, or `iat`, beyond the clock tolerance in the future.
 *
 * @since 0.1.0
 */
export class PrematureCredentials extends Data.TaggedError("PrematureCredentials")<FailureFields> {}

/**
 * The signature holds but a claim does not: issuer, audience, age, or a required claim.
 *
 * @since 0.1.0
 */
export class ClaimMismatch extends Data.TaggedError("ClaimMismatch")<FailureFields> {}

/**
 * The key source could not be reached (a remote JWKS that fails or times out).
 * Answered 503: the client is not at fault, and must not be told its token is bad.
 *
 * @since 0.1.0
 */
export class KeySourceUnavailable extends Data.TaggedError("KeySourceUnavailable")<FailureFields> {}

/**
 * Several providers were tried (`AuthProvider.firstOf`) and all refused. `primary` is the
 * failure whose body is answered: the JWT one when an `Authorization` header was present,
 * else the API-key one (docs/behaviour.md#answers); `failures` lists them all for the challenges.
 *
 * @since 0.1.0
 */
export class NoProviderAccepted extends Data.TaggedError("NoProviderAccepted")<{
  readonly primary: SingleFailure
  readonly failures: ReadonlyArray<SingleFailure>
}> {}

/**
 * A failure of one provider.
 *
 * @since 0.1.0
 */
export type SingleFailure =
  | MissingCredentials
  | MalformedRequest
  | InvalidCredentials
  | ExpiredCredentials
  | PrematureCredentials
  | ClaimMismatch
  | KeySourceUnavailable

/**
 * Every way authentication can fail.
 *
 * @since 0.1.0
 */
export type AuthFailure = SingleFailure | NoProviderAccepted

/**
 * A constructor of a single-provider failure, for code that picks the kind at run time.
 *
 * @since 0.1.0
 */
export type SingleFailureClass = new(fields: FailureFields) => SingleFailure

/**
 * The failure that decides the answer's status and body.
 *
 * @since 0.1.0
 */
export const primaryOf = (failure: AuthFailure): SingleFailure =>
  failure._tag === "NoProviderAccepted" ? failure.primary : failure

/**
 * The failures whose challenges go into `WWW-Authenticate`.
 *
 * @since 0.1.0
 */
export const failuresOf = (failure: AuthFailure): ReadonlyArray<SingleFailure> =>
  failure._tag === "NoProviderAccepted" ? failure.failures : [failure]

/**
 * Whether the failure is the key source's fault (503) rather than the credential's (401).
 *
 * @since 0.1.0
 */
export const isUnavailable = (failure: AuthFailure): boolean =>
  primaryOf(failure)._tag === "KeySourceUnavailable"
