/**
 * `allowedOrigins: ["*"]` (mcp-framework's default): every origin may call and is granted
 * CORS access, its own origin echoed (never a literal `*`), with `vary: Origin`. The `Host`
 * check that guards a loopback server against DNS rebinding stays on.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core"
import { CrossOrigin } from "@mcpgate/http"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"

const APP = "https://app.example.com"
const EXPOSE = "Mcp-Session-Id, WWW-Authenticate"

const facts = (fields: Partial<CrossOrigin.RequestFacts>): CrossOrigin.RequestFacts => ({
  origin: undefined,
  host: undefined,
  localAddress: undefined,
  ...fields
})

const forbidden = {
  status: 403,
  headers: { ...JSON_HEADERS, vary: "Origin" },
  body: Bodies.originNotAllowed
}

/** What a browser sends as `Origin`: scheme, host and an optional port. */
const browserOrigin = FastCheck.tuple(
  FastCheck.constantFrom("http", "https"),
  FastCheck.oneof(FastCheck.domain(), FastCheck.ipV4()),
  FastCheck.option(FastCheck.integer({ min: 1, max: 65535 }), { nil: undefined })
).map(([scheme, host, port]) => `${scheme}://${host.toLowerCase()}${port === undefined ? "" : `:${port}`}`)

/** Any Origin value at all, browsers' and others' (`null`, junk). */
const anyOrigin = FastCheck.oneof(browserOrigin, FastCheck.constant("null"), FastCheck.string({ minLength: 1 }))

const any = CrossOrigin.unsafeMake({ allowedOrigins: ["*"], credentialHeaders: ["X-API-Key"] })

describe("CrossOrigin with allowedOrigins: [\"*\"]", () => {
  it("decodes \"*\" alone and mixed with exact origins", () => {
    expect([...CrossOrigin.unsafeMake({ allowedOrigins: ["*"] }).allowedOrigins!]).toEqual(["*"])
    expect([...CrossOrigin.unsafeMake({ allowedOrigins: [APP, "*"] }).allowedOrigins!]).toEqual([APP, "*"])
  })

  it("refuses other wildcard spellings and patterns, naming \"*\" as the way to allow any", () => {
    for (const bad of ["*.example.com", "**", " *", "*:*", "https://*.example.com", "http://*"]) {
      const decoded = CrossOrigin.decode({ allowedOrigins: [bad] })
      if (Either.isRight(decoded)) throw new Error(`expected ${JSON.stringify(bad)} to be refused`)
      expect(decoded.left).toBeInstanceOf(ConfigurationError.ConfigurationError)
      expect(decoded.left.message).toBe(
        "Invalid cross-origin options:\n" +
          `  - allowedOrigins.0: ${JSON.stringify(bad)} is a pattern, and origins are matched exactly: ` +
          "list each origin, or write \"*\" for any"
      )
    }
  })

  it("refuses an empty origin, showing what one looks like", () => {
    const decoded = CrossOrigin.decode({ allowedOrigins: [""] })
    if (Either.isRight(decoded)) throw new Error("expected the empty origin to be refused")
    expect(decoded.left.message).toBe(
      "Invalid cross-origin options:\n" +
        "  - allowedOrigins.0: \"\" is not an origin: write scheme, host and port only, e.g. \"https://app.example.com\", or \"*\" for any"
    )
  })

  it.prop(
    "admits every Origin on a non-loopback socket",
    [anyOrigin],
    ([origin]) => {
      expect(CrossOrigin.check(any, facts({ origin, host: "mcp.example.com", localAddress: "10.0.0.5" }))).toBeUndefined()
    },
    { fastCheck: { numRuns: 300 } }
  )

  it.prop(
    "echoes every allowed Origin itself, exposes the MCP headers, with vary: Origin",
    [anyOrigin],
    ([origin]) => {
      expect(CrossOrigin.responseHeaders(any, origin)).toStrictEqual({
        "access-control-allow-origin": origin,
        "access-control-expose-headers": EXPOSE,
        vary: "Origin"
      })
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("grants nothing but vary: Origin to a request without Origin", () => {
    expect(CrossOrigin.responseHeaders(any, undefined)).toStrictEqual({ vary: "Origin" })
    expect(CrossOrigin.check(any, facts({ host: "localhost:3000", localAddress: "127.0.0.1" }))).toBeUndefined()
  })

  it.prop(
    "answers the preflight of any browser origin with 204 and that origin",
    [browserOrigin],
    ([origin]) => {
      expect(CrossOrigin.preflight(any, origin, ["GET", "POST", "DELETE"])).toStrictEqual({
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-expose-headers": EXPOSE,
          vary: "Origin",
          "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
          "access-control-allow-headers":
            "Content-Type, Accept, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-API-Key",
          "access-control-max-age": "600"
        },
        body: ""
      })
    },
    { fastCheck: { numRuns: 100 } }
  )

  it.prop(
    "mixed with exact origins: every origin is admitted and echoed, the listed ones as before",
    [browserOrigin],
    ([origin]) => {
      const mixed = CrossOrigin.unsafeMake({ allowedOrigins: [APP, "*"] })
      for (const each of [origin, APP]) {
        expect(CrossOrigin.check(mixed, facts({ origin: each }))).toBeUndefined()
        expect(CrossOrigin.responseHeaders(mixed, each)["access-control-allow-origin"]).toBe(each)
      }
    },
    { fastCheck: { numRuns: 100 } }
  )

  it("without \"*\", an unlisted origin is still refused (the wildcard is not implied)", () => {
    const exact = CrossOrigin.unsafeMake({ allowedOrigins: [APP] })
    expect(CrossOrigin.check(exact, facts({ origin: "https://other.example" }))).toStrictEqual(forbidden)
    expect(CrossOrigin.responseHeaders(exact, "https://other.example")).toStrictEqual({ vary: "Origin" })
  })

  it.prop(
    "does not switch off the loopback Host check: a rebinding page's Host is refused, whatever its Origin",
    [browserOrigin, FastCheck.domain().filter((name) => name.toLowerCase() !== "localhost" && !name.startsWith("127."))],
    ([origin, host]) => {
      for (const localAddress of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
        expect(CrossOrigin.check(any, facts({ origin, host, localAddress }))).toStrictEqual(forbidden)
        expect(CrossOrigin.check(any, facts({ origin, host: "127.0.0.1:8080", localAddress }))).toBeUndefined()
      }
    },
    { fastCheck: { numRuns: 100 } }
  )

  it("does not switch off allowedHosts either", () => {
    const policy = CrossOrigin.unsafeMake({ allowedOrigins: ["*"], allowedHosts: ["mcp.example.com"] })
    expect(CrossOrigin.check(policy, facts({ origin: APP, host: "mcp.example.com:443", localAddress: "10.0.0.5" })))
      .toBeUndefined()
    expect(CrossOrigin.check(policy, facts({ origin: APP, host: "evil.example", localAddress: "10.0.0.5" })))
      .toStrictEqual(forbidden)
  })
})
