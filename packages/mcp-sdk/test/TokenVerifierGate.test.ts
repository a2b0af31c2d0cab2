/**
 * `TokenVerifier` goes through the gate like every other adapter: its refusals are counted
 * and logged (never with the token), and a token in a form no provider reads is refused
 * before any verification. It keeps no failed-attempt budget: the SDK gives a verifier the
 * token alone, not the client's address.
 */
import { describe, expect, it } from "@effect/vitest"
import { AuthMetrics } from "@mcpgate/http"
import { APIKeyAuthProvider, TokenVerifier } from "@mcpgate/mcp-sdk"
import * as Effect from "effect/Effect"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"

const KEY = "mcp_sdk_gate_7a1c2e9f4b03"

const unknownKeys = () =>
  Effect.runPromise(
    Metric.value(Metric.tagged(Metric.tagged(AuthMetrics.failures, "provider", "api-key"), "reason", "unknown_key"))
  ).then((state) => state.count)

describe("TokenVerifier through the gate", () => {
  it("counts and logs a refused token, without the token", async () => {
    const lines: Array<string> = []
    const logger = Logger.make(({ annotations, message }) => {
      lines.push(`${JSON.stringify(message)} ${JSON.stringify(Object.fromEntries(annotations))}`)
    })
    const verifier = TokenVerifier.unsafeMake(new APIKeyAuthProvider({ keys: [KEY] }), { sdk: "v2", logger })
    const before = await unknownKeys()
    const guess = "a-guessed-key-0123456789"
    await expect(verifier.verifyAccessToken(guess)).rejects.toThrow("Invalid token")
    expect(await unknownKeys()).toBe(before + 1)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("authentication failed")
    expect(lines[0]).toContain("unknown_key")
    expect(lines[0]).not.toContain(guess)
  })

  it("keeps no failed-attempt budget: the right token gets in after any number of guesses", async () => {
    const verifier = TokenVerifier.unsafeMake(new APIKeyAuthProvider({ keys: [{ key: KEY, label: "gate" }] }), {
      sdk: "v2",
      logger: Logger.none
    })
    for (let attempt = 0; attempt < 30; attempt++) {
      await expect(verifier.verifyAccessToken(`a-guessed-key-${attempt}-0123456789`)).rejects.toThrow("Invalid token")
    }
    expect((await verifier.verifyAccessToken(KEY)).clientId).toBe("gate")
  })
})
