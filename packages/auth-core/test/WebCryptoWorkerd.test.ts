/**
 * `@mcpgate/auth-core` runs where only Web Crypto exists: bundled with
 * esbuild for a neutral platform with every Node built-in refused at build time (so no
 * `node:*` module is in their graph, not even one never called), and run in workerd without
 * `nodejs_compat`, where the core takes its web path; and with `nodejs_compat`, where it could
 * find `node:crypto` but keeps to Web Crypto (see `src/internal/platform.ts`). API keys, HS256 and ES256 tokens and a custom provider are let in
 * with the same identities on both, and wrong ones refused with the exact answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { apiKey401, Bodies, Challenge, JSON_HEADERS } from "@mcpgate/testing/contract"
import * as esbuild from "esbuild"
import { Miniflare } from "miniflare"
import { createHash, createHmac, generateKeyPairSync, sign } from "node:crypto"
import { builtinModules } from "node:module"
import { fileURLToPath } from "node:url"

const REPO = fileURLToPath(new URL("../../../", import.meta.url))
const API_KEY = "workerd-api-key-0123456789abcdef"
const SECRET = "w".repeat(48)
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" })
const otherEc = generateKeyPairSync("ec", { namedCurve: "P-256" })

const b64 = (bytes: string | Uint8Array) => Buffer.from(bytes).toString("base64url")
const now = () => Math.floor(Date.now() / 1000)
const hs256 = (claims: Record<string, unknown>, secret = SECRET) => {
  const input = `${b64(JSON.stringify({ alg: "HS256", typ: "JWT" }))}.${b64(JSON.stringify(claims))}`
  return `${input}.${b64(createHmac("sha256", secret).update(input).digest())}`
}
const es256 = (claims: Record<string, unknown>, key = ec.privateKey) => {
  const input = `${b64(JSON.stringify({ alg: "ES256" }))}.${b64(JSON.stringify(claims))}`
  return `${input}.${b64(sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }))}`
}

/** Node built-ins, by either name: any import of one fails the build. */
const NODE_BUILTINS = new RegExp(`^(node:.*|${builtinModules.map((name) => name.replace(/[/.]/g, "\\$&")).join("|")})$`)

const bundle = async (): Promise<string> => {
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL("fixtures/webCryptoWorker.ts", import.meta.url))],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    logLevel: "silent",
    define: {
      WORKER_CONFIG: JSON.stringify({
        apiKey: API_KEY,
        secret: SECRET,
        publicKeyPem: ec.publicKey.export({ type: "spki", format: "pem" }),
        publicJwk: ec.publicKey.export({ format: "jwk" })
      })
    },
    plugins: [{
      name: "workspace-and-no-node",
      setup(build) {
        build.onResolve({ filter: /^@mcpgate\/[^/]+(\/.+)?$/ }, ({ path }) => {
          const [, name, module] = /^@mcpgate\/([^/]+)(?:\/(.+))?$/.exec(path)!
          return { path: `${REPO}packages/${name}/src/${module ?? "index"}.ts` }
        })
        build.onResolve({ filter: NODE_BUILTINS }, ({ importer, path }) => ({
          errors: [{ text: `${path} is a Node built-in, imported by ${importer}` }]
        }))
      }
    }]
  })
  return result.outputFiles[0]!.text
}

const wrongJwt = { status: 401, headers: { ...JSON_HEADERS, "www-authenticate": Challenge.invalidToken }, body: Bodies.jwt }

describe.each([
  { nodejsCompat: false, platform: "Web" },
  // workerd's `node:crypto` refuses `verify` with key options: the core keeps to Web Crypto there.
  { nodejsCompat: true, platform: "Web" }
])("the core in workerd, nodejs_compat $nodejsCompat", ({ nodejsCompat, platform }) => {
  let worker: Miniflare
  beforeAll(async () => {
    worker = new Miniflare({
      modules: [{ type: "ESModule", path: "worker.mjs", contents: await bundle() }],
      compatibilityDate: "2026-07-01",
      compatibilityFlags: nodejsCompat ? ["nodejs_compat"] : []
    })
    await worker.ready
  }, 60_000)
  afterAll(() => worker?.dispose())

  const ask = async (path: string, headers: Record<string, string>) =>
    (await worker.dispatchFetch(`http://core.test${path}`, { headers })).json() as Promise<Record<string, unknown>>

  it(`takes the ${platform} path`, async () => {
    expect(await ask("/platform", {})).toStrictEqual({ platform })
  })

  it("lets a configured API key in and refuses a wrong one with the exact 401", async () => {
    const digest = createHash("sha256").update(API_KEY).digest("hex")
    expect(await ask("/api-key", { "x-api-key": API_KEY })).toStrictEqual({
      ok: true,
      subject: digest.slice(0, 8),
      identity: `api-key:${digest.slice(0, 16)}`,
      keyId: `api-key:${digest.slice(0, 16)}`
    })
    expect(await ask("/api-key", { "x-api-key": "wrong-key-0123456789abcdef" })).toStrictEqual({ ok: false, ...apiKey401() })
  })

  it("lets a valid HS256 token in, named by its subject or its own digest, and refuses a wrong one", async () => {
    const claims = { sub: "alice", iss: "https://issuer.example", iat: now(), exp: now() + 600 }
    const secretId = `jwt:${createHash("sha256").update(SECRET).digest("hex").slice(0, 16)}`
    expect(await ask("/hs256", { authorization: `Bearer ${hs256(claims)}` })).toStrictEqual({
      ok: true,
      subject: "alice",
      identity: `jwt:${JSON.stringify(["https://issuer.example", "alice"])}`,
      keyId: secretId
    })
    const anonymous = hs256({ iss: "https://issuer.example", exp: now() + 600 })
    expect(await ask("/hs256", { authorization: `Bearer ${anonymous}` })).toMatchObject({
      ok: true,
      identity: `jwt:token:${createHash("sha256").update(anonymous).digest("hex").slice(0, 32)}`
    })
    expect(await ask("/hs256", { authorization: `Bearer ${hs256(claims, "x".repeat(48))}` }))
      .toStrictEqual({ ok: false, ...wrongJwt })
    expect(await ask("/hs256", { authorization: `Bearer ${hs256({ ...claims, exp: now() - 3600 })}` }))
      .toStrictEqual({ ok: false, ...wrongJwt })
  })

  it("lets a valid ES256 token in against a PEM and a JWK public key, and refuses another key's", async () => {
    const claims = { sub: "bob", exp: now() + 600 }
    const keyId = `jwt:${createHash("sha256").update(ec.publicKey.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16)}`
    for (const path of ["/es256", "/es256-jwk"]) {
      expect(await ask(path, { authorization: `Bearer ${es256(claims)}` })).toStrictEqual({
        ok: true,
        subject: "bob",
        identity: `jwt:${JSON.stringify(["", "bob"])}`,
        keyId
      })
      expect(await ask(path, { authorization: `Bearer ${es256(claims, otherEc.privateKey)}` }))
        .toStrictEqual({ ok: false, ...wrongJwt })
    }
  })

  it("names a custom provider's caller without a subject by a keyed digest of its credential", async () => {
    const first = await ask("/custom", { "x-api-key": API_KEY })
    expect(first).toMatchObject({ ok: true, subject: "custom", identity: expect.stringMatching(/^custom:~[0-9a-f]{32}$/) })
    expect(await ask("/custom", { "x-api-key": API_KEY })).toStrictEqual(first)
    expect(await ask("/custom", { "x-api-key": "wrong" })).toMatchObject({ ok: false, status: 401, body: Bodies.unauthorized })
  })
})
