/**
 * The example runs as its header says: `node examples/server.mjs` with `MCP_API_KEY` (and
 * `MCP_JWT_SECRET`), and `examples/client.mjs`, a stock SDK v2 client, is told who it is.
 * It imports the built package, so this runs after `tsc -b`, as the test command does.
 */
import { describe, expect, it } from "@effect/vitest"
import { Bodies } from "@mcpgate/testing/contract"
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { SignJWT } from "jose"

const examples = fileURLToPath(new URL("../examples/", import.meta.url))

const start = (env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["server.mjs"], { cwd: examples, env: { ...process.env, ...env, PORT: "0" } })
    let output = ""
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /MCP over .+? on (http\S+)/.exec(output)
      if (match !== null) resolve({ child, url: match[1]! })
    }
    child.stdout.on("data", collect)
    child.stderr.on("data", collect)
    child.on("exit", (code) => reject(new Error(`server.mjs exited with ${code}: ${output}`)))
  })

const client = (env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ["client.mjs"], { cwd: examples, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }))
  })

describe("examples/server.mjs", () => {
  it("serves whoami to a client with the key or a token, and answers a wrong key with the exact 401", async () => {
    const key = randomBytes(24).toString("base64url")
    const secret = randomBytes(32).toString("base64url")
    const { child, url } = await start({ MCP_API_KEY: key, MCP_JWT_SECRET: secret })
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
      const good = await client({ MCP_URL: url, MCP_API_KEY: key })
      expect(good.code).toBe(0)
      expect(good.stdout.startsWith("tools: whoami\n")).toBe(true)
      expect(JSON.parse(good.stdout.slice("tools: whoami\n".length))).toMatchObject({
        token: "",
        clientId: "example-client",
        scopes: ["tools:read"]
      })
      const token = await new SignJWT({ scope: "tools:read" }).setProtectedHeader({ alg: "HS256" }).setSubject("carol")
        .setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode(secret))
      const withToken = await client({ MCP_URL: url, MCP_TOKEN: token })
      expect(withToken.code).toBe(0)
      expect(JSON.parse(withToken.stdout.slice("tools: whoami\n".length))).toMatchObject({ clientId: "carol" })
      const bad = await client({ MCP_URL: url, MCP_API_KEY: "not-the-key-not-the-key" })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain(Bodies.apiKey)
      expect(good.stdout + good.stderr + bad.stdout + bad.stderr).not.toContain(key)
    } finally {
      child.kill()
    }
  }, 20_000)
})
