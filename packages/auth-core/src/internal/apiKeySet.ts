/**
 * The configured API keys: how a key may be given (a string, a Redacted string, or an entry
 * with a key or its SHA-256), the checks that refuse weak, odd and repeated keys, and the set
 * they make, which holds only digests. Problems name keys by position, never by value.
 */
import { hash } from "node:crypto"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type { ConfigurationError } from "../ConfigurationError.js"
import { configurationError, formatIssues, invalidOptions, SecretString } from "./options.js"

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

/** The SHA-256 of a key's UTF-8 bytes: what the set is keyed by. */
export const sha256 = (text: string): Buffer => hash("sha256", text, "buffer")

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
