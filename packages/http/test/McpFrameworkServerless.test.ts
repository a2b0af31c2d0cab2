/**
 * mcp-framework's serverless names, held to mcpgate's answers: its own providers and
 * mcpgate's passed to `authenticateWebRequest` give the contract's bytes, a credential in the
 * URL is refused, failed attempts are limited per `sourceIp`, and no request without a valid
 * credential is ever let in. mcp-framework 0.2.22's own functions run beside ours where the
 * two should agree.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { AuthProvider, ConfigurationError } from "@mcpgate/auth-core"
import { authenticateWebRequest, createIncomingMessageShim, McpFrameworkServerless } from "@mcpgate/http"
import { Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import { apiKeyProvider, jwtProvider, KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "@mcpgate/testing/credentials"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Framework from "mcp-framework"

// mcp-framework exports these from `dist/serverless` only, which its package.json does not expose.
const theirs: {
  authenticateWebRequest: (request: Request, authConfig: unknown, context: string, sourceIp?: string) => Promise<
    { result: { data?: Record<string, unknown> } } | { response: Response }
  >
  createIncomingMessageShim: (request: Request, sourceIp?: string) => any
} = await import(new URL("../../../node_modules/mcp-framework/dist/serverless/web-auth-handler.js", import.meta.url).href)

const apiKeys = apiKeyProvider()
const jwts = jwtProvider()
const both = AuthProvider.firstOf(apiKeys.service, jwts.service)
afterAll(() => Promise.all([apiKeys.dispose(), jwts.dispose()]))

const frameworkKeys = new Framework.APIKeyAuthProvider({ keys: [KEY_ALICE] })
const frameworkJwts = new Framework.JWTAuthProvider({ secret: SECRET })

const request = (headers: Record<string, string> = {}, url = "https://mcp.example.com/mcp") =>
  new Request(url, { method: "POST", headers })

const headersOf = (headers: Headers): Record<string, string> => {
  const record: Record<string, string> = {}
  headers.forEach((value, name) => {
    record[name] = value
  })
  return record
}

/**
 * The refusal a `{ response }` outcome carries: status, every header, body text. Its
 * `Content-Length` (the body's exact bytes, as the Node servers send) is checked here, and
 * left out of what is compared.
 */
const refusalOf = async (outcome: McpFrameworkServerless.WebAuthOutcome | { response: Response } | { result: unknown }) => {
  if (!("response" in outcome)) throw new Error(`let in: ${JSON.stringify(outcome.result)}`)
  const { "content-length": length, ...headers } = headersOf(outcome.response.headers)
  const body = await outcome.response.text()
  expect(length).toBe(String(new TextEncoder().encode(body).byteLength))
  return { status: outcome.response.status, headers, body }
}

const answer401 = (body: string, challenge: string) => ({
  status: 401,
  headers: { ...JSON_HEADERS, "www-authenticate": challenge },
  body
})

describe("authenticateWebRequest with mcpgate's providers", () => {
  it("lets a valid API key in: mcp-framework's { result }, data the key's label and scopes, and the principal", async () => {
    const outcome = await authenticateWebRequest(request({ "X-API-Key": KEY_ALICE }), { provider: apiKeys }, "request", "192.0.2.1")
    expect("result" in outcome && outcome.result.data).toStrictEqual({ label: "alice", scopes: ["tools:read"] })
    expect("result" in outcome && outcome.result.principal).toMatchObject({ provider: "api-key", clientId: "alice" })
  })

  it("lets a valid JWT in with its claims as data", async () => {
    const token = await tokenFor("carol")
    const outcome = await authenticateWebRequest(request({ Authorization: `Bearer ${token}` }), { provider: both }, "message", "192.0.2.1")
    expect("result" in outcome && outcome.result.data).toMatchObject({ sub: "carol", scope: "tools:read" })
    expect("result" in outcome && outcome.result.principal.provider).toBe("jwt")
  })

  it("refuses with the contract's exact 401s", async () => {
    const wrongToken = await tokenFor("carol", { secret: "another-secret-of-at-least-32-bytes!!" })
    const cases = [
      [{ provider: apiKeys }, {}, answer401(Bodies.apiKey, Challenge.apiKey())],
      [{ provider: apiKeys }, { "X-API-Key": "mcp_test_not_a_key_000000" }, answer401(Bodies.apiKey, Challenge.apiKey())],
      [{ provider: jwts }, {}, answer401(Bodies.jwt, Challenge.bearer)],
      [{ provider: jwts }, { Authorization: `Bearer ${wrongToken}` }, answer401(Bodies.jwt, Challenge.invalidToken)],
      [{ provider: jwts }, { Authorization: "Bearer" }, answer401(Bodies.jwt, Challenge.invalidRequest)],
      [{ provider: both }, {}, answer401(Bodies.apiKey, `${Challenge.apiKey()}, ${Challenge.bearer}`)]
    ] as const
    for (const [authConfig, headers, expected] of cases) {
      expect(await refusalOf(await authenticateWebRequest(request(headers), authConfig, "request", "192.0.2.2"))).toStrictEqual(expected)
    }
  })

  it("refuses a credential in the URL, a good one included, before any provider", async () => {
    const outcome = await authenticateWebRequest(
      request({ "X-API-Key": KEY_ALICE }, `https://mcp.example.com/mcp?api_key=${KEY_ALICE}`),
      { provider: apiKeys },
      "request",
      "192.0.2.3"
    )
    expect(await refusalOf(outcome)).toStrictEqual(answer401(Bodies.apiKey, Challenge.apiKey()))
  })

  it("counts wrong keys per sourceIp: past 20, the 429 with Retry-After, while another address is heard", async () => {
    const provider = apiKeyProvider()
    try {
      const wrong = () => request({ "X-API-Key": "mcp_test_not_a_key_000000" })
      for (let i = 0; i < 20; i++) {
        expect((await refusalOf(await authenticateWebRequest(wrong(), { provider }, "request", "198.51.100.7"))).status).toBe(401)
      }
      const limited = await refusalOf(await authenticateWebRequest(wrong(), { provider }, "request", "198.51.100.7"))
      expect(limited).toStrictEqual({
        status: 429,
        headers: { ...JSON_HEADERS, "retry-after": expect.stringMatching(/^(60|59)$/) },
        body: Bodies.rateLimited
      })
      const other = await authenticateWebRequest(request({ "X-API-Key": KEY_BOB }), { provider }, "request", "198.51.100.8")
      expect("result" in other).toBe(true)
    } finally {
      await provider.dispose()
    }
  })

  it("without a client address, limiting is off rather than one budget for everyone", async () => {
    const provider = apiKeyProvider()
    try {
      for (const sourceIp of [undefined, "", "not-an-address"]) {
        for (let i = 0; i < 25; i++) {
          const outcome = await authenticateWebRequest(request({ "X-API-Key": "wrong_key_wrong_key" }), { provider }, "request", sourceIp)
          expect((await refusalOf(outcome)).status).toBe(401)
        }
      }
    } finally {
      await provider.dispose()
    }
  })

  it("rejects with a ConfigurationError without a provider, where mcp-framework lets the request in", async () => {
    expect(await theirs.authenticateWebRequest(request(), undefined, "request")).toStrictEqual({ result: { data: {} } })
    for (const authConfig of [undefined, {}, { provider: {} }]) {
      await expect(authenticateWebRequest(request(), authConfig as never, "request")).rejects.toBeInstanceOf(
        ConfigurationError.ConfigurationError
      )
    }
  })
})

describe("authenticateWebRequest with mcp-framework's own providers", () => {
  it("lets the same valid credentials in as mcp-framework does", async () => {
    const token = await tokenFor("carol")
    const cases = [
      [frameworkKeys, { "X-API-Key": KEY_ALICE }, {}],
      [frameworkJwts, { Authorization: `Bearer ${token}` }, { sub: "carol", scope: "tools:read" }]
    ] as const
    for (const [provider, headers, data] of cases) {
      const ours = await authenticateWebRequest(request(headers), { provider }, "request", "192.0.2.10")
      const reference = await theirs.authenticateWebRequest(request(headers), { provider }, "request", "192.0.2.10")
      expect("result" in reference && reference.result.data).toMatchObject(data)
      expect("result" in ours && ours.result.data).toMatchObject(data)
      expect("result" in ours && ours.result.principal.provider).toBe("custom")
    }
  })

  it("refuses what mcp-framework refuses, with the contract's body and challenge for a custom provider", async () => {
    for (const [provider, body] of [[frameworkKeys, Bodies.apiKey], [frameworkJwts, Bodies.jwt]] as const) {
      for (const headers of [{}, { "X-API-Key": "wrong_key_wrong_key" }, { Authorization: "Bearer a.b.c" }]) {
        const reference = await theirs.authenticateWebRequest(request(headers), { provider }, "request", "192.0.2.11")
        expect("response" in reference && reference.response.status).toBe(401)
        const ours = await authenticateWebRequest(request(headers), { provider }, "request", "192.0.2.11")
        expect(await refusalOf(ours)).toStrictEqual(answer401(body, Challenge.bearer))
      }
    }
  })

  it("refuses a key in the query string, which mcp-framework's API-key provider reads", async () => {
    const url = `https://mcp.example.com/mcp?api_key=${KEY_ALICE}`
    expect(await frameworkKeys.authenticate(theirs.createIncomingMessageShim(request({}, url)))).toBe(true)
    const ours = await authenticateWebRequest(request({ "X-API-Key": KEY_ALICE }, url), { provider: frameworkKeys }, "request", "192.0.2.12")
    // Refused before the provider runs, so with the default refusal of a custom provider.
    expect(await refusalOf(ours)).toStrictEqual(answer401(Bodies.unauthorized, Challenge.invalidRequest))
  })
})

describe("no request without a valid credential is let in", () => {
  const printable = FastCheck.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,40}$/)
  const segment = FastCheck.stringMatching(/^[A-Za-z0-9_-]{1,24}$/)
  const value = FastCheck.oneof(
    printable,
    printable.map((text) => `Bearer ${text}`),
    FastCheck.tuple(segment, segment, segment).map((parts) => `Bearer ${parts.join(".")}`),
    FastCheck.constant(KEY_BOB.slice(0, -1))
  )
  const name = FastCheck.constantFrom("X-API-Key", "x-api-key", "Authorization", "authorization", "Cookie", "X-Other")
  const headers = FastCheck.dictionary(name, value, { maxKeys: 4 })
  const query = FastCheck.oneof(
    FastCheck.constant(""),
    FastCheck.constantFrom("api_key", "apiKey", "access_token", "token").map((key) => `?${key}=${KEY_ALICE}`),
    segment.map((text) => `?q=${text}`)
  )
  const sourceIp = FastCheck.option(FastCheck.ipV4(), { nil: undefined })
  const providers = [{ provider: both }, { provider: frameworkKeys }, { provider: frameworkJwts }] as const
  const providerIndex = FastCheck.integer({ min: 0, max: providers.length - 1 })

  it.live.prop(
    "any such request gets a 401 or a 429 of the contract, never a result",
    [headers, query, sourceIp, providerIndex],
    ([headers, query, sourceIp, index]) =>
      Effect.promise(async () => {
        const outcome = await authenticateWebRequest(
          request(headers, `https://mcp.example.com/mcp${query}`),
          providers[index]!,
          "request",
          sourceIp
        )
        const refusal = await refusalOf(outcome)
        expect([401, 429]).toContain(refusal.status)
        expect([Bodies.apiKey, Bodies.jwt, Bodies.unauthorized, Bodies.rateLimited]).toContain(refusal.body)
      }),
    { fastCheck: { numRuns: 200 } }
  )
})

describe("createIncomingMessageShim", () => {
  it("holds what mcp-framework's shim holds that providers read", () => {
    const web = new Request("https://mcp.example.com/mcp?x=1", {
      method: "POST",
      headers: { "X-API-Key": KEY_ALICE, Authorization: "Bearer t" }
    })
    const ours = createIncomingMessageShim(web, "203.0.113.9")
    const reference = theirs.createIncomingMessageShim(web, "203.0.113.9")
    expect({ ...ours.headers }).toStrictEqual({ ...reference.headers })
    expect([ours.method, ours.url, ours.socket.remoteAddress]).toStrictEqual([
      reference.method,
      reference.url,
      reference.socket.remoteAddress
    ])
  })

  it("leaves an unknown address unknown, where mcp-framework makes up 0.0.0.0", () => {
    const web = new Request("https://mcp.example.com/mcp")
    expect(theirs.createIncomingMessageShim(web).socket.remoteAddress).toBe("0.0.0.0")
    expect(createIncomingMessageShim(web).socket.remoteAddress).toBeUndefined()
  })

  it("keeps a header named __proto__ as a header", () => {
    const shim = createIncomingMessageShim(new Request("https://x/", { headers: new Headers([["__proto__", "v"]]) }))
    expect(shim.headers["__proto__"]).toBe("v")
  })
})
