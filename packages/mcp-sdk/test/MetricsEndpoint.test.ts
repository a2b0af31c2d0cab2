/**
 * `metricsEndpoint` on `McpHttp.layer` and `MCPServer`: off by default; when set, `GET` and
 * `HEAD` answer Effect's metrics in the Prometheus text format, without authentication or
 * rate limiting (contract section 6, step 3), after the `Origin` and `Host` checks of step 1;
 * any other method is the contract's 405. Its path may not repeat another endpoint's.
 */
import { describe, expect, it } from "@effect/vitest"
import { AuthMetrics } from "@mcpgate/http"
import { ApiKey, MCPServer, McpHttp } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import { apiKeys, KEY_ALICE } from "./fixtures/credentials.js"
import { registerWhoami } from "./fixtures/mcp.js"
import { RATE_LIMITED, sample, SUCCESSES, UNKNOWN_KEY } from "./fixtures/metrics.js"
import { started } from "./fixtures/whoamiServer.js"
import { Bodies } from "@mcpgate/testing/contract"
import { inScope } from "@mcpgate/testing/scoped"

const ApiKeys = ApiKey.layer({ keys: [{ key: KEY_ALICE, label: "alice" }] })

/** An `McpHttp` server, built into the test's scope; `options` are added to a default one. */
const serve = (options: Partial<McpHttp.McpHttpOptions> = {}) =>
  Layer.build(McpHttp.layer({ port: 0, register: registerWhoami([]), ...options }).pipe(Layer.provide(ApiKeys))).pipe(
    Effect.map((context) => Context.get(context, McpHttp.McpHttp).url)
  )

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** A raw request, so that `Host` can be set. */
const request = (
  url: URL,
  options: { readonly method?: string; readonly headers?: Record<string, string> } = {}
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const sent = http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {}, agent: false }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (body += chunk))
      response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, body }))
    })
    sent.on("error", reject)
    sent.end()
  })

const initialize = (url: URL, key: string) =>
  fetch(new URL("/mcp", url), {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "x-api-key": key },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
    })
  })

describe("metricsEndpoint", () => {
  it.scopedLive("is off by default: GET /metrics is the 404", () => inScope(async (use) => {
    const url = await use(serve())
    const answer = await request(new URL("/metrics", url))
    expect(answer.status).toBe(404)
    expect(answer.body).toBe(Bodies.notFound)
  }))

  it.scopedLive("GET answers the counters in the Prometheus text format, counting failures and successes", () => inScope(async (use) => {
    const url = await use(serve({ metricsEndpoint: "/metrics" }))
    const metrics = new URL("/metrics", url)
    // Effect's registry is process-wide: other tests in this process count too, so compare.
    const before = (await request(metrics)).body
    for (let index = 0; index < 3; index++) {
      expect((await initialize(url, `wrong-key-${index}-0123456789abcdef`)).status).toBe(401)
    }
    expect((await initialize(url, KEY_ALICE)).status).toBe(200)

    const answer = await request(metrics)
    expect(answer.status).toBe(200)
    expect(answer.headers["content-type"]).toBe(AuthMetrics.PROMETHEUS_CONTENT_TYPE)
    expect(answer.headers["cache-control"]).toBe("no-store")
    expect(answer.headers["www-authenticate"]).toBeUndefined()
    expect(sample(answer.body, UNKNOWN_KEY) - sample(before, UNKNOWN_KEY)).toBe(3)
    expect(sample(answer.body, SUCCESSES) - sample(before, SUCCESSES)).toBe(1)
    expect(answer.body).toContain("# TYPE mcpgate_auth_failures_total counter\n")
    expect(answer.body).toContain("# TYPE mcpgate_auth_successes_total counter\n")
    // Every line is a comment or a sample `name{labels} value`.
    for (const line of answer.body.trimEnd().split("\n")) {
      expect(line).toMatch(/^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [0-9.e+-]+)$/)
    }
  }))

  it.scopedLive("HEAD answers 200 with the headers and no body", () => inScope(async (use) => {
    const url = await use(serve({ metricsEndpoint: "/metrics" }))
    const answer = await request(new URL("/metrics", url), { method: "HEAD" })
    expect(answer.status).toBe(200)
    expect(answer.headers["content-type"]).toBe(AuthMetrics.PROMETHEUS_CONTENT_TYPE)
    expect(answer.headers["cache-control"]).toBe("no-store")
    expect(answer.body).toBe("")
  }))

  it.scopedLive("any other method is the contract's 405 with Allow: GET, HEAD", () => inScope(async (use) => {
    const url = await use(serve({ metricsEndpoint: "/metrics" }))
    for (const method of ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      const answer = await request(new URL("/metrics", url), { method })
      expect(answer.status, method).toBe(405)
      expect(answer.headers["allow"], method).toBe("GET, HEAD")
      expect(answer.headers["content-type"], method).toBe("application/json")
      expect(answer.body, method).toBe(Bodies.methodNotAllowed)
    }
  }))

  it.scopedLive("the Host and Origin checks still apply (step 1); authentication does not", () => inScope(async (use) => {
    const url = await use(serve({ metricsEndpoint: "/stats", allowedOrigins: ["https://app.example"] }))
    const metrics = new URL("/stats", url)
    // A DNS-rebinding page reaches the loopback server under its own name.
    const rebound = await request(metrics, { headers: { host: "attacker.example" } })
    expect(rebound.status).toBe(403)
    expect(rebound.body).toBe(Bodies.originNotAllowed)
    const foreign = await request(metrics, { headers: { origin: "https://evil.example" } })
    expect(foreign.status).toBe(403)
    expect(foreign.body).toBe(Bodies.originNotAllowed)
    // An allowed origin, or none, is served; no credential is asked for, and no CORS access granted.
    const allowed = await request(metrics, { headers: { origin: "https://app.example" } })
    expect(allowed.status).toBe(200)
    expect(allowed.headers["access-control-allow-origin"]).toBeUndefined()
    expect((await request(metrics, { headers: { host: `localhost:${url.port}` } })).status).toBe(200)
  }))

  it.scopedLive("allowedHosts replaces the loopback rule for it as for the transports", () => inScope(async (use) => {
    const url = await use(serve({ metricsEndpoint: "/metrics", allowedHosts: ["mcp.internal"] }))
    const metrics = new URL("/metrics", url)
    expect((await request(metrics, { headers: { host: "mcp.internal:8080" } })).status).toBe(200)
    expect((await request(metrics, { headers: { host: `127.0.0.1:${url.port}` } })).status).toBe(403)
  }))

  it.scopedLive("is not rate limited: a client over its budget still reads it, and sees its 429 counted", () => inScope(async (use) => {
    const url = await use(serve({ metricsEndpoint: "/metrics", rateLimit: { maxFailures: 2, window: 60 } }))
    const metrics = new URL("/metrics", url)
    const before = (await request(metrics)).body
    for (let index = 0; index < 2; index++) expect((await initialize(url, `wrong-key-${index}-0123456789abcdef`)).status).toBe(401)
    const limited = await initialize(url, KEY_ALICE)
    expect(limited.status).toBe(429)
    expect(await limited.text()).toBe(Bodies.rateLimited)
    const answer = await request(metrics)
    expect(answer.status).toBe(200)
    expect(sample(answer.body, RATE_LIMITED) - sample(before, RATE_LIMITED)).toBe(1)
  }))

  it.scopedLive("is served by MCPServer too, on either transport", () => inScope(async (use) => {
    for (const type of ["sse", "http-stream"] as const) {
      const server = new MCPServer({
        transport: { type, options: { port: 0, auth: { provider: apiKeys() }, metricsEndpoint: "/metrics" } }
      } as MCPServerOptions)
      await use(started(server))
      const answer = await request(new URL("/metrics", server.url))
      expect(answer.status, type).toBe(200)
      expect(answer.headers["content-type"], type).toBe(AuthMetrics.PROMETHEUS_CONTENT_TYPE)
    }
  }))
})

describe("metricsEndpoint: refused at startup", () => {
  const refusalOf = async (options: Partial<McpHttp.McpHttpOptions>): Promise<string> => {
    const exit = await Effect.runPromise(Effect.scoped(Effect.exit(serve(options))))
    if (Exit.isSuccess(exit)) expect.fail(`expected ${JSON.stringify(options)} to be refused`)
    const error = Cause.squash(exit.cause) as { readonly _tag: string; readonly message: string }
    expect(error._tag).toBe("ConfigurationError")
    return error.message
  }

  it("a path another endpoint has (McpHttp.layer)", async () => {
    for (const path of ["/mcp", "/sse", "/messages", "/health"]) {
      expect(await refusalOf({ metricsEndpoint: path }), path).toContain(
        `${JSON.stringify(path)} is used twice: every endpoint needs a path of its own`
      )
    }
    expect(await refusalOf({ metricsEndpoint: "/status", healthEndpoint: "/status" })).toContain("is used twice")
  })

  it("a path another endpoint has (MCPServer)", () => {
    const cases: ReadonlyArray<MCPServerOptions> = [
      { transport: { type: "sse", options: { auth: { provider: apiKeys() }, metricsEndpoint: "/messages" } } },
      { transport: { type: "sse", options: { auth: { provider: apiKeys() }, metricsEndpoint: "/health" } } },
      { transport: { type: "http-stream", options: { auth: { provider: apiKeys() }, metricsEndpoint: "/mcp" } } },
      {
        transport: {
          type: "http-stream",
          options: { auth: { provider: apiKeys() }, endpoint: "/metrics", metricsEndpoint: "/metrics" }
        }
      }
    ]
    for (const options of cases) {
      expect(() => new MCPServer(options)).toThrow(/is used twice: every endpoint needs a path of its own/)
    }
    // `false`, the default, never collides.
    expect(() =>
      new MCPServer({ transport: { type: "sse", options: { auth: { provider: apiKeys() }, metricsEndpoint: false } } })
    ).not.toThrow()
  })

  it("something that is not a path", async () => {
    expect(await refusalOf({ metricsEndpoint: "metrics" })).toContain("metricsEndpoint")
    expect(() =>
      new MCPServer({
        transport: { type: "http-stream", options: { auth: { provider: apiKeys() }, metricsEndpoint: "metrics" } }
      })
    ).toThrow(/transport\.options\.metricsEndpoint/)
  })
})
