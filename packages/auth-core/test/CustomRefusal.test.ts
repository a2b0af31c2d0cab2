/**
 * Custom providers (mcp-framework's `authenticate(req)` shape, `provider: "custom"`): their
 * refusal keeps the contract's body shape and headers, but its status and message are the
 * provider's own (`getAuthError()`), by default 401 "Unauthorized". Their challenge is Bearer.
 */
import { describe, expect, it } from "@effect/vitest"
import { ApiKey, AuthFailure, AuthProvider, HttpAnswer } from "@mcpgate/auth-core"
import type { Credentials } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as FastCheck from "effect/FastCheck"
import * as Stream from "effect/Stream"
import { KEY_ONE } from "@mcpgate/testing/apiKeys"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"

const BEARER: AuthFailure.ChallengeParams = { scheme: "Bearer", realm: "mcp", resourceMetadata: undefined }
const INVALID_TOKEN_CHALLENGE = "Bearer realm=\"mcp\", error=\"invalid_token\""
const API_KEY_CHALLENGE = "ApiKey realm=\"mcp\", header=\"X-API-Key\""
const UNAUTHORIZED = "{\"error\":\"Unauthorized\",\"status\":401,\"type\":\"authentication_error\"}"

const customRefusal = (refusal?: { readonly status: number; readonly message: string }) =>
  new AuthFailure.InvalidCredentials({ provider: "custom", reason: "custom_refusal", challenge: BEARER, refusal })

/** A hand-written provider of kind "custom" whose check always ends as `outcome` says. */
const customService = (
  outcome: "refuse" | "die",
  refusal?: { readonly status: number; readonly message: string }
): AuthProvider.Service => ({
  kinds: ["custom"],
  headerNames: [],
  authenticate: () => (outcome === "die" ? Effect.die(new TypeError("boom")) : Effect.fail(customRefusal(refusal))),
  stillValid: () => Effect.succeed(true),
  changes: Stream.empty
})

const answerOf = (provider: AuthProvider.Service, request: Credentials.RequestHeaders) =>
  Effect.map(Effect.flip(provider.authenticate(request)), HttpAnswer.fromFailure)

describe("custom refusals", () => {
  describe("HttpAnswer.fromFailure", () => {
    it("without a refusal: 401 Unauthorized, the contract's headers, a Bearer invalid_token challenge", () => {
      expect(HttpAnswer.fromFailure(customRefusal())).toStrictEqual({
        status: 401,
        headers: { ...JSON_HEADERS, "www-authenticate": INVALID_TOKEN_CHALLENGE },
        body: UNAUTHORIZED
      })
    })

    it("with a refusal: its status and message, in the contract's body shape", () => {
      expect(HttpAnswer.fromFailure(customRefusal({ status: 403, message: "Session expired" }))).toStrictEqual({
        status: 403,
        headers: { ...JSON_HEADERS, "www-authenticate": INVALID_TOKEN_CHALLENGE },
        body: "{\"error\":\"Session expired\",\"status\":403,\"type\":\"authentication_error\"}"
      })
    })

    it("a message with quotes, backslashes and non-ASCII is JSON-escaped, UTF-8, no trailing newline", () => {
      const answer = HttpAnswer.fromFailure(customRefusal({ status: 401, message: "say \"hi\" \\ café ✓" }))
      expect(answer.body).toBe("{\"error\":\"say \\\"hi\\\" \\\\ café ✓\",\"status\":401,\"type\":\"authentication_error\"}")
      expect(Buffer.from(answer.body, "utf8").toString("hex")).toBe(
        Buffer.from("{\"error\":\"say \\\"hi\\\" \\\\ café ✓\",\"status\":401,\"type\":\"authentication_error\"}", "utf8")
          .toString("hex")
      )
    })

    it.prop(
      "any refusal: exactly { error: message, status, type } in that key order, with status as the HTTP status",
      [FastCheck.integer({ min: 400, max: 499 }), FastCheck.string()],
      ([status, message]) => {
        const answer = HttpAnswer.fromFailure(customRefusal({ status, message }))
        expect(answer.status).toBe(status)
        expect(answer.body).toBe(`{"error":${JSON.stringify(message)},"status":${status},"type":"authentication_error"}`)
        expect(Object.keys(JSON.parse(answer.body))).toEqual(["error", "status", "type"])
        expect(answer.headers).toStrictEqual({ ...JSON_HEADERS, "www-authenticate": INVALID_TOKEN_CHALLENGE })
      }
    )

    it("a custom provider with no credentials at all: Unauthorized, a Bearer challenge without error code", () => {
      const missing = new AuthFailure.MissingCredentials({ provider: "custom", reason: "missing", challenge: BEARER })
      expect(HttpAnswer.fromFailure(missing)).toStrictEqual({
        status: 401,
        headers: { ...JSON_HEADERS, "www-authenticate": "Bearer realm=\"mcp\"" },
        body: UNAUTHORIZED
      })
    })

    it("a refusal on another provider's failure changes nothing: only custom failures carry their own", () => {
      const jwt = new AuthFailure.InvalidCredentials({
        provider: "jwt",
        reason: "bad_signature",
        challenge: BEARER,
        refusal: { status: 418, message: "teapot" }
      })
      expect(HttpAnswer.fromFailure(jwt)).toStrictEqual({
        status: 401,
        headers: { ...JSON_HEADERS, "www-authenticate": INVALID_TOKEN_CHALLENGE },
        body: Bodies.jwt
      })
    })

    it("an unreachable key source is still the 503, whatever the refusal", () => {
      const unavailable = new AuthFailure.KeySourceUnavailable({
        provider: "custom",
        reason: "key_source_unavailable",
        challenge: BEARER,
        refusal: { status: 401, message: "nope" }
      })
      expect(HttpAnswer.fromFailure(unavailable)).toStrictEqual(HttpAnswer.unavailable)
      expect(HttpAnswer.unavailable.body).toBe(Bodies.unavailable)
    })
  })

  describe("AuthProvider.unverified", () => {
    it("for a service of kind custom: a Bearer challenge (not ApiKey), answered 401 Unauthorized", () => {
      const failure = AuthProvider.unverified(customService("refuse"))
      expect(failure).toMatchObject({
        _tag: "InvalidCredentials",
        provider: "custom",
        reason: "verification_error",
        challenge: { scheme: "Bearer", realm: "mcp" }
      })
      expect(HttpAnswer.fromFailure(failure)).toStrictEqual({
        status: 401,
        headers: { ...JSON_HEADERS, "www-authenticate": INVALID_TOKEN_CHALLENGE },
        body: UNAUTHORIZED
      })
    })

    it.effect("a custom check that dies is that same 401 through authenticateSafely, never a defect", () =>
      Effect.gen(function*() {
        const failure = yield* Effect.flip(AuthProvider.authenticateSafely(customService("die"), {}))
        expect(failure).toMatchObject({ _tag: "InvalidCredentials", provider: "custom", reason: "verification_error" })
        expect(HttpAnswer.fromFailure(failure).body).toBe(UNAUTHORIZED)
      }))
  })

  describe("firstOf(API-key provider, custom provider)", () => {
    const setUp = Effect.map(ApiKey.make({ keys: [KEY_ONE] }), (apiKey) => ({
      apiKey,
      apiKeyFirst: AuthProvider.firstOf(apiKey, customService("refuse", { status: 403, message: "Session expired" })),
      customFirst: AuthProvider.firstOf(customService("refuse", { status: 403, message: "Session expired" }), apiKey)
    }))

    it.effect("still accepts the API key, whichever comes first", () =>
      Effect.gen(function*() {
        const { apiKeyFirst, customFirst } = yield* setUp
        for (const provider of [apiKeyFirst, customFirst]) {
          const principal = yield* provider.authenticate({ "x-api-key": KEY_ONE })
          expect(principal.provider).toBe("api-key")
        }
      }))

    it.effect("without Authorization: the API-key body (contract section 1), with both challenges", () =>
      Effect.gen(function*() {
        const { apiKeyFirst, customFirst } = yield* setUp
        for (const request of [{}, { "x-api-key": "mcp_live_not_a_configured_key_0" }]) {
          expect(yield* answerOf(apiKeyFirst, request)).toStrictEqual({
            status: 401,
            headers: { ...JSON_HEADERS, "www-authenticate": `${API_KEY_CHALLENGE}, ${INVALID_TOKEN_CHALLENGE}` },
            body: Bodies.apiKey
          })
          expect(yield* answerOf(customFirst, request)).toStrictEqual({
            status: 401,
            headers: { ...JSON_HEADERS, "www-authenticate": `${INVALID_TOKEN_CHALLENGE}, ${API_KEY_CHALLENGE}` },
            body: Bodies.apiKey
          })
        }
      }))
  })
})
