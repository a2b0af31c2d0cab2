/**
 * One SSE session: its open stream, the identity that owns it, and the timers that end it
 * (heartbeat, owner expiry). The transport handed to the MCP SDK is its public face.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { randomUUID } from "node:crypto"
import type { ServerResponse } from "node:http"
import type { JsonRpcMessage } from "./jsonRpc.js"
import type { MessageExtra } from "./messageExtra.js"

export interface SessionSettings {
  readonly messageEndpoint: string
  readonly heartbeatMs: number
  /** A client that has not read this much of its stream is too slow and is cut off. */
  readonly maxBufferedBytes: number
  readonly provider: AuthProvider.Service
  readonly registry: Map<string, Session>
}

/** Why a session ended. */
export type EndReason = "closed" | "client_gone" | "server_closed" | "expired" | "revoked" | "slow_client"

// setTimeout takes at most 2^31 - 1 ms; longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1
// Once past `exp`, the provider's clock tolerance decides; ask it again this often.
const EXPIRY_POLL_MS = 1000

export class Session {
  readonly id: string = randomUUID()
  #owner: Principal | undefined
  #started = false
  #ended = false
  #heartbeat: NodeJS.Timeout | undefined
  #expiry: NodeJS.Timeout | undefined

  /** Set by the transport: where posted messages go, and who hears of the end. */
  deliver: (message: JsonRpcMessage, extra: MessageExtra) => void = () => {}
  onEnd: (reason: EndReason) => void = () => {}

  constructor(
    private readonly response: ServerResponse,
    private readonly settings: SessionSettings,
    owner: Principal | undefined
  ) {
    settings.registry.set(this.id, this)
    response.on("close", () => this.end("client_gone"))
    if (owner !== undefined) this.bind(owner)
  }

  /** Whether the endpoint was announced; only then do `POST`s reach the session. */
  get started(): boolean {
    return this.#started
  }

  get owner(): Principal | undefined {
    return this.#owner
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
    const owner = this.#owner
    if (owner !== undefined && (principal.expiresAt ?? Infinity) <= (owner.expiresAt ?? Infinity)) return
    this.#owner = principal
    this.#scheduleExpiry()
  }

  /** Ends the stream once: `closed` by the server code, or one of the reasons that cut it. */
  end(reason: EndReason): void {
    if (this.#ended) return
    this.#ended = true
    clearInterval(this.#heartbeat)
    clearTimeout(this.#expiry)
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

  /** Asks the provider whether the owner is still accepted (after a rotation, at expiry). */
  async revalidate(reason: "expired" | "revoked"): Promise<void> {
    const owner = this.#owner
    if (owner === undefined || this.#ended) return
    const exit = await Effect.runPromiseExit(this.settings.provider.stillValid(owner))
    // A provider that cannot answer has not vouched for the owner.
    const valid = Exit.isSuccess(exit) && exit.value
    // A refreshed credential may have replaced the owner meanwhile; judge the latest one.
    if (!valid && this.#owner === owner) this.end(reason)
  }

  #scheduleExpiry(): void {
    clearTimeout(this.#expiry)
    const expiresAt = this.#owner?.expiresAt
    if (expiresAt === undefined || this.#ended) return
    const wait = Math.min(Math.max(expiresAt * 1000 - Date.now(), 0), MAX_TIMER_MS)
    this.#expiry = setTimeout(() => this.#onExpiryTimer(), wait)
    this.#expiry.unref()
  }

  #onExpiryTimer(): void {
    const expiresAt = this.#owner?.expiresAt
    if (expiresAt === undefined || this.#ended) return
    if (expiresAt * 1000 > Date.now()) return this.#scheduleExpiry()
    void this.revalidate("expired").then(() => {
      if (this.#ended) return
      this.#expiry = setTimeout(() => this.#onExpiryTimer(), EXPIRY_POLL_MS)
      this.#expiry.unref()
    })
  }

  private write(text: string): void {
    if (this.#ended) return
    this.response.write(text)
    if (this.response.writableLength > this.settings.maxBufferedBytes) this.end("slow_client")
  }
}
