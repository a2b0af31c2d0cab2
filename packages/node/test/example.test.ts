/**
 * The runnable example works as its README says: the server starts with a key from the
 * environment, and the example client reaches it with the MCP SDK (it imports the built
 * package, so this runs after `tsc -b`, as the test command does).
 */
import { describe, expect, it } from "@effect/vitest"
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { fileURLToPath } from "node:url"

const examples = fileURLToPath(new URL("../examples/", import.meta.url))

const startServer = (key: string): Promise<{ child: ChildProcess; url: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["server.mjs"], {
      cwd: examples,
      env: { ...process.env, MCP_API_KEY: key, PORT: "0" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const match = /MCP over SSE on (\S+)/.exec(output)
      if (match !== null) resolve({ child, url: match[1]! })
    })
    child.on("exit", (code) => reject(new Error(`example server exited with ${code}: ${output}`)))
  })

const runClient = (env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, ["client.mjs"], { cwd: examples, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr }))
  })

describe("the example server and client", () => {
  it("a client with the key lists the tools and is told who it is; one without is refused with the 401", async () => {
    const key = randomBytes(24).toString("base64url")
    const { child, url } = await startServer(key)
    try {
      const good = await runClient({ MCP_URL: url, MCP_API_KEY: key })
      expect(good.stdout).toBe("tools: whoami\nYou are example-client\n")
      expect(good.code).toBe(0)

      const bad = await runClient({ MCP_URL: url, MCP_API_KEY: "" })
      expect(bad.code).toBe(1)
      expect(bad.stderr).toContain("401")
      // The server never prints the key.
      expect(good.stdout + good.stderr + bad.stdout + bad.stderr).not.toContain(key)
    } finally {
      child.kill()
    }
  }, 20_000)

  it("the server refuses to start without a key and says how to make one", async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ["server.mjs"], {
        cwd: examples,
        env: { ...process.env, MCP_API_KEY: "" },
        stdio: ["ignore", "ignore", "pipe"]
      })
      let stderr = ""
      child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      child.on("exit", (code) => resolve({ code, stderr }))
    })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("Set MCP_API_KEY first")
  }, 20_000)
})
