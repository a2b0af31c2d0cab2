/**
 * `MCPServer`'s options are checked when it is constructed: every refusal is a thrown
 * `ConfigurationError` whose message names the field (mcp-framework silently ignores unknown
 * keys, so a typo in `auth` left its server open). And the defaults are what `start()` uses.
 */
import { describe, expect, it } from "@effect/vitest"
import { MCPServer } from "@mcpgate/mcp-sdk"
import type { MCPServerOptions } from "@mcpgate/mcp-sdk"
import { FastCheck } from "effect"
import * as net from "node:net"
import { apiKeys, KEY_ALICE } from "./fixtures/credentials.js"
import { rejectionOf } from "@mcpgate/testing/thrownBy"
import { started } from "./fixtures/whoamiServer.js"
import { acquire, inScope, onClose } from "@mcpgate/testing/scoped"
const provider = apiKeys()

/** The error `new MCPServer(options)` throws; fails the test if it does not. */
const refusalOf = (options: unknown): Error & { readonly _tag: string } => {
  try {
    new MCPServer(options as MCPServerOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(Error)
    expect((error as { _tag?: unknown })._tag).toBe("ConfigurationError")
    expect((error as Error).name).toBe("ConfigurationError")
    return error as Error & { readonly _tag: string }
  }
  throw new Error(`expected ${JSON.stringify(options)} to be refused`)
}

/** The message for these options, which must start by saying whose options they are. */
const refusal = (options: unknown): string => {
  const { message } = refusalOf(options)
  expect(message).toMatch(/^Invalid MCPServer options:\n {2}- /)
  return message
}

/** Transport options with a provider, plus `options`; a key given as undefined is left out. */
const withAuth = (options: Record<string, unknown>) =>
  Object.fromEntries(Object.entries({ auth: { provider }, ...options }).filter(([, value]) => value !== undefined))
// Typed as options, as a JavaScript caller could pass anything.
const sse = (options: Record<string, unknown>, top: Record<string, unknown> = {}) =>
  ({ ...top, transport: { type: "sse", options: withAuth(options) } }) as unknown as MCPServerOptions
const stream = (options: Record<string, unknown>, top: Record<string, unknown> = {}) =>
  ({ ...top, transport: { type: "http-stream", options: withAuth(options) } }) as unknown as MCPServerOptions
const both = (options: Record<string, unknown>) => [sse(options), stream(options)]

describe("MCPServer options: refused at construction with a message naming the field", () => {
  it("an unknown top-level key", () => {
    const message = refusal(sse({}, { bogus: true }))
    expect(message).toContain("  - bogus: is unexpected")
    // The message lists what is allowed.
    expect(message).toContain("\"transport\"")
  })

  it("a misspelled auth (`auht`) is refused, not ignored: the server would run open", () => {
    for (const options of [sse({ auth: undefined, auht: { provider } }), stream({ auth: undefined, auht: { provider } })]) {
      const message = refusal(options)
      expect(message).toContain("  - transport.options.auht: is unexpected")
      expect(message).toContain("  - transport.options.auth: is missing")
    }
    // Next to a correct auth, the misspelling is still an error.
    expect(refusal(sse({ auht: { provider } }))).toContain("transport.options.auht: is unexpected")
  })

  it("an unknown transport option, including one of the other transport", () => {
    expect(refusal(stream({ sesionIdleTimeout: 60 }))).toContain("  - transport.options.sesionIdleTimeout: is unexpected")
    expect(refusal(sse({ stateless: true }))).toContain("  - transport.options.stateless: is unexpected")
    expect(refusal(sse({ sessionIdleTimeout: 60 }))).toContain("  - transport.options.sessionIdleTimeout: is unexpected")
    expect(refusal(stream({ messageEndpoint: "/messages" }))).toContain("  - transport.options.messageEndpoint: is unexpected")
    expect(refusal(sse({ auth: { provider, endpoints: { sse: true, mesages: true } } }))).toContain(
      "  - transport.options.auth.endpoints.mesages: is unexpected"
    )
  })

  it("an unknown transport type", () => {
    expect(refusal({ transport: { type: "websocket", options: { auth: { provider } } } })).toContain(
      "  - transport.type: Expected \"sse\" | \"http-stream\", actual \"websocket\""
    )
    expect(refusal({})).toContain("  - transport: is missing")
    expect(refusal({ transport: { type: "sse" } })).toContain("  - transport.options: is missing")
  })

  it("a missing auth", () => {
    for (const options of both({ auth: undefined, port: 0 })) {
      expect(refusal(options)).toContain("  - transport.options.auth: is missing")
    }
    expect(refusal(sse({ auth: {} }))).toContain("  - transport.options.auth.provider: is missing")
  })

  it("an auth.provider that is not a provider", () => {
    const notProviders: ReadonlyArray<unknown> = [
      { keys: [KEY_ALICE] }, // mcp-framework's options instead of a provider
      "api-key",
      null,
      { authenticate: "yes" },
      { service: {} }
    ]
    for (const notProvider of notProviders) {
      const message = refusal(sse({ auth: { provider: notProvider } }))
      expect(message).toContain(
        "  - transport.options.auth.provider: provider must be an APIKeyAuthProvider, a JWTAuthProvider, " +
          "an AuthProvider service or Layer, or an object with authenticate(req)"
      )
      // Never quoting what it was given: here, a key.
      expect(message).not.toContain(KEY_ALICE)
    }
  })

  it("cors.allowMethods, allowHeaders, exposeHeaders and maxAge: mcpgate decides them", () => {
    const fields: Record<string, unknown> = {
      allowMethods: "GET, POST",
      allowHeaders: "Content-Type, X-API-Key",
      exposeHeaders: "Mcp-Session-Id",
      maxAge: 600
    }
    for (const [field, value] of Object.entries(fields)) {
      for (const options of both({ cors: { allowOrigin: "https://app.example.com", [field]: value } })) {
        expect(refusal(options)).toContain(
          `  - transport.options.cors.${field}: cors.${field} is decided by mcpgate (the MCP headers and your credential header); remove it`
        )
      }
    }
    expect(refusal(sse({ cors: { allowOrigins: ["https://app.example.com"] } }))).toContain(
      "  - transport.options.cors.allowOrigins: is unexpected"
    )
  })

  it("http-stream with an endpoint left open: Streamable HTTP authenticates every request, and the refusal says so", () => {
    // mcp-framework reads `sse: false` on http-stream as "initialize without credentials".
    for (const endpoints of [{ sse: false }, { messages: false }, { initialize: false }, { sse: true, messages: false }]) {
      expect(refusal(stream({ auth: { provider, endpoints } }))).toContain(
        "  - transport.options.auth.endpoints: Streamable HTTP authenticates every request, initialize included " +
          "(MCP specification): remove endpoints"
      )
    }
    // Saying what it does anyway is accepted, for migrating code, and so is mcp-framework's `oauth`.
    for (const endpoints of [{ sse: true, messages: true }, { initialize: true }, { oauth: false }, { oauth: true }]) {
      expect(() => new MCPServer(stream({ auth: { provider, endpoints } }))).not.toThrow()
    }
  })

  it("sse takes mcp-framework's endpoints.oauth, and refuses initialize, which is Streamable HTTP's", () => {
    expect(() => new MCPServer(sse({ auth: { provider, endpoints: { sse: true, oauth: true } } }))).not.toThrow()
    expect(refusal(sse({ auth: { provider, endpoints: { initialize: true } } }))).toContain(
      "  - transport.options.auth.endpoints.initialize: is unexpected"
    )
  })

  it("auth beside the options, as mcp-framework also takes it, with or without options", () => {
    for (const type of ["sse", "http-stream"] as const) {
      expect(() => new MCPServer({ transport: { type, auth: { provider } } })).not.toThrow()
      expect(() => new MCPServer({ transport: { type, auth: { provider }, options: { port: 0 } } })).not.toThrow()
      // Its problems are reported where mcpgate reads them.
      expect(refusal({ transport: { type, auth: { provider, endpoints: { bogus: true } } } })).toContain(
        "  - transport.options.auth.endpoints.bogus: is unexpected"
      )
    }
  })

  it("auth both beside and inside the options is refused rather than one silently winning", () => {
    for (const type of ["sse", "http-stream"] as const) {
      expect(refusal({ transport: { type, auth: { provider }, options: { auth: { provider } } } })).toBe(
        "Invalid MCPServer options:\n  - transport.auth: auth is given twice, beside and inside transport.options; keep one of them"
      )
    }
  })

  it("auth given as undefined (an unset variable, say) is refused in plain words", () => {
    for (const options of [sse({}), stream({})]) {
      const withUndefined = { ...options, transport: { ...options.transport, options: { ...options.transport.options, auth: undefined } } }
      expect(refusal(withUndefined)).toBe(
        "Invalid MCPServer options:\n  - transport.options.auth is required: mcpgate serves only authenticated MCP, " +
          "e.g. auth: { provider: new APIKeyAuthProvider({ keys }) }"
      )
    }
  })

  it("a port that is not a whole number from 0 to 65535", () => {
    for (const port of [-1, 70000, 1.5, 65536, Number.NaN]) {
      for (const options of both({ port })) {
        expect(refusal(options)).toContain(`  - transport.options.port: ${port} is not a port (0 to 65535)`)
      }
    }
    expect(refusal(sse({ port: "8080" }))).toContain("  - transport.options.port: Expected number, actual \"8080\"")
  })

  it("an endpoint that does not start with /", () => {
    expect(refusal(sse({ endpoint: "sse" }))).toContain(
      "  - transport.options.endpoint: \"sse\" is not a path: start with \"/\", no query or fragment"
    )
    expect(refusal(sse({ messageEndpoint: "messages" }))).toContain("  - transport.options.messageEndpoint: \"messages\" is not a path")
    expect(refusal(stream({ endpoint: "mcp" }))).toContain("  - transport.options.endpoint: \"mcp\" is not a path")
    expect(refusal(stream({ endpoint: "/mcp?x=1" }))).toContain("  - transport.options.endpoint: \"/mcp?x=1\" is not a path")
    expect(refusal(stream({ healthEndpoint: "health" }))).toContain("  - transport.options.healthEndpoint: ")
  })

  it("a resource that is not an absolute http(s) URL", () => {
    for (const resource of ["not a url", "/mcp", "ftp://mcp.example.com"]) {
      for (const options of both({ resource })) {
        expect(refusal(options)).toContain(`  - transport.options.resource: ${JSON.stringify(resource)} is not an absolute http(s) URL`)
      }
    }
  })

  it("a sessionIdleTimeout that is not a positive duration", () => {
    expect(refusal(stream({ sessionIdleTimeout: 0 }))).toContain("  - transport.options.sessionIdleTimeout: must be more than 0 seconds")
    expect(refusal(stream({ sessionIdleTimeout: -5 }))).toContain("  - transport.options.sessionIdleTimeout: -5 is not a duration")
    expect(refusal(stream({ sessionIdleTimeout: "soon" }))).toContain(
      "  - transport.options.sessionIdleTimeout: \"soon\" is not a duration: use a number of seconds, text such as \"30s\""
    )
    // Durations as the docs describe them are accepted.
    for (const sessionIdleTimeout of [90, "30s", "5m", "1h"]) {
      expect(() => new MCPServer(stream({ sessionIdleTimeout }))).not.toThrow()
    }
  })

  it("the other top-level fields are checked too", () => {
    expect(refusal(sse({}, { sdk: "v3" }))).toContain("  - sdk: Expected \"v1\", actual \"v3\"")
    expect(refusal(sse({}, { onError: "log" }))).toContain("  - onError: must be a function")
    expect(refusal(sse({}, { name: 42 }))).toContain("  - name: Expected string, actual 42")
  })

  it("every problem is reported at once, one line each", () => {
    const message = refusal(sse({ port: -1, endpoint: "sse", cors: { maxAge: 1 } }, { bogus: 1 }))
    expect(message.split("\n").slice(1)).toEqual([
      expect.stringContaining("  - bogus: "),
      expect.stringContaining("  - transport.options.port: "),
      expect.stringContaining("  - transport.options.endpoint: "),
      expect.stringContaining("  - transport.options.cors.maxAge: ")
    ])
  })

  it.prop(
    "any object with an extra unknown key at the top level is refused, naming the key",
    {
      key: FastCheck.oneof(
        FastCheck.string(),
        // Names that an object-based check could mistake for its own.
        FastCheck.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "auth", "options", "type", "")
      ).filter((key) => !["name", "version", "sdk", "transport", "onError"].includes(key)),
      value: FastCheck.anything(),
      valid: FastCheck.record({
        name: FastCheck.string(),
        version: FastCheck.string(),
        sdk: FastCheck.constantFrom("v1", "v2"),
        onError: FastCheck.constant(() => undefined)
      }, { requiredKeys: [] })
    },
    ({ key, valid, value }) => {
      const options: Record<string, unknown> = { ...valid, ...sse({}) }
      // defineProperty: an own key even for "__proto__".
      Object.defineProperty(options, key, { value, enumerable: true, configurable: true, writable: true })
      const message = refusal(options)
      expect(message).toContain(`  - ${key === "" ? "" : `${key}: `}is unexpected`)
    },
    { fastCheck: { numRuns: 200 } }
  )

  it.prop(
    "any object with an extra unknown key in the transport options is refused, naming it",
    {
      type: FastCheck.constantFrom("sse", "http-stream"),
      key: FastCheck.string({ minLength: 1 }).filter((key) =>
        ![
          "port", "host", "endpoint", "messageEndpoint", "auth", "cors", "healthEndpoint", "allowedHosts", "exposeToken",
          "resource", "responseMode", "stateless", "sessionIdleTimeout"
        ].includes(key)
      ),
      value: FastCheck.anything()
    },
    ({ key, type, value }) => {
      const options: Record<string, unknown> = { auth: { provider } }
      Object.defineProperty(options, key, { value, enumerable: true, configurable: true, writable: true })
      expect(refusal({ transport: { type, options } })).toContain(`  - transport.options.${key}: is unexpected`)
    },
    { fastCheck: { numRuns: 100 } }
  )

  it.prop(
    "a port is accepted exactly when it is a whole number from 0 to 65535",
    { port: FastCheck.oneof(FastCheck.integer({ min: -100_000, max: 100_000 }), FastCheck.double()) },
    ({ port }) => {
      const options = stream({ port })
      if (Number.isInteger(port) && port >= 0 && port <= 65535) expect(() => new MCPServer(options)).not.toThrow()
      else expect(refusal(options)).toContain("transport.options.port: ")
    },
    { fastCheck: { numRuns: 300 } }
  )

  it("an extra symbol key is refused with a ConfigurationError naming it", () => {
    expect(refusal({ ...sse({}), [Symbol("extra")]: true })).toContain("  - Symbol(extra): is unexpected")
  })
})

// One server routes by path, and the cross-origin policy is decoded with the rest: all of
// these are refused by the constructor, before anything is started.
describe("MCPServer options checked across fields", () => {
  const refusals: ReadonlyArray<readonly [string, MCPServerOptions, string]> = [
    [
      "SSE endpoint equal to messageEndpoint",
      sse({ port: 0, endpoint: "/x", messageEndpoint: "/x" }),
      "  - transport.options: \"/x\" is used twice: every endpoint needs a path of its own"
    ],
    [
      "SSE endpoint equal to the health endpoint",
      sse({ port: 0, endpoint: "/health" }),
      "  - transport.options: \"/health\" is used twice: every endpoint needs a path of its own"
    ],
    [
      "Streamable HTTP endpoint equal to the health endpoint",
      stream({ port: 0, endpoint: "/x", healthEndpoint: "/x" }),
      "  - transport.options: \"/x\" is used twice: every endpoint needs a path of its own"
    ],
    [
      "cors.allowOrigin that is not an origin",
      stream({ port: 0, cors: { allowOrigin: "https://app.example.com/" } }),
      "  - transport.options.cors.allowOrigin.0: \"https://app.example.com/\" is not an origin"
    ],
    [
      "allowedHosts with an empty name",
      sse({ port: 0, allowedHosts: [""] }),
      "  - transport.options.allowedHosts.0: \"\" is not a host name"
    ]
  ]

  it.each(refusals)("%s is refused at construction", (_, options, problem) => {
    expect(refusal(options)).toContain(problem)
  })
})

describe("MCPServer defaults", () => {
  it.scopedLive("port 8080 on 127.0.0.1: start() binds exactly there", () => inScope(async (use) => {
    // Hold 127.0.0.1:8080 (or find it held), so that the server cannot take it: its
    // EADDRINUSE then tells where it tried to listen, and nothing is served on 8080.
    const holder = net.createServer()
    await use(acquire(
      () =>
        new Promise<boolean>((resolve) => {
          holder.once("error", () => resolve(false))
          holder.listen(8080, "127.0.0.1", () => resolve(true))
        }),
      (held) => new Promise<void>((resolve) => (held ? holder.close(() => resolve()) : resolve()))
    ))
    for (const options of both({})) {
      const server = new MCPServer(options)
      await use(onClose(() => server.stop()))
      expect(await rejectionOf(server.start())).toMatchObject({ code: "EADDRINUSE", address: "127.0.0.1", port: 8080 })
    }
  }))

  it.scopedLive("host 127.0.0.1: a server on port 0 is at http://127.0.0.1:<port>, its endpoints where documented", () => inScope(async (use) => {
    const post = (url: URL, path: string) =>
      fetch(new URL(path, url), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
    for (const type of ["http-stream", "sse"] as const) {
      const server = await use(started(new MCPServer((type === "sse" ? sse : stream)({ port: 0 }))))
      const url = server.url!
      expect(url.href).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/$/)
      expect(await (await fetch(new URL("/health", url))).text()).toBe("{\"ok\":true}")
      // Served paths ask for credentials; the others are not found, before any authentication.
      expect((await post(url, "/mcp")).status).toBe(type === "http-stream" ? 401 : 404)
      expect((await post(url, "/messages?sessionId=x")).status).toBe(type === "sse" ? 401 : 404)
      const controller = new AbortController()
      const opened = await fetch(new URL("/sse", url), { signal: controller.signal })
      // The SSE stream is open by default (endpoints.sse: false).
      expect(opened.status).toBe(type === "sse" ? 200 : 404)
      controller.abort()
    }
  }))
})
