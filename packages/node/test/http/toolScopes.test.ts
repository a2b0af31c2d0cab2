/**
 * `toolScopes` on the wire (contract sections 1, 2 and 6.7): a posted `tools/call` of a
 * scoped tool from a caller without every scope it requires is refused whole with the exact
 * 403 and `insufficient_scope` challenge, after session binding and body parse, and nothing
 * of the body reaches the session. Tools left out, and other methods, pass for anyone. A
 * refusal is not a failed authentication: it never spends the failed-attempt budget.
 */
import { describe, expect, it } from "@effect/vitest"
import { inScope } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"
import { SseServer } from "@mcpgate/node"
import type { SseTransport } from "@mcpgate/node"
import { ConfigurationError } from "@mcpgate/auth-core"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, tokenFor } from "@mcpgate/testing/credentials"
import { Answer, Bodies } from "@mcpgate/testing/contract"
import type { Expected } from "@mcpgate/testing/contract"
import type { HeaderLines } from "@mcpgate/testing/wire"
import { expectAnswer } from "@mcpgate/testing/wire"
import { echoReply, serve, settle } from "./harness.js"


const ALICE = ["X-API-Key", KEY_ALICE] as const // scopes: ["tools:read"]
const BOB = ["X-API-Key", KEY_BOB] as const // no scopes

const TOOL_SCOPES = { search: ["tools:read"], deploy: ["deploy:write", "ops"] }


/** The contract's 403 for scopes, byte for byte, its challenge listing `scopes`. */
const insufficientScope = (scopes: string): Expected => ({
  statusLine: "HTTP/1.1 403 Forbidden",
  headers: {
    "content-type": "application/json",
    "cache-control": "no-store",
    "www-authenticate": `Bearer realm="mcp", error="insufficient_scope", scope="${scopes}"`,
    "content-length": String(Bodies.insufficientScope.length)
  },
  body: Bodies.insufficientScope
})

const call = (id: number, name: string) =>
  ({ jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: {} } })
const request = (id: number, method: string) => ({ jsonrpc: "2.0", id, method })

/**
 * A server with `toolScopes`. `session()` opens a session (bound to `opener`, if given, else
 * to the first identity that posts): `post` to it, and what was `delivered` to it.
 */
const withServer = async (use: Use, options: { readonly provider?: "api-key" | "jwt"; readonly messages?: boolean } = {}) => {
  const server = await use(serve({
    auth: {
      provider: options.provider === "jwt" ? jwtProvider() : apiKeyProvider(),
      ...(options.messages === undefined ? {} : { endpoints: { messages: options.messages } })
    },
    toolScopes: TOOL_SCOPES
  }))
  const session = async (opener: HeaderLines = []) => {
    const opened = await server.open(opener)
    return {
      stream: opened.stream,
      post: (headers: HeaderLines, body: unknown) => server.post(opened.id, headers, JSON.stringify(body)),
      delivered: () => server.delivered.filter((entry) => entry.sessionId === opened.id).map((entry) => entry.message)
    }
  }
  return { server, session }
}

/** One session on a fresh server. */
const withSession = async (use: Use, options: Parameters<typeof withServer>[1] & { readonly opener?: HeaderLines } = {}) =>
  (await withServer(use, options)).session(options.opener)

describe("toolScopes on SseServer", () => {
  it.scopedLive("a caller holding every required scope calls the tool: 202, delivered, answered on the stream", () => inScope(async (use) => {
    const { delivered, post, stream } = await withSession(use)
    expectAnswer(await post([ALICE], call(1, "search")), Answer.accepted())
    expect(JSON.parse((await stream.next()).data)).toEqual(echoReply(1, "tools/call", "alice"))
    expect(delivered()).toEqual([call(1, "search")])
  }))

  it.scopedLive("a caller without them gets the exact 403 listing every scope the tool requires; nothing is delivered", () => inScope(async (use) => {
    const { session } = await withServer(use)
    const bobs = await session()
    expectAnswer(await bobs.post([BOB], call(1, "search")), insufficientScope("tools:read"))
    // Alice holds one scope of deploy's two: still refused, and the challenge names both.
    const alices = await session()
    expectAnswer(await alices.post([ALICE], call(2, "deploy")), insufficientScope("deploy:write ops"))
    await settle()
    expect([...bobs.delivered(), ...alices.delivered()]).toEqual([])
  }))

  it.scopedLive("a batch with one refused call is refused whole, the challenge naming every scope it needs once, held or not", () => inScope(async (use) => {
    const { session } = await withServer(use)
    const batch = [request(1, "ping"), call(2, "whoami"), call(3, "deploy"), call(4, "search"), call(5, "deploy")]
    const bobs = await session()
    expectAnswer(await bobs.post([BOB], batch), insufficientScope("deploy:write ops tools:read"))
    const alices = await session()
    expectAnswer(await alices.post([ALICE], batch), insufficientScope("deploy:write ops tools:read"))
    await settle()
    expect([...bobs.delivered(), ...alices.delivered()]).toEqual([])
    expectAnswer(await alices.post([ALICE], [...batch.slice(0, 2), call(4, "search")]), Answer.accepted())
    expect(alices.delivered()).toHaveLength(3)
  }))

  it.scopedLive("a tool left out of toolScopes, tools/list and any other method pass for a caller without scopes", () => inScope(async (use) => {
    const { delivered, post } = await withSession(use)
    expectAnswer(await post([BOB], call(1, "whoami")), Answer.accepted())
    expectAnswer(await post([BOB], request(2, "tools/list")), Answer.accepted())
    expectAnswer(await post([BOB], { jsonrpc: "2.0", id: 3, method: "prompts/get", params: { name: "deploy" } }), Answer.accepted())
    // A name that is object machinery elsewhere is just an unscoped tool here.
    expectAnswer(await post([BOB], call(4, "__proto__")), Answer.accepted())
    expectAnswer(await post([BOB], call(5, "constructor")), Answer.accepted())
    expect(delivered()).toHaveLength(5)
  }))

  it.scopedLive("a JWT's scopes come from `scope` (space-separated) or `scp`", () => inScope(async (use) => {
    const { delivered, post } = await withSession(use, { provider: "jwt" })
    const both = await tokenFor("carol", { claims: { scope: "deploy:write ops" } })
    const one = await tokenFor("carol", { claims: { scope: "deploy:write" } })
    const scp = await tokenFor("carol", { claims: { scope: undefined, scp: ["ops", "deploy:write"] } })
    expectAnswer(await post([["Authorization", `Bearer ${both}`]], call(1, "deploy")), Answer.accepted())
    expectAnswer(await post([["Authorization", `Bearer ${one}`]], call(2, "deploy")), insufficientScope("deploy:write ops"))
    expectAnswer(await post([["Authorization", `Bearer ${scp}`]], call(3, "deploy")), Answer.accepted())
    expect(delivered().map((message) => message["id"])).toEqual([1, 3])
  }))

  it.scopedLive("an anonymous caller (messages: false, no credentials) calls unscoped tools but gets the 403 for scoped ones", () => inScope(async (use) => {
    const { delivered, post } = await withSession(use, { messages: false })
    expectAnswer(await post([], call(1, "whoami")), Answer.accepted())
    expectAnswer(await post([], call(2, "search")), insufficientScope("tools:read"))
    await settle()
    expect(delivered().map((message) => message["id"])).toEqual([1])
  }))

  it.scopedLive("comes after session binding: another identity's post to a bound session is the session 403, not the scope one", () => inScope(async (use) => {
    const { post } = await withSession(use, { opener: [ALICE] })
    expectAnswer(await post([BOB], call(1, "search")), Answer.sessionForbidden())
  }))

  it.scopedLive("spends no failed-attempt budget: 30 refused calls from one client are all 403, never 429", () => inScope(async (use) => {
    const { post } = await withSession(use)
    for (let id = 1; id <= 30; id++) {
      expectAnswer(await post([BOB], call(id, "search")), insufficientScope("tools:read"))
    }
    expectAnswer(await post([BOB], call(31, "whoami")), Answer.accepted())
  }))
})

describe("toolScopes options", () => {
  const onSession = (transport: SseTransport) => transport.start()
  const refusal = (toolScopes: unknown, key = "toolScopes"): string => {
    try {
      SseServer.unsafeMake({ auth: { provider: apiKeyProvider() }, onSession, [key]: toolScopes } as SseServer.SseServerOptions)
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
      return (error as Error).message
    }
    throw new Error("expected the options to be refused")
  }

  it("refuses a tool with no scopes, a scope that is not an RFC 6749 token, an empty tool name, and a misspelling", () => {
    expect(refusal({ deploy: [] })).toContain("toolScopes.deploy: must list at least one scope")
    expect(refusal({ deploy: ["deploy write"] })).toContain("toolScopes.deploy: \"deploy write\" is not a scope")
    expect(refusal({ deploy: ["a\"b"] })).toContain("is not a scope")
    expect(refusal({ "": ["a"] })).toContain("toolScopes: a tool name must not be empty")
    expect(refusal(["deploy"])).toContain("toolScopes must be an object of tool name → scopes")
    expect(refusal({ deploy: ["a"] }, "toolScope")).toContain("toolScope: is unexpected")
  })
})
