/**
 * Contract section 3 on raw sockets, where client libraries cannot hide anything: header
 * names in any casing, values compared exactly, duplicate credential lines, the strict
 * Bearer syntax, custom header names, and values long enough to hurt.
 */
import { AuthProvider } from "@mcpgate/auth-core"
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, tokenFor } from "@mcpgate/testing/credentials"
import { Answer, Bodies, Challenge } from "@mcpgate/testing/contract"
import { expectAnswer } from "@mcpgate/testing/wire"
import type { Harness } from "./harness.js"
import { ping, serve } from "./harness.js"
import { inScope } from "@mcpgate/testing/scoped"


/** Any casing of a string: each letter upper or lower at random. */
const anyCasing = (text: string) =>
  FastCheck.array(FastCheck.boolean(), { minLength: text.length, maxLength: text.length }).map((upper) =>
    [...text].map((char, i) => (upper[i] ? char.toUpperCase() : char.toLowerCase())).join("")
  )

/** A session, open without credentials (`sse: false`), bound to Alice by a first POST. */
const aliceSession = async (server: Harness, credential: readonly [string, string]) => {
  const session = await server.open([])
  expectAnswer(await server.post(session.id, [credential], ping(0)), Answer.accepted())
  return session
}

describe("header names match case-insensitively (reference: good, keep)", () => {
  it.scopedLive.each(["x-api-key", "X-API-KEY", "X-Api-Key", "x-API-key"] as const)("the key in `%s` is read", (name) => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [[name, KEY_ALICE]]), Answer.accepted())
  }))

  it.scopedLive("any casing of the API-key header name carries the key", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await aliceSession(server, ["X-API-Key", KEY_ALICE])
    await FastCheck.assert(
      FastCheck.asyncProperty(anyCasing("X-API-Key"), async (name) => {
        expectAnswer(await server.post(session.id, [[name, KEY_ALICE]]), Answer.accepted())
      }),
      { numRuns: 40 }
    )
  }))

  it.scopedLive("any casing of a custom API-key header name carries the key", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider({ headerName: "X-Custom-Key" }) } }))
    const session = await aliceSession(server, ["X-Custom-Key", KEY_ALICE])
    await FastCheck.assert(
      FastCheck.asyncProperty(anyCasing("X-Custom-Key"), async (name) => {
        expectAnswer(await server.post(session.id, [[name, KEY_ALICE]]), Answer.accepted())
      }),
      { numRuns: 30 }
    )
  }))

  it.scopedLive("any casing of `Authorization` carries the token", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const token = await tokenFor("alice")
    const session = await aliceSession(server, ["Authorization", `Bearer ${token}`])
    await FastCheck.assert(
      FastCheck.asyncProperty(anyCasing("Authorization"), async (name) => {
        expectAnswer(await server.post(session.id, [[name, `Bearer ${token}`]]), Answer.accepted())
      }),
      { numRuns: 30 }
    )
  }))
})

describe("header values are compared exactly (reference: good, keep)", () => {
  it.scopedLive("a key with any letter's case changed is refused with the exact 401", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await aliceSession(server, ["X-API-Key", KEY_ALICE])
    const letters = [...KEY_ALICE].flatMap((char, i) => (/[a-z]/i.test(char) ? [i] : []))
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.subarray(letters, { minLength: 1 }), async (flip) => {
        const key = [...KEY_ALICE]
          .map((char, i) => (flip.includes(i) ? (char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()) : char))
          .join("")
        expectAnswer(await server.post(session.id, [["X-API-Key", key]]), Answer.apiKey())
      }),
      { numRuns: 40 }
    )
    expect(server.delivered.map((d) => d.message["id"])).toEqual([0])
  }))
})

describe("the Bearer scheme: any casing, then spaces, then exactly one token", () => {
  it.scopedLive.each(["bearer", "BEARER", "Bearer", "bEaReR"] as const)("`%s <token>` is accepted", (scheme) => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const session = await server.open([])
    const token = await tokenFor("alice")
    expectAnswer(await server.post(session.id, [["Authorization", `${scheme} ${token}`]]), Answer.accepted())
  }))

  it.scopedLive("any scheme casing followed by one or more spaces is accepted", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const token = await tokenFor("alice")
    const session = await aliceSession(server, ["Authorization", `Bearer ${token}`])
    await FastCheck.assert(
      FastCheck.asyncProperty(anyCasing("bearer"), FastCheck.integer({ min: 1, max: 8 }), async (scheme, spaces) => {
        const value = `${scheme}${" ".repeat(spaces)}${token}`
        expectAnswer(await server.post(session.id, [["Authorization", value]]), Answer.accepted())
      }),
      { numRuns: 40 }
    )
  }))

  it.scopedLive.each([
    ["a tab instead of the space", (token: string) => `Bearer\t${token}`],
    ["a tab after a space", (token: string) => `Bearer \t${token}`],
    ["a tab inside the token", (token: string) => `Bearer ${token.slice(0, 10)}\t${token.slice(10)}`],
    ["junk after the token", (token: string) => `Bearer ${token} x`],
    ["a comma-joined second token", (token: string) => `Bearer ${token}, Bearer ${token}`]
  ] as const)("%s is malformed: 401 invalid_request, never delivered", ([_, value]) => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const session = await server.open([])
    const token = await tokenFor("alice")
    expectAnswer(await server.post(session.id, [["Authorization", value(token)]]), Answer.jwt(Challenge.invalidRequest))
    expect(server.delivered).toEqual([])
  }))

  it.scopedLive("`Basic` is no credential at all for the JWT provider: 401 without an error code", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [["Authorization", "Basic YWxpY2U6c2VjcmV0"]]), Answer.jwt(Challenge.bearer))
  }))

  it.scopedLive("`Basic` is no credential on an endpoint where credentials are optional: the stream opens anonymously", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    await server.open([["Authorization", "Basic YWxpY2U6c2VjcmV0"]])
    expect(server.transports[0]?.principal).toBeUndefined()
  }))

  it.scopedLive("`Basic` is no credential for the API-key provider either: the API-key 401", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [["Authorization", `Basic ${KEY_ALICE}`]]), Answer.apiKey())
  }))
})

describe("custom header names", () => {
  it.scopedLive("API key in `X-Custom-Key`: read there, and never from `X-API-Key`", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider({ headerName: "X-Custom-Key" }) } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [["X-API-Key", KEY_ALICE]]), Answer.apiKey("X-Custom-Key"))
    expectAnswer(await server.post(session.id, [["X-Custom-Key", KEY_ALICE]]), Answer.accepted())
  }))

  it.scopedLive("JWT in `X-Token` with the Bearer scheme: read there, and never from `Authorization`", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider({ headerName: "X-Token" }) } }))
    const session = await server.open([])
    const token = await tokenFor("alice")
    expectAnswer(await server.post(session.id, [["Authorization", `Bearer ${token}`]]), Answer.jwt(Challenge.bearer))
    expectAnswer(await server.post(session.id, [["X-Token", `Bearer ${token}`]]), Answer.accepted())
  }))

  it.scopedLive("JWT in `X-Token` with requireBearer: false: the bare token, or with a leading `Bearer `", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider({ headerName: "X-Token", requireBearer: false }) } }))
    const session = await server.open([])
    const token = await tokenFor("alice")
    expectAnswer(await server.post(session.id, [["X-Token", token]]), Answer.accepted())
    expectAnswer(await server.post(session.id, [["X-Token", `Bearer ${token}`]]), Answer.accepted())
    expectAnswer(await server.post(session.id, [["X-Token", "not-a-jwt"]]), Answer.jwt(Challenge.invalidToken))
    expectAnswer(await server.post(session.id, [["Authorization", `Bearer ${token}`]]), Answer.jwt(Challenge.bearer))
  }))
})

describe("more than one line of the credential header is malformed: 401", () => {
  it.scopedLive("two `X-API-Key` lines, both Alice's key (Node would join them)", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [["X-API-Key", KEY_ALICE], ["X-API-Key", KEY_ALICE]]), Answer.apiKey())
  }))

  it.scopedLive("two lines whose names differ only in case", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [["X-API-Key", KEY_ALICE], ["x-api-key", KEY_BOB]]), Answer.apiKey())
  }))

  it.scopedLive("two lines of a custom API-key header", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider({ headerName: "X-Custom-Key" }) } }))
    const session = await server.open([])
    const lines = [["X-Custom-Key", KEY_ALICE], ["X-Custom-Key", KEY_ALICE]] as const
    expectAnswer(await server.post(session.id, lines), Answer.apiKey("X-Custom-Key"))
  }))

  it.scopedLive("two `Authorization` lines with the same valid token: invalid_request", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const session = await server.open([])
    const token = await tokenFor("alice")
    const lines = [["Authorization", `Bearer ${token}`], ["Authorization", `Bearer ${token}`]] as const
    expectAnswer(await server.post(session.id, lines), Answer.jwt(Challenge.invalidRequest))
  }))

  it.scopedLive("a valid `Authorization` line followed by junk (Node would keep only the first): invalid_request", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const session = await server.open([])
    const token = await tokenFor("alice")
    const lines = [["Authorization", `Bearer ${token}`], ["Authorization", "Bearer junk"]] as const
    expectAnswer(await server.post(session.id, lines), Answer.jwt(Challenge.invalidRequest))
    expect(server.delivered).toEqual([])
  }))

  it.scopedLive("with both providers, two `Authorization` lines: the JWT body and both challenges", () => inScope(async (use) => {
    const provider = AuthProvider.firstOf(apiKeyProvider().service, jwtProvider().service)
    const server = await use(serve({ auth: { provider } }))
    const session = await server.open([])
    const token = await tokenFor("alice")
    const lines = [["Authorization", `Bearer ${token}`], ["Authorization", `Bearer ${token}`]] as const
    expectAnswer(
      await server.post(session.id, lines),
      Answer.both(Bodies.jwt, `${Challenge.apiKey()}, ${Challenge.invalidRequest}`)
    )
  }))

  it.scopedLive("duplicate lines on an endpoint with optional credentials are still refused, not anonymous", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    expectAnswer(await server.ask("GET", "/sse", [["X-API-Key", KEY_ALICE], ["X-API-Key", KEY_ALICE]]), Answer.apiKey())
  }))
})

describe("very long values are refused, never a crash", () => {
  it.scopedLive("a 9 KiB bearer token: 401 invalid_token, before any crypto", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider() } }))
    const session = await server.open([])
    const token = `${"a".repeat(4608)}.${"b".repeat(4608)}.c`
    expectAnswer(await server.post(session.id, [["Authorization", `Bearer ${token}`]]), Answer.jwt(Challenge.invalidToken))
    expect(server.errors).toEqual([])
  }))

  it.scopedLive("a 9 KiB bare token with requireBearer: false: 401 invalid_token", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: jwtProvider({ headerName: "X-Token", requireBearer: false }) } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [["X-Token", "a".repeat(9216)]]), Answer.jwt(Challenge.invalidToken))
  }))

  it.scopedLive("a 9 KiB API key: 401", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    expectAnswer(await server.post(session.id, [["X-API-Key", "k".repeat(9216)]]), Answer.apiKey())
  }))

  it.scopedLive.each([15_000, 16_000, 16_200, 16_384, 17_000, 64_000] as const)(
    "a %i-byte header is answered (401, or Node's 431) without a hang, and the server keeps serving", (size) => inScope(async (use) => {
      const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
      const response = await server.ask("POST", "/messages?sessionId=x", [["X-API-Key", "k".repeat(size)]], undefined, {
        timeoutMs: 2000
      })
      if (response.status === 431) {
        expect(response.statusLine).toBe("HTTP/1.1 431 Request Header Fields Too Large")
      } else {
        expectAnswer(response, Answer.apiKey())
      }
      expectAnswer(await server.ask("GET", "/health", []), Answer.health())
      expect(server.errors).toEqual([])
    })
  )

  it.scopedLive("a header just past Node's limit gets 431, one well under it gets the 401", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    expect((await server.ask("POST", "/messages?sessionId=x", [["X-API-Key", "k".repeat(17_000)]])).status).toBe(431)
    expectAnswer(await server.ask("POST", "/messages?sessionId=x", [["X-API-Key", "k".repeat(15_000)]]), Answer.apiKey())
  }))
})
