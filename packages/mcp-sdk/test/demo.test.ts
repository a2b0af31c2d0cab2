/**
 * The demo behind `pnpm demo` works as its header and banner say: run from the repository
 * root against the built package, it serves `whoami` over Streamable HTTP and HTTP+SSE,
 * prints a generated key once (and a configured one never), serves JWTs when asked, refuses
 * bad configuration in one line naming the variable, and stops cleanly on a signal. It serves
 * its authentication counters at `/metrics`, and reloads MCP_API_KEYS_FILE when it changes.
 * With MCP_RESOURCE_URL and MCP_AUTHORIZATION_SERVERS it is an OAuth protected resource
 * (RFC 9728): the metadata is served, every Bearer challenge names it, and only tokens for
 * the resource from its authorization servers are served.
 */
import { describe, expect, it } from "@effect/vitest"
import type { Caller } from "@mcpgate/mcp-sdk"
import type { CryptoKey, JWTPayload } from "jose"
import { exportJWK, exportSPKI, generateKeyPair, SignJWT } from "jose"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { connect } from "./fixtures/mcp.js"
import { RATE_LIMITED, sample, SUCCESSES, UNKNOWN_KEY } from "./fixtures/metrics.js"
import { CLIENT, DEMO, freePort, HAS_REDIS_SERVER, run, runToEnd, startRedis } from "./support/processes.js"
import { Bodies } from "@mcpgate/testing/contract"
import type { Use } from "@mcpgate/testing/scoped"
import { acquire, httpServer, inScope } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"

const PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"

/** Starts the demo on `port` (default: a free one) and waits for its banner; killed when the test's scope closes. */
const startDemo = (env: Record<string, string> = {}, port?: number) =>
  Effect.gen(function*() {
    const chosen = port ?? (yield* Effect.promise(freePort))
    const demo = yield* run(DEMO, { PORT: String(chosen), ...env })
    yield* Effect.promise(() => demo.waitFor(/^Stop with Ctrl-C\.$/m))
    const origin = new URL(`http://127.0.0.1:${chosen}`)
    return { demo, port: chosen, origin, mcp: new URL("/mcp", origin), sse: new URL("/sse", origin) }
  })

/** A connected SDK client, closed when the test's scope closes (before the demo it talks to). */
const connectTo = (...args: Parameters<typeof connect>) => acquire(() => connect(...args), (client) => client.close())

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

/** A start the demo refuses: the environment, what its one line says, and what it must not. */
interface Refusal {
  readonly env: Record<string, string>
  readonly says: ReadonlyArray<string>
  readonly quiet?: string
}

/** Runs the demo once per case and expects each to exit 1 with one line on stderr. */
const expectRefusals = async (use: Use, cases: ReadonlyArray<Refusal>) => {
  const port = String(await freePort())
  const results = await Promise.all(cases.map(({ env }) => use(runToEnd(DEMO, { PORT: port, ...env }))))
  for (const [index, { env, quiet, says }] of cases.entries()) {
    const { code, stderr, stdout } = results[index]!
    const context = JSON.stringify(env)
    expect(code, context).toBe(1)
    expect(stdout, context).toBe("")
    expect(stderr, context).toMatch(/^mcpgate demo: [^\n]+\n$/)
    for (const part of says) expect(stderr, context).toContain(part)
    if (quiet !== undefined) expect(stderr, context).not.toContain(quiet)
  }
  return results
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `check` until it holds; fails after `timeoutMs`. */
const eventually = async (what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> => {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`)
}

/** A fresh directory for key files, removed when the test's scope closes. */
const keyDirectory = () =>
  acquire(
    () => fs.mkdtempSync(path.join(os.tmpdir(), "mcpgate-demo-keys-")),
    (directory) => fs.rmSync(directory, { recursive: true, force: true })
  )

/** Replaces a file as editors do: a new file written beside it, then renamed over it. */
const replaceFile = (file: string, text: string): void => {
  const temporary = `${file}.${randomBytes(4).toString("hex")}.tmp`
  fs.writeFileSync(temporary, text)
  fs.renameSync(temporary, file)
}

const newKey = () => randomBytes(24).toString("base64url")

/**
 * An authorization server's key set, as an identity provider serves it: a JWK Set on a
 * loopback port, closed when the test's scope closes. `requests` counts the fetches.
 */
const serveJwks = (keys: ReadonlyArray<object>) =>
  Effect.suspend(() => {
    let requests = 0
    return Effect.map(
      httpServer((_, res) => {
        requests++
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }))
      }),
      ({ url }): { readonly url: string; readonly requests: () => number } => ({ url: new URL("/jwks.json", url).href, requests: () => requests })
    )
  })

/** A signed JWT with `exp`, `iat` and `sub` set, and `claims`. */
const signJwt = (key: CryptoKey, alg: string, claims: JWTPayload, kid?: string) =>
  new SignJWT(claims)
    .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
    .setSubject("demo-user")
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(key)

describe("the demo (node packages/mcp-sdk/examples/demo.mjs)", () => {
  it.scopedLive("prints a generated key once; SDK clients over /mcp and /sse and client.mjs are told who they are; a wrong key gets the 401", () => inScope(async (use) => {
    const { demo, mcp, origin, port, sse } = await use(startDemo())
    const banner = demo.stdout()
    expect(banner).toContain(`mcpgate demo: an MCP server on http://127.0.0.1:${port}\n`)
    expect(banner).toContain(`  Streamable HTTP  ${mcp.href}\n`)
    expect(banner).toContain(`  HTTP+SSE         ${sse.href}  (messages at /messages)\n`)
    expect(banner).toContain("  auth             api-key; SSE stream open, messages authenticated\n")
    const key = /^ {2}send header {6}X-API-Key: (\S+)$/m.exec(banner)?.[1]
    // 32 random bytes in base64url.
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)

    // Stock SDK clients of both lines, one per transport.
    const overStream = await use(connectTo("v2", "http-stream", mcp, { "X-API-Key": key! }))
    const overSse = await use(connectTo("v1", "sse", sse, { "X-API-Key": key! }))
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
      use(runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: key! })),
      use(runToEnd(CLIENT, { MCP_URL: sse.href, MCP_API_KEY: key! })),
      use(runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: `${key!.slice(1)}x` }))
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
    expect(await refused.text()).toBe(Bodies.apiKey)
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain(Bodies.apiKey)
    expect(wrong.stdout).toBe("")

    const health = await fetch(new URL("/health", origin))
    expect(await health.text()).toBe("{\"ok\":true}")

    // The key was shown once, in the banner, and never again (nor on stderr).
    expect(occurrences(demo.stdout(), key!)).toBe(1)
    expect(demo.stderr()).toBe("")
  }), 30_000)

  it.scopedLive("keys from MCP_API_KEYS are never printed, and either of them lets a client in", () => inScope(async (use) => {
    const keys = [randomBytes(24).toString("base64url"), randomBytes(24).toString("base64url")]
    const { demo, mcp, sse } = await use(startDemo({ MCP_API_KEYS: keys.join(",") }))
    expect(demo.stdout()).toContain("  send header      X-API-Key: <one of MCP_API_KEYS>\n")
    expect(demo.stdout()).not.toContain("a key generated for this run")

    const [first, second, wrong] = await Promise.all([
      use(runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: keys[0]! })),
      use(runToEnd(CLIENT, { MCP_URL: sse.href, MCP_API_KEY: keys[1]! })),
      use(runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_API_KEY: `${keys[0]!}x` }))
    ])
    for (const result of [first!, second!]) {
      expect(result.code).toBe(0)
      expect(clientOutput(result.stdout).caller.provider).toBe("api-key")
    }
    // Two keys, two identities.
    expect(clientOutput(first!.stdout).caller.identity).not.toBe(clientOutput(second!.stdout).caller.identity)
    expect(wrong!.code).toBe(1)
    expect(wrong!.stderr).toContain(Bodies.apiKey)
    const outputs = [first!, second!, wrong!].flatMap((result) => [result.stdout, result.stderr])
    // Without MCP_API_KEY_ALLOW_BEARER, a key is read from X-API-Key only.
    expect((await postInitialize(mcp, { authorization: `Bearer ${keys[0]!}` })).status).toBe(401)

    demo.child.kill("SIGTERM")
    expect(await demo.exited).toEqual({ code: 0, signal: null })
    const everything = [demo.stdout(), demo.stderr(), ...outputs].join("\n")
    for (const key of keys) {
      expect(everything).not.toContain(key)
      // Not even the first half of one.
      expect(everything).not.toContain(key.slice(0, 16))
    }
  }), 30_000)

  it.scopedLive("MCP_AUTH=jwt with MCP_JWT_SECRET serves JWTs signed with it, and never prints the secret", () => inScope(async (use) => {
    const secret = randomBytes(32).toString("base64url")
    const { demo, mcp, sse } = await use(startDemo({ MCP_AUTH: "jwt", MCP_JWT_SECRET: secret }))
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

    const client = await use(connectTo("v2", "sse", sse, { authorization: `Bearer ${token}` }))
    expect(await client.whoami()).toMatchObject({
      provider: "jwt",
      subject: "demo-user",
      clientId: "demo-user",
      scopes: ["tools:read"],
      claims: { sub: "demo-user", scope: "tools:read" }
    })
    const viaExample = await use(runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_TOKEN: token }))
    expect(viaExample.code).toBe(0)
    expect(clientOutput(viaExample.stdout).caller).toMatchObject({ provider: "jwt", subject: "demo-user" })

    // Signed with another secret: the JWT 401.
    const forged = await postInitialize(mcp, { authorization: `Bearer ${await sign(randomBytes(32).toString("base64url"))}` })
    expect(forged.status).toBe(401)
    expect(forged.headers.get("www-authenticate")).toBe("Bearer realm=\"mcp\", error=\"invalid_token\"")
    expect(await forged.text()).toBe(Bodies.jwt)
    // An API key means nothing to this server.
    const keyed = await postInitialize(mcp, { "X-API-Key": randomBytes(32).toString("base64url") })
    expect(keyed.status).toBe(401)
    expect(await keyed.text()).toBe(Bodies.jwt)

    expect(demo.stdout() + demo.stderr()).not.toContain(secret)
  }), 30_000)

  it.scopedLive("bad configuration exits with code 1 and one line on stderr naming the variable", () => inScope(async (use) => {
    const results = await expectRefusals(use, [
      { env: { PORT: "abc" }, says: ["PORT"] },
      { env: { MCP_AUTH: "nope" }, says: ["MCP_AUTH"] },
      { env: { MCP_API_KEYS: "short" }, says: ["MCP_API_KEYS"] },
      // A short key is refused without being quoted.
      { env: { MCP_API_KEYS: "Zq7-tiny" }, says: ["MCP_API_KEYS"], quiet: "Zq7-tiny" },
      { env: { MCP_AUTH: "jwt" }, says: ["MCP_JWT_SECRET"] },
      { env: { MCP_AUTH: "jwt", MCP_JWT_SECRET: "short" }, says: ["MCP_JWT_SECRET"], quiet: "short" },
      { env: { MCP_AUTH_SSE: "maybe" }, says: ["MCP_AUTH_SSE"] },
      { env: { MCP_API_KEYS_FILE_POLL: "0" }, says: ["MCP_API_KEYS_FILE_POLL"] }
    ])
    // The ones about a weak or missing key or secret say how to make a strong one.
    for (const index of [2, 3, 4, 5]) expect(results[index]!.stderr).toContain("randomBytes(32)")
  }), 30_000)

  it.scopedLive("MCP_RESOURCE_URL + MCP_AUTHORIZATION_SERVERS + MCP_JWT_JWKS_URL: the metadata is served, every challenge names it, and only a token for the resource from its authorization server is served", () => inScope(async (use) => {
    const { privateKey, publicKey } = await generateKeyPair("RS256")
    const { privateKey: strangerKey } = await generateKeyPair("RS256")
    const jwks = await use(serveJwks([{ ...(await exportJWK(publicKey)), kid: "as-1", alg: "RS256", use: "sig" }]))
    const port = await freePort()
    const resource = `http://127.0.0.1:${port}/mcp`
    const issuer = "https://auth.example.com"
    const metadataUrl = `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp`
    const { demo, mcp, origin } = await use(startDemo({
      MCP_AUTH: "jwt",
      MCP_JWT_JWKS_URL: jwks.url,
      MCP_RESOURCE_URL: resource,
      MCP_AUTHORIZATION_SERVERS: issuer,
      MCP_SCOPES_SUPPORTED: "tools:read"
    }, port))

    const banner = demo.stdout()
    expect(banner).toContain("  send header      Authorization: Bearer <a JWT signed with a key of MCP_JWT_JWKS_URL, with exp>\n")
    expect(banner).toContain(`  claims checked   aud ${resource}; iss ${issuer}\n`)
    expect(banner).toContain(`  resource         ${resource}  (OAuth protected resource, RFC 9728)\n`)
    expect(banner).toContain(`  authorization    ${issuer}  (where clients get tokens)\n`)
    expect(banner).toContain("  scopes           tools:read\n")
    expect(banner).toContain(`  metadata         ${metadataUrl}  (no auth)\n`)
    expect(banner).toContain(`  curl -i ${mcp.href}  (the 401: WWW-Authenticate names resource_metadata)\n`)
    expect(banner).toContain(`  curl ${metadataUrl}  (the metadata: where to get a token)\n`)
    expect(banner).not.toContain("named in challenges as")

    // The metadata, without credentials, at the path-derived URL and the plain one.
    const document = JSON.stringify({
      resource,
      authorization_servers: [issuer],
      scopes_supported: ["tools:read"],
      bearer_methods_supported: ["header"]
    })
    for (const url of [metadataUrl, new URL("/.well-known/oauth-protected-resource", origin).href]) {
      const answer = await fetch(url)
      expect(answer.status, url).toBe(200)
      expect(answer.headers.get("content-type"), url).toBe("application/json")
      expect(await answer.text(), url).toBe(document)
    }

    // No token: the challenge names the metadata, on the POST a client sends and the GET curl sends.
    // It names the announced scopes too (docs/behaviour.md#challenges).
    const challenge = `Bearer realm="mcp", scope="tools:read", resource_metadata="${metadataUrl}"`
    const bare = await postInitialize(mcp, {})
    expect(bare.status).toBe(401)
    expect(bare.headers.get("www-authenticate")).toBe(challenge)
    expect(await bare.text()).toBe(Bodies.jwt)
    const curl = await fetch(mcp)
    expect(curl.status).toBe(401)
    expect(curl.headers.get("www-authenticate")).toBe(challenge)

    // A token for this resource, from its authorization server, signed with the served key.
    const good = await signJwt(privateKey, "RS256", { iss: issuer, aud: resource, scope: "tools:read" }, "as-1")
    expect((await postInitialize(mcp, { authorization: `Bearer ${good}` })).status).toBe(200)
    const viaExample = await use(runToEnd(CLIENT, { MCP_URL: mcp.href, MCP_TOKEN: good }))
    expect(viaExample.code).toBe(0)
    expect(clientOutput(viaExample.stdout).caller).toMatchObject({
      provider: "jwt",
      subject: "demo-user",
      scopes: ["tools:read"],
      claims: { iss: issuer, aud: resource }
    })
    expect(jwks.requests()).toBeGreaterThanOrEqual(1)

    // Refused with invalid_token, the challenge still naming the metadata: a token for another
    // resource, one for no resource, one from another issuer, one signed with another key.
    const refusedTokens = [
      await signJwt(privateKey, "RS256", { iss: issuer, aud: "http://127.0.0.1:1/mcp" }, "as-1"),
      await signJwt(privateKey, "RS256", { iss: issuer }, "as-1"),
      await signJwt(privateKey, "RS256", { iss: "https://other.example.com", aud: resource }, "as-1"),
      await signJwt(strangerKey, "RS256", { iss: issuer, aud: resource }, "as-1")
    ]
    for (const [index, token] of refusedTokens.entries()) {
      const refused = await postInitialize(mcp, { authorization: `Bearer ${token}` })
      expect(refused.status, String(index)).toBe(401)
      expect(refused.headers.get("www-authenticate"), String(index)).toBe(
        `Bearer realm="mcp", error="invalid_token", scope="tools:read", resource_metadata="${metadataUrl}"`
      )
      expect(await refused.text(), String(index)).toBe(Bodies.jwt)
    }
    expect(demo.stderr()).toBe("")
  }), 30_000)

  it.scopedLive("MCP_JWT_PUBLIC_KEY: an SPKI PEM (with line breaks, or with \"\\n\" for them) or one JWK as JSON verifies tokens signed with its private key", () => inScope(async (use) => {
    const { privateKey, publicKey } = await generateKeyPair("ES256")
    const { privateKey: strangerKey } = await generateKeyPair("ES256")
    const pem = await exportSPKI(publicKey)
    const forms = [pem, pem.trim().replace(/\n/g, "\\n"), JSON.stringify(await exportJWK(publicKey))]
    const demos = await Promise.all(forms.map((form) => use(startDemo({ MCP_AUTH: "jwt", MCP_JWT_PUBLIC_KEY: form }))))
    const good = await signJwt(privateKey, "ES256", {})
    const forged = await signJwt(strangerKey, "ES256", {})
    for (const [index, { demo, mcp }] of demos.entries()) {
      expect(demo.stdout(), String(index)).toContain(
        "  send header      Authorization: Bearer <a JWT signed with the private key of MCP_JWT_PUBLIC_KEY, with exp>\n"
      )
      expect((await postInitialize(mcp, { authorization: `Bearer ${good}` })).status, String(index)).toBe(200)
      const refused = await postInitialize(mcp, { authorization: `Bearer ${forged}` })
      expect(refused.status, String(index)).toBe(401)
      // Without protected-resource metadata, the challenge names none.
      expect(refused.headers.get("www-authenticate"), String(index)).toBe("Bearer realm=\"mcp\", error=\"invalid_token\"")
    }
  }), 30_000)

  it.scopedLive("MCP_API_KEY_ALLOW_BEARER=true: the key is also read from Authorization: Bearer", () => inScope(async (use) => {
    const key = newKey()
    const { demo, mcp } = await use(startDemo({ MCP_API_KEYS: key, MCP_API_KEY_ALLOW_BEARER: "true" }))
    expect(demo.stdout()).toContain("  send header      X-API-Key: <one of MCP_API_KEYS>\n")
    expect(demo.stdout()).toContain("                   (or Authorization: Bearer <the key>, MCP_API_KEY_ALLOW_BEARER)\n")
    expect((await postInitialize(mcp, { authorization: `Bearer ${key}` })).status).toBe(200)
    expect((await postInitialize(mcp, { "X-API-Key": key })).status).toBe(200)
    const wrong = await postInitialize(mcp, { authorization: `Bearer ${newKey()}` })
    expect(wrong.status).toBe(401)
    expect(await wrong.text()).toBe(Bodies.apiKey)
    expect(demo.stdout() + demo.stderr()).not.toContain(key)
  }), 30_000)

  it.scopedLive("OAuth and JWT-key configuration: refused in one line naming the variables", () => inScope(async (use) => {
    const resource = "http://127.0.0.1:8080/mcp"
    const issuer = "https://auth.example.com"
    const jwks = { MCP_AUTH: "jwt", MCP_JWT_JWKS_URL: "http://127.0.0.1:1/jwks.json" }
    const oauth = { ...jwks, MCP_RESOURCE_URL: resource, MCP_AUTHORIZATION_SERVERS: issuer }
    const secret = randomBytes(32).toString("base64url")
    const cases: ReadonlyArray<Refusal> = [
      { env: { ...jwks, MCP_AUTHORIZATION_SERVERS: issuer }, says: ["MCP_AUTHORIZATION_SERVERS is set without MCP_RESOURCE_URL"] },
      { env: { ...jwks, MCP_SCOPES_SUPPORTED: "tools:read" }, says: ["MCP_SCOPES_SUPPORTED is set without MCP_RESOURCE_URL"] },
      { env: { ...jwks, MCP_RESOURCE_URL: resource }, says: ["MCP_RESOURCE_URL is set without MCP_AUTHORIZATION_SERVERS"] },
      { env: { MCP_RESOURCE_URL: resource, MCP_AUTHORIZATION_SERVERS: issuer }, says: ["MCP_RESOURCE_URL and MCP_AUTHORIZATION_SERVERS need MCP_AUTH=jwt"] },
      { env: { ...oauth, MCP_RESOURCE_URL: "mcp.example.com/mcp" }, says: ["MCP_RESOURCE_URL", "is not an absolute http(s) URL"] },
      { env: { ...oauth, MCP_RESOURCE_URL: `${resource}#top` }, says: ["MCP_RESOURCE_URL", "has a fragment"] },
      { env: { ...oauth, MCP_AUTHORIZATION_SERVERS: `${issuer},auth.example.com` }, says: ["MCP_AUTHORIZATION_SERVERS (item 2)", "is not an absolute http(s) URL"] },
      { env: { ...oauth, MCP_SCOPES_SUPPORTED: "tools read" }, says: ["MCP_SCOPES_SUPPORTED (item 1)", "is not a scope token"] },
      { env: { ...oauth, MCP_JWT_AUDIENCE: "https://elsewhere.example.com" }, says: ["MCP_JWT_AUDIENCE", "is not MCP_RESOURCE_URL"] },
      { env: { ...oauth, MCP_JWT_ISSUER: "https://other.example.com" }, says: ["MCP_JWT_ISSUER", "is not one of MCP_AUTHORIZATION_SERVERS"] },
      {
        env: { ...jwks, MCP_JWT_SECRET: secret },
        says: ["MCP_JWT_SECRET and MCP_JWT_JWKS_URL are set: set exactly one of MCP_JWT_SECRET, MCP_JWT_PUBLIC_KEY and MCP_JWT_JWKS_URL"],
        quiet: secret
      },
      { env: { MCP_AUTH: "jwt", MCP_JWT_JWKS_URL: "jwks.json" }, says: ["MCP_JWT_JWKS_URL", "is not an absolute http(s) URL"] },
      { env: { MCP_AUTH: "jwt", MCP_JWT_PUBLIC_KEY: "not a key" }, says: ["MCP_JWT_PUBLIC_KEY must be an SPKI PEM"] },
      { env: { MCP_AUTH: "jwt", MCP_JWT_PUBLIC_KEY: "{\"kty\":" }, says: ["MCP_JWT_PUBLIC_KEY is not valid JSON"] },
      { env: { MCP_API_KEY_ALLOW_BEARER: "maybe" }, says: ["MCP_API_KEY_ALLOW_BEARER"] }
    ]
    await expectRefusals(use, cases)
  }), 30_000)

  it.scopedLive("SIGTERM and SIGINT stop it with exit code 0 and \"stopped\"", () => inScope(async (use) => {
    const demos = await Promise.all([use(startDemo()), use(startDemo())])
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
  }), 30_000)

  it.scopedLive("/metrics counts failures by reason and successes, in Prometheus text; the 21st try of a failing client is the 429, counted too", () => inScope(async (use) => {
    const key = newKey()
    const unused = newKey()
    const { demo, mcp, origin } = await use(startDemo({ MCP_API_KEYS: `${key},${unused}` }))
    const metricsUrl = new URL("/metrics", origin)
    expect(demo.stdout()).toContain(`  metrics          ${metricsUrl.href}  (Prometheus text, no auth)\n`)
    const metrics = async () => {
      // Public: no credential.
      const answer = await fetch(metricsUrl)
      expect(answer.status).toBe(200)
      expect(answer.headers.get("content-type")).toBe(PROMETHEUS)
      expect(answer.headers.get("cache-control")).toBe("no-store")
      return answer.text()
    }
    // A fresh process: nothing counted yet.
    expect(sample(await metrics(), UNKNOWN_KEY)).toBe(0)

    for (let index = 0; index < 3; index++) expect((await postInitialize(mcp, { "X-API-Key": newKey() })).status).toBe(401)
    expect((await postInitialize(mcp, { "X-API-Key": key })).status).toBe(200)
    const counted = await metrics()
    expect(sample(counted, UNKNOWN_KEY)).toBe(3)
    expect(sample(counted, SUCCESSES)).toBe(1)
    expect(counted).toContain("# TYPE mcpgate_auth_failures_total counter\n")
    expect(counted).toContain("# TYPE mcpgate_auth_successes_total counter\n")
    // Valid exposition text: each line a HELP or TYPE comment or a sample; each family typed before its samples.
    const typed = new Set<string>()
    for (const line of counted.trimEnd().split("\n")) {
      const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line)
      if (type !== null) typed.add(type[1]!)
      else if (!line.startsWith("# HELP ")) {
        const series = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? \d+$/.exec(line)
        expect(series, line).not.toBeNull()
        expect(typed.has(series![1]!), line).toBe(true)
      }
    }
    expect(counted.endsWith("\n")).toBe(true)

    // 20 failures from this client (the tests and the demo share 127.0.0.1): then 429, even with a
    // configured key never proven from here; the key proven before the lockout is still served.
    for (let index = 3; index < 20; index++) expect((await postInitialize(mcp, { "X-API-Key": newKey() })).status).toBe(401)
    const limited = await postInitialize(mcp, { "X-API-Key": unused })
    expect(limited.status).toBe(429)
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60)
    expect(await limited.text()).toBe(Bodies.rateLimited)
    // /metrics is not limited: the limited client still reads it.
    const after = await metrics()
    expect(sample(after, RATE_LIMITED)).toBe(1)
    expect(after).toContain("# TYPE mcpgate_auth_rate_limited_total counter\n")
    expect(sample(after, UNKNOWN_KEY)).toBe(20)
    expect(sample(after, SUCCESSES)).toBe(1)
    expect((await postInitialize(mcp, { "X-API-Key": key })).status).toBe(200)

    // Each failure was logged once, without the key.
    expect(occurrences(demo.stdout(), "message=\"authentication failed\" reason=unknown_key")).toBe(20)
    expect(demo.stdout() + demo.stderr()).not.toContain(key)
    expect(demo.stdout() + demo.stderr()).not.toContain(unused)
  }), 30_000)

  it.scopedLive("MCP_API_KEYS_FILE: a rewritten file replaces the keys without a restart, closing the revoked key's stream", () => inScope(async (use) => {
    const [alice, bob] = [newKey(), newKey()]
    const directory = await use(keyDirectory())
    const file = path.join(directory, "keys")
    fs.writeFileSync(file, `# demo keys\n\n  ${alice}   # alice\n`)
    const { demo, mcp, sse } = await use(startDemo({ MCP_API_KEYS_FILE: file, MCP_AUTH_SSE: "true" }))
    expect(demo.stdout()).toContain("  send header      X-API-Key: <one of the keys in MCP_API_KEYS_FILE>\n")
    expect(demo.stdout()).toContain(`  keys file        ${file} (reloaded when it changes)\n`)
    expect(demo.stdout()).not.toContain("a key generated for this run")
    const status = async (key: string) => (await postInitialize(mcp, { "X-API-Key": key })).status
    expect(await status(alice)).toBe(200)
    expect(await status(bob)).toBe(401)

    // A stream opened with Alice's key (MCP_AUTH_SSE=true: the stream itself is authenticated).
    const stream = await fetch(sse, { headers: { accept: "text/event-stream", "X-API-Key": alice } })
    expect(stream.status).toBe(200)
    const reader = stream.body!.getReader()
    let received = ""
    while (!received.includes("event: endpoint")) received += new TextDecoder().decode((await reader.read()).value)
    const streamEnded = (async () => {
      try {
        while (!(await reader.read()).done) { /* events */ }
      } catch {
        // The server cut the connection: ended too.
      }
      return true
    })()

    expect(await Promise.race([streamEnded, sleep(200).then(() => false)])).toBe(false)

    // Rotation: Bob's key replaces Alice's, as an editor saves (write, then rename over).
    replaceFile(file, `${bob}\n`)
    await eventually("Alice's key refused", async () => (await status(alice)) === 401)
    expect(await status(bob)).toBe(200)
    await demo.waitFor(/message="API keys reloaded from MCP_API_KEYS_FILE" keys=1$/m)
    // Alice's open stream was closed by the rotation.
    expect(await Promise.race([streamEnded, sleep(3000).then(() => false)])).toBe(true)

    // Written again with both: both in force.
    replaceFile(file, `${alice}\n${bob}\n`)
    await demo.waitFor(/message="API keys reloaded from MCP_API_KEYS_FILE" keys=2$/m)
    expect(await status(alice)).toBe(200)
    expect(await status(bob)).toBe(200)

    demo.child.kill("SIGTERM")
    expect(await demo.exited).toEqual({ code: 0, signal: null })
    const everything = demo.stdout() + demo.stderr()
    for (const secret of [alice, bob]) expect(everything).not.toContain(secret)
    expect(demo.stderr()).toBe("")
  }), 30_000)

  describe("MCP_API_KEYS_FILE that cannot be read whole never keeps a removed key", () => {
    /** A demo on a key file holding `keys`, and how it answers each key. */
    const onKeyFile = async (use: Use, keys: ReadonlyArray<string>, env: Record<string, string> = {}) => {
      const file = path.join(await use(keyDirectory()), "keys")
      fs.writeFileSync(file, keys.map((key) => `${key}\n`).join(""))
      const started = await use(startDemo({ MCP_API_KEYS_FILE: file, ...env }))
      const status = async (key: string) => (await postInitialize(started.mcp, { "X-API-Key": key })).status
      const errors = async () => sample(await (await fetch(new URL("/metrics", started.origin))).text(), "mcpgate_api_key_file_errors_total")
      return { ...started, file, status, errors }
    }

    it.scopedLive("an edit with a bad line keeps only the keys both in force and still on a good line; new ones wait", () => inScope(async (use) => {
      const [alice, bob, carol] = [newKey(), newKey(), newKey()]
      const { demo, errors, file, status } = await onKeyFile(use, [alice, bob])
      // Alice removed, Carol added, one bad line: Alice goes at once, Carol waits for a clean file.
      replaceFile(file, `# rotated\n${bob}\nZq7-tiny-key\n${carol}\n`)
      await demo.waitFor(/API keys file MCP_API_KEYS_FILE line 3 is shorter than 16 characters;.*keeping only the keys both in force before and still in the file" keys=1$/m)
      expect([await status(alice), await status(bob), await status(carol)]).toEqual([401, 200, 401])
      expect(await errors()).toBe(1)
      // Bob removed in another broken edit: gone too.
      replaceFile(file, `Zq7-tiny-key\n${carol}\n`)
      await eventually("Bob's key refused", async () => (await status(bob)) === 401)
      expect(await status(carol)).toBe(401)
      // A clean file again: exactly its keys.
      replaceFile(file, `${carol}\n`)
      await eventually("Carol's key served", async () => (await status(carol)) === 200)
      expect(await errors()).toBe(2)
      expect(demo.stdout() + demo.stderr()).not.toContain("Zq7-tiny")
    }), 30_000)

    it.scopedLive("an emptied file revokes every key; a deleted one too, counted; a file made again is read again", () => inScope(async (use) => {
      const [alice, bob] = [newKey(), newKey()]
      const { demo, errors, file, status } = await onKeyFile(use, [alice, bob])
      fs.writeFileSync(file, "# nobody\n")
      await demo.waitFor(/API keys file MCP_API_KEYS_FILE holds no keys: every key is revoked/)
      expect([await status(alice), await status(bob)]).toEqual([401, 401])
      fs.writeFileSync(file, `${alice}\n${bob}\n`)
      await eventually("the keys served again", async () => (await status(alice)) === 200 && (await status(bob)) === 200)
      fs.rmSync(file)
      await demo.waitFor(/API keys file MCP_API_KEYS_FILE cannot be read \(no such file\); keeping only/)
      expect([await status(alice), await status(bob)]).toEqual([401, 401])
      expect(await errors()).toBe(1)
      fs.writeFileSync(file, `${bob}\n`)
      await eventually("Bob's key served again", async () => (await status(bob)) === 200)
      expect(await status(alice)).toBe(401)
    }), 30_000)

    it.scopedLive("a Kubernetes-style symlink swap takes effect within the poll interval, closing the removed key's stream", () => inScope(async (use) => {
      const [alice, bob] = [newKey(), newKey()]
      // A mounted secret: keys -> ..data/keys, ..data -> ..v1; an update points ..data at ..v2
      // by renaming a new symlink over it, an event on ..data, never on keys.
      const directory = await use(keyDirectory())
      for (const [version, key] of [["..v1", alice], ["..v2", bob]] as const) {
        fs.mkdirSync(path.join(directory, version))
        fs.writeFileSync(path.join(directory, version, "keys"), `${key}\n`)
      }
      fs.symlinkSync("..v1", path.join(directory, "..data"))
      fs.symlinkSync(path.join("..data", "keys"), path.join(directory, "keys"))
      const { demo, mcp, sse } = await use(startDemo({ MCP_API_KEYS_FILE: path.join(directory, "keys"), MCP_API_KEYS_FILE_POLL: "1", MCP_AUTH_SSE: "true" }))
      const status = async (key: string) => (await postInitialize(mcp, { "X-API-Key": key })).status
      expect([await status(alice), await status(bob)]).toEqual([200, 401])
      const stream = await fetch(sse, { headers: { accept: "text/event-stream", "X-API-Key": alice } })
      expect(stream.status).toBe(200)
      const ended = stream.text().then(() => true, () => true)

      fs.symlinkSync("..v2", path.join(directory, "..data_tmp"))
      fs.renameSync(path.join(directory, "..data_tmp"), path.join(directory, "..data"))
      const swapped = Date.now()
      await eventually("Alice's key refused", async () => (await status(alice)) === 401, 3000)
      expect(Date.now() - swapped).toBeLessThan(2500)
      expect(await status(bob)).toBe(200)
      expect(await Promise.race([ended, sleep(3000).then(() => false)])).toBe(true)
      await demo.waitFor(/message="API keys reloaded from MCP_API_KEYS_FILE" keys=1$/m)
    }), 30_000)
  })

  it.scopedLive("MCP_API_KEYS_FILE at start: refused in one line naming the variable (and the line of a bad key, never the key)", () => inScope(async (use) => {
    const directory = await use(keyDirectory())
    const write = (name: string, text: string) => {
      const file = path.join(directory, name)
      fs.writeFileSync(file, text)
      return file
    }
    const good = write("good", `${newKey()}\n`)
    const cases: ReadonlyArray<Refusal> = [
      { env: { MCP_API_KEYS: newKey(), MCP_API_KEYS_FILE: good }, says: ["MCP_API_KEYS and MCP_API_KEYS_FILE are both set"] },
      {
        env: { MCP_API_KEYS_FILE: write("short", `# keys\n${newKey()}\n\nZq7-tiny-key # bad\n`) },
        says: ["MCP_API_KEYS_FILE line 4 is shorter than 16 characters", "randomBytes(32)"],
        quiet: "Zq7-tiny"
      },
      {
        env: { MCP_API_KEYS_FILE: write("spaced", `${newKey()} ${"k".repeat(20)}\n`) },
        says: ["MCP_API_KEYS_FILE line 1 contains a comma or whitespace"],
        quiet: "k".repeat(20)
      },
      { env: { MCP_API_KEYS_FILE: write("twice", "same-key-0123456789\nsame-key-0123456789\n") }, says: ["MCP_API_KEYS_FILE line 2 repeats an earlier key"] },
      { env: { MCP_API_KEYS_FILE: write("empty", "# nothing yet\n\n") }, says: ["MCP_API_KEYS_FILE", "holds no keys"] },
      { env: { MCP_API_KEYS_FILE: path.join(directory, "missing") }, says: ["MCP_API_KEYS_FILE", "cannot be read (no such file)"] }
    ]
    const results = await expectRefusals(use, cases)
    expect(results[3]!.stderr).not.toContain("same-key")
  }), 30_000)
  // Runs where .ci/run provides Redis (REDIS_URL, redis-server); reported as skipped elsewhere.
  // A Redis of its own: the budget it fills must not limit 127.0.0.1 in other tests.
  it.scopedLive.skipIf(process.env["REDIS_URL"] === undefined || !HAS_REDIS_SERVER)(
    "two demos on one Redis (REDIS_URL) agree: failures on either count against the client on both",
    () => inScope(async (use) => {
      const redis = await use(startRedis(await freePort()))
      const key = newKey()
      const env = { MCP_API_KEYS: key, REDIS_URL: await redis.url }
      const [first, second] = await Promise.all([use(startDemo(env)), use(startDemo(env))])
      expect(first.demo.stdout()).toContain("counted on Redis (REDIS_URL), shared")
      // 20 failures, split between the two instances.
      for (let index = 0; index < 10; index++) {
        expect((await postInitialize(first.mcp, { "X-API-Key": newKey() })).status).toBe(401)
        expect((await postInitialize(second.mcp, { "X-API-Key": newKey() })).status).toBe(401)
      }
      for (const { mcp } of [first, second]) {
        const limited = await postInitialize(mcp, { "X-API-Key": key })
        expect(limited.status).toBe(429)
        expect(await limited.text()).toBe(Bodies.rateLimited)
      }
    }),
    30_000
  )
})
