/**
 * DPoP (RFC 9449) through the Hono middleware: the Fetch request's own URL is what a proof's
 * `htu` names (docs/behaviour.md#dpop), and the answers are the contract's.
 */
import { describe, expect, it } from "@effect/vitest"
import { JWTAuthProvider } from "@mcpgate/auth-core"
import { mcpAuth } from "@mcpgate/hono"
import type { McpAuthVariables } from "@mcpgate/hono"
import { Bodies, Challenge } from "@mcpgate/testing/contract"
import { dpopKey } from "@mcpgate/testing/dpop"
import * as Effect from "effect/Effect"
import { Hono } from "hono"
import { exportJWK, generateKeyPair, SignJWT } from "jose"

describe("mcpAuth with DPoP", () => {
  it.live("serves a bound token with a proof of the request's URL, and refuses the same proof again", () =>
    Effect.promise(async () => {
      const issuer = await generateKeyPair("ES256", { extractable: true })
      const key = await dpopKey("EdDSA")
      const token = await new SignJWT({ sub: "alice", cnf: { jkt: key.thumbprint } })
        .setProtectedHeader({ alg: "ES256" }).setIssuedAt().setExpirationTime("5m").sign(issuer.privateKey)
      const provider = new JWTAuthProvider({ publicKey: await exportJWK(issuer.publicKey), algorithms: ["ES256"], dpop: {} })
      const app = new Hono<{ Variables: McpAuthVariables }>()
      app.use("/mcp", mcpAuth({ provider, rateLimit: false }))
      app.post("/mcp", (c) => c.json({ subject: c.get("auth")?.extra?.["subject"] ?? c.get("auth")?.clientId }))

      const proof = await key.proof("POST", "http://localhost/mcp", { accessToken: token })
      const headers = { authorization: `DPoP ${token}`, dpop: proof }
      const served = await app.request("/mcp", { method: "POST", headers })
      expect(served.status).toBe(200)
      const replayed = await app.request("/mcp", { method: "POST", headers })
      expect({ status: replayed.status, challenge: replayed.headers.get("www-authenticate"), body: await replayed.text() })
        .toStrictEqual({ status: 401, challenge: Challenge.dpop.invalidProof, body: Bodies.jwt })
      await provider.dispose()
    }))
})
