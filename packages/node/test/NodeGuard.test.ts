import { afterAll, describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthProvider, ConfigurationError, Jwt } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core"
import { getRequestContext, NodeGuard } from "@mcpgate/node"
import * as Effect from "effect/Effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { apiKeyProvider, customProvider, jwtProvider, KEY_ALICE, KEY_BOB, SECRET, tokenFor } from "@mcpgate/testing/credentials"
import type { RawResponse } from "@mcpgate/testing/wire"
import { head, rawRequest } from "@mcpgate/testing/wire"
import { Bodies } from "@mcpgate/testing/contract"

const API_KEY_CHALLENGE = "ApiKey realm=\"mcp\", header=\"X-API-Key\""
const NO_CREDENTIALS = "Bearer realm=\"mcp\""
const INVALID_TOKEN = "Bearer realm=\"mcp\", error=\"invalid_token\""
const INVALID_REQUEST = "Bearer realm=\"mcp\", error=\"invalid_request\""

const apiKeys = apiKeyProvider()
const apiKeysWithBearer = apiKeyProvider({ allowBearer: true })
const jwts = jwtProvider()
afterAll(() => Promise.all([apiKeys.dispose(), apiKeysWithBearer.dispose(), jwts.dispose()]))

/** A `node:http` server on 127.0.0.1 and a free port, closed when `use` settles. */
const withServer = async <A>(handler: http.RequestListener, use: (url: URL) => Promise<A>): Promise<A> => {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  try {
    return await use(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))
  } finally {
    server.closeAllConnections()
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
  }
}

/** What the app behind the guard saw: one entry per request it served. */
interface Served {
  readonly principal: Principal.Principal
  readonly auth: unknown
}

/** A plain `node:http` handler behind `guard.authenticate`; the app answers 200 "served". */
const guardedHandler = (guard: NodeGuard.NodeGuard, served: Array<Served>): http.RequestListener => async (req, res) => {
  const principal = await guard.authenticate(req, res)
  if (principal === undefined) {
    // A refused request must not carry an identity either: recorded so the test sees it.
    if ("auth" in req) served.push({ principal: undefined as never, auth: "req.auth set on a refused request" })
    return
  }
  served.push({ principal, auth: (req as NodeGuard.AuthenticatedRequest).auth })
  res.writeHead(200, { "content-type": "text/plain" }).end("served")
}

type Middleware = (req: http.IncomingMessage, res: http.ServerResponse, next: (error?: unknown) => void) => void

/**
 * A Connect-style chain, built by hand: each middleware calls `next()` to go on; an error
 * passed to `next` ends in a 500, as Express's default error handler would.
 */
const chain = (...middlewares: ReadonlyArray<Middleware>): http.RequestListener => (req, res) => {
  let index = 0
  const next = (error?: unknown) => {
    if (error !== undefined) {
      res.writeHead(500, { "content-type": "text/plain" }).end("internal error")
      return
    }
    const middleware = middlewares[index++]
    if (middleware !== undefined) middleware(req, res, next)
  }
  next()
}

/** `GET /mcp` with these header lines, sent byte for byte. */
const get = (url: URL, headers: ReadonlyArray<readonly [string, string]>): Promise<RawResponse> =>
  rawRequest(url, head("GET /mcp HTTP/1.1", [["Host", url.host], ...headers]) + "\r\n")

/** Asserts the exact 401 of the contract: status line, JSON headers, challenge, length and body. */
const expect401 = (response: RawResponse, body: string, challenge: string) => {
  expect(response.statusLine).toBe("HTTP/1.1 401 Unauthorized")
  const named = (name: string) => response.headers.filter(([n]) => n === name).map(([, value]) => value)
  expect(named("content-type")).toEqual(["application/json"])
  expect(named("cache-control")).toEqual(["no-store"])
  expect(named("www-authenticate")).toEqual([challenge])
  expect(named("content-length")).toEqual([String(Buffer.byteLength(body))])
  expect(response.body).toBe(body)
}


describe("NodeGuard.authenticate", () => {
  it("lets a valid API key through: the principal, and req.auth in the SDK's AuthInfo shape with no token", async () => {
    const served: Array<Served> = []
    await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: apiKeys }), served), async (url) => {
      const response = await fetch(new URL("/mcp", url), { headers: { "X-API-Key": KEY_ALICE } })
      expect(response.status).toBe(200)
      expect(await response.text()).toBe("served")
    })
    expect(served).toHaveLength(1)
    expect(served[0]!.principal).toMatchObject({ provider: "api-key", clientId: "alice", keyLabel: "alice" })
    expect(served[0]!.auth).toStrictEqual({
      token: "",
      clientId: "alice",
      scopes: ["tools:read"],
      extra: {
        provider: "api-key",
        subject: "alice",
        identity: served[0]!.principal.identity,
        keyLabel: "alice"
      }
    })
  })

  it("lets a valid JWT through, with expiresAt and the claims", async () => {
    const served: Array<Served> = []
    const token = await tokenFor("carol", { claims: { client_id: "cli-9" } })
    await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: jwts }), served), async (url) => {
      const response = await fetch(new URL("/mcp", url), { headers: { Authorization: `Bearer ${token}` } })
      expect(response.status).toBe(200)
    })
    const [{ auth, principal }] = served as [Served]
    expect(principal).toMatchObject({ provider: "jwt", subject: "carol", clientId: "cli-9" })
    expect(auth).toStrictEqual({
      token: "",
      clientId: "cli-9",
      scopes: ["tools:read"],
      expiresAt: principal.expiresAt,
      extra: { provider: "jwt", subject: "carol", identity: "jwt:[\"\",\"carol\"]", claims: principal.claims }
    })
    expect(typeof principal.expiresAt).toBe("number")
  })

  it("accepts the provider as a Promise provider or as its Effect service", async () => {
    const service = Effect.runSync(ApiKey.make({ keys: [{ key: KEY_BOB, label: "bob" }] }))
    for (const provider of [apiKeys, service]) {
      const served: Array<Served> = []
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider }), served), async (url) => {
        expect((await get(url, [["X-API-Key", KEY_BOB]])).status).toBe(200)
      })
      expect(served.map(({ principal }) => principal.clientId)).toEqual(["bob"])
    }
  })

  describe("exposeToken: true", () => {
    it("gives the raw API key as req.auth.token", async () => {
      const served: Array<Served> = []
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: apiKeys, exposeToken: true }), served), async (url) => {
        expect((await get(url, [["x-api-key", KEY_ALICE]])).status).toBe(200)
      })
      expect(served.map(({ auth }) => (auth as { token: string }).token)).toEqual([KEY_ALICE])
    })

    it("gives the raw JWT without its scheme, however the scheme was written", async () => {
      const served: Array<Served> = []
      const token = await tokenFor("carol")
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: jwts, exposeToken: true }), served), async (url) => {
        for (const value of [`Bearer ${token}`, `bearer ${token}`, `BEARER   ${token}`]) {
          expect((await get(url, [["Authorization", value]])).status).toBe(200)
        }
      })
      expect(served.map(({ auth }) => (auth as { token: string }).token)).toEqual([token, token, token])
    })

    it("gives the raw key sent as a Bearer token with allowBearer", async () => {
      const served: Array<Served> = []
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: apiKeysWithBearer, exposeToken: true }), served), async (url) => {
        expect((await get(url, [["Authorization", `Bearer ${KEY_ALICE}`]])).status).toBe(200)
      })
      expect(served.map(({ auth }) => (auth as { token: string }).token)).toEqual([KEY_ALICE])
    })

    it("gives the raw JWT from a custom header without Bearer (requireBearer: false)", async () => {
      const provider = jwtProvider({ headerName: "X-Access-Token", requireBearer: false })
      const served: Array<Served> = []
      const token = await tokenFor("carol")
      try {
        await withServer(guardedHandler(NodeGuard.unsafeMake({ provider, exposeToken: true }), served), async (url) => {
          expect((await get(url, [["X-Access-Token", token]])).status).toBe(200)
        })
      } finally {
        await provider.dispose()
      }
      expect(served.map(({ auth }) => (auth as { token: string }).token)).toEqual([token])
    })

    it("with several providers, exposes the credential that authenticated, not another header's", async () => {
      const both = AuthProvider.firstOf(apiKeys.service, jwts.service)
      const served: Array<Served> = []
      const token = await tokenFor("carol")
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: both, exposeToken: true }), served), async (url) => {
        const response = await get(url, [["X-API-Key", "mcp_test_not_a_key_000000"], ["Authorization", `Bearer ${token}`]])
        expect(response.status).toBe(200)
      })
      expect(served.map(({ principal }) => principal.provider)).toEqual(["jwt"])
      expect(served.map(({ auth }) => (auth as { token: string }).token)).toEqual([token])
    })
  })

  describe("refusals: the exact bytes, and the app never runs", () => {
    it("API key missing, empty or wrong: the API-key 401", async () => {
      const served: Array<Served> = []
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: apiKeys }), served), async (url) => {
        for (
          const headers of [
            [],
            [["X-API-Key", ""]],
            [["X-API-Key", "mcp_test_wrong_key_0000000"]],
            [["X-API-Key", KEY_ALICE.toUpperCase()]],
            [["X-API-Key", KEY_ALICE.slice(0, -1)]],
            [["Authorization", `Bearer ${KEY_ALICE}`]]
          ] as const
        ) {
          expect401(await get(url, headers), Bodies.apiKey, API_KEY_CHALLENGE)
        }
      })
      expect(served).toEqual([])
    })

    it("JWT missing, wrong or of another scheme: the JWT 401 with the contract's challenges", async () => {
      const served: Array<Served> = []
      const foreign = await tokenFor("carol", { secret: `${SECRET}-but-another-one` })
      const expired = await tokenFor("carol", { expiresIn: -3600 })
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: jwts }), served), async (url) => {
        expect401(await get(url, []), Bodies.jwt, NO_CREDENTIALS)
        expect401(await get(url, [["Authorization", "Basic YWxpY2U6c2VjcmV0"]]), Bodies.jwt, NO_CREDENTIALS)
        expect401(await get(url, [["Authorization", `Bearer ${foreign}`]]), Bodies.jwt, INVALID_TOKEN)
        expect401(await get(url, [["Authorization", `Bearer ${expired}`]]), Bodies.jwt, INVALID_TOKEN)
        expect401(await get(url, [["Authorization", "Bearer not-a-jwt"]]), Bodies.jwt, INVALID_TOKEN)
        expect401(await get(url, [["Authorization", "Bearer"]]), Bodies.jwt, INVALID_REQUEST)
        expect401(await get(url, [["Authorization", `Bearer ${foreign} extra`]]), Bodies.jwt, INVALID_REQUEST)
      })
      expect(served).toEqual([])
    })

    it("duplicate Authorization lines, even both valid: 401 with error=\"invalid_request\"", async () => {
      const served: Array<Served> = []
      const token = await tokenFor("carol")
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: jwts }), served), async (url) => {
        expect401(
          await get(url, [["Authorization", `Bearer ${token}`], ["Authorization", `Bearer ${token}`]]),
          Bodies.jwt,
          INVALID_REQUEST
        )
        expect401(
          await get(url, [["Authorization", `Bearer ${token}`], ["authorization", "Bearer x"]]),
          Bodies.jwt,
          INVALID_REQUEST
        )
      })
      expect(served).toEqual([])
    })

    it("duplicate X-API-Key lines, even both valid: the API-key 401", async () => {
      const served: Array<Served> = []
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: apiKeys }), served), async (url) => {
        expect401(await get(url, [["X-API-Key", KEY_ALICE], ["X-API-Key", KEY_ALICE]]), Bodies.apiKey, API_KEY_CHALLENGE)
        expect401(await get(url, [["X-API-Key", KEY_ALICE], ["x-api-key", KEY_BOB]]), Bodies.apiKey, API_KEY_CHALLENGE)
      })
      expect(served).toEqual([])
    })

    it("an unreachable key source: the 503, and the app never runs", async () => {
      const provider = Effect.runSync(Jwt.make({ jwksUrl: "http://127.0.0.1:9/jwks.json", algorithms: ["RS256"], jwksTimeout: 1 }))
      const header = Buffer.from(JSON.stringify({ alg: "RS256", kid: "k1" })).toString("base64url")
      const payload = Buffer.from(JSON.stringify({ sub: "carol", exp: Math.floor(Date.now() / 1000) + 600 })).toString("base64url")
      const token = `${header}.${payload}.${Buffer.alloc(256, 7).toString("base64url")}`
      const served: Array<Served> = []
      await withServer(guardedHandler(NodeGuard.unsafeMake({ provider }), served), async (url) => {
        const response = await get(url, [["Authorization", `Bearer ${token}`]])
        expect(response.statusLine).toBe("HTTP/1.1 503 Service Unavailable")
        expect(response.header("content-type")).toBe("application/json")
        expect(response.header("cache-control")).toBe("no-store")
        expect(response.header("www-authenticate")).toBeUndefined()
        expect(response.body).toBe(Bodies.unavailable)
      })
      expect(served).toEqual([])
    })

    it("resolves with undefined once the refusal is written, and never rejects", async () => {
      const guard = NodeGuard.unsafeMake({ provider: apiKeys })
      const outcomes: Array<Promise<Principal.Principal | undefined>> = []
      await withServer((req, res) => {
        outcomes.push(guard.authenticate(req, res))
      }, async (url) => {
        expect((await get(url, [["X-API-Key", "mcp_test_wrong_key_0000000"]])).status).toBe(401)
      })
      await expect(Promise.all(outcomes)).resolves.toEqual([undefined])
    })
  })

  describe("a custom provider that fails to give a verdict: 401, never a 500, never through", () => {
    const dying: ReadonlyArray<readonly [string, AuthProvider.Service["authenticate"]]> = [
      ["throws", () => { throw new Error("boom") }],
      ["dies", () => Effect.die(new TypeError("boom"))],
      ["rejects", () => Effect.promise(() => Promise.reject(new Error("boom")))],
      ["yields something that is not a principal", () => Effect.succeed({} as Principal.Principal)]
    ]

    for (const [how, authenticate] of dying) {
      it(`with authenticate: a provider that ${how}`, async () => {
        const served: Array<Served> = []
        await withServer(guardedHandler(NodeGuard.unsafeMake({ provider: customProvider(authenticate) }), served), async (url) => {
          expect401(await get(url, [["Authorization", "Bearer abc"]]), Bodies.jwt, INVALID_TOKEN)
        })
        expect(served).toEqual([])
      })

      it(`with middleware: a provider that ${how}, and next is never called`, async () => {
        let nexts = 0
        const guard = NodeGuard.unsafeMake({ provider: customProvider(authenticate, ["api-key"]) })
        await withServer(chain(guard.middleware, (_req, res) => {
          nexts++
          res.end("served")
        }), async (url) => {
          expect401(await get(url, [["Authorization", "Bearer abc"]]), Bodies.apiKey, "ApiKey realm=\"mcp\", header=\"Authorization\"")
        })
        expect(nexts).toBe(0)
      })
    }
  })
})

describe("NodeGuard.middleware", () => {
  /** The chain guard → app; the app records what it saw. */
  const app = (guard: NodeGuard.NodeGuard, served: Array<unknown>) =>
    chain(guard.middleware, (req, res) => {
      served.push((req as NodeGuard.AuthenticatedRequest).auth)
      res.writeHead(200, { "content-type": "text/plain" }).end("served")
    })

  it("calls next once, with no error, for an authenticated request, with req.auth set", async () => {
    const served: Array<unknown> = []
    const nextArgs: Array<ReadonlyArray<unknown>> = []
    const guard = NodeGuard.unsafeMake({ provider: apiKeys })
    const recording: Middleware = (req, res, next) =>
      guard.middleware(req, res, (...args: Array<unknown>) => {
        nextArgs.push(args)
        next(...(args as [unknown?]))
      })
    await withServer(chain(recording, (req, res) => {
      served.push((req as NodeGuard.AuthenticatedRequest).auth)
      res.end("served")
    }), async (url) => {
      const response = await get(url, [["X-API-Key", KEY_ALICE]])
      expect(response.status).toBe(200)
      expect(response.body).toBe("served")
    })
    expect(nextArgs).toEqual([[]])
    expect(served).toMatchObject([{ token: "", clientId: "alice", scopes: ["tools:read"] }])
  })

  it("with requestContext, runs what comes after in the request's context: getRequestContext() gives the caller", async () => {
    const contexts: Array<unknown> = []
    const token = await tokenFor("carol")
    const handler = chain(NodeGuard.unsafeMake({ provider: jwts, requestContext: true }).middleware, (_req, res) => {
      // Later in the request, after an await, as a tool would run.
      void Promise.resolve().then(() => {
        contexts.push(getRequestContext())
        res.end("served")
      })
    })
    await withServer(handler, async (url) => {
      expect((await get(url, [["Authorization", `Bearer ${token}`]])).status).toBe(200)
    })
    expect(contexts).toMatchObject([{ sub: "carol" }])
    expect(getRequestContext()).toBeUndefined()
    // Off by default: no request context, and none of its cost.
    const plain: Array<unknown> = []
    await withServer(chain(NodeGuard.unsafeMake({ provider: jwts }).middleware, (_req, res) => {
      plain.push(getRequestContext())
      res.end("served")
    }), async (url) => {
      expect((await get(url, [["Authorization", `Bearer ${token}`]])).status).toBe(200)
    })
    expect(plain).toEqual([undefined])
  })

  it("answers a refusal itself and never calls next", async () => {
    const served: Array<unknown> = []
    const token = await tokenFor("carol")
    await withServer(app(NodeGuard.unsafeMake({ provider: jwts }), served), async (url) => {
      expect401(await get(url, []), Bodies.jwt, NO_CREDENTIALS)
      expect401(await get(url, [["Authorization", "Bearer not-a-jwt"]]), Bodies.jwt, INVALID_TOKEN)
      expect401(await get(url, [["Authorization", `Bearer ${token}`], ["Authorization", `Bearer ${token}`]]), Bodies.jwt, INVALID_REQUEST)
      expect((await get(url, [["Authorization", `Bearer ${token}`]])).status).toBe(200)
    })
    expect(served).toHaveLength(1)
  })
})

describe("NodeGuard.make: bad options throw a readable ConfigurationError", () => {
  const refusal = (options: unknown): string => {
    try {
      NodeGuard.unsafeMake(options as NodeGuard.NodeGuardOptions)
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigurationError.ConfigurationError)
      return (error as Error).message
    }
    throw new Error("expected the options to be refused")
  }

  it("a missing provider", () => {
    expect(refusal({})).toBe("Invalid guard options:\n  - provider: is missing")
    expect(refusal({ exposeToken: true })).toBe("Invalid guard options:\n  - provider: is missing")
  })

  it("an unknown key, named with the known ones", () => {
    expect(refusal({ provider: apiKeys, exposeTokens: true })).toBe(
      "Invalid guard options:\n  - exposeTokens: is unexpected, expected: \"provider\" | \"exposeToken\" | \"requestContext\" | \"maxHeadersCount\" | \"rateLimit\" | \"trustProxy\" | \"logger\" | \"gate\""
    )
  })

  it("a provider that is not one", () => {
    for (const provider of [null, "api-key", { authenticate: () => undefined }, { service: {} }]) {
      expect(refusal({ provider })).toContain(
        "provider must be an mcpgate provider: an APIKeyAuthProvider, a JWTAuthProvider, or an AuthProvider service"
      )
    }
  })

  it("exposeToken that is not a boolean", () => {
    expect(refusal({ provider: apiKeys, exposeToken: "yes" })).toBe(
      "Invalid guard options:\n  - exposeToken: Expected boolean, actual \"yes\""
    )
  })

  it("no options at all", () => {
    expect(refusal(undefined)).toMatch(/^Invalid guard options:/)
  })
})
