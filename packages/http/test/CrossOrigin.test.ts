import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError, HttpAnswer } from "@mcpgate/auth-core"
import { CrossOrigin } from "@mcpgate/http"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import { thrownBy } from "@mcpgate/testing/thrownBy"

const APP = "https://app.example.com"
const OTHER_APP = "http://localhost:5173"

/** The message of the ConfigurationError that decoding these options fails with. */
const refusalOf = (options: unknown): string => {
  const decoded = CrossOrigin.decode(options)
  if (Either.isRight(decoded)) throw new Error(`expected ${JSON.stringify(options)} to be refused`)
  expect(decoded.left).toBeInstanceOf(ConfigurationError.ConfigurationError)
  return decoded.left.message
}

/** The contract's 403 for a refused Origin or Host, with these extra headers. */
const forbidden = (extra: Record<string, string> = {}): HttpAnswer.HttpAnswer => ({
  status: 403,
  headers: { ...JSON_HEADERS, ...extra },
  body: Bodies.originNotAllowed
})

const facts = (fields: Partial<CrossOrigin.RequestFacts>): CrossOrigin.RequestFacts => ({
  origin: undefined,
  host: undefined,
  localAddress: undefined,
  ...fields
})

const octet = FastCheck.integer({ min: 0, max: 255 })
const port = FastCheck.integer({ min: 0, max: 65535 })
/** An optional `:port` suffix. */
const portSuffix = FastCheck.option(port, { nil: undefined }).map((p) => (p === undefined ? "" : `:${p}`))
/** Any 127.x.y.z address. */
const loopbackV4 = FastCheck.tuple(octet, octet, octet).map(([x, y, z]) => `127.${x}.${y}.${z}`)
/** A socket address on the loopback interface, as Node reports it. */
const loopbackSocket = FastCheck.oneof(
  FastCheck.constant("::1"),
  loopbackV4,
  loopbackV4.map((address) => `::ffff:${address}`)
)
/** Hostnames that do not name this machine. */
const foreignHost = FastCheck.domain().filter((name) => name.toLowerCase() !== "localhost" && !name.startsWith("127."))

describe("CrossOrigin", () => {
  describe("decode", () => {
    it("accepts exact origins and credential header names", () => {
      const policy = CrossOrigin.unsafeMake({ allowedOrigins: [APP, OTHER_APP, "https://app.example.com:8443"], credentialHeaders: ["X-API-Key"] })
      expect([...policy.allowedOrigins!]).toEqual([APP, OTHER_APP, "https://app.example.com:8443"])
    })

    it("without allowedOrigins has no origin list at all, unlike an empty one", () => {
      expect(CrossOrigin.unsafeMake().allowedOrigins).toBeUndefined()
      expect(CrossOrigin.unsafeMake({}).allowedOrigins).toBeUndefined()
      expect(CrossOrigin.unsafeMake({ allowedOrigins: [] }).allowedOrigins).toEqual(new Set())
    })

    it("refuses what is not an origin, quoting it and showing what one looks like", () => {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["https://app.example.com/mcp", "a path"],
        ["https://app.example.com/", "a trailing slash"],
        ["ftp://app.example.com", "a scheme other than http(s)"],
        ["app.example.com", "no scheme"],
        ["https://app.example.com?x=1", "a query"],
        ["https://user@app.example.com", "user information"],
        ["https://APP.example.com", "an upper-case host, which no browser sends"],
        ["http://localhost:80", "the scheme's default port, which no browser sends"],
        ["null", "the opaque origin"],
        ["", "nothing"]
      ]
      for (const [origin, what] of cases) {
        const message = refusalOf({ allowedOrigins: [APP, origin] })
        expect(message, what).toBe(
          "Invalid cross-origin options:\n" +
            `  - allowedOrigins.1: ${JSON.stringify(origin)} is not an origin: write scheme, host and port only, e.g. "https://app.example.com", or "*" for any`
        )
      }
    })

    it("lists every bad origin, each on its own line", () => {
      const message = refusalOf({ allowedOrigins: ["https://a.example/", APP, "ftp://b.example"] })
      expect(message.split("\n")).toEqual([
        "Invalid cross-origin options:",
        "  - allowedOrigins.0: \"https://a.example/\" is not an origin: write scheme, host and port only, e.g. \"https://app.example.com\", or \"*\" for any",
        "  - allowedOrigins.2: \"ftp://b.example\" is not an origin: write scheme, host and port only, e.g. \"https://app.example.com\", or \"*\" for any"
      ])
    })

    it("refuses unknown keys, naming them and the known ones", () => {
      expect(refusalOf({ allowedOrigin: [APP] })).toBe(
        "Invalid cross-origin options:\n  - allowedOrigin: is unexpected, expected: \"allowedOrigins\" | \"allowedHosts\" | \"credentialHeaders\""
      )
    })

    it("refuses a credential header that is not an HTTP field name", () => {
      expect(refusalOf({ credentialHeaders: ["X API Key"] })).toBe(
        "Invalid cross-origin options:\n" +
          "  - credentialHeaders.0: \"X API Key\" is not a valid HTTP header name: use letters, digits and \"-\", e.g. \"X-API-Key\""
      )
    })

    it("make throws the same ConfigurationError", () => {
      const error = thrownBy(() => CrossOrigin.unsafeMake({ allowedOrigins: ["https://app.example.com/"] }))
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
      expect((error as Error).message).toContain("allowedOrigins.0: \"https://app.example.com/\" is not an origin")
    })
  })

  describe("check: the Origin", () => {
    const policy = CrossOrigin.unsafeMake({ allowedOrigins: [APP] })

    it("refuses a present Origin that is not allowed with the contract's 403 and vary: Origin", () => {
      for (const origin of ["https://evil.example", "http://app.example.com", "https://app.example.com:443x", "null", ""]) {
        expect(CrossOrigin.check(policy, facts({ origin }))).toStrictEqual(forbidden({ vary: "Origin" }))
      }
    })

    it("compares origins exactly: no prefix, suffix or case-insensitive match", () => {
      for (const origin of [`${APP}.evil.example`, `${APP}/`, "https://APP.example.com", "https://example.com"]) {
        expect(CrossOrigin.check(policy, facts({ origin }))).toStrictEqual(forbidden({ vary: "Origin" }))
      }
    })

    it("passes an allowed Origin, and a request without Origin (not a browser's cross-origin request)", () => {
      expect(CrossOrigin.check(policy, facts({ origin: APP }))).toBeUndefined()
      expect(CrossOrigin.check(policy, facts({}))).toBeUndefined()
    })

    it("refuses every present Origin when the list is empty", () => {
      const none = CrossOrigin.unsafeMake({ allowedOrigins: [] })
      expect(CrossOrigin.check(none, facts({ origin: APP }))).toStrictEqual(forbidden({ vary: "Origin" }))
      expect(CrossOrigin.check(none, facts({}))).toBeUndefined()
    })

    it.prop(
      "passes any Origin when no allowed origins are configured",
      [FastCheck.oneof(FastCheck.webUrl(), FastCheck.string())],
      ([origin]) => {
        expect(CrossOrigin.check(CrossOrigin.unsafeMake(), facts({ origin }))).toBeUndefined()
      },
      { fastCheck: { numRuns: 100 } }
    )
  })

  describe("check: the Host of a loopback server (DNS rebinding)", () => {
    const open = CrossOrigin.unsafeMake()

    it.prop(
      "passes any 127.x.y.z Host, with or without any port, on any loopback socket",
      [loopbackV4, portSuffix, loopbackSocket],
      ([host, suffix, localAddress]) => {
        expect(CrossOrigin.check(open, facts({ host: host + suffix, localAddress }))).toBeUndefined()
      },
      { fastCheck: { numRuns: 300 } }
    )

    it.prop(
      "passes localhost in any casing and [::1], with or without a port",
      [FastCheck.constantFrom("localhost", "LOCALHOST", "LocalHost", "[::1]"), portSuffix, loopbackSocket],
      ([host, suffix, localAddress]) => {
        expect(CrossOrigin.isLoopbackHost(host + suffix)).toBe(true)
        expect(CrossOrigin.check(open, facts({ host: host + suffix, localAddress }))).toBeUndefined()
      },
      { fastCheck: { numRuns: 100 } }
    )

    it.prop(
      "refuses any other hostname on a loopback socket with the 403",
      [foreignHost, portSuffix, loopbackSocket],
      ([host, suffix, localAddress]) => {
        expect(CrossOrigin.isLoopbackHost(host + suffix)).toBe(false)
        expect(CrossOrigin.check(open, facts({ host: host + suffix, localAddress }))).toStrictEqual(forbidden())
      },
      { fastCheck: { numRuns: 300 } }
    )

    it("refuses names that only look like loopback", () => {
      for (
        const host of [
          "127.0.0.1.nip.io",
          "localhost.evil.example",
          "evil.example:80@127.0.0.1",
          "127.0.0.1:80:80",
          "127.0.0.1:",
          "127.0.0.1:123456",
          "[::1",
          "::1",
          "[::2]",
          "[::1]x",
          "localhost:port",
          "10.0.0.1",
          "0.0.0.0",
          "128.0.0.1",
          " localhost",
          ""
        ]
      ) {
        expect(CrossOrigin.isLoopbackHost(host), host).toBe(false)
        expect(CrossOrigin.check(open, facts({ host, localAddress: "127.0.0.1" })), host).toStrictEqual(forbidden())
      }
    })

    it("refuses a request without Host on a loopback socket", () => {
      for (const localAddress of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
        expect(CrossOrigin.check(open, facts({ localAddress }))).toStrictEqual(forbidden())
      }
    })

    it.prop(
      "skips the Host check on a socket that is not loopback",
      [
        FastCheck.oneof(FastCheck.ipV4(), FastCheck.ipV6()).filter((address) => !CrossOrigin.isLoopbackAddress(address)),
        FastCheck.option(foreignHost, { nil: undefined })
      ],
      ([localAddress, host]) => {
        expect(CrossOrigin.check(open, facts({ host, localAddress }))).toBeUndefined()
      },
      { fastCheck: { numRuns: 200 } }
    )

    it("skips the Host check when the local address is unknown", () => {
      expect(CrossOrigin.check(open, facts({ host: "evil.example" }))).toBeUndefined()
    })

    it("adds vary: Origin to the Host refusal when origins are configured", () => {
      const policy = CrossOrigin.unsafeMake({ allowedOrigins: [APP] })
      expect(CrossOrigin.check(policy, facts({ origin: APP, host: "evil.example", localAddress: "127.0.0.1" })))
        .toStrictEqual(forbidden({ vary: "Origin" }))
      expect(CrossOrigin.check(policy, facts({ origin: APP, host: "127.0.0.1:3000", localAddress: "127.0.0.1" })))
        .toBeUndefined()
    })
  })

  describe("check: allowedHosts", () => {
    const policy = CrossOrigin.unsafeMake({ allowedHosts: ["mcp.example.com", "LOCALHOST"] })

    it("accepts a listed host with any port or none, in any letter case, on any socket", () => {
      FastCheck.assert(
        FastCheck.property(
          FastCheck.constantFrom("mcp.example.com", "MCP.Example.COM", "localhost"),
          portSuffix,
          FastCheck.constantFrom("127.0.0.1", "10.0.0.5", "::1"),
          (name, suffix, localAddress) => {
            expect(CrossOrigin.check(policy, facts({ host: `${name}${suffix}`, localAddress }))).toBeUndefined()
          }
        )
      )
    })

    it("refuses any other host, a missing one and a malformed one, even on a loopback socket", () => {
      for (const host of [undefined, "127.0.0.1:8080", "evil.example", "mcp.example.com.evil.example", "mcp.example.com:x", ""]) {
        expect(CrossOrigin.check(policy, facts({ host, localAddress: "127.0.0.1" }))).toStrictEqual(forbidden())
      }
    })

    it("refuses host names with a scheme, a port or a path at configuration", () => {
      for (const bad of ["https://mcp.example.com", "mcp.example.com:443", "mcp.example.com/x", ""]) {
        expect(refusalOf({ allowedHosts: [bad] })).toContain("is not a host name")
      }
    })
  })

  describe("isLoopbackAddress", () => {
    it("knows 127.0.0.0/8, ::1 and IPv4-mapped loopback", () => {
      for (const address of ["127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "::ffff:127.0.0.1", "::FFFF:127.0.0.1"]) {
        expect(CrossOrigin.isLoopbackAddress(address), address).toBe(true)
      }
    })

    it("refuses every other address", () => {
      for (
        const address of ["10.0.0.1", "0.0.0.0", "128.0.0.1", "::", "::2", "::ffff:10.0.0.1", "fe80::1", "127.0.0.1.5", "localhost", ""]
      ) {
        expect(CrossOrigin.isLoopbackAddress(address), address).toBe(false)
      }
    })

    it.prop(
      "holds exactly for IPv4 addresses whose first octet is 127",
      [FastCheck.ipV4()],
      ([address]) => {
        expect(CrossOrigin.isLoopbackAddress(address)).toBe(address.startsWith("127."))
        expect(CrossOrigin.isLoopbackAddress(`::ffff:${address}`)).toBe(address.startsWith("127."))
      },
      { fastCheck: { numRuns: 300 } }
    )
  })

  describe("responseHeaders", () => {
    const policy = CrossOrigin.unsafeMake({ allowedOrigins: [APP, OTHER_APP] })

    it("echoes an allowed origin, exposes the session id and the challenge, with vary: Origin", () => {
      expect(CrossOrigin.responseHeaders(policy, APP)).toStrictEqual({
        "access-control-allow-origin": APP,
        "access-control-expose-headers": "Mcp-Session-Id, WWW-Authenticate",
        vary: "Origin"
      })
      expect(CrossOrigin.responseHeaders(policy, OTHER_APP)["access-control-allow-origin"]).toBe(OTHER_APP)
    })

    it("grants nothing to another origin or to none, and still says the answer varies by Origin", () => {
      expect(CrossOrigin.responseHeaders(policy, "https://evil.example")).toStrictEqual({ vary: "Origin" })
      expect(CrossOrigin.responseHeaders(policy, undefined)).toStrictEqual({ vary: "Origin" })
    })

    it("sends no CORS headers at all when no origins are configured", () => {
      expect(CrossOrigin.responseHeaders(CrossOrigin.unsafeMake(), APP)).toStrictEqual({})
    })

    it.prop(
      "never echoes an origin that is not allowed, and never a wildcard",
      [FastCheck.oneof(FastCheck.webUrl(), FastCheck.string())],
      ([origin]) => {
        const headers = CrossOrigin.responseHeaders(policy, origin)
        const echoed = headers["access-control-allow-origin"]
        expect(echoed === undefined || (echoed === origin && (origin === APP || origin === OTHER_APP))).toBe(true)
        expect(Object.values(headers)).not.toContain("*")
      },
      { fastCheck: { numRuns: 200 } }
    )
  })

  describe("preflight", () => {
    const policy = CrossOrigin.unsafeMake({ allowedOrigins: [APP], credentialHeaders: ["X-API-Key"] })
    const allowHeaders = (answer: HttpAnswer.HttpAnswer) => answer.headers["access-control-allow-headers"]!.split(", ")

    it("answers 204 with no body, the allowed methods and OPTIONS, and the CORS headers of the origin", () => {
      expect(CrossOrigin.preflight(policy, APP, ["GET", "POST", "DELETE"])).toStrictEqual({
        status: 204,
        headers: {
          "access-control-allow-origin": APP,
          "access-control-expose-headers": "Mcp-Session-Id, WWW-Authenticate",
          vary: "Origin",
          "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
          "access-control-allow-headers":
            "Content-Type, Accept, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-API-Key",
          "access-control-max-age": "600"
        },
        body: ""
      })
    })

    it("lists OPTIONS once, even when the methods already name it", () => {
      expect(CrossOrigin.preflight(policy, APP, ["GET", "OPTIONS"]).headers["access-control-allow-methods"]).toBe(
        "GET, OPTIONS"
      )
      expect(CrossOrigin.preflight(policy, APP, []).headers["access-control-allow-methods"]).toBe("OPTIONS")
    })

    it("grants no origin to a preflight from an origin that is not allowed", () => {
      const answer = CrossOrigin.preflight(policy, "https://evil.example", ["POST"])
      expect(answer.status).toBe(204)
      expect(answer.headers["access-control-allow-origin"]).toBeUndefined()
      expect(answer.headers["vary"]).toBe("Origin")
    })

    it("always allows the MCP headers, whatever the credential headers", () => {
      for (const answer of [CrossOrigin.preflight(CrossOrigin.unsafeMake(), undefined, ["POST"]), CrossOrigin.preflight(policy, APP, ["POST"])]) {
        expect(allowHeaders(answer)).toEqual(expect.arrayContaining([
          "Content-Type",
          "Accept",
          "Authorization",
          "Mcp-Session-Id",
          "Mcp-Protocol-Version",
          "Last-Event-ID"
        ]))
      }
    })

    it("adds the credential headers once each, whatever their casing", () => {
      const policy = CrossOrigin.unsafeMake({
        credentialHeaders: ["X-API-Key", "x-api-key", "AUTHORIZATION", "X-Team-Key", "mcp-session-id"]
      })
      expect(allowHeaders(CrossOrigin.preflight(policy, undefined, ["POST"]))).toEqual([
        "Content-Type",
        "Accept",
        "Authorization",
        "Mcp-Session-Id",
        "Mcp-Protocol-Version",
        "Last-Event-ID",
        "X-API-Key",
        "X-Team-Key"
      ])
    })

    it.prop(
      "never lists a header twice in any casing, and lists every credential header",
      [FastCheck.array(FastCheck.constantFrom("X-API-Key", "x-api-key", "Authorization", "authorization", "X-Team-Key", "Accept", "LAST-EVENT-ID"), { maxLength: 8 })],
      ([credentialHeaders]) => {
        const names = allowHeaders(CrossOrigin.preflight(CrossOrigin.unsafeMake({ credentialHeaders }), undefined, ["POST"]))
        const lower = names.map((name) => name.toLowerCase())
        expect(new Set(lower).size).toBe(lower.length)
        for (const name of credentialHeaders) expect(lower).toContain(name.toLowerCase())
      },
      { fastCheck: { numRuns: 150 } }
    )
  })

  describe("withHeaders", () => {
    it("adds headers to an answer without changing it in place", () => {
      const answer = CrossOrigin.withHeaders(HttpAnswer.originNotAllowed, { vary: "Origin" })
      expect(answer).toStrictEqual(forbidden({ vary: "Origin" }))
      expect(HttpAnswer.originNotAllowed).toStrictEqual(forbidden())
      expect(CrossOrigin.withHeaders(HttpAnswer.originNotAllowed, {})).toBe(HttpAnswer.originNotAllowed)
    })
  })
})
