/**
 * The server side of one MCP HTTP+SSE session (protocol 2024-11-05), as the object an MCP
 * SDK `Server` or `McpServer` connects to. It satisfies the SDK's structural `Transport`
 * interface (v1 and v2) without importing the SDK.
 *
 * @example
 * ```ts
 * import { SseServer } from "@mcpgate/node"
 *
 * SseServer.unsafeMake({
 *   auth: { provider },
 *   onSession: (transport) => buildMcpServer().connect(transport)
 * })
 * ```
 *
 * @since 0.1.0
 */
import type { Principal } from "@mcpgate/auth-core/Principal"
import type { JsonRpcMessage } from "./internal/jsonRpc.js"
import type { MessageExtra } from "./internal/messageExtra.js"
import type { EndReason, Session } from "./internal/session.js"

export type { JsonRpcMessage, MessageExtra }

/**
 * One session's transport. `start` announces the message endpoint on the stream, `send`
 * writes a `message` event, `close` ends the stream. Messages posted to the session reach
 * `onmessage` with `authInfo`, `requestInfo` (SDK v1) and `request` (SDK v2).
 *
 * @since 0.1.0
 */
export class SseTransport {
  readonly #session: Session
  #endReason: EndReason | undefined

  /** Set by the SDK when it connects. */
  onmessage?: ((message: JsonRpcMessage, extra?: MessageExtra) => void) | undefined
  onclose?: (() => void) | undefined
  onerror?: ((error: Error) => void) | undefined

  /** @internal Made by `SseServer` for each stream it opens. */
  constructor(session: Session) {
    this.#session = session
    session.deliver = (message, extra) => {
      try {
        this.onmessage?.(message, extra)
      } catch (error) {
        this.#report(error)
      }
    }
    session.onEnd = (reason) => {
      this.#endReason = reason
      // Sessions end from socket events, timers, key rotations and `server.close()`: a
      // throwing handler must neither crash the process nor stop the other sessions ending.
      try {
        this.onclose?.()
      } catch (error) {
        this.#report(error)
      }
    }
  }

  #report(error: unknown): void {
    try {
      this.onerror?.(error instanceof Error ? error : new Error(String(error)))
    } catch {
      // Nowhere left to report it.
    }
  }

  /** The session id, as announced in the endpoint event. */
  get sessionId(): string {
    return this.#session.id
  }

  /** The identity the session is bound to, once one has authenticated on it. */
  get principal(): Principal | undefined {
    return this.#session.owner
  }

  /** Why the stream ended (`client_gone`, `expired`, `revoked`, ...), once it has. */
  get endReason(): EndReason | undefined {
    return this.#endReason
  }

  /** Announces the message endpoint; the SDK calls this from `connect`. */
  start(): Promise<void> {
    try {
      this.#session.start()
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Writes one JSON-RPC message to the stream. */
  send(message: unknown): Promise<void> {
    try {
      this.#session.send(message)
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /** Ends the stream; `onclose` runs once. */
  close(): Promise<void> {
    this.#session.end("closed")
    return Promise.resolve()
  }
}
