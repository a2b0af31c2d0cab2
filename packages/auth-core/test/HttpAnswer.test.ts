import { describe, expect, it } from "@effect/vitest"
import { AuthFailure, HttpAnswer } from "@mcpgate/auth-core"
import { Bodies, JSON_HEADERS } from "@mcpgate/testing/contract"

const {
  ClaimMismatch,
  ExpiredCredentials,
  InvalidCredentials,
  KeySourceUnavailable,
  MalformedRequest,
  MissingCredentials,
  NoProviderAccepted,
  PrematureCredentials
} = AuthFailure

const bearer: AuthFailure.ChallengeParams = { scheme: "Bearer", realm: "mcp" }
const apiKey: AuthFailure.ChallengeParams = { scheme: "ApiKey", realm: "mcp", headerName: "X-API-Key" }
const RESOURCE_METADATA = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"

const jwtFailure = (Failure: AuthFailure.SingleFailureClass, reason: AuthFailure.ReasonCode, challenge = bearer) =>
  new Failure({ provider: "jwt", reason, challenge })
const apiKeyFailure = (Failure: AuthFailure.SingleFailureClass, reason: AuthFailure.ReasonCode, challenge = apiKey) =>
  new Failure({ provider: "api-key", reason, challenge })

/** The JSON answer with these extra headers, exactly. */
const answer = (status: number, body: string, extra: Record<string, string> = {}): HttpAnswer.HttpAnswer => ({
  status,
  headers: { ...JSON_HEADERS, ...extra },
  body
})

describe("HttpAnswer", () => {
  describe("the bodies of contract section 1, byte for byte", () => {
    it("API-key provider, any refusal: 401", () => {
      for (const failure of [
        apiKeyFailure(MissingCredentials, "missing"),
        apiKeyFailure(MalformedRequest, "empty_header"),
        apiKeyFailure(MalformedRequest, "duplicate_header"),
        apiKeyFailure(InvalidCredentials, "unknown_key"),
        apiKeyFailure(ExpiredCredentials, "expired")
      ]) {
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(
          answer(401, Bodies.apiKey, { "www-authenticate": "ApiKey realm=\"mcp\", header=\"X-API-Key\"" })
        )
      }
    })

    it("JWT provider, a present but wrong token: 401", () => {
      for (const failure of [
        jwtFailure(InvalidCredentials, "bad_signature"),
        jwtFailure(InvalidCredentials, "malformed_token"),
        jwtFailure(ExpiredCredentials, "expired"),
        jwtFailure(PrematureCredentials, "not_yet_valid"),
        jwtFailure(ClaimMismatch, "issuer_mismatch"),
        jwtFailure(ClaimMismatch, "audience_mismatch"),
        jwtFailure(InvalidCredentials, "alg_not_allowed")
      ]) {
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(
          answer(401, Bodies.jwt, { "www-authenticate": "Bearer realm=\"mcp\", error=\"invalid_token\"" })
        )
      }
    })

    it("too many failed attempts: 429 with Retry-After in whole seconds, at least 1", () => {
      expect(HttpAnswer.tooManyAttempts(30)).toStrictEqual(answer(429, Bodies.rateLimited, { "retry-after": "30" }))
      expect(HttpAnswer.tooManyAttempts(29.01)).toStrictEqual(answer(429, Bodies.rateLimited, { "retry-after": "30" }))
      expect(HttpAnswer.tooManyAttempts(0.2)).toStrictEqual(answer(429, Bodies.rateLimited, { "retry-after": "1" }))
      expect(HttpAnswer.tooManyAttempts(0)).toStrictEqual(answer(429, Bodies.rateLimited, { "retry-after": "1" }))
    })

    it("never puts a figure that is not a number into Retry-After", () => {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        expect(HttpAnswer.tooManyAttempts(bad).headers["retry-after"]).toBe("1")
      }
    })

    it("session bound to another identity: 403", () => {
      expect(HttpAnswer.sessionForbidden).toStrictEqual(answer(403, Bodies.sessionForbidden))
    })

    it("insufficient scope: 403", () => {
      expect(HttpAnswer.insufficientScope(["tools:read"])).toStrictEqual(
        answer(403, Bodies.insufficientScope, {
          "www-authenticate": "Bearer realm=\"mcp\", error=\"insufficient_scope\", scope=\"tools:read\""
        })
      )
    })

    it("Origin not allowed: 403", () => {
      expect(HttpAnswer.originNotAllowed).toStrictEqual(answer(403, Bodies.originNotAllowed))
    })

    it("SSE session not found: 404", () => {
      expect(HttpAnswer.sessionNotFound).toStrictEqual(answer(404, Bodies.sessionNotFound))
    })

    it("SSE body too large: 413", () => {
      expect(HttpAnswer.payloadTooLarge).toStrictEqual(answer(413, Bodies.payloadTooLarge))
    })

    it("SSE body not JSON-RPC: 400", () => {
      expect(HttpAnswer.invalidJsonRpc).toStrictEqual(answer(400, Bodies.invalidJsonRpc))
    })

    it("key source unreachable: 503, with no challenge", () => {
      expect(HttpAnswer.unavailable).toStrictEqual(answer(503, Bodies.unavailable))
    })

    it("path not served: 404", () => {
      expect(HttpAnswer.notFound).toStrictEqual(answer(404, Bodies.notFound))
    })

    it("method not allowed: 405 with Allow", () => {
      expect(HttpAnswer.methodNotAllowed(["GET", "POST"])).toStrictEqual(
        answer(405, Bodies.methodNotAllowed, { allow: "GET, POST" })
      )
      expect(HttpAnswer.methodNotAllowed(["POST"])).toStrictEqual(answer(405, Bodies.methodNotAllowed, { allow: "POST" }))
    })

    it("POST with a Content-Type other than application/json: 415", () => {
      expect(HttpAnswer.unsupportedMediaType).toStrictEqual(answer(415, Bodies.unsupportedMediaType))
    })

    it("GET /health: 200 {\"ok\":true}", () => {
      expect(HttpAnswer.health).toStrictEqual(answer(200, Bodies.health))
    })

    it("writes every error body as error, status, type in that order, with no trailing newline", () => {
      expect(HttpAnswer.errorBody("Not found", 404, "not_found_error")).toBe(
        Bodies.notFound
      )
      for (
        const body of [
          Bodies.apiKey,
          Bodies.jwt,
          Bodies.rateLimited,
          Bodies.sessionForbidden,
          Bodies.insufficientScope,
          Bodies.originNotAllowed,
          Bodies.sessionNotFound,
          Bodies.payloadTooLarge,
          Bodies.invalidJsonRpc,
          Bodies.unavailable,
          Bodies.notFound,
          Bodies.methodNotAllowed,
          Bodies.unsupportedMediaType
        ]
      ) {
        expect(Object.keys(JSON.parse(body))).toEqual(["error", "status", "type"])
        expect(body.endsWith("}")).toBe(true)
      }
    })

    it("sends only lower-case header names", () => {
      const answers = [
        HttpAnswer.fromFailure(apiKeyFailure(MissingCredentials, "missing")),
        HttpAnswer.tooManyAttempts(5),
        HttpAnswer.insufficientScope(["a"]),
        HttpAnswer.methodNotAllowed(["GET"]),
        HttpAnswer.unavailable
      ]
      for (const { headers } of answers) {
        for (const name of Object.keys(headers)) expect(name).toBe(name.toLowerCase())
      }
    })
  })

  describe("the challenges of contract section 2", () => {
    it("JWT, no credentials: Bearer realm with no error code", () => {
      const failure = jwtFailure(MissingCredentials, "missing")
      expect(HttpAnswer.challengeOf(failure)).toBe("Bearer realm=\"mcp\"")
      expect(HttpAnswer.fromFailure(failure)).toStrictEqual(
        answer(401, Bodies.jwt, { "www-authenticate": "Bearer realm=\"mcp\"" })
      )
    })

    it("JWT, a request malformed as HTTP: error=\"invalid_request\"", () => {
      for (const reason of ["empty_header", "duplicate_header", "malformed_header"] as const) {
        const failure = jwtFailure(MalformedRequest, reason)
        expect(HttpAnswer.challengeOf(failure)).toBe("Bearer realm=\"mcp\", error=\"invalid_request\"")
        expect(HttpAnswer.fromFailure(failure)).toStrictEqual(
          answer(401, Bodies.jwt, { "www-authenticate": "Bearer realm=\"mcp\", error=\"invalid_request\"" })
        )
      }
    })

    it("JWT, a present but wrong credential: error=\"invalid_token\" for every other failure", () => {
      for (
        const failure of [
          jwtFailure(InvalidCredentials, "bad_signature"),
          jwtFailure(InvalidCredentials, "token_too_large"),
          jwtFailure(ExpiredCredentials, "expired"),
          jwtFailure(PrematureCredentials, "issued_in_future"),
          jwtFailure(ClaimMismatch, "missing_claim"),
          jwtFailure(KeySourceUnavailable, "key_source_unavailable")
        ]
      ) {
        expect(HttpAnswer.challengeOf(failure)).toBe("Bearer realm=\"mcp\", error=\"invalid_token\"")
      }
    })

    it("adds resource_metadata when protected-resource metadata is configured (RFC 9728)", () => {
      const challenge = { scheme: "Bearer", realm: "mcp", resourceMetadata: RESOURCE_METADATA } as const
      expect(HttpAnswer.challengeOf(jwtFailure(MissingCredentials, "missing", challenge))).toBe(
        `Bearer realm="mcp", resource_metadata="${RESOURCE_METADATA}"`
      )
      expect(HttpAnswer.challengeOf(jwtFailure(MalformedRequest, "malformed_header", challenge))).toBe(
        `Bearer realm="mcp", error="invalid_request", resource_metadata="${RESOURCE_METADATA}"`
      )
      expect(HttpAnswer.fromFailure(jwtFailure(InvalidCredentials, "bad_signature", challenge))).toStrictEqual(
        answer(401, Bodies.jwt, {
          "www-authenticate": `Bearer realm="mcp", error="invalid_token", resource_metadata="${RESOURCE_METADATA}"`
        })
      )
    })

    it("insufficient_scope lists every required scope, with the realm and resource_metadata", () => {
      expect(HttpAnswer.insufficientScope(["tools:read", "tools:write", "admin"]).headers["www-authenticate"]).toBe(
        "Bearer realm=\"mcp\", error=\"insufficient_scope\", scope=\"tools:read tools:write admin\""
      )
      expect(
        HttpAnswer.insufficientScope(["tools:write"], { realm: "prod", resourceMetadata: RESOURCE_METADATA })
      ).toStrictEqual(
        answer(403, Bodies.insufficientScope, {
          "www-authenticate":
            `Bearer realm="prod", error="insufficient_scope", scope="tools:write", resource_metadata="${RESOURCE_METADATA}"`
        })
      )
    })

    it("API key: ApiKey realm and the header name, whatever the failure", () => {
      const custom = { scheme: "ApiKey", realm: "mcp", headerName: "X-Team-Key" } as const
      for (
        const failure of [
          apiKeyFailure(MissingCredentials, "missing", custom),
          apiKeyFailure(MalformedRequest, "duplicate_header", custom),
          apiKeyFailure(InvalidCredentials, "unknown_key", custom),
          apiKeyFailure(ExpiredCredentials, "expired", custom)
        ]
      ) {
        expect(HttpAnswer.challengeOf(failure)).toBe("ApiKey realm=\"mcp\", header=\"X-Team-Key\"")
      }
    })

    it("takes a configured realm", () => {
      expect(HttpAnswer.challengeOf(jwtFailure(MissingCredentials, "missing", { scheme: "Bearer", realm: "tools" })))
        .toBe("Bearer realm=\"tools\"")
      expect(
        HttpAnswer.challengeOf(
          apiKeyFailure(MissingCredentials, "missing", { scheme: "ApiKey", realm: "tools", headerName: "X-API-Key" })
        )
      ).toBe("ApiKey realm=\"tools\", header=\"X-API-Key\"")
    })

    it("escapes \" and \\ in quoted values (RFC 9110 5.6.4)", () => {
      expect(HttpAnswer.quote("plain")).toBe("\"plain\"")
      expect(HttpAnswer.quote("say \"hi\"")).toBe("\"say \\\"hi\\\"\"")
      expect(HttpAnswer.quote("back\\slash")).toBe("\"back\\\\slash\"")
      expect(HttpAnswer.quote("\\\"")).toBe("\"\\\\\\\"\"")
      const realm = "my \"team\" \\ realm"
      expect(HttpAnswer.challengeOf(jwtFailure(MissingCredentials, "missing", { scheme: "Bearer", realm }))).toBe(
        "Bearer realm=\"my \\\"team\\\" \\\\ realm\""
      )
      expect(
        HttpAnswer.challengeOf(apiKeyFailure(MissingCredentials, "missing", { scheme: "ApiKey", realm, headerName: "X-API-Key" }))
      ).toBe("ApiKey realm=\"my \\\"team\\\" \\\\ realm\", header=\"X-API-Key\"")
      expect(HttpAnswer.insufficientScope(["a"], { realm }).headers["www-authenticate"]).toBe(
        "Bearer realm=\"my \\\"team\\\" \\\\ realm\", error=\"insufficient_scope\", scope=\"a\""
      )
    })

    it("names the server's scopes in every Bearer 401 challenge, never offline_access, and none in an ApiKey one", () => {
      const scope = ["mcp", "offline_access", "files:read"]
      const options = { resourceMetadata: RESOURCE_METADATA, scope }
      expect(HttpAnswer.fromFailure(jwtFailure(MissingCredentials, "missing"), options).headers["www-authenticate"]).toBe(
        `Bearer realm="mcp", scope="mcp files:read", resource_metadata="${RESOURCE_METADATA}"`
      )
      expect(HttpAnswer.fromFailure(jwtFailure(InvalidCredentials, "bad_signature"), options).headers["www-authenticate"]).toBe(
        `Bearer realm="mcp", error="invalid_token", scope="mcp files:read", resource_metadata="${RESOURCE_METADATA}"`
      )
      expect(HttpAnswer.fromFailure(apiKeyFailure(MissingCredentials, "missing"), options).headers["www-authenticate"]).toBe(
        `ApiKey realm="mcp", header="X-API-Key"`
      )
      // Nothing left to name: no scope parameter at all.
      expect(HttpAnswer.fromFailure(jwtFailure(MissingCredentials, "missing"), { scope: ["offline_access"] }).headers["www-authenticate"])
        .toBe(`Bearer realm="mcp"`)
      expect(HttpAnswer.insufficientScope(["offline_access", "a"]).headers["www-authenticate"]).toBe(
        `Bearer realm="mcp", error="insufficient_scope", scope="a"`
      )
    })

    it("answers 503 without a challenge when the key source is unavailable", () => {
      expect(HttpAnswer.fromFailure(jwtFailure(KeySourceUnavailable, "key_source_unavailable"))).toStrictEqual(
        answer(503, Bodies.unavailable)
      )
    })
  })

  describe("several providers refused (NoProviderAccepted)", () => {
    const apiKeyMissing = apiKeyFailure(MissingCredentials, "missing")
    const jwtInvalid = jwtFailure(InvalidCredentials, "bad_signature")

    it("answers the primary's body and carries every challenge, comma-separated, in order", () => {
      expect(
        HttpAnswer.fromFailure(new NoProviderAccepted({ primary: apiKeyMissing, failures: [apiKeyMissing, jwtInvalid] }))
      ).toStrictEqual(
        answer(401, Bodies.apiKey, {
          "www-authenticate": "ApiKey realm=\"mcp\", header=\"X-API-Key\", Bearer realm=\"mcp\", error=\"invalid_token\""
        })
      )
      expect(
        HttpAnswer.fromFailure(new NoProviderAccepted({ primary: jwtInvalid, failures: [jwtInvalid, apiKeyMissing] }))
      ).toStrictEqual(
        answer(401, Bodies.jwt, {
          "www-authenticate": "Bearer realm=\"mcp\", error=\"invalid_token\", ApiKey realm=\"mcp\", header=\"X-API-Key\""
        })
      )
    })

    it("answers 503 when the primary failure is an unavailable key source", () => {
      const unavailable = jwtFailure(KeySourceUnavailable, "key_source_unavailable")
      expect(
        HttpAnswer.fromFailure(new NoProviderAccepted({ primary: unavailable, failures: [apiKeyMissing, unavailable] }))
      ).toStrictEqual(answer(503, Bodies.unavailable))
      expect(AuthFailure.isUnavailable(new NoProviderAccepted({ primary: unavailable, failures: [unavailable] }))).toBe(
        true
      )
    })

    it("names the primary and all failures through primaryOf and failuresOf", () => {
      const both = new NoProviderAccepted({ primary: jwtInvalid, failures: [apiKeyMissing, jwtInvalid] })
      expect(AuthFailure.primaryOf(both)).toBe(jwtInvalid)
      expect(AuthFailure.failuresOf(both)).toEqual([apiKeyMissing, jwtInvalid])
      expect(AuthFailure.primaryOf(apiKeyMissing)).toBe(apiKeyMissing)
      expect(AuthFailure.failuresOf(apiKeyMissing)).toEqual([apiKeyMissing])
      expect(AuthFailure.isUnavailable(both)).toBe(false)
    })
  })

  it("never puts the reason or the key label in the answer", () => {
    const failure = new InvalidCredentials({
      provider: "api-key",
      reason: "unknown_key",
      challenge: apiKey,
      keyLabel: "deploy-bot"
    })
    const sent = HttpAnswer.fromFailure(failure)
    const wire = JSON.stringify(sent)
    expect(wire).not.toContain("unknown_key")
    expect(wire).not.toContain("deploy-bot")
  })
})
