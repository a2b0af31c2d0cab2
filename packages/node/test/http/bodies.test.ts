/**
 * Contract section 6, step 7, on the wire: the media type (415), the size cap (413, by
 * declared length and by chunked transfer), the JSON-RPC shape (400), and that none of these
 * faults takes the server down or leaves a connection in a bad state.
 */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as net from "node:net"
import { apiKeyProvider, KEY_ALICE } from "@mcpgate/testing/credentials"
import type { Harness } from "./harness.js"
import { echoReply, eventually, ping, serve, settle } from "./harness.js"
import { Answer } from "@mcpgate/testing/contract"
import { build, conversation, exchange, expectAnswer } from "@mcpgate/testing/wire"
import { inScope } from "@mcpgate/testing/scoped"
import type { Use } from "@mcpgate/testing/scoped"


const LIMIT = 1024
const ALICE = ["X-API-Key", KEY_ALICE] as const
const JSON_CT = ["Content-Type", "application/json"] as const

/** A server with a 1 KiB cap and one session, open and bound to Alice. */
const withSession = async (use: Use, maxBodyBytes = LIMIT) => {
  const server = await use(serve({ auth: { provider: apiKeyProvider() }, maxBodyBytes }))
  const session = await server.open([ALICE])
  const path = `/messages?sessionId=${session.id}`
  return { server, session, path }
}

/** A valid request, padded with spaces to exactly `size` bytes. */
const pingOfSize = (id: number, size: number): string => {
  const text = ping(id)
  expect(size).toBeGreaterThanOrEqual(text.length)
  return text.padEnd(size, " ")
}

/** Chunked framing of a body, in pieces of `size` bytes, with the last chunk. */
const chunked = (body: string | Buffer, size: number): Buffer => {
  const bytes = typeof body === "string" ? Buffer.from(body) : body
  const parts: Array<Buffer> = []
  for (let offset = 0; offset < bytes.length; offset += size) {
    const piece = bytes.subarray(offset, offset + size)
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"))
  }
  parts.push(Buffer.from("0\r\n\r\n"))
  return Buffer.concat(parts)
}

/** The server still serves: health, and a message that reaches the session with its reply. */
const stillServing = async (server: Harness, path: string, stream: { next: () => Promise<{ data: string }> }, id: number) => {
  expectAnswer(await server.ask("GET", "/health", []), Answer.health())
  expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], ping(id)), Answer.accepted())
  expect(JSON.parse((await stream.next()).data)).toEqual(echoReply(id, "ping", "alice"))
  expect(server.errors).toEqual([])
}

describe("a body over maxBodyBytes gets 413, never a 500, and the server keeps serving", () => {
  it.scopedLive("declared by Content-Length: answered at once, before the body is even sent", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    const response = await server.ask("POST", path, [JSON_CT, ALICE, ["Content-Length", String(LIMIT + 1)]], "", {
      timeoutMs: 1000
    })
    expectAnswer(response, Answer.payloadTooLarge())
    expect(response.header("connection")).toBe("close")
    await stillServing(server, path, session.stream, 1)
  }))

  it.scopedLive("declared by Content-Length with the whole body sent", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], " ".repeat(64 * 1024)), Answer.payloadTooLarge())
    await stillServing(server, path, session.stream, 1)
  }))

  it.scopedLive("by chunked transfer whose chunks add up past the cap", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    const response = await server.ask(
      "POST",
      path,
      [JSON_CT, ALICE, ["Transfer-Encoding", "chunked"]],
      chunked(pingOfSize(9, LIMIT + 1), 100)
    )
    expectAnswer(response, Answer.payloadTooLarge())
    expect(response.header("connection")).toBe("close")
    await settle()
    expect(server.delivered).toEqual([])
    await stillServing(server, path, session.stream, 1)
  }))

  it.scopedLive("by chunked transfer that never ends: answered as soon as the cap is passed, no hang", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    const head = build(server.url, "POST", path, [JSON_CT, ALICE, ["Transfer-Encoding", "chunked"]])
    const firstChunk = Buffer.from(`${(LIMIT + 1).toString(16)}\r\n${" ".repeat(LIMIT + 1)}\r\n`)
    const response = await exchange(server.url, Buffer.concat([head, firstChunk]), { timeoutMs: 1000 })
    expectAnswer(response, Answer.payloadTooLarge())
    await stillServing(server, path, session.stream, 1)
  }))

  it.scopedLive("by chunked transfer written slowly, 100 bytes at a time", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    const head = build(server.url, "POST", path, [JSON_CT, ALICE, ["Transfer-Encoding", "chunked"]])
    const pieces = Array.from({ length: 20 }, () => Buffer.from(`64\r\n${" ".repeat(100)}\r\n`))
    expectAnswer(await exchange(server.url, head, { pieces, timeoutMs: 2000 }), Answer.payloadTooLarge())
    await stillServing(server, path, session.stream, 1)
  }))

  it.scopedLive("with the default cap of 4 MiB, a declared 4 MiB + 1 is refused", () => inScope(async (use) => {
    const server = await use(serve({ auth: { provider: apiKeyProvider() } }))
    const session = await server.open([ALICE])
    const declared = ["Content-Length", String(4 * 1024 * 1024 + 1)] as const
    expectAnswer(
      await server.ask("POST", `/messages?sessionId=${session.id}`, [JSON_CT, ALICE, declared], "", { timeoutMs: 1000 }),
      Answer.payloadTooLarge()
    )
  }))

  it.scopedLive("the cap is inclusive: exactly maxBodyBytes is accepted, one byte more is not, by either framing", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], pingOfSize(1, LIMIT)), Answer.accepted())
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], pingOfSize(2, LIMIT + 1)), Answer.payloadTooLarge())
    const te = ["Transfer-Encoding", "chunked"] as const
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE, te], chunked(pingOfSize(3, LIMIT), 300)), Answer.accepted())
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE, te], chunked(pingOfSize(4, LIMIT + 1), 300)), Answer.payloadTooLarge())
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(1, "ping", "alice"))
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(3, "ping", "alice"))
    expect(server.delivered.map((d) => d.message["id"])).toEqual([1, 3])
  }))

  it.scopedLive("for any size, at most the cap is accepted and past it is 413", () => inScope(async (use) => {
    const { server, path } = await withSession(use, 256)
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.integer({ min: ping(1).length, max: 2048 }), FastCheck.boolean(), async (size, useChunks) => {
        const framing = useChunks ? [["Transfer-Encoding", "chunked"] as const] : []
        const body = useChunks ? chunked(pingOfSize(1, size), 97) : pingOfSize(1, size)
        const response = await server.ask("POST", path, [JSON_CT, ALICE, ...framing], body)
        expectAnswer(response, size <= 256 ? Answer.accepted() : Answer.payloadTooLarge())
      }),
      { numRuns: 40 }
    )
    expect(server.errors).toEqual([])
  }))
})

describe("Expect: 100-continue", () => {
  it.scopedLive("a refusal goes out instead of 100 Continue, so the client never sends its body", () => inScope(async (use) => {
    const { server, path } = await withSession(use)
    const head = build(server.url, "POST", path, [JSON_CT, ["Expect", "100-continue"], ["Content-Length", "2000"]])
    expectAnswer(await exchange(server.url, head), Answer.apiKey())
  }))

  it.scopedLive("an accepted request gets 100 Continue once its checks have passed", () => inScope(async (use) => {
    const { server, path } = await withSession(use)
    const head = build(server.url, "POST", path, [JSON_CT, ALICE, ["Expect", "100-continue"], ["Content-Length", "20"]])
    const first = await exchange(server.url, head, { headOnly: true })
    expect(first.statusLine).toBe("HTTP/1.1 100 Continue")
  }))
})

describe("a POST whose Content-Type is not application/json gets 415", () => {
  it.scopedLive.each([
    ["text/plain", [["Content-Type", "text/plain"]]],
    ["form data", [["Content-Type", "application/x-www-form-urlencoded"]]],
    ["a look-alike", [["Content-Type", "application/jsonx"]]],
    ["a JSON-ish suffix type", [["Content-Type", "application/json-seq"]]],
    ["no Content-Type at all", []],
    ["two Content-Type lines", [JSON_CT, JSON_CT]]
  ] as const)("%s", ([_, headers]) => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    expectAnswer(await server.ask("POST", path, [ALICE, ...headers], ping(5)), Answer.unsupportedMediaType())
    await settle()
    expect(server.delivered).toEqual([])
    await stillServing(server, path, session.stream, 1)
  }))

  it.scopedLive.each(["application/json; charset=utf-8", "Application/JSON", "application/json ; charset=UTF-8"] as const)(
    "`%s` is JSON: 202", (type) => inScope(async (use) => {
      const { server, path } = await withSession(use)
      expectAnswer(await server.ask("POST", path, [ALICE, ["Content-Type", type]], ping(1)), Answer.accepted())
    })
  )

  it.scopedLive("is answered before the body: a declared large body is never waited for", () => inScope(async (use) => {
    const { server, path } = await withSession(use)
    const response = await server.ask("POST", path, [ALICE, ["Content-Type", "text/plain"], ["Content-Length", "500"]], "", {
      timeoutMs: 1000
    })
    expectAnswer(response, Answer.unsupportedMediaType())
  }))
})

describe("a body that is not a JSON-RPC message gets 400", () => {
  it.scopedLive.each([
    ["broken JSON", "{"],
    ["an empty body", ""],
    ["trailing garbage", `${ping(1)}x`],
    ["null", "null"],
    ["a number", "42"],
    ["a string", "\"ping\""],
    ["an empty object", "{}"],
    ["JSON-RPC 1.0", JSON.stringify({ jsonrpc: "1.0", method: "ping", id: 1 })],
    ["no method, no result", JSON.stringify({ jsonrpc: "2.0", id: 1 })],
    ["a method that is not a string", JSON.stringify({ jsonrpc: "2.0", method: 1, id: 1 })],
    ["params that are a string", JSON.stringify({ jsonrpc: "2.0", method: "ping", params: "x", id: 1 })],
    ["an id that is an object", JSON.stringify({ jsonrpc: "2.0", method: "ping", id: {} })],
    ["a result and an error at once", JSON.stringify({ jsonrpc: "2.0", id: 1, result: {}, error: { code: 1, message: "x" } })],
    ["an empty batch", "[]"],
    ["a batch with one bad member", `[${ping(1)},{}]`],
    ["a nested batch", `[[${ping(1)}]]`]
  ] as const)("%s", ([_, body]) => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], body), Answer.invalidJsonRpc())
    await settle()
    expect(server.delivered).toEqual([])
    await stillServing(server, path, session.stream, 1)
  }))

  it.scopedLive.each([
    ["a 0xFF byte", [0xff]],
    ["an overlong encoding", [0xc0, 0x80]],
    ["a lone surrogate", [0xed, 0xa0, 0x80]],
    ["a truncated sequence", [0xe2, 0x82]]
  ] as const)("invalid UTF-8 (%s) inside an otherwise valid message", ([_, bytes]) => inScope(async (use) => {
    const { server, path } = await withSession(use)
    const body = Buffer.concat([
      Buffer.from("{\"jsonrpc\":\"2.0\",\"method\":\"ping"),
      Buffer.from(bytes),
      Buffer.from("\",\"id\":1}")
    ])
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], body), Answer.invalidJsonRpc())
    await settle()
    expect(server.delivered).toEqual([])
  }))

  it.scopedLive("any JSON value that is not JSON-RPC gets the exact 400", () => inScope(async (use) => {
    const { server, path } = await withSession(use, 64 * 1024)
    const notJsonRpc = FastCheck.jsonValue().filter((value) => !JSON.stringify(value).includes("jsonrpc"))
    await FastCheck.assert(
      FastCheck.asyncProperty(notJsonRpc, async (value) => {
        expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], JSON.stringify(value)), Answer.invalidJsonRpc())
      }),
      { numRuns: 60 }
    )
    expect(server.delivered).toEqual([])
  }))

  it.scopedLive("any body holding a byte that never occurs in UTF-8 gets the exact 400", () => inScope(async (use) => {
    const { server, path } = await withSession(use)
    const never = FastCheck.constantFrom(0xc0, 0xc1, 0xf5, 0xf8, 0xfe, 0xff)
    await FastCheck.assert(
      FastCheck.asyncProperty(FastCheck.string({ maxLength: 40 }), never, FastCheck.string({ maxLength: 40 }), async (before, byte, after) => {
        const body = Buffer.concat([Buffer.from(before), Buffer.from([byte]), Buffer.from(after)])
        expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], body), Answer.invalidJsonRpc())
      }),
      { numRuns: 40 }
    )
  }))
})

describe("valid messages are delivered intact", () => {
  it.scopedLive("non-ASCII text arrives as sent", () => inScope(async (use) => {
    const { server, path } = await withSession(use)
    const message = { jsonrpc: "2.0", method: "tools/call", params: { text: "héllo ✓ 😀" }, id: "é" }
    expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], JSON.stringify(message)), Answer.accepted())
    await eventually(() => server.delivered.length === 1)
    expect(server.delivered[0]!.message).toEqual(message)
  }))

  it.scopedLive("notifications and a client's responses are JSON-RPC too: 202", () => inScope(async (use) => {
    const { server, path } = await withSession(use)
    for (const message of [
      { jsonrpc: "2.0", method: "notifications/initialized" },
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: 2, error: { code: -32601, message: "Method not found" } }
    ]) {
      expectAnswer(await server.ask("POST", path, [JSON_CT, ALICE], JSON.stringify(message)), Answer.accepted())
    }
    await eventually(() => server.delivered.length === 3)
  }))
})

describe("no body fault breaks the server or the connection", () => {
  it.scopedLive("after a 400, a 415 or a 401 with an unread body, the same keep-alive connection serves the next request", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    const answers = await conversation(server.url, [
      build(server.url, "POST", path, [JSON_CT, ALICE], "{"),
      build(server.url, "POST", path, [ALICE, ["Content-Type", "text/plain"]], ping(1).padEnd(300)),
      build(server.url, "POST", path, [JSON_CT], ping(2).padEnd(300)),
      build(server.url, "POST", path, [JSON_CT, ALICE], ping(3))
    ])
    expectAnswer(answers[0]!, Answer.invalidJsonRpc())
    expectAnswer(answers[1]!, Answer.unsupportedMediaType())
    expectAnswer(answers[2]!, Answer.apiKey())
    expectAnswer(answers[3]!, Answer.accepted())
    expect(JSON.parse((await session.stream.next()).data)).toEqual(echoReply(3, "ping", "alice"))
    expect(server.delivered.map((d) => d.message["id"])).toEqual([3])
  }))

  it.scopedLive("a client that leaves in the middle of its body: nothing is delivered, nothing reported, the server serves on", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    const socket = net.connect(Number(server.url.port), "127.0.0.1")
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()))
    socket.write(build(server.url, "POST", path, [JSON_CT, ALICE, ["Content-Length", "500"]], ping(1)))
    await settle()
    socket.destroy()
    await settle()
    expect(server.delivered).toEqual([])
    await stillServing(server, path, session.stream, 2)
  }))

  it.scopedLive("every fault in a row, then a valid message: the session is intact", () => inScope(async (use) => {
    const { server, session, path } = await withSession(use)
    const faults: Array<[ReadonlyArray<readonly [string, string]>, string | Buffer]> = [
      [[JSON_CT, ALICE], " ".repeat(LIMIT + 1)],
      [[JSON_CT, ALICE, ["Transfer-Encoding", "chunked"]], chunked(" ".repeat(LIMIT * 3), 500)],
      [[ALICE, ["Content-Type", "text/html"]], ping(1)],
      [[JSON_CT, ALICE], "[]"],
      [[JSON_CT, ALICE], Buffer.from([0xff, 0xfe])]
    ]
    for (const [headers, body] of faults) {
      const response = await server.ask("POST", path, headers, body)
      expect([400, 413, 415]).toContain(response.status)
    }
    expect(server.running.sse.sessionCount()).toBe(1)
    await stillServing(server, path, session.stream, 7)
  }))
})
