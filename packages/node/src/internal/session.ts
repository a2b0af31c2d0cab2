/**
 * One SSE session: its open stream, the identity that owns it, the timers that end it
 * (heartbeat, owner expiry), and its place in the server's stream counts, which times it out
 * while it has no owner. The transport handed to the MCP SDK is its public face.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { randomUUID } from "node:crypto"
import type { ServerResponse } from "node:http"
import type { LostReason } from "@mcpgate/http/SessionOwner"
import { SessionOwner } from "@mcpgate/http/SessionOwner"
import type { JsonRpcMessage } from "./jsonRpc.js"
import type { MessageExtra } from "./messageExtra.js"
import type { StreamSlot } from "./streamLimits.js"

export interface SessionSettings {
  readonly messageEndpoint: string
  readonly heartbeatMs: number
  /** A client that has not read this much of its stream is too slow and is cut off. */
  readonly maxBufferedBytes: number
  readonly provider: AuthProvider.Service
  readonly registry: Map<string, Session>
}

/**
 * Why a session ended; `unclaimed`: no identity bound it within `anonymousStreamTimeout`.
 */
export type EndReason =
  | "closed"
  | "client_gone"
  | "server_closed"
  | "expired"
  | "revoked"
  | "slow_client"
  | "unclaimed"

export class Session {
  readonly id: string = randomUUID()
  readonly #owner: SessionOwner
  #started = false
  #ended = false
  #heartbeat: NodeJS.Timeout | undefined

  /** Set by the transport: where posted messages go, and who hears of the end. */
  deliver: (message: JsonRpcMessage, extra: MessageExtra) => void = () => {}
  onEnd: (reason: EndReason) => void = () => {}

  constructor(
    private readonly response: ServerResponse,
    private readonly settings: SessionSettings,
    owner: Principal | undefined,
    /** The stream's place in the server's stream counts (`streamLimits.ts`). */
    private readonly slot: StreamSlot
  ) {
    this.#owner = new SessionOwner(settings.provider, (reason) => this.end(reason))
    settings.registry.set(this.id, this)
    response.on("close", () => this.end("client_gone"))
    if (owner !== undefined) this.bind(owner)
  }

  /** Whether the endpoint was announced; only then do `POST`s reach the session. */
  get started(): boolean {
    return this.#started
  }

  get owner(): Principal | undefined {
    return this.#owner.principal
  }

  /** Whether this caller may post to the session (it is unowned, or the same identity). */
  admits(principal: Principal): boolean {
    return this.#owner.admits(principal)
  }

  get ended(): boolean {
    return this.#ended
  }

  /** Announces the message endpoint and makes the session reachable by `POST`s. */
  start(): void {
    if (this.#started) throw new Error("SSE session already started")
    if (this.#ended) throw new Error("SSE session already closed")
    this.#started = true
    this.write(`event: endpoint\ndata: ${this.settings.messageEndpoint}?sessionId=${this.id}\n\n`)
    this.#heartbeat = setInterval(() => this.write(": keep-alive\n\n"), this.settings.heartbeatMs)
    this.#heartbeat.unref()
  }

  /** Sends one JSON-RPC message as a `message` event. */
  send(message: unknown): void {
    if (this.#ended) throw new Error("Not connected")
    this.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`)
    // This write cut the client off as too slow: the connection, message included, is gone.
    if (this.#ended) throw new Error("Not connected: the client was too slow to read its stream")
  }

  /** Binds the session to its first identity, or refreshes the owner's latest `exp`. */
  bind(principal: Principal): void {
    this.#owner.bind(principal)
    // Owned now: no longer anonymous, so neither counted nor timed out as such.
    if (this.#owner.principal !== undefined) this.slot.claim()
  }

  /** Ends the stream once: `closed` by the server code, or one of the reasons that cut it. */
  end(reason: EndReason): void {
    if (this.#ended) return
    this.#ended = true
    clearInterval(this.#heartbeat)
    this.#owner.dispose()
    this.slot.release()
    this.settings.registry.delete(this.id)
    if (reason === "slow_client") {
      // Ending politely would queue the last chunk behind output the client is not reading:
      // the connection and its buffer would stay for as long as the client lingers.
      this.response.destroy()
    } else if (!this.response.writableEnded) {
      this.response.end()
    }
    this.onEnd(reason)
  }

  /** Asks the provider whether the owner is still accepted (after a rotation). */
  revalidate(reason: LostReason): Promise<void> {
    return this.#owner.revalidate(reason)
  }

  private write(text: string): void {
    if (this.#ended) return
    this.response.write(text)
    if (this.response.writableLength > this.settings.maxBufferedBytes) this.end("slow_client")
  }
}
