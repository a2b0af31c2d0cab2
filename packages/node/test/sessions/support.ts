/**
 * What the session tests share: an `onSession` that records every transport, what reached
 * it and how it ended; a raw `POST` to a session; recording servers as scoped resources;
 * polling for a condition.
 */
import type { JsonRpcMessage, MessageExtra, SseServer, SseTransport } from "@mcpgate/node"
import { SignJWT } from "jose"
import { SECRET } from "@mcpgate/testing/credentials"
import { acquire } from "@mcpgate/testing/scoped"
import type { OpenStream, RawResponse } from "@mcpgate/testing/wire"
import { head, openStream, rawRequest, sessionIdOf } from "@mcpgate/testing/wire"
import { start } from "../fixtures/servers.js"

/** One session as the server side saw it. */
export interface Recorded {
  readonly transport: SseTransport
  /** Every message that reached `onmessage`, with its extra. */
  readonly messages: Array<{ readonly message: JsonRpcMessage; readonly extra: MessageExtra | undefined }>
  /** How many times `onclose` ran. */
  readonly closes: () => number
  /** Resolves when `onclose` first runs. */
  readonly closed: Promise<void>
}

/** Records each session and starts it (announces the endpoint). */
export const recorder = () => {
  const sessions: Array<Recorded> = []
  const onSession = async (transport: SseTransport): Promise<void> => {
    let closes = 0
    let resolveClosed: () => void = () => {}
    const closed = new Promise<void>((resolve) => (resolveClosed = resolve))
    const recorded: Recorded = { transport, messages: [], closes: () => closes, closed }
    transport.onmessage = (message, extra) => {
      recorded.messages.push({ message, extra })
    }
    transport.onclose = () => {
      closes++
      resolveClosed()
    }
    sessions.push(recorded)
    await transport.start()
  }
  /** The recorded session with this id. */
  const byId = (id: string): Recorded => {
    const found = sessions.find((session) => session.transport.sessionId === id)
    if (found === undefined) throw new Error(`no session ${id}`)
    return found
  }
  return { sessions, onSession, byId }
}

export type Header = readonly [string, string]

export const apiKey = (key: string): ReadonlyArray<Header> => [["X-API-Key", key]]
export const bearer = (token: string): ReadonlyArray<Header> => [["Authorization", `Bearer ${token}`]]

export const PING = JSON.stringify({ jsonrpc: "2.0", method: "ping", id: 1 })

/** A `POST` of `body` to the session, with `headers` besides Host, Content-Type and Content-Length. */
export const post = (
  server: SseServer.RunningServer,
  sessionId: string,
  headers: ReadonlyArray<Header>,
  body: string = PING
): Promise<RawResponse> =>
  rawRequest(
    server.url,
    head(`POST /messages?sessionId=${sessionId} HTTP/1.1`, [
      ["Host", server.url.host],
      ["Content-Type", "application/json"],
      ["Content-Length", String(Buffer.byteLength(body))],
      ["Connection", "close"],
      ...headers
    ]),
    body
  )

/**
 * Opens a stream and reads the endpoint event; `ended` resolves when the server ends the
 * response.
 */
export const open = async (
  server: SseServer.RunningServer,
  headers: ReadonlyArray<Header>
): Promise<{ readonly stream: OpenStream; readonly sessionId: string; readonly ended: Promise<void> }> => {
  const stream = await openStream(server.url, [["Connection", "close"], ...headers])
  if (stream.response.status !== 200) throw new Error(`stream refused: ${stream.response.status} ${stream.response.body}`)
  // The server keeps the connection alive after a stream ends: `ended` resolves at the last chunk.
  const ended = stream.ended
  const endpoint = await stream.next()
  if (endpoint.event !== "endpoint") throw new Error(`expected the endpoint event, got ${endpoint.event}`)
  return { stream, sessionId: sessionIdOf(endpoint), ended }
}

/** Polls `condition` every 10 ms; rejects after `timeoutMs`. */
export const waitFor = async (condition: () => boolean, timeoutMs = 2000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves with "settled" if `promise` settles within `ms`, else "pending". */
export const within = (promise: Promise<unknown>, ms: number): Promise<"settled" | "pending"> =>
  Promise.race([promise.then(() => "settled" as const, () => "settled" as const), sleep(ms).then(() => "pending" as const)])

/** Seconds since the epoch, whole. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/** An HS256 token for `sub` under `SECRET` that expires at exactly `exp` (seconds). */
export const tokenExpiringAt = (sub: string, exp: number): Promise<string> =>
  new SignJWT({ scope: "tools:read" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(SECRET))

/**
 * Servers whose sessions are recorded, and streams opened on them, as scoped resources:
 * `serve(auth)` and `openAs(server, record, headers)`; the test's scope closes the streams,
 * then the servers.
 */
export const recordingServers = () => {
  const serve = (auth: SseServer.SseServerOptions["auth"]) => {
    const record = recorder()
    return acquire(async () => ({ server: await start({ auth, onSession: record.onSession }), record }), ({ server }) => server.close())
  }

  const openAs = (
    server: SseServer.RunningServer,
    record: ReturnType<typeof recorder>,
    headers: Parameters<typeof open>[1]
  ) =>
    acquire(
      async () => {
        const opened = await open(server, headers)
        return { ...opened, session: record.byId(opened.sessionId) }
      },
      ({ stream }) => stream.close()
    )

  return { serve, openAs }
}
