// The demo behind `pnpm demo`: an MCP server on 127.0.0.1 serving both transports (HTTP+SSE
// at /sse + /messages, Streamable HTTP at /mcp) with one tool, `whoami`, that answers with
// the caller's identity, and the authentication counters at /metrics (Prometheus text,
// public: the demo listens on loopback). Configured by environment variables read through
// Effect `Config`:
//
//   PORT (8080)  HOST (127.0.0.1)  MCP_AUTH (api-key | jwt)
//   MCP_API_KEYS (comma-separated; unset: one strong key is generated and printed once)
//   MCP_API_KEYS_FILE (instead of MCP_API_KEYS: a file of keys, one a line, reloaded when it changes)
//   MCP_API_KEY_HEADER (X-API-Key)
//   MCP_JWT_SECRET  MCP_JWT_ALGORITHMS  MCP_JWT_ISSUER  MCP_JWT_AUDIENCE
//   MCP_AUTH_SSE (false)  MCP_AUTH_MESSAGES (true)
//   REDIS_URL (unset: failed attempts are counted in memory; set: shared by every demo on that Redis)
//
// Bad configuration exits with one line naming the variable.
import { ApiKey, getPrincipal, Jwt, McpHttp } from "@mcpgate/mcp-sdk"
import { Cause, Config, ConfigError, Effect, Exit, Layer, Option, Redacted, Runtime } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

const DemoConfig = Config.all({
  port: Config.port("PORT").pipe(Config.withDefault(8080)),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  auth: Config.literal("api-key", "jwt")("MCP_AUTH").pipe(Config.withDefault("api-key")),
  apiKeys: Config.option(Config.redacted("MCP_API_KEYS")),
  apiKeysFile: Config.option(Config.string("MCP_API_KEYS_FILE")),
  apiKeyHeader: Config.string("MCP_API_KEY_HEADER").pipe(Config.withDefault("X-API-Key")),
  sse: Config.boolean("MCP_AUTH_SSE").pipe(Config.withDefault(false)),
  messages: Config.boolean("MCP_AUTH_MESSAGES").pipe(Config.withDefault(true)),
  redisUrl: Config.option(Config.redacted("REDIS_URL"))
})

// Problems reported by option name, told by the variable that set the option.
const VARIABLES = {
  "api-key": { keys: "MCP_API_KEYS", headerName: "MCP_API_KEY_HEADER" },
  jwt: {
    secret: "MCP_JWT_SECRET",
    algorithms: "MCP_JWT_ALGORITHMS",
    issuer: "MCP_JWT_ISSUER",
    audience: "MCP_JWT_AUDIENCE",
    publicKey: "MCP_JWT_PUBLIC_KEY",
    jwksUrl: "MCP_JWT_JWKS_URL"
  }
}

/** A problem the demo itself found, already said in one line. */
class DemoError {
  constructor(message) {
    this.message = message
  }
}

/**
 * One line for a failed start: Config errors already name their variable; option errors are
 * renamed. `keyLines`, for keys read from MCP_API_KEYS_FILE: the line number of each key.
 */
const explain = (error, auth, keyLines) => {
  if (error instanceof DemoError) return error.message
  if (ConfigError.isConfigError(error)) return String(error).replace(/\s+/g, " ").trim().replace(/^\((.*)\)$/, "$1")
  const names = VARIABLES[auth] ?? {}
  const problems = String(error?.message ?? error)
    .replace(/^Invalid [^:]*options:/, "")
    .split("\n")
    .map((line) => line.trim().replace(/^- /, ""))
    .filter((line) => line.length > 0)
    .map((line) => line.replace(/^([A-Za-z]+)(?:\[(\d+)\]|\.(\d+))?/, (whole, field, bracket, dotted) => {
      const index = bracket ?? dotted
      if (field === "keys" && keyLines !== undefined) {
        return index === undefined ? "MCP_API_KEYS_FILE" : `MCP_API_KEYS_FILE line ${keyLines[Number(index)]}`
      }
      if (names[field] === undefined) return whole
      return index === undefined ? names[field] : `${names[field]} (item ${Number(index) + 1})`
    }))
    .map((line) =>
      line.startsWith("give the verification key")
        ? "MCP_JWT_SECRET is not set: give an HMAC secret of at least 32 bytes (or MCP_JWT_PUBLIC_KEY or MCP_JWT_JWKS_URL); " +
          "make one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\""
        : line)
  return problems.join("; ")
}

const whoami = (server) =>
  server.registerTool("whoami", { description: "Answers with the identity mcpgate authenticated for this call" }, async (extraOrCtx) => {
    const caller = getPrincipal(extraOrCtx)
    return { content: [{ type: "text", text: JSON.stringify(caller ?? { anonymous: true }, null, 2) }] }
  })

const HOW_TO_MAKE_A_KEY =
  "make one with: node -e \"console.log(require('node:crypto').randomBytes(32).toString('base64url'))\""

/**
 * The keys of MCP_API_KEYS_FILE, each with its line number: one key a line; blank lines and
 * comments are ignored. A comment starts with `#` at the start of a line or after
 * whitespace (`key  # who has it`): keys hold no whitespace, so a `#` inside a key is
 * still part of it.
 */
const parseKeyFile = (text) => {
  const keys = []
  const lines = []
  for (const [index, line] of text.replace(/^\uFEFF/, "").split(/\r?\n/).entries()) {
    const key = line.replace(/(^|\s)#[\s\S]*$/, "").trim()
    if (key.length === 0) continue
    keys.push(Redacted.make(key))
    lines.push(index + 1)
  }
  return { keys, lines }
}

const unreadable = (error) =>
  `cannot be read (${error?.code === "ENOENT" ? "no such file" : error?.code ?? String(error?.message ?? error)})`

/** The file's text, or what is wrong with it, in words that never quote a key. */
const readKeyFile = (file) => {
  let text
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (error) {
    return { problem: unreadable(error) }
  }
  const { keys, lines } = parseKeyFile(text)
  if (keys.length === 0) return { text, problem: `holds no keys: write one key a line; ${HOW_TO_MAKE_A_KEY}` }
  return { text, keys, lines }
}

// Editors and `mv` make several events for one save; the reload waits for them to settle.
const DEBOUNCE_MS = 100

/**
 * Watches MCP_API_KEYS_FILE and gives the server's provider the new key set when it changes,
 * without a restart: `updateKeys` swaps the set at once, so a removed key fails on its next
 * request and its open SSE streams close (contract section 4). The directory is watched,
 * not the file: editors save by renaming a new file over the old one, which a watch on the
 * old file would miss, and a file deleted then made again is seen too. A file that cannot
 * be read or holds a bad key changes nothing: the previous keys stay, and one line says why.
 */
const watchKeyFile = (file, initialText) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const apiKey = yield* ApiKey.ApiKey
    const run = Runtime.runPromise(yield* Effect.runtime())
    const resolved = path.resolve(file)
    const name = path.basename(resolved)
    // What was last read (or what was wrong): the same again is not a change, so the several
    // events of one save make one reload and one line.
    let seen = initialText
    let closed = false
    let timer
    let queue = Promise.resolve()

    const refuse = (problem) => Effect.logWarning(`API keys not reloaded: MCP_API_KEYS_FILE ${problem}; the previous keys stay`)
    const reload = Effect.suspend(() => {
      if (closed) return Effect.void
      const read = readKeyFile(resolved)
      const now = read.text ?? `\0${read.problem}`
      if (now === seen) return Effect.void
      seen = now
      if (read.problem !== undefined) return refuse(read.problem)
      return apiKey.updateKeys(read.keys).pipe(
        Effect.zipRight(Effect.logInfo("API keys reloaded from MCP_API_KEYS_FILE").pipe(
          Effect.annotateLogs({ keys: read.keys.length })
        )),
        Effect.catchAll((error) => refuse(explain(error, "api-key", read.lines).replace(/^MCP_API_KEYS_FILE /, "")))
      )
    })
    const schedule = () => {
      clearTimeout(timer)
      timer = setTimeout(() => {
        queue = queue.then(() => run(reload)).catch(() => undefined)
      }, DEBOUNCE_MS)
    }

    yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          fs.watch(path.dirname(resolved), { persistent: false }, (_, changed) => {
            if (changed === null || changed === name) schedule()
          }).on("error", (error) =>
            void run(Effect.logWarning(
              `MCP_API_KEYS_FILE is no longer watched (${error.code ?? error.message}); the current keys stay`
            ))),
        catch: (error) => new DemoError(`MCP_API_KEYS_FILE (${file}) cannot be watched (${error?.code ?? error})`)
      }),
      (watcher) =>
        Effect.sync(() => {
          closed = true
          clearTimeout(timer)
          watcher.close()
        })
    )
    // A change made between the first read and the watch.
    schedule()
  }))

const banner = ({ auth, generatedKey, header, keyFile, policy, redis, url }) => {
  const lines = [
    `mcpgate demo: an MCP server on ${url.origin}`,
    `  Streamable HTTP  ${new URL("/mcp", url)}`,
    `  HTTP+SSE         ${new URL("/sse", url)}  (messages at /messages)`,
    `  metrics          ${new URL("/metrics", url)}  (Prometheus text, no auth)`,
    `  tool             whoami: answers with your identity`,
    `  auth             ${auth}; SSE stream ${policy.sse ? "authenticated" : "open"}, messages ${policy.messages ? "authenticated" : "open"}`,
    `  rate limit       20 failed attempts per client per 60 s, counted ${redis ? "on Redis (REDIS_URL), shared" : "in memory"}`
  ]
  if (auth === "api-key") {
    const configured = keyFile === undefined ? "<one of MCP_API_KEYS>" : "<one of the keys in MCP_API_KEYS_FILE>"
    lines.push(`  send header      ${header}: ${generatedKey ?? configured}`)
    if (keyFile !== undefined) lines.push(`  keys file        ${path.resolve(keyFile)} (reloaded when it changes)`)
    if (generatedKey !== undefined) {
      lines.push("  (a key generated for this run, shown once; set MCP_API_KEYS or MCP_API_KEYS_FILE to choose your own)")
    }
    lines.push(
      "",
      "Try it from another terminal:",
      `  MCP_URL=${new URL("/mcp", url)} MCP_API_KEY=<the key above> node packages/mcp-sdk/examples/client.mjs`
    )
  } else {
    lines.push("  send header      Authorization: Bearer <a JWT signed with MCP_JWT_SECRET, with exp>")
  }
  lines.push("", "Stop with Ctrl-C.")
  return lines.join("\n")
}

const program = Effect.gen(function*() {
  const config = yield* DemoConfig
  if (Option.isSome(config.apiKeys) && Option.isSome(config.apiKeysFile)) {
    return yield* Effect.fail(new DemoError("MCP_API_KEYS and MCP_API_KEYS_FILE are both set: set one of them"))
  }
  const apiKeys = config.auth === "api-key"
  const keyFilePath = apiKeys ? Option.getOrUndefined(config.apiKeysFile) : undefined
  const keyFile = keyFilePath === undefined ? undefined : readKeyFile(keyFilePath)
  if (keyFile?.problem !== undefined) {
    return yield* Effect.fail(new DemoError(`MCP_API_KEYS_FILE (${keyFilePath}) ${keyFile.problem}`))
  }
  // A missing key set is generated here, never read back from anywhere but this process.
  const generatedKey = apiKeys && Option.isNone(config.apiKeys) && keyFile === undefined
    ? randomBytes(32).toString("base64url")
    : undefined
  const keys = generatedKey !== undefined ? [Redacted.make(generatedKey)] : keyFile?.keys
  // One provider for the server and the key file's watcher, so the keys replaced are the ones checked.
  const provider = apiKeys
    ? ApiKey.layerConfig(keys === undefined ? {} : { keys: Config.succeed(keys) })
    : Jwt.layerConfig()
  const policy = { sse: config.sse, messages: config.messages }
  const serverWith = (store) =>
    McpHttp.layer({
      port: config.port,
      host: config.host,
      name: "mcpgate-demo",
      version: "0.1.0",
      register: whoami,
      sse: { endpoints: policy },
      // Public: the demo listens on loopback (HOST); behind anything else, keep it internal.
      metricsEndpoint: "/metrics",
      ...(store === undefined ? {} : { rateLimit: { store } })
    })
  // With REDIS_URL, every demo on that Redis shares each client's budget; the connection closes with the server.
  const server = Option.match(config.redisUrl, {
    onNone: () => serverWith(undefined),
    // Loaded only when asked for: @mcpgate/redis is a package of its own.
    onSome: (url) =>
      Layer.unwrapScoped(
        Effect.promise(() => import("@mcpgate/redis")).pipe(
          Effect.flatMap(({ RedisStore }) => RedisStore.make({ url })),
          Effect.map(serverWith)
        )
      )
  })
  const serving = (keyFile === undefined ? server : Layer.merge(server, watchKeyFile(keyFilePath, keyFile.text))).pipe(
    Layer.provide(provider)
  )
  return yield* Layer.launch(Layer.effectDiscard(Effect.gen(function*() {
    const { url } = yield* McpHttp.McpHttp
    yield* Effect.sync(() =>
      console.log(banner({
        auth: config.auth,
        generatedKey,
        header: config.apiKeyHeader,
        keyFile: keyFilePath,
        policy,
        redis: Option.isSome(config.redisUrl),
        url
      }))
    )
  })).pipe(Layer.provide(serving))).pipe(Effect.mapError((error) => ({ error, auth: config.auth, keyLines: keyFile?.lines })))
}).pipe(Effect.mapError((failure) => (failure?.auth === undefined ? { error: failure, auth: "api-key" } : failure)))

// Ctrl-C (or SIGTERM) interrupts the program, which closes the server, streams and all.
const fiber = Effect.runFork(program)
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => fiber.unsafeInterruptAsFork(fiber.id()))
const exit = await Effect.runPromise(fiber.await)
if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
  console.error(`mcpgate demo: ${failure === undefined ? Cause.pretty(exit.cause).split("\n")[0] : explain(failure.error, failure.auth, failure.keyLines)}`)
  process.exit(1)
}
console.log("mcpgate demo: stopped")
