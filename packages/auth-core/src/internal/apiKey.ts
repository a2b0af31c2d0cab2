import { hash, timingSafeEqual } from "node:crypto"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { AuthFailure, ChallengeParams } from "../AuthFailure.js"
import { ExpiredCredentials, InvalidCredentials } from "../AuthFailure.js"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { CredentialRead, RequestHeaders } from "../Credentials.js"
import { parseBearer, readSingle } from "../Credentials.js"
import type { Principal } from "../Principal.js"
import { failuresFor } from "./failures.js"
import {
  configurationError,
  decodeOptions,
  formatIssues,
  HeaderName,
  invalidOptions,
  Realm,
  SecretString,
  secretMessage
} from "./options.js"

const Label = Schema.String.pipe(
  Schema.filter((label) => /^[\x20-\x7e]{1,128}$/.test(label) || "a key label must be 1 to 128 printable ASCII characters")
)
const Scopes = Schema.Array(
  Schema.String.pipe(Schema.filter((s) => /^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s) || "a scope is visible ASCII without spaces, quotes or backslashes (RFC 6749 3.3)"))
)
const EntryMeta = {
  label: Schema.optional(Label),
  scopes: Schema.optional(Scopes),
  /** Seconds since the epoch after which the key is refused. */
  expiresAt: Schema.optional(Schema.Number.pipe(Schema.finite()))
}
const KeySpec = Schema.Union(
  SecretString,
  Schema.Struct({ key: SecretString, ...EntryMeta }),
  // The digest's form is checked in makeKeySet: a message from here would be replaced by the
  // override on `keys`, which must stay so that no key is ever quoted.
  Schema.Struct({ sha256: Schema.String, ...EntryMeta })
)

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
export type KeySpecInput = Schema.Schema.Encoded<typeof KeySpec>

/** One configured key, held only as its digest. */
export interface KeyEntry {
  readonly digest: Buffer
  /** Names the entry in logs and identities: the digest's first 8 hex digits. */
  readonly fingerprint: string
  /** The principal's identity and key id: `api-key:` and the digest's first 16 hex digits. */
  readonly id: string
  readonly label: string | undefined
  readonly scopes: ReadonlyArray<string>
  readonly expiresAt: number | undefined
}

/** The key set: digests in hex to entries, so a lookup costs the same whatever the count. */
export type KeySet = ReadonlyMap<string, KeyEntry>

const MIN_KEY_LENGTH = 16
const HOW_TO_MAKE_A_KEY =
  "make one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\""

const SHA256_HEX = /^[0-9a-f]{64}$/
const SHA256_PROBLEM =
  "must be the 64-character lower-case hex SHA-256 digest of the key's UTF-8 bytes, e.g. from: printf %s \"$KEY\" | sha256sum"

const sha256 = (text: string): Buffer => hash("sha256", text, "buffer")

const keyProblem = (key: string): string | undefined => {
  if (key.length === 0) return "is empty"
  if (/[,\s]/.test(key)) return "contains a comma or whitespace, which joined duplicate header lines would make ambiguous"
  if (!/^[\x21-\x7e]+$/.test(key)) return "contains characters other than visible ASCII, which HTTP header values cannot carry reliably"
  if (key.length < MIN_KEY_LENGTH) return `is shorter than ${MIN_KEY_LENGTH} characters`
  return undefined
}

/** Builds the key set, refusing bad and duplicate keys; messages name keys by position only. */
export const makeKeySet = (
  specs: ReadonlyArray<Schema.Schema.Type<typeof KeySpec>>
): Either.Either<KeySet, ConfigurationError> => {
  if (specs.length === 0) {
    return Either.left(configurationError(`Invalid API key options: keys is empty, so no request could pass; ${HOW_TO_MAKE_A_KEY}`))
  }
  const set = new Map<string, KeyEntry>()
  for (const [index, spec] of specs.entries()) {
    const entry = Redacted.isRedacted(spec) ? { key: spec } : spec
    let digest: Buffer
    if ("key" in entry) {
      const problem = keyProblem(Redacted.value(entry.key))
      if (problem !== undefined) {
        return Either.left(configurationError(`Invalid API key options: keys[${index}] ${problem}; ${HOW_TO_MAKE_A_KEY}`))
      }
      digest = sha256(Redacted.value(entry.key))
    } else {
      if (!SHA256_HEX.test(entry.sha256)) {
        return Either.left(configurationError(`Invalid API key options: keys[${index}].sha256 ${SHA256_PROBLEM}`))
      }
      digest = Buffer.from(entry.sha256, "hex")
    }
    const hex = digest.toString("hex")
    if (set.has(hex)) {
      return Either.left(configurationError(`Invalid API key options: keys[${index}] repeats an earlier key; each key must be distinct`))
    }
    set.set(hex, {
      digest,
      fingerprint: hex.slice(0, 8),
      id: `api-key:${hex.slice(0, 16)}`,
      label: entry.label,
      scopes: entry.scopes ?? [],
      expiresAt: entry.expiresAt
    })
  }
  return Either.right(set)
}

export type ApiKeyOptions = Schema.Schema.Type<typeof ApiKeyOptionsSchema>

const ENTRY_FIELDS = ["key", "sha256", "label", "scopes", "expiresAt"]
const decodeEntryMeta = Schema.decodeUnknownEither(Schema.Struct(EntryMeta), { errors: "all" })

/**
 * Says what is wrong with each key entry, naming fields but never quoting a key: the
 * schema's own message for `keys` is a blanket one, since its union would echo values.
 */
const entryProblems = (keys: unknown): ReadonlyArray<string> => {
  if (!Array.isArray(keys)) return []
  return keys.flatMap((entry: unknown, index): ReadonlyArray<string> => {
    const at = `keys[${index}]`
    if (typeof entry === "string" || Redacted.isRedacted(entry)) return []
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      return [`${at}: a key is a string, a Redacted string, or an entry { key | sha256, label?, scopes?, expiresAt? }`]
    }
    const fields = Object.keys(entry)
    const unknown = fields.filter((field) => !ENTRY_FIELDS.includes(field))
    if (unknown.length > 0) return [`${at}: unknown field ${unknown.join(", ")}; an entry has ${ENTRY_FIELDS.join(", ")}`]
    if (fields.includes("key") === fields.includes("sha256")) return [`${at}: give exactly one of key and sha256`]
    const { expiresAt, label, scopes } = entry as Record<string, unknown>
    const meta = Object.fromEntries(Object.entries({ expiresAt, label, scopes }).filter(([, value]) => value !== undefined))
    return Either.match(decodeEntryMeta(meta), { onLeft: (error) => formatIssues(error, [at]), onRight: () => [] })
  })
}

/** Decodes and checks the options synchronously: the Promise API throws from its constructor. */
export const parseOptions = (
  input: unknown
): Either.Either<{ readonly options: ApiKeyOptions; readonly keys: KeySet }, ConfigurationError> =>
  Either.flatMap(
    Either.flatMap(checkEntries(input), (input) => decodeOptions(ApiKeyOptionsSchema, input, "API key")),
    (options) => Either.map(makeKeySet(options.keys), (keys) => ({ options, keys }))
  )

const checkEntries = (input: unknown): Either.Either<unknown, ConfigurationError> => {
  const keys = typeof input === "object" && input !== null ? (input as { readonly keys?: unknown }).keys : undefined
  const problems = entryProblems(keys)
  return problems.length === 0 ? Either.right(input) : Either.left(invalidOptions("API key", problems))
}

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
     * an Exit without a fiber. Any exception while checking is a 401, never a 500 (contract
     * section 1).
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
          Either.flatMap(checkEntries({ keys }), (input) => decodeOptions(ApiKeyOptionsSchema, input, "API key")),
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
