import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthFailure, AuthProvider, HttpAnswer, Jwt } from "@mcpgate/auth-core"
import { CrossOrigin } from "@mcpgate/http"
import type { Principal } from "@mcpgate/auth-core"
import * as HttpAuth from "@mcpgate/http/HttpAuth"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { customProvider, KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "@mcpgate/testing/credentials"
import { Bodies } from "@mcpgate/testing/contract"

const API_KEY_CHALLENGE = "ApiKey realm=\"mcp\", header=\"X-API-Key\""
const NO_CREDENTIALS = "Bearer realm=\"mcp\""
const INVALID_TOKEN = "Bearer realm=\"mcp\", error=\"invalid_token\""
const INVALID_REQUEST = "Bearer realm=\"mcp\", error=\"invalid_request\""

const apiKeyOptions: ApiKey.Options = {
  keys: [{ key: KEY_ALICE, label: "alice", scopes: ["tools:read"] }, { key: KEY_BOB, label: "bob" }]
}

/** The app behind the guard: answers 200 with who the caller is. */
const whoami = Effect.map(HttpAuth.CurrentPrincipal, (principal) =>
  HttpServerResponse.unsafeJson({ provider: principal.provider, clientId: principal.clientId, scopes: principal.scopes }))

/** Every header of a Fetch response, as a record (the DOM lib here has no Headers iterator). */
const headersOf = (response: Response): Record<string, string> => {
  const record: Record<string, string> = {}
  response.headers.forEach((value, name) => {
    record[name] = value
  })
  return record
}

/** Asserts the exact 401 of the contract: status, every header, the body's bytes. */
const expect401 = async (response: Response, body: string, challenge: string) => {
  expect(response.status).toBe(401)
  expect(headersOf(response)).toStrictEqual({
    "cache-control": "no-store",
    "content-length": String(Buffer.byteLength(body)),
    "content-type": "application/json",
    "www-authenticate": challenge
  })
  expect(Buffer.from(await response.arrayBuffer()).toString("utf8")).toBe(body)
}

const request = (headers: ConstructorParameters<typeof Headers>[0] = {}) =>
  new Request("http://localhost/mcp", { method: "POST", headers, body: "{}" })

/** A web handler for the app with this provider layer; disposed after `use`. */
const withHandler = async <R, RE>(
  app: HttpApp.Default<never, R>,
  layer: Layer.Layer<R, RE>,
  use: (handler: (request: Request) => Promise<Response>) => Promise<void>,
  options: { readonly middleware?: typeof HttpAuth.middleware } = {}
) => {
  const { dispose, handler } = HttpApp.toWebHandlerLayer(app, layer, options)
  try {
    await use(handler)
  } finally {
    await dispose()
  }
}


describe("HttpAuth.authenticate, with an AuthProvider from a Layer", () => {
  it("runs the app for a valid API key, with the caller as CurrentPrincipal", async () => {
    await withHandler(HttpAuth.authenticate(whoami), ApiKey.layer(apiKeyOptions), async (handler) => {
      const alice = await handler(request({ "X-API-Key": KEY_ALICE }))
      expect(alice.status).toBe(200)
      expect(await alice.json()).toEqual({ provider: "api-key", clientId: "alice", scopes: ["tools:read"] })
      const bob = await handler(request({ "x-api-key": KEY_BOB }))
      expect(await bob.json()).toEqual({ provider: "api-key", clientId: "bob", scopes: [] })
    })
  })

  it("answers a missing, wrong or repeated API key with the exact API-key 401, without running the app", async () => {
    let runs = 0
    const app = Effect.flatMap(Effect.sync(() => runs++), () => whoami)
    await withHandler(HttpAuth.authenticate(app), ApiKey.layer(apiKeyOptions), async (handler) => {
      await expect401(await handler(request()), Bodies.apiKey, API_KEY_CHALLENGE)
      await expect401(await handler(request({ "X-API-Key": "mcp_test_wrong_key_0000000" })), Bodies.apiKey, API_KEY_CHALLENGE)
      await expect401(await handler(request({ "X-API-Key": "" })), Bodies.apiKey, API_KEY_CHALLENGE)
      const twice = new Headers()
      twice.append("X-API-Key", KEY_ALICE)
      twice.append("X-API-Key", KEY_ALICE)
      await expect401(await handler(request(twice)), Bodies.apiKey, API_KEY_CHALLENGE)
    })
    expect(runs).toBe(0)
  })

  it("names a custom header in the challenge", async () => {
    await withHandler(HttpAuth.authenticate(whoami), ApiKey.layer({ ...apiKeyOptions, headerName: "X-Team-Key" }), async (handler) => {
      await expect401(await handler(request({ "X-API-Key": KEY_ALICE })), Bodies.apiKey, "ApiKey realm=\"mcp\", header=\"X-Team-Key\"")
      expect((await handler(request({ "X-Team-Key": KEY_ALICE }))).status).toBe(200)
    })
  })

  it("runs the app for a valid JWT, and answers every bad one with the exact JWT 401", async () => {
    const token = await tokenFor("carol")
    const foreign = await tokenFor("carol", { secret: `${SECRET}-but-another-one` })
    const expired = await tokenFor("carol", { expiresIn: -3600 })
    await withHandler(HttpAuth.authenticate(whoami), Jwt.layer({ secret: SECRET }), async (handler) => {
      const ok = await handler(request({ Authorization: `Bearer ${token}` }))
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ provider: "jwt", clientId: "carol", scopes: ["tools:read"] })

      await expect401(await handler(request()), Bodies.jwt, NO_CREDENTIALS)
      await expect401(await handler(request({ Authorization: "Basic YWxpY2U6c2VjcmV0" })), Bodies.jwt, NO_CREDENTIALS)
      await expect401(await handler(request({ Authorization: `Bearer ${foreign}` })), Bodies.jwt, INVALID_TOKEN)
      await expect401(await handler(request({ Authorization: `Bearer ${expired}` })), Bodies.jwt, INVALID_TOKEN)
      await expect401(await handler(request({ Authorization: `Bearer ${token} extra` })), Bodies.jwt, INVALID_REQUEST)
      // Fetch joins repeated lines with ", ": two tokens in one value, malformed as HTTP.
      const twice = new Headers()
      twice.append("Authorization", `Bearer ${token}`)
      twice.append("Authorization", `Bearer ${token}`)
      await expect401(await handler(request(twice)), Bodies.jwt, INVALID_REQUEST)
    })
  })

  it("with both providers (layerFirstOf): the body follows the Authorization header, both challenges sent", async () => {
    const token = await tokenFor("carol")
    const both = AuthProvider.layerFirstOf(ApiKey.make(apiKeyOptions), Jwt.make({ secret: SECRET }))
    await withHandler(HttpAuth.authenticate(whoami), both, async (handler) => {
      expect((await handler(request({ "X-API-Key": KEY_ALICE }))).status).toBe(200)
      expect((await handler(request({ Authorization: `Bearer ${token}` }))).status).toBe(200)
      await expect401(await handler(request()), Bodies.apiKey, `${API_KEY_CHALLENGE}, ${NO_CREDENTIALS}`)
      await expect401(await handler(request({ Authorization: "Bearer x.y.z" })), Bodies.jwt, `${API_KEY_CHALLENGE}, ${INVALID_TOKEN}`)
    })
  })

  it("answers an unreachable key source with the exact 503, no challenge", async () => {
    const unavailable = customProvider(() =>
      Effect.fail(
        new AuthFailure.KeySourceUnavailable({
          provider: "jwt",
          reason: "key_source_unavailable",
          challenge: { scheme: "Bearer", realm: "mcp" }
        })
      )
    )
    const response = await HttpApp.toWebHandler(HttpAuth.authenticateWith(unavailable)(whoami))(request())
    expect(response.status).toBe(503)
    expect(headersOf(response)).toStrictEqual({
      "cache-control": "no-store",
      "content-length": String(Bodies.unavailable.length),
      "content-type": "application/json"
    })
    expect(await response.text()).toBe(Bodies.unavailable)
  })
})

describe("HttpAuth.authenticateWith, without context", () => {
  const provider = Effect.runSync(ApiKey.make(apiKeyOptions))

  it("guards with the given provider: no AuthProvider layer is needed", async () => {
    const handler = HttpApp.toWebHandler(HttpAuth.authenticateWith(provider)(whoami))
    const ok = await handler(request({ "X-API-Key": KEY_ALICE }))
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ provider: "api-key", clientId: "alice", scopes: ["tools:read"] })
    await expect401(await handler(request({ "X-API-Key": "mcp_test_wrong_key_0000000" })), Bodies.apiKey, API_KEY_CHALLENGE)
  })

  it("gives the app the very principal the provider yielded", async () => {
    const seen: Array<Principal.Principal> = []
    const app = Effect.map(HttpAuth.CurrentPrincipal, (principal) => {
      seen.push(principal)
      return HttpServerResponse.empty()
    })
    const expected = Effect.runSync(provider.authenticate({ "x-api-key": KEY_ALICE }))
    expect((await HttpApp.toWebHandler(HttpAuth.authenticateWith(provider)(app))(request({ "X-API-Key": KEY_ALICE }))).status)
      .toBe(204)
    expect(seen).toEqual([expected])
  })

  describe("a custom provider that fails to give a verdict: the 401, never a 500", () => {
    const dying: ReadonlyArray<readonly [string, AuthProvider.Service["authenticate"]]> = [
      ["throws", () => { throw new Error("boom") }],
      ["dies", () => Effect.die(new TypeError("boom"))],
      ["rejects", () => Effect.promise(() => Promise.reject(new Error("boom")))]
    ]
    for (const [how, authenticate] of dying) {
      it(`a provider that ${how}`, async () => {
        const jwtKind = HttpApp.toWebHandler(HttpAuth.authenticateWith(customProvider(authenticate))(whoami))
        await expect401(await jwtKind(request({ Authorization: "Bearer abc" })), Bodies.jwt, INVALID_TOKEN)
        const apiKeyKind = HttpApp.toWebHandler(HttpAuth.authenticateWith(customProvider(authenticate, ["api-key"]))(whoami))
        await expect401(await apiKeyKind(request()), Bodies.apiKey, "ApiKey realm=\"mcp\", header=\"Authorization\"")
      })
    }
  })
})

describe("HttpAuth.middleware", () => {
  it("guards every app it wraps, with the AuthProvider of the layer", async () => {
    // The middleware's type cannot name CurrentPrincipal: the app reads it as optional.
    const app = Effect.map(Effect.serviceOption(HttpAuth.CurrentPrincipal), (principal) =>
      HttpServerResponse.text(Option.match(principal, { onNone: () => "nobody", onSome: (p) => p.clientId })))
    await withHandler(app, ApiKey.layer(apiKeyOptions), async (handler) => {
      const ok = await handler(request({ "X-API-Key": KEY_ALICE }))
      expect(ok.status).toBe(200)
      expect(await ok.text()).toBe("alice")
      await expect401(await handler(request()), Bodies.apiKey, API_KEY_CHALLENGE)
    }, { middleware: HttpAuth.middleware })
  })
})

describe("HttpAuth.toResponse: an HttpAnswer as a platform response, byte for byte", () => {
  const respond = (answer: HttpAnswer.HttpAnswer, method = "POST") =>
    HttpApp.toWebHandler(Effect.succeed(HttpAuth.toResponse(answer)))(new Request("http://localhost/mcp", { method }))

  it("keeps an error answer's status, headers and body exactly, content-type without a charset", async () => {
    for (const answer of [HttpAnswer.sessionForbidden, HttpAnswer.tooManyAttempts(12), HttpAnswer.methodNotAllowed(["GET", "POST"])]) {
      const response = await respond(answer)
      expect(response.status).toBe(answer.status)
      expect(headersOf(response)).toStrictEqual({ ...answer.headers, "content-length": String(answer.body.length) })
      expect(await response.text()).toBe(answer.body)
    }
  })

  it("keeps the body's UTF-8 bytes", async () => {
    const answer = HttpAnswer.error(400, "Ünïcødé ✓", "invalid_request_error")
    const response = await respond(answer)
    expect(headersOf(response)["content-length"]).toBe(String(Buffer.byteLength(answer.body)))
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from(answer.body, "utf8"))
  })

  it("202 accepted: an empty body and no headers at all, not even a Content-Type", async () => {
    const response = await respond(HttpAnswer.accepted)
    expect(response.status).toBe(202)
    expect(headersOf(response)).toStrictEqual({})
    expect(await response.text()).toBe("")
  })

  it("204 preflight: the CORS headers exactly, and no body", async () => {
    const policy = CrossOrigin.unsafeMake({ allowedOrigins: ["https://app.example.com"], credentialHeaders: ["X-API-Key"] })
    const answer = CrossOrigin.preflight(policy, "https://app.example.com", ["GET", "POST"])
    const response = await respond(answer, "OPTIONS")
    expect(response.status).toBe(204)
    expect(headersOf(response)).toStrictEqual(answer.headers)
    expect(response.body).toBeNull()
  })

  it("adds no Content-Type to a body that has none", async () => {
    const response = await respond({ status: 200, headers: { "x-note": "plain" }, body: "hello" })
    expect(response.status).toBe(200)
    expect(headersOf(response)["content-type"]).toBeUndefined()
    expect(headersOf(response)["x-note"]).toBe("plain")
    expect(await response.text()).toBe("hello")
  })
})
