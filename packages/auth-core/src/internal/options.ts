import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ConfigurationError } from "../ConfigurationError.js"

/** Refuse misspelled options: the reference silently ran such servers without auth. */
const PARSE_OPTIONS = { onExcessProperty: "error", errors: "all" } as const

/**
 * The issues of a parse error, one line each. An optional field that fails is also
 * reported as "Expected undefined"; that line says nothing to a user and is dropped when
 * the same path, or one inside it, has a better one.
 */
export const formatIssues = (error: ParseResult.ParseError, prefix: ReadonlyArray<PropertyKey> = []): ReadonlyArray<string> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  // A symbol key (an odd options object) must be named, not crash the report.
  const pathOf = (issue: typeof issues[number]) => [...prefix, ...issue.path].map(String).join(".")
  const useless = (issue: typeof issues[number]) =>
    issue.message.startsWith("Expected undefined,") &&
    issues.some((other) =>
      other !== issue && (pathOf(other) === pathOf(issue) || pathOf(other).startsWith(pathOf(issue) + "."))
    )
  return [
    ...new Set(
      issues.filter((issue) => !useless(issue)).map((issue) => `${pathOf(issue) === "" ? "" : pathOf(issue) + ": "}${issue.message}`)
    )
  ]
}

/**
 * Decodes options, synchronously so that Promise-API constructors can throw. Secret-bearing
 * schemas carry override messages, so no issue below quotes a secret.
 */
export const decodeOptions = <A, I>(
  schema: Schema.Schema<A, I>,
  input: unknown,
  what: string
): Either.Either<A, ConfigurationError> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(schema, PARSE_OPTIONS)(input),
    (error) => invalidOptions(what, formatIssues(error))
  )

/** The error for options with these problems, one line each. */
export const invalidOptions = (what: string, problems: ReadonlyArray<string>) =>
  new ConfigurationError({ message: `Invalid ${what} options:\n${problems.map((problem) => `  - ${problem}`).join("\n")}` })

/** A message that replaces every nested one, so that no actual value is echoed. */
export const secretMessage = (message: string) => ({
  message: () => ({ message, override: true })
})

// RFC 9110 5.1 / 5.6.2: a field name is a token.
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** An HTTP header name. */
/** A count: a whole number of at least 1. */
export const PositiveInt = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n) && n > 0 || `${n} is not a positive whole number`)
)

export const HeaderName = Schema.String.pipe(
  Schema.filter((name) =>
    FIELD_NAME.test(name) ||
    `${JSON.stringify(name)} is not a valid HTTP header name: use letters, digits and "-", e.g. "X-API-Key"`
  )
)

/** A realm: printable ASCII, so it can be quoted in a challenge without ambiguity. */
export const Realm = Schema.String.pipe(
  Schema.filter((realm) =>
    /^[\x20-\x7e]*$/.test(realm) || "realm must be printable ASCII (it is sent in WWW-Authenticate)"
  )
)

/** An absolute http(s) URL, as sent in `resource_metadata`. */
export const HttpUrl = Schema.String.pipe(
  Schema.filter((url) => {
    try {
      const parsed = new URL(url)
      if (parsed.protocol === "https:" || parsed.protocol === "http:") return /^[\x21-\x7e]+$/.test(url)
    } catch {
      // fall through
    }
    return `${JSON.stringify(url)} is not an absolute http(s) URL`
  })
)

/** A request path as a server option: starts with "/", visible ASCII, no query or fragment. */
export const Path = Schema.String.pipe(
  Schema.filter((path) =>
    /^\/[\x21-\x7e]*$/.test(path) && !/[?#]/.test(path) ||
    `${JSON.stringify(path)} is not a path: start with "/", no query or fragment, e.g. "/sse"`
  )
)

/**
 * Any origin may call and is granted CORS access (mcp-framework's default). Safe only
 * because credentials travel in headers a page must be given, never in cookies; the `Host`
 * check still guards a loopback server against DNS rebinding.
 */
export const ANY_ORIGIN = "*"

/** An exact origin (`https://app.example.com`), or `"*"` for any. */
export const Origin = Schema.String.pipe(
  Schema.filter((origin) => {
    if (origin === ANY_ORIGIN) return true
    // `new URL` takes "https://*.example.com" as a host name: it would match nothing, silently.
    if (origin.includes("*")) {
      return `${JSON.stringify(origin)} is a pattern, and origins are matched exactly: list each origin, or write "*" for any`
    }
    try {
      const url = new URL(origin)
      if ((url.protocol === "http:" || url.protocol === "https:") && url.origin === origin) return true
    } catch {
      // fall through
    }
    return `${JSON.stringify(origin)} is not an origin: write scheme, host and port only, e.g. "https://app.example.com", or "*" for any`
  })
)

/** A host name without scheme or port (`mcp.example.com`, `[::1]`). */
export const HostName = Schema.String.pipe(
  Schema.filter((host) =>
    /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)$/.test(host) ||
    `${JSON.stringify(host)} is not a host name: write the name only, without scheme or port, e.g. "mcp.example.com"`
  )
)

/** A plain string or an already `Redacted` one, decoded to `Redacted` at once. */
export const SecretString = Schema.Union(
  Schema.RedactedFromSelf(Schema.String),
  Schema.Redacted(Schema.String)
)

export const configurationError = (message: string) => new ConfigurationError({ message })

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  s: 1, sec: 1, secs: 1, second: 1, seconds: 1,
  m: 60, min: 60, mins: 60, minute: 60, minutes: 60,
  h: 3600, hr: 3600, hrs: 3600, hour: 3600, hours: 3600,
  d: 86400, day: 86400, days: 86400,
  w: 604800, week: 604800, weeks: 604800
}
const DURATION_TEXT = /^(\d+|\d*\.\d+) ?([a-z]+)$/i

/** Seconds from jose-style text such as "30s", "5 minutes" or "1h". */
export const secondsFromText = (text: string): number | undefined => {
  const match = DURATION_TEXT.exec(text.trim())
  if (match === null) return undefined
  const unit = UNIT_SECONDS[match[2]!.toLowerCase()]
  return unit === undefined ? undefined : Number(match[1]) * unit
}

/**
 * A duration in seconds: a number of seconds, jose-style text ("1h"), or an Effect `Duration`.
 */
export const Seconds = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String, Schema.DurationFromSelf),
  Schema.Number,
  {
    strict: true,
    decode: (input, _, ast) => {
      const seconds = typeof input === "number"
        ? input
        : typeof input === "string"
        ? secondsFromText(input)
        : Duration.toSeconds(input)
      return seconds !== undefined && Number.isFinite(seconds) && seconds >= 0
        ? ParseResult.succeed(seconds)
        : ParseResult.fail(
          new ParseResult.Type(
            ast,
            input,
            `${typeof input === "object" ? "a Duration" : JSON.stringify(input)} is not a duration: use a number of seconds, text such as "30s", "5m" or "1h", or a Duration`
          )
        )
    },
    encode: ParseResult.succeed
  }
)
