// Over HTTP on loopback, with autocannon as the load generator:
//   1. authenticated `POST /messages` on the legacy SSE transport: our `SseServer` against
//      mcp-framework's `SSEServerTransport` with the same API keys, and against our own server
//      with authentication off. Every request is a `tools/call`, so every accepted request
//      also puts an answer on the session's event stream, which this process reads and
//      discards as a client must (and counts, to check that answers match requests);
//   2. a flood of wrong keys at the same two authenticated servers: throughput, latency, the
//      status codes that came back, and how a good client on another address fares meanwhile;
//   3. Streamable HTTP with JWTs: our `StreamableHttp` guard against the SDK's own bearer check
//      with a hand-written jose verifier, and against the SDK transport with no authentication,
//      all in front of the SDK v2 transport.
// Besides requests a second and latency, each side's server CPU time per request is given:
// on a busy machine it is steadier than throughput, and on an idle one throughput follows it.
// (This replaces the single-connection benches bench/sse-messages.mjs and streamable-http.mjs.)
//
//   pnpm build && node bench/http.mjs                  (about 3 minutes; any working directory)
//   BENCH_QUICK=1 node bench/http.mjs                  (1 s rounds, 2 of them: to try changes)
//   BENCH_ONLY=sse node bench/http.mjs                 (one section, sse or streamable; rounds only)
//   BENCH_SERVER_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node bench/http.mjs
//                                                      (Node flags for the server processes only)
//
// Why the servers run in a child process: on a 2-core machine a load generator in the
// server's process would share its event loop and take its CPU time, and the more so the
// faster the server answers. So the servers under test run in child processes
// (bench/servers/*.mjs), one each, so that none inherits another's state (mcp-framework's
// request context is an AsyncLocalStorage, which turns on promise hooks for its whole
// process), and only one is loaded at a time; autocannon runs here, in the parent. The sides take turns, round after round,
// after a warm-up round; the tables give the median of the rounds, and the ratios are the
// figures to read. Latency percentiles are computed from every response time autocannon
// measured (fractional milliseconds), since its own histogram rounds to whole milliseconds.
//
// The children's stdout and stderr go to a log file (mcp-framework logs every request to
// stderr), summarized at the end; it is removed unless the run failed.
import autocannon from "autocannon"
import { SignJWT } from "jose"
import { fork } from "node:child_process"
import fs from "node:fs"
import http from "node:http"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { median, percentile, printSection, progress, ratio, table, target } from "./lib.mjs"
import {
  BAD_KEY,
  GOOD_KEY,
  initializedNotification,
  initializeMessage,
  JWT_SECRET,
  JWT_SUBJECT,
  PROTOCOL_VERSION,
  toolCallBody,
  toolCallTemplate
} from "./servers/common.mjs"

const QUICK = process.env.BENCH_QUICK === "1"
const ROUNDS = QUICK ? 2 : 5
const WARMUP_ROUNDS = 1
const SECONDS = QUICK ? 1 : 4
const FLOOD_SECONDS = QUICK ? 1 : 3
const CONNECTIONS = 10
/** The good client of the flood runs from another loopback address: a different client to a rate limiter. */
const GOOD_CLIENT_ADDRESS = "127.0.0.2"

const benchDir = path.dirname(fileURLToPath(import.meta.url))
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "mcpgate-bench-http-"))
let keepLogs = false

// ---------------------------------------------------------------------------------------
// The child processes holding the servers.

const children = new Set()
// Whatever way this process ends, no server is left running.
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

/** Forks bench/servers/<name>.mjs and waits for the URLs it reports. */
const startServer = (name, side) =>
  new Promise((resolve, reject) => {
    const logPath = path.join(logDir, `${name}-${side}.log`)
    const log = fs.openSync(logPath, "w")
    const child = fork(path.join(benchDir, "servers", `${name}.mjs`), [side], {
      cwd: benchDir,
      stdio: ["ignore", log, log, "ipc"],
      execArgv: [...process.execArgv, ...(process.env.BENCH_SERVER_FLAGS?.split(" ").filter(Boolean) ?? [])]
    })
    fs.closeSync(log)
    children.add(child)
    let stopping = false
    child.on("exit", (code, signal) => {
      children.delete(child)
      if (stopping) return
      const tail = fs.readFileSync(logPath, "utf8").split("\n").slice(-20).join("\n")
      fail(`the ${name} ${side} server exited (${code ?? signal}); the end of its log:\n${tail}`)
    })
    child.once("message", (message) => {
      if (!message?.ready) return reject(new Error(`unexpected message from the ${name} ${side} server: ${JSON.stringify(message)}`))
      resolve({
        url: message.urls[side],
        logPath,
        /** The child's CPU time so far (user + system), in µs. */
        cpuTime: () =>
          new Promise((done) => {
            child.once("message", (reply) => done(reply.cpu.user + reply.cpu.system))
            child.send("cpu")
          }),
        stop: () =>
          new Promise((done) => {
            stopping = true
            if (child.exitCode !== null || child.signalCode !== null) return done()
            const kill = setTimeout(() => child.kill("SIGKILL"), 5000)
            child.once("exit", () => {
              clearTimeout(kill)
              done()
            })
            child.send("stop")
          })
      })
    })
  })

/** One child process per side, started one after the other: `{ [side]: server }`. */
const startServers = async (name, sides) => {
  const servers = {}
  for (const side of sides) servers[side] = await startServer(name, side)
  return servers
}

// ---------------------------------------------------------------------------------------
// Load, rounds, and what is reported of them.

const sum = (values) => values.reduce((a, b) => a + b, 0)

/** Adds status-code counts into `into`. */
const addCounts = (into, counts) => {
  for (const [code, count] of Object.entries(counts)) into[code] = (into[code] ?? 0) + count
  return into
}

/**
 * One autocannon run of `seconds` at one of `servers`: requests a second, p50 and p99 in ms,
 * status codes, and the CPU time the server process spent per request (µs). Only one server
 * of the child is loaded at a time, so the child's CPU time over the run is that server's.
 * The shares of a core used by the server process and by this one say which side was the
 * bottleneck (progress only).
 */
const load = async (servers, request, seconds) => {
  const latencies = []
  const serverCpuBefore = await servers.cpuTime()
  const clientCpuBefore = process.cpuUsage()
  const instance = autocannon({
    ...request,
    method: "POST",
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds
  })
  instance.on("response", (_client, _statusCode, _bytes, milliseconds) => latencies.push(milliseconds))
  const result = await instance
  const clientCpu = process.cpuUsage(clientCpuBefore)
  const serverCpu = (await servers.cpuTime()) - serverCpuBefore
  return {
    requestsPerSecond: latencies.length / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    serverCpuPerRequest: serverCpu / latencies.length,
    serverCpuShare: serverCpu / (result.duration * 1e6),
    clientCpuShare: (clientCpu.user + clientCpu.system) / (result.duration * 1e6),
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    errors: result.errors
  }
}

/**
 * Runs each side `warmup + rounds` times, taking turns (who goes first rotates). Returns,
 * per side, the samples of the timed rounds and, apart, those of the warm-up.
 */
const alternate = async (label, sides, { rounds = ROUNDS, warmup = WARMUP_ROUNDS } = {}) => {
  const names = Object.keys(sides)
  const samples = Object.fromEntries(names.map((name) => [name, { timed: [], warmup: [] }]))
  for (let round = 0; round < warmup + rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length])
    for (const name of order) {
      const sample = await sides[name]()
      const which = round < warmup ? "warm-up" : `round ${round - warmup + 1}/${rounds}`
      progress(`${label} ${which} ${name}: ${describe(sample)}`)
      samples[name][round < warmup ? "warmup" : "timed"].push(sample)
    }
  }
  return samples
}

const describe = (sample) =>
  `${Math.round(sample.requestsPerSecond)} req/s, p50 ${ms(sample.p50)} ms, p99 ${ms(sample.p99)} ms, ` +
  `server ${Math.round(sample.serverCpuPerRequest)} µs CPU/req, cores used: server ${sample.serverCpuShare.toFixed(2)} ` +
  `load generator ${sample.clientCpuShare.toFixed(2)}, ${codes(sample.statusCodes)}` +
  (sample.errors > 0 ? `, ${sample.errors} errors` : "")

/** The median round of each measure, and every status code of the timed rounds. */
const summarize = (samples) => ({
  requestsPerSecond: median(samples.map((s) => s.requestsPerSecond)),
  p50: median(samples.map((s) => s.p50)),
  p99: median(samples.map((s) => s.p99)),
  serverCpuPerRequest: median(samples.map((s) => s.serverCpuPerRequest)),
  statusCodes: samples.reduce((all, s) => addCounts(all, s.statusCodes), {}),
  errors: sum(samples.map((s) => s.errors))
})

const ms = (value) => (value === undefined ? "–" : value < 10 ? value.toFixed(2) : value.toFixed(1))
const perSecond = (value) => Math.round(value).toLocaleString("en")
const codes = (counts) =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, count]) => `${code} ×${count.toLocaleString("en")}`)
    .join(", ") || "none"

/** Fails the run when a timed side got anything but `status` (or connection errors). */
const expectOnly = (label, summary, status) => {
  const others = Object.keys(summary.statusCodes).filter((code) => code !== String(status))
  if (others.length > 0 || summary.errors > 0) {
    fail(`${label}: expected only ${status}, got ${codes(summary.statusCodes)} and ${summary.errors} connection errors`)
  }
}

// ---------------------------------------------------------------------------------------
// Single requests, for setting up sessions and checking answers before timing.

/** One POST on a connection of its own: status, headers and body. */
const post = (url, headers, message) => {
  const body = typeof message === "string" ? message : JSON.stringify(message)
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers }
    }, (response) => {
      const chunks = []
      response.on("data", (chunk) => chunks.push(chunk))
      response.on("end", () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks).toString() }))
    })
    request.on("error", reject)
    request.end(body)
  })
}

const expectStatus = async (label, pending, status) => {
  const response = await pending
  if (response.status !== status) fail(`${label}: expected ${status}, got ${response.status} ${response.body.slice(0, 200)}`)
  return response
}

const waitUntil = async (condition, timeoutMs) => {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  return condition()
}

// ---------------------------------------------------------------------------------------
// 1 and 2: the legacy SSE transport.

const MESSAGE_EVENT = "event: message\n"

/**
 * Opens `GET /sse` as a client: resolves with the message endpoint from the first event,
 * then keeps reading the stream, counting `message` events and discarding them.
 */
const openEventStream = (baseUrl) =>
  new Promise((resolve, reject) => {
    const request = http.get(new URL("/sse", baseUrl), { agent: false, headers: { accept: "text/event-stream" } }, (response) => {
      if (response.statusCode !== 200) {
        response.resume()
        return reject(new Error(`GET /sse on ${baseUrl}: ${response.statusCode}`))
      }
      response.setEncoding("utf8")
      const stream = { endpoint: undefined, messages: 0, ended: false, close: () => request.destroy() }
      let head = ""
      // The end of the previous chunk, so that a marker split between chunks is still counted once.
      let carry = ""
      response.on("data", (chunk) => {
        if (stream.endpoint === undefined) {
          head += chunk
          const match = /event: endpoint\ndata: (\S+)\n\n/.exec(head)
          if (match === null) return
          stream.endpoint = new URL(match[1], baseUrl).href
          chunk = head.slice(match.index + match[0].length)
          resolve(stream)
        }
        const text = carry + chunk
        for (let at = text.indexOf(MESSAGE_EVENT); at !== -1; at = text.indexOf(MESSAGE_EVENT, at + MESSAGE_EVENT.length)) {
          stream.messages++
        }
        carry = text.slice(-(MESSAGE_EVENT.length - 1))
      })
      response.on("end", () => {
        stream.ended = true
        if (stream.endpoint === undefined) reject(new Error(`GET /sse on ${baseUrl} ended before the endpoint event`))
      })
    })
    request.on("error", reject)
  })

/**
 * A session as an MCP client opens it: the stream, then `initialize` and its answer, then
 * `initialized`; `credentials` are the headers its every POST carries.
 */
const openSseSession = async (label, baseUrl, credentials) => {
  const stream = await openEventStream(baseUrl)
  await expectStatus(`${label}: POST initialize`, post(stream.endpoint, credentials, initializeMessage), 202)
  if (!(await waitUntil(() => stream.messages >= 1, 5000))) fail(`${label}: no answer to initialize on the stream`)
  await expectStatus(`${label}: POST notifications/initialized`, post(stream.endpoint, credentials, initializedNotification), 202)
  // The answers the stream must carry: initialize's, then one per accepted tool call.
  return { url: stream.endpoint, stream, credentials, expectedAnswers: 1 }
}

/** Requests from the good client, one after another, until `done()`; from another address. */
const goodClientUntil = async (url, done) => {
  const latencies = []
  const statusCodes = {}
  const body = toolCallBody("good-client")
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  while (!done()) {
    const start = process.hrtime.bigint()
    const status = await new Promise((resolve, reject) => {
      const request = http.request(url, {
        method: "POST",
        agent,
        localAddress: GOOD_CLIENT_ADDRESS,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), "x-api-key": GOOD_KEY }
      }, (response) => {
        response.resume()
        response.on("end", () => resolve(response.statusCode))
      })
      request.on("error", reject)
      request.end(body)
    })
    latencies.push(Number(process.hrtime.bigint() - start) / 1e6)
    statusCodes[status] = (statusCodes[status] ?? 0) + 1
  }
  agent.destroy()
  return { latencies, statusCodes }
}

const sseComparison = async () => {
  progress("SSE: starting the servers (a child process each)")
  const servers = await startServers("sse", ["ours", "framework", "open"])
  const withKey = { "x-api-key": GOOD_KEY }
  const sessions = {
    ours: await openSseSession("ours", servers.ours.url, withKey),
    framework: await openSseSession("mcp-framework", servers.framework.url, withKey),
    // Without the key: where credentials are optional, ours still checks one that is presented
    // (a wrong key is never ignored), so sending it would measure authentication again.
    open: await openSseSession("ours, auth off", servers.open.url, {})
  }

  // Before timing: the right key is accepted and a wrong one refused, on each authenticated server.
  for (const [name, label] of [["ours", "ours"], ["framework", "mcp-framework"]]) {
    const session = sessions[name]
    await expectStatus(`${label}: tools/call with the right key`, post(session.url, withKey, toolCallBody("check")), 202)
    session.expectedAnswers++
    await expectStatus(`${label}: tools/call with a wrong key`, post(session.url, { "x-api-key": BAD_KEY }, toolCallBody("check")), 401)
  }
  await expectStatus("ours, auth off: tools/call", post(sessions.open.url, {}, toolCallBody("check")), 202)
  sessions.open.expectedAnswers++

  // Every run counts its 202s, so that the answers on the stream can be checked against them.
  const withAnswers = (session, run) => async () => {
    const sample = await run()
    session.expectedAnswers += sample.statusCodes["202"] ?? 0
    return sample
  }
  const toolCalls = (session, server) =>
    withAnswers(session, () =>
      load(server, {
        url: session.url,
        headers: { "content-type": "application/json", ...session.credentials },
        body: toolCallTemplate,
        idReplacement: true
      }, SECONDS))

  progress(`SSE: authenticated POST /messages, ${CONNECTIONS} connections, ${WARMUP_ROUNDS} + ${ROUNDS} rounds of ${SECONDS} s a side`)
  const authRounds = await alternate("SSE", {
    ours: toolCalls(sessions.ours, servers.ours),
    framework: toolCalls(sessions.framework, servers.framework),
    open: toolCalls(sessions.open, servers.open)
  })

  // The flood comes after the authenticated runs: our rate limiter then refuses 127.0.0.1
  // for its window, whatever the key (that is its job).
  const flood = (session, server) => async () => {
    let finished = false
    const goodClient = goodClientUntil(session.url, () => finished)
    const sample = await load(server, {
      url: session.url,
      headers: { "content-type": "application/json", "x-api-key": BAD_KEY },
      body: toolCallTemplate,
      idReplacement: true
    }, FLOOD_SECONDS)
    finished = true
    const good = await goodClient
    session.expectedAnswers += good.statusCodes["202"] ?? 0
    return { ...sample, good }
  }
  progress(`SSE: a flood of wrong keys, ${CONNECTIONS} connections, ${WARMUP_ROUNDS} + ${ROUNDS} rounds of ${FLOOD_SECONDS} s a side`)
  const floodRounds = await alternate("flood", { ours: flood(sessions.ours, servers.ours), framework: flood(sessions.framework, servers.framework) })

  // Every accepted tool call has its answer on the stream. autocannon may stop with requests
  // in flight that the server accepted but it did not count, so a few more answers may arrive.
  const answers = {}
  const totalRounds = (WARMUP_ROUNDS + ROUNDS) * 2
  for (const [name, session] of Object.entries(sessions)) {
    await waitUntil(() => session.stream.messages >= session.expectedAnswers, 5000)
    answers[name] = { received: session.stream.messages, expected: session.expectedAnswers }
    const extra = session.stream.messages - session.expectedAnswers
    if (extra < 0 || extra > totalRounds * CONNECTIONS || session.stream.ended) {
      fail(`${name}: ${session.stream.messages} answers on the stream for ${session.expectedAnswers} accepted requests` +
        (session.stream.ended ? " (the stream ended)" : ""))
    }
    session.stream.close()
  }
  for (const server of Object.values(servers)) await server.stop()
  return { authRounds, floodRounds, answers, log: summarizeLog(Object.values(servers).map((server) => server.logPath)) }
}

/**
 * What the SSE servers wrote: mcp-framework's `[time] [LEVEL] message` lines by level, how
 * many of them open an "Authentication successful" or "Authentication failed" entry, and
 * how many lines came from ours (Effect's logger, `level=WARN ...`).
 */
const summarizeLog = (logPaths) => {
  const lines = logPaths.flatMap((logPath) => fs.readFileSync(logPath, "utf8").split("\n")).filter((line) => line.length > 0)
  const framework = { levels: {}, lines: 0, successes: 0, failures: 0 }
  let ours = 0
  for (const line of lines) {
    const match = /^\[[^\]]+\] \[(\w+)\] (.*)$/.exec(line)
    if (match === null) {
      ours++
      continue
    }
    framework.lines++
    framework.levels[match[1]] = (framework.levels[match[1]] ?? 0) + 1
    if (match[2].startsWith("Authentication successful")) framework.successes++
    if (match[2].startsWith("Authentication failed")) framework.failures++
  }
  return { framework, ours }
}

// ---------------------------------------------------------------------------------------
// 3: Streamable HTTP.

const streamableComparison = async () => {
  progress("Streamable HTTP: starting the servers (a child process each)")
  const servers = await startServers("streamable", ["ours", "sdk", "open", "identity"])
  const secret = new TextEncoder().encode(JWT_SECRET)
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(JWT_SUBJECT)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(secret)
  const forged = await new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(JWT_SUBJECT)
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode("another-secret-of-at-least-32-bytes!!"))

  const baseHeaders = { accept: "application/json, text/event-stream", "mcp-protocol-version": PROTOCOL_VERSION }
  const openSession = async (label, url, { authenticated = true } = {}) => {
    const headers = { ...baseHeaders, authorization: `Bearer ${token}` }
    const initialized = await expectStatus(`${label}: initialize`, post(url, headers, initializeMessage), 200)
    const sessionId = initialized.headers["mcp-session-id"]
    if (sessionId === undefined) fail(`${label}: no Mcp-Session-Id on the initialize answer`)
    const sessionHeaders = { ...headers, "mcp-session-id": sessionId }
    await expectStatus(`${label}: notifications/initialized`, post(url, sessionHeaders, initializedNotification), 202)
    // Before timing: the tool answers with the right token, and a forged one is refused.
    const called = await expectStatus(`${label}: tools/call`, post(url, sessionHeaders, toolCallBody("check")), 200)
    if (!called.body.includes("\"text\":\"ok\"")) fail(`${label}: tools/call answered ${called.body.slice(0, 200)}`)
    if (authenticated) {
      const forgedHeaders = { ...sessionHeaders, authorization: `Bearer ${forged}` }
      await expectStatus(`${label}: tools/call with a forged token`, post(url, forgedHeaders, toolCallBody("check")), 401)
    }
    // The unauthenticated server gets the same headers, token included, so every side reads the same request.
    return { "content-type": "application/json", ...sessionHeaders }
  }
  const sides = {
    ours: await openSession("ours", servers.ours.url),
    sdk: await openSession("SDK bearer", servers.sdk.url),
    open: await openSession("SDK alone", servers.open.url, { authenticated: false }),
    identity: await openSession("SDK alone with a fixed identity", servers.identity.url, { authenticated: false })
  }

  progress(`Streamable HTTP: tools/call with a JWT, ${CONNECTIONS} connections, ${WARMUP_ROUNDS} + ${ROUNDS} rounds of ${SECONDS} s a side`)
  const rounds = await alternate(
    "Streamable HTTP",
    Object.fromEntries(Object.entries(sides).map(([name, headers]) => [
      name,
      () => load(servers[name], { url: servers[name].url, headers, body: toolCallTemplate, idReplacement: true }, SECONDS)
    ]))
  )
  for (const server of Object.values(servers)) await server.stop()
  return { rounds }
}

// ---------------------------------------------------------------------------------------
// The run and its section.

const started = Date.now()
// BENCH_ONLY=sse or BENCH_ONLY=streamable runs one section and prints its rounds only, to try a change.
const ONLY = process.env.BENCH_ONLY
const sse = ONLY === "streamable" ? undefined : await sseComparison()
const streamable = ONLY === "sse" ? undefined : await streamableComparison()
progress(`done in ${Math.round((Date.now() - started) / 1000)} s`)
if (ONLY !== undefined) process.exit(0)

const auth = Object.fromEntries(Object.entries(sse.authRounds).map(([name, { timed }]) => [name, summarize(timed)]))
expectOnly("SSE ours", auth.ours, 202)
expectOnly("SSE mcp-framework", auth.framework, 202)
expectOnly("SSE ours, auth off", auth.open, 202)
const oursOverFramework = auth.ours.requestsPerSecond / auth.framework.requestsPerSecond
const oursOverOpen = auth.ours.requestsPerSecond / auth.open.requestsPerSecond
const sseCpuAbove = auth.ours.serverCpuPerRequest - auth.open.serverCpuPerRequest

const flood = Object.fromEntries(Object.entries(sse.floodRounds).map(([name, { timed, warmup }]) => {
  const goodLatencies = timed.flatMap((s) => s.good.latencies)
  return [name, {
    ...summarize(timed),
    // The status codes of every round: ours' 401s come first, in the warm-up.
    allStatusCodes: [...warmup, ...timed].reduce((all, s) => addCounts(all, s.statusCodes), {}),
    good: {
      requests: goodLatencies.length,
      statusCodes: timed.reduce((all, s) => addCounts(all, s.good.statusCodes), {}),
      p50: percentile(goodLatencies, 50),
      p99: percentile(goodLatencies, 99)
    }
  }]
}))

const stream = Object.fromEntries(Object.entries(streamable.rounds).map(([name, { timed }]) => [name, summarize(timed)]))
expectOnly("Streamable HTTP ours", stream.ours, 200)
expectOnly("Streamable HTTP SDK bearer", stream.sdk, 200)
expectOnly("Streamable HTTP SDK alone", stream.open, 200)
expectOnly("Streamable HTTP SDK alone with a fixed identity", stream.identity, 200)

const HEADERS = ["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "req/s: ours ÷ it", "CPU/req: ours ÷ it"]
/** A table row; the ratios against `ours` are left out on ours' own row. */
const row = (name, summary, ours) => [
  name,
  perSecond(summary.requestsPerSecond),
  ms(summary.p50),
  ms(summary.p99),
  String(Math.round(summary.serverCpuPerRequest)),
  summary === ours ? "" : ratio(ours.requestsPerSecond / summary.requestsPerSecond),
  summary === ours ? "" : ratio(ours.serverCpuPerRequest / summary.serverCpuPerRequest)
]
const frameworkLog = sse.log.framework
const count = (value) => value.toLocaleString("en")

printSection(
  "Over HTTP (autocannon on loopback)",
  `${CONNECTIONS} connections, one request at a time each, the servers in a child process and autocannon in this one; ` +
    `${WARMUP_ROUNDS} warm-up + ${ROUNDS} rounds of ${SECONDS} s a side (floods ${FLOOD_SECONDS} s), sides taking turns; ` +
    `medians of the rounds, latencies from every response. Node ${process.version}, ${os.cpus().length} cores. ` +
    "Every timed request is a `tools/call` of the same no-argument tool with a fresh JSON-RPC id.",
  "### Authenticated `POST /messages`, legacy SSE transport\n\n" +
    "One session per server, opened with `GET /sse` and `initialize`; its stream is read (and discarded) by the load " +
    "generator's process. Ours is `SseServer.listen` (@mcpgate/node); mcp-framework's is its `SSEServerTransport` " +
    "(what its `MCPServer` runs for `type: \"sse\"`) with its own `APIKeyAuthProvider`. Both with the same 10 keys (the " +
    "last one presented) and default options, and a fresh MCP SDK v1 `McpServer` per session. The server with " +
    "authentication off (`endpoints: { sse: false, messages: false }`) is sent no key: where credentials are optional, " +
    "ours still checks any that are presented.",
  table(HEADERS, [
    row("ours, API key", auth.ours, auth.ours),
    row("mcp-framework `SSEServerTransport`, API key", auth.framework, auth.ours),
    row("ours, authentication off", auth.open, auth.ours)
  ]),
  [
    target(
      "HTTP: authenticated throughput at least 1.0x mcp-framework's SSE server with the same provider",
      oursOverFramework >= 1.0,
      `${ratio(oursOverFramework)}: ${perSecond(auth.ours.requestsPerSecond)} vs ${perSecond(auth.framework.requestsPerSecond)} req/s`
    ),
    target(
      "HTTP SSE: authenticated throughput at least 0.97x our own server with auth off",
      oursOverOpen >= 0.97,
      `${ratio(oursOverOpen)}: ${perSecond(auth.ours.requestsPerSecond)} vs ${perSecond(auth.open.requestsPerSecond)} req/s`
    ),
    target(
      "HTTP SSE: at most 10 µs of server CPU per request above our own server with auth off",
      sseCpuAbove <= 10,
      `${Math.round(sseCpuAbove)} µs: ${Math.round(auth.ours.serverCpuPerRequest)} vs ${Math.round(auth.open.serverCpuPerRequest)} µs`
    )
  ].join("\n"),
  `Answers that arrived on the streams, against requests accepted (202) over the whole run: ${
    [["ours", "ours"], ["mcp-framework", "framework"], ["auth off", "open"]]
      .map(([label, name]) => `${label} ${count(sse.answers[name].received)} / ${count(sse.answers[name].expected)}`)
      .join(", ")
  } (a few more answers than counted 202s are requests autocannon left in flight at the end of a round).`,
  "### A flood of wrong keys\n\n" +
    `autocannon posts a wrong key to the same sessions from 127.0.0.1; meanwhile a good client on ${GOOD_CLIENT_ADDRESS} ` +
    "posts the right key, one request at a time. Ours answers a client's first 20 failures in a minute with 401, then " +
    "429 until the minute is over; mcp-framework answers 401 every time. Status codes are totals over all rounds, " +
    "the warm-up included; the good client's over the timed rounds.",
  table(["server", "req/s", "p50 ms", "p99 ms", "server CPU µs/req", "status codes", "good client: answers", "good client: p50 / p99 ms"], [
    ...[["ours", flood.ours], ["mcp-framework", flood.framework]].map(([name, f]) => [
      name,
      perSecond(f.requestsPerSecond),
      ms(f.p50),
      ms(f.p99),
      String(Math.round(f.serverCpuPerRequest)),
      codes(f.allStatusCodes),
      codes(f.good.statusCodes),
      `${ms(f.good.p50)} / ${ms(f.good.p99)}`
    ])
  ]),
  "### Streamable HTTP, JWT (HS256)\n\n" +
    "All three serve the SDK v2 `NodeStreamableHTTPServerTransport` with JSON answers and a fresh SDK v2 `McpServer` " +
    "per session; one session each, the same token (exp 1 h ahead) on every request. Ours is `StreamableHttp.make` " +
    "with `new JWTAuthProvider({ secret })` and default options; the SDK's is its own bearer check (`verifyBearerToken`, " +
    "the core of `requireBearerAuth`) with the verifier a server author writes: jose `jwtVerify` with a key imported " +
    "once, `algorithms: [\"HS256\"]`; then the SDK transport with no authentication, and the same handed a fixed " +
    "`req.auth` without any check (what carrying an identity costs the SDK itself).",
  table(HEADERS, [
    row("ours, `StreamableHttp` + `JWTAuthProvider`", stream.ours, stream.ours),
    row("SDK bearer check + jose verifier", stream.sdk, stream.ours),
    row("SDK transport, no authentication", stream.open, stream.ours),
    row("SDK transport, a fixed `req.auth` and no check", stream.identity, stream.ours)
  ]),
  `Of the server CPU ours spends over the SDK alone (${Math.round(stream.ours.serverCpuPerRequest - stream.open.serverCpuPerRequest)} µs), ` +
    `${Math.round(stream.identity.serverCpuPerRequest - stream.open.serverCpuPerRequest)} µs is the SDK's own work once a request carries ` +
    "an identity (the last row: the same transport handed a fixed `req.auth`, nothing checked), and " +
    `${Math.round(stream.ours.serverCpuPerRequest - stream.identity.serverCpuPerRequest)} µs is mcpgate's.`,
  [
    target(
      "HTTP Streamable: authenticated throughput at least 0.97x the SDK transport with no authentication",
      stream.ours.requestsPerSecond / stream.open.requestsPerSecond >= 0.97,
      `${ratio(stream.ours.requestsPerSecond / stream.open.requestsPerSecond)}: ${perSecond(stream.ours.requestsPerSecond)} vs ${
        perSecond(stream.open.requestsPerSecond)
      } req/s`
    ),
    target(
      "HTTP Streamable: at most 10 µs of server CPU per request above the SDK transport with no authentication",
      stream.ours.serverCpuPerRequest - stream.open.serverCpuPerRequest <= 10,
      `${Math.round(stream.ours.serverCpuPerRequest - stream.open.serverCpuPerRequest)} µs: ${
        Math.round(stream.ours.serverCpuPerRequest)
      } vs ${Math.round(stream.open.serverCpuPerRequest)} µs`
    )
  ].join("\n"),
  `mcp-framework's server wrote ${count(frameworkLog.lines)} lines to stderr during the SSE runs (${
    Object.entries(frameworkLog.levels).map(([level, n]) => `${level} ${count(n)}`).join(", ")
  }): three lines for each of its ${count(frameworkLog.successes)} successful authentications and each of its ` +
    `${count(frameworkLog.failures)} failed ones, written synchronously (to a file here). Our servers wrote ` +
    `${count(sse.log.ours)} lines: one per failed attempt until the client is over its budget, then one.`
)
