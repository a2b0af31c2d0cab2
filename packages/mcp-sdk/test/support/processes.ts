/**
 * The example scripts as child processes, run as the README says: from the repository root,
 * against the built package (`tsc -b` first). Every child is a scoped resource: killed when
 * the test's scope closes if it still runs, whatever the test did.
 */
import { acquire } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ChildProcess } from "node:child_process"
import { execFile, spawn, spawnSync } from "node:child_process"
import * as net from "node:net"
import { fileURLToPath } from "node:url"

/** The repository root: where `pnpm demo` runs `node packages/mcp-sdk/examples/demo.mjs`. */
export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))

export const DEMO = "packages/mcp-sdk/examples/demo.mjs"
export const CLIENT = "packages/mcp-sdk/examples/client.mjs"

/** How a child ended. */
export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running script and everything it has written so far. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves once stdout matches `pattern`; rejects if the child exits first or after `timeoutMs`. */
  readonly waitFor: (pattern: RegExp, timeoutMs?: number) => Promise<RegExpExecArray>
  readonly exited: Promise<Exited>
}

/** Kills `child` unless it has ended. */
const kill = (child: ChildProcess): void => {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
}

/**
 * The environment of a child: this process's, minus every variable the demo reads, plus
 * `env`, so that a variable set in the shell running the tests cannot change what they see.
 */
const childEnv = (env: Record<string, string>): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    // REDIS_URL too: a demo shares failure counts only where a test asks for it.
    if (!/^(PORT|HOST|MCP_.*|REDIS_URL)$/.test(name)) base[name] = value
  }
  return { ...base, ...env }
}

/** Starts `script` (a path from the repository root) with `env`; killed when the scope closes. */
export const run = (script: string, env: Record<string, string>) =>
  acquire(() => running(script, env), ({ child }) => kill(child))

const running = (script: string, env: Record<string, string>): Running => {
  const child = spawn(process.execPath, [script], {
    cwd: repoRoot,
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  const listeners = new Set<() => void>()
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
    for (const listener of listeners) listener()
  })
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<Exited>((resolve) => {
    // `close`, not `exit`: by then every byte the child wrote has been read.
    child.on("close", (code, signal) => resolve({ code, signal }))
  })
  const waitFor = (pattern: RegExp, timeoutMs = 10_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(stdout)
        if (match === null) return
        done()
        resolve(match)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`${script}: no ${pattern} within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        listeners.delete(check)
      }
      listeners.add(check)
      void exited.then(({ code, signal }) => {
        if (!listeners.has(check)) return
        done()
        reject(new Error(`${script} exited (${code ?? signal}) before ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`))
      })
      check()
    })
  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, exited }
}

/** Runs `script` to its end; killed if the scope closes first. */
export const runToEnd = (
  script: string,
  env: Record<string, string>,
  timeoutMs = 15_000
): Effect.Effect<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }, never, Scope.Scope> =>
  acquire(
    () => {
      let child: ChildProcess | undefined
      const ended = new Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>((resolve) => {
        child = execFile(process.execPath, [script], { cwd: repoRoot, env: childEnv(env), timeout: timeoutMs }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }))
      })
      return { child: child!, ended }
    },
    ({ child }) => kill(child)
  ).pipe(Effect.flatMap(({ ended }) => Effect.promise(() => ended)))

/** A port that was free a moment ago (the demo refuses `PORT=0`). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Whether `redis-server` is on PATH (`.ci/run` installs it). */
export const HAS_REDIS_SERVER: boolean = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0

/** A private `redis-server` on `port`, killed when the scope closes; `url` resolves once it accepts connections. */
export const startRedis = (port: number) => acquire(() => redisServer(port), ({ stop }) => stop())

const redisServer = (port: number): { readonly url: Promise<string>; readonly stop: () => void } => {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: ["ignore", "pipe", "ignore"]
  })
  const url = new Promise<string>((resolve, reject) => {
    let output = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) resolve(`redis://127.0.0.1:${port}`)
    })
    child.once("exit", () => reject(new Error(`redis-server exited before it was ready:\n${output}`)))
  })
  return { url, stop: () => kill(child) }
}
