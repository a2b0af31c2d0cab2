// The Fetch handler (issue 17) over HTTP on loopback, per runtime (Node, Bun, Deno), with
// autocannon in this process as the load generator. Side by side in one run, every request a
// stateless 2026-07-28 `tools/call` of the same tool through the same SDK v2 server factory
// (bench/servers/fetch.mjs says what each side is):
//   1. SDK v2's `createMcpHandler(factory)` with no authentication: the baseline;
//   2. ours, `createMcpFetchHandler`, with an API key, and with an HS256 JWT;
//   3. Vercel's `mcp-handler` 2.4.0, `withMcpAuth` with a jose `verifyToken`: as its users write
//      it (its own `createMcpHandler`), and in front of SDK v2's handler (authentication alone).
// Each side runs in a child process of its own, served the way its runtime serves a Fetch
// handler: `@hono/node-server`'s `serve` on Node (bench/servers/fetch-node.mjs), `Bun.serve`
// (fetch-bun.mjs), `Deno.serve` (fetch-deno.mjs). As in bench/http.mjs, the sides of a runtime
// take turns after a warm-up round, the tables give medians of the rounds, and each side's
// server CPU time per request is given: Node children report `process.cpuUsage()`, Bun's and
// Deno's CPU time is read from /proc/<pid>/stat (every thread of the process) around a round.
//
//   pnpm build && node bench/fetch.mjs             (about 3½ minutes; any working directory)
//   BENCH_QUICK=1 node bench/fetch.mjs             (1 s rounds, 2 of them: to try changes)
//   BENCH_RUNTIMES=bun,deno node bench/fetch.mjs   (some runtimes only; prints the rounds only)
import autocannon from "autocannon"
import { SignJWT } from "jose"
import { execFileSync, fork, spawn } from "node:child_process"
import fs from "node:fs"
import http from "node:http"
import { createRequire } from "node:module"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { median, percentile, printSection, progress, ratio, table, target } from "./lib.mjs"
import { BAD_KEY, GOOD_KEY, JWT_SECRET, JWT_SUBJECT, TOOL_NAME } from "./servers/common.mjs"

const QUICK = process.env.BENCH_QUICK === "1"
// Many short rounds rather than a few long ones: on a shared machine, bursts of other work then
// fall on every side alike, and the median leaves them out. Whole seconds: autocannon ends a
// run on its 1 s tick, so 1.5 s would run 2.
const ROUNDS = QUICK ? 2 : 10
const SECONDS = 1
const WARMUP_SECONDS = QUICK ? 1 : 2
const CONNECTIONS = 10
/** How long a server may take to listen; Deno compiles a few MB of modules first. */
const START_TIMEOUT_MS = 30_000
/** The sides, in the order of the tables (bench/servers/fetch.mjs makes each). */
const SIDES = ["sdk", "ours-key", "ours-jwt", "mcp-handler", "mcp-handler-auth"]

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.join(benchDir, "..")
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "mcpgate-bench-fetch-"))
let keepLogs = false

// ---------------------------------------------------------------------------------------
// The request every side is sent: what an SDK v2 client pinned to 2026-07-28 sends for a
// tool call (no session; the protocol version, client info and capabilities in `_meta`;
// `Mcp-Method` and `Mcp-Name` headers). `[<id>]` is autocannon's fresh id per request.

const PROTOCOL = "2026-07-28"
const META = `{"io.modelcontextprotocol/protocolVersion":"${PROTOCOL}","io.modelcontextprotocol/clientInfo":{"name":"bench","version":"1.0.0"},` +
  `"io.modelcontextprotocol/clientCapabilities":{}}`
const toolCallTemplate = `{"jsonrpc":"2.0","id":"[<id>]","method":"tools/call","params":{"name":"${TOOL_NAME}","arguments":{},"_meta":${META}}}`
const toolCallBody = (id) => toolCallTemplate.replace("[<id>]", String(id))
const modernHeaders = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": PROTOCOL,
  "mcp-method": "tools/call",
  "mcp-name": TOOL_NAME
}
/** The tool's answer, byte for byte the same from every side (the id aside). */
const expectedAnswer = (id) =>
  `{"result":{"content":[{"type":"text","text":"ok"}],"resultType":"complete",` +
  `"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"bench","version":"1.0.0"}}},"jsonrpc":"2.0","id":"${id}"}`

// ---------------------------------------------------------------------------------------
// The runtimes, and the child processes holding the servers.

const children = new Set()
process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL")
  if (!keepLogs) fs.rmSync(logDir, { recursive: true, force: true })
})
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(130))

const fail = (message) => {
  progress(`FAILED: ${message}`)
  keepLogs = true
  progress(`server logs kept in ${logDir}`)
  process.exit(1)
}

const versionOf = (pkg) => JSON.parse(fs.readFileSync(path.join(repoRoot, "node_modules", pkg, "package.json"), "utf8")).version
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100
  } catch {
    return 100
  }
})()

/** A process's CPU time so far (user + system, all its threads), in µs, from /proc/<pid>/stat. */
const procCpuTime = (pid) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
  // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1e6
}

/**
 * The runtimes' binaries, from the npm packages `bun` and `deno` as the runtime tests find them
 * (runtimes/test/support/runtimes.ts): the binaries, not their shell shims, so that the pid
 * whose CPU time is read is the runtime's own, and killing it stops the runtime.
 */
const rootRequire = createRequire(path.join(repoRoot, "package.json"))
const executable = (name, find) => {
  let found
  try {
    found = find()
    fs.accessSync(found, fs.constants.X_OK)
  } catch (error) {
    fail(`${name} is not installed (pnpm install installs it): ${error.message}`)
  }
  return found
}
const resolveBun = () => executable("Bun", () => path.join(rootRequire.resolve("bun/package.json"), "..", "bin", "bun.exe"))
const resolveDeno = () => executable("Deno", () => rootRequire("deno/install_api.cjs").runInstall())

/** Starts a Node side: forked, reporting its URL and its CPU time over IPC (bench/servers/common.mjs). */
const startNode = (side) =>
  new Promise((resolve, reject) => {
    const logPath = path.join(logDir, `node-${side}.log`)
    const log = fs.openSync(logPath, "w")
    const child = fork(path.join(benchDir, "servers", "fetch-node.mjs"), [side], {
      cwd: benchDir,
      stdio: ["ignore", log, log, "ipc"],
      execArgv: [...process.execArgv, ...(process.env.BENCH_SERVER_FLAGS?.split(" ").filter(Boolean) ?? [])]
    })
    fs.closeSync(log)
    const server = watch(child, "Node", side, logPath)
    child.once("message", (message) => {
      if (!message?.ready) return reject(new Error(`unexpected message from the Node ${side} server: ${JSON.stringify(message)}`))
      resolve({
        ...server,
        url: message.urls[side],
        cpuTime: () =>
          new Promise((done) => {
            child.once("message", (reply) => done(reply.cpu.user + reply.cpu.system))
            child.send("cpu")
          })
      })
    })
  })

/** Starts a Bun or Deno side: its URL read from the line it prints, its CPU time from /proc. */
const startSpawned = (runtime, command, args, side) =>
  new Promise((resolve) => {
    const logPath = path.join(logDir, `${runtime.toLowerCase()}-${side}.log`)
    const child = spawn(command, args, {
      cwd: benchDir,
      env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const server = watch(child, runtime, side, logPath)
    let output = ""
    const onData = (chunk) => {
      fs.appendFileSync(logPath, chunk)
      if (server.url !== undefined) return
      output += chunk
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match === null) return
      server.url = match[1]
      resolve(server)
    }
    child.stdout.on("data", onData)
    child.stderr.on("data", onData)
    server.cpuTime = async () => procCpuTime(child.pid)
  })

/** What every child shares: it fails the run if it exits unasked, and stops when told. */
const watch = (child, runtime, side, logPath) => {
  children.add(child)
  let stopping = false
  child.on("exit", (code, signal) => {
    children.delete(child)
    if (stopping) return
    const tail = fs.existsSync(logPath) ? fs.readFileSync(logPath, "utf8").split("\n").slice(-20).join("\n") : ""
    fail(`the ${runtime} ${side} server exited (${code ?? signal}); the end of its log:\n${tail}`)
  })
  return {
    url: undefined,
    stop: () =>
      new Promise((done) => {
        stopping = true
        if (child.exitCode !== null || child.signalCode !== null) return done()
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000)
        child.once("exit", () => {
          clearTimeout(kill)
          done()
        })
        if (child.connected) child.send("stop")
        else child.kill("SIGTERM")
      })
  }
}

const RUNTIMES = {
  node: { name: "Node", version: () => process.version, start: startNode },
  bun: {
    name: "Bun",
    version: () => execFileSync(resolveBun(), ["--version"], { encoding: "utf8" }).trim(),
    start: (side) => startSpawned("Bun", resolveBun(), ["run", "--no-install", path.join(benchDir, "servers", "fetch-bun.mjs"), side], side)
  },
  deno: {
    name: "Deno",
    version: () => /^deno (\S+)/.exec(execFileSync(resolveDeno(), ["--version"], { encoding: "utf8" }))?.[1] ?? "unknown",
    // Loopback only: the servers read their modules from node_modules, which needs no permission.
    start: (side) =>
      startSpawned("Deno", resolveDeno(), [
        "run",
        "--no-prompt",
        "--allow-net=127.0.0.1",
        path.join(benchDir, "servers", "fetch-deno.mjs"),
        side
      ], side)
  }
}

// ---------------------------------------------------------------------------------------
// Single requests, to check every side before timing it.

const post = (url, headers, body) =>
  new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: "POST",
      agent: false,
      headers: { "content-length": Buffer.byteLength(body), ...headers }
    }, (response) => {
      const chunks = []
      response.on("data", (chunk) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode, body: Buffer.concat(chunks).toString() }))
    })
    request.on("error", reject)
    request.end(body)
  })

/** The side answers its own valid request with 200 and the tool's answer, and refuses a wrong credential with 401. */
const check = async (label, url, headers, wrongHeaders) => {
  const answer = await post(url, headers, toolCallBody("check"))
  if (answer.status !== 200 || answer.body !== expectedAnswer("check")) {
    fail(`${label}: a valid tools/call answered ${answer.status} ${answer.body.slice(0, 300)}`)
  }
  if (wrongHeaders === undefined) return
  const refused = await post(url, wrongHeaders, toolCallBody("wrong"))
  if (refused.status !== 401) fail(`${label}: a tools/call with a wrong credential answered ${refused.status} ${refused.body.slice(0, 300)}`)
}

// ---------------------------------------------------------------------------------------
// Load, rounds, and what is reported of them (as in bench/http.mjs).

const load = async (server, headers, seconds) => {
  const latencies = []
  const serverCpuBefore = await server.cpuTime()
  const instance = autocannon({
    url: server.url,
    method: "POST",
    headers,
    body: toolCallTemplate,
    idReplacement: true,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds
  })
  instance.on("response", (_client, _statusCode, _bytes, milliseconds) => latencies.push(milliseconds))
  const result = await instance
  const serverCpu = (await server.cpuTime()) - serverCpuBefore
  return {
    requestsPerSecond: latencies.length / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    serverCpuPerRequest: serverCpu / latencies.length,
    serverCpuShare: serverCpu / (result.duration * 1e6),
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    errors: result.errors
  }
}

const ms = (value) => (value === undefined ? "–" : value < 10 ? value.toFixed(2) : value.toFixed(1))
const perSecond = (value) => Math.round(value).toLocaleString("en")
const codes = (counts) =>
  Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)).map(([code, count]) => `${code} ×${count.toLocaleString("en")}`).join(", ") ||
  "none"
const describe = (sample) =>
  `${Math.round(sample.requestsPerSecond)} req/s, p50 ${ms(sample.p50)} ms, p99 ${ms(sample.p99)} ms, ` +
  `server ${Math.round(sample.serverCpuPerRequest)} µs CPU/req (${sample.serverCpuShare.toFixed(2)} of a core), ${codes(sample.statusCodes)}` +
  (sample.errors > 0 ? `, ${sample.errors} errors` : "")

/** One warm-up round, then `ROUNDS` rounds, the sides taking turns (who goes first rotates). */
const alternate = async (label, sides) => {
  const names = Object.keys(sides)
  const samples = Object.fromEntries(names.map((name) => [name, []]))
  for (let round = 0; round <= ROUNDS; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length])
    for (const name of order) {
      const sample = await sides[name](round === 0 ? WARMUP_SECONDS : SECONDS)
      const which = round === 0 ? "warm-up" : `round ${round}/${ROUNDS}`
      progress(`${label} ${which} ${name}: ${describe(sample)}`)
      expectOnlyOk(`${label} ${name}, ${which}`, sample.statusCodes, sample.errors)
      if (round > 0) samples[name].push(sample)
    }
  }
  return samples
}

/** Fails the run when a side answered its valid requests with anything but 200, or dropped a connection. */
const expectOnlyOk = (label, statusCodes, errors) => {
  if (Object.keys(statusCodes).some((code) => code !== "200") || errors > 0) {
    fail(`${label}: expected only 200, got ${codes(statusCodes)} and ${errors} connection errors`)
  }
}

/** The median round of each measure. */
const summarize = (samples) => ({
  requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
  p50: median(samples.map((s) => s.p50)),
  p99: median(samples.map((s) => s.p99)),
  serverCpuPerRequest: median(samples.map((s) => s.serverCpuPerRequest))
})

// ---------------------------------------------------------------------------------------
// One runtime: its five servers, checked, then loaded in turns.

const secret = new TextEncoder().encode(JWT_SECRET)
const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(JWT_SUBJECT).setIssuedAt().setExpirationTime("1h")
  .sign(secret)
const forged = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(JWT_SUBJECT).setExpirationTime("1h")
  .sign(new TextEncoder().encode("another-secret-of-at-least-32-bytes!!"))

/** Each side's headers, and the wrong credential it must refuse (none for the baseline). */
const withKey = { ...modernHeaders, "x-api-key": GOOD_KEY }
const withToken = { ...modernHeaders, authorization: `Bearer ${token}` }
const REQUESTS = {
  // The baseline is sent the API key too, so that it reads the same request as ours with a key.
  sdk: { headers: withKey, wrong: undefined },
  "ours-key": { headers: withKey, wrong: { ...modernHeaders, "x-api-key": BAD_KEY } },
  "ours-jwt": { headers: withToken, wrong: { ...modernHeaders, authorization: `Bearer ${forged}` } },
  "mcp-handler": { headers: withToken, wrong: { ...modernHeaders, authorization: `Bearer ${forged}` } },
  "mcp-handler-auth": { headers: withToken, wrong: { ...modernHeaders, authorization: `Bearer ${forged}` } }
}

const runRuntime = async (key) => {
  const runtime = RUNTIMES[key]
  progress(`${runtime.name}: starting the servers (a process each)`)
  const servers = {}
  for (const side of SIDES) {
    const timer = setTimeout(() => fail(`the ${runtime.name} ${side} server did not listen within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS)
    servers[side] = await runtime.start(side)
    clearTimeout(timer)
  }
  for (const side of SIDES) await check(`${runtime.name} ${side}`, servers[side].url, REQUESTS[side].headers, REQUESTS[side].wrong)
  progress(`${runtime.name}: tools/call, ${CONNECTIONS} connections, a ${WARMUP_SECONDS} s warm-up + ${ROUNDS} rounds of ${SECONDS} s a side`)
  const samples = await alternate(
    runtime.name,
    Object.fromEntries(SIDES.map((side) => [side, (seconds) => load(servers[side], REQUESTS[side].headers, seconds)]))
  )
  for (const server of Object.values(servers)) await server.stop()
  return Object.fromEntries(SIDES.map((side) => [side, summarize(samples[side])]))
}

// ---------------------------------------------------------------------------------------
// The run and its section.

const started = Date.now()
const loadBefore = os.loadavg()[0]
const only = process.env.BENCH_RUNTIMES?.split(",").map((name) => name.trim().toLowerCase()).filter(Boolean)
const unknown = (only ?? []).filter((name) => !(name in RUNTIMES))
if (unknown.length > 0) fail(`unknown runtime ${unknown.join(", ")}; there are ${Object.keys(RUNTIMES).join(", ")}`)
const chosen = only ?? Object.keys(RUNTIMES)
const versions = Object.fromEntries(chosen.map((key) => [key, RUNTIMES[key].version()]))
const results = {}
for (const key of chosen) results[key] = await runRuntime(key)
const loadAfter = os.loadavg()[0]
progress(`done in ${Math.round((Date.now() - started) / 1000)} s; load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`)
if (only !== undefined) process.exit(0)

const LABELS = {
  sdk: "SDK v2 `createMcpHandler`, no authentication",
  "ours-key": "ours, `createMcpFetchHandler` + API key",
  "ours-jwt": "ours, `createMcpFetchHandler` + JWT",
  "mcp-handler": "`mcp-handler` `withMcpAuth` + jose, its own `createMcpHandler`",
  "mcp-handler-auth": "`mcp-handler` `withMcpAuth` + jose, in front of SDK v2's handler"
}
const HEADERS = ["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "req/s ÷ SDK alone", "CPU/req above SDK alone µs"]
const rowsOf = (result) =>
  SIDES.map((side) => {
    const summary = result[side]
    const base = result.sdk
    return [
      LABELS[side],
      perSecond(summary.requestsPerSecond),
      ms(summary.p50),
      ms(summary.p99),
      String(Math.round(summary.serverCpuPerRequest)),
      side === "sdk" ? "" : ratio(summary.requestsPerSecond / base.requestsPerSecond),
      side === "sdk" ? "" : String(Math.round(summary.serverCpuPerRequest - base.serverCpuPerRequest))
    ]
  })
/** Throughput ratio, then each side's server CPU per request (the steadier figure on a busy machine). */
const measured = (ours, it) =>
  `${ratio(ours.requestsPerSecond / it.requestsPerSecond)}: ${perSecond(ours.requestsPerSecond)} vs ${perSecond(it.requestsPerSecond)} req/s; ` +
  `server CPU ${Math.round(ours.serverCpuPerRequest)} vs ${Math.round(it.serverCpuPerRequest)} µs/req`
const targetsOf = (name, result) =>
  [
    target(
      `Fetch handler on ${name}: with an API key, at least 0.97x the throughput of SDK v2's \`createMcpHandler\` without authentication`,
      result["ours-key"].requestsPerSecond / result.sdk.requestsPerSecond >= 0.97,
      measured(result["ours-key"], result.sdk)
    ),
    target(
      `Fetch handler on ${name}: with a JWT, faster than \`mcp-handler\`'s \`withMcpAuth\` with a jose \`verifyToken\``,
      result["ours-jwt"].requestsPerSecond > result["mcp-handler"].requestsPerSecond,
      measured(result["ours-jwt"], result["mcp-handler"])
    )
  ].join("\n")

printSection(
  "Fetch handler (issue 17)",
  `Every request a stateless ${PROTOCOL} \`tools/call\` of the same no-argument tool (what an SDK v2 client pinned to ` +
    `${PROTOCOL} sends: \`_meta\` envelope, \`Mcp-Method\` and \`Mcp-Name\`, no session) with a fresh JSON-RPC id; every side ` +
    "serves the same SDK v2 factory (a fresh `McpServer` per request) and answers the same bytes, checked before timing, and " +
    "refuses a wrong key or a forged token with 401 (the baseline aside). " +
    `${CONNECTIONS} connections from autocannon in the parent, one request at a time each; each side in a child process of ` +
    `its own, served as its runtime serves a Fetch handler: Node ${versions.node ?? "–"} with \`@hono/node-server\` ` +
    `${versionOf("@hono/node-server")} \`serve\`, Bun ${versions.bun ?? "–"} \`Bun.serve\`, Deno ${versions.deno ?? "–"} ` +
    "`Deno.serve` (`--allow-net=127.0.0.1`). Per runtime, a " +
    `${WARMUP_SECONDS} s warm-up + ${ROUNDS} rounds of ${SECONDS} s a side, sides taking turns; medians of the rounds. ` +
    "Server CPU is the child's user + system time over a round (Node: `process.cpuUsage`; Bun, Deno: /proc/<pid>/stat, " +
    `${CLOCK_TICKS} ticks a second) per answered request. ${os.cpus().length} cores; load average (1 min) ` +
    `${loadBefore.toFixed(2)} at the start, ${loadAfter.toFixed(2)} at the end.`,
  "Ours is `createMcpFetchHandler({ auth: { provider }, clientAddress, createServer })` with default options (the " +
    "failed-attempt budget on, for the address the runtime gives: `env.incoming.socket`, `server.requestIP`, " +
    "`info.remoteAddr`), with `new APIKeyAuthProvider({ keys })` (10 keys, the last presented in `X-API-Key`) or " +
    "`new JWTAuthProvider({ secret })`. `mcp-handler` " + `${versionOf("mcp-handler")}` + " is `withMcpAuth(handler, " +
    "verifyToken, { required: true })` with the `verifyToken` its users write: jose `jwtVerify` with an HMAC key imported " +
    "once, `algorithms: [\"HS256\"]`, `undefined` for a bad token; first around its own `createMcpHandler` (which parses " +
    "a copy of each body before SDK v2 does), then around SDK v2's handler, so that only authentication differs from the " +
    "baseline. The baseline is sent the API key too, so that it reads the same request as ours with a key.",
  ...chosen.flatMap((key) => [
    `### ${RUNTIMES[key].name}`,
    table(HEADERS, rowsOf(results[key])),
    targetsOf(RUNTIMES[key].name, results[key])
  ])
)
