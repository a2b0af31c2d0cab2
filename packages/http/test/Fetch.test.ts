/**
 * `Fetch`: a web `Request` read as the pipeline reads it (joined credential lines told apart
 * again, the target never read as an authority), answers written as `Response`s byte for
 * byte, the head limits, and `guard` in front of a handler mounted on any path.
 */
import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider } from "@mcpgate/auth-core"
import { Fetch, ServerOptions } from "@mcpgate/http"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import { KEY_ALICE } from "@mcpgate/testing/credentials"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Schema from "effect/Schema"
import { decode } from "@mcpgate/auth-core/Options"

const settingsFor = (options: Record<string, unknown> = {}) => {
  const provider = new APIKeyAuthProvider({ keys: [{ key: KEY_ALICE, label: "alice" }] }).service
  const schema = Schema.Struct({ ...Fetch.fetchFields }).pipe(Schema.filter(Fetch.budgetHasAddress))
  const decoded = Either.getOrThrow(decode(schema, { rateLimit: false, ...options }, "test"))
  return Either.getOrThrow(Fetch.settingsOf(provider, decoded, options))
}

/** A `Headers` as a plain object (names lower-case). */
const entriesOf = (headers: Headers): Record<string, string> => {
  const entries: Record<string, string> = {}
  headers.forEach((value, name) => {
    entries[name] = value
  })
  return entries
}

describe("Fetch", () => {
  describe("headersOf", () => {
    it("splits a credential header the Fetch API joined back into its lines, and leaves other headers whole", () => {
      const headers = new Headers([["X-API-Key", "a"], ["x-api-key", "b"], ["Authorization", "Bearer x"], ["Authorization", "Bearer y"], ["Accept", "a, b"]])
      expect(Fetch.headersOf(headers, ["X-API-Key"])).toStrictEqual({
        "x-api-key": ["a", "b"],
        authorization: ["Bearer x", "Bearer y"],
        accept: "a, b"
      })
    })
  })

  describe("targetOf", () => {
    it("is the path and query, never the authority, without the fragment", () => {
      expect([
        Fetch.targetOf("http://h:8080/mcp?x=1#f"),
        Fetch.targetOf("https://h//evil.example/mcp"),
        Fetch.targetOf("http://h")
      ]).toStrictEqual(["/mcp?x=1", "//evil.example/mcp", "/"])
    })
  })

  describe("toResponse", () => {
    it.effect("writes the status, the headers, an exact Content-Length and the body's UTF-8 bytes, for any body", () =>
      Effect.promise(() =>
        FastCheck.assert(FastCheck.asyncProperty(FastCheck.string({ unit: "grapheme" }), async (body) => {
          const response = Fetch.toResponse({ status: 401, headers: { ...JSON_HEADERS }, body }, { headers: { vary: "Origin" } })
          const bytes = new Uint8Array(await response.arrayBuffer())
          expect([response.status, entriesOf(response.headers), bytes]).toStrictEqual([
            401,
            { ...JSON_HEADERS, vary: "Origin", "content-length": String(new TextEncoder().encode(body).byteLength) },
            new TextEncoder().encode(body)
          ])
        }))
      ))

    it.effect("HEAD: the length of the body announced, no body; 204: neither", () =>
      Effect.promise(async () => {
        const head = Fetch.toResponse({ status: 200, headers: { ...JSON_HEADERS }, body: Bodies.health }, { method: "HEAD" })
        expect([head.headers.get("content-length"), await head.text()]).toStrictEqual(["11", ""])
        const preflight = Fetch.toResponse({ status: 204, headers: { "access-control-max-age": "600" }, body: "" })
        expect([preflight.status, preflight.headers.get("content-length"), preflight.body]).toStrictEqual([204, null, null])
      }))
  })

  describe("isHeadTooLarge", () => {
    const limits = { maxHeaderSize: 1024, maxHeadersCount: 10 }
    it("counts the head as on the wire: request line, then name: value CRLF per field", () => {
      // "GET /x HTTP/1.1\r\n" is 17 bytes; "a: " + value + "\r\n" is 5 + the value's length.
      const fits = new Request("http://h/x", { headers: { a: "v".repeat(1024 - 17 - 5) } })
      const over = new Request("http://h/x", { headers: { a: "v".repeat(1024 - 17 - 5 + 1) } })
      expect([Fetch.isHeadTooLarge(fits, limits), Fetch.isHeadTooLarge(over, limits)]).toStrictEqual([false, true])
    })

    it("counts the fields", () => {
      const fields = (count: number) => new Request("http://h/x", { headers: Array.from({ length: count }, (_, i) => [`h${i}`, "1"] as [string, string]) })
      expect([Fetch.isHeadTooLarge(fields(10), limits), Fetch.isHeadTooLarge(fields(11), limits)]).toStrictEqual([false, true])
    })
  })

  describe("settings", () => {
    it("refuse a budget without a client address, naming both ways to give one", () => {
      const schema = Schema.Struct({ ...Fetch.fetchFields }).pipe(Schema.filter(Fetch.budgetHasAddress))
      const decoded = decode(schema, { rateLimit: { maxFailures: 3 } }, "test")
      expect(Either.isLeft(decoded) && decoded.left.message).toContain("clientAddress")
      expect(ServerOptions.DEFAULT_HEALTH_ENDPOINT).toBe("/health")
    })

    it("read one address from the named header; a list or a repeated line vouches for none", () => {
      const read = Fetch.addressReader({ clientAddressHeader: "CF-Connecting-IP" })!
      const with_ = (value: string) => new Request("http://h/", { headers: { "cf-connecting-ip": value } })
      expect([read(with_("192.0.2.1"), undefined, undefined), read(with_("192.0.2.1, 192.0.2.2"), undefined, undefined)])
        .toStrictEqual(["192.0.2.1", undefined])
    })
  })

  describe("guard", () => {
    it.effect("guards every path it is mounted on, and answers the metadata paths itself", () =>
      Effect.promise(async () => {
        const guard = Fetch.guard({
          settings: settingsFor({ protectedResource: { resource: "https://mcp.example.com/mcp", authorizationServers: ["https://auth.example.com"] } }),
          required: true,
          healthEndpoint: false
        })
        for (const path of ["/", "/api/mcp", "/.mcpgate/guarded", "/health"]) {
          const decided = await guard(new Request(`http://h${path}`, { method: "POST" }))
          expect([path, decided._tag === "Answer" && decided.response.status]).toStrictEqual([path, 401])
        }
        const metadata = await guard(new Request("http://h/.well-known/oauth-protected-resource/mcp"))
        expect(metadata._tag === "Answer" && metadata.response.status).toBe(200)
      }))
  })
})
