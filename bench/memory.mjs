// Memory: RSS and heap of an MCP server after 100,000 failed attempts from distinct
// addresses, and after 1,000 open sessions.
//
// Each server under test runs alone in a child process (forked with --expose-gc), so the
// figures are its own: this process's 64 client sockets, 1,000 open streams and bookkeeping
// stay out of them. Asked over IPC, the child waits until only the expected connections are
// open, runs `gc()` and replies with `process.memoryUsage()`.
//
//   1. Failed attempts: real TCP connections, each from its own loopback source address
//      (127.1.0.1, 127.1.0.2, ...; Linux routes all of 127.0.0.0/8 to loopback, and each
//      source address has its own ephemeral ports), each posting one message with a wrong
//      X-API-Key and reading the answer (Connection: close). Memory is read at start, after a
//      warm-up of 1,000 clients (so code and JIT are warm), after 10,000 and after 100,000
//      distinct clients. mcpgate's failed-attempt store is a bounded LRU (10,000 clients by
//      default), so its memory should not grow past 10,000.
//   2. Sessions: after a warm-up of 50, 1,000 SSE streams opened with the right key
//      (`endpoints.sse: true`, so each session is bound to an identity), each initialized
//      (`initialize`, then `notifications/initialized`) and held open. Per session:
//      (with - before) / 1,000. Then the streams are closed and memory is read once more.
//
// Three servers, one after the other: mcpgate's SseServer with an MCP SDK v1 `McpServer`
// (one tool) per session, as its doc example builds it; mcp-framework's SSE transport with
// the same key and McpServer (it keeps no per-client state for failures: the baseline for
// "flat"); and, for sessions only, mcpgate with a bare handler that answers `initialize`
// itself, which shows what mcpgate holds per session apart from the MCP server.
//
//   pnpm build && node --expose-gc bench/memory.mjs     (from any directory; 3-4 minutes on 2 cores)
//   BENCH_QUICK=1 node --expose-gc bench/memory.mjs     (10x fewer clients and sessions, for development)
//
// Progress goes to stderr; the one Markdown section to stdout. The children get
// --expose-gc themselves; the flag on this process only keeps the command uniform.
import { fork } from "node:child_process"
import http from "node:http"
import net from "node:net"
import { fileURLToPath } from "node:url"
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { megabytes, printSection, progress, ratio, table, target } from "./lib.mjs"

const KEY = "mcp_bench_key_5f1c9e2a7b3d"
const WRONG_KEY = "mcp_bench_wrong_0000000000"
const QUICK = process.env.BENCH_QUICK === "1"
const SCALE = QUICK ? 10 : 1
const WARM_UP_CLIENTS = 1_000 / SCALE
const FEW_CLIENTS = 10_000 / SCALE
const MANY_CLIENTS = 100_000 / SCALE
const SESSIONS = 1_000 / SCALE
// Enough to keep both cores busy, few enough not to measure a connection backlog.
const FLOOD_CONCURRENCY = 64
const SESSION_CONCURRENCY = 50
const REQUEST_TIMEOUT_MS = 10_000
const SESSION_WARM_UP = 50 / SCALE
const TRANSPORT_ONLY = "mcpgate, transport only"
// The flood against both servers; sessions on each, and on mcpgate with no MCP server behind them.
const RUNS = [
  { server: "mcpgate", flood: true },
  { server: "mcp-framework", flood: true },
  { server: TRANSPORT_ONLY, flood: false }
]

// ---------------------------------------------------------------------------------------
// The child: one server under test, answering measurement requests over IPC.
// ---------------------------------------------------------------------------------------

// One MCP server per session, as a real server holds: SDK v1, one tool. (A tool without an
// input schema gets `extra` as its only argument.)
const mcpServer = () => {
  const server = new McpServer({ name: "bench", version: "1.0.0" })
  server.registerTool("whoami", { description: "who is calling" }, async (extra) => ({
    content: [{ type: "text", text: extra.authInfo?.clientId ?? "anonymous" }]
  }))
  return server
}

// mcpgate's SSE server with `onSession`, the default limiter made here only so that its
// store's size can be reported.
const startMcpgate = async (onSession) => {
  const { APIKeyAuthProvider } = await import("@mcpgate/auth-core")
  const { RateLimiter } = await import("@mcpgate/http")
  const { SseServer } = await import("@mcpgate/node")
  const limiter = RateLimiter.unsafeMake()
  const running = await SseServer.listen({
    port: 0,
    auth: { provider: new APIKeyAuthProvider({ keys: [KEY] }), endpoints: { sse: true, messages: true } },
    rateLimit: limiter,
    // 1,000 sessions and the warm-up's are held at once: the cap on open streams (1,000 by
    // default) is not what this measures.
    maxStreams: 10_000,
    onSession
  })
  return {
    server: running.server,
    storeSize: () => limiter.fallback.size(),
    sessionCount: () => running.sse.sessionCount(),
    close: () => running.close()
  }
}

// The least a session handler can do: answer `initialize` and hold the stream.
const bareSession = (transport) => {
  transport.onmessage = (message) => {
    if (message.method !== "initialize") return
    const serverInfo = { name: "bench", version: "1.0.0" }
    void transport.send({ jsonrpc: "2.0", id: message.id, result: { protocolVersion: "2024-11-05", capabilities: {}, serverInfo } })
  }
  return transport.start()
}

// Each starts one server on 127.0.0.1 and returns { server, storeSize(), sessionCount(), close() }.
const startServer = {
  mcpgate: () => startMcpgate((transport) => mcpServer().connect(transport)),
  [TRANSPORT_ONLY]: () => startMcpgate(bareSession),
  "mcp-framework": async () => {
    const { APIKeyAuthProvider } = await import("mcp-framework")
    // The SSE transport is not among the package's exports; MCPServer would build it the same way.
    const { SSEServerTransport } = await import(
      new URL("./node_modules/mcp-framework/dist/transports/sse/server.js", import.meta.url).href
    )
    const transport = new SSEServerTransport({
      port: 0,
      auth: { provider: new APIKeyAuthProvider({ keys: [KEY] }), endpoints: { sse: true, messages: true } }
    })
    transport.setServerFactory(mcpServer)
    await transport.start()
    return {
      server: transport._server,
      storeSize: () => undefined,
      sessionCount: () => transport._sessions.size,
      close: () => transport.close()
    }
  }
}

const serveInChild = async (kind) => {
  const running = await startServer[kind]()
  const openConnections = () => new Promise((resolve) => running.server.getConnections((_, count) => resolve(count)))
  const tick = () => new Promise((resolve) => setImmediate(resolve))
  const measure = async ({ expectedConnections }) => {
    // Sockets the clients have closed may still be closing here; they are not what is measured.
    for (let waited = 0; waited < 5_000 && (await openConnections()) > expectedConnections; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // Three times, with turns of the event loop between, so that what one collection freed
    // (and any weak callbacks it queued) is gone by the last.
    for (let i = 0; i < 3; i++) {
      globalThis.gc()
      await tick()
    }
    const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
    return {
      rss,
      heapUsed,
      external,
      arrayBuffers,
      connections: await openConnections(),
      sessions: running.sessionCount(),
      storeSize: running.storeSize()
    }
  }
  let closing = false
  // The parent is gone without asking us to close (it failed): do not outlive it.
  process.on("disconnect", () => closing || process.exit(1))
  process.on("message", async ({ id, command, ...args }) => {
    if (command === "measure") process.send({ id, ...(await measure(args)) })
    if (command === "sessions") process.send({ id, sessions: running.sessionCount() })
    if (command === "close") {
      closing = true
      await running.close()
      process.send({ id })
      // With the IPC channel gone and the server closed, nothing is left: the child exits.
      process.disconnect()
    }
  })
  process.send({ ready: true, port: running.server.address().port })
}

// ---------------------------------------------------------------------------------------
// The parent: clients, and the questions to the child.
// ---------------------------------------------------------------------------------------

/** A child running one server, and a way to ask it things. */
const startChild = async (kind) => {
  // mcp-framework's logger would also write a file, or debug lines, when these are set.
  const env = { ...process.env }
  delete env.MCP_DEBUG_CONSOLE
  delete env.MCP_ENABLE_FILE_LOGGING
  const child = fork(fileURLToPath(import.meta.url), ["--serve", kind], {
    env,
    execArgv: ["--expose-gc"],
    // The servers' own log lines are counted, not shown; the last few are kept for a crash.
    stdio: ["ignore", "pipe", "pipe", "ipc"]
  })
  // mcp-framework writes three lines per failure: counting them must stay cheap, as this
  // process shares the two cores with the server.
  const log = { lines: 0, tail: "" }
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding("utf8")
    stream.on("data", (text) => {
      for (let at = text.indexOf("\n"); at !== -1; at = text.indexOf("\n", at + 1)) log.lines++
      log.tail = (log.tail + text).slice(-2_000)
    })
  }
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })))
  const pending = new Map()
  let nextId = 0
  let onReady
  const ready = new Promise((resolve) => (onReady = resolve))
  child.on("message", (message) => {
    if (message.ready) return onReady(message.port)
    pending.get(message.id)?.(message)
    pending.delete(message.id)
  })
  const failed = exited.then(({ code, signal }) => {
    throw new Error(`${kind} server exited (code ${code}, signal ${signal}):\n${log.tail}`)
  })
  failed.catch(() => {})
  const ask = (command, args = {}) => {
    const id = nextId++
    const answer = new Promise((resolve) => pending.set(id, resolve))
    child.send({ id, command, ...args })
    return Promise.race([answer, failed])
  }
  const port = await Promise.race([ready, failed])
  return { child, port, ask, log, exited }
}

/** The i-th distinct loopback source address: 127.1.0.1, ..., 127.1.0.254, 127.1.1.1, ... */
const sourceAddress = (i) => {
  const host = 1 + (i % 254)
  const rest = Math.floor(i / 254)
  return `127.${1 + Math.floor(rest / 256)}.${rest % 256}.${host}`
}

/**
 * One failed attempt from `localAddress`: a fresh TCP connection carrying one HTTP/1.1 POST
 * with a wrong key, read to the end. Resolves with the status code, or the error's code;
 * never rejects. Written on `net` rather than `http.request` because the client's own CPU
 * is taken from the two cores the server under test runs on.
 */
const failedAttempt = (port, localAddress) =>
  new Promise((resolve) => {
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" })
    const request = [
      "POST /messages HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      `X-API-Key: ${WRONG_KEY}`,
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Connection: close",
      "",
      body
    ].join("\r\n")
    const socket = net.connect({ host: "127.0.0.1", port, localAddress })
    let head = ""
    socket.setEncoding("latin1")
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error("timeout"), { code: "timeout" })))
    socket.on("data", (text) => {
      if (head.length < 12) head += text
    })
    // "HTTP/1.1 401 Unauthorized": the status is characters 9 to 12.
    socket.on("end", () => resolve(/^HTTP\/1\.1 \d{3}/.test(head) ? head.slice(9, 12) : "not HTTP"))
    socket.on("error", (error) => resolve(error.code ?? "error"))
    socket.end(request)
  })

/** Clients number `from` to `to - 1` each fail once; outcomes are tallied into `outcomes`. */
const flood = async (port, from, to, outcomes) => {
  let next = from
  const started = performance.now()
  const worker = async () => {
    while (next < to) {
      const client = next++
      const outcome = await failedAttempt(port, sourceAddress(client))
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1
      if ((client + 1) % 10_000 === 0) progress(`  ${(client + 1).toLocaleString("en")} distinct clients`)
    }
  }
  await Promise.all(Array.from({ length: FLOOD_CONCURRENCY }, worker))
  return (to - from) / ((performance.now() - started) / 1000)
}

/** Reads SSE events off a response; `next()` resolves with the next event. */
const sseEvents = (response) => {
  const events = []
  const waiting = []
  let buffer = ""
  response.setEncoding("utf8")
  response.on("data", (text) => {
    buffer += text
    let end
    while ((end = buffer.indexOf("\n\n")) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = { event: "message", data: "" }
      for (const line of block.split("\n")) {
        if (line.startsWith("event: ")) event.event = line.slice(7)
        if (line.startsWith("data: ")) event.data += line.slice(6)
      }
      // Heartbeat comments carry no data.
      if (event.data === "") continue
      const waiter = waiting.shift()
      if (waiter) waiter.resolve(event)
      else events.push(event)
    }
  })
  const ended = () => waiting.splice(0).forEach((waiter) => waiter.reject(new Error("stream ended")))
  response.on("end", ended)
  response.on("close", ended)
  return {
    next: () =>
      events.length > 0
        ? Promise.resolve(events.shift())
        : new Promise((resolve, reject) => waiting.push({ resolve, reject }))
  }
}

/** Posts one JSON-RPC message on its own connection (no idle keep-alive socket left behind). */
const post = (port, path, message) =>
  new Promise((resolve, reject) => {
    const body = JSON.stringify(message)
    const request = http.request({
      host: "127.0.0.1",
      port,
      method: "POST",
      path,
      agent: false,
      headers: { "x-api-key": KEY, "content-type": "application/json", "content-length": Buffer.byteLength(body), connection: "close" }
    }, (response) => {
      response.resume()
      response.on("end", () => (response.statusCode === 202 ? resolve() : reject(new Error(`POST ${path}: ${response.statusCode}`))))
    })
    request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error(`POST ${path}: timeout`)))
    request.on("error", reject)
    request.end(body)
  })

/** Opens one authenticated SSE session and initializes it; resolves with its open request. */
const openSession = (port) =>
  new Promise((resolve, reject) => {
    const request = http.request({ host: "127.0.0.1", port, path: "/sse", agent: false, headers: { "x-api-key": KEY, accept: "text/event-stream" } })
    request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error("GET /sse: timeout")))
    request.on("error", reject)
    request.on("response", async (response) => {
      try {
        if (response.statusCode !== 200) throw new Error(`GET /sse: ${response.statusCode}`)
        const events = sseEvents(response)
        const endpoint = await events.next()
        if (endpoint.event !== "endpoint") throw new Error(`expected the endpoint event, got ${endpoint.event}`)
        await post(port, endpoint.data, {
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: { protocolVersion: "2024-11-05", capabilities: {}, clientInfo: { name: "bench", version: "1.0.0" } }
        })
        const initialized = JSON.parse((await events.next()).data)
        if (initialized.result === undefined) throw new Error(`initialize failed: ${JSON.stringify(initialized)}`)
        await post(port, endpoint.data, { jsonrpc: "2.0", method: "notifications/initialized" })
        // Held open from here on; a stream that stays open must not time out.
        request.setTimeout(0)
        resolve(request)
      } catch (error) {
        request.destroy()
        reject(error)
      }
    })
    request.end()
  })

const openSessions = async (port, count) => {
  const open = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      next++
      open.push(await openSession(port))
    }
  }
  await Promise.all(Array.from({ length: SESSION_CONCURRENCY }, worker))
  return open
}

const waitUntil = async (condition, what) => {
  for (let waited = 0; waited < 10_000; waited += 50) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`gave up waiting for ${what}`)
}

/** Opens `count` sessions, holds them while `whileOpen` runs, closes them and waits until the server has let go. */
const withSessions = async ({ port, ask, server }, count, whileOpen) => {
  const streams = await openSessions(port, count)
  const result = await whileOpen()
  for (const stream of streams) stream.destroy()
  await waitUntil(async () => (await ask("sessions")).sessions === 0, `${server}'s sessions to close`)
  return result
}

/** The whole protocol against one server (the flood only when `flood`); returns its measurements. */
const measureServer = async ({ server, flood: withFlood }) => {
  progress(`${server}: starting its server in a child process`)
  const child = await startChild(server)
  const { port, ask, log, exited } = child
  const measure = async (label, expectedConnections = 0) => {
    const memory = await ask("measure", { expectedConnections })
    if (memory.connections !== expectedConnections) {
      progress(`${server}: warning: ${memory.connections} connections open at "${label}", expected ${expectedConnections}`)
    }
    progress(`${server}: ${label}: heap ${megabytes(memory.heapUsed)}, RSS ${megabytes(memory.rss)}, ${memory.sessions} sessions`)
    return memory
  }
  const result = { server }

  if (withFlood) {
    const outcomes = {}
    const started = await measure("started")
    await flood(port, 0, WARM_UP_CLIENTS, outcomes)
    const warm = await measure(`after warm-up (${count(WARM_UP_CLIENTS)} clients)`)
    await flood(port, WARM_UP_CLIENTS, FEW_CLIENTS, outcomes)
    const few = await measure(`after ${count(FEW_CLIENTS)} clients`)
    const rate = await flood(port, FEW_CLIENTS, MANY_CLIENTS, outcomes)
    // Not a result: clients and server share two cores with whatever else runs.
    progress(`${server}: ${count(Math.round(rate))} failed attempts a second`)
    const many = await measure(`after ${count(MANY_CLIENTS)} clients`)
    result.flood = { started, warm, few, many, outcomes, logLines: log.lines }
  }

  // A few sessions first, so that code run for the first session is not counted per session.
  progress(`${server}: warm-up of ${SESSION_WARM_UP} sessions, then ${count(SESSIONS)} sessions`)
  await withSessions(child, SESSION_WARM_UP, async () => {})
  const before = await measure("before sessions")
  const open = await withSessions(child, SESSIONS, () => measure(`${count(SESSIONS)} sessions open`, SESSIONS))
  if (open.sessions !== SESSIONS) throw new Error(`${server}: ${open.sessions} sessions open, expected ${SESSIONS}`)
  const closed = await measure("sessions closed")
  result.sessions = { before, open, closed }

  await ask("close")
  // Unref'd: once the child has exited, this timer must not hold this process open.
  const exit = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(undefined), 10_000).unref())])
  if (exit === undefined) {
    child.child.kill()
    throw new Error(`${server}: the server's process did not exit within 10 s of closing`)
  }
  if (exit.code !== 0) throw new Error(`${server}: the server's process exited with code ${exit.code}`)
  progress(`${server}: server closed, its process exited with code 0`)
  return result
}

const count = (n) => n.toLocaleString("en")
const kilobytes = (bytes) => `${(bytes / 1000).toFixed(1)} kB`

const main = async () => {
  progress(`memory bench${QUICK ? " (BENCH_QUICK: 10x fewer clients and sessions)" : ""}`)
  const results = []
  for (const run of RUNS) results.push(await measureServer(run))
  const flooded = results.filter((result) => result.flood !== undefined)

  const floodTable = table(
    ["server", "point", "heap used", "RSS", "external", "failed clients held"],
    flooded.flatMap(({ server, flood: { started, warm, few, many } }) =>
      [
        ["started", started],
        [`${count(WARM_UP_CLIENTS)} clients (warm-up)`, warm],
        [`${count(FEW_CLIENTS)} clients`, few],
        [`${count(MANY_CLIENTS)} clients`, many]
      ].map(([point, memory]) => [
        server,
        point,
        megabytes(memory.heapUsed),
        megabytes(memory.rss),
        megabytes(memory.external),
        memory.storeSize === undefined ? "— (none kept)" : count(memory.storeSize)
      ])
    )
  )
  const growthTable = table(
    ["server", `heap, ${count(MANY_CLIENTS)} / ${count(FEW_CLIENTS)}`, `RSS, ${count(MANY_CLIENTS)} / ${count(FEW_CLIENTS)}`, "answers"],
    flooded.map(({ server, flood: { few, many, outcomes } }) => [
      server,
      ratio(many.heapUsed / few.heapUsed),
      ratio(many.rss / few.rss),
      Object.entries(outcomes).map(([outcome, n]) => `${count(n)} × ${outcome}`).join(", ")
    ])
  )
  const sessionTable = table(
    ["server", "heap before", `heap with ${count(SESSIONS)}`, "heap / session", "RSS before", `RSS with ${count(SESSIONS)}`, "RSS / session", "heap after closing"],
    results.map(({ server, sessions: { before, open, closed } }) => [
      server,
      megabytes(before.heapUsed),
      megabytes(open.heapUsed),
      kilobytes((open.heapUsed - before.heapUsed) / SESSIONS),
      megabytes(before.rss),
      megabytes(open.rss),
      kilobytes((open.rss - before.rss) / SESSIONS),
      megabytes(closed.heapUsed)
    ])
  )

  const ours = results.find((result) => result.server === "mcpgate").flood
  const framework = results.find((result) => result.server === "mcp-framework").flood
  const heapGrowth = ours.many.heapUsed / ours.few.heapUsed
  const rssGrowth = ours.many.rss / ours.few.rss
  const flat = Math.abs(heapGrowth - 1) <= 0.1 && Math.abs(rssGrowth - 1) <= 0.1

  printSection(
    "Memory: RSS and heap after 100,000 failed attempts from distinct addresses and after 1,000 open sessions",
    QUICK ? `_BENCH_QUICK run: ${count(MANY_CLIENTS)} clients and ${count(SESSIONS)} sessions instead of 100,000 and 1,000._` : undefined,
    target(
      "Memory stays flat (within 10%) between 10,000 and 100,000 failed distinct clients.",
      flat,
      `mcpgate heap ${ratio(heapGrowth)}, RSS ${ratio(rssGrowth)} from ${count(FEW_CLIENTS)} to ${count(MANY_CLIENTS)} clients`
    ),
    "Each server runs alone in a child process, measured there after `gc()` with no connection open. Each failed attempt is its own TCP connection from its own loopback address (127.1.0.1, 127.1.0.2, ...) posting to `/messages` with a wrong `X-API-Key`; every client fails once, so none is limited. Both servers require the key on `/sse` and `/messages`; mcpgate runs its default failed-attempt limit, whose store holds at most 10,000 clients (least recently seen evicted).",
    floodTable,
    growthTable,
    `Sessions: ${count(SESSIONS)} SSE streams opened with the right key, each \`initialize\`d and held open. "mcpgate" and "mcp-framework" give each session its own MCP SDK v1 \`McpServer\` with one tool; "${TRANSPORT_ONLY}" answers \`initialize\` from a bare \`onSession\` handler, so its figure is what mcpgate itself holds per session (stream, session, owner, heartbeat timer, HTTP response). Per session = (with − before) / ${count(SESSIONS)}, after a warm-up of ${SESSION_WARM_UP} sessions; "heap after closing" is once every stream has closed.`,
    sessionTable,
    `Log lines the servers wrote during the flood: mcpgate ${count(ours.logLines)} (flood control: 100 a minute, then one line with the count held back), mcp-framework ${count(framework.logLines)}.`
  )
}

if (process.argv[2] === "--serve") {
  await serveInChild(process.argv[3])
} else {
  await main()
}
