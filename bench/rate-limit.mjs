// What the failed-attempt limit costs, in this process, against baselines run side by side
// (the MB and µs themselves vary with the machine; the ratios are the figures to read):
//   1. memory: 100,000 failures from distinct addresses into the bounded in-memory store,
//      against the same failures kept in an unbounded Map (what a naive limiter does). This
//      isolates the store; bench/memory.mjs measures a whole server under the same flood.
//   2. time: a successful check through a gate with the limiter, against the same gate with
//      `rateLimit: false` (the provider's check alone), in alternating rounds.
//
//   pnpm build && node --expose-gc bench/rate-limit.mjs
//
// Progress goes to stderr; the one Markdown section to stdout.
import { ApiKey } from "@mcpgate/auth-core"
import { Gate, RateLimitStore } from "@mcpgate/http"
import { Effect } from "effect"
import { megabytes, micros, perCall, printSection, progress, ratio, table } from "./lib.mjs"

if (typeof globalThis.gc !== "function") {
  throw new Error("run with --expose-gc: the memory figures are read after a full collection")
}

const CLIENTS = 100_000
const MAX_CLIENTS = 10_000
const address = (i) => `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

/** The heap `fill` leaves behind once collected, and what it kept. */
const retainedBy = (fill) => {
  globalThis.gc()
  const before = process.memoryUsage().heapUsed
  const kept = fill()
  globalThis.gc()
  return { bytes: process.memoryUsage().heapUsed - before, kept }
}

progress(`memory: ${CLIENTS.toLocaleString("en")} distinct failing clients, bounded store against unbounded Map`)
// Effect's runtime and the code below are set up on first use; that is not the store's memory.
const warmUp = RateLimitStore.memory({ maxClients: 100 })
for (let i = 0; i < 1_000; i++) Effect.runSync(warmUp.recordFailure(address(i), 60_000, 0))
const bounded = retainedBy(() => {
  const store = RateLimitStore.memory({ maxClients: MAX_CLIENTS })
  for (let i = 0; i < CLIENTS; i++) Effect.runSync(store.recordFailure(address(i), 60_000, 0))
  return store
})
const unbounded = retainedBy(() => {
  const map = new Map()
  for (let i = 0; i < CLIENTS; i++) map.set(address(i), { failures: 1, resetAt: 60_000 })
  return map
})
const boundedHeld = bounded.kept.size()
const unboundedHeld = unbounded.kept.size

progress("time: a successful check, limiter on against off, alternating rounds")
const KEY = "mcp_bench_key_5f1c9e2a7b3d"
const provider = Effect.runSync(ApiKey.make({ keys: [KEY] }))
const limited = Gate.unsafeMake(provider)
const unlimited = Gate.unsafeMake(provider, { rateLimit: false })
const request = { client: "127.0.0.1", headers: { "x-api-key": KEY } }
const timing = await perCall(
  {
    "limiter on": () => Effect.runSync(limited.check(request, true)),
    "limiter off": () => Effect.runSync(unlimited.check(request, true))
  },
  { iterations: 20_000, rounds: 7, warmup: 2 }
)

printSection(
  "Rate limiting: the store under 100,000 distinct failing clients, and the limiter on a successful check",
  `Memory retained (after \`gc()\`) once ${CLIENTS.toLocaleString("en")} distinct addresses have each failed once:`,
  table(
    ["store", "clients held", "heap retained", "per client held"],
    [
      [`bounded in-memory store (\`maxClients\` ${MAX_CLIENTS.toLocaleString("en")})`, boundedHeld.toLocaleString("en"), megabytes(bounded.bytes), `${Math.round(bounded.bytes / boundedHeld)} B`],
      ["unbounded `Map` (baseline)", unboundedHeld.toLocaleString("en"), megabytes(unbounded.bytes), `${Math.round(unbounded.bytes / unboundedHeld)} B`]
    ]
  ),
  `Bounded / unbounded: ${ratio(bounded.bytes / unbounded.bytes)}.`,
  "A successful API-key check through `Gate.check` (`Effect.runSync`), median of 7 alternating rounds of 20,000 calls:",
  table(
    ["gate", "µs per check"],
    [
      ["limiter on (default: 20 failures / 60 s, in memory)", micros(timing["limiter on"])],
      ["`rateLimit: false`", micros(timing["limiter off"])]
    ]
  ),
  `On / off: ${ratio(timing["limiter on"] / timing["limiter off"])}.`
)
