// The demo behind `pnpm demo`: an MCP server on 127.0.0.1 serving both transports (HTTP+SSE
// at /sse + /messages, Streamable HTTP at /mcp) with one tool, `whoami`, that answers with
// the caller's identity, and the authentication counters at /metrics (Prometheus text,
// public: the demo listens on loopback). Configured by environment variables read through
// Effect `Config`:
//
//   PORT (8080)  HOST (127.0.0.1)  MCP_AUTH (api-key | jwt | oauth; `--oauth` on the command line
//     makes oauth the default)
//   MCP_API_KEYS (comma-separated; unset: one strong key is generated and printed once)
//   MCP_API_KEYS_FILE (instead of MCP_API_KEYS: a file of keys, one a line, reloaded when it changes)
//   MCP_API_KEYS_FILE_POLL (2: the file is also read again this often, in seconds)
//   MCP_API_KEY_HEADER (X-API-Key)  MCP_API_KEY_ALLOW_BEARER (false: true also reads the key from
//     `Authorization: Bearer <key>`, for clients that can set no other header)
//   MCP_JWT_SECRET | MCP_JWT_PUBLIC_KEY | MCP_JWT_JWKS_URL (MCP_AUTH=jwt: exactly one; the public
//     key is an SPKI PEM, "\n" standing for line breaks if need be, or one JWK as JSON)
//   MCP_JWT_ALGORITHMS  MCP_JWT_ISSUER  MCP_JWT_AUDIENCE
//   MCP_RESOURCE_URL  MCP_AUTHORIZATION_SERVERS  MCP_SCOPES_SUPPORTED (MCP_AUTH=jwt, the first two
//     together: the server as an OAuth protected resource, RFC 9728; the metadata is served
//     and every Bearer challenge names it. JWTs must carry aud = MCP_RESOURCE_URL and iss =
//     one of the authorization servers: MCP_JWT_ISSUER may pick one of them, MCP_JWT_AUDIENCE
//     may only repeat the resource)
//   MCP_AUTH_SSE (false)  MCP_AUTH_MESSAGES (true)
//   REDIS_URL (unset: failed attempts are counted in memory; set: shared by every demo on that Redis)
//   MCP_AUTH=oauth: a local OAuth authorization server (oidc-provider) starts in this process
//     (./demo-oauth.mjs), and the demo is its protected resource: mcp-framework's
//     OAuthAuthProvider given only the issuer. MCP_OAUTH_TOKENS (jwt | opaque: introspected),
//     MCP_OAUTH_PORT (0: any free port), MCP_RESOURCE_URL (default http://HOST:PORT/mcp)
//
// Bad configuration exits with one line naming the variable.
import { ProtectedResource } from "@mcpgate/http"
import { ApiKey, getPrincipal, Jwt, McpHttp } from "@mcpgate/mcp-sdk"
import { Cause, Config, ConfigError, Effect, Exit, Layer, Metric, Option, Redacted, Runtime } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"

/** A variable that is unset or blank is not given, as in the providers' own `layerConfig`. */
const optionalText = (name) => Config.map(Config.option(Config.string(name)), Option.filter((text) => text.trim().length > 0))

/** A comma-separated list, items trimmed; an empty item is kept, for the check to name it. */
const optionalList = (name) => Config.map(optionalText(name), Option.map((list) => list.split(",").map((item) => item.trim())))

const DemoConfig = Config.all({
  port: Config.port("PORT").pipe(Config.withDefault(8080)),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  auth: Config.literal("api-key", "jwt", "oauth")("MCP_AUTH").pipe(
    Config.withDefault(process.argv.includes("--oauth") ? "oauth" : "api-key")
  ),
  oauthTokens: Config.literal("jwt", "opaque")("MCP_OAUTH_TOKENS").pipe(Config.withDefault("jwt")),
  oauthPort: Config.integer("MCP_OAUTH_PORT").pipe(
    Config.validate({ message: "must be a port from 0 (any free one) to 65535", validation: (port) => port >= 0 && port <= 65535 }),
    Config.withDefault(0)
  ),
  apiKeys: Config.option(Config.redacted("MCP_API_KEYS")),
  apiKeysFile: Config.option(Config.string("MCP_API_KEYS_FILE")),
  // How often the key file is read again whatever the watcher saw: the bound on a removal.
  apiKeysFilePoll: Config.number("MCP_API_KEYS_FILE_POLL").pipe(
    Config.validate({ message: "must be a number of seconds from 0.1 to 3600", validation: (seconds) => seconds >= 0.1 && seconds <= 3600 }),
    Config.withDefault(2)
  ),
  apiKeyHeader: Config.string("MCP_API_KEY_HEADER").pipe(Config.withDefault("X-API-Key")),
  // For clients that can send a key only as `Authorization: Bearer <key>` (ApiKey's `allowBearer`).
  apiKeyAllowBearer: Config.boolean("MCP_API_KEY_ALLOW_BEARER").pipe(Config.withDefault(false)),
  sse: Config.boolean("MCP_AUTH_SSE").pipe(Config.withDefault(false)),
  messages: Config.boolean("MCP_AUTH_MESSAGES").pipe(Config.withDefault(true)),
  redisUrl: Config.option(Config.redacted("REDIS_URL")),
  // Read here to check that exactly one key is given; the JWT provider reads the secret itself.
  jwtSecretGiven: Config.map(Config.option(Config.redacted("MCP_JWT_SECRET")), Option.exists((secret) => Redacted.value(secret).length > 0)),
  jwtPublicKey: optionalText("MCP_JWT_PUBLIC_KEY"),
  jwtJwksUrl: optionalText("MCP_JWT_JWKS_URL"),
  jwtIssuer: optionalText("MCP_JWT_ISSUER"),
  jwtAudience: optionalText("MCP_JWT_AUDIENCE"),
  resourceUrl: optionalText("MCP_RESOURCE_URL"),
  authorizationServers: optionalList("MCP_AUTHORIZATION_SERVERS"),
  scopesSupported: optionalList("MCP_SCOPES_SUPPORTED")
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
  },
  protectedResource: {
    resource: "MCP_RESOURCE_URL",
    authorizationServers: "MCP_AUTHORIZATION_SERVERS",
    scopesSupported: "MCP_SCOPES_SUPPORTED"
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

/** Failed reloads of MCP_API_KEYS_FILE, served at /metrics with the rest. */
const keyFileErrors = Metric.counter("mcpgate_api_key_file_errors_total", {
  description: "Reloads of MCP_API_KEYS_FILE that found it unreadable or holding a bad key",
  incremental: true
})

/** Whether one key would be accepted on its own (its length and characters), never saying it. */
const acceptable = (key) => Effect.runSync(Effect.isSuccess(ApiKey.make({ keys: [key] })))

/**
 * Watches MCP_API_KEYS_FILE and gives the server's provider the new key set when it changes,
 * without a restart: `updateKeys` swaps the set at once, so a removed key fails on its next
 * request and its open streams close (contract section 4). Two ways to notice, so that no
 * removal is missed: the directory is watched (editors save by renaming a new file over the
 * old one, and a Kubernetes secret changes by swapping a symlink beside it, so any event
 * there is a reason to read again), and the file is read again every `pollSeconds` anyway
 * (MCP_API_KEYS_FILE_POLL), the bound on how long a removal can take. What counts is the
 * text read through the path, symlinks followed.
 *
 * A file that cannot be read whole never keeps a key the operator removed: an emptied file
 * revokes every key; a file that is missing or unreadable, or holds a bad line, keeps only
 * the keys both in force before and on its good lines (new keys wait for a file without
 * errors), and the problem is logged by line number and counted in
 * `mcpgate_api_key_file_errors_total`.
 */
const watchKeyFile = (file, initialText, initialKeys, pollSeconds) =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const apiKey = yield* ApiKey.ApiKey
    const run = Runtime.runPromise(yield* Effect.runtime())
    const resolved = path.resolve(file)
    // What was last read (or what was wrong): the same again is not a change, so the several
    // events of one save make one reload and one line.
    let seen = initialText
    let inForce = initialKeys.map(Redacted.value)
    let closed = false
    let timer
    let queue = Promise.resolve()

    const apply = (keys) => Effect.zipRight(apiKey.updateKeys(keys.map(Redacted.make)), Effect.sync(() => (inForce = keys)))
    /** Keeps only the keys in force that are still on a good line, and says so. */
    const degrade = (problem, goodKeys) => {
      const kept = inForce.filter((key) => goodKeys.includes(key))
      return apply(kept).pipe(
        Effect.zipRight(Metric.increment(keyFileErrors)),
        Effect.zipRight(Effect.logWarning(
          `API keys file MCP_API_KEYS_FILE ${problem}; keeping only the keys both in force before and still in the file`
        ).pipe(Effect.annotateLogs({ keys: kept.length })))
      )
    }
    const reload = Effect.suspend(() => {
      if (closed) return Effect.void
      let text
      try {
        text = fs.readFileSync(resolved, "utf8")
      } catch (error) {
        if (seen === null) return Effect.void
        seen = null
        return degrade(unreadable(error), [])
      }
      if (text === seen) return Effect.void
      seen = text
      const { keys, lines } = parseKeyFile(text)
      const values = keys.map(Redacted.value)
      if (values.length === 0) {
        return apply([]).pipe(
          Effect.zipRight(Effect.logWarning("API keys file MCP_API_KEYS_FILE holds no keys: every key is revoked"))
        )
      }
      return apiKey.updateKeys(keys).pipe(
        Effect.zipRight(Effect.sync(() => (inForce = values))),
        Effect.zipRight(Effect.logInfo("API keys reloaded from MCP_API_KEYS_FILE").pipe(Effect.annotateLogs({ keys: keys.length }))),
        Effect.catchAll((error) => {
          const problem = explain(error, "api-key", lines).replace(/^MCP_API_KEYS_FILE /, "")
          // A key on a good line is one accepted on its own and not repeated before it.
          const good = values.filter((key, index) => values.indexOf(key) === index && acceptable(key))
          return degrade(problem, good)
        })
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
          fs.watch(path.dirname(resolved), { persistent: false }, schedule).on("error", (error) =>
            void run(Effect.logWarning(
              `MCP_API_KEYS_FILE's directory is no longer watched (${error.code ?? error.message}); the file is still read every ${pollSeconds} s`
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
    yield* Effect.acquireRelease(
      Effect.sync(() => setInterval(schedule, pollSeconds * 1000).unref()),
      (poll) => Effect.sync(() => clearInterval(poll))
    )
    // A change made between the first read and the watch.
    schedule()
  }))

const fail = (message) => Effect.fail(new DemoError(message))

/**
 * MCP_AUTH=oauth: a local authorization server, started here and stopped with the demo, and
 * the demo's provider for it (./demo-oauth.mjs). The resource is MCP_RESOURCE_URL, else the
 * demo's own /mcp.
 */
const oauthModeOf = (config) =>
  Effect.gen(function*() {
    if (Option.isSome(config.authorizationServers) || Option.isSome(config.scopesSupported)) {
      return yield* fail("MCP_AUTHORIZATION_SERVERS and MCP_SCOPES_SUPPORTED are decided by MCP_AUTH=oauth's own authorization server: unset them")
    }
    const resource = Option.getOrElse(config.resourceUrl, () => `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}/mcp`)
    const { startOAuthMode } = yield* Effect.promise(() => import("./demo-oauth.mjs"))
    return yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => startOAuthMode({ resource, format: config.oauthTokens, port: config.oauthPort, host: config.host }),
        catch: (error) => new DemoError(`the local authorization server could not start: ${error?.code ?? error?.message ?? error}`)
      }),
      (mode) => Effect.promise(() => mode.close())
    )
  })

/**
 * The JWT provider's key: exactly one of the three variables. MCP_JWT_PUBLIC_KEY is an SPKI
 * PEM or one JWK as JSON; in a PEM, a literal "\n" stands for a line break, for environment
 * files that hold one line a variable (a PEM has no backslash of its own).
 */
const jwtKeyOf = (config) =>
  Effect.gen(function*() {
    const given = [
      ["MCP_JWT_SECRET", config.jwtSecretGiven],
      ["MCP_JWT_PUBLIC_KEY", Option.isSome(config.jwtPublicKey)],
      ["MCP_JWT_JWKS_URL", Option.isSome(config.jwtJwksUrl)]
    ].filter(([, isGiven]) => isGiven).map(([name]) => name)
    if (given.length === 0) {
      return yield* fail(
        `MCP_JWT_SECRET is not set: give an HMAC secret of at least 32 bytes (or MCP_JWT_PUBLIC_KEY or MCP_JWT_JWKS_URL); ${HOW_TO_MAKE_A_KEY}`
      )
    }
    if (given.length > 1) {
      return yield* fail(`${given.join(" and ")} are set: set exactly one of MCP_JWT_SECRET, MCP_JWT_PUBLIC_KEY and MCP_JWT_JWKS_URL`)
    }
    if (Option.isNone(config.jwtPublicKey)) return { source: given[0], publicKey: Option.none() }
    const text = config.jwtPublicKey.value.trim()
    if (!text.startsWith("{")) return { source: given[0], publicKey: Option.some(text.replace(/\\n/g, "\n")) }
    const jwk = yield* Effect.try({
      try: () => JSON.parse(text),
      catch: () => new DemoError("MCP_JWT_PUBLIC_KEY is not valid JSON: give an SPKI PEM (\"-----BEGIN PUBLIC KEY-----\") or one JWK")
    })
    return { source: given[0], publicKey: Option.some(jwk) }
  })

/**
 * The server as an OAuth protected resource (RFC 9728), or undefined. MCP_RESOURCE_URL and
 * MCP_AUTHORIZATION_SERVERS come together, and only with MCP_AUTH=jwt: an authorization
 * server issues tokens, and an API-key server would announce one it never asks.
 */
const protectedResourceOf = (config) =>
  Effect.gen(function*() {
    const { authorizationServers, resourceUrl, scopesSupported } = config
    if (Option.isNone(resourceUrl)) {
      const alone = [["MCP_AUTHORIZATION_SERVERS", authorizationServers], ["MCP_SCOPES_SUPPORTED", scopesSupported]]
        .filter(([, value]) => Option.isSome(value))
        .map(([name]) => name)
      if (alone.length === 0) return undefined
      return yield* fail(
        `${alone.join(" and ")} ${alone.length === 1 ? "is" : "are"} set without MCP_RESOURCE_URL: ` +
          "set MCP_RESOURCE_URL to the URL clients use for /mcp (e.g. http://127.0.0.1:8080/mcp)"
      )
    }
    if (Option.isNone(authorizationServers)) {
      return yield* fail(
        "MCP_RESOURCE_URL is set without MCP_AUTHORIZATION_SERVERS: name the authorization servers that issue tokens for it (issuer URLs, comma-separated)"
      )
    }
    if (config.auth !== "jwt") {
      return yield* fail(
        "MCP_RESOURCE_URL and MCP_AUTHORIZATION_SERVERS need MCP_AUTH=jwt: tokens from an authorization server are JWTs, and API keys have no authorization server"
      )
    }
    // The server's `protectedResource` option; decoded here too, so a bad value is named by its variable.
    const options = {
      resource: resourceUrl.value,
      authorizationServers: authorizationServers.value,
      ...Option.match(scopesSupported, { onNone: () => ({}), onSome: (scopesSupported) => ({ scopesSupported }) })
    }
    const decoded = yield* Effect.mapError(
      ProtectedResource.decode(options),
      (error) => new DemoError(explain(error, "protectedResource"))
    )
    return { ...decoded, options }
  })

/**
 * The claims a token must carry. As a protected resource, a token is for this resource
 * (`aud`, RFC 8707) from one of its authorization servers (`iss`): MCP_JWT_AUDIENCE and
 * MCP_JWT_ISSUER default to those, and may not point elsewhere, or no client following the
 * metadata could get a token the server takes.
 */
const claimsOf = (config, protectedResource) =>
  Effect.gen(function*() {
    const audience = Option.getOrUndefined(config.jwtAudience)
    const issuer = Option.getOrUndefined(config.jwtIssuer)
    if (protectedResource === undefined) return { audience, issuer }
    const { authorization_servers: servers, resource } = protectedResource.document
    if (audience !== undefined && audience !== resource) {
      return yield* fail(
        `MCP_JWT_AUDIENCE (${audience}) is not MCP_RESOURCE_URL (${resource}): a token for this server names the resource in aud; leave MCP_JWT_AUDIENCE unset`
      )
    }
    if (issuer !== undefined && !servers.includes(issuer)) {
      return yield* fail(
        `MCP_JWT_ISSUER (${issuer}) is not one of MCP_AUTHORIZATION_SERVERS: list the authorization server there as its tokens write iss`
      )
    }
    return { audience: resource, issuer: issuer ?? (servers.length === 1 ? servers[0] : servers) }
  })

const KEY_PHRASES = {
  MCP_JWT_SECRET: "MCP_JWT_SECRET",
  MCP_JWT_PUBLIC_KEY: "the private key of MCP_JWT_PUBLIC_KEY",
  MCP_JWT_JWKS_URL: "a key of MCP_JWT_JWKS_URL"
}

const banner = ({ allowBearer, auth, claims, generatedKey, header, jwtKey, keyFile, oauth, policy, protectedResource, redis, url }) => {
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
    if (allowBearer) lines.push("                   (or Authorization: Bearer <the key>, MCP_API_KEY_ALLOW_BEARER)")
    if (keyFile !== undefined) lines.push(`  keys file        ${path.resolve(keyFile)} (reloaded when it changes)`)
    if (generatedKey !== undefined) {
      lines.push("  (a key generated for this run, shown once; set MCP_API_KEYS or MCP_API_KEYS_FILE to choose your own)")
    }
    lines.push(
      "",
      "Try it from another terminal:",
      `  MCP_URL=${new URL("/mcp", url)} MCP_API_KEY=<the key above> node packages/mcp-sdk/examples/client.mjs`
    )
  } else if (oauth !== undefined) {
    lines.push(...oauth.banner(url))
  } else {
    lines.push(`  send header      Authorization: Bearer <a JWT signed with ${KEY_PHRASES[jwtKey.source]}, with exp>`)
    const checked = [
      ...(claims.audience === undefined ? [] : [`aud ${claims.audience}`]),
      ...(claims.issuer === undefined ? [] : [`iss ${[claims.issuer].flat().join(" or ")}`])
    ]
    if (checked.length > 0) lines.push(`  claims checked   ${checked.join("; ")}`)
    if (protectedResource !== undefined) {
      const { document, metadataPaths, metadataUrl } = protectedResource
      const served = new URL(metadataPaths[0], url).href
      lines.push(
        `  resource         ${document.resource}  (OAuth protected resource, RFC 9728)`,
        `  authorization    ${document.authorization_servers.join(", ")}  (where clients get tokens)`
      )
      if (document.scopes_supported !== undefined) lines.push(`  scopes           ${document.scopes_supported.join(" ")}`)
      lines.push(`  metadata         ${served}  (no auth)`)
      if (metadataUrl !== served) lines.push(`                   named in challenges as ${metadataUrl}`)
    }
    lines.push(
      "",
      "Try it from another terminal:",
      `  MCP_URL=${new URL("/mcp", url)} MCP_TOKEN=<a JWT as above> node packages/mcp-sdk/examples/client.mjs`
    )
    if (protectedResource !== undefined) {
      lines.push(
        `  curl -i ${new URL("/mcp", url)}  (the 401: WWW-Authenticate names resource_metadata)`,
        `  curl ${new URL(protectedResource.metadataPaths[0], url)}  (the metadata: where to get a token)`
      )
    }
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
  const oauth = config.auth === "oauth" ? yield* oauthModeOf(config) : undefined
  const protectedResource = oauth === undefined ? yield* protectedResourceOf(config) : undefined
  const jwtKey = config.auth === "jwt" ? yield* jwtKeyOf(config) : undefined
  const claims = config.auth === "jwt" ? yield* claimsOf(config, protectedResource) : undefined
  // One provider for the server and the key file's watcher, so the keys replaced are the ones checked.
  const provider = apiKeys
    ? ApiKey.layerConfig({
      ...(keys === undefined ? {} : { keys: Config.succeed(keys) }),
      allowBearer: Config.succeed(Option.some(config.apiKeyAllowBearer))
    })
    : oauth !== undefined
    ? oauth.provider.layer
    : Jwt.layerConfig({
      publicKey: Config.succeed(jwtKey.publicKey),
      audience: Config.succeed(Option.fromNullable(claims.audience)),
      issuer: Config.succeed(Option.fromNullable(claims.issuer))
    })
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
      ...(protectedResource === undefined ? {} : { protectedResource: protectedResource.options }),
      ...(oauth === undefined ? {} : { protectedResource: oauth.protectedResource }),
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
  const serving = (keyFile === undefined
    ? server
    : Layer.merge(server, watchKeyFile(keyFilePath, keyFile.text, keyFile.keys, config.apiKeysFilePoll))).pipe(
    Layer.provide(provider)
  )
  return yield* Layer.launch(Layer.effectDiscard(Effect.gen(function*() {
    const { url } = yield* McpHttp.McpHttp
    yield* Effect.sync(() =>
      console.log(banner({
        allowBearer: config.apiKeyAllowBearer,
        auth: config.auth,
        claims,
        generatedKey,
        header: config.apiKeyHeader,
        jwtKey,
        keyFile: keyFilePath,
        oauth,
        policy,
        protectedResource,
        redis: Option.isSome(config.redisUrl),
        url
      }))
    )
  })).pipe(Layer.provide(serving))).pipe(Effect.mapError((error) => ({ error, auth: config.auth, keyLines: keyFile?.lines })))
}).pipe(
  // The local authorization server of MCP_AUTH=oauth stops with the demo.
  Effect.scoped,
  Effect.mapError((failure) => (failure?.auth === undefined ? { error: failure, auth: "api-key" } : failure))
)

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
