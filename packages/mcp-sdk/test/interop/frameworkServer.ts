/**
 * mcp-framework's own `MCPServer`, started inside a test's scope with whatever `auth` the
 * test gives it, and what talks to it: the MCP SDK's client, and raw requests on a socket.
 *
 * The server gets a `whoami` tool (registered with `addTool`, mcp-framework's programmatic
 * API) that answers with mcp-framework's `getRequestContext()`, an empty base path of its
 * own (so no tools are loaded from the working directory), a free loopback port, and a name
 * (so it does not read `package.json`). Its log lines, which it writes to stderr itself and
 * not through `console`, are held for the test instead of printed. When the scope closes:
 * clients and streams first, then the server, the `SIGINT`/`SIGTERM` listeners its
 * `start()` adds to the process, the stderr hook and the base path.
 */
import "./frameworkEnv.js"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { UnknownException } from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { getRequestContext, logger, MCPServer, MCPTool } from "mcp-framework"
import type { AuthConfig, TransportConfig } from "mcp-framework"
import { randomUUID } from "node:crypto"
import { mkdtemp, rm } from "node:fs/promises"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { HeaderLines, RawResponse } from "@mcpgate/testing/wire"
import { openGet, send } from "@mcpgate/testing/wire"
import { POST_HEADERS, waitFor } from "../e2e/support.js"

export type Transport = "sse" | "http-stream"

/** The two places mcp-framework takes `auth` from: `transport.options.auth` and `transport.auth`. */
export type AuthPlacement = "transport.options.auth" | "transport.auth"

/** A tool that answers with what mcp-framework's request context holds for the call. */
class Whoami extends MCPTool {
  name = "whoami"
  description = "Answers with mcp-framework's getRequestContext()"
  protected schema = {}

  protected async execute(): Promise<unknown> {
    return { context: getRequestContext() ?? null }
  }
}

export interface FrameworkServer {
  readonly transport: Transport
  /** `http://127.0.0.1:<port>` */
  readonly base: URL
  /** The MCP endpoint: `/sse` or `/mcp`. */
  readonly endpoint: URL
  /** mcp-framework's log lines written while the server ran. */
  readonly log: ReadonlyArray<string>
}

// mcp-framework's Logger: `[<ISO time>] [LEVEL] message`.
const FRAMEWORK_LINE = /^\[\d{4}-\d{2}-\d{2}T[\d:.]+Z\] \[(?:DEBUG|INFO|WARN|ERROR)\] /

/**
 * Holds mcp-framework's lines (they would flood the run's output: several per request) and
 * lets everything else through, until the scope closes.
 */
const holdFrameworkLines = Effect.acquireRelease(
  Effect.sync(() => {
    const lines: Array<string> = []
    const write = process.stderr.write
    process.stderr.write = function(this: NodeJS.WriteStream, chunk: unknown, ...rest: Array<unknown>): boolean {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8")
      if (FRAMEWORK_LINE.test(text)) {
        lines.push(text)
        return true
      }
      return (write as (...args: Array<unknown>) => boolean).call(this, chunk, ...rest)
    } as typeof process.stderr.write
    return { lines, write }
  }),
  ({ write }) =>
    Effect.sync(() => {
      process.stderr.write = write
    })
).pipe(Effect.map(({ lines }) => lines))

/** An empty directory for mcp-framework's `basePath`, removed with the scope. */
const emptyBasePath = Effect.acquireRelease(
  Effect.promise(() => mkdtemp(join(tmpdir(), "mcpgate-mcp-framework-"))),
  (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
)

/**
 * A port free on 127.0.0.1 a moment ago. mcp-framework cannot be given port 0: its
 * http-stream transport reads 0 as unset (8080), and neither transport says which port it got.
 */
const freePort = Effect.promise(() =>
  new Promise<number>((resolve, reject) => {
    const probe = net.createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo
      probe.close(() => resolve(port))
    })
  })
)

const SIGNALS = ["SIGINT", "SIGTERM"] as const

type Listeners = ReadonlyMap<NodeJS.Signals, ReadonlySet<Function>>

const signalListeners = (): Listeners =>
  new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]))

/** Removes the signal listeners added since `before`. */
const removeListenersSince = (before: Listeners): void => {
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener)
    }
  }
}

/**
 * Resolves once `/health` answers with this server's own `nonce`: another process that took
 * the port in the meantime would answer too, and must not be mistaken for it.
 */
const untilServing = async (base: URL, nonce: string): Promise<void> => {
  const deadline = Date.now() + 2000
  for (;;) {
    try {
      const response = await fetch(new URL("/health", base))
      const body = await response.text()
      if (response.ok && body.includes(nonce)) return
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`mcp-framework's server at ${base.href} did not answer /health within 2 s`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/**
 * Runs `server` until the scope closes. Its `start()` resolves only once the server has
 * stopped, so the server counts as started when its public `/health` answers; if it does
 * not (the port was taken meanwhile), the server is stopped again and this fails.
 */
const running = (server: MCPServer, base: URL, nonce: string) =>
  Effect.acquireRelease(
    Effect.tryPromise(async () => {
      const listeners = signalListeners()
      const stopped = server.start()
      try {
        await Promise.race([
          untilServing(base, nonce),
          stopped.then(() => {
            throw new Error("mcp-framework's MCPServer.start() returned before serving")
          })
        ])
      } catch (error) {
        // On a taken port the SSE transport never finishes starting: `stopped` never settles.
        await server.stop().catch(() => undefined)
        removeListenersSince(listeners)
        throw error
      }
      return { stopped, listeners }
    }),
    ({ listeners, stopped }) =>
      Effect.promise(async () => {
        await server.stop()
        await stopped
        removeListenersSince(listeners)
      })
  )

/**
 * mcp-framework's `MCPServer` with `whoami`, on 127.0.0.1, serving `transport` with `auth`
 * given where `placement` says, until the scope closes.
 */
export const serveFramework = (
  transport: Transport,
  auth: AuthConfig,
  placement: AuthPlacement = "transport.options.auth"
): Effect.Effect<FrameworkServer, UnknownException, Scope.Scope> =>
  Effect.gen(function*() {
    const log = yield* holdFrameworkLines
    const basePath = yield* emptyBasePath
    const nonce = randomUUID()
    // A port picked here may be taken before mcp-framework listens on it: then another.
    const base = yield* Effect.retry(
      Effect.gen(function*() {
        const port = yield* freePort
        const options = { port, host: "127.0.0.1", health: { response: { ok: true, server: nonce } } }
        const config: TransportConfig = placement === "transport.options.auth"
          ? { type: transport, options: { ...options, auth } }
          : { type: transport, auth, options }
        const server = new MCPServer({ name: "mcpgate-interop", version: "0.0.0", basePath, transport: config })
        // mcp-framework's own MCPTool does not type-check as its ToolProtocol under this
        // repository's `exactOptionalPropertyTypes` (`toolDefinition.title` is `string | undefined`
        // where the protocol says `title?: string`); at run time it is what `addTool` expects.
        server.addTool(Whoami as unknown as Parameters<MCPServer["addTool"]>[0])
        const base = new URL(`http://127.0.0.1:${port}`)
        yield* running(server, base, nonce)
        return base
      }),
      { times: 2 }
    )
    return { transport, base, endpoint: new URL(transport === "sse" ? "/sse" : "/mcp", base), log }
  })

/** Turns on mcp-framework's debug lines (`MCP_DEBUG_CONSOLE`) until the scope closes. */
export const frameworkDebugLines = Effect.acquireRelease(
  Effect.sync(() => {
    const before = process.env["MCP_DEBUG_CONSOLE"]
    process.env["MCP_DEBUG_CONSOLE"] = "true"
    return before
  }),
  (before) =>
    Effect.sync(() => {
      if (before === undefined) delete process.env["MCP_DEBUG_CONSOLE"]
      else process.env["MCP_DEBUG_CONSOLE"] = before
    })
).pipe(Effect.asVoid)

/** Whether mcp-framework's logger writes log files. */
export const frameworkWritesLogFiles = (): boolean => logger.isFileLoggingEnabled()

// ---------------------------------------------------------------------------------------
// The MCP SDK's client.

/** The MCP SDK's client, connected (initialized) with `headers` on every request; closed with the scope. */
export const connectClient = (server: FrameworkServer, headers: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "mcpgate-interop", version: "1.0.0" })
      const requestInit = { requestInit: { headers } }
      await client.connect(
        server.transport === "sse"
          ? new SSEClientTransport(server.endpoint, requestInit)
          : new StreamableHTTPClientTransport(server.endpoint, requestInit)
      )
      return client
    }),
    (client) => Effect.promise(() => client.close().catch(() => undefined))
  )

/** Calls `whoami` and resolves with the request context it saw. */
export const whoami = (client: Client): Effect.Effect<unknown> =>
  Effect.promise(async () => {
    const result = await client.callTool({ name: "whoami", arguments: {} })
    const content = result.content as ReadonlyArray<{ readonly type: string; readonly text?: string }>
    if (result.isError === true || content[0]?.type !== "text") {
      throw new Error(`whoami failed: ${JSON.stringify(result)}`)
    }
    return (JSON.parse(content[0].text!) as { readonly context: unknown }).context
  })

// ---------------------------------------------------------------------------------------
// Raw requests.

const ENDPOINT_EVENT = /event: endpoint\r?\ndata: ([^\r\n]+)/

/**
 * Opens an SSE stream with `headers` and resolves with the path its `endpoint` event names
 * (`/messages?sessionId=...`), where the session's messages are posted. Closed with the scope.
 */
export const sseSession = (server: FrameworkServer, headers: HeaderLines = []) =>
  Effect.acquireRelease(
    Effect.promise(() => openGet(server.base, "/sse", [["Accept", "text/event-stream"], ...headers])),
    (stream) => Effect.sync(() => stream.close())
  ).pipe(
    Effect.flatMap((stream) =>
      Effect.promise(async () => {
        await waitFor("the SSE endpoint event", () => ENDPOINT_EVENT.test(stream.received()))
        return stream.received().match(ENDPOINT_EVENT)![1]!
      })
    )
  )

/** A JSON-RPC `POST` of `message` to `path` with `headers`, on a fresh connection. */
export const post = (server: FrameworkServer, path: string, headers: HeaderLines, message: string): Effect.Effect<RawResponse> =>
  Effect.promise(() => send(server.base, "POST", path, [...POST_HEADERS, ...headers], message))
