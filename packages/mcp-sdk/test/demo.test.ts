/**
 * The demo behind `pnpm demo` works as its header and banner say: run from the repository
 * root against the built package, it serves `whoami` over Streamable HTTP and HTTP+SSE,
 * prints a generated key once (and a configured one never), serves JWTs when asked, refuses
 * bad configuration in one line naming the variable, and stops cleanly on a signal.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Caller } from "@mcpgate/mcp-sdk"
import { SignJWT } from "jose"
import { randomBytes } from "node:crypto"
import { cleanupAfterEach } from "./fixtures/cleanup.js"
import { connect } from "./fixtures/mcp.js"
import { CLIENT, DEMO, freePort, run, runToEnd } from "./support/processes.js"

const defer = cleanupAfterEach()

const API_KEY_401 = "{\"error\":\"Invalid API key\",\"status\":401,\"type\":\"authentication_error\"}"
const JWT_401 = "{\"error\":\"Invalid or expired JWT token\",\"status\":401,\"type\":\"authentication_error\"}"

/** Starts the demo on a free port and waits for its banner. */
const startDemo = async (env: Record<string, string> = {}) => {
  const port = await freePort()
  const demo = run(DEMO, { PORT: String(port), ...env })
  await demo.waitFor(/^Stop with Ctrl-C\.$/m)
  const origin = new URL(`http://127.0.0.1:${port}`)
  return { demo, port, origin, mcp: new URL("/mcp", origin), sse: new URL("/sse", origin) }
}

const occurrences = (text: string, part: string): number => text.split(part).length - 1

/** What `client.mjs` printed: the tool list, then `whoami`'s answer. */
const clientOutput = (stdout: string): { readonly tools: string; readonly caller: Caller } => {
  const [tools, ...rest] = stdout.split("\n")
  return { tools: tools!, caller: JSON.parse(rest.join("\n")) }
}

const postInitialize = (url: URL, headers: Record<string, string>) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
    })
  })

describe("the demo (node packages/mcp-sdk/examples/demo.mjs)", () => {
  it("prints a generated key once; SDK clients over /mcp and /sse and client.mjs are told who they are; a wrong key gets the 401", async () => {
    const { demo, mcp, origin, port, sse } = await startDemo()
    const banner = demo.stdout()
    expect(banner).toContain(`mcpgate demo: an MCP server on http://127.0.0.1:${port}\n`)
    expect(banner).toContain(`  Streamable HTTP  ${mcp.href}\n`)
    expect(banner).toContain(`  HTTP+SSE         ${sse.href}  (messages at /messages)\n`)
    expect(banner).toContain("  auth             api-key; SSE stream open, messages authenticated\n")
    const key = /^ {2}send header {6}X-API-Key: (\S+)$/m.exec(banner)?.[1]
    // 32 random bytes in base64url.
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)

    // Stock SDK clients of both lines, one per transport.
    const overStream = await connect("v2", "http-stream", mcp, { "X-API-Key": key! })
    defer(() => overStream.close())
    const overSse = await connect("v1", "sse", sse, { "X-API-Key": key! })
    defer(() => overSse.close())
    expect(await overStream.toolNames()).toEqual(["whoami"])
    const caller = await overStream.whoami()
    expect(caller).toEqual({
      provider: "api-key",
      subject: expect.stringMatching(/^[0-9a-f]{8}$/),
      clientId: caller?.subject,
      identity: expect.stringMatching(/^api-key:[0-9a-f]{16}$/),
      scopes: []
    })
    expect(await overSse.whoami()).toEqual(caller)

    // The example client, as the banner says to run it, on both endpoints; and with a wrong key.
    const [viaStream, viaSse, wrong] = await Promise.all([
      runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: key! }),
      runToEnd(CLIENT, { MCP_URL: sse.href, MCP_API_KEY: key! }),
      runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: `${key!.slice(1)}x` })
    ])
    for (const result of [viaStream, viaSse]) {
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      expect(clientOutput(result.stdout)).toEqual({ tools: "tools: whoami", caller })
    }

    // A wrong key: the exact 401, from a raw request and through the example client.
    const refused = await postInitialize(mcp, { "X-API-Key": randomBytes(32).toString("base64url") })
    expect(refused.status).toBe(401)
    expect(refused.headers.get("www-authenticate")).toBe("ApiKey realm=\"mcp\", header=\"X-API-Key\"")
    expect(await refused.text()).toBe(API_KEY_401)
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain(API_KEY_401)
    expect(wrong.stdout).toBe("")

    const health = await fetch(new URL("/health", origin))
    expect(await health.text()).toBe("{\"ok\":true}")

    // The key was shown once, in the banner, and never again (nor on stderr).
    expect(occurrences(demo.stdout(), key!)).toBe(1)
    expect(demo.stderr()).toBe("")
  }, 30_000)

  it("keys from MCP_API_KEYS are never printed, and either of them lets a client in", async () => {
    const keys = [randomBytes(24).toString("base64url"), randomBytes(24).toString("base64url")]
    const { demo, mcp, sse } = await startDemo({ MCP_API_KEYS: keys.join(",") })
    expect(demo.stdout()).toContain("  send header      X-API-Key: <one of MCP_API_KEYS>\n")
    expect(demo.stdout()).not.toContain("a key generated for this run")

    const [first, second, wrong] = await Promise.all([
      runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: keys[0]! }),
      runToEnd(CLIENT, { MCP_URL: sse.href, MCP_API_KEY: keys[1]! }),
      runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: `${keys[0]!}x` })
    ])
    for (const result of [first!, second!]) {
      expect(result.code).toBe(0)
      expect(clientOutput(result.stdout).caller.provider).toBe("api-key")
    }
    // Two keys, two identities.
    expect(clientOutput(first!.stdout).caller.identity).not.toBe(clientOutput(second!.stdout).caller.identity)
    expect(wrong!.code).toBe(1)
    expect(wrong!.stderr).toContain(API_KEY_401)
    const outputs = [first!, second!, wrong!].flatMap((result) => [result.stdout, result.stderr])

    demo.child.kill("SIGTERM")
    expect(await demo.exited).toEqual({ code: 0, signal: null })
    const everything = [demo.stdout(), demo.stderr(), ...outputs].join("\n")
    for (const key of keys) {
      expect(everything).not.toContain(key)
      // Not even the first half of one.
      expect(everything).not.toContain(key.slice(0, 16))
    }
  }, 30_000)

  it("MCP_AUTH=jwt with MCP_JWT_SECRET serves JWTs signed with it, and never prints the secret", async () => {
    const secret = randomBytes(32).toString("base64url")
    const { demo, mcp, sse } = await startDemo({ MCP_AUTH: "jwt", MCP_JWT_SECRET: secret })
    expect(demo.stdout()).toContain("  auth             jwt; SSE stream open, messages authenticated\n")
    expect(demo.stdout()).toContain("  send header      Authorization: Bearer <a JWT signed with MCP_JWT_SECRET, with exp>\n")

    const sign = (key: string) =>
      new SignJWT({ scope: "tools:read" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("demo-user")
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(new TextEncoder().encode(key))
    const token = await sign(secret)

    const client = await connect("v2", "sse", sse, { authorization: `Bearer ${token}` })
    defer(() => client.close())
    expect(await client.whoami()).toMatchObject({
      provider: "jwt",
      subject: "demo-user",
      clientId: "demo-user",
      scopes: ["tools:read"],
      claims: { sub: "demo-user", scope: "tools:read" }
    })
    const viaExample = await runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_TOKEN: token })
    expect(viaExample.code).toBe(0)
    expect(clientOutput(viaExample.stdout).caller).toMatchObject({ provider: "jwt", subject: "demo-user" })

    // Signed with another secret: the JWT 401.
    const forged = await postInitialize(mcp, { authorization: `Bearer ${await sign(randomBytes(32).toString("base64url"))}` })
    expect(forged.status).toBe(401)
    expect(forged.headers.get("www-authenticate")).toBe("Bearer realm=\"mcp\", error=\"invalid_token\"")
    expect(await forged.text()).toBe(JWT_401)
    // An API key means nothing to this server.
    const keyed = await postInitialize(mcp, { "X-API-Key": randomBytes(32).toString("base64url") })
    expect(keyed.status).toBe(401)
    expect(await keyed.text()).toBe(JWT_401)

    expect(demo.stdout() + demo.stderr()).not.toContain(secret)
  }, 30_000)

  it("bad configuration exits with code 1 and one line on stderr naming the variable", async () => {
    const port = String(await freePort())
    const cases: ReadonlyArray<{ readonly env: Record<string, string>; readonly variable: string; readonly quiet?: string }> = [
      { env: { PORT: "abc" }, variable: "PORT" },
      { env: { PORT: port, MCP_AUTH: "nope" }, variable: "MCP_AUTH" },
      { env: { PORT: port, MCP_API_KEYS: "short" }, variable: "MCP_API_KEYS" },
      // A short key is refused without being quoted.
      { env: { PORT: port, MCP_API_KEYS: "Zq7-tiny" }, variable: "MCP_API_KEYS", quiet: "Zq7-tiny" },
      { env: { PORT: port, MCP_AUTH: "jwt" }, variable: "MCP_JWT_SECRET" },
      { env: { PORT: port, MCP_AUTH: "jwt", MCP_JWT_SECRET: "short" }, variable: "MCP_JWT_SECRET", quiet: "short" },
      { env: { PORT: port, MCP_AUTH_SSE: "maybe" }, variable: "MCP_AUTH_SSE" }
    ]
    const results = await Promise.all(cases.map(({ env }) => runToEnd(DEMO, env)))
    for (const [index, { quiet, variable }] of cases.entries()) {
      const { code, stderr, stdout } = results[index]!
      const context = JSON.stringify(cases[index]!.env)
      expect(code, context).toBe(1)
      expect(stdout, context).toBe("")
      expect(stderr, context).toMatch(/^mcpgate demo: [^\n]+\n$/)
      expect(stderr, context).toContain(variable)
      if (quiet !== undefined) expect(stderr, context).not.toContain(quiet)
    }
    // The ones about a weak or missing key or secret say how to make a strong one.
    for (const index of [2, 3, 4, 5]) expect(results[index]!.stderr).toContain("randomBytes(32)")
  }, 30_000)

  it("SIGTERM and SIGINT stop it with exit code 0 and \"stopped\"", async () => {
    const demos = await Promise.all([startDemo(), startDemo()])
    for (const [index, signal] of (["SIGTERM", "SIGINT"] as const).entries()) {
      const { demo, origin } = demos[index]!
      // A connection the server has served stays open (keep-alive) until the server closes it.
      expect((await fetch(new URL("/health", origin))).status).toBe(200)
      const started = Date.now()
      demo.child.kill(signal)
      expect(await demo.exited).toEqual({ code: 0, signal: null })
      expect(Date.now() - started).toBeLessThan(3000)
      expect(demo.stdout()).toMatch(/\nmcpgate demo: stopped\n$/)
      expect(demo.stderr()).toBe("")
      // The port is free again.
      await expect(fetch(new URL("/health", origin))).rejects.toThrow()
    }
  }, 30_000)
})
