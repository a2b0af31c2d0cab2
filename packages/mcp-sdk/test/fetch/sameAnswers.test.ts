/**
 * docs/behaviour.md#answers: the
 * Fetch handler answers every request its pipeline answers (before the SDK) with the same
 * status, headers and bytes as the Node Streamable HTTP server with the same options. Both
 * are served on loopback ports and sent the same raw bytes; requests are drawn at random
 * from methods, paths (odd encodings, credentials in the query), origins and credential
 * header lines (absent, wrong, malformed, repeated, in any case).
 */
import { describe, expect, it } from "@effect/vitest"
import { AuthProvider } from "@mcpgate/auth-core"
import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import { StreamableHttp } from "@mcpgate/mcp-sdk"
import { inScope } from "@mcpgate/testing/scoped"
import type { Header, RawResponse } from "@mcpgate/testing/wire"
import { headersOf, send } from "@mcpgate/testing/wire"
import { McpServer } from "@modelcontextprotocol/server"
import * as FastCheck from "effect/FastCheck"
import { apiKeys, jwts, tokenFor } from "../fixtures/credentials.js"
import { serveFetch, socketAddress } from "../fixtures/fetch.js"
import { mountEndpoint } from "../fixtures/mount.js"

const shared = {
  allowedOrigins: ["https://app.example.com"],
  // The Fetch API tells no local address: the loopback Host rule of the Node server is
  // written out as allowedHosts on both, so the two judge Host alike.
  allowedHosts: ["127.0.0.1"],
  protectedResource: { resource: "https://mcp.example.com/mcp", authorizationServers: ["https://auth.example.com"] },
  rateLimit: false as const
}

const provider = () => AuthProvider.firstOf(apiKeys().service, jwts().service)
const createServer = () => new McpServer({ name: "same", version: "1.0.0" })

/** Everything of an answer but what each server's HTTP layer manages (framing, date). */
const answerOf = (response: RawResponse) => {
  const headers = headersOf(response)
  delete headers["transfer-encoding"]
  return { statusLine: response.statusLine, headers, body: response.body }
}

const arbitraryRequest = (token: string) =>
  FastCheck.record({
    method: FastCheck.constantFrom("GET", "POST", "DELETE", "OPTIONS", "PUT", "HEAD"),
    path: FastCheck.constantFrom(
      "/mcp",
      "/health",
      "/nope",
      "/%6Dcp",
      "//mcp",
      "/mcp?api_key=x",
      "/mcp?token=abc",
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp"
    ),
    origin: FastCheck.constantFrom<ReadonlyArray<Header>>([], [["Origin", "https://app.example.com"]], [["Origin", "https://evil.example.com"]]),
    credentials: FastCheck.array(
      FastCheck.constantFrom<Header>(
        ["X-API-Key", "mcp_sdk_wrong_key_000000"],
        ["x-api-key", ""],
        ["X-Api-Key", "two words"],
        ["Authorization", "Bearer not.a.jwt"],
        ["Authorization", `Bearer ${token}`],
        ["authorization", "Basic dXNlcjpwYXNz"],
        ["Authorization", "Bearer"],
        ["Authorization", "Bearer\tabc"],
        ["Authorization", "bearer a b"]
      ),
      { maxLength: 3 }
    )
  }).filter(({ credentials }) =>
    // One good token alone lets the request through to the SDK, whose answers are its own.
    !(credentials.length === 1 && credentials[0]![1] === `Bearer ${token}`)
  )

describe("the Fetch handler and the Node server answer alike", () => {
  it.scopedLive("for every request their pipeline answers", () =>
    inScope(async (use) => {
      const token = await tokenFor("bob")
      const node = await use(mountEndpoint(await StreamableHttp.makePromise({ auth: { provider: provider() }, createServer, stateless: true, ...shared })))
      const fetch = await use(serveFetch(createMcpFetchHandler({ auth: { provider: provider() }, createServer, clientAddress: socketAddress, ...shared })))
      await FastCheck.assert(
        FastCheck.asyncProperty(arbitraryRequest(token), async ({ credentials, method, origin, path }) => {
          const headers = [...origin, ...credentials]
          const options = { headOnly: method === "HEAD" }
          const [fromNode, fromFetch] = await Promise.all([
            send(node, method, path, headers, undefined, options),
            send(fetch, method, path, headers, undefined, options)
          ])
          expect(answerOf(fromFetch)).toStrictEqual(answerOf(fromNode))
        }),
        { numRuns: 120 }
      )
    }))
})
