// What introspection (RFC 7662) costs, against a real authorization server (oidc-provider, in
// this process, on loopback: packages/mcp-sdk/examples/authorization-server.mjs):
//   1. a cached answer, side by side with a cached JWT (local HS256 key, and the server's own
//      RS256 JWT on its remote key set), through the path every server of ours takes
//      (`service.authenticateAt`) and through the Promise API (`authenticate`), in alternating
//      rounds (lib.mjs `perCall`);
//   2. a first introspection (a token never seen) against one bare `fetch` POST of the same
//      form to the same endpoint, taking turns token by token: the round trip it cannot avoid;
//   3. 1,000 concurrent checks carrying one new token, through each path: introspection calls
//      counted on the authorization server's side.
//
//   pnpm build && node bench/introspection.mjs
//   BENCH_QUICK=1 node bench/introspection.mjs   (a tenth of the iterations, for a try)
import { IntrospectionAuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { SignJWT } from "jose"
import { randomBytes } from "node:crypto"
import { startAuthorizationServer, tokenFrom } from "../packages/mcp-sdk/examples/authorization-server.mjs"
import { median, micros, perCall, printSection, progress, ratio, table, target } from "./lib.mjs"

const QUICK = process.env.BENCH_QUICK === "1"
const scaled = (iterations) => (QUICK ? Math.max(10, Math.round(iterations / 10)) : iterations)
const TIMED = { rounds: 9, warmup: 2 }
const CACHED_ITERATIONS = scaled(20_000)
const FIRST_SEEN = QUICK ? 40 : 300
const CONCURRENT = 1_000

const RESOURCE = "http://127.0.0.1/mcp"
const bearer = (token) => ({ authorization: `Bearer ${token}` })

/** Fails the run if a side does not accept its input: timing a refusal would be a lie. */
const mustAccept = (side, accepted) => {
  if (!accepted) throw new Error(`${side} refused the benchmark's input; nothing would be measured`)
}

const [opaqueAs, jwtAs] = await Promise.all([
  startAuthorizationServer({ resource: RESOURCE, format: "opaque", scopes: "mcp" }),
  startAuthorizationServer({ resource: RESOURCE, format: "jwt", scopes: "mcp" })
])
// The timed loops of cached checks never yield to timers: a server closing an idle
// keep-alive connection late, while the client reuses it, would be a reset. Clients close theirs.
for (const as of [opaqueAs, jwtAs]) as.server.keepAliveTimeout = 120_000
/** Introspection requests the authorization server received. */
let introspections = 0
opaqueAs.server.on("request", (req) => {
  if (new URL(req.url, "http://as").pathname === "/token/introspection") introspections++
})

const introspection = new IntrospectionAuthProvider({
  endpoint: opaqueAs.introspectionEndpoint,
  issuer: opaqueAs.issuer,
  audience: RESOURCE,
  clientId: opaqueAs.clients.resourceServer.id,
  clientSecret: opaqueAs.clients.resourceServer.secret
})
const secret = randomBytes(32).toString("base64url")
const localJwt = new JWTAuthProvider({ secret, issuer: "https://bench.example", audience: RESOURCE })
const remoteJwt = new JWTAuthProvider({ jwksUrl: `${jwtAs.issuer}/jwks`, issuer: jwtAs.issuer, audience: RESOURCE, algorithms: ["RS256"] })

// ---------------------------------------------------------------------------------------
// 1. Cached answers.

const localToken = await new SignJWT({ scope: "mcp", client_id: "bench-client" })
  .setProtectedHeader({ alg: "HS256", typ: "JWT" })
  .setSubject("user-42").setIssuer("https://bench.example").setAudience(RESOURCE).setIssuedAt().setExpirationTime("1h")
  .sign(new TextEncoder().encode(secret))
const opaqueHeaders = bearer(await tokenFrom(opaqueAs))
const localHeaders = bearer(localToken)
const remoteHeaders = bearer(await tokenFrom(jwtAs))
for (const [side, provider, headers] of [["introspection", introspection, opaqueHeaders], ["local JWT", localJwt, localHeaders], ["remote JWT", remoteJwt, remoteHeaders]]) {
  mustAccept(side, (await provider.check(headers)).ok)
  const checked = provider.service.authenticateAt(headers, Date.now())
  // Cached now: the server path answers at once, without a fiber (a remote key set's hit
  // still asks jose whether the key is current, which is asynchronous).
  if (provider !== remoteJwt) mustAccept(`${side}, cached, answered at once`, Exit.isExit(checked) && Exit.isSuccess(checked))
  mustAccept(`${side}, cached`, Exit.isSuccess(await Effect.runPromise(Effect.exit(checked))))
}
const hitsBefore = introspections
progress(`cached: ${CACHED_ITERATIONS} calls a round, ${TIMED.warmup} + ${TIMED.rounds} rounds`)
const cached = await perCall({
  introspectionServer: () => introspection.service.authenticateAt(opaqueHeaders, Date.now()),
  localJwtServer: () => localJwt.service.authenticateAt(localHeaders, Date.now()),
  remoteJwtServer: () => remoteJwt.service.authenticateAt(remoteHeaders, Date.now()),
  introspectionPromise: () => introspection.authenticate(opaqueHeaders),
  localJwtPromise: () => localJwt.authenticate(localHeaders),
  remoteJwtPromise: () => remoteJwt.authenticate(remoteHeaders)
}, { iterations: CACHED_ITERATIONS, ...TIMED })
const cachedCalls = introspections - hitsBefore
progress("  " + Object.entries(cached).map(([side, value]) => `${side} ${micros(value)} µs`).join(", "))

// ---------------------------------------------------------------------------------------
// 2. A first introspection against one round trip.

progress(`first-seen: minting ${FIRST_SEEN * 2} opaque tokens`)
const fresh = []
for (let i = 0; i < FIRST_SEEN * 2; i++) fresh.push(await tokenFrom(opaqueAs))
const basic = `Basic ${Buffer.from(`${opaqueAs.clients.resourceServer.id}:${opaqueAs.clients.resourceServer.secret}`).toString("base64")}`
/** The least a resource server can do: one POST of the same form, its JSON read. */
const bareIntrospection = async (token) => {
  const response = await fetch(opaqueAs.introspectionEndpoint, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", authorization: basic },
    body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString()
  })
  return (await response.json()).active === true
}
const time = async (run) => {
  const start = process.hrtime.bigint()
  const result = await run()
  return { result, micros: Number(process.hrtime.bigint() - start) / 1000 }
}
const firstSeen = { ours: [], bare: [] }
const callsBefore = introspections
for (let i = 0; i < FIRST_SEEN; i++) {
  // Turns alternate which side goes first; each side gets tokens of its own, never seen.
  const sides = [
    ["ours", async () => (await introspection.check(bearer(fresh[2 * i]))).ok],
    ["bare", () => bareIntrospection(fresh[2 * i + 1])]
  ]
  if (i % 2 === 1) sides.reverse()
  for (const [side, run] of sides) {
    const { micros: spent, result } = await time(run)
    mustAccept(`first-seen ${side}`, result)
    firstSeen[side].push(spent)
  }
}
// Every call but the bare side's own, one a token.
const firstSeenCalls = introspections - callsBefore - FIRST_SEEN
const first = { ours: median(firstSeen.ours), bare: median(firstSeen.bare) }
progress(`  first introspection ${micros(first.ours)} µs, bare round trip ${micros(first.bare)} µs; ${firstSeenCalls} calls for ${FIRST_SEEN} tokens`)

// ---------------------------------------------------------------------------------------
// 3. 1,000 concurrent checks of one new token.

const burstOf = async (path, check) => {
  const token = await tokenFrom(opaqueAs)
  const before = introspections
  const start = process.hrtime.bigint()
  const results = await Promise.all(Array.from({ length: CONCURRENT }, () => check(bearer(token))))
  const millis = Number(process.hrtime.bigint() - start) / 1e6
  mustAccept(`concurrent, ${path}`, results.every(Boolean))
  return { path, calls: introspections - before, millis }
}
const bursts = [
  await burstOf("server path (authenticateAt)", (headers) =>
    Effect.runPromise(Effect.exit(introspection.service.authenticateAt(headers, Date.now()))).then(Exit.isSuccess)),
  await burstOf("Promise API (check)", async (headers) => (await introspection.check(headers)).ok)
]
for (const { calls, millis, path } of bursts) progress(`  ${CONCURRENT} concurrent, ${path}: ${calls} introspection call(s), ${millis.toFixed(1)} ms`)

await Promise.all([introspection.dispose(), localJwt.dispose(), remoteJwt.dispose()])
await Promise.all([opaqueAs.close(), jwtAs.close()])

// ---------------------------------------------------------------------------------------

const notes = [
  "Introspection against oidc-provider in the same process on loopback, `client_secret_basic`, the endpoint configured",
  "(discovery adds one fetch per `cacheMaxAge`, not per token). \"Cached\" is a token seen before: its answer is kept by the",
  "SHA-256 of the token until the earlier of `exp` and 60 s, and the claim rules are checked again on every hit.",
  `Cached: medians of ${TIMED.rounds} interleaved rounds of ${CACHED_ITERATIONS} calls; first-seen: medians over ${FIRST_SEEN} tokens a side,`,
  "the sides taking turns token by token; the bare side is one `fetch` POST of the same form to the same endpoint, its JSON read."
].join("\n")

printSection(
  "Introspection (RFC 7662)",
  notes,
  table(
    ["check", "server path (µs)", "Promise API (µs)"],
    [
      ["cached introspection answer", micros(cached.introspectionServer), micros(cached.introspectionPromise)],
      ["cached JWT, local HS256 key", micros(cached.localJwtServer), micros(cached.localJwtPromise)],
      ["cached JWT, remote RS256 key set", micros(cached.remoteJwtServer), micros(cached.remoteJwtPromise)]
    ]
  ),
  table(
    ["first-seen token", "median (µs)"],
    [["ours: a first introspection (`check`)", micros(first.ours)], ["bare `fetch` POST to the endpoint", micros(first.bare)], ["ours/bare", ratio(first.ours / first.bare)]]
  ),
  table(
    [`${CONCURRENT} concurrent checks of one new token`, "introspection calls", "all answered in (ms)"],
    bursts.map(({ calls, millis, path }) => [path, String(calls), millis.toFixed(1)])
  ),
  [
    target("Introspection, cached answer, server path: no more than a cached JWT (local key)", cached.introspectionServer <= cached.localJwtServer, `introspection/JWT ${ratio(cached.introspectionServer / cached.localJwtServer)}, ${micros(cached.introspectionServer)} µs`),
    target("Introspection, cached answer, Promise API: no more than a cached JWT (local key)", cached.introspectionPromise <= cached.localJwtPromise, `introspection/JWT ${ratio(cached.introspectionPromise / cached.localJwtPromise)}, ${micros(cached.introspectionPromise)} µs`),
    target("Introspection, cached answer: no call to the authorization server", cachedCalls === 0, `${cachedCalls} calls over every timed round`),
    target("Introspection, first-seen token: one round trip (exactly one call, within 1.5x of a bare POST)", firstSeenCalls === FIRST_SEEN && first.ours <= 1.5 * first.bare, `${firstSeenCalls} calls for ${FIRST_SEEN} tokens, ours/bare ${ratio(first.ours / first.bare)}`),
    ...bursts.map(({ calls, path }) =>
      target(`Introspection, ${CONCURRENT} concurrent requests with one new token, ${path}: one introspection call`, calls === 1, `${calls} call(s)`))
  ].join("\n")
)
