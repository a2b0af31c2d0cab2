// The demo behind `pnpm demo`: an MCP server on 127.0.0.1 serving both transports (HTTP+SSE
// at /sse + /messages, Streamable HTTP at /mcp) with one tool, `whoami`, that answers with
// the caller's identity. Configured by environment variables read through Effect `Config`:
//
//   PORT (8080)  HOST (127.0.0.1)  MCP_AUTH (api-key | jwt)
//   MCP_API_KEYS (comma-separated; unset: one strong key is generated and printed once)
//   MCP_API_KEY_HEADER (X-API-Key)
//   MCP_JWT_SECRET  MCP_JWT_ALGORITHMS  MCP_JWT_ISSUER  MCP_JWT_AUDIENCE
//   MCP_AUTH_SSE (false)  MCP_AUTH_MESSAGES (true)
//
// Bad configuration exits with one line naming the variable.
import { ApiKey, getPrincipal, Jwt, McpHttp } from "@mcpgate/mcp-sdk"
import { Cause, Config, ConfigError, Effect, Exit, Layer, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"

const DemoConfig = Config.all({
  port: Config.port("PORT").pipe(Config.withDefault(8080)),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  auth: Config.literal("api-key", "jwt")("MCP_AUTH").pipe(Config.withDefault("api-key")),
  apiKeys: Config.option(Config.redacted("MCP_API_KEYS")),
  apiKeyHeader: Config.string("MCP_API_KEY_HEADER").pipe(Config.withDefault("X-API-Key")),
  sse: Config.boolean("MCP_AUTH_SSE").pipe(Config.withDefault(false)),
  messages: Config.boolean("MCP_AUTH_MESSAGES").pipe(Config.withDefault(true))
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

/** One line for a failed start: Config errors already name their variable; option errors are renamed. */
const explain = (error, auth) => {
  if (ConfigError.isConfigError(error)) return String(error).replace(/\s+/g, " ").trim().replace(/^\((.*)\)$/, "$1")
  const names = VARIABLES[auth] ?? {}
  const problems = String(error?.message ?? error)
    .replace(/^Invalid [^:]*options:/, "")
    .split("\n")
    .map((line) => line.trim().replace(/^- /, ""))
    .filter((line) => line.length > 0)
    .map((line) => line.replace(/^([A-Za-z]+)(?:\[(\d+)\]|\.(\d+))?/, (whole, field, bracket, dotted) => {
      const index = bracket ?? dotted
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

const banner = ({ auth, generatedKey, header, policy, url }) => {
  const lines = [
    `mcpgate demo: an MCP server on ${url.origin}`,
    `  Streamable HTTP  ${new URL("/mcp", url)}`,
    `  HTTP+SSE         ${new URL("/sse", url)}  (messages at /messages)`,
    `  tool             whoami: answers with your identity`,
    `  auth             ${auth}; SSE stream ${policy.sse ? "authenticated" : "open"}, messages ${policy.messages ? "authenticated" : "open"}`
  ]
  if (auth === "api-key") {
    lines.push(`  send header      ${header}: ${generatedKey ?? "<one of MCP_API_KEYS>"}`)
    if (generatedKey !== undefined) lines.push("  (a key generated for this run, shown once; set MCP_API_KEYS to choose your own)")
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
  // A missing key set is generated here, never read back from anywhere but this process.
  const generatedKey = config.auth === "api-key" && Option.isNone(config.apiKeys)
    ? randomBytes(32).toString("base64url")
    : undefined
  const provider = config.auth === "api-key"
    ? ApiKey.layerConfig(
      generatedKey === undefined ? {} : { keys: Config.succeed([Redacted.make(generatedKey)]) }
    )
    : Jwt.layerConfig()
  const policy = { sse: config.sse, messages: config.messages }
  const server = McpHttp.layer({
    port: config.port,
    host: config.host,
    name: "mcpgate-demo",
    version: "0.1.0",
    register: whoami,
    sse: { endpoints: policy }
  }).pipe(Layer.provide(provider))
  return yield* Layer.launch(Layer.effectDiscard(Effect.gen(function*() {
    const { url } = yield* McpHttp.McpHttp
    yield* Effect.sync(() => console.log(banner({ auth: config.auth, generatedKey, header: config.apiKeyHeader, policy, url })))
  })).pipe(Layer.provide(server))).pipe(Effect.mapError((error) => ({ error, auth: config.auth })))
}).pipe(Effect.mapError((failure) => (failure?.auth === undefined ? { error: failure, auth: "api-key" } : failure)))

// Ctrl-C (or SIGTERM) interrupts the program, which closes the server, streams and all.
const fiber = Effect.runFork(program)
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => fiber.unsafeInterruptAsFork(fiber.id()))
const exit = await Effect.runPromise(fiber.await)
if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
  const failure = Option.getOrUndefined(Cause.failureOption(exit.cause))
  console.error(`mcpgate demo: ${failure === undefined ? Cause.pretty(exit.cause).split("\n")[0] : explain(failure.error, failure.auth)}`)
  process.exit(1)
}
console.log("mcpgate demo: stopped")
