/**
 * The shared behaviour suite: the same checks, word for word, against mcpgate's Fetch handler
 * (`fixtures/server.ts`) served by one runtime, started once for the whole suite. Refusals are
 * compared byte for byte with `@mcpgate/testing/contract` over a raw socket; credentials reach a
 * tool through a real SDK v2 client; bad input gets a clean 4xx and the runtime goes on serving.
 * Each check that spends the failed-attempt budget comes from a loopback address of its own
 * (127.0.0.10 and up), which each runtime reports as the client's address.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Answer, Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"
import { KEY_ALICE, KEY_BOB, tokenFor } from "@mcpgate/testing/credentials"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"
import type { HeaderLines } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as net from "node:net"
import { APP_ORIGIN, MAX_FAILURES, RESOURCE, WINDOW_SECONDS } from "../fixtures/server.js"
import { DEPLOY_SCOPE } from "../fixtures/tools.js"
import {
  bothChallenges,
  expectSameAnswer,
  headersBeyondFraming,
  insufficientScope,
  METADATA_DOCUMENT,
  rateLimited,
  VARY
} from "./answers.js"
import { repoRoot } from "./bundle.js"
import type { Runtime, Served } from "./runtimes.js"

const SERVER_ENTRY = `${repoRoot}runtimes/test/fixtures/server.ts`

/**
 * The runtime serving the suite's server, or how it failed to start: each test then fails
 * with that failure, counted as a failure (a failing `beforeAll` would only skip them).
 */
class Server extends Context.Tag("runtimes/Server")<Server, Exit.Exit<Served>>() {}

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1.0.0" } }
})
const CALL_DEPLOY = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "deploy", arguments: {} } })
const POST: HeaderLines = [["Content-Type", "application/json"], ["Accept", "application/json, text/event-stream"]]
const WRONG_KEY = "mcp_test_mallory_0000000000"

/** An SDK v2 client connected to the server's `/mcp` with `headers`; closed when the scope closes. */
const connected = (use: Use, base: URL, headers: Record<string, string>): Promise<Client> =>
  use(acquire(async () => {
    const client = new Client({ name: "mcpgate-runtimes", version: "1.0.0" })
    await client.connect(new StreamableHTTPClientTransport(new URL("/mcp", base), { requestInit: { headers } }))
    return client
  }, (client) => client.close()))

/** What `tool` answered, as text. */
const called = async (client: Client, tool: string): Promise<string> => {
  const result = await client.callTool({ name: tool, arguments: {} })
  const [first] = result.content as ReadonlyArray<{ readonly type: string; readonly text?: string }>
  expect(first?.type).toBe("text")
  return first!.text!
}

/** Sends a head and part of the body it announces, then drops the connection: a body stream that errors. */
const abandonBody = (base: URL): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(Number(base.port), base.hostname, () => {
      socket.write(
        `POST /mcp HTTP/1.1\r\nHost: ${base.host}\r\nX-API-Key: ${KEY_ALICE}\r\nContent-Type: application/json\r\n` +
          `Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{"jsonrpc":"2.0",`
      )
      setTimeout(() => {
        socket.destroy()
        resolve()
      }, 100)
    })
    socket.on("error", reject)
  })

/** The suite against `runtime`, started once for all of its tests. */
export const behaviourSuite = (runtime: Runtime): void =>
  layer(Layer.scoped(Server, Effect.exit(runtime.serve(SERVER_ENTRY))), { timeout: "90 seconds", excludeTestServices: true })(
    `the Fetch handler on ${runtime.name}`,
    (it) => {
      let lastClient = 9
      /** A loopback address no other check of the suite uses: a client with a whole budget. */
      const freshClient = () => `127.0.0.${++lastClient}`
      const check = (name: string, body: (served: Served, use: Use) => Promise<void>) =>
        it.scoped(name, () => Effect.flatMap(Server, Effect.flatMap((served) => inScope((use) => body(served, use)))), 30_000)
      const from = (client: string) => ({ localAddress: client })

      /** The server still answers, and has printed no unhandled error. */
      const stillServing = async (served: Served) => {
        expect((await send(served.url, "GET", "/.well-known/oauth-protected-resource")).status).toBe(200)
        expect(served.output()).not.toMatch(/unhandled|uncaught/i)
      }

      describe("refusals: 401, 403 and 429, byte for byte", () => {
        check("no credential: the API-key body and both challenges", async (served) => {
          const response = await send(served.url, "POST", "/mcp", POST, INITIALIZE, from(freshClient()))
          expectSameAnswer(response, Answer.both(Bodies.apiKey, bothChallenges(), VARY))
        })

        check("a wrong API key: the API-key body and both challenges", async (served) => {
          const response = await send(served.url, "POST", "/mcp", [...POST, ["X-API-Key", WRONG_KEY]], INITIALIZE, from(freshClient()))
          expectSameAnswer(response, Answer.both(Bodies.apiKey, bothChallenges(), VARY))
        })

        check("a forged token: the JWT body, invalid_token", async (served) => {
          const forged = await tokenFor("mallory", { claims: { aud: RESOURCE }, secret: "another-secret-of-at-least-32-bytes!!" })
          const response = await send(served.url, "POST", "/mcp", [...POST, ["Authorization", `Bearer ${forged}`]], INITIALIZE, from(freshClient()))
          expectSameAnswer(response, Answer.both(Bodies.jwt, bothChallenges("invalid_token"), VARY))
        })

        check("a token for another audience: the JWT body, invalid_token", async (served) => {
          const token = await tokenFor("carol", { claims: { aud: "https://other.example.com/mcp" } })
          const response = await send(served.url, "POST", "/mcp", [...POST, ["Authorization", `Bearer ${token}`]], INITIALIZE, from(freshClient()))
          expectSameAnswer(response, Answer.both(Bodies.jwt, bothChallenges("invalid_token"), VARY))
        })

        check(`after ${MAX_FAILURES} refusals a client gets the 429 with Retry-After, whatever it sends`, async (served) => {
          const client = freshClient()
          for (let i = 0; i < MAX_FAILURES; i++) {
            const refused = await send(served.url, "POST", "/mcp", [...POST, ["X-API-Key", WRONG_KEY]], INITIALIZE, from(client))
            expect(refused.status).toBe(401)
          }
          for (const key of [WRONG_KEY, KEY_ALICE]) {
            const limited = await send(served.url, "POST", "/mcp", [...POST, ["X-API-Key", key]], INITIALIZE, from(client))
            const retryAfter = limited.header("retry-after") ?? ""
            expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
            expect(Number(retryAfter)).toBeLessThanOrEqual(WINDOW_SECONDS)
            expectSameAnswer(limited, rateLimited(retryAfter))
          }
          // Another client keeps its whole budget.
          expect((await send(served.url, "POST", "/mcp", [...POST, ["X-API-Key", WRONG_KEY]], INITIALIZE, from(freshClient()))).status)
            .toBe(401)
        })

        check("an Origin not allowed: the 403, before authentication", async (served) => {
          const response = await send(served.url, "POST", "/mcp", [...POST, ["Origin", "https://evil.example"], ["X-API-Key", KEY_ALICE]], INITIALIZE)
          expectSameAnswer(response, Answer.originNotAllowed(VARY))
        })

        check("a tools/call of a tool whose scope the caller lacks: the 403 insufficient_scope", async (served) => {
          const response = await send(served.url, "POST", "/mcp", [...POST, ["X-API-Key", KEY_ALICE]], CALL_DEPLOY)
          expectSameAnswer(response, insufficientScope(DEPLOY_SCOPE))
        })
      })

      describe("credentials that reach a tool through an SDK v2 client", () => {
        check("an API key: the tool sees its label as clientId", async (served, use) => {
          const client = await connected(use, served.url, { "X-API-Key": KEY_BOB })
          expect(await called(client, "whoami")).toBe("bob")
        })

        check("a JWT addressed to the resource: the tool sees its subject", async (served, use) => {
          const token = await tokenFor("carol", { claims: { aud: RESOURCE } })
          const client = await connected(use, served.url, { Authorization: `Bearer ${token}` })
          expect(await called(client, "whoami")).toBe("carol")
        })
      })

      describe("public routes and CORS", () => {
        check("RFC 9728 metadata at both paths, without credentials", async (served) => {
          for (const path of ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"]) {
            expectSameAnswer(await send(served.url, "GET", path), {
              statusLine: "HTTP/1.1 200 OK",
              headers: { "content-type": "application/json", "cache-control": "public, max-age=3600", ...VARY },
              body: METADATA_DOCUMENT
            })
          }
        })

        check("a preflight from the allowed origin: 204 with the CORS grant, without credentials", async (served) => {
          const response = await send(served.url, "OPTIONS", "/mcp", [
            ["Origin", APP_ORIGIN],
            ["Access-Control-Request-Method", "POST"],
            ["Access-Control-Request-Headers", "x-api-key, content-type"]
          ])
          expect(response.statusLine).toBe("HTTP/1.1 204 No Content")
          expect(headersBeyondFraming(response)).toEqual({
            "access-control-allow-origin": APP_ORIGIN,
            "access-control-expose-headers": "Mcp-Session-Id, WWW-Authenticate",
            vary: "Origin",
            "access-control-allow-methods": "GET, POST, DELETE, OPTIONS",
            "access-control-allow-headers":
              "Content-Type, Accept, Authorization, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID, X-API-Key",
            "access-control-max-age": "600"
          })
          expect(response.body).toBe("")
        })

        check("a 401 to the allowed origin exposes WWW-Authenticate to the page", async (served) => {
          const response = await send(served.url, "POST", "/mcp", [...POST, ["Origin", APP_ORIGIN]], INITIALIZE)
          expectSameAnswer(
            response,
            Answer.both(Bodies.apiKey, bothChallenges(), {
              "access-control-allow-origin": APP_ORIGIN,
              "access-control-expose-headers": "Mcp-Session-Id, WWW-Authenticate",
              ...VARY
            })
          )
        })
      })

      describe("bad input: a clean 4xx, and the runtime goes on serving", () => {
        check("a head over 16 KiB: our 431, or the runtime's own 4xx when its parser stops it first", async (served) => {
          for (const size of [20_000, 200_000]) {
            const response = await send(served.url, "POST", "/mcp", [...POST, ["X-Padding", "a".repeat(size)]], INITIALIZE)
            expect(response.status, `${size} bytes`).toBeGreaterThanOrEqual(400)
            expect(response.status, `${size} bytes`).toBeLessThan(500)
            if (response.header("content-type") === "application/json") {
              expectSameAnswer(response, {
                statusLine: "HTTP/1.1 431 Request Header Fields Too Large",
                headers: { ...JSON_HEADERS },
                body: Bodies.headerFieldsTooLarge
              })
            }
          }
          await stillServing(served)
        })

        check("odd URL encoding: paths it does not serve are 404, a credential in the query a 401", async (served) => {
          for (const path of ["/%ZZ", "/%", "/%00", "/m%63p", "/mcp%2F", "/%E0%A4%A"]) {
            expectSameAnswer(await send(served.url, "POST", path, POST, INITIALIZE), Answer.notFound(VARY))
          }
          for (const query of ["api_key=%ZZ", "token=%E0%A4%A", "access_token=%00"]) {
            const response = await send(served.url, "POST", `/mcp?${query}`, [...POST, ["X-API-Key", KEY_ALICE]], INITIALIZE, from(freshClient()))
            expectSameAnswer(response, Answer.both(Bodies.apiKey, bothChallenges("invalid_request"), VARY))
          }
          await stillServing(served)
        })

        check("a non-ASCII credential header: the 401 of its provider", async (served) => {
          const key = await send(served.url, "POST", "/mcp", [...POST, ["X-API-Key", "ключ-ключ-ключ-ключ"]], INITIALIZE, from(freshClient()))
          expectSameAnswer(key, Answer.both(Bodies.apiKey, bothChallenges(), VARY))
          const bearer = await send(served.url, "POST", "/mcp", [...POST, ["Authorization", "Bearer jéton"]], INITIALIZE, from(freshClient()))
          expectSameAnswer(bearer, Answer.both(Bodies.jwt, bothChallenges("invalid_request"), VARY))
          await stillServing(served)
        })

        check("a body that ends before its Content-Length: no crash, the next request is served", async (served) => {
          await abandonBody(served.url)
          await stillServing(served)
        })
      })
    }
  )
