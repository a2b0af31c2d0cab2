/**
 * The request pipeline on web-standard requests (Fetch `Headers`, no socket): the order of
 * checks of docs/behaviour.md#order-of-checks, each answer's bytes, and a request let in with
 * an API key decided synchronously, without a promise.
 */
import { describe, expect, it } from "@effect/vitest"
import { APIKeyAuthProvider, AuthProvider } from "@mcpgate/auth-core"
import { CrossOrigin, Pipeline, ProtectedResource, RequestGate } from "@mcpgate/http"
import { Bodies } from "@mcpgate/testing/contract"
import { KEY_ALICE } from "@mcpgate/testing/credentials"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"

type Route = "mcp" | "open" | "metrics"

/** A provider that counts its checks, so that a test can say none ran. */
const counted = () => {
  const keys: AuthProvider.Service = new APIKeyAuthProvider({ keys: [{ key: KEY_ALICE, label: "alice" }] }).service
  let checks = 0
  const service: AuthProvider.Service = {
    ...keys,
    authenticate: (request) => Effect.suspend(() => (checks++, keys.authenticate(request))),
    authenticateAt: (request, now) => (checks++, keys.authenticateAt!(request, now))
  }
  return { service, checks: () => checks }
}

const pipelineFor = (service: AuthProvider.Service, options: { readonly allowedOrigins?: ReadonlyArray<string> } = {}) =>
  Pipeline.unsafeMake<Route>({
    routes: [
      { name: "mcp", path: "/mcp", methods: ["GET", "POST", "DELETE"], credentials: "required" },
      { name: "open", path: "/sse", methods: ["GET"], credentials: "optional" },
      { name: "metrics", path: "/metrics", methods: ["GET"], credentials: "none" }
    ],
    gate: RequestGate.unsafeMake(service),
    cors: CrossOrigin.unsafeMake({ credentialHeaders: service.headerNames, ...options }),
    healthEndpoint: "/health",
    protectedResource: ProtectedResource.unsafeMake({
      resource: "https://mcp.example.com/mcp",
      authorizationServers: ["https://auth.example.com"]
    })
  })

const request = (method: string, target: string, headers: Record<string, string> = {}): Pipeline.Request => ({
  method,
  target,
  headers: new Headers({ host: "mcp.example.com", ...headers }),
  remoteAddress: "192.0.2.7",
  localAddress: "192.0.2.1"
})

const answerOf = (decision: Pipeline.Decision<Route> | Promise<Pipeline.Decision<Route>>) => {
  if (decision instanceof Promise) throw new Error("expected a decision at once")
  if (decision._tag !== "Answer") throw new Error(`expected an answer, got ${decision._tag}`)
  return decision.answer
}

describe("Pipeline.decide", () => {
  it("lets a request with a good API key through at once, with its caller, the client and no promise", () => {
    const { service } = counted()
    const decision = pipelineFor(service).decide(request("POST", "/mcp?x=1", { "x-api-key": KEY_ALICE }))
    expect(decision).not.toBeInstanceOf(Promise)
    if (decision instanceof Promise || decision._tag !== "Proceed") throw new Error("expected Proceed")
    expect(decision.route).toBe("mcp")
    expect(decision.principal?.clientId).toBe("alice")
    expect(decision.client).toBe("192.0.2.7")
    expect(decision.url.search).toBe("?x=1")
  })

  it("refuses a wrong key with the exact API-key 401", async () => {
    const { service } = counted()
    const decision = await pipelineFor(service).decide(request("POST", "/mcp", { "x-api-key": "not-a-key-anyone-has" }))
    if (decision._tag !== "Answer") throw new Error("expected an answer")
    expect(decision.answer.status).toBe(401)
    expect(decision.answer.body).toBe(Bodies.apiKey)
  })

  it("an optional route lets a request without credentials through anonymously, and still checks presented ones", async () => {
    const { service } = counted()
    const pipeline = pipelineFor(service)
    const anonymous = await pipeline.decide(request("GET", "/sse"))
    expect(anonymous._tag === "Proceed" && anonymous.principal).toBe(undefined)
    const wrong = await pipeline.decide(request("GET", "/sse", { "x-api-key": "not-a-key-anyone-has" }))
    expect(wrong._tag === "Answer" && wrong.answer.status).toBe(401)
  })

  it("answers health and the protected-resource metadata itself, without any check", () => {
    const { service, checks } = counted()
    const pipeline = pipelineFor(service)
    expect(answerOf(pipeline.decide(request("GET", "/health"))).body).toBe(Bodies.health)
    const metadata = answerOf(pipeline.decide(request("GET", "/.well-known/oauth-protected-resource/mcp")))
    expect(JSON.parse(metadata.body)).toMatchObject({ resource: "https://mcp.example.com/mcp" })
    expect(checks()).toBe(0)
  })

  it("a public route proceeds without any check", () => {
    const { service, checks } = counted()
    const decision = pipelineFor(service).decide(request("GET", "/metrics", { "x-api-key": "anything" }))
    expect(decision instanceof Promise ? undefined : decision._tag).toBe("Proceed")
    expect(checks()).toBe(0)
  })

  it("an Origin not allowed is refused before the path is looked at, with no CORS headers", () => {
    const { service, checks } = counted()
    const pipeline = pipelineFor(service, { allowedOrigins: ["https://app.example.com"] })
    const refused = answerOf(pipeline.decide(request("POST", "/nowhere", { origin: "https://evil.example", "x-api-key": KEY_ALICE })))
    expect(refused.status).toBe(403)
    expect(refused.body).toBe(Bodies.originNotAllowed)
    expect(checks()).toBe(0)
  })

  it("an allowed Origin gets its CORS headers on every answer, refusals included", async () => {
    const { service } = counted()
    const pipeline = pipelineFor(service, { allowedOrigins: ["https://app.example.com"] })
    const decision = await pipeline.decide(request("POST", "/mcp", { origin: "https://app.example.com" }))
    if (decision._tag !== "Answer") throw new Error("expected an answer")
    expect(decision.answer.status).toBe(401)
    expect(decision.answer.headers["access-control-allow-origin"]).toBe("https://app.example.com")
  })

  it("a preflight is answered for any route, and an unserved method gets 405 with Allow", () => {
    const { service, checks } = counted()
    const pipeline = pipelineFor(service, { allowedOrigins: ["https://app.example.com"] })
    const preflight = answerOf(pipeline.decide(request("OPTIONS", "/mcp", { origin: "https://app.example.com" })))
    expect(preflight.status).toBe(204)
    const wrongMethod = answerOf(pipeline.decide(request("PUT", "/sse")))
    expect(wrongMethod.status).toBe(405)
    expect(wrongMethod.headers["allow"]).toBe("GET, OPTIONS")
    expect(wrongMethod.body).toBe(Bodies.methodNotAllowed)
    expect(checks()).toBe(0)
  })

  it.prop("any path that is not a route is 404, and no provider runs", [FastCheck.webPath()], ([path]) => {
    const { service, checks } = counted()
    const target = path.startsWith("/") ? path : `/${path}`
    const known = ["/mcp", "/sse", "/metrics", "/health", "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
    const decision = pipelineFor(service).decide(request("POST", target, { "x-api-key": KEY_ALICE }))
    if (decision instanceof Promise) return false
    const pathname = new URL(`http://x${target}`).pathname
    return known.includes(pathname) || (decision._tag === "Answer" && decision.answer.status === 404 && checks() === 0)
  })

  it("refuses two routes on one path", () => {
    const { service } = counted()
    expect(() =>
      Pipeline.unsafeMake({
        routes: [{ name: "a", path: "/health", methods: ["GET"], credentials: "none" }],
        gate: RequestGate.unsafeMake(service),
        cors: CrossOrigin.unsafeMake(),
        healthEndpoint: "/health",
        protectedResource: undefined
      })
    ).toThrow(TypeError)
  })
})
