/**
 * The runtimes a server entry is served on, each a scoped resource: the runtime's host script
 * (`fixtures/hosts/<runtime>.mjs`, which makes the entry's handler with that platform's client
 * address and serves it) bundled with the entry into one file, started on 127.0.0.1 and a port
 * the runtime picks, waited for until it answers, and stopped (the process killed, miniflare
 * disposed) when the scope closes. A runtime that is missing or does not start fails the test
 * that asked for it: nothing here skips.
 */
import { acquire } from "@mcpgate/testing/scoped"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Miniflare } from "miniflare"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { accessSync, constants } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable } from "node:stream"
import type { Target } from "./bundle.js"
import { bundle, repoRoot } from "./bundle.js"

/** A server entry being served. */
export interface Served {
  /** The base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: URL
  /** What the runtime has written to stdout and stderr so far, for failure messages. */
  readonly output: () => string
}

/** A runtime that serves a server entry. */
export interface Runtime {
  /** As the tests name it, e.g. `workerd with nodejs_compat`. */
  readonly name: string
  /** Serves `serverEntry` (a path to its source) until the scope closes. */
  readonly serve: (serverEntry: string) => Effect.Effect<Served, never, Scope.Scope>
}

/** How long a runtime may take from spawn to its first answer; Deno and workerd load a few MB of bundle. */
const START_TIMEOUT_MS = 30_000

const hostScript = (name: string) => `${repoRoot}runtimes/test/fixtures/hosts/${name}.mjs`

const executable = (path: string, what: string): string => {
  try {
    accessSync(path, constants.X_OK)
  } catch {
    throw new Error(`${what} is not installed: no executable ${path} (pnpm install and scripts/test.mjs install it)`)
  }
  return path
}

const rootRequire = createRequire(`${repoRoot}package.json`)

/** A directory of one's own, removed when the scope closes. */
const tempDir = acquire(
  () => mkdtemp(join(tmpdir(), "mcpgate-runtime-")),
  (dir) => rm(dir, { recursive: true, force: true })
)

/** Collects a stream's text. */
const collect = (stream: Readable, into: { text: string }) => stream.on("data", (chunk: Buffer) => (into.text += chunk.toString()))

interface Child {
  readonly process: ChildProcess
  readonly output: () => string
  /** Resolves with the URL the host script prints once it listens; rejects if it exits first or in time. */
  readonly listening: Promise<URL>
  readonly exited: Promise<void>
}

const LISTENING = /mcpgate listening on (http:\/\/127\.0\.0\.1:\d+)/

const spawnHost = (name: string, command: string, args: ReadonlyArray<string>, cwd: string): Child => {
  const child = spawn(command, args, {
    cwd,
    // Only what a runtime needs to find itself: no variable of the shell running the tests.
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: cwd, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const log = { text: "" }
  collect(child.stdout!, log)
  collect(child.stderr!, log)
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()))
  const listening = new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not listen within ${START_TIMEOUT_MS} ms:\n${log.text}`)),
      START_TIMEOUT_MS
    )
    child.stdout!.on("data", () => {
      const match = LISTENING.exec(log.text)
      if (match === null) return
      clearTimeout(timer)
      resolve(new URL(match[1]!))
    })
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(new Error(`${name} could not be started (${command}): ${error.message}`))
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before it listened:\n${log.text}`))
    })
  })
  return { process: child, output: () => log.text, listening, exited }
}

const stopChild = async (child: Child): Promise<void> => {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL")
  await child.exited
}

/** Resolves once `url` answers any HTTP request; rejects after the start timeout. */
const answering = async (url: URL, output: () => string): Promise<void> => {
  const deadline = Date.now() + START_TIMEOUT_MS
  for (;;) {
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).arrayBuffer()
      return
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${url} did not answer: ${String(error)}\n${output()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** A runtime run as a child process: the host script for `target` and the server, bundled into one file. */
const processRuntime = (
  name: string,
  target: Target,
  command: () => { readonly command: string; readonly args: (file: string) => ReadonlyArray<string> }
): Runtime => ({
  name,
  serve: (serverEntry) =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "server.mjs")
      yield* Effect.promise(async () => writeFile(file, await bundle(hostScript(target), target, serverEntry)))
      const { command: binary, args } = command()
      const child = yield* acquire(() => spawnHost(name, binary, args(file), dir), stopChild)
      const url = yield* Effect.promise(() => child.listening)
      yield* Effect.promise(() => answering(url, child.output))
      return { url, output: child.output }
    })
})

/** Node 22 from the npm package `node@22`, installed into the workspace's cache by scripts/test.mjs. */
export const node22: Runtime = processRuntime("Node 22", "node", () => ({
  command: executable(`${repoRoot}node_modules/.cache/node22/node_modules/.bin/node`, "Node 22"),
  args: (file) => [file]
}))

/** Bun from the npm package `bun` (its binary, not the shell shim, so that killing it stops Bun). */
export const bun: Runtime = processRuntime("Bun", "bun", () => ({
  command: executable(join(rootRequire.resolve("bun/package.json"), "..", "bin", "bun.exe"), "Bun"),
  args: (file) => ["run", "--no-install", file]
}))

/** Deno from the npm package `deno` (the binary its own installer names), with network access to loopback only. */
export const deno: Runtime = processRuntime("Deno", "deno", () => ({
  command: executable(rootRequire("deno/install_api.cjs").runInstall() as string, "Deno"),
  args: (file) => ["run", "--no-config", "--no-prompt", "--allow-net=127.0.0.1", file]
}))

/** Any date workerd supports; from 2024-09-23 on, `nodejs_compat` brings the full set of `node:*` modules. */
const COMPATIBILITY_DATE = "2026-07-01"

/** workerd through miniflare, with `nodejs_compat` or without it (Web APIs only). */
export const workerd = (nodejsCompat: boolean): Runtime => ({
  name: nodejsCompat ? "workerd with nodejs_compat" : "workerd without nodejs_compat",
  serve: (serverEntry) =>
    Effect.gen(function*() {
      const script = yield* Effect.promise(() => bundle(hostScript("workerd"), "workerd", serverEntry))
      const log = { text: "" }
      const miniflare = yield* acquire(async () => {
        const mf = new Miniflare({
          // Given as a module list, so that workerd itself resolves the imports (`node:*` included)
          // and its own error, not miniflare's, says what is missing.
          modules: [{ type: "ESModule", path: "server.mjs", contents: script }],
          compatibilityDate: COMPATIBILITY_DATE,
          compatibilityFlags: nodejsCompat ? ["nodejs_compat"] : [],
          host: "127.0.0.1",
          port: 0,
          handleRuntimeStdio: (stdout, stderr) => {
            collect(stdout, log)
            collect(stderr, log)
          }
        })
        try {
          await mf.ready
        } catch (error) {
          // dispose rejects with the same failure; ours names it with workerd's own output.
          await mf.dispose().catch(() => {})
          const message = String(error)
          throw new Error(`workerd did not start: ${message.includes(log.text.trim()) ? message : `${message}\n${log.text}`}`)
        }
        return mf
      }, (mf) => mf.dispose())
      const url = new URL((yield* Effect.promise(() => miniflare.ready)).origin)
      const output = () => log.text
      yield* Effect.promise(() => answering(url, output))
      return { url, output }
    })
})

/** Every server runtime of the shared suite. */
export const all: ReadonlyArray<Runtime> = [node22, bun, deno, workerd(true), workerd(false)]
