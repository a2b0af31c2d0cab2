/**
 * Contract sections 1 and 2, on the wire: every answer the SSE server gives is exact, from
 * the status line through each header to the last byte of the body.
 */
import { AuthProvider } from "@mcpgate/auth-core"
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, tokenFor } from "@mcpgate/testing/credentials"
import { Answer, Bodies, Challenge } from "@mcpgate/testing/contract"
import { expectAnswer, headersOf } from "@mcpgate/testing/wire"
import { ping, serve } from "./harness.js"
import { inScope } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"


const BOGUS_SESSION = "/messages?sessionId=00000000-0000-4000-8000-000000000000"
const JSON_CT: readonly [string, string] = ["Content-Type", "application/json"]

/** A header value Node passes through unchanged: visible ASCII, no leading or trailing space. */
const headerValue = FastCheck.string({
  unit: FastCheck.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
  minLength: 1,
  maxLength: 120
})

describe("answers of the API-key provider", () => {
  const keyed = () => serve({ auth: { provider: apiKeyProvider() } })

  it.scopedLive("a POST without a key gets 401 with the API-key body and the ApiKey challenge", () => inScope(async (use) => {
    const server = await use(keyed())
    expectAnswer(await server.ask("POST", BOGUS_SESSION, [JSON_CT], ping(1)), Answer.apiKey())
  }))

  it.scopedLive.each([
    ["a wrong key", [["X-API-Key", "mcp_test_mallory_0000000000"]]],
    ["an empty key", [["X-API-Key", ""]]],
    ["a key with the wrong case", [["X-API-Key", KEY_ALICE.toUpperCase()]]],
    ["a key with a suffix", [["X-API-Key", `${KEY_ALICE}x`]]],
    ["a key cut short", [["X-API-Key", KEY_ALICE.slice(0, -1)]]],
    ["two keys joined with a comma", [["X-API-Key", `${KEY_ALICE}, ${KEY_BOB}`]]],
    ["a key sent as a Bearer token (not opted in)", [["Authorization", `Bearer ${KEY_ALICE}`]]]
  ] as const)("%s gets exactly the same 401", ([_, headers]) => inScope(async (use) => {
    const server = await use(keyed())
    expectAnswer(await server.ask("POST", BOGUS_SESSION, [JSON_CT, ...headers], ping(1)), Answer.apiKey())
  }))

  it.scopedLive("a key in the URL query is never read: 401", () => inScope(async (use) => {
    const server = await use(keyed())
    const response = await server.ask("POST", `${BOGUS_SESSION}&api_key=${KEY_ALICE}`, [JSON_CT], ping(1))
    expectAnswer(response, Answer.apiKey())
  }))

  it.scopedLive("a custom header name is the one the challenge names", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider({ headerName: "X-Custom-Key" }) } }))
    expectAnswer(
      await server.ask("POST", BOGUS_SESSION, [JSON_CT, ["X-API-Key", KEY_ALICE]], ping(1)),
      Answer.apiKey("X-Custom-Key")
    )
  }))

  it.scopedLive("any string that is not a configured key gets the exact 401 bytes", () => inScope(async (use) => {
    const server = await use(keyed())
    await FastCheck.assert(
      FastCheck.asyncProperty(headerValue.filter((value) => value !== KEY_ALICE && value !== KEY_BOB), async (value) => {
        expectAnswer(await server.ask("POST", BOGUS_SESSION, [JSON_CT, ["X-API-Key", value]], ping(1)), Answer.apiKey())
      }),
      { numRuns: 60 }
    )
  }))

  it.scopedLive("a GET /sse that requires auth answers its 401 with the same bytes", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } }))
    expectAnswer(await server.ask("GET", "/sse", []), Answer.apiKey())
  }))
})

describe("answers of the JWT provider", () => {
  const jwt = () => serve({ auth: { provider: jwtProvider() } })
  const post = async (use: Use, headers: ReadonlyArray<readonly [string, string]>) => {
    const server = await use(jwt())
    return server.ask("POST", BOGUS_SESSION, [JSON_CT, ...headers], ping(1))
  }

  it.scopedLive("no Authorization: 401 with the JWT body and a challenge without an error code", () => inScope(async (use) => {
    expectAnswer(await post(use, []), Answer.jwt(Challenge.bearer))
  }))

  it.scopedLive("another scheme (Basic) counts as no credentials: no error code (RFC 6750 3.1)", () => inScope(async (use) => {
    expectAnswer(await post(use, [["Authorization", "Basic YWxpY2U6c2VjcmV0"]]), Answer.jwt(Challenge.bearer))
  }))

  it.scopedLive("a token signed with another secret: invalid_token", () => inScope(async (use) => {
    const token = await tokenFor("alice", { secret: "another-secret-of-at-least-32-bytes-long" })
    expectAnswer(await post(use, [["Authorization", `Bearer ${token}`]]), Answer.jwt(Challenge.invalidToken))
  }))

  it.scopedLive("an expired token: invalid_token, with the same body", () => inScope(async (use) => {
    const token = await tokenFor("alice", { expiresIn: -3600 })
    expectAnswer(await post(use, [["Authorization", `Bearer ${token}`]]), Answer.jwt(Challenge.invalidToken))
  }))

  it.scopedLive.each([
    ["not a JWT at all", "not-a-jwt"],
    ["three segments that decode to nothing", "a.b.c"],
    ["base64 padding at the end (a b64token, no JWS)", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln="]
  ])("a malformed token (%s): invalid_token", ([_, token]) => inScope(async (use) => {
    expectAnswer(await post(use, [["Authorization", `Bearer ${token}`]]), Answer.jwt(Challenge.invalidToken))
  }))

  it.scopedLive.each([
    ["an empty header", () => ""],
    ["Bearer without a token", () => "Bearer"],
    ["a tab instead of the space", (token: string) => `Bearer\t${token}`],
    ["a second token after the first", (token: string) => `Bearer ${token} ${token}`],
    ["padding inside the token", () => "Bearer eyJhbGciOiJIUzI1NiJ9.e30=.c2ln"],
    ["junk after the token", (token: string) => `Bearer ${token} junk`]
  ] as const)("a request malformed as HTTP (%s): invalid_request", ([_, value]) => inScope(async (use) => {
    const token = await tokenFor("alice")
    expectAnswer(await post(use, [["Authorization", value(token)]]), Answer.jwt(Challenge.invalidRequest))
  }))

  it.scopedLive("any b64token that is not a valid JWT gets the exact invalid_token bytes", () => inScope(async (use) => {
    const server = await use(jwt())
    const b64token = FastCheck.string({
      unit: FastCheck.constantFrom(..."ABCxyz0189-._~+/".split("")),
      minLength: 1,
      maxLength: 200
    })
    await FastCheck.assert(
      FastCheck.asyncProperty(b64token, async (token) => {
        const response = await server.ask("POST", BOGUS_SESSION, [JSON_CT, ["Authorization", `Bearer ${token}`]], ping(1))
        expectAnswer(response, Answer.jwt(Challenge.invalidToken))
      }),
      { numRuns: 60 }
    )
  }))
})

describe("answers of both providers at once (firstOf)", () => {
  const both = () =>
    serve({ auth: { provider: AuthProvider.firstOf(apiKeyProvider().service, jwtProvider().service) } })
  const challenges = (bearer: string) => `${Challenge.apiKey()}, ${bearer}`

  it.scopedLive("no credentials: the API-key body, and both challenges", () => inScope(async (use) => {
    const server = await use(both())
    expectAnswer(
      await server.ask("POST", BOGUS_SESSION, [JSON_CT], ping(1)),
      Answer.both(Bodies.apiKey, challenges(Challenge.bearer))
    )
  }))

  it.scopedLive("a wrong key and no Authorization: the API-key body", () => inScope(async (use) => {
    const server = await use(both())
    expectAnswer(
      await server.ask("POST", BOGUS_SESSION, [JSON_CT, ["X-API-Key", "mcp_test_mallory_0000000000"]], ping(1)),
      Answer.both(Bodies.apiKey, challenges(Challenge.bearer))
    )
  }))

  it.scopedLive("an Authorization header that fails: the JWT body, both challenges", () => inScope(async (use) => {
    const server = await use(both())
    expectAnswer(
      await server.ask("POST", BOGUS_SESSION, [JSON_CT, ["Authorization", "Bearer not-a-jwt"]], ping(1)),
      Answer.both(Bodies.jwt, challenges(Challenge.invalidToken))
    )
  }))

  it.scopedLive("either credential passes: a good key or a good token reaches the session lookup (404)", () => inScope(async (use) => {
    const server = await use(both())
    const token = await tokenFor("carol")
    expectAnswer(await server.ask("POST", BOGUS_SESSION, [JSON_CT, ["X-API-Key", KEY_BOB]], ping(1)), Answer.sessionNotFound())
    expectAnswer(
      await server.ask("POST", BOGUS_SESSION, [JSON_CT, ["Authorization", `Bearer ${token}`]], ping(1)),
      Answer.sessionNotFound()
    )
  }))
})

describe("answers past authentication", () => {
  const keyed = () => serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } })
  const alice = ["X-API-Key", KEY_ALICE] as const

  it.scopedLive("202 Accepted for a message: no body, no content type", () => inScope(async (use) => {
    const server = await use(keyed())
    const session = await server.open([alice])
    expectAnswer(await server.post(session.id, [alice]), Answer.accepted())
  }))

  it.scopedLive("403 for a session bound to another identity", () => inScope(async (use) => {
    const server = await use(keyed())
    const session = await server.open([alice])
    expectAnswer(await server.post(session.id, [["X-API-Key", KEY_BOB]]), Answer.sessionForbidden())
  }))

  it.scopedLive.each([
    ["an unknown session id", BOGUS_SESSION],
    ["no session id", "/messages"],
    ["an empty session id", "/messages?sessionId="]
  ] as const)("404 Session not found for %s, after authentication", ([_, path]) => inScope(async (use) => {
    const server = await use(keyed())
    expectAnswer(await server.ask("POST", path, [JSON_CT, alice], ping(1)), Answer.sessionNotFound())
  }))

  it.scopedLive("404 Session not found when the session id is given twice", () => inScope(async (use) => {
    const server = await use(keyed())
    const session = await server.open([alice])
    const path = `/messages?sessionId=${session.id}&sessionId=${session.id}`
    expectAnswer(await server.ask("POST", path, [JSON_CT, alice], ping(1)), Answer.sessionNotFound())
  }))

  it.scopedLive("413, 400 and 415 carry the contract's bodies", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } }, maxBodyBytes: 64 }))
    const session = await server.open([alice])
    expectAnswer(
      await server.post(session.id, [alice], JSON.stringify({ jsonrpc: "2.0", method: "x".repeat(64), id: 1 })),
      Answer.payloadTooLarge()
    )
    expectAnswer(await server.post(session.id, [alice], "{"), Answer.invalidJsonRpc())
    expectAnswer(
      await server.ask("POST", `/messages?sessionId=${session.id}`, [alice, ["Content-Type", "text/plain"]], ping(1)),
      Answer.unsupportedMediaType()
    )
  }))

  it.scopedLive("the 413 closes the connection, since the rest of the body is not read", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } }, maxBodyBytes: 64 }))
    const session = await server.open([alice])
    const response = await server.post(session.id, [alice], " ".repeat(65))
    expect(response.header("connection")).toBe("close")
  }))
})

describe("answers before authentication", () => {
  it.scopedLive("200 for the public GET /health, without credentials", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true, messages: true } } }))
    expectAnswer(await server.ask("GET", "/health", []), Answer.health())
  }))

  it.scopedLive.each(["/", "/nope", "/sse/", "/SSE", "/messages/x", "/health/", "//evil.example/health", "/\\evil.example/messages"] as const)(
    "404 Not found for the unserved path %s, whatever the credentials", (path) => inScope(async (use) => {
      const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
      expectAnswer(await server.ask("GET", path, []), Answer.notFound())
      expectAnswer(await server.ask("POST", path, [JSON_CT, ["X-API-Key", KEY_ALICE]], ping(1)), Answer.notFound())
    })
  )

  it.scopedLive("HEAD /health: the GET answer's status and headers, no body (RFC 9110 9.3.2)", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true, messages: true } } }))
    const response = await fetch(new URL("/health", server.url), { method: "HEAD" })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(response.headers.get("content-length")).toBe(String(Bodies.health.length))
    expect(await response.text()).toBe("")
  }))

  it.scopedLive("no health route when healthEndpoint is false: 404", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() }, healthEndpoint: false }))
    expectAnswer(await server.ask("GET", "/health", []), Answer.notFound())
  }))

  it.scopedLive.each([
    ["POST", "/sse", "GET, OPTIONS"],
    ["DELETE", "/sse", "GET, OPTIONS"],
    ["GET", "/messages", "POST, OPTIONS"],
    ["PUT", "/messages", "POST, OPTIONS"],
    ["POST", "/health", "GET, HEAD, OPTIONS"]
  ] as const)("405 with Allow for %s %s, before authentication", ([method, path, allow]) => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } }))
    expectAnswer(await server.ask(method, path, []), Answer.methodNotAllowed(allow))
  }))

  it.scopedLive("204 for a preflight, without credentials, with no body and no content length", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider(), endpoints: { sse: true } } }))
    const response = await server.ask("OPTIONS", "/messages", [])
    expect(response.statusLine).toBe("HTTP/1.1 204 No Content")
    expect(headersOf(response)).toEqual({
      "access-control-allow-methods": "POST, OPTIONS",
      "access-control-allow-headers":
        "Content-Type, Accept, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-API-Key",
      "access-control-max-age": "600"
    })
    expect(response.body).toBe("")
  }))

  it.scopedLive("the stream head: 200, text/event-stream, no-cache, no-transform, unbuffered, chunked", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([])
    expect(session.stream.response.statusLine).toBe("HTTP/1.1 200 OK")
    expect(headersOf(session.stream.response)).toEqual({
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      "x-accel-buffering": "no",
      "transfer-encoding": "chunked"
    })
    expect(session.stream.response.header("connection")).toBe("keep-alive")
  }))
})
