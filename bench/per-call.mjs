// What one authentication check costs through our public Promise API, side by side with
// mcp-framework's providers, with jose alone, and with "the limit": the least work the same
// check needs in plain node:crypto. Every comparison runs all its sides in this process, in
// alternating rounds after a warm-up (lib.mjs `perCall`), on the same inputs; the ratios are
// the figures to read, not the µs.
//   1. API key, 1 to 1000 configured keys, the key presented being the last one configured;
//   2. JWT HS256: a repeated token and a first-seen one (a pool of distinct valid tokens, so
//      no call of that side presents a token seen before);
//   3. JWT HS256, RS256 (RSA 2048), ES256 and EdDSA, first-seen and repeated, against jose,
//      fast-jwt, jsonwebtoken and the raw node:crypto limit; 1,000 concurrent first-seen tokens
//      (event-loop delay); the heap per cached token (bench/jwt-first-seen.mjs).
//
//   pnpm build && node --expose-gc bench/per-call.mjs
//   BENCH_QUICK=1 node --expose-gc bench/per-call.mjs   (a tenth of the iterations, for a try)
import { APIKeyAuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import { jwtVerify, SignJWT } from "jose"
import { createHmac, hash, randomBytes, timingSafeEqual } from "node:crypto"
import { ALGORITHMS, burst, compare, comparisonTable, comparisonTargets, heapPerCachedToken } from "./jwt-first-seen.mjs"
import { micros, perCall, printSection, progress, ratio, table, target } from "./lib.mjs"

// mcp-framework's logger writes to stderr or to a file when these are set; its providers are
// measured as they run by default (the debug lines are still formatted on every call).
delete process.env.MCP_DEBUG_CONSOLE
delete process.env.MCP_ENABLE_FILE_LOGGING
const framework = await import("mcp-framework")

const QUICK = process.env.BENCH_QUICK === "1"
const scaled = (iterations) => (QUICK ? Math.max(10, Math.round(iterations / 10)) : iterations)
const ROUNDS = 9
const WARMUP = 2
const TIMED = { rounds: ROUNDS, warmup: WARMUP }

// Per comparison, enough calls a round that the slower sides' rounds last well over 20 ms
// and the fastest side's (the limit's) about 15 ms or more on a 2-core machine, while the
// whole script takes about a minute on a quiet 2-core machine (less than two on a busy one).
const API_KEY_COUNTS = [1, 10, 100, 1000]
const API_KEY_ITERATIONS = { 1: scaled(10_000), 10: scaled(10_000), 100: scaled(6_000), 1000: scaled(2_000) }
const HS256_ITERATIONS = scaled(2_000)
// Our JWT provider's default token-cache bound (DEFAULT_TOKEN_CACHE_ENTRIES in jwt.ts), only
// to say in the note how many first-seen rounds ran with a full cache, each call evicting.
const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000

const gc = globalThis.gc ?? (() => {})
const fakeRequest = (headers) => ({ headers, socket: { remoteAddress: "127.0.0.1" }, url: "/messages" })
// The fastest SHA-256 node:crypto has for a short string (one call, no Hash object): the
// limit gets the same primitive our provider uses.
const sha256 = (text) => hash("sha256", text, "buffer")

/** Fails the run if a side does not accept its input: timing a refusal would be a lie. */
const mustAccept = (side, accepted) => {
  if (!accepted) throw new Error(`${side} refused the benchmark's input; nothing would be measured`)
}

/** Every call of a first-seen side takes the next one; the pool covers warm-up and timed rounds. */
const poolSize = (iterations) => (WARMUP + ROUNDS) * iterations + 1

/**
 * How many timed rounds of a first-seen side start with the provider's cache already full, so
 * that every call of theirs also evicts an entry (one token went in before timing).
 */
const roundsWithFullCache = (iterations) =>
  Array.from({ length: ROUNDS }, (_, i) => (WARMUP + i) * iterations + 1).filter((before) => before >= DEFAULT_TOKEN_CACHE_ENTRIES).length

// ---------------------------------------------------------------------------------------------
// 1. API key
// ---------------------------------------------------------------------------------------------

const apiKeyRows = []
for (const count of API_KEY_COUNTS) {
  // Keys as our docs tell users to make them: 32 random bytes, base64url (43 characters).
  const keys = Array.from({ length: count }, () => randomBytes(32).toString("base64url"))
  const presented = keys.at(-1) // last configured: the worst case for a linear scan
  const headers = { "x-api-key": presented }
  const request = fakeRequest(headers)

  const ours = new APIKeyAuthProvider({ keys })
  const theirs = new framework.APIKeyAuthProvider({ keys })
  // The limit: hash what was presented, then compare it in constant time with every stored
  // digest, without stopping at a match, so the time says nothing about which key it was.
  const storedDigests = keys.map(sha256)
  const limit = () => {
    const digest = sha256(headers["x-api-key"])
    let matched = false
    for (const stored of storedDigests) if (timingSafeEqual(stored, digest)) matched = true
    return matched
  }

  mustAccept("ours (API key)", (await ours.authenticate(headers)) === true)
  mustAccept("mcp-framework APIKeyAuthProvider", (await theirs.authenticate(request)) === true)
  mustAccept("limit (API key)", limit() === true)

  const iterations = API_KEY_ITERATIONS[count]
  progress(`API key, ${count} key(s): ${iterations} calls a round, ${WARMUP} + ${ROUNDS} rounds`)
  gc()
  const result = await perCall(
    {
      ours: () => ours.authenticate(headers),
      theirs: () => theirs.authenticate(request),
      limit
    },
    { iterations, ...TIMED }
  )
  progress(`  ours ${micros(result.ours)} µs, mcp-framework ${micros(result.theirs)} µs, limit ${micros(result.limit)} µs`)
  apiKeyRows.push({ count, ...result })
  await ours.dispose()
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

const ISSUER = "https://issuer.bench.example"

/** A token with what a real one carries: subject, issuer, times, a scope, a client and a jti. */
const signToken = (alg, signingKey, jti) =>
  new SignJWT({ scope: "tools:read tools:call", client_id: "bench-client", jti })
    .setProtectedHeader({ alg, typ: "JWT" })
    .setSubject("user-42")
    .setIssuer(ISSUER)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(signingKey)

/** `count` distinct tokens (distinct jti), signed a batch at a time. */
const tokenPool = async (alg, signingKey, count) => {
  const tokens = []
  const runId = randomBytes(6).toString("base64url")
  for (let start = 0; start < count; start += 256) {
    const batch = Math.min(256, count - start)
    tokens.push(...(await Promise.all(Array.from({ length: batch }, (_, i) => signToken(alg, signingKey, `${runId}-${start + i}`)))))
  }
  return tokens
}

const bearer = (token) => ({ authorization: `Bearer ${token}` })

/**
 * A side that takes the next token of the pool on every call, with a cursor of its own: every
 * first-seen side sees the same tokens in the same order, and none sees one twice.
 */
const firstSeen = (tokens, check) => {
  let next = 0
  return () => {
    if (next === tokens.length) throw new Error("token pool exhausted: a token would be repeated")
    return check(tokens[next++])
  }
}
/** `firstSeen` for one of our providers, with the header records built beforehand. */
const firstSeenBy = (provider, tokens) => {
  const records = tokens.map(bearer)
  return firstSeen(records, (record) => provider.authenticate(record))
}

// ---------------------------------------------------------------------------------------------
// 2. JWT HS256
// ---------------------------------------------------------------------------------------------

const secret = randomBytes(32).toString("base64url") // 43 bytes of UTF-8, over HS256's 32
const secretBytes = new TextEncoder().encode(secret)
const hmacSigningKey = await crypto.subtle.importKey("raw", secretBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
// jose's fastest path: a CryptoKey imported once (a Uint8Array or KeyObject is converted on
// every call), which is also what our provider verifies with.
const hmacVerifyKey = await crypto.subtle.importKey("raw", secretBytes, { name: "HMAC", hash: "SHA-256" }, false, ["verify"])

progress(`JWT HS256: signing ${poolSize(HS256_ITERATIONS)} distinct tokens for the first-seen side`)
const hs256Token = await signToken("HS256", hmacSigningKey, "repeated")
const hs256Pool = await tokenPool("HS256", hmacSigningKey, poolSize(HS256_ITERATIONS))
const hs256Headers = bearer(hs256Token)
const hs256Request = fakeRequest(hs256Headers)

// Separate providers, so that the first-seen side's tokens cannot push the repeated token
// out of a cache the provider may keep.
const oursRepeated = new JWTAuthProvider({ secret })
const oursFirstSeen = new JWTAuthProvider({ secret })
// The verified-token cache is on by default; this one shows what a new token costs without it.
const oursCacheOff = new JWTAuthProvider({ secret, tokenCache: false })
const theirsJwt = new framework.JWTAuthProvider({ secret })
const joseOptions = { algorithms: ["HS256"] }

// The limit: what verifying this token needs at the least. Take the token from the header,
// HMAC-SHA256 its signing input, compare with the decoded signature in constant time, parse
// the payload. (No claim checks: exp and friends would be a few comparisons more.)
const hmacLimit = () => {
  const token = hs256Headers.authorization.slice("Bearer ".length)
  const firstDot = token.indexOf(".")
  const lastDot = token.lastIndexOf(".")
  // The secret as a string: on Node 20 this is a little faster than a prepared KeyObject.
  const expected = createHmac("sha256", secret).update(token.slice(0, lastDot)).digest()
  const signature = Buffer.from(token.slice(lastDot + 1), "base64url")
  if (signature.length !== expected.length || !timingSafeEqual(expected, signature)) throw new Error("bad signature")
  return JSON.parse(Buffer.from(token.slice(firstDot + 1, lastDot), "base64url").toString("utf8"))
}

mustAccept("ours, repeated (HS256)", Boolean((await oursRepeated.authenticate(hs256Headers))?.data?.sub))
mustAccept("ours, first-seen (HS256)", Boolean((await oursFirstSeen.authenticate(bearer(hs256Pool.at(-1))))?.data?.sub))
mustAccept("ours, cache off (HS256)", Boolean((await oursCacheOff.authenticate(bearer(hs256Pool.at(-1))))?.data?.sub))
mustAccept("mcp-framework JWTAuthProvider", Boolean((await theirsJwt.authenticate(hs256Request))?.data?.sub))
mustAccept("jose (HS256)", (await jwtVerify(hs256Token, hmacVerifyKey, joseOptions)).payload.sub === "user-42")
mustAccept("limit (HS256)", hmacLimit().sub === "user-42")

progress(`JWT HS256: ${HS256_ITERATIONS} calls a round, ${WARMUP} + ${ROUNDS} rounds`)
gc()
const hs256 = await perCall(
  {
    oursRepeated: () => oursRepeated.authenticate(hs256Headers),
    oursFirstSeen: firstSeenBy(oursFirstSeen, hs256Pool.slice(0, -1)),
    oursCacheOff: firstSeenBy(oursCacheOff, hs256Pool.slice(0, -1)),
    theirs: () => theirsJwt.authenticate(hs256Request),
    joseFirstSeen: firstSeen(hs256Pool, (token) => jwtVerify(token, hmacVerifyKey, joseOptions)),
    jose: () => jwtVerify(hs256Token, hmacVerifyKey, joseOptions),
    limit: hmacLimit
  },
  { iterations: HS256_ITERATIONS, ...TIMED }
)
progress("  " + Object.entries(hs256).map(([side, value]) => `${side} ${micros(value)} µs`).join(", "))
await Promise.all([oursRepeated.dispose(), oursFirstSeen.dispose(), oursCacheOff.dispose()])
hs256Pool.length = 0

// ---------------------------------------------------------------------------------------------
// 3. JWT first-seen and repeated, HS256, RS256, ES256 and EdDSA, against jose, fast-jwt,
//    jsonwebtoken and the raw node:crypto limit (bench/jwt-first-seen.mjs); then 1,000
//    concurrent first-seen tokens, and the heap per cached token
// ---------------------------------------------------------------------------------------------

const algorithmRows = []
for (const alg of ALGORITHMS) algorithmRows.push(await compare(alg, { scaled, rounds: ROUNDS, warmup: WARMUP }))
progress("JWT, 1,000 concurrent first-seen tokens, 20 bursts, HS256 and ES256")
const bursts = [await burst("HS256"), await burst("ES256")]
progress(`JWT, heap with ${QUICK ? "10,000" : "100,000"} distinct cached tokens`)
const heap = await heapPerCachedToken(QUICK ? 10_000 : 100_000)

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

const apiKeyTable = table(
  ["configured keys", "ours (µs)", "mcp-framework (µs)", "limit (µs)", "ours/mcp-framework", "ours/limit"],
  apiKeyRows.map((row) => [
    String(row.count),
    micros(row.ours),
    micros(row.theirs),
    micros(row.limit),
    ratio(row.ours / row.theirs),
    ratio(row.ours / row.limit)
  ])
)
const byCount = (value) => apiKeyRows.map((row) => `${row.count}: ${ratio(value(row))}`).join(", ")
const worstVsTheirs = Math.max(...apiKeyRows.map((row) => row.ours / row.theirs))
const worstVsLimit = Math.max(...apiKeyRows.map((row) => row.ours / row.limit))

const hs256Rows = [
  ["ours, repeated token", hs256.oursRepeated],
  ["ours, first-seen token", hs256.oursFirstSeen],
  ["ours, cache off (`tokenCache: false`), first-seen token", hs256.oursCacheOff],
  ["mcp-framework `JWTAuthProvider`, repeated token", hs256.theirs],
  ["jose `jwtVerify` alone, pre-imported key, first-seen token", hs256.joseFirstSeen],
  ["jose `jwtVerify` alone, pre-imported key, repeated token", hs256.jose],
  ["limit: HMAC-SHA256 + `timingSafeEqual` + `JSON.parse`", hs256.limit]
]
const hs256Table = table(
  ["side", "µs/call", "vs limit", "vs jose, first-seen"],
  hs256Rows.map(([side, value]) => [side, micros(value), ratio(value / hs256.limit), ratio(value / hs256.joseFirstSeen)])
)
const repeatedSpeedup = hs256.theirs / hs256.oursRepeated
const repeatedVsLimit = hs256.oursRepeated / hs256.limit
const firstSeenVsJose = hs256.oursFirstSeen / hs256.joseFirstSeen
// Where a first-seen token's time goes over the limit's, measured: the cache's entry (with the
// cache minus without, same tokens), and the rest of our check (without the cache minus the limit).
const firstSeenBreakdown = `Over the limit on a first-seen HS256 token, ours spends ${micros(hs256.oursFirstSeen - hs256.limit)} µs: ` +
  `${micros(hs256.oursFirstSeen - hs256.oursCacheOff)} µs for the cache's entry (first-seen with the cache minus without) and ` +
  `${micros(hs256.oursCacheOff - hs256.limit)} µs for the rest of the check (without the cache minus the limit): ` +
  "reading the header, the strict format checks and the protected header before any crypto, the claim checks, the " +
  "principal (frozen), and the Promise API around the synchronous check."

const burstTable = table(
  ["algorithm", "ours: event-loop delay p99 (ms)", "ours: a burst (ms)", "jose: event-loop delay p99 (ms)", "jose: a burst (ms)"],
  bursts.map((row) => [row.alg, row.ours.p99.toFixed(1), row.ours.burst.toFixed(1), row.jose.p99.toFixed(1), row.jose.burst.toFixed(1)])
)
const heapLine = `Heap with ${heap.count.toLocaleString("en")} distinct cached HS256 tokens (${heap.tokenLength} characters each, ` +
  `\`tokenCache: { maxEntries: ${heap.count} }\`): ${Math.round(heap.bytes)} bytes a cached token (the digest, the frozen principal and ` +
  "its claims, the LRU node); the default bound of 10,000 tokens holds about " + `${((heap.bytes * 10_000) / 1e6).toFixed(1)} MB.`

const note = [
  "How measured: every comparison runs all its sides in one process, on the same inputs, with",
  `\`perCall\` (bench/lib.mjs): ${WARMUP} untimed rounds, then ${ROUNDS} timed rounds in which the sides take turns`,
  "(the first rotating), each call awaited; a figure is the median of a side's rounds, in µs a call.",
  "Each side's acceptance of its input is asserted before timing.",
  `API key: ${API_KEY_COUNTS.join(", ")} configured keys of 43 base64url characters (32 random bytes),`,
  "the last one presented in `x-api-key`; mcp-framework gets a fake request with the same headers;",
  "the limit hashes the presented key once and `timingSafeEqual`s it against every stored digest.",
  `Calls a round: ${API_KEY_COUNTS.map((count) => `${API_KEY_ITERATIONS[count]} (${count} key${count === 1 ? "" : "s"})`).join(", ")}.`,
  `JWT HS256: a 43-byte secret; tokens signed by jose with sub, iss, iat, exp (1 h), scope, client_id, jti;`,
  `${HS256_ITERATIONS} calls a round. Every first-seen side (ours, ours without the cache, jose) takes the tokens of`,
  `one pool of ${poolSize(HS256_ITERATIONS)} distinct tokens in the same order, each with a cursor of its own, so they get the same`,
  "inputs and none sees a token twice; our sides each have their own provider. jose verifies with a CryptoKey",
  "imported once. The first-seen targets compare ours with jose on those same tokens: jose is faster on a repeated",
  "token (the same bytes again), which its repeated row shows. mcp-framework's provider takes only a secret, so it",
  "is in the HS256 table only.",
  `With the cache's default bound of ${DEFAULT_TOKEN_CACHE_ENTRIES.toLocaleString("en")} tokens, ${roundsWithFullCache(HS256_ITERATIONS)} of the ${ROUNDS} timed HS256`,
  "first-seen rounds started with the cache full (every call then also evicts one entry); so did the later rounds of the",
  "by-algorithm HS256 comparison.",
  ...(QUICK ? ["BENCH_QUICK=1: a tenth of the iterations."] : [])
].join("\n")

printSection(
  "Per call: API key and JWT checks",
  "### API key (presented key = the last configured)",
  apiKeyTable,
  [
    target("API key: no slower than mcp-framework's provider, whatever the key count", worstVsTheirs <= 1, `ours/mcp-framework ${byCount((row) => row.ours / row.theirs)}`),
    target("API key: within 2x of the limit, whatever the key count", worstVsLimit <= 2, `ours/limit ${byCount((row) => row.ours / row.limit)}`)
  ].join("\n"),
  "### JWT HS256",
  hs256Table,
  [
    target("JWT, repeated token: at least 50x faster than mcp-framework's JWTAuthProvider", repeatedSpeedup >= 50, `${ratio(repeatedSpeedup)} faster`),
    target("JWT, repeated token: within 3x of the raw-HMAC limit", repeatedVsLimit <= 3, `ours/limit ${ratio(repeatedVsLimit)}`),
    target("JWT, first-seen token: within 1.3x of jose alone", firstSeenVsJose <= 1.3, `ours/jose ${ratio(firstSeenVsJose)}`)
  ].join("\n"),
  firstSeenBreakdown,
  "### JWT first-seen and repeated tokens, by algorithm (issue 18)",
  comparisonTable(algorithmRows),
  comparisonTargets(algorithmRows),
  "Every verifier has the same checks: the one algorithm, `exp` required, `iss` and `aud`. Ours is measured twice, with its " +
    "defaults (verified-token cache of 10,000, clock tolerance 30 s): the server path is the provider service's synchronous " +
    "`authenticateAt`, which every server of ours calls (`Gate.checkNow`) and which answers an `Exit`; the Promise API is " +
    "`authenticate` (mcp-framework's contract), which wraps that answer in a Promise; " +
    "jose is `jwtVerify` with a key imported once; fast-jwt is `createVerifier` without its cache; jsonwebtoken 9 has no " +
    "EdDSA. The limit is the signature check (`createHmac` + `timingSafeEqual`, or `crypto.verify` with a prepared " +
    "`KeyObject`) plus decoding and `JSON.parse` of the payload. All first-seen sides take the tokens of one pool in the same " +
    "order; tokens are signed by node:crypto (RSA 2048, P-256, Ed25519).",
  "### 1,000 concurrent first-seen tokens",
  burstTable,
  "20 bursts of 1,000 distinct tokens each, through our `check` and through jose's `jwtVerify`, all started at once and awaited " +
    "together, 2 ms apart; `monitorEventLoopDelay` (1 ms resolution) over the bursts. Our node:crypto path is synchronous, so a " +
    "burst holds the loop for its whole length; jose's spreads over WebCrypto's thread pool.",
  heapLine,
  note
)
