import { describe, expect, it } from "@effect/vitest"
import { Credentials } from "@mcpgate/auth-core"
import * as FastCheck from "effect/FastCheck"
import { b64token, casingOf, headerShapes } from "@mcpgate/testing/apiKeys"
import { receiveHeaders, sendRaw } from "@mcpgate/testing/nodeRequest"

const { headerLines, isCompactJws, MAX_TOKEN_LENGTH, parseBareToken, parseBearer, readBearer, readSingle } = Credentials

const found = (value: string): Credentials.CredentialRead => ({ _tag: "Found", value })
const absent: Credentials.CredentialRead = { _tag: "Absent" }
const tooLarge: Credentials.CredentialRead = { _tag: "TooLarge" }
const malformed = (reason: "empty_header" | "duplicate_header" | "malformed_header"): Credentials.CredentialRead => ({
  _tag: "Malformed",
  reason
})

/** A syntactically valid compact JWS (header {"alg":"HS256","typ":"JWT"}). */
const JWS = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"

describe("Credentials", () => {
  describe("reading one header (section 3)", () => {
    for (const shape of headerShapes) {
      describe(`from ${shape.name}`, () => {
        it("finds the value whatever the casing of the name", () => {
          const request = shape.make([["X-Api-KEY", "value-1"], ["Accept", "application/json"]])
          expect(readSingle(request, "x-api-key")).toEqual(found("value-1"))
          expect(readSingle(request, "X-API-Key")).toEqual(found("value-1"))
          expect(readSingle(request, "X-API-KEY")).toEqual(found("value-1"))
        })

        it("keeps the value exactly as sent: no trimming, no case folding", () => {
          const request = shape.make([["x-api-key", "MiXeD-Case_Value"]])
          expect(readSingle(request, "x-api-key")).toEqual(found("MiXeD-Case_Value"))
        })

        it("is Absent when the header is not there", () => {
          const request = shape.make([["Accept", "application/json"]])
          expect(readSingle(request, "x-api-key")).toEqual(absent)
          expect(headerLines(request, "x-api-key")).toEqual([])
        })

        it("is Malformed(empty_header) when the header is empty", () => {
          expect(readSingle(shape.make([["x-api-key", ""]]), "x-api-key")).toEqual(malformed("empty_header"))
        })

        it("does not match a name that only starts or ends like the wanted one", () => {
          const request = shape.make([["x-api-key-2", "a"], ["my-x-api-key", "b"]])
          expect(readSingle(request, "x-api-key")).toEqual(absent)
        })
      })
    }

    describe("duplicate lines are Malformed(duplicate_header)", () => {
      it("in a header record holding an array of two values", () => {
        expect(readSingle({ "x-api-key": ["one", "two"] }, "X-API-Key")).toEqual(malformed("duplicate_header"))
        expect(headerLines({ "x-api-key": ["one", "two"] }, "X-API-Key")).toEqual(["one", "two"])
      })

      it("in a header record holding two keys that differ only in case", () => {
        const request = { "X-API-Key": "one", "x-api-key": "two" }
        expect(readSingle(request, "x-api-key")).toEqual(malformed("duplicate_header"))
        expect([...headerLines(request, "x-api-key")].sort()).toEqual(["one", "two"])
      })

      it("in a Node request's headersDistinct", () => {
        const request = { headersDistinct: { authorization: ["Bearer a", "Bearer b"] } }
        expect(readSingle(request, "Authorization")).toEqual(malformed("duplicate_header"))
      })

      it("even when both lines carry the same value", () => {
        expect(readSingle({ "x-api-key": ["same", "same"] }, "x-api-key")).toEqual(malformed("duplicate_header"))
      })
    })

    it("reads a single-element array as the one line it is", () => {
      expect(readSingle({ "x-api-key": ["only"] }, "x-api-key")).toEqual(found("only"))
      expect(readSingle({ headersDistinct: { "x-api-key": ["only"] } }, "x-api-key")).toEqual(found("only"))
    })

    it("treats an undefined value or an empty array as no line at all", () => {
      expect(readSingle({ "x-api-key": undefined }, "x-api-key")).toEqual(absent)
      expect(readSingle({ "x-api-key": [] }, "x-api-key")).toEqual(absent)
      expect(readSingle({ headersDistinct: {} }, "x-api-key")).toEqual(absent)
    })

    it("reads a Node request through headersDistinct, not headers", () => {
      // `headers` would offer a joined line; only `headersDistinct` shows there were two.
      const request = { headers: { "x-api-key": "one, two" }, headersDistinct: { "x-api-key": ["one", "two"] } }
      expect(readSingle(request, "x-api-key")).toEqual(malformed("duplicate_header"))
    })

    it("sees the two lines Node received, where Node's own headers joins or drops them", async () => {
      const received = await receiveHeaders([
        ["X-API-Key", "first-line-value"],
        ["x-api-key", "second-line-value"],
        ["Authorization", "Bearer first"],
        ["authorization", "Bearer second"],
        ["X-Single", "alone"]
      ])
      // What a naive reader of `headers` would get:
      expect(received.headers["x-api-key"]).toBe("first-line-value, second-line-value")
      expect(received.headers["authorization"]).toBe("Bearer first")
      // What the library reads:
      const request = { headersDistinct: received.headersDistinct }
      expect(readSingle(request, "X-API-Key")).toEqual(malformed("duplicate_header"))
      expect(readSingle(request, "Authorization")).toEqual(malformed("duplicate_header"))
      expect(readSingle(request, "X-Single")).toEqual(found("alone"))
    })

    describe("reads a Node request's headers as code holds them when the check runs", () => {
      /** What `readSingle` finds once `edit` has changed a real request's `headers`. */
      const readAfter = (
        lines: ReadonlyArray<readonly [string, string]>,
        name: string,
        edit: (headers: Record<string, string | Array<string> | undefined>) => void
      ) =>
        sendRaw(lines, async (request) => {
          edit(request.headers)
          return readSingle(request, name)
        })

      it("a header set in code that never came over the wire, in any casing of its name", async () => {
        expect(await readAfter([], "X-API-Key", (headers) => (headers["x-api-key"] = "set-in-code"))).toEqual(found("set-in-code"))
        expect(await readAfter([], "x-api-key", (headers) => (headers["X-Api-Key"] = "set-in-code"))).toEqual(found("set-in-code"))
        expect(await readAfter([], "authorization", (headers) => (headers["authorization"] = ["Bearer t"]))).toEqual(found("Bearer t"))
      })

      it("a header replaced in code: the new value, even where the wire had two lines", async () => {
        expect(await readAfter([["X-API-Key", "from-wire"]], "x-api-key", (headers) => (headers["x-api-key"] = "replaced")))
          .toEqual(found("replaced"))
        expect(
          await readAfter([["Authorization", "Bearer a"], ["Authorization", "Bearer b"]], "authorization", (headers) => {
            headers["authorization"] = "Bearer chosen-by-code"
          })
        ).toEqual(found("Bearer chosen-by-code"))
      })

      it("a header deleted in code: absent, though it came over the wire", async () => {
        expect(await readAfter([["X-API-Key", "from-wire"]], "x-api-key", (headers) => delete headers["x-api-key"])).toEqual(absent)
      })

      it("repeated wire lines that code left as Node made them stay malformed", async () => {
        const repeated = [["X-API-Key", "one"], ["x-api-key", "two"], ["Authorization", "Bearer a"], ["authorization", "Bearer b"]] as const
        expect(await readAfter(repeated, "x-api-key", () => undefined)).toEqual(malformed("duplicate_header"))
        expect(await readAfter(repeated, "authorization", () => undefined)).toEqual(malformed("duplicate_header"))
        // Reassigning the value Node made changes nothing.
        expect(await readAfter(repeated, "authorization", (headers) => (headers["authorization"] = "Bearer a")))
          .toEqual(malformed("duplicate_header"))
      })

      it("two values set in code are two lines: malformed", async () => {
        expect(await readAfter([], "x-api-key", (headers) => (headers["x-api-key"] = ["one", "two"]))).toEqual(
          malformed("duplicate_header")
        )
      })
    })

    it("cannot see duplicate lines in a Fetch Headers, which joins them with \", \"", () => {
      const headers = new Headers()
      headers.append("X-API-Key", "one")
      headers.append("x-api-key", "two")
      expect(readSingle(headers, "x-api-key")).toEqual(found("one, two"))
    })

    it.prop(
      "finds the value for any casing of the header name, in every shape",
      { name: casingOf("X-API-Key"), value: b64token },
      ({ name, value }) => {
        for (const shape of headerShapes) {
          expect(readSingle(shape.make([[name, value]]), "X-API-Key")).toEqual(found(value))
        }
      },
      { fastCheck: { numRuns: 150 } }
    )
  })

  describe("parseBearer", () => {
    it("finds the token after the scheme Bearer", () => {
      expect(parseBearer("Bearer abc.def-ghi_jkl")).toEqual(found("abc.def-ghi_jkl"))
      expect(parseBearer(`Bearer ${JWS}`)).toEqual(found(JWS))
    })

    it("matches the scheme case-insensitively", () => {
      expect(parseBearer("bearer token123")).toEqual(found("token123"))
      expect(parseBearer("BEARER token123")).toEqual(found("token123"))
      expect(parseBearer("bEaReR token123")).toEqual(found("token123"))
    })

    it("accepts one or more spaces between scheme and token", () => {
      expect(parseBearer("Bearer  token123")).toEqual(found("token123"))
      expect(parseBearer("Bearer      token123")).toEqual(found("token123"))
    })

    it("accepts the full b64token alphabet, with trailing padding", () => {
      expect(parseBearer("Bearer aZ09-._~+/==")).toEqual(found("aZ09-._~+/=="))
    })

    it("calls a tab instead of spaces malformed", () => {
      expect(parseBearer("Bearer\ttoken123")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer \ttoken123")).toEqual(malformed("malformed_header"))
    })

    it("calls a second token or trailing junk malformed", () => {
      expect(parseBearer("Bearer token123 other")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer token123 ")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer token123\t")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer token123,")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer token123, Bearer token456")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer tok=en")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer =token")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer tokén")).toEqual(malformed("malformed_header"))
    })

    it("calls an empty value empty_header, and \"Bearer\" without a token malformed", () => {
      expect(parseBearer("")).toEqual(malformed("empty_header"))
      expect(parseBearer("Bearer")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer ")).toEqual(malformed("malformed_header"))
      expect(parseBearer("Bearer    ")).toEqual(malformed("malformed_header"))
    })

    it("calls a value that does not start with a scheme malformed", () => {
      expect(parseBearer(" Bearer token123")).toEqual(malformed("malformed_header"))
      expect(parseBearer("\"Bearer\" token123")).toEqual(malformed("malformed_header"))
    })

    it("treats another scheme as no Bearer credential at all (RFC 6750 3.1)", () => {
      expect(parseBearer("Basic dXNlcjpwYXNzd29yZA==")).toEqual(absent)
      expect(parseBearer("Digest username=\"u\"")).toEqual(absent)
      expect(parseBearer("Bearerish token123")).toEqual(absent)
      expect(parseBearer("Basic")).toEqual(absent)
    })

    it(`refuses a token longer than ${MAX_TOKEN_LENGTH} characters as TooLarge, and takes one of exactly that length`, () => {
      expect(MAX_TOKEN_LENGTH).toBe(8192)
      const longest = "a".repeat(8192)
      expect(parseBearer(`Bearer ${longest}`)).toEqual(found(longest))
      expect(parseBearer(`Bearer ${longest}a`)).toEqual(tooLarge)
      expect(parseBearer(`Bearer ${"a".repeat(100_000)}`)).toEqual(tooLarge)
    })

    it.prop(
      "finds any b64token t in \"Bearer \" + t, and calls \"Bearer \" + t + \" x\" malformed",
      [b64token],
      ([token]) => {
        expect(parseBearer("Bearer " + token)).toEqual(found(token))
        expect(parseBearer("Bearer " + token + " x")).toEqual(malformed("malformed_header"))
      },
      { fastCheck: { numRuns: 200 } }
    )

    it.prop(
      "finds the token whatever the casing of the scheme and the number of spaces",
      [casingOf("Bearer"), FastCheck.integer({ min: 1, max: 8 }), b64token],
      ([scheme, spaces, token]) => {
        expect(parseBearer(scheme + " ".repeat(spaces) + token)).toEqual(found(token))
      },
      { fastCheck: { numRuns: 100 } }
    )
  })

  describe("parseBareToken (requireBearer: false)", () => {
    it("takes the whole value as the token", () => {
      expect(parseBareToken(JWS)).toEqual(found(JWS))
      expect(parseBareToken("opaque-token")).toEqual(found("opaque-token"))
    })

    it("also accepts a leading \"Bearer \", in any casing, with one or more spaces", () => {
      expect(parseBareToken(`Bearer ${JWS}`)).toEqual(found(JWS))
      expect(parseBareToken(`bearer   ${JWS}`)).toEqual(found(JWS))
    })

    it("calls an empty value empty_header and \"Bearer \" with nothing after it malformed", () => {
      expect(parseBareToken("")).toEqual(malformed("empty_header"))
      expect(parseBareToken("Bearer ")).toEqual(malformed("malformed_header"))
    })

    it(`refuses a token longer than ${MAX_TOKEN_LENGTH} characters as TooLarge`, () => {
      expect(parseBareToken("a".repeat(8192))).toEqual(found("a".repeat(8192)))
      expect(parseBareToken("a".repeat(8193))).toEqual(tooLarge)
      expect(parseBareToken(`Bearer ${"a".repeat(8193)}`)).toEqual(tooLarge)
    })
  })

  describe("readBearer", () => {
    it("reads the header once, then parses it strictly or barely", () => {
      expect(readBearer({ authorization: `Bearer ${JWS}` }, "Authorization", true)).toEqual(found(JWS))
      expect(readBearer({ "x-token": JWS }, "X-Token", false)).toEqual(found(JWS))
      expect(readBearer({ "x-token": JWS }, "X-Token", true)).toEqual(absent)
      expect(readBearer({}, "Authorization", true)).toEqual(absent)
      expect(readBearer({ authorization: "" }, "Authorization", true)).toEqual(malformed("empty_header"))
      expect(readBearer({ authorization: ["Bearer a", "Bearer b"] }, "Authorization", true)).toEqual(
        malformed("duplicate_header")
      )
      expect(readBearer(new Headers({ authorization: "Basic dXNlcg==" }), "Authorization", true)).toEqual(absent)
    })
  })

  describe("isCompactJws", () => {
    it("accepts three base64url segments", () => {
      expect(isCompactJws(JWS)).toBe(true)
      expect(isCompactJws("a.b.c")).toBe(true)
      expect(isCompactJws("A-_z.0-_9.xY")).toBe(true)
    })

    it("refuses any other number of segments", () => {
      expect(isCompactJws("a.b")).toBe(false)
      expect(isCompactJws("a.b.c.d")).toBe(false)
      expect(isCompactJws("a.b.c.d.e")).toBe(false)
      expect(isCompactJws("abc")).toBe(false)
      expect(isCompactJws("")).toBe(false)
    })

    it("refuses empty segments, padding, whitespace and the base64 (not base64url) alphabet", () => {
      expect(isCompactJws("a..c")).toBe(false)
      expect(isCompactJws("a.b.")).toBe(false)
      expect(isCompactJws(".b.c")).toBe(false)
      expect(isCompactJws("a.b.c=")).toBe(false)
      expect(isCompactJws("a=.b.c")).toBe(false)
      expect(isCompactJws("a.b .c")).toBe(false)
      expect(isCompactJws(" a.b.c")).toBe(false)
      expect(isCompactJws("a.b.c\n")).toBe(false)
      expect(isCompactJws("a+b.c.d")).toBe(false)
      expect(isCompactJws("a/b.c.d")).toBe(false)
    })
  })

  describe("withoutScheme (what exposeToken hands tools)", () => {
    it.prop("drops a Bearer or DPoP scheme in any casing, with its spaces, and nothing else", [
      FastCheck.constantFrom("Bearer", "bearer", "BEARER", "DPoP", "dpop", "DPOP"),
      FastCheck.integer({ min: 1, max: 3 }),
      b64token
    ], ([scheme, spaces, token]) => {
      expect(Credentials.withoutScheme(`${scheme}${" ".repeat(spaces)}${token}`)).toBe(token)
      expect(Credentials.withoutScheme(token)).toBe(token)
    })

    it("passes on an absent header as undefined", () => {
      expect(Credentials.withoutScheme(null)).toBeUndefined()
      expect(Credentials.withoutScheme(undefined)).toBeUndefined()
    })
  })
})
