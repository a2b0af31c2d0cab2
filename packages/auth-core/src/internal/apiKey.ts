/**
 * The API-key provider: its options, and a check that is a hash, a map look-up and a
 * constant-time comparison, with keys rotated at run time. The keys themselves, as given
 * and as held, are `apiKeySet.ts`.
 */
import { timingSafeEqual } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { AuthFailure, ChallengeParams } from "../AuthFailure.js"
import { ExpiredCredentials, InvalidCredentials } from "../AuthFailure.js"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { CredentialRead, RequestHeaders } from "../Credentials.js"
import { parseBearer, readSingle } from "../Credentials.js"
import type { Principal } from "../Principal.js"
import type { KeyEntry, KeySet, KeySpecInput } from "./apiKeySet.js"
import { checkKeyEntries, KeySpec, makeKeySet, sha256 } from "./apiKeySet.js"
import { failuresFor } from "./failures.js"
import { decodeOptions, HeaderName, Realm, secretMessage } from "./options.js"

export type { KeySpecInput } from "./apiKeySet.js"

/** The options of the API-key provider, before defaults. */
export const ApiKeyOptionsSchema = Schema.Struct({
  keys: Schema.Array(KeySpec).annotations(
    secretMessage(
      "keys must be an array of keys: strings, Redacted strings, { key, label?, scopes?, expiresAt? } or { sha256, label?, scopes?, expiresAt? }"
    )
  ),
  headerName: Schema.optionalWith(HeaderName, { default: () => "X-API-Key" }),
  allowBearer: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  realm: Schema.optionalWith(Realm, { default: () => "mcp" })
})

export type ApiKeyOptionsInput = Schema.Schema.Encoded<typeof ApiKeyOptionsSchema>
export type ApiKeyOptions = Schema.Schema.Type<typeof ApiKeyOptionsSchema>

/** Decodes and checks the options synchronously: the Promise API throws from its constructor. */
export const parseOptions = (
  input: unknown
): Either.Either<{ readonly options: ApiKeyOptions; readonly keys: KeySet }, ConfigurationError> =>
  Either.flatMap(
    Either.flatMap(checkKeyEntries(input), (input) => decodeOptions(ApiKeyOptionsSchema, input, "API key")),
    (options) => Either.map(makeKeySet(options.keys), (keys) => ({ options, keys }))
  )

/** The Effect-facing API-key provider; also the rotation handle. */
export interface ApiKeyProvider {
  readonly kinds: ReadonlyArray<"api-key">
  readonly headerNames: ReadonlyArray<string>
  readonly authenticate: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  readonly stillValid: (principal: Principal) => Effect.Effect<boolean>
  readonly changes: Stream.Stream<void>
  readonly updateKeys: (keys: ReadonlyArray<KeySpecInput>) => Effect.Effect<void, ConfigurationError>
  readonly claimedIdentity: (request: RequestHeaders) => string | undefined
}

/** The provider, and its check on the live clock for the Promise API (see `promiseProvider.ts`). */
export interface ApiKeyChecker {
  readonly provider: ApiKeyProvider
  readonly checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  /** How many keys are in force now. */
  readonly keyCount: () => number
}

const principalOf = (entry: KeyEntry, credentialHeader: string): Principal => {
  const name = entry.label ?? entry.fingerprint
  return Object.freeze({
    provider: "api-key",
    subject: name,
    clientId: name,
    scopes: Object.freeze([...entry.scopes]),
    expiresAt: entry.expiresAt,
    keyLabel: entry.label,
    identity: entry.id,
    keyId: entry.id,
    credentialHeader
  })
}

export const makeProvider = (options: ApiKeyOptions, initialKeys: KeySet): Effect.Effect<ApiKeyProvider> =>
  Effect.map(makeChecker(options, initialKeys), ({ provider }) => provider)

export const makeChecker = (
  options: ApiKeyOptions,
  initialKeys: KeySet
): Effect.Effect<ApiKeyChecker> =>
  Effect.map(SubscriptionRef.make(initialKeys), (source) => {
    const challenge: ChallengeParams = { scheme: "ApiKey", realm: options.realm, headerName: options.headerName }
    const { fail, unread } = failuresFor("api-key", challenge)
    // The keys in force, read synchronously by every check; `source` only announces changes.
    let current = initialKeys

    const configuredHeader = options.headerName.toLowerCase()
    // A key's principal is the same on every request through the same header: made once,
    // frozen, and dropped with its key set.
    const principals = new WeakMap<KeyEntry, Map<string, Principal>>()
    const principalVia = (entry: KeyEntry, header: string): Principal => {
      let byHeader = principals.get(entry)
      if (byHeader === undefined) principals.set(entry, byHeader = new Map())
      let principal = byHeader.get(header)
      if (principal === undefined) byHeader.set(header, principal = principalOf(entry, header))
      return principal
    }

    /** The credential, and the header it was read from. */
    const read = (request: RequestHeaders): readonly [CredentialRead, string] => {
      const line = readSingle(request, options.headerName)
      if (line._tag !== "Absent" || !options.allowBearer) return [line, configuredHeader]
      // Opt-in for clients that cannot set custom headers; the configured header wins.
      const authorization = readSingle(request, "authorization")
      return [authorization._tag === "Found" ? parseBearer(authorization.value, "api-key") : authorization, "authorization"]
    }

    /**
     * The whole check, synchronous: a hash, a look-up and a comparison, so it is answered as
     * an Exit without a fiber. Any exception while checking is a 401, never a 500
     * (docs/behaviour.md#answers).
     */
    const check = (request: RequestHeaders, nowMillis: () => number): Effect.Effect<Principal, AuthFailure> => {
      try {
        const [credential, header] = read(request)
        if (credential._tag !== "Found") return unread(credential)
        const digest = sha256(credential.value)
        const entry = current.get(digest.toString("hex"))
        // The Map lookup already compared digests; this constant-time check makes the
        // decision itself independent of where two digests first differ.
        // An unknown key is named by nothing derived from it: a digest prefix of a pasted
        // password or another service's key would be an offline oracle in the logs.
        if (entry === undefined || !timingSafeEqual(entry.digest, digest)) return fail(InvalidCredentials, "unknown_key")
        if (entry.expiresAt !== undefined && nowMillis() / 1000 >= entry.expiresAt) {
          return fail(ExpiredCredentials, "expired", entry.label ?? entry.fingerprint)
        }
        return Effect.succeed(principalVia(entry, header))
      } catch {
        return fail(InvalidCredentials, "verification_error")
      }
    }

    // Suspended by `clockWith`, so that nothing is read before the effect runs.
    const authenticate = (request: RequestHeaders): Effect.Effect<Principal, AuthFailure> =>
      Effect.clockWith((clock) => check(request, () => clock.unsafeCurrentTimeMillis()))

    /** The key entry the presented key would prove (its identity), without the final comparison. */
    const claimedIdentity = (request: RequestHeaders): string | undefined => {
      const [credential] = read(request)
      return credential._tag === "Found" ? current.get(sha256(credential.value).toString("hex"))?.id : undefined
    }

    const stillValid = (principal: Principal): Effect.Effect<boolean> =>
      Effect.clockWith((clock) => {
        for (const entry of current.values()) {
          if (entry.id === principal.keyId) {
            return Effect.succeed(entry.expiresAt === undefined || clock.unsafeCurrentTimeMillis() / 1000 < entry.expiresAt)
          }
        }
        return Effect.succeed(false)
      })

    const updateKeys = (keys: ReadonlyArray<KeySpecInput>) =>
      Effect.flatMap(
        // No keys at run time revokes them all (fail closed); only a server that starts
        // without any is a configuration mistake.
        keys.length === 0 ? Either.right<KeySet>(new Map()) : Either.flatMap(
          Either.flatMap(checkKeyEntries({ keys }), (input) => decodeOptions(ApiKeyOptionsSchema, input, "API key")),
          (decoded) => makeKeySet(decoded.keys)
        ),
        // In force before the change is announced, so whoever listens sees the new keys.
        (next) => Effect.zipRight(Effect.sync(() => (current = next)), SubscriptionRef.set(source, next))
      )

    return {
      provider: {
        kinds: ["api-key"],
        headerNames: options.allowBearer ? [options.headerName, "Authorization"] : [options.headerName],
        authenticate,
        authenticateAt: (request: RequestHeaders, nowMillis: number) => check(request, () => nowMillis),
        stillValid,
        changes: Stream.map(Stream.drop(source.changes, 1), () => undefined),
        updateKeys,
        claimedIdentity
      },
      checkNow: (request) => check(request, Date.now),
      keyCount: () => current.size
    }
  })
