/**
 * Our answers as every runtime sends them: the status line, every header but the framing the
 * runtime owns (`Date`, `Connection`, `Keep-Alive`, `Content-Length`, `Transfer-Encoding`:
 * Bun, Deno, workerd and Node frame a `Response` each their own way), and the body, byte for
 * byte, against the answers of `@mcpgate/testing/contract`. A `Content-Length`, when sent, must
 * count the body exactly.
 */
import { expect } from "@effect/vitest"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import type { Expected } from "@mcpgate/testing/contract"
import type { RawResponse } from "@mcpgate/testing/wire"
import { AUTHORIZATION_SERVER, RESOURCE } from "../fixtures/server.js"

const FRAMING = new Set(["date", "connection", "keep-alive", "content-length", "transfer-encoding"])

/** The headers of an answer but the framing; a name sent twice fails the test. */
export const headersBeyondFraming = (response: RawResponse): Record<string, string> => {
  const seen: Record<string, string> = {}
  for (const [name, value] of response.headers) {
    if (FRAMING.has(name)) continue
    expect(seen, `header ${name} sent twice`).not.toHaveProperty(name)
    seen[name] = value
  }
  return seen
}

/** The answer is exactly `expected`, framing aside. */
export const expectSameAnswer = (response: RawResponse, expected: Expected): void => {
  const { "content-length": _, ...headers } = expected.headers
  expect({ statusLine: response.statusLine, headers: headersBeyondFraming(response), body: response.body }).toEqual({
    statusLine: expected.statusLine,
    headers,
    body: expected.body
  })
  const lengths = response.headers.filter(([name]) => name === "content-length").map(([, value]) => value)
  for (const length of lengths) expect(length).toBe(String(Buffer.byteLength(response.body)))
}

/** The URL of the metadata document (RFC 9728 section 3.1: the well-known segment before the path). */
export const METADATA_URL = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

/** The metadata document, written out by hand (docs/behaviour.md#answers-that-are-not-errors). */
export const METADATA_DOCUMENT = `{"resource":"${RESOURCE}","authorization_servers":["${AUTHORIZATION_SERVER}"],` +
  `"scopes_supported":["tools:read"],"bearer_methods_supported":["header"]}`

/** The server's Bearer challenge with `error` (or none), naming the resource's scope and metadata. */
export const bearerChallenge = (error?: string) =>
  `Bearer realm="mcp"${error === undefined ? "" : `, error="${error}"`}, scope="tools:read", resource_metadata="${METADATA_URL}"`

/** `firstOf`'s challenges: the API key's, then the Bearer one. */
export const bothChallenges = (error?: string) => `ApiKey realm="mcp", header="X-API-Key", ${bearerChallenge(error)}`

/** Every answer after the Origin check says it varies by Origin (allowed origins are configured). */
export const VARY = { vary: "Origin" } as const

/** The 429 of an exhausted budget, with the `Retry-After` the server gave. */
export const rateLimited = (retryAfter: string): Expected => ({
  statusLine: "HTTP/1.1 429 Too Many Requests",
  headers: { ...JSON_HEADERS, "retry-after": retryAfter, ...VARY },
  body: Bodies.rateLimited
})

/** The 403 of a tool whose scopes the caller lacks. */
export const insufficientScope = (scope: string): Expected => ({
  statusLine: "HTTP/1.1 403 Forbidden",
  headers: {
    ...JSON_HEADERS,
    "www-authenticate": `Bearer realm="mcp", error="insufficient_scope", scope="${scope}", resource_metadata="${METADATA_URL}"`,
    ...VARY
  },
  body: Bodies.insufficientScope
})
