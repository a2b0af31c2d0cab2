/**
 * Who owns a session, and when that ownership lapses (docs/behaviour.md#endpoint-policy): a session is
 * bound to the first identity that authenticates on it, a refreshed credential moves its
 * expiry on, and the session is lost when the owner's credential expires (the latest `exp`
 * seen, then the provider's clock tolerance) or is revoked by a rotation. Shared by every
 * transport that keeps sessions: the legacy SSE one here, Streamable HTTP in
 * `@mcpgate/mcp-sdk`.
 *
 * @example
 * ```ts
 * import { SessionOwner } from "@mcpgate/http"
 *
 * const owner = new SessionOwner.SessionOwner(provider, (reason) => closeSession(reason))
 * if (!owner.admits(principal)) return forbidden() // another identity: the 403 of docs/behaviour.md#answers
 * owner.bind(principal)
 * ```
 *
 * @since 0.1.0
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { sameIdentity } from "@mcpgate/auth-core/Principal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"

/**
 * Why the owner lost the session.
 *
 * @since 0.1.0
 */
export type LostReason = "expired" | "revoked"

// setTimeout takes at most 2^31 - 1 ms; longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1
// Once past `exp`, the provider's clock tolerance decides; ask it again this often.
const EXPIRY_POLL_MS = 1000

/**
 * The owner of one session, with the timer that watches its expiry.
 *
 * @since 0.1.0
 */
export class SessionOwner {
  #principal: Principal | undefined
  #expiry: NodeJS.Timeout | undefined
  #disposed = false

  constructor(
    private readonly provider: AuthProvider.Service,
    /** Called once when the owner's credential expires or is revoked. */
    private readonly onLost: (reason: LostReason) => void
  ) {}

  /** The owner, once bound. */
  get principal(): Principal | undefined {
    return this.#principal
  }

  /** Whether this caller may use the session: it has no owner yet, or the same identity. */
  admits(principal: Principal): boolean {
    return this.#principal === undefined || sameIdentity(this.#principal, principal)
  }

  /**
   * Binds the session to its first identity, or refreshes the owner's latest `exp`. Another
   * identity is never bound: the answer is false, and the owner stays.
   */
  bind(principal: Principal): boolean {
    if (!this.admits(principal)) return false
    if (this.#disposed) return true
    const owner = this.#principal
    if (owner !== undefined && (principal.expiresAt ?? Infinity) <= (owner.expiresAt ?? Infinity)) return true
    this.#principal = principal
    this.#scheduleExpiry()
    return true
  }

  /** Asks the provider whether the owner is still accepted (after a rotation, at expiry). */
  async revalidate(reason: LostReason): Promise<void> {
    const owner = this.#principal
    if (owner === undefined || this.#disposed) return
    const exit = await Effect.runPromiseExit(this.provider.stillValid(owner))
    // A provider that cannot answer has not vouched for the owner.
    const valid = Exit.isSuccess(exit) && exit.value
    // A refreshed credential may have replaced the owner meanwhile; judge the latest one.
    if (!valid && this.#principal === owner && !this.#disposed) {
      this.dispose()
      this.onLost(reason)
    }
  }

  /** Stops watching; the session has ended. */
  dispose(): void {
    this.#disposed = true
    clearTimeout(this.#expiry)
  }

  #scheduleExpiry(): void {
    clearTimeout(this.#expiry)
    const expiresAt = this.#principal?.expiresAt
    if (expiresAt === undefined || this.#disposed) return
    const wait = Math.min(Math.max(expiresAt * 1000 - Date.now(), 0), MAX_TIMER_MS)
    this.#expiry = setTimeout(() => this.#onExpiryTimer(), wait)
    this.#expiry.unref()
  }

  #onExpiryTimer(): void {
    const expiresAt = this.#principal?.expiresAt
    if (expiresAt === undefined || this.#disposed) return
    if (expiresAt * 1000 > Date.now()) return this.#scheduleExpiry()
    void this.revalidate("expired").then(() => {
      if (this.#disposed) return
      this.#expiry = setTimeout(() => this.#onExpiryTimer(), EXPIRY_POLL_MS)
      this.#expiry.unref()
    })
  }
}
