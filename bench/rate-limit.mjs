// What the failed-attempt gate costs, as ratios against baselines run side by side in this
// process (the µs and MB themselves vary with the machine):
//   1. memory: 100,000 failures from distinct addresses into the bounded in-memory store,
//      against the same failures kept in an unbounded Map (what a naive limiter does);
//   2. time: a successful check through a gate with the limiter, against the same gate
//      with `rateLimit: false` (the provider's check alone), alternating rounds.
//
//   pnpm build && node --expose-gc bench/rate-limit.mjs
import { ApiKey, Gate, RateLimitStore } from "@mcpgate/auth-core"
import { Effect } from "effect"

const gc = globalThis.gc ?? (() => {})
const CLIENTS = 100_000
const address = (i) => `198.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`

const heapAfter = (fill) => {
  gc()
  const before = process.memoryUsage().heapUsed
  const kept = fill()
  gc()
  const used = process.memoryUsage().heapUsed - before
  return { used, kept }
}

const bounded = heapAfter(() => {
  const store = RateLimitStore.memory({ maxClients: 10_000 })
  for (let i = 0; i < CLIENTS; i++) Effect.runSync(store.recordFailure(address(i), 60_000, 0))
  return store
})
const unbounded = heapAfter(() => {
  const map = new Map()
  for (let i = 0; i < CLIENTS; i++) map.set(address(i), { failures: 1, resetAt: 60_000 })
  return map
})
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1)
console.log(`memory after ${CLIENTS.toLocaleString("en")} distinct failing clients:`)
console.log(`  bounded store (cap 10,000): ${mb(bounded.used)} MB, ${bounded.kept.size()} clients held`)
console.log(`  unbounded Map (baseline):   ${mb(unbounded.used)} MB, ${unbounded.kept.size} clients held`)
console.log(`  ratio bounded/unbounded:    ${(bounded.used / unbounded.used).toFixed(2)}`)

const KEY = "mcp_bench_key_5f1c9e2a7b3d"
const provider = Effect.runSync(ApiKey.make({ keys: [KEY] }))
const limited = Gate.make(provider)
const unlimited = Gate.make(provider, { rateLimit: false })
const request = { client: "127.0.0.1", headers: { "x-api-key": KEY } }
const CHECKS = 20_000
const ROUNDS = 7
const time = (gate) => {
  const start = process.hrtime.bigint()
  for (let i = 0; i < CHECKS; i++) Effect.runSync(gate.check(request, true))
  return Number(process.hrtime.bigint() - start) / CHECKS / 1000
}
time(limited)
time(unlimited)
const ratios = []
for (let round = 0; round < ROUNDS; round++) {
  const withLimit = time(limited)
  const without = time(unlimited)
  ratios.push(withLimit / without)
  console.log(`round ${round + 1}: with limiter ${withLimit.toFixed(2)} µs, without ${without.toFixed(2)} µs`)
}
ratios.sort((a, b) => a - b)
console.log(`successful check, limiter on / off: median ratio ${ratios[ROUNDS >> 1].toFixed(2)}`)
