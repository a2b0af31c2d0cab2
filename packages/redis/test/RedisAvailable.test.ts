/**
 * In CI the Redis tests run for real: a Redis that is missing fails the run here, where the
 * other Redis test files would only skip.
 */
import { describe, expect, it } from "@effect/vitest"
import { HAS_REDIS_SERVER, REDIS_REQUIRED, REDIS_URL } from "./fixtures/redis.js"

describe.runIf(REDIS_REQUIRED)("Redis in CI", () => {
  it("REDIS_URL names the shared Redis that .ci/run started", () => {
    expect(REDIS_URL, "REDIS_URL is unset: .ci/run starts a redis-server and sets it").toMatch(/^redis:\/\//)
  })

  it("redis-server is on PATH, for the tests that stop and restart their own", () => {
    expect(HAS_REDIS_SERVER, "redis-server is not on PATH: .ci/run installs Debian's redis-server").toBe(true)
  })
})
