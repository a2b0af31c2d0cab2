/**
 * Contract sections 1, 2 and 6 for callers without a valid credential: real SDK clients
 * cannot connect, and report the contract's body where the SDK passes it on; on the wire,
 * every Streamable HTTP request is refused with the exact bytes before its body is read.
 */
import { describe, expect, it } from "@effect/vitest"
import { apiKeys, headersFor, jwts, KEY_ALICE, SECRET } from "../fixtures/credentials.js"
import type { Credential } from "../fixtures/credentials.js"
import type { Sdk, Transport } from "../fixtures/mcp.js"
import { connect, SDK_PAIRS } from "../fixtures/mcp.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { SignJWT } from "jose"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { Bodies, Challenge } from "@mcpgate/testing/contract"
import { INITIALIZE, inSession, POST_HEADERS, serve } from "./support.js"
import { inScope } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"

/** A well-formed token for Alice signed with another secret: a bad signature. */
const forgedToken = () =>
  new SignJWT({ scope: "tools:read" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(`${SECRET}-but-another-one`))

const PROVIDERS = [
  { name: "API key", provider: apiKeys, body: Bodies.apiKey, wrong: async (): Promise<Credential> => ({ apiKey: `${KEY_ALICE}x` }) },
  { name: "JWT", provider: jwts, body: Bodies.jwt, wrong: async (): Promise<Credential> => ({ token: await forgedToken() }) }
] as const

/** What each SDK client's `connect` rejects with, as far as these tests read it. */
const report = (error: unknown): { readonly message: string; readonly status: unknown } => {
  const { code, message, status } = error as { code?: unknown; message?: unknown; status?: unknown }
  // v1 clients put the HTTP status in `code`, v2's Streamable HTTP client in `status`.
  return { message: String(message), status: typeof status === "number" ? status : code }
}

describe("a client without a valid credential cannot connect", () => {
  for (const { client, server } of SDK_PAIRS) {
    for (const { body, name, provider, wrong } of PROVIDERS) {
      describe(`server ${server}, client ${client}, ${name}`, () => {
        const refusedOn = async (use: Use, transport: Transport, credential: Credential) => {
          const { endpoint, seen, server: running } = await use(serve(server, transport, { auth: { provider: provider() } }))
          const error = await rejectionOf(connect(client, transport, endpoint, headersFor(credential)))
          expect(seen).toEqual([])
          return { error: report(error), running }
        }

        it.scopedLive("http-stream, no credential: the rejection carries the exact 401 body", () => inScope(async (use) => {
          const { error, running } = await refusedOn(use, "http-stream", "none")
          expect(error.status).toBe(401)
          expect(error.message).toContain(`Error POSTing to endpoint: ${body}`)
          expect(running.sessionCount).toBe(0)
        }))

        it.scopedLive("http-stream, wrong credential: the rejection carries the exact 401 body", () => inScope(async (use) => {
          const { error, running } = await refusedOn(use, "http-stream", await wrong())
          expect(error.status).toBe(401)
          expect(error.message).toContain(`Error POSTing to endpoint: ${body}`)
          expect(running.sessionCount).toBe(0)
        }))

        it.scopedLive("sse, no credential: the stream opens (endpoints.sse: false), the initialize POST gets the exact 401", () => inScope(async (use) => {
          const { error } = await refusedOn(use, "sse", "none")
          expect(error.message).toContain(`(HTTP 401): ${body}`)
        }))

        it.scopedLive("sse, wrong credential: the stream GET is refused with 401 (the SDK reports the status only)", () => inScope(async (use) => {
          const { error } = await refusedOn(use, "sse", await wrong())
          expect(error.status).toBe(401)
          expect(error.message).toContain("401")
        }))
      })
    }
  }
})

// ---------------------------------------------------------------------------------------
// The wire.

/** The headers of an answer but those Node manages; a header sent twice fails the test. */
const headersOf = (response: RawResponse): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const [name, value] of response.headers) {
    if (name === "date" || name === "connection" || name === "keep-alive") continue
    expect(headers, `header ${name} sent twice`).not.toHaveProperty(name)
    headers[name] = value
  }
  return headers
}

const expectAnswer = (
  response: RawResponse,
  expected: { readonly statusLine: string; readonly headers: Record<string, string>; readonly body: string }
) =>
  expect({ statusLine: response.statusLine, headers: headersOf(response), body: response.body }).toEqual({
    ...expected,
    headers: { ...expected.headers, "content-length": String(Buffer.byteLength(expected.body)) }
  })

const unauthorized = (body: string, challenge: string) => ({
  statusLine: "HTTP/1.1 401 Unauthorized",
  headers: { "content-type": "application/json", "cache-control": "no-store", "www-authenticate": challenge },
  body
})

const SOME_SESSION = "00000000-0000-4000-8000-000000000000"

/** The three methods of `/mcp`, as a client would send them. */
const REQUESTS: ReadonlyArray<readonly [string, HeaderLines, string | undefined]> = [
  ["POST", POST_HEADERS, INITIALIZE],
  ["GET", [["Accept", "text/event-stream"], ...inSession(SOME_SESSION)], undefined],
  ["DELETE", inSession(SOME_SESSION), undefined]
]

describe("Streamable HTTP on the wire", () => {
  const WIRE = [
    { name: "API-key provider", provider: apiKeys, body: Bodies.apiKey, none: Challenge.apiKey(), wrong: Challenge.apiKey(), wrongHeaders: [["X-API-Key", `${KEY_ALICE}x`]] as HeaderLines },
    { name: "JWT provider", provider: jwts, body: Bodies.jwt, none: Challenge.bearer, wrong: Challenge.invalidToken, wrongHeaders: [["Authorization", "Bearer a.b.c"]] as HeaderLines }
  ] as const

  for (const sdk of ["v1", "v2"] as const satisfies ReadonlyArray<Sdk>) {
    for (const { body, name, none, provider, wrong, wrongHeaders } of WIRE) {
      describe(`server ${sdk}, ${name}`, () => {
        for (const [method, headers, payload] of REQUESTS) {
          it.scopedLive(`${method} /mcp without credentials: 401, exact body and challenge`, () => inScope(async (use) => {
            const { base } = await use(serve(sdk, "http-stream", { auth: { provider: provider() } }))
            expectAnswer(await send(base, method, "/mcp", headers, payload), unauthorized(body, none))
          }))

          it.scopedLive(`${method} /mcp with a wrong credential: 401, exact body and challenge`, () => inScope(async (use) => {
            const { base } = await use(serve(sdk, "http-stream", { auth: { provider: provider() } }))
            expectAnswer(await send(base, method, "/mcp", [...headers, ...wrongHeaders], payload), unauthorized(body, wrong))
          }))
        }

        it.scopedLive("an anonymous POST whose body is not JSON gets the 401: credentials are checked before the body", () => inScope(async (use) => {
          const { base } = await use(serve(sdk, "http-stream", { auth: { provider: provider() } }))
          expectAnswer(await send(base, "POST", "/mcp", POST_HEADERS, "{not json"), unauthorized(body, none))
          expectAnswer(await send(base, "POST", "/mcp", POST_HEADERS, `{"jsonrpc":"2.0"`), unauthorized(body, none))
        }))

        it.scopedLive("an unknown path gets the contract's 404 before authentication", () => inScope(async (use) => {
          const { base } = await use(serve(sdk, "http-stream", { auth: { provider: provider() } }))
          const notFound = {
            statusLine: "HTTP/1.1 404 Not Found",
            headers: { "content-type": "application/json", "cache-control": "no-store" },
            body: Bodies.notFound
          }
          expectAnswer(await send(base, "GET", "/nope"), notFound)
          expectAnswer(await send(base, "POST", "/mcp/", POST_HEADERS, INITIALIZE), notFound)
          expectAnswer(await send(base, "POST", "/sse", POST_HEADERS, INITIALIZE), notFound)
        }))

        it.scopedLive("GET /health is public: 200 {\"ok\":true}", () => inScope(async (use) => {
          const { base } = await use(serve(sdk, "http-stream", { auth: { provider: provider() } }))
          expectAnswer(await send(base, "GET", "/health"), {
            statusLine: "HTTP/1.1 200 OK",
            headers: { "content-type": "application/json", "cache-control": "no-store" },
            body: Bodies.health
          })
        }))
      })
    }
  }

  it.scopedLive("an authenticated POST that is not JSON gets the SDK's own answer, not ours", () => inScope(async (use) => {
    const { base } = await use(serve("v2", "http-stream", { auth: { provider: apiKeys() } }))
    const response = await send(base, "POST", "/mcp", [...POST_HEADERS, ["X-API-Key", KEY_ALICE]], "{not json")
    expect(response.status).toBe(400)
    expect(JSON.parse(response.body)).toMatchObject({ jsonrpc: "2.0", error: { code: -32700 }, id: null })
  }))
})
