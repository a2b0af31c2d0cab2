/**
 * Every example runs as its README says (issue 17, "Examples that run"): started with the
 * README's command, in the folder it is typed in, with the variables it names and a free port,
 * then asked without a key (mcpgate's exact 401), and through the README's own client (a stock
 * SDK v2 client) with the key, reaching `whoami`, and with a wrong key, shown the 401 body.
 * Each example is started once for all of its checks. The examples import the built packages,
 * as their users do, so this runs after `tsc -b`, as the test command does. The Express
 * example has its own test (packages/express/test/example.test.ts).
 */
import { describe, expect, layer } from "@effect/vitest"
import { Answer, apiKey401, Bodies } from "@mcpgate/testing/contract"
import { acquire, inScope, onClose } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"
import type { HeaderLines } from "@mcpgate/testing/wire"
import { send } from "@mcpgate/testing/wire"
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { readFile, rm, symlink, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { expectSameAnswer } from "./support/answers.js"
import { repoRoot } from "./support/bundle.js"
import { Binaries, completed, environment, freePort, runClient, server, tempDir } from "./support/examples.js"

const MCP_SDK = `${repoRoot}packages/mcp-sdk`
const HONO = `${repoRoot}packages/hono`
const NEXTJS = `${repoRoot}examples/nextjs`

/** The key every example is given; it has no label, so tools name it by its fingerprint. */
const KEY = "mcp_example_key_5b2e8d1f0a7c94"
/** Written by hand: the first 16 hex digits of the key's SHA-256 (docs/behaviour.md#keys-and-tokens). */
const FINGERPRINT = "ffdab7ea61cffc16"
/** What `whoami` answers in the Fetch-handler examples and Next.js: `getPrincipal(ctx)` as JSON. */
const PRINCIPAL = {
  provider: "api-key",
  subject: FINGERPRINT.slice(0, 8),
  clientId: FINGERPRINT.slice(0, 8),
  identity: `api-key:${FINGERPRINT}`,
  scopes: []
}
const WRONG_KEY = "mcp_example_key_not_the_right_one"

const LIST_TOOLS = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" })
const POST: HeaderLines = [["Content-Type", "application/json"], ["Accept", "application/json, text/event-stream"]]

/** An example being served, and how its README runs its client. */
interface Running {
  /** The MCP endpoint. */
  readonly endpoint: URL
  /** The server's output so far (for failure messages, and to show no key is printed). */
  readonly output: () => string
  /** The client script as the README names it, and the folder it is run in. */
  readonly client: { readonly script: string; readonly cwd: string }
}

/** The example, or how it failed to start: each check then fails with that failure, counted as one. */
class Example extends Context.Tag("runtimes/Example")<Example, Exit.Exit<Running>>() {}

/**
 * The checks every example passes. `whoami` is what its tool answers for the key; `tools` the
 * client's first line; `exact` whether the 401 is compared whole (a framework may add headers of
 * its own: Next.js sends its `Vary`).
 */
const exampleSuite = (
  name: string,
  start: Effect.Effect<Running, never, Scope.Scope>,
  expected: { readonly tools: string; readonly whoami: unknown; readonly exact: boolean },
  more?: (check: (name: string, body: (running: Running, use: Use) => Promise<void>) => void) => void
): void =>
  layer(Layer.scoped(Example, Effect.exit(start)), { timeout: "240 seconds", excludeTestServices: true })(name, (it) => {
    const check = (name: string, body: (running: Running, use: Use) => Promise<void>) =>
      it.scoped(name, () => Effect.flatMap(Example, Effect.flatMap((running) => inScope((use) => body(running, use)))), 30_000)

    check("answers a request without a key with mcpgate's exact 401", async ({ endpoint }) => {
      const response = await send(endpoint, "POST", endpoint.pathname, POST, LIST_TOOLS)
      if (expected.exact) {
        expectSameAnswer(response, Answer.apiKey())
      } else {
        const { status, headers, body } = apiKey401()
        expect(response.status).toBe(status)
        expect(Object.fromEntries(Object.keys(headers).map((header) => [header, response.header(header)]))).toEqual(headers)
        expect(response.body).toBe(body)
      }
    })

    check("lets the README's client, with the key, list the tools and call whoami", async ({ client, endpoint }) => {
      const run = await runClient(client.script, client.cwd, { MCP_URL: endpoint.href, MCP_API_KEY: KEY })
      expect(run, run.stderr).toMatchObject({ code: 0, stderr: "" })
      const [tools, answer, ...rest] = run.stdout.split("\n")
      expect(tools).toBe(expected.tools)
      expect(typeof expected.whoami === "string" ? answer : JSON.parse(answer!)).toEqual(expected.whoami)
      expect(rest.join("")).toBe("")
    })

    check("shows the README's client with a wrong key the 401 body, and prints no key anywhere", async (running) => {
      const run = await runClient(running.client.script, running.client.cwd, {
        MCP_URL: running.endpoint.href,
        MCP_API_KEY: WRONG_KEY
      })
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(Bodies.apiKey)
      expect(running.output()).not.toContain(KEY)
      expect(running.output()).not.toContain(WRONG_KEY)
      expect(running.output()).not.toMatch(/unhandled|uncaught/i)
    })

    more?.(check)
  })

/** Bun and Deno, for the Fetch-handler examples: `<runtime> <args> examples/fetch-<runtime>.ts` in packages/mcp-sdk. */
const fetchExample = (runtime: "bun" | "deno", args: ReadonlyArray<string>): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.gen(function*() {
    const home = yield* tempDir
    const port = yield* Effect.promise(freePort)
    const endpoint = new URL(`http://127.0.0.1:${port}/mcp`)
    const started = yield* server(`examples/fetch-${runtime}.ts`, Binaries[runtime](), [...args, `examples/fetch-${runtime}.ts`], {
      cwd: MCP_SDK,
      env: environment(home, { MCP_API_KEY: KEY, PORT: String(port), DENO_NO_UPDATE_CHECK: "1" }),
      port,
      // What the example prints once it listens: the URL the README's client is pointed at.
      line: `MCP over Streamable HTTP on ${endpoint.href}`
    })
    return { endpoint, output: started.output, client: { script: "examples/client.mjs", cwd: MCP_SDK } }
  })

/** The Hono app, `bun run examples/app.ts` (PORT) or `deno serve ... --port` in packages/hono. */
const honoExample = (runtime: "bun" | "deno"): Effect.Effect<Running, never, Scope.Scope> =>
  Effect.gen(function*() {
    const home = yield* tempDir
    const port = yield* Effect.promise(freePort)
    const args = runtime === "bun"
      ? ["run", "examples/app.ts"]
      : ["serve", "-A", "--host", "127.0.0.1", "--port", String(port), "examples/app.ts"]
    const started = yield* server(`examples/app.ts on ${runtime}`, Binaries[runtime](), args, {
      cwd: HONO,
      env: environment(home, { MCP_API_KEY: KEY, ...(runtime === "bun" ? { PORT: String(port) } : { DENO_NO_UPDATE_CHECK: "1" }) }),
      port
    })
    return {
      endpoint: new URL(`http://127.0.0.1:${port}/mcp`),
      output: started.output,
      client: { script: "../mcp-sdk/examples/client.mjs", cwd: HONO }
    }
  })

/**
 * The Worker, `wrangler dev --config examples/wrangler.toml` with the key in `.dev.vars`. wrangler
 * reads `.dev.vars` from beside the config and writes its state (`.wrangler/`) there, so both live
 * in a temp directory that links to the example's own `wrangler.toml` and `fetch-worker.ts`:
 * wrangler bundles the linked files from where they really are, resolving their imports from
 * packages/mcp-sdk, and nothing, the key least of all, is written into the tree.
 */
const workerExample: Effect.Effect<Running, never, Scope.Scope> = Effect.gen(function*() {
  const dir = yield* tempDir
  yield* Effect.promise(async () => {
    await symlink(`${MCP_SDK}/examples/wrangler.toml`, join(dir, "wrangler.toml"))
    await symlink(`${MCP_SDK}/examples/fetch-worker.ts`, join(dir, "fetch-worker.ts"))
    await writeFile(join(dir, ".dev.vars"), `MCP_API_KEY=${KEY}\n`, { mode: 0o600 })
  })
  const port = yield* Effect.promise(freePort)
  const started = yield* server(
    "wrangler dev",
    Binaries.node22(),
    [Binaries.wrangler, "dev", "--config", join(dir, "wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port)],
    { cwd: dir, env: environment(dir, { WRANGLER_SEND_METRICS: "false" }), port, line: "Ready on", timeoutMs: 60_000 }
  )
  return {
    endpoint: new URL(`http://127.0.0.1:${port}/mcp`),
    output: started.output,
    client: { script: "examples/client.mjs", cwd: MCP_SDK }
  }
})

/**
 * The Next.js app, `pnpm build && pnpm start` in examples/nextjs with `MCP_API_KEYS` set (and
 * `PORT`, which `next start` reads). Next builds into the app's folder (`.next/`, `next-env.d.ts`,
 * `cache/`): all of it is removed when the scope closes, whether the build passed or not.
 */
const nextExample: Effect.Effect<Running, never, Scope.Scope> = Effect.gen(function*() {
  const home = yield* tempDir
  yield* onClose(() =>
    // `cache/` is where Next keeps its telemetry settings when it believes it runs in a container or CI.
    Promise.all([".next", "next-env.d.ts", "cache"].map((output) => rm(join(NEXTJS, output), { recursive: true, force: true })))
  )
  const variables = { MCP_API_KEYS: KEY, NEXT_TELEMETRY_DISABLED: "1" }
  yield* completed("pnpm build", Binaries.pnpm, ["build"], { cwd: NEXTJS, env: environment(home, variables), timeoutMs: 150_000 })
  const port = yield* Effect.promise(freePort)
  const started = yield* server("pnpm start", Binaries.pnpm, ["start"], {
    cwd: NEXTJS,
    env: environment(home, { ...variables, PORT: String(port) }),
    port,
    line: "Ready in"
  })
  return {
    endpoint: new URL(`http://127.0.0.1:${port}/api/mcp`),
    output: started.output,
    client: { script: "../../packages/mcp-sdk/examples/client.mjs", cwd: NEXTJS }
  }
})

describe("the examples, run as their READMEs say", () => {
  const fetchHandler = { tools: "tools: whoami", whoami: PRINCIPAL, exact: true }
  exampleSuite("packages/mcp-sdk/examples/fetch-bun.ts: bun run", fetchExample("bun", ["run"]), fetchHandler)
  exampleSuite("packages/mcp-sdk/examples/fetch-deno.ts: deno run -A", fetchExample("deno", ["run", "-A"]), fetchHandler)

  // The Hono example's whoami answers the caller's clientId as text.
  const hono = { tools: "tools: whoami", whoami: FINGERPRINT.slice(0, 8), exact: true }
  exampleSuite("packages/hono/examples/app.ts: bun run", honoExample("bun"), hono)
  exampleSuite("packages/hono/examples/app.ts: deno serve", honoExample("deno"), hono)

  exampleSuite(
    "packages/mcp-sdk/examples/fetch-worker.ts: wrangler dev, without nodejs_compat",
    workerExample,
    fetchHandler,
    (check) =>
      check("is configured with no compatibility flag: the Worker has the Web APIs only", async () => {
        const toml = await readFile(`${MCP_SDK}/examples/wrangler.toml`, "utf8")
        expect(toml).not.toMatch(/^\s*compatibility_flags/m)
      })
  )

  exampleSuite(
    "examples/nextjs: pnpm build && pnpm start",
    nextExample,
    { tools: "tools: whoami, echo", whoami: PRINCIPAL, exact: false },
    (check) =>
      check("serves echo, with who asked, to an SDK v2 client with the key", async ({ endpoint }, use) => {
        const client = await use(acquire(async () => {
          const client = new Client({ name: "mcpgate-examples", version: "1.0.0" })
          await client.connect(new StreamableHTTPClientTransport(endpoint, { requestInit: { headers: { "X-API-Key": KEY } } }))
          return client
        }, (client) => client.close()))
        const result = await client.callTool({ name: "echo", arguments: { message: "hello" } })
        expect(result.content).toEqual([{ type: "text", text: `${FINGERPRINT.slice(0, 8)}: hello` }])
      })
  )
})
