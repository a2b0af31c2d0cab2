// Issue 18's comparisons, for bench/per-call.mjs: first-seen and repeated JWTs for HS256,
// RS256, ES256 and EdDSA, ours (both the synchronous check every server of ours makes,
// `service.authenticateAt`, and the Promise API of mcp-framework's contract) side by side with
// jose alone, fast-jwt and jsonwebtoken, each verifier configured with the same checks
// (algorithm, `exp` required, `iss`, `aud`), and the raw node:crypto limit; then 1,000
// concurrent first-seen tokens with the event loop's delay, and the heap per cached token.
import { JWTAuthProvider } from "@mcpgate/auth-core"
import { createVerifier } from "fast-jwt"
import { importSPKI, jwtVerify } from "jose"
import jsonwebtoken from "jsonwebtoken"
import { constants, createHmac, createPublicKey, generateKeyPairSync, randomBytes, sign, timingSafeEqual, verify } from "node:crypto"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { micros, percentile, perCall, progress, ratio, table, target } from "./lib.mjs"

const ISSUER = "https://issuer.bench.example"
const AUDIENCE = "bench-api"
const b64 = (bytes) => Buffer.from(bytes).toString("base64url")

const HASH = { HS256: "sha256", RS256: "sha256", ES256: "sha256", EdDSA: null }
const SIGN_OPTIONS = {
  RS256: (key) => ({ key, padding: constants.RSA_PKCS1_PADDING }),
  ES256: (key) => ({ key, dsaEncoding: "ieee-p1363" }),
  EdDSA: (key) => key
}

/** The algorithm's keys: what signs, what each verifier is given. */
const keysFor = (alg) => {
  if (alg === "HS256") {
    const secret = randomBytes(32).toString("base64url")
    return { secret, sign: (input) => createHmac("sha256", secret).update(input).digest() }
  }
  const pair = alg === "RS256"
    ? generateKeyPairSync("rsa", { modulusLength: 2048 })
    : alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519")
  return {
    publicKey: pair.publicKey,
    pem: pair.publicKey.export({ type: "spki", format: "pem" }).toString(),
    sign: (input) => sign(HASH[alg], input, SIGN_OPTIONS[alg](pair.privateKey))
  }
}

/** A token with what a real one carries, signed synchronously by node:crypto. */
const tokenOf = (alg, keys, jti) => {
  const now = Math.floor(Date.now() / 1000)
  const header = b64(JSON.stringify({ alg, typ: "JWT" }))
  const payload = b64(JSON.stringify({
    scope: "tools:read tools:call", client_id: "bench-client", jti, sub: "user-42", iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 3600
  }))
  return `${header}.${payload}.${b64(keys.sign(Buffer.from(`${header}.${payload}`)))}`
}

const pool = (alg, keys, count) => {
  const runId = randomBytes(6).toString("base64url")
  return Array.from({ length: count }, (_, i) => tokenOf(alg, keys, `${runId}-${i}`))
}

/** The least work the check needs: the signature, and the payload read. */
const limitFor = (alg, keys) => {
  if (alg === "HS256") {
    const secret = Buffer.from(keys.secret)
    return (token) => {
      const dot = token.lastIndexOf(".")
      const mac = createHmac("sha256", secret).update(token.slice(0, dot)).digest()
      const signature = Buffer.from(token.slice(dot + 1), "base64url")
      if (mac.length !== signature.length || !timingSafeEqual(mac, signature)) return undefined
      return JSON.parse(Buffer.from(token.slice(token.indexOf(".") + 1, dot), "base64url").toString())
    }
  }
  const key = SIGN_OPTIONS[alg](keys.publicKey)
  return (token) => {
    const dot = token.lastIndexOf(".")
    if (!verify(HASH[alg], Buffer.from(token.slice(0, dot)), key, Buffer.from(token.slice(dot + 1), "base64url"))) return undefined
    return JSON.parse(Buffer.from(token.slice(token.indexOf(".") + 1, dot), "base64url").toString())
  }
}

const bearer = (token) => ({ authorization: `Bearer ${token}` })
const cursor = (tokens, check) => {
  let next = 0
  return () => {
    if (next === tokens.length) throw new Error("token pool exhausted: a token would be repeated")
    return check(tokens[next++])
  }
}
const mustAccept = (side, accepted) => {
  if (!accepted) throw new Error(`${side} refused the benchmark's input; nothing would be measured`)
}

export const ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"]
const ITERATIONS = { HS256: 2_000, RS256: 300, ES256: 300, EdDSA: 600 }

/** One algorithm's sides, timed in alternating rounds. */
export const compare = async (alg, { scaled, rounds, warmup }) => {
  const iterations = scaled(ITERATIONS[alg])
  const keys = keysFor(alg)
  const providerOptions = { ...(alg === "HS256" ? { secret: keys.secret } : { publicKey: keys.pem }), algorithms: [alg], issuer: ISSUER, audience: AUDIENCE }
  const fresh = new JWTAuthProvider(providerOptions)
  // The path every server of ours takes (`Gate.checkNow`): the service's synchronous check.
  const serving = new JWTAuthProvider(providerOptions)
  const authenticateAt = serving.service.authenticateAt
  const repeated = new JWTAuthProvider(providerOptions)
  const joseKey = alg === "HS256" ? new TextEncoder().encode(keys.secret) : await importSPKI(keys.pem, alg)
  const joseOptions = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ["exp"] }
  const fastJwt = createVerifier({ key: alg === "HS256" ? keys.secret : keys.pem, algorithms: [alg], allowedIss: ISSUER, allowedAud: AUDIENCE, requiredClaims: ["exp"] })
  // jsonwebtoken 9 has no EdDSA.
  const jwtKey = alg === "HS256" ? keys.secret : createPublicKey(keys.pem)
  const jwtOptions = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE }
  const limit = limitFor(alg, keys)

  const size = (warmup + rounds) * iterations + 1
  progress(`JWT ${alg}: signing ${size} distinct tokens; ${iterations} calls a round, ${warmup} + ${rounds} rounds`)
  const tokens = pool(alg, keys, size)
  const one = tokens.pop()
  mustAccept(`ours (${alg})`, Boolean((await fresh.authenticate(bearer(one)))?.data?.sub))
  mustAccept(`ours, server path (${alg})`, authenticateAt(bearer(one), Date.now())?._tag === "Success")
  mustAccept(`ours, repeated (${alg})`, Boolean((await repeated.authenticate(bearer(one)))?.data?.sub))
  mustAccept(`jose (${alg})`, (await jwtVerify(one, joseKey, joseOptions)).payload.sub === "user-42")
  mustAccept(`fast-jwt (${alg})`, fastJwt(one).sub === "user-42")
  if (alg !== "EdDSA") mustAccept(`jsonwebtoken (${alg})`, jsonwebtoken.verify(one, jwtKey, jwtOptions).sub === "user-42")
  mustAccept(`limit (${alg})`, limit(one)?.sub === "user-42")
  const headers = bearer(one)
  const records = tokens.map(bearer)

  const sides = {
    ours: cursor(records, (record) => fresh.authenticate(record)),
    oursServer: cursor(records, (record) => authenticateAt(record, Date.now())),
    oursRepeated: () => repeated.authenticate(headers),
    jose: cursor(tokens, (token) => jwtVerify(token, joseKey, joseOptions)),
    fastJwt: cursor(tokens, fastJwt),
    ...(alg === "EdDSA" ? {} : { jsonwebtoken: cursor(tokens, (token) => jsonwebtoken.verify(token, jwtKey, jwtOptions)) }),
    limit: cursor(tokens, limit)
  }
  const result = await perCall(sides, { iterations, rounds, warmup })
  progress("  " + Object.entries(result).map(([side, value]) => `${side} ${micros(value)} µs`).join(", "))
  await Promise.all([fresh.dispose(), serving.dispose(), repeated.dispose()])
  return { alg, iterations, ...result }
}

export const comparisonTable = (rows) =>
  table(
    ["algorithm", "ours first-seen, server path (µs)", "ours first-seen, Promise API (µs)", "ours repeated (µs)", "jose (µs)", "fast-jwt (µs)", "jsonwebtoken (µs)", "limit (µs)", "server/limit", "Promise/limit", "server/fast-jwt", "Promise/fast-jwt", "Promise/jose", "repeated/limit"],
    rows.map((row) => [
      row.alg,
      micros(row.oursServer),
      micros(row.ours),
      micros(row.oursRepeated),
      micros(row.jose),
      micros(row.fastJwt),
      row.jsonwebtoken === undefined ? "n/a" : micros(row.jsonwebtoken),
      micros(row.limit),
      ratio(row.oursServer / row.limit),
      ratio(row.ours / row.limit),
      ratio(row.oursServer / row.fastJwt),
      ratio(row.ours / row.fastJwt),
      ratio(row.ours / row.jose),
      ratio(row.oursRepeated / row.limit)
    ])
  )

export const comparisonTargets = (rows) =>
  rows.flatMap((row) => {
    const bound = row.alg === "HS256" ? 2 : 1.3
    const what = row.alg === "HS256" ? "HMAC + compare + JSON.parse" : "bare crypto.verify + JSON.parse"
    return [
      target(`JWT ${row.alg}, first-seen token, server path: within ${bound}x of the raw limit (${what})`, row.oursServer / row.limit <= bound, `server/limit ${ratio(row.oursServer / row.limit)}`),
      target(`JWT ${row.alg}, first-seen token, Promise API: within ${bound}x of the raw limit (${what})`, row.ours / row.limit <= bound, `Promise/limit ${ratio(row.ours / row.limit)}`),
      target(`JWT ${row.alg}, first-seen token, server path: no slower than fast-jwt with the same checks`, row.oursServer <= row.fastJwt, `server/fast-jwt ${ratio(row.oursServer / row.fastJwt)}`),
      target(`JWT ${row.alg}, first-seen token, Promise API: no slower than fast-jwt with the same checks`, row.ours <= row.fastJwt, `Promise/fast-jwt ${ratio(row.ours / row.fastJwt)}`)
    ]
  }).join("\n")

/** 1,000 first-seen tokens at once, a burst at a time: the event loop's delay while they run. */
export const burst = async (alg, { bursts = 20, size = 1_000 } = {}) => {
  const keys = keysFor(alg)
  const provider = new JWTAuthProvider({ ...(alg === "HS256" ? { secret: keys.secret } : { publicKey: keys.pem }), algorithms: [alg], issuer: ISSUER, audience: AUDIENCE })
  const joseKey = alg === "HS256" ? new TextEncoder().encode(keys.secret) : await importSPKI(keys.pem, alg)
  const joseOptions = { algorithms: [alg], issuer: ISSUER, audience: AUDIENCE, requiredClaims: ["exp"] }
  const measure = async (check) => {
    const tokens = pool(alg, keys, bursts * size)
    const histogram = monitorEventLoopDelay({ resolution: 1 })
    const durations = []
    histogram.enable()
    for (let i = 0; i < bursts; i++) {
      const start = process.hrtime.bigint()
      await Promise.all(tokens.slice(i * size, (i + 1) * size).map(check))
      durations.push(Number(process.hrtime.bigint() - start) / 1e6)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    histogram.disable()
    return { p99: histogram.percentile(99) / 1e6, burst: percentile(durations, 50) }
  }
  const ours = await measure((token) => provider.check(bearer(token)))
  const jose = await measure((token) => jwtVerify(token, joseKey, joseOptions))
  await provider.dispose()
  return { alg, ours, jose }
}

/** The heap held by `count` distinct cached tokens, in bytes a token. */
export const heapPerCachedToken = async (count = 100_000) => {
  setFlagsFromString("--expose-gc")
  const gc = globalThis.gc ?? runInNewContext("gc")
  const keys = keysFor("HS256")
  gc()
  // Before the tokens exist: they are dropped before the heap is read again.
  const before = process.memoryUsage().heapUsed
  let tokens = pool("HS256", keys, count)
  const provider = new JWTAuthProvider({ secret: keys.secret, issuer: ISSUER, audience: AUDIENCE, tokenCache: { maxEntries: count } })
  for (const token of tokens) mustAccept("ours (heap)", (await provider.check(bearer(token))).ok)
  const sample = tokens[0]
  tokens = undefined
  gc()
  const after = process.memoryUsage().heapUsed
  await provider.dispose()
  return { count, bytes: (after - before) / count, tokenLength: sample.length }
}
