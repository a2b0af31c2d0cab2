/**
 * `HttpAuth` runs through the gate like every other adapter (docs/behaviour.md#order-of-checks,
 * steps 4 and 5): a credential in the URL is refused before any provider runs, a client over
 * its failed-attempt budget gets 429, and refusals are counted.
 */
import * as HttpApp from "@effect/platform/HttpApp"
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { describe, expect, it } from "@effect/vitest"
import type { AuthProvider } from "@mcpgate/auth-core"
import { ApiKey } from "@mcpgate/auth-core"
import { AuthMetrics } from "@mcpgate/http"
import * as HttpAuth from "@mcpgate/http/HttpAuth"
import { Bodies } from "@mcpgate/testing/contract"
import { KEY_ALICE } from "@mcpgate/testing/credentials"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"

const ok = Effect.succeed(HttpServerResponse.text("ok"))

const post = (headers: Record<string, string>, path = "/mcp") =>
  new Request(`http://localhost${path}`, { method: "POST", headers, body: "{}" })

const withHandler = async <E>(
  app: HttpApp.Default<E, AuthProvider.AuthProvider | HttpServerRequest.HttpServerRequest>,
  use: (handler: (request: Request) => Promise<Response>) => Promise<void>
) => {
  const { dispose, handler } = HttpApp.toWebHandlerLayer(app, ApiKey.layer({ keys: [KEY_ALICE] }))
  try {
    await use(handler)
  } finally {
    await dispose()
  }
}

const failuresCounted = () =>
  Effect.runPromise(
    Metric.value(Metric.tagged(Metric.tagged(AuthMetrics.failures, "provider", "api-key"), "reason", "unknown_key"))
  ).then((state) => state.count)

describe("HttpAuth through the gate", () => {
  it("a client over its failed-attempt budget gets 429 with Retry-After, the right key included", async () => {
    await withHandler(HttpAuth.authenticate(ok), async (handler) => {
      for (let attempt = 0; attempt < 20; attempt++) {
        const refused = await handler(post({ "x-api-key": `wrong-key-number-${attempt}` }))
        expect(refused.status).toBe(401)
        expect(await refused.text()).toBe(Bodies.apiKey)
      }
      const limited = await handler(post({ "x-api-key": "one-more-wrong-key" }))
      expect(limited.status).toBe(429)
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
      // The right key was never proven by this client before its lockout.
      expect((await handler(post({ "x-api-key": KEY_ALICE }))).status).toBe(429)
    })
  })

  it("a key proven before the lockout still gets in", async () => {
    await withHandler(HttpAuth.authenticate(ok), async (handler) => {
      expect((await handler(post({ "x-api-key": KEY_ALICE }))).status).toBe(200)
      for (let attempt = 0; attempt < 21; attempt++) await handler(post({ "x-api-key": `wrong-key-number-${attempt}` }))
      expect((await handler(post({ "x-api-key": "one-more-wrong-key" }))).status).toBe(429)
      expect((await handler(post({ "x-api-key": KEY_ALICE }))).status).toBe(200)
    })
  })

  it("a credential in the URL is refused before any provider runs, even with a good header", async () => {
    await withHandler(HttpAuth.authenticate(ok), async (handler) => {
      const refused = await handler(post({ "x-api-key": KEY_ALICE }, `/mcp?api_key=${KEY_ALICE}`))
      expect(refused.status).toBe(401)
      expect(await refused.text()).toBe(Bodies.apiKey)
    })
  })

  it("refusals are counted in the authentication metrics", async () => {
    await withHandler(HttpAuth.authenticate(ok), async (handler) => {
      const before = await failuresCounted()
      await handler(post({ "x-api-key": "a-key-nobody-configured" }))
      expect(await failuresCounted()).toBe(before + 1)
    })
  })

  it("authenticateWith takes the gate's options: rateLimit false never answers 429", async () => {
    const { dispose, handler } = HttpApp.toWebHandlerLayer(
      HttpAuth.authenticateWith(Effect.runSync(ApiKey.make({ keys: [KEY_ALICE] })), { rateLimit: false })(ok),
      ApiKey.layer({ keys: [KEY_ALICE] })
    )
    try {
      for (let attempt = 0; attempt < 25; attempt++) {
        expect((await handler(post({ "x-api-key": `wrong-key-number-${attempt}` }))).status).toBe(401)
      }
    } finally {
      await dispose()
    }
  })
})
