/**
 * The examples started the way their READMEs start them, each a scoped resource: the README's
 * command, in the folder it is typed in, with the variables the README names and none of the
 * shell running the tests, in a process group of its own (pnpm, wrangler and Next start
 * processes of their own), the whole group killed when the scope closes. Nothing here skips:
 * a binary that is missing or an example that does not start fails the test that asked for it.
 */
import { acquire } from "@mcpgate/testing/scoped"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ChildProcess } from "node:child_process"
import { execFile, spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { createRequire } from "node:module"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { repoRoot } from "./bundle.js"

const rootRequire = createRequire(`${repoRoot}package.json`)

const executable = (path: string, what: string): string => {
  try {
    accessSync(path, constants.X_OK)
  } catch {
    throw new Error(`${what} is not installed: no executable ${path} (pnpm install and scripts/test.mjs install it)`)
  }
  return path
}

/** The binaries the READMEs name, as the workspace installs them. */
export const Binaries = {
  /** `bun`: the binary of the npm package `bun` (the shell shim in node_modules/.bin runs this). */
  bun: () => executable(join(rootRequire.resolve("bun/package.json"), "..", "bin", "bun.exe"), "Bun"),
  /** `deno`: the binary of the npm package `deno`, where its own installer put it. */
  deno: () => executable(rootRequire("deno/install_api.cjs").runInstall() as string, "Deno"),
  /** Node 22 from the npm package `node@22`: wrangler 4 needs Node 22.12 or later. */
  node22: () => executable(`${repoRoot}node_modules/.cache/node22/node_modules/.bin/node`, "Node 22"),
  /** wrangler's own entry (what `npx wrangler` runs), run with Node 22. */
  wrangler: `${repoRoot}node_modules/wrangler/bin/wrangler.js`,
  /** pnpm, as the READMEs' `pnpm build && pnpm start` finds it: on the PATH. */
  pnpm: "pnpm"
} as const

/** A directory of one's own, removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = acquire(
  () => mkdtemp(join(tmpdir(), "mcpgate-example-")),
  (dir) => rm(dir, { recursive: true, force: true })
)

/** A port nothing listens on now: for the examples that take their port from `PORT` or `--port`. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/**
 * The environment of a command: what finds binaries and a home of its own (`home`, a temp
 * directory), then the example's variables. Nothing of the shell running the tests, so an
 * example works only with what its README names.
 */
export const environment = (home: string, variables: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  HOME: home,
  NO_COLOR: "1",
  ...variables
})

/** A command started in a process group of its own. */
export interface Started {
  /** What it has written to stdout and stderr so far. */
  readonly output: () => string
  /** Resolves with its exit code (null when a signal ended it) once it and its pipes closed. */
  readonly exited: Promise<number | null>
}

interface Group extends Started {
  readonly process: ChildProcess
}

const spawnGroup = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv): Group => {
  // `detached` makes it the leader of a new process group, which the release kills whole.
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
  let log = ""
  const collect = (chunk: Buffer) => (log += chunk.toString())
  child.stdout!.on("data", collect)
  child.stderr!.on("data", collect)
  const exited = new Promise<number | null>((resolve) => {
    child.on("error", (error) => {
      log += `\ncould not start ${command}: ${error.message}`
      resolve(null)
    })
    child.on("close", (code) => resolve(code))
  })
  return { process: child, output: () => log, exited }
}

/** Kills the group (the leader may be gone while a child it started still runs), then waits for the leader. */
const killGroup = async (group: Group): Promise<void> => {
  if (group.process.pid !== undefined) {
    try {
      process.kill(-group.process.pid, "SIGKILL")
    } catch {
      // ESRCH: every process of the group has exited already.
    }
  }
  await group.exited
}

/** Resolves once 127.0.0.1:`port` accepts a connection. */
const accepting = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

/**
 * A server started with `command`, ready once it accepts connections on `port` (probed over
 * TCP, so readiness spends no failed attempt) and, when `line` is given, has printed it.
 * Fails if it exits first or is not ready within `timeoutMs`.
 */
export const server = (
  name: string,
  command: string,
  args: ReadonlyArray<string>,
  options: {
    readonly cwd: string
    readonly env: NodeJS.ProcessEnv
    readonly port: number
    readonly line?: string
    readonly timeoutMs?: number
  }
): Effect.Effect<Started, never, Scope.Scope> =>
  acquire(async () => {
    const group = spawnGroup(command, args, options.cwd, options.env)
    const deadline = Date.now() + (options.timeoutMs ?? 30_000)
    let exited = false
    void group.exited.then(() => (exited = true))
    for (;;) {
      if (exited) {
        await killGroup(group)
        throw new Error(`${name} exited (${group.process.exitCode}) before it served:\n${group.output()}`)
      }
      if ((options.line === undefined || group.output().includes(options.line)) && (await accepting(options.port))) {
        return group
      }
      if (Date.now() > deadline) {
        await killGroup(group)
        throw new Error(`${name} did not serve on port ${options.port} in time:\n${group.output()}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }, killGroup)

/** A command run to its end (a build), killed with its group if the scope closes first or it overruns `timeoutMs`. */
export const completed = (
  name: string,
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd: string; readonly env: NodeJS.ProcessEnv; readonly timeoutMs: number }
): Effect.Effect<{ readonly code: number | null; readonly output: string }, never, Scope.Scope> =>
  acquire(async () => {
    const group = spawnGroup(command, args, options.cwd, options.env)
    const timer = setTimeout(() => void killGroup(group), options.timeoutMs)
    const code = await group.exited
    clearTimeout(timer)
    if (code !== 0) {
      await killGroup(group)
      throw new Error(`${name} failed (${code ?? `killed after ${options.timeoutMs} ms`}):\n${group.output()}`)
    }
    return { group, code, output: group.output() }
  }, ({ group }) => killGroup(group))

/** What a client script printed, and how it ended. */
export interface ClientRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** `node <script>` in `cwd` with `variables` (and a PATH): how the READMEs run their clients. */
export const runClient = (script: string, cwd: string, variables: Record<string, string>): Promise<ClientRun> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [script],
      { cwd, env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...variables }, timeout: 20_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr })
    )
  })
