/**
 * mcp-framework's "Authentication" page, snippet by snippet, with the import changed to
 * `@mcpgate/mcp-sdk` and its placeholders replaced by strong values: each runs and behaves
 * as the page says. Left verbatim, the placeholders are refused at construction with a
 * message saying how to make a strong key or secret, and never quoting the placeholder.
 */
import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, JWTAuthProvider, MCPServer } from "@mcpgate/mcp-sdk"
import { SignJWT } from "jose"
import { randomBytes } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { startWhoami } from "./fixtures/whoamiServer.js"
import { Bodies } from "@mcpgate/testing/contract"
import { acquire, inScope } from "@mcpgate/testing/scoped"

const strongKey = () => randomBytes(32).toString("base64url")

/** Starts a server built from a snippet, with `whoami`; stopped with the test's scope (before its clients close). */
const start = (server: MCPServer) => startWhoami(server)

/** The three mcpgate checks of a refusal: status, exact body, JSON, not cached. */
const expectRefusal = async (response: Response, status: number, body: string) => {
  expect(response.status).toBe(status)
  expect(await response.text()).toBe(body)
  expect(response.headers.get("content-type")).toBe("application/json")
  expect(response.headers.get("cache-control")).toBe("no-store")
}

const postMessage = (url: URL, path: string, headers: Record<string, string>, message: unknown = { jsonrpc: "2.0", id: 1, method: "ping" }) =>
  fetch(new URL(path, url), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(message) })

/** An open SSE stream: its events, one at a time; aborted when the test's scope closes. */
const openStream = (url: URL, headers: Record<string, string> = {}) =>
  acquire(async () => {
    const controller = new AbortController()
    const response = await fetch(new URL("/sse", url), { headers, signal: controller.signal })
    return { controller, ...reading(response) }
  }, ({ controller }) => controller.abort())

/** The events of a stream's `response`, one at a time. */
const reading = (response: Response) => {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  /** The next event that is not a comment (heartbeat). */
  const next = async (): Promise<{ readonly event: string; readonly data: string }> => {
    for (;;) {
      const end = buffer.indexOf("\n\n")
      if (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const lines = block.split("\n").filter((line) => !line.startsWith(":"))
        if (lines.length === 0) continue
        const field = (name: string) =>
          lines.filter((line) => line.startsWith(`${name}:`)).map((line) => line.slice(name.length + 1).trimStart()).join("\n")
        return { event: field("event") || "message", data: field("data") }
      }
      const { done, value } = await reader.read()
      if (done) throw new Error("the stream ended")
      buffer += decoder.decode(value, { stream: true })
    }
  }
  return { response, next }
}

/** The message endpoint a stream announced in its first event. */
const messagesPathOf = async (stream: ReturnType<typeof reading>): Promise<string> => {
  const endpoint = await stream.next()
  expect(endpoint.event).toBe("endpoint")
  expect(endpoint.data).toMatch(/^\/messages\?sessionId=[0-9a-f-]{36}$/)
  return endpoint.data
}

describe("API Key Authentication", () => {
  it.scopedLive("new APIKeyAuthProvider({ keys: [k1, k2], headerName: \"X-API-Key\" }): clients sending X-API-Key: <k1> get in", () => inScope(async (use) => {
    const [key1, key2] = [strongKey(), strongKey()]
    // The snippet:
    const authProvider = new APIKeyAuthProvider({
      keys: [key1, key2],
      headerName: "X-API-Key" // Optional, defaults to "X-API-Key"
    })
    for (const type of ["sse", "http-stream"] as const) {
      const { client, url } = await use(start(new MCPServer({ transport: { type, options: { port: 0, auth: { provider: authProvider } } } })))
      // "Clients must include the API key in the specified header: X-API-Key: your-api-key-1"
      const first = await client(type, { "X-API-Key": key1 })
      const second = await client(type, { "X-API-Key": key2 })
      const [one, two] = [await first.whoami(), await second.whoami()]
      expect(one).toMatchObject({ provider: "api-key", scopes: [] })
      expect(two).toMatchObject({ provider: "api-key", scopes: [] })
      expect(one!.identity).not.toBe(two!.identity)

      // Anyone else: the reference's exact 401, with the challenge naming the header.
      const path = type === "sse" ? "/messages?sessionId=00000000-0000-4000-8000-000000000000" : "/mcp"
      for (const headers of [{}, { "X-API-Key": strongKey() }, { "X-API-Key": key1.toUpperCase() }, { "X-Other": key1 }]) {
        const response = await postMessage(url, path, headers)
        expect(response.headers.get("www-authenticate")).toBe("ApiKey realm=\"mcp\", header=\"X-API-Key\"")
        await expectRefusal(response, 401, Bodies.apiKey)
      }
      // The header name matches in any case.
      expect(await (await client(type, { "x-api-key": key2 })).whoami()).toEqual(two)
    }
  }))

  it.scopedLive("headerName defaults to X-API-Key", () => inScope(async (use) => {
    const key = strongKey()
    const { client, url } = await use(start(new MCPServer({
      transport: { type: "http-stream", options: { port: 0, auth: { provider: new APIKeyAuthProvider({ keys: [key] }) } } }
    })))
    expect(await (await client("http-stream", { "X-API-Key": key })).whoami()).toMatchObject({ provider: "api-key" })
    await expectRefusal(await postMessage(url, "/mcp", { authorization: `Bearer ${key}` }), 401, Bodies.apiKey)
  }))
})

describe("JWT Authentication", () => {
  it.scopedLive("new JWTAuthProvider({ secret, algorithms: [\"HS256\"], headerName: \"Authorization\", requireBearer: true }) with Authorization: Bearer <jwt>", () => inScope(async (use) => {
    const secret = strongKey()
    // The snippet:
    const authProvider = new JWTAuthProvider({
      secret,
      algorithms: ["HS256"], // Optional, defaults to ["HS256"]
      headerName: "Authorization", // Optional, defaults to "Authorization"
      requireBearer: true // Optional, defaults to true
    })
    const sign = (key: string, expiresIn: number | string = "1h") =>
      new SignJWT({ role: "reader" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("user-42")
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(new TextEncoder().encode(key))
    const token = await sign(secret)

    for (const type of ["sse", "http-stream"] as const) {
      const { client, seen, url } = await use(start(new MCPServer({ transport: { type, options: { port: 0, auth: { provider: authProvider } } } })))
      // "Clients must include the JWT token in the Authorization header: Authorization: Bearer eyJhbGciOiJIUzI1NiIs..."
      const caller = await (await client(type, { Authorization: `Bearer ${token}` })).whoami()
      expect(caller).toMatchObject({ provider: "jwt", subject: "user-42", claims: { sub: "user-42", role: "reader" } })
      expect(seen.at(-1)?.caller).toEqual(caller)

      const path = type === "sse" ? "/messages?sessionId=00000000-0000-4000-8000-000000000000" : "/mcp"
      const expired = await new SignJWT({})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("user-42")
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
        .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(new TextEncoder().encode(secret))
      const refused: ReadonlyArray<readonly [Record<string, string>, string]> = [
        [{}, "Bearer realm=\"mcp\""],
        // requireBearer: the token alone is not enough.
        [{ Authorization: token }, "Bearer realm=\"mcp\""],
        [{ Authorization: `Bearer ${await sign(strongKey())}` }, "Bearer realm=\"mcp\", error=\"invalid_token\""],
        [{ Authorization: `Bearer ${expired}` }, "Bearer realm=\"mcp\", error=\"invalid_token\""],
        [{ Authorization: `Bearer ${token} junk` }, "Bearer realm=\"mcp\", error=\"invalid_request\""]
      ]
      for (const [headers, challenge] of refused) {
        const response = await postMessage(url, path, headers)
        expect(response.headers.get("www-authenticate"), JSON.stringify(headers)).toBe(challenge)
        await expectRefusal(response, 401, Bodies.jwt)
      }
    }
  }))
})

describe("Configuring Authentication on the SSE transport", () => {
  it.scopedLive("endpoints { sse: true, messages: true }: both the stream and the messages need the key", () => inScope(async (use) => {
    const key = strongKey()
    // The snippet, with port 0:
    const server = new MCPServer({
      transport: {
        type: "sse",
        options: {
          port: 0,
          auth: {
            provider: new APIKeyAuthProvider({
              keys: [key]
            }),
            endpoints: {
              sse: true, // Require auth for SSE connections
              messages: true // Require auth for messages
            }
          }
        }
      }
    })
    const { client, url } = await use(start(server))

    const anonymous = await fetch(new URL("/sse", url))
    expect(anonymous.headers.get("www-authenticate")).toBe("ApiKey realm=\"mcp\", header=\"X-API-Key\"")
    await expectRefusal(anonymous, 401, Bodies.apiKey)

    const stream = await use(openStream(url, { "X-API-Key": key }))
    expect(stream.response.status).toBe(200)
    expect(stream.response.headers.get("content-type")).toBe("text/event-stream")
    const messages = await messagesPathOf(stream)
    await expectRefusal(await postMessage(url, messages, {}), 401, Bodies.apiKey)
    expect((await postMessage(url, messages, { "X-API-Key": key })).status).toBe(202)
    // The reply arrives on the stream.
    expect(JSON.parse((await stream.next()).data)).toEqual({ jsonrpc: "2.0", id: 1, result: {} })

    expect(await (await client("sse", { "X-API-Key": key })).whoami()).toMatchObject({ provider: "api-key" })
  }))

  it.scopedLive("endpoints omitted: sse defaults to false (the stream opens without a key), messages to true (POSTs need one)", () => inScope(async (use) => {
    const key = strongKey()
    const { url } = await use(start(new MCPServer({
      transport: { type: "sse", options: { port: 0, auth: { provider: new APIKeyAuthProvider({ keys: [key] }) } } }
    })))
    const stream = await use(openStream(url))
    expect(stream.response.status).toBe(200)
    const messages = await messagesPathOf(stream)
    await expectRefusal(await postMessage(url, messages, {}), 401, Bodies.apiKey)
    await expectRefusal(await postMessage(url, messages, { "X-API-Key": strongKey() }), 401, Bodies.apiKey)
    expect((await postMessage(url, messages, { "X-API-Key": key })).status).toBe(202)
    expect(JSON.parse((await stream.next()).data)).toEqual({ jsonrpc: "2.0", id: 1, result: {} })
  }))

  it.scopedLive("endpoints { sse: false, messages: false }: nothing needs a key, as the reference documents", () => inScope(async (use) => {
    const { url } = await use(start(new MCPServer({
      transport: {
        type: "sse",
        options: { port: 0, auth: { provider: new APIKeyAuthProvider({ keys: [strongKey()] }), endpoints: { sse: false, messages: false } } }
      }
    })))
    const stream = await use(openStream(url))
    const messages = await messagesPathOf(stream)
    expect((await postMessage(url, messages, {})).status).toBe(202)
    expect(JSON.parse((await stream.next()).data)).toEqual({ jsonrpc: "2.0", id: 1, result: {} })
  }))
})

describe("Custom Authentication", () => {
  it.scopedLive("a class with async authenticate(req) and getAuthError() plugs into MCPServer", () => inScope(async (use) => {
    const sessionToken = strongKey()
    // The reference's shape: `implements AuthProvider` there, structural here.
    class CustomAuthProvider {
      async authenticate(req: IncomingMessage): Promise<boolean | { data: Record<string, unknown> }> {
        // Implement your custom authentication logic here
        if (req.headers["x-session-token"] !== sessionToken) return false
        return { data: { sub: "custom-user", scopes: ["tools:read"] } }
      }

      getAuthError() {
        return { status: 401, message: "Authentication failed" }
      }
    }
    for (const type of ["http-stream", "sse"] as const) {
      const { client, url } = await use(start(new MCPServer({
        transport: { type, options: { port: 0, auth: { provider: new CustomAuthProvider(), endpoints: { sse: true, messages: true } } } }
      })))
      expect(await (await client(type, { "X-Session-Token": sessionToken })).whoami()).toMatchObject({
        provider: "custom",
        subject: "custom-user",
        clientId: "custom-user",
        scopes: ["tools:read"],
        claims: { sub: "custom-user", scopes: ["tools:read"] }
      })
      const refusedBody = "{\"error\":\"Authentication failed\",\"status\":401,\"type\":\"authentication_error\"}"
      const path = type === "sse" ? "/messages?sessionId=00000000-0000-4000-8000-000000000000" : "/mcp"
      await expectRefusal(await postMessage(url, path, { "X-Session-Token": strongKey() }), 401, refusedBody)
      await expectRefusal(await postMessage(url, path, {}), 401, refusedBody)
      if (type === "sse") await expectRefusal(await fetch(new URL("/sse", url)), 401, refusedBody)
    }
  }))
})

describe("the placeholders, left verbatim, are refused at construction", () => {
  /** The message a construction throws: a ConfigurationError. */
  const refusal = (construct: () => unknown): string => {
    let thrown: unknown
    try {
      construct()
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(Error)
    expect((thrown as { _tag?: unknown })._tag).toBe("ConfigurationError")
    return (thrown as Error).message
  }

  it("keys [\"your-api-key-1\", \"your-api-key-2\"]: says how to make a strong key, never quotes one", () => {
    const message = refusal(() =>
      new APIKeyAuthProvider({
        keys: ["your-api-key-1", "your-api-key-2"],
        headerName: "X-API-Key"
      })
    )
    expect(message).toContain("keys[0]")
    expect(message).toContain("randomBytes(32)")
    expect(message).not.toContain("your-api-key")
  })

  it("keys [\"your-api-key\"], in the MCPServer snippet: says how to make a strong key, never quotes it", () => {
    const message = refusal(() =>
      new MCPServer({
        transport: {
          type: "sse",
          options: {
            auth: {
              provider: new APIKeyAuthProvider({
                keys: ["your-api-key"]
              }),
              endpoints: { sse: true, messages: true }
            }
          }
        }
      })
    )
    expect(message).toContain("randomBytes(32)")
    expect(message).not.toContain("your-api-key")
  })

  it("secret \"your-jwt-secret\": says how to make a strong secret, never quotes it", () => {
    const message = refusal(() =>
      new JWTAuthProvider({
        secret: "your-jwt-secret",
        algorithms: ["HS256"],
        headerName: "Authorization",
        requireBearer: true
      })
    )
    expect(message).toContain("randomBytes(32)")
    expect(message).not.toContain("your-jwt-secret")
  })
})
