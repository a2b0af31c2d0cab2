/**
 * mcpgate's providers inside mcp-framework's own `MCPServer` (mcp-framework 0.2.22, the
 * version whose names and bodies mcpgate follows), over its SSE and Streamable HTTP
 * transports on real sockets. They follow its `AuthProvider` contract: `authenticate`
 * resolves to `false` for every refusal, so mcp-framework answers 401 with the body it
 * builds from `getAuthError()`, which must be mcpgate's own body byte for byte; `true` for a
 * key and `{ data: <claims> }` for a token, which mcp-framework hands its tools through
 * `getRequestContext()`.
 */
import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import { decodeJwt, exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose"
import type { CryptoKey, JWK } from "jose"
import { KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "../fixtures/credentials.js"
import type { AuthPlacement, FrameworkServer, Transport } from "./frameworkServer.js"
import {
  connectClient,
  frameworkDebugLines,
  frameworkWritesLogFiles,
  post,
  serveFramework,
  sseSession,
  whoami
} from "./frameworkServer.js"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { apiKey, bearer, INITIALIZE, initializeRaw, inSession, PING } from "../e2e/support.js"
import { Bodies } from "@mcpgate/testing/contract"

const TRANSPORTS: ReadonlyArray<Transport> = ["sse", "http-stream"]
const PLACEMENTS: ReadonlyArray<AuthPlacement> = ["transport.options.auth", "transport.auth"]

// ---------------------------------------------------------------------------------------
// Keys and tokens. Tokens are signed for Alice (`sub`), with a scope, expiring in an hour.

const OTHER_SECRET = new TextEncoder().encode("an-hmac-secret-that-is-not-the-servers-one")
const es256 = await generateKeyPair("ES256")
const es256Other = await generateKeyPair("ES256")
const rs256 = await generateKeyPair("RS256")
const rs256Other = await generateKeyPair("RS256")
const ES256_PEM = await exportSPKI(es256.publicKey)
const RS256_JWK: JWK = { ...(await exportJWK(rs256.publicKey)), alg: "RS256" }

const signedForAlice = (alg: string, key: CryptoKey | Uint8Array): Promise<string> =>
  new SignJWT({ scope: "tools:read" })
    .setProtectedHeader({ alg })
    .setSubject("alice")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(key)

// ---------------------------------------------------------------------------------------
// What each provider must let in, and what it must refuse.

type Provider = APIKeyAuthProvider | JWTAuthProvider

interface Refusal {
  readonly what: string
  readonly headers: () => Promise<HeaderLines>
}

interface Case {
  readonly name: string
  /** The body of its 401: mcpgate's, and what mcp-framework must send. */
  readonly body: string
  readonly provider: () => Provider
  /** Alice's credential, and what mcp-framework's `getRequestContext()` holds for it. */
  readonly alice: () => Promise<{ readonly headers: HeaderLines; readonly context: unknown }>
  /** How the tool's context is described in test names. */
  readonly contextIs: string
  readonly refusals: ReadonlyArray<Refusal>
}

const aliceByToken = async (token: Promise<string>) => {
  const jwt = await token
  return { headers: bearer(jwt), context: decodeJwt(jwt) }
}

const NO_CREDENTIAL: Refusal = { what: "a request without any credential", headers: async () => [] }

const API_KEY: Case = {
  name: "APIKeyAuthProvider",
  body: Bodies.apiKey,
  provider: () => new APIKeyAuthProvider({ keys: [KEY_ALICE] }),
  alice: async () => ({ headers: apiKey(KEY_ALICE), context: {} }),
  contextIs: "{} (what mcp-framework gives for a provider's `true`)",
  refusals: [
    { what: "a wrong key", headers: async () => apiKey(KEY_BOB) },
    NO_CREDENTIAL,
    { what: "a valid JWT presented instead of a key", headers: async () => bearer(await tokenFor("alice")) }
  ]
}

const HS256: Case = {
  name: "JWTAuthProvider with an HS256 secret",
  body: Bodies.jwt,
  provider: () => new JWTAuthProvider({ secret: SECRET }),
  alice: () => aliceByToken(tokenFor("alice")),
  contextIs: "the token's claims",
  refusals: [
    { what: "a token signed with another secret", headers: async () => bearer(await signedForAlice("HS256", OTHER_SECRET)) },
    NO_CREDENTIAL,
    { what: "an API key presented instead of a token", headers: async () => apiKey(KEY_ALICE) },
    { what: "an expired token", headers: async () => bearer(await tokenFor("alice", { expiresIn: -3600 })) }
  ]
}

const ES256: Case = {
  name: "JWTAuthProvider with an ES256 public key (SPKI PEM)",
  body: Bodies.jwt,
  provider: () => new JWTAuthProvider({ publicKey: ES256_PEM, algorithms: ["ES256"] }),
  alice: () => aliceByToken(signedForAlice("ES256", es256.privateKey)),
  contextIs: "the token's claims",
  refusals: [
    { what: "a token signed by another key pair", headers: async () => bearer(await signedForAlice("ES256", es256Other.privateKey)) },
    NO_CREDENTIAL,
    { what: "an HS256 token (an algorithm it does not allow)", headers: async () => bearer(await tokenFor("alice")) }
  ]
}

const RS256: Case = {
  name: "JWTAuthProvider with an RS256 public key (JWK)",
  body: Bodies.jwt,
  provider: () => new JWTAuthProvider({ publicKey: RS256_JWK }),
  alice: () => aliceByToken(signedForAlice("RS256", rs256.privateKey)),
  contextIs: "the token's claims",
  refusals: [
    { what: "a token signed by another key pair", headers: async () => bearer(await signedForAlice("RS256", rs256Other.privateKey)) },
    NO_CREDENTIAL,
    { what: "an ES256 token (another key's algorithm)", headers: async () => bearer(await signedForAlice("ES256", es256.privateKey)) }
  ]
}

const CASES: ReadonlyArray<Case> = [API_KEY, HS256, ES256, RS256]

// ---------------------------------------------------------------------------------------
// Helpers.

/** A provider, disposed with the scope (after the server that uses it). */
const scopedProvider = (make: () => Provider) => Effect.acquireRelease(Effect.sync(make), (provider) => Effect.promise(() => provider.dispose()))

const recordOf = (headers: HeaderLines): Record<string, string> =>
  Object.fromEntries(headers.map(([name, value]) => [name.toLowerCase(), value]))

/**
 * What a refused credential gets from mcp-framework: as a client's first message, and inside
 * a session Alice opened (mcp-framework checks every request, not only the first).
 */
const refusedAnswers = (server: FrameworkServer, alice: HeaderLines, refused: HeaderLines) =>
  Effect.gen(function*() {
    if (server.transport === "http-stream") {
      const first = yield* post(server, "/mcp", refused, INITIALIZE)
      const sessionId = yield* Effect.promise(() => initializeRaw(server.endpoint, alice))
      const inside = yield* post(server, "/mcp", [...inSession(sessionId), ...refused], PING)
      return [first, inside] as const
    }
    // mcp-framework's default for SSE: the stream opens without a credential, every POST needs one.
    const messages = yield* sseSession(server)
    const first = yield* post(server, messages, refused, INITIALIZE)
    const accepted = yield* post(server, messages, alice, INITIALIZE)
    expect(accepted.status, accepted.body).toBe(202)
    const inside = yield* post(server, messages, refused, PING)
    return [first, inside] as const
  })

/** A 401 with `body`, which is also, byte for byte, what mcpgate's own `check` answers for `headers`. */
const expectRefusedAsMcpgate = (answer: RawResponse, body: string, provider: Provider, headers: HeaderLines) =>
  Effect.gen(function*() {
    expect(answer.status).toBe(401)
    expect(answer.body).toBe(body)
    const ours = yield* Effect.promise(() => provider.check(recordOf(headers)))
    expect(ours.ok).toBe(false)
    if (!ours.ok) {
      expect(ours.status).toBe(answer.status)
      expect(answer.body).toBe(ours.body)
    }
  })

// ---------------------------------------------------------------------------------------

describe("mcpgate's providers as `auth.provider` of mcp-framework's MCPServer", () => {
  for (const transport of TRANSPORTS) {
    describe(`on its ${transport} transport`, () => {
      for (const spec of CASES) {
        describe(spec.name, () => {
          for (const refusal of spec.refusals) {
            it.scopedLive(
              `refuses ${refusal.what} with 401 and mcp-framework's body, byte for byte mcpgate's, first and inside a session`,
              () =>
                Effect.gen(function*() {
                  const provider = yield* scopedProvider(spec.provider)
                  const server = yield* serveFramework(transport, { provider })
                  const alice = yield* Effect.promise(spec.alice)
                  const refused = yield* Effect.promise(refusal.headers)
                  const answers = yield* refusedAnswers(server, alice.headers, refused)
                  for (const answer of answers) yield* expectRefusedAsMcpgate(answer, spec.body, provider, refused)
                })
            )
          }

          it.scopedLive(`serves the right credential: initialize and a tool call; the tool's getRequestContext() is ${spec.contextIs}`, () =>
            Effect.gen(function*() {
              const provider = yield* scopedProvider(spec.provider)
              const server = yield* serveFramework(transport, { provider })
              const alice = yield* Effect.promise(spec.alice)
              const client = yield* connectClient(server, recordOf(alice.headers))
              const tools = yield* Effect.promise(() => client.listTools())
              expect(tools.tools.map((tool) => tool.name)).toEqual(["whoami"])
              expect(yield* whoami(client)).toEqual(alice.context)
              // Again in the same session: each request is authenticated and given its own context.
              expect(yield* whoami(client)).toEqual(alice.context)
            }))
        })
      }

      it.scopedLive("refuses a credential header sent twice, though Node's req.headers shows a single value", () =>
        Effect.gen(function*() {
          for (const spec of [API_KEY, HS256]) {
            const provider = yield* scopedProvider(spec.provider)
            const server = yield* serveFramework(transport, { provider })
            const alice = yield* Effect.promise(spec.alice)
            // Node joins two X-API-Key lines with ", " and keeps only the first Authorization line.
            const twice = [...alice.headers, ...alice.headers]
            const path = transport === "sse" ? yield* sseSession(server) : "/mcp"
            const answer = yield* post(server, path, twice, INITIALIZE)
            expect(answer.status).toBe(401)
            expect(answer.body).toBe(spec.body)
            const once = yield* post(server, path, alice.headers, INITIALIZE)
            expect(once.status, once.body).toBe(transport === "sse" ? 202 : 200)
          }
        }))
    })
  }
})

describe("auth configured either way mcp-framework accepts", () => {
  for (const placement of PLACEMENTS) {
    for (const transport of TRANSPORTS) {
      for (const spec of [API_KEY, HS256]) {
        it.scopedLive(`${placement}, ${transport}, ${spec.name}: a refused credential gets the 401, the right one is served`, () =>
          Effect.gen(function*() {
            const provider = yield* scopedProvider(spec.provider)
            const server = yield* serveFramework(transport, { provider }, placement)
            const alice = yield* Effect.promise(spec.alice)
            const refused = yield* Effect.promise(spec.refusals[0]!.headers)
            const [first] = yield* refusedAnswers(server, alice.headers, refused)
            yield* expectRefusedAsMcpgate(first, spec.body, provider, refused)
            const client = yield* connectClient(server, recordOf(alice.headers))
            expect(yield* whoami(client)).toEqual(alice.context)
          }))
      }
    }
  }
})

describe("mcp-framework's SSE transport with endpoints.sse: true", () => {
  for (const spec of [API_KEY, HS256]) {
    it.scopedLive(`${spec.name}: the stream itself is refused without the credential and opened with it`, () =>
      Effect.gen(function*() {
        const provider = yield* scopedProvider(spec.provider)
        const server = yield* serveFramework("sse", { provider, endpoints: { sse: true } })
        const alice = yield* Effect.promise(spec.alice)
        for (const refusal of spec.refusals) {
          const refused = yield* Effect.promise(refusal.headers)
          const answer = yield* Effect.promise(() => send(server.base, "GET", "/sse", [["Accept", "text/event-stream"], ...refused]))
          yield* expectRefusedAsMcpgate(answer, spec.body, provider, refused)
        }
        const client = yield* connectClient(server, recordOf(alice.headers))
        expect(yield* whoami(client)).toEqual(alice.context)
      }))
  }
})

describe("mcp-framework's own log lines", () => {
  it.scopedLive(
    "name no key, token or secret of mcpgate's callers, even at its debug level; and it writes no log file",
    () =>
      Effect.gen(function*() {
        yield* frameworkDebugLines
        const lines: Array<string> = []
        const presented: Array<string> = [KEY_ALICE, KEY_BOB, SECRET]
        for (const transport of TRANSPORTS) {
          for (const spec of [API_KEY, HS256]) {
            // The server's lines are complete once its scope has closed.
            const log = yield* Effect.scoped(Effect.gen(function*() {
              const provider = yield* scopedProvider(spec.provider)
              const server = yield* serveFramework(transport, { provider })
              const alice = yield* Effect.promise(spec.alice)
              for (const refusal of spec.refusals) {
                const refused = yield* Effect.promise(refusal.headers)
                presented.push(...refused.map(([, value]) => value))
                yield* refusedAnswers(server, alice.headers, refused)
              }
              presented.push(...alice.headers.map(([, value]) => value))
              const client = yield* connectClient(server, recordOf(alice.headers))
              yield* whoami(client)
              return server.log
            }))
            lines.push(...log)
          }
        }
        // The hold worked, at debug level: without these the rest would prove nothing.
        expect(lines.some((line) => line.includes("[DEBUG]"))).toBe(true)
        expect(lines.some((line) => line.includes("Authentication failed"))).toBe(true)
        expect(lines.some((line) => line.includes("Authentication successful"))).toBe(true)
        // Counts, not the lines: a failure must not print what it found.
        const JWT = /eyJ[A-Za-z0-9_-]{2,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+/
        expect(lines.filter((line) => JWT.test(line)).length, "lines holding a JWT").toBe(0)
        for (const value of presented) {
          const secret = value.replace(/^Bearer /, "")
          if (secret === "") continue
          expect(lines.filter((line) => line.includes(secret)).length, `lines holding a ${secret.length}-character credential`).toBe(0)
        }
        expect(frameworkWritesLogFiles()).toBe(false)
      }),
    30_000
  )
})
