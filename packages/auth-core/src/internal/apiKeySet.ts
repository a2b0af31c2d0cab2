/**
 * The configured API keys: how a key may be given (a string, a Redacted string, or an entry
 * with a key or its SHA-256), the checks that refuse weak, odd and repeated keys, and the set
 * they make, which holds only digests. Problems name keys by position, never by value.
 */
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "../ConfigurationError.js"
import { configurationError, formatIssues, invalidOptions, SecretString } from "./options.js"
import type { Platform } from "./platform.js"
import { fromHex, toHex, webSha256 } from "./platform.js"

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
export const KeySpec = Schema.Union(
  SecretString,
  Schema.Struct({ key: SecretString, ...EntryMeta }),
  // The digest's form is checked in makeKeySet: a message from here would be replaced by the
  // override on `keys`, which must stay so that no key is ever quoted.
  Schema.Struct({ sha256: Schema.String, ...EntryMeta })
)

export type KeySpecInput = Schema.Schema.Encoded<typeof KeySpec>

/** One configured key, held only as its digest. */
export interface KeyEntry {
  readonly digest: Uint8Array
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

/**
 * A key set whose digests are still being computed (the web path: Web Crypto digests are
 * asynchronous), or why it was refused once they were: a key given in plain that repeats a
 * key given by its `sha256` is found only then.
 */
export type PendingKeySet = Promise<Either.Either<KeySet, ConfigurationError>>

const MIN_KEY_LENGTH = 16
const HOW_TO_MAKE_A_KEY =
  "make one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\""

const SHA256_HEX = /^[0-9a-f]{64}$/
const SHA256_PROBLEM =
  "must be the 64-character lower-case hex SHA-256 digest of the key's UTF-8 bytes, e.g. from: printf %s \"$KEY\" | sha256sum"

/** The SHA-256 of a key's UTF-8 bytes, in hex: what the set is keyed by; synchronous on `node:crypto`. */
export type KeyDigest = (key: string) => Uint8Array

/** `node:crypto`'s one-shot SHA-256 of a key, or undefined on the web path. */
export const keyDigestOf = (platform: Platform): KeyDigest | undefined => {
  if (platform._tag !== "Node") return undefined
  const hash = platform.crypto.hash
  return (key) => hash("sha256", key, "buffer")
}

const keyProblem = (key: string): string | undefined => {
  if (key.length === 0) return "is empty"
  if (/[,\s]/.test(key)) return "contains a comma or whitespace, which joined duplicate header lines would make ambiguous"
  if (!/^[\x21-\x7e]+$/.test(key)) return "contains characters other than visible ASCII, which HTTP header values cannot carry reliably"
  if (key.length < MIN_KEY_LENGTH) return `is shorter than ${MIN_KEY_LENGTH} characters`
  return undefined
}

type Meta = Omit<KeyEntry, "digest" | "fingerprint" | "id">

const entryOf = (digest: Uint8Array, meta: Meta): KeyEntry => {
  const hex = toHex(digest)
  return { digest, fingerprint: hex.slice(0, 8), id: `api-key:${hex.slice(0, 16)}`, ...meta }
}

const repeated = (index: number) =>
  configurationError(`Invalid API key options: keys[${index}] repeats an earlier key; each key must be distinct`)

/**
 * Builds the key set, refusing bad and duplicate keys; messages name keys by position only.
 * With a synchronous digest (`node:crypto`) the set is built at once. Without one (the web
 * path) every check that needs no digest is still made here, in the same order, and the set
 * is pending: its digests, and a plain key repeating a `sha256` entry, are settled later.
 */
export const makeKeySet = (
  specs: ReadonlyArray<Schema.Schema.Type<typeof KeySpec>>,
  digestOf: KeyDigest | undefined
): Either.Either<KeySet | PendingKeySet, ConfigurationError> => {
  if (specs.length === 0) {
    return Either.left(configurationError(`Invalid API key options: keys is empty, so no request could pass; ${HOW_TO_MAKE_A_KEY}`))
  }
  const set = new Map<string, KeyEntry>()
  // The web path: plain keys by their text, digests by their hex, each with its position.
  const plain = new Map<string, { readonly index: number; readonly meta: Meta }>()
  const given = new Map<string, number>()
  for (const [index, spec] of specs.entries()) {
    const entry = Redacted.isRedacted(spec) ? { key: spec } : spec
    const meta: Meta = { label: entry.label, scopes: entry.scopes ?? [], expiresAt: entry.expiresAt }
    let digest: Uint8Array
    if ("key" in entry) {
      const key = Redacted.value(entry.key)
      const problem = keyProblem(key)
      if (problem !== undefined) {
        return Either.left(configurationError(`Invalid API key options: keys[${index}] ${problem}; ${HOW_TO_MAKE_A_KEY}`))
      }
      if (digestOf === undefined) {
        if (plain.has(key)) return Either.left(repeated(index))
        plain.set(key, { index, meta })
        continue
      }
      digest = digestOf(key)
    } else {
      if (!SHA256_HEX.test(entry.sha256)) {
        return Either.left(configurationError(`Invalid API key options: keys[${index}].sha256 ${SHA256_PROBLEM}`))
      }
      if (digestOf === undefined) {
        if (given.has(entry.sha256)) return Either.left(repeated(index))
        given.set(entry.sha256, index)
      }
      digest = fromHex(entry.sha256)
    }
    const hex = toHex(digest)
    if (set.has(hex)) return Either.left(repeated(index))
    set.set(hex, entryOf(digest, meta))
  }
  return Either.right(digestOf === undefined ? settleDigests(set, plain, given) : set)
}

/** The web path's digests of plain keys, and the one duplicate only they can reveal. */
const settleDigests = async (
  set: Map<string, KeyEntry>,
  plain: ReadonlyMap<string, { readonly index: number; readonly meta: Meta }>,
  given: ReadonlyMap<string, number>
): Promise<Either.Either<KeySet, ConfigurationError>> => {
  const digests = await Promise.all([...plain].map(async ([key, spec]) => ({ digest: await webSha256(key), ...spec })))
  const clashes = digests.flatMap(({ digest, index }) => {
    const other = given.get(toHex(digest))
    return other === undefined ? [] : [Math.max(index, other)]
  })
  if (clashes.length > 0) return Either.left(repeated(Math.min(...clashes)))
  // In the order the keys were given, as the Node path builds it.
  const entries = [
    ...digests.map(({ digest, index, meta }) => [index, entryOf(digest, meta)] as const),
    ...[...set.values()].map((entry) => [given.get(toHex(entry.digest))!, entry] as const)
  ].sort(([a], [b]) => a - b)
  return Either.right(new Map(entries.map(([, entry]) => [toHex(entry.digest), entry])))
}

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

/** The key entries' own problems, before the options are decoded (see `entryProblems`). */
export const checkKeyEntries = (input: unknown): Either.Either<unknown, ConfigurationError> => {
  const keys = typeof input === "object" && input !== null ? (input as { readonly keys?: unknown }).keys : undefined
  const problems = entryProblems(keys)
  return problems.length === 0 ? Either.right(input) : Either.left(invalidOptions("API key", problems))
}
