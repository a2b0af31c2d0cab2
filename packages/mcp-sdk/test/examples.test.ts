/**
 * The runnable examples work as their headers say: each server starts from its environment,
 * and `client.mjs`, a stock SDK client, calls `whoami` on it (they import the built package,
 * so this runs after `tsc -b`, as the test command does).
 */
import { describe, expect, it } from "@effect/vitest"
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"
import { SignJWT } from "jose"
import { Bodies } from "@mcpgate/testing/contract"

const examples = fileURLToPath(new URL("../examples/", import.meta.url))

const startExample = (script: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], {
      cwd: examples,
      env: { ...process.env, ...env, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /MCP over .+? on (http\S+)/.exec(output)
      if (match !== null) resolve({ child, url: match[1]! })
    }
    child.stdout!.on("data", collect)
    child.stderr!.on("data", collect)
    child.on("exit", (code) => reject(new Error(`${script} exited with ${code}: ${output}`)))
  })

const runClient = (env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ["client.mjs"], { cwd: examples, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }))
  })

const identityOf = (stdout: string): Record<string, unknown> => {
  expect(stdout.startsWith("tools: whoami\n")).toBe(true)
  return JSON.parse(stdout.slice("tools: whoami\n".length))
}

const withExample = async (
  script: string,
  env: Record<string, string>,
  check: (url: string) => Promise<void>
): Promise<void> => {
  const { child, url } = await startExample(script, env)
  try {
    await check(url)
  } finally {
    child.kill()
  }
}

describe("the examples", () => {
  it("sse-api-key.mjs: a client with a configured key is told who it is; without one it gets the 401", async () => {
    const key = randomBytes(24).toString("base64url")
    await withExample("sse-api-key.mjs", { MCP_API_KEYS: key }, async (url) => {
      expect(url).toMatch(/\/sse$/)
      const good = await runClient({ MCP_URL: url, MCP_API_KEY: key })
      expect(good.code).toBe(0)
      expect(identityOf(good.stdout)).toMatchObject({ provider: "api-key", scopes: [] })
      const bad = await runClient({ MCP_URL: url, MCP_API_KEY: "" })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain("401")
      expect(good.stdout + good.stderr + bad.stdout + bad.stderr).not.toContain(key)
    })
  }, 20_000)

  it("http-stream-jwt.mjs: a client with a signed token is told its subject; a wrong key gets the exact 401", async () => {
    const secret = randomBytes(32).toString("base64url")
    await withExample("http-stream-jwt.mjs", { MCP_JWT_SECRET: secret }, async (url) => {
      expect(url).toMatch(/\/mcp$/)
      const token = await new SignJWT({ scope: "tools:read" })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject("carol")
        .setIssuedAt()
        .setExpirationTime("5m")
        .sign(new TextEncoder().encode(secret))
      const good = await runClient({ MCP_URL: url, MCP_TOKEN: token })
      expect(good.code).toBe(0)
      expect(identityOf(good.stdout)).toMatchObject({ provider: "jwt", subject: "carol", scopes: ["tools:read"] })
      const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("carol").setExpirationTime("5m")
        .sign(new TextEncoder().encode(randomBytes(32).toString("base64url")))
      const bad = await runClient({ MCP_URL: url, MCP_TOKEN: forged })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain(`${Bodies.jwt}`)
    })
  }, 20_000)

  it("existing-sdk-server.mjs: the SDK's own server behind StreamableHttp sees the caller in ctx.http.authInfo", async () => {
    const key = randomBytes(24).toString("base64url")
    await withExample("existing-sdk-server.mjs", { MCP_API_KEYS: key }, async (url) => {
      const good = await runClient({ MCP_URL: url, MCP_API_KEY: key })
      expect(good.code).toBe(0)
      expect(Object.keys(identityOf(good.stdout))).toEqual(["clientId"])
      const bad = await runClient({ MCP_URL: url, MCP_API_KEY: "not-the-configured-key-at-all" })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain(`${Bodies.apiKey}`)
    })
  }, 20_000)

  it("an example started without its key refuses to start and says how to make one", async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["sse-api-key.mjs"], {
        cwd: examples,
        env: { ...process.env, MCP_API_KEYS: "", PORT: "0" },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let stderr = ""
      child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      child.on("exit", (code) => resolve({ code, stderr }))
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("randomBytes(32)")
  }, 20_000)
})
