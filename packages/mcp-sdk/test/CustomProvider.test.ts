/**
 * Providers of mcp-framework's custom shape (`authenticate(req)` resolving to `true`,
 * `false` or `{ data }`, and an optional `getAuthError()`), as `fromCustom` services and
 * plugged into `MCPServer`: the caller they describe, the refusal they choose kept to a
 * client-error status and one line, and never a 500 whatever they do.
 */
import { describe, expect, it } from "@effect/vitest"
import { CustomProvider, MCPServer } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import * as Effect from "effect/Effect"
import * as http from "node:http"
import { apiKeys, KEY_ALICE } from "./fixtures/credentials.js"
import type { Transport } from "./fixtures/mcp.js"
import { started, startWhoami } from "./fixtures/whoamiServer.js"
import { Bodies } from "@mcpgate/testing/contract"
import { acquire, inScope } from "@mcpgate/testing/scoped"

const UNAUTHORIZED = "{\"error\":\"Unauthorized\",\"status\":401,\"type\":\"authentication_error\"}"

/** An `MCPServer` with `provider` and `whoami`, started; stopped with the test's scope. */
const serve = (provider: CustomProvider.CustomProvider, type: Transport = "http-stream", extra: Record<string, unknown> = {}) =>
  Effect.suspend(() =>
    startWhoami(new MCPServer({ transport: { type, options: { port: 0, auth: { provider, ...extra } } } } as MCPServerOptions))
  ).pipe(Effect.map(({ client, seen, url }) => ({ url, seen, client: (headers: Record<string, string>) => client(type, headers) })))

const initialize = { jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } }

/** A raw Streamable HTTP POST. */
const post = (url: URL, headers: Record<string, string>, message: unknown = initialize) =>
  fetch(new URL("/mcp", url), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(message)
  })

/** What `fromCustom(provider)` makes of a request with these headers: the principal, or the refusal. */
const verdictOf = (provider: CustomProvider.CustomProvider, headers: Record<string, string> = {}) =>
  Effect.either(CustomProvider.fromCustom(provider).authenticate(headers))

describe("fromCustom: the caller a custom provider describes", () => {
  it.effect("true: a caller with provider \"custom\", named by a keyed digest of the credential it showed", () =>
    Effect.gen(function*() {
      const custom = CustomProvider.fromCustom({ authenticate: async () => true })
      const principal = yield* custom.authenticate({ "x-api-key": "key-of-alice-0123456789" })
      expect(principal).toMatchObject({ provider: "custom", subject: "custom", clientId: "custom", scopes: [], expiresAt: undefined, claims: {} })
      expect(principal.identity).toMatch(/^custom:~[0-9a-f]{32}$/)
      // The same credential is the same identity; another is another, whatever its header.
      expect((yield* custom.authenticate({ "X-API-Key": "key-of-alice-0123456789" })).identity).toBe(principal.identity)
      for (const other of [{ "x-api-key": "key-of-bob-0123456789aa" }, { authorization: "Bearer key-of-alice-0123456789" }, { cookie: "s=1" }]) {
        expect((yield* custom.authenticate(other)).identity).not.toBe(principal.identity)
      }
      // Nothing of the credential is in the identity: it is keyed by a secret of this provider.
      const again = CustomProvider.fromCustom({ authenticate: async () => true })
      expect((yield* again.authenticate({ "x-api-key": "key-of-alice-0123456789" })).identity).not.toBe(principal.identity)
    }))

  it.effect("a caller let in without a subject and without a credential header is nobody else: a new identity each time", () =>
    Effect.gen(function*() {
      const custom = CustomProvider.fromCustom({ authenticate: async () => ({ data: { role: "reader" } }) })
      const identities = new Set<string>()
      for (let i = 0; i < 5; i++) identities.add((yield* custom.authenticate({ "x-user": "alice" })).identity)
      expect(identities.size).toBe(5)
    }))

  it.effect("the headers read are the declared headerNames, or mcp-framework's getHeaderName(), which adapters also learn", () =>
    Effect.gen(function*() {
      const declared = CustomProvider.fromCustom({ authenticate: async () => true, headerNames: ["X-User"] })
      const framework = CustomProvider.fromCustom({ authenticate: async () => true, getHeaderName: () => "X-Team-Key" } as CustomProvider.CustomProvider)
      expect(declared.headerNames).toEqual(["X-User"])
      expect(framework.headerNames).toEqual(["X-Team-Key"])
      const alice = (yield* declared.authenticate({ "x-user": "alice", "x-api-key": "a" })).identity
      expect((yield* declared.authenticate({ "x-user": "alice", "x-api-key": "b" })).identity).toBe(alice)
      expect((yield* declared.authenticate({ "x-user": "bob" })).identity).not.toBe(alice)
      const team = (yield* framework.authenticate({ "x-team-key": "one" })).identity
      expect((yield* framework.authenticate({ "x-team-key": "two" })).identity).not.toBe(team)
    }))

  it.effect("{ data: { sub, scopes, client_id, exp } }: the caller those claims name", () =>
    Effect.gen(function*() {
      const data = { sub: "user-1", scopes: ["tools:read", "tools:call"], client_id: "app-9", exp: 1_900_000_000, team: "blue" }
      const principal = yield* CustomProvider.fromCustom({ authenticate: async () => ({ data }) }).authenticate({})
      expect(principal).toMatchObject({
        provider: "custom",
        subject: "user-1",
        clientId: "app-9",
        scopes: ["tools:read", "tools:call"],
        expiresAt: 1_900_000_000,
        claims: data,
        identity: "custom:user-1"
      })
    }))

  it.effect("the subject from sub, id, userId or clientId, in that order; the client id from client_id or clientId, else the subject", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [Record<string, unknown>, string, string]> = [
        [{ sub: "s", id: "i", userId: "u", clientId: "c" }, "s", "c"],
        [{ id: "i", userId: "u", clientId: "c" }, "i", "c"],
        [{ userId: "u", clientId: "c" }, "u", "c"],
        [{ clientId: "c" }, "c", "c"],
        [{ sub: 123 }, "123", "123"],
        [{ sub: "", id: "i" }, "i", "i"],
        [{ sub: { nested: true } }, "custom", "custom"],
        [{ sub: "s", client_id: "a", clientId: "b" }, "s", "a"]
      ]
      for (const [data, subject, clientId] of cases) {
        const principal = yield* CustomProvider.fromCustom({ authenticate: async () => ({ data }) }).authenticate({})
        expect({ subject: principal.subject, clientId: principal.clientId }, JSON.stringify(data)).toEqual({ subject, clientId })
      }
    }))

  it.effect("scopes from scopes, else scope (space-separated) or scp; exp only when a finite number", () =>
    Effect.gen(function*() {
      const principalOf = (data: Record<string, unknown>) => CustomProvider.fromCustom({ authenticate: async () => ({ data }) }).authenticate({})
      expect((yield* principalOf({ scope: "a  b" })).scopes).toEqual(["a", "b"])
      expect((yield* principalOf({ scp: ["c", 1, "d"] })).scopes).toEqual(["c", "d"])
      expect((yield* principalOf({ scopes: ["e"], scope: "a" })).scopes).toEqual(["e"])
      expect((yield* principalOf({ scopes: [], scope: "a" })).scopes).toEqual(["a"])
      expect((yield* principalOf({ exp: "1900000000" })).expiresAt).toBeUndefined()
      expect((yield* principalOf({ exp: Number.POSITIVE_INFINITY })).expiresAt).toBeUndefined()
      // `{}` and `{ data: undefined }` are truthy verdicts, as in the reference.
      expect((yield* CustomProvider.fromCustom({ authenticate: async () => ({}) }).authenticate({})).subject).toBe("custom")
    }))

  it.effect("false, or a verdict that is neither true nor an object, refuses as \"no credentials\"", () =>
    Effect.gen(function*() {
      const providers: ReadonlyArray<CustomProvider.CustomProvider> = [
        { authenticate: async () => false },
        { authenticate: () => false },
        { authenticate: async () => null as never },
        { authenticate: async () => undefined as never },
        { authenticate: async () => "yes" as never },
        { authenticate: async () => 1 as never },
        // A rich refusal (mcpgate's `check`), handed on by a JavaScript provider.
        { authenticate: async () => ({ ok: false, status: 401 }) as never },
        // An error resolved instead of thrown is truthy, but vouches for nobody.
        { authenticate: async () => new Error("session expired") as never }
      ]
      for (const provider of providers) {
        const verdict = yield* verdictOf(provider)
        expect(verdict._tag).toBe("Left")
        if (verdict._tag === "Left") {
          expect(verdict.left).toMatchObject({
            _tag: "MissingCredentials",
            provider: "custom",
            reason: "custom_refusal",
            refusal: { status: 401, message: "Unauthorized" }
          })
        }
      }
    }))

  it.effect("a throw or a rejection refuses as a failed check, on every endpoint", () =>
    Effect.gen(function*() {
      const providers: ReadonlyArray<CustomProvider.CustomProvider> = [
        {
          authenticate: () => {
            throw new TypeError("boom")
          }
        },
        { authenticate: () => Promise.reject(new Error("database down")) }
      ]
      for (const provider of providers) {
        const verdict = yield* verdictOf(provider)
        expect(verdict._tag).toBe("Left")
        if (verdict._tag === "Left") {
          expect(verdict.left).toMatchObject({
            _tag: "InvalidCredentials",
            provider: "custom",
            reason: "verification_error",
            refusal: { status: 401, message: "Unauthorized" }
          })
        }
      }
    }))

  it.effect("mcpgate's own provider, wrapped by code written for mcp-framework: the right key passes, a wrong one refuses", () =>
    Effect.gen(function*() {
      const keys = apiKeys()
      const wrapped = CustomProvider.fromCustom({ authenticate: (req) => keys.authenticate(req) })
      expect((yield* wrapped.authenticate({ "x-api-key": KEY_ALICE })).provider).toBe("custom")
      for (const request of [{}, { "x-api-key": "not-a-configured-key-at-all" }]) {
        expect((yield* Effect.either(wrapped.authenticate(request)))._tag).toBe("Left")
      }
      yield* Effect.promise(() => keys.dispose())
    }))

  it.effect("a request shaped like Node's (headers, no headersDistinct), as test harnesses make, reaches authenticate as it is", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const request = { headers: { "x-session": "abc" }, socket: { remoteAddress: "127.0.0.1" } }
      yield* CustomProvider.fromCustom({
        authenticate: (req) => {
          seen.push(req)
          return true
        }
      }).authenticate(request)
      expect(seen).toEqual([request])
      expect(seen[0]).toBe(request)
    }))

  it.effect("a header record or Headers reaches authenticate as req.headers, names lower-cased", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const provider: CustomProvider.CustomProvider = {
        authenticate: (req) => {
          seen.push(req.headers)
          return true
        }
      }
      yield* CustomProvider.fromCustom(provider).authenticate({ "X-Session": "abc", "Accept": ["a", "b"] })
      yield* CustomProvider.fromCustom(provider).authenticate(new Headers({ "X-Session": "def" }))
      expect(seen).toEqual([{ "x-session": "abc", accept: "a, b" }, { "x-session": "def" }])
    }))
})

describe("custom providers in MCPServer", () => {
  it.scopedLive("the provider receives the Node request, and the caller reaches the tool", () => inScope(async (use) => {
    const requests: Array<http.IncomingMessage> = []
    const { client, seen } = await use(serve({
      async authenticate(req) {
        requests.push(req)
        const user = req.headers["x-user"]
        return typeof user === "string" ? { data: { sub: user, scope: "tools:read" } } : false
      }
    }))
    const alice = await client({ "X-User": "alice" })
    expect(await alice.whoami()).toMatchObject({ provider: "custom", subject: "alice", clientId: "alice", scopes: ["tools:read"] })
    expect(seen[0]!.authInfo).toMatchObject({ token: "", clientId: "alice", scopes: ["tools:read"] })
    expect(requests.length).toBeGreaterThan(0)
    for (const request of requests) {
      expect(request).toBeInstanceOf(http.IncomingMessage)
      expect(request.url).toBe("/mcp")
      expect(request.headers["x-user"]).toBe("alice")
      expect(request.socket.remoteAddress).toBe("127.0.0.1")
    }
  }))

  it.scopedLive("false: 401 with mcp-framework's default refusal, or getAuthError()'s status and message", () => inScope(async (use) => {
    let chosen: (() => { status: number; message: string }) | undefined
    const provider: CustomProvider.CustomProvider = {
      authenticate: async (req) => req.headers["x-user"] === "alice" ? { data: { sub: "alice" } } : false
    }
    const { url } = await use(serve(provider))
    const refused = async () => {
      const response = await post(url, { "X-User": "mallory" })
      expect(response.headers.get("content-type")).toBe("application/json")
      expect(response.headers.get("cache-control")).toBe("no-store")
      // A refusal is "no credentials" to mcpgate: the challenge carries no error code (RFC 6750 3.1).
      expect(response.headers.get("www-authenticate")).toBe("Bearer realm=\"mcp\"")
      return { status: response.status, body: await response.text() }
    }
    expect(await refused()).toEqual({ status: 401, body: UNAUTHORIZED })

    // getAuthError is asked on each refusal.
    ;(provider as { getAuthError?: () => unknown }).getAuthError = () => chosen!()
    const cases: ReadonlyArray<readonly [{ status: number; message: string }, number, string]> = [
      [{ status: 403, message: "Forbidden here" }, 403, "Forbidden here"],
      [{ status: 401, message: "Authentication failed" }, 401, "Authentication failed"],
      [{ status: 429, message: "Slow down" }, 429, "Slow down"],
      // Only client errors: anything else is 401.
      [{ status: 500, message: "Server error" }, 401, "Server error"],
      [{ status: 302, message: "Elsewhere" }, 401, "Elsewhere"],
      [{ status: 200, message: "OK" }, 401, "OK"],
      [{ status: 403.5, message: "Half" }, 401, "Half"],
      [{ status: Number.NaN, message: "NaN" }, 401, "NaN"],
      [{ status: "403" as unknown as number, message: "Text" }, 401, "Text"],
      // One line, whatever the provider wrote.
      [{ status: 403, message: "line one\nline two\r\nline three" }, 403, "line one line two line three"],
      [{ status: 403, message: "" }, 403, "Unauthorized"],
      [{ status: 403, message: 42 as unknown as string }, 403, "Unauthorized"]
    ]
    for (const [answer, status, message] of cases) {
      chosen = () => answer
      expect(await refused(), JSON.stringify(answer)).toEqual({
        status,
        body: JSON.stringify({ error: message, status, type: "authentication_error" })
      })
    }
    // A very long message is cut, a throwing getAuthError falls back to the default.
    chosen = () => ({ status: 403, message: "x".repeat(10_000) })
    expect(JSON.parse((await refused()).body).error).toHaveLength(500)
    chosen = () => {
      throw new Error("no")
    }
    expect(await refused()).toEqual({ status: 401, body: UNAUTHORIZED })
    chosen = () => undefined as never
    expect(await refused()).toEqual({ status: 401, body: UNAUTHORIZED })

    // The caller it accepts is still let in.
    expect((await post(url, { "X-User": "alice" })).status).toBe(200)
  }))

  it.scopedLive("a provider that throws or rejects refuses with a 401, never a 500", () => inScope(async (use) => {
    const failures: Record<string, () => never | Promise<never>> = {
      throws: () => {
        throw new TypeError("Cannot read properties of undefined")
      },
      rejects: () => Promise.reject(new Error("database down")),
      "rejects with nothing": () => Promise.reject(undefined as never),
      "throws a string": () => {
        throw "boom"
      }
    }
    let failure = failures["throws"]!
    const errors: Array<unknown> = []
    const server = new MCPServer({
      transport: { type: "http-stream", options: { port: 0, auth: { provider: { authenticate: (req: http.IncomingMessage) => req.headers["x-user"] === "ok" ? true : failure() } } } },
      onError: (error) => errors.push(error)
    })
    await use(started(server))
    for (const [name, fails] of Object.entries(failures)) {
      failure = fails
      const response = await post(server.url!, { "X-User": "someone" })
      expect(response.status, name).toBe(401)
      expect(await response.text(), name).toBe(UNAUTHORIZED)
    }
    // The server goes on serving.
    expect((await post(server.url!, { "X-User": "ok" })).status).toBe(200)
    expect(errors).toEqual([])
  }))

  it.scopedLive("two subjects cannot share a Streamable HTTP session: the other one gets the 403", () => inScope(async (use) => {
    const { url } = await use(serve({
      authenticate: async (req) => typeof req.headers["x-user"] === "string" ? { data: { sub: req.headers["x-user"] } } : false
    }))
    const opened = await post(url, { "X-User": "alice" })
    expect(opened.status).toBe(200)
    const session = opened.headers.get("mcp-session-id")!
    expect(session).toMatch(/^[0-9a-f-]{36}$/)
    await opened.text()
    const initialized = { jsonrpc: "2.0", method: "notifications/initialized" }
    const ping = { jsonrpc: "2.0", id: 2, method: "ping" }
    const headers = (user: string) => ({ "X-User": user, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" })
    expect((await post(url, headers("alice"), initialized)).status).toBe(202)

    const intruder = await post(url, headers("mallory"), ping)
    expect(intruder.status).toBe(403)
    expect(await intruder.text()).toBe(Bodies.sessionForbidden)
    // Without credentials: the refusal, before the session is looked at.
    const anonymous = await post(url, { "mcp-session-id": session }, ping)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.text()).toBe(UNAUTHORIZED)
    // The owner goes on.
    const owner = await post(url, headers("alice"), ping)
    expect(owner.status).toBe(200)
    expect(await owner.text()).toContain("\"result\":{}")
  }))

  it.scopedLive("a provider that resolves true tells callers apart by their credential: one cannot drive another's session", () => inScope(async (use) => {
    const { url } = await use(serve({ authenticate: async (req) => req.headers["x-user"] !== undefined, headerNames: ["X-User"] }))
    const opened = await post(url, { "X-User": "alice" })
    const session = opened.headers.get("mcp-session-id")!
    await opened.text()
    const headers = (user: string) => ({ "X-User": user, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" })
    expect((await post(url, headers("alice"), { jsonrpc: "2.0", method: "notifications/initialized" })).status).toBe(202)
    const intruder = await post(url, headers("bob"), { jsonrpc: "2.0", id: 2, method: "ping" })
    expect(intruder.status).toBe(403)
    expect(await intruder.text()).toBe(Bodies.sessionForbidden)
    expect((await post(url, headers("alice"), { jsonrpc: "2.0", id: 3, method: "ping" })).status).toBe(200)
  }))

  it.scopedLive("over SSE with both endpoints authenticated, the custom caller reaches the tool", () => inScope(async (use) => {
    const { client } = await use(serve(
      { authenticate: async (req) => req.headers["x-user"] === "carol" ? { data: { sub: "carol" } } : false },
      "sse",
      { endpoints: { sse: true, messages: true } }
    ))
    expect(await (await client({ "X-User": "carol" })).whoami()).toMatchObject({ provider: "custom", subject: "carol" })
  }))

  // README, "What tools see": the raw credential is not in the request headers the SDK hands
  // on unless the server sets exposeToken. A custom provider names the headers it reads with
  // `headerNames` (mcpgate's addition to mcp-framework's shape); those are removed.
  it.scopedLive("the header a custom provider names is not handed on to tools", () => inScope(async (use) => {
    const secret = "session-f3b1c2d4e5a6978812345678"
    const { client, seen } = await use(serve({
      authenticate: async (req) => req.headers["x-session"] === secret ? { data: { sub: "dana" } } : false,
      headerNames: ["X-Session"]
    }))
    expect(await (await client({ "X-Session": secret })).whoami()).toMatchObject({ subject: "dana" })
    expect(seen[0]!.headers).not.toHaveProperty("x-session")
  }))

  it.scopedLive("without headerNames, mcpgate cannot know the header, and tools see it", () => inScope(async (use) => {
    const secret = "session-0a9b8c7d6e5f4a3b2c1d0e9f"
    const { client, seen } = await use(serve({
      authenticate: async (req) => req.headers["x-session"] === secret ? { data: { sub: "dana" } } : false
    }))
    await (await client({ "X-Session": secret })).whoami()
    expect(seen[0]!.headers["x-session"]).toBe(secret)
  }))

  // The SSE stream is open by default (`endpoints.sse: false`, as the reference documents).
  // A custom provider cannot tell "no credentials" from "wrong ones", so its `false` counts
  // as none there, and the stream opens, as mcp-framework (which never asks it) does.
  it.scopedLive("over SSE with the default endpoints, the stream opens without credentials", () => inScope(async (use) => {
    const { url } = await use(serve({ authenticate: async (req) => req.headers["x-user"] === "carol" }, "sse"))
    const controller = await use(acquire(() => new AbortController(), (controller) => controller.abort()))
    const response = await fetch(new URL("/sse", url), { signal: controller.signal })
    expect(response.status).toBe(200)
  }))
})
