/**
 * The stream flood as the attack review ran it, against a server in a process of its own
 * whose open-file limit is lowered (`ulimit -n`): thousands of `GET /sse` without a
 * credential, from many loopback addresses, every stream that is served kept open. With the
 * caps on open streams, the flood holds at most `maxAnonymousStreams` of them, everything
 * past it is refused and its connection closed, and a valid client that sends its key is
 * still served. Without them (the caps raised past the file limit), the same flood leaves
 * the process no descriptor for the valid client: the attack the caps stop.
 *
 * The server runs the built package (`tsc -b` first, as the test command does); every child
 * is killed by its pid after its test, every socket destroyed. Linux only: it reads the limit
 * back from /proc and uses addresses of 127.0.0.0/8 other than 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { fileURLToPath } from "node:url"
import { acquire, inScope } from "@mcpgate/testing/scoped"
import type { OpenStream } from "@mcpgate/testing/wire"
import { head, openStream, rawRequest } from "@mcpgate/testing/wire"

const packageRoot = fileURLToPath(new URL("../../", import.meta.url))

interface Child {
  readonly url: URL
  readonly key: string
  /** The open-file limit the server runs under, soft and hard, as /proc says. */
  readonly nofile: string
  readonly alive: () => boolean
  /** Sockets of streams it served, kept open until the test ends. */
  readonly held: Array<net.Socket>
  /** Kills the server, if it still runs. */
  readonly kill: () => Promise<void>
}

/**
 * `test/fixtures/streamServer.mjs` under `ulimit -n fileLimit`, with `options` for SseServer,
 * as a scoped resource: when the test ends the streams it held are cut and it is killed.
 */
const streamServer = (fileLimit: number, options: Record<string, unknown>) =>
  acquire(() => startServer(fileLimit, options), async (child) => {
    for (const socket of child.held) socket.destroy()
    await child.kill()
  })

const startServer = (fileLimit: number, options: Record<string, unknown>): Promise<Child> =>
  new Promise((resolve, reject) => {
    const key = randomBytes(24).toString("base64url")
    // `exec`: the pid killed after the test is the server's own, not a shell's.
    const child = spawn("bash", ["-c", `ulimit -n ${fileLimit} && exec "$0" "$1"`, process.execPath, "test/fixtures/streamServer.mjs"], {
      cwd: packageRoot,
      env: { ...process.env, MCP_API_KEY: key, SSE_OPTIONS: JSON.stringify(options) },
      stdio: ["ignore", "pipe", "pipe"]
    })
    const exited = new Promise<void>((done) => child.once("exit", () => done()))
    const kill = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid!, "SIGKILL")
        await exited
      }
    }
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => reject(new Error(`server not listening within 10 s: ${stdout} ${stderr}`)), 10_000)
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      const listening = /^listening (\S+)$/m.exec(stdout)
      if (listening === null) return
      clearTimeout(timer)
      resolve({
        url: new URL(listening[1]!),
        key,
        nofile: /^nofile (.*)$/m.exec(stdout)?.[1] ?? "unknown",
        alive: () => child.exitCode === null && child.signalCode === null,
        held: [],
        kill
      })
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`server exited: ${stdout} ${stderr}`))
    })
  })

/**
 * One `GET /sse` without a credential from `from`: its status (a served stream is kept
 * open), or "failed" when no answer came (connection reset or closed, or 3 s passed).
 */
const attempt = (child: Child, from: string): Promise<number | "failed"> =>
  new Promise((resolve) => {
    const url = child.url
    const socket = net.connect({ port: Number(url.port), host: url.hostname, localAddress: from })
    let received = ""
    const settle = (outcome: number | "failed") => {
      clearTimeout(timer)
      if (outcome === 200) child.held.push(socket)
      else socket.destroy()
      resolve(outcome)
    }
    const timer = setTimeout(() => settle("failed"), 3000)
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1")
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(received)
      if (status !== null && received.includes("\r\n\r\n")) settle(Number(status[1]))
    })
    socket.on("error", () => {})
    socket.on("close", () => settle("failed"))
    socket.write(`GET /sse HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`)
  })

/**
 * `attempts` anonymous streams, `concurrency` at a time, from each of `addresses` in a row
 * (an equal share each): how many got each answer.
 */
const flood = async (child: Child, attempts: number, addresses: ReadonlyArray<string>, concurrency = 50) => {
  const counts: Record<string, number> = {}
  let next = 0
  const worker = async () => {
    while (next < attempts) {
      const index = next++
      const outcome = await attempt(child, addresses[Math.floor((index * addresses.length) / attempts)]!)
      counts[outcome] = (counts[outcome] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return counts
}

/** 127.0.0.<from> to 127.0.0.<from + count - 1>: so many clients to the server. */
const loopbacks = (from: number, count: number) => Array.from({ length: count }, (_, i) => `127.0.0.${from + i}`)

const within = <A>(ms: number, promise: Promise<A>): Promise<A | "timeout"> =>
  Promise.race([promise, new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), ms).unref())])

/**
 * What a valid client gets: its stream (opened with its key), a `ping` posted with its key,
 * and the answer on the stream naming it; or how that failed.
 */
const validClient = async (child: Child): Promise<string> => {
  const opened = await within(2000, openStream(child.url, [["X-API-Key", child.key]]).catch((error: Error) => error))
  if (opened === "timeout" || opened instanceof Error) return `stream not opened: ${String(opened)}`
  const stream: OpenStream = opened
  child.held.push(stream.socket)
  if (stream.response.status !== 200) return `stream refused: ${stream.response.status}`
  const endpoint = await stream.next(2000)
  const body = JSON.stringify({ jsonrpc: "2.0", id: 7, method: "ping" })
  const posted = await rawRequest(
    child.url,
    head(`POST ${endpoint.data} HTTP/1.1`, [
      ["Host", child.url.host],
      ["X-API-Key", child.key],
      ["Content-Type", "application/json"],
      ["Content-Length", String(body.length)],
      ["Connection", "close"]
    ]),
    body
  )
  if (posted.status !== 202) return `message refused: ${posted.status}`
  const answer = await stream.next(2000)
  return JSON.parse(answer.data).result.clientId === "valid-client" ? "served" : `answered ${answer.data}`
}

describe.runIf(process.platform === "linux")("an anonymous stream flood under a lowered file limit", () => {
  it.scopedLive("1,024 files, default caps: of 2,000 streams from 40 addresses, 250 are held, the rest refused; a valid client is served", () => inScope(async (use) => {
    const child = await use(streamServer(1024, {}))
    expect(child.nofile).toBe("1024 1024")

    const counts = await flood(child, 2000, loopbacks(10, 40))

    // Each address holds at most 16 streams, the server 250 without an owner; every other
    // request was answered 429 (its address at its cap) or 503 (the server at its cap).
    expect(counts[200]).toBe(250)
    expect(counts[429]! + counts[503]!).toBe(1750)
    expect(counts[429]).toBeGreaterThan(0)
    expect(counts[503]).toBeGreaterThan(0)
    expect(counts["failed"]).toBeUndefined()

    expect(await validClient(child)).toBe("served")
    // The price, as documented: an anonymous stream from a new address waits for room.
    expect(await attempt(child, "127.0.0.99")).toBe(503)
    expect(child.alive()).toBe(true)
  }), 30_000)

  it.scopedLive("control: with the caps raised past a 256-file limit, 400 such streams leave a valid client unserved", () => inScope(async (use) => {
    const child = await use(streamServer(256, {
      maxStreams: 100_000,
      maxAnonymousStreams: 99_999,
      maxAnonymousStreamsPerClient: 99_999
    }))
    expect(child.nofile).toBe("256 256")

    const counts = await flood(child, 400, loopbacks(10, 4))

    // The process ran out of descriptors before the flood did.
    expect(counts[200]).toBeLessThan(256)
    // Not a crash: the process is up, with every descriptor held by the flood.
    expect(await validClient(child)).not.toBe("served")
    expect(child.alive()).toBe(true)
  }), 30_000)
})
