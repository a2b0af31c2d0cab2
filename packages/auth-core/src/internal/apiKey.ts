/**
 * The API-key provider: its options, and a check that is a hash, a map look-up and a
 * constant-time comparison, with keys rotated at run time. The keys themselves, as given
 * and as held, are `apiKeySet.ts`.
 */
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
import type { KeyEntry, KeySet, KeySpecInput, PendingKeySet } from "./apiKeySet.js"
import { checkKeyEntries, KeySpec, keyDigestOf, makeKeySet } from "./apiKeySet.js"
import { failuresFor } from "./failures.js"
import { decodeOptions, HeaderName, Realm, secretMessage } from "./options.js"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"

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

/** The keys of a provider: settled, or (on the web path) with digests still to come. */
export type Keys = KeySet | PendingKeySet

/**
 * Decodes and checks the options synchronously: the Promise API throws from its constructor.
 * On the web path the keys' digests are settled later (see `makeKeySet`).
 */
export const parseOptions = (
  input: unknown,
  platform: Platform = Platforms.current
): Either.Either<{ readonly options: ApiKeyOptions; readonly keys: Keys }, ConfigurationError> =>
  Either.flatMap(
    Either.flatMap(checkKeyEntries(input), (input) => decodeOptions(ApiKeyOptionsSchema, input, "API key")),
    (options) => Either.map(makeKeySet(options.keys, keyDigestOf(platform)), (keys) => ({ options, keys }))
  )

/** The key set once its digests are settled, or the configuration error they revealed. */
export const settledKeys = (keys: Keys): Effect.Effect<KeySet, ConfigurationError> =>
  keys instanceof Promise ? Effect.flatMap(Effect.promise(() => keys), (settled) => settled) : Effect.succeed(keys)

/** The Effect-facing API-key provider; also the rotation handle. */
export interface ApiKeyProvider {
  readonly kinds: ReadonlyArray<"api-key">
  readonly headerNames: ReadonlyArray<string>
  readonly authenticate: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  readonly stillValid: (principal: Principal) => Effect.Effect<boolean>
  readonly changes: Stream.Stream<void>
  readonly updateKeys: (keys: ReadonlyArray<KeySpecInput>) => Effect.Effect<void, ConfigurationError>
  readonly claimedIdentity: (request: RequestHeaders) => string | undefined
  readonly authenticateAt: (request: RequestHeaders, nowMillis: number) => Effect.Effect<Principal, AuthFailure>
}

/** The provider, and its check on the live clock for the Promise API (see `promiseProvider.ts`). */
export interface ApiKeyChecker {
  readonly provider: ApiKeyProvider
  readonly checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  /** How many keys are in force now. */
  readonly keyCount: () => number
  /**
   * `updateKeys` for the Promise API, which cannot wait: throws what can be checked at once;
   * on the web path the new keys are in force at once and their digests settle behind them
   * (a plain key repeating a `sha256` entry then refuses every request, fail closed).
   */
  readonly replaceKeysNow: (keys: ReadonlyArray<KeySpecInput>) => void
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

/** The provider, once its keys are settled: a bad key set fails here, never per request. */
export const makeProvider = (
  options: ApiKeyOptions,
  initialKeys: Keys,
  platform: Platform = Platforms.current
): Effect.Effect<ApiKeyProvider, ConfigurationError> =>
  Effect.flatMap(settledKeys(initialKeys), (keys) =>
    Effect.map(makeChecker(options, keys, platform), ({ provider }) => provider))

export const makeChecker = (
  options: ApiKeyOptions,
  initialKeys: Keys,
  platform: Platform = Platforms.current
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

    const accept = (entry: KeyEntry, header: string, nowMillis: number): Effect.Effect<Principal, AuthFailure> =>
      entry.expiresAt !== undefined && nowMillis / 1000 >= entry.expiresAt
        ? fail(ExpiredCredentials, "expired", entry.label ?? entry.fingerprint)
        : Effect.succeed(principalVia(entry, header))

    const refused = () => fail(InvalidCredentials, "verification_error")
    // The web path cannot look a key's digest up without waiting, so the identities a key
    // claims (for the gate's lockout exemption) are those it proved: only configured keys
    // enter, and a rotation empties it.
    const provenOnWeb = new Map<string, string>()
    // Only the web path's key sets are ever pending: `node:crypto` digests synchronously.
    const nodeCheck = platform._tag === "Node" ? makeNodeCheck(platform, () => current as KeySet) : undefined

    /**
     * The whole check. On `node:crypto` it is synchronous: a hash, a look-up and a
     * comparison, answered as an Exit without a fiber. On the web path the digest is Web
     * Crypto's, so the answer is an Effect. Any exception while checking is a 401, never a
     * 500 (docs/behaviour.md#answers).
     */
    const check = (request: RequestHeaders, nowMillis: () => number): Effect.Effect<Principal, AuthFailure> => {
      try {
        const [credential, header] = read(request)
        if (credential._tag !== "Found") return unread(credential)
        if (nodeCheck !== undefined) {
          const entry = nodeCheck(credential.value)
          return entry === undefined ? fail(InvalidCredentials, "unknown_key") : accept(entry, header, nowMillis())
        }
        const keys = current
        const now = nowMillis()
        return Effect.catchAllDefect(
          Effect.flatten(Effect.promise(async () => {
            const set = keys instanceof Promise ? Either.getOrUndefined(await keys) : keys
            if (set === undefined) return refused()
            const digest = await Platforms.webSha256(credential.value)
            const entry = set.get(Platforms.toHex(digest))
            if (entry === undefined || !Platforms.constantTimeEqual(entry.digest, digest)) return fail(InvalidCredentials, "unknown_key")
            if (current === keys) provenOnWeb.set(credential.value, entry.id)
            return accept(entry, header, now)
          })),
          refused
        )
      } catch {
        return refused()
      }
    }

    // Suspended by `clockWith`, so that nothing is read before the effect runs.
    const authenticate = (request: RequestHeaders): Effect.Effect<Principal, AuthFailure> =>
      Effect.clockWith((clock) => check(request, () => clock.unsafeCurrentTimeMillis()))

    /** The key entry the presented key would prove (its identity), without the final comparison. */
    const claimedIdentity = (request: RequestHeaders): string | undefined => {
      const [credential] = read(request)
      if (credential._tag !== "Found") return undefined
      return platform._tag === "Node"
        ? (current as KeySet).get(platform.crypto.hash("sha256", credential.value, "hex"))?.id
        : provenOnWeb.get(credential.value)
    }

    const stillValid = (principal: Principal): Effect.Effect<boolean> =>
      Effect.clockWith((clock) =>
        Effect.map(Effect.either(settledKeys(current)), (keys) => {
          if (Either.isLeft(keys)) return false
          for (const entry of keys.right.values()) {
            if (entry.id === principal.keyId) {
              return entry.expiresAt === undefined || clock.unsafeCurrentTimeMillis() / 1000 < entry.expiresAt
            }
          }
          return false
        })
      )

    /** The new keys checked (all that can be checked without waiting), then put in force. */
    const replace = (keys: ReadonlyArray<KeySpecInput>): Either.Either<Keys, ConfigurationError> =>
      // No keys at run time revokes them all (fail closed); only a server that starts
      // without any is a configuration mistake.
      keys.length === 0 ? Either.right<Keys>(new Map()) : Either.flatMap(
        Either.flatMap(checkKeyEntries({ keys }), (input) => decodeOptions(ApiKeyOptionsSchema, input, "API key")),
        (decoded) => makeKeySet(decoded.keys, keyDigestOf(platform))
      )

    // In force before the change is announced, so whoever listens sees the new keys.
    const putInForce = (next: Keys) =>
      Effect.zipRight(
        Effect.sync(() => {
          current = next
          provenOnWeb.clear()
        }),
        SubscriptionRef.set(source, next)
      )

    // The keys are validated fully (digests settled) before they replace the old ones.
    const updateKeys = (keys: ReadonlyArray<KeySpecInput>) =>
      Effect.flatMap(
        Effect.flatMap(replace(keys), settledKeys),
        putInForce
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
      keyCount: () => current instanceof Promise ? options.keys.length : current.size,
      replaceKeysNow: (keys) => Effect.runSync(putInForce(Either.getOrThrowWith(replace(keys), (error) => error)))
    }
  })

/**
 * The `node:crypto` look-up: one-shot SHA-256, a map look-up and a constant-time
 * comparison, all synchronous. The entry the key proves, or undefined.
 */
const makeNodeCheck = (platform: Platforms.NodePlatform, keys: () => KeySet) => {
  const { hash, timingSafeEqual } = platform.crypto
  return (key: string): KeyEntry | undefined => {
    const digest = hash("sha256", key, "buffer")
    const entry = keys().get(digest.toString("hex"))
    // The Map lookup already compared digests; this constant-time check makes the
    // decision itself independent of where two digests first differ.
    // An unknown key is named by nothing derived from it: a digest prefix of a pasted
    // password or another service's key would be an offline oracle in the logs.
    return entry !== undefined && timingSafeEqual(entry.digest, digest) ? entry : undefined
  }
}
