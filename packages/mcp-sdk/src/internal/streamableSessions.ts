/**
 * The sessions of a Streamable HTTP endpoint: each with the identity that owns it, the
 * sessions each identity holds (and its `initialize` requests under way) for the cap per
 * identity, room made under that cap, and the sweeper that closes idle sessions.
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import { HttpAnswer } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { SessionOwner } from "@mcpgate/http"
import type * as http from "node:http"
import type { McpServerLike, StreamableTransportLike } from "./sdk.js"

/** One session: the SDK's transport and server, and the identity that owns them. */
export interface Session {
  readonly transport: StreamableTransportLike
  readonly server: McpServerLike
  readonly owner: SessionOwner.SessionOwner
  /** The owner's `Principal.identity`, for the cap on sessions per identity. */
  readonly identity: string
  /** Requests of this session still open (a `GET` stream stays open for long). */
  inFlight: number
  /** When the last request of this session ended (ms). */
  lastActive: number
}

/** The sessions of one endpoint. */
export interface Sessions {
  readonly get: (id: string) => Session | undefined
  readonly has: (id: string) => boolean
  readonly size: () => number
  readonly owners: () => ReadonlyArray<SessionOwner.SessionOwner>
  /** A session the SDK has just given `id`, owned by `principal` from now on. */
  readonly add: (id: string, transport: StreamableTransportLike, server: McpServerLike, principal: Principal) => Session
  /** Counts one `initialize` of `identity` under way; the function returned uncounts it, once. */
  readonly initializing: (identity: string) => () => void
  readonly makeRoom: (identity: string) => HttpAnswer.HttpAnswer | undefined
  /** Counts a request open on the session until its response closes. */
  readonly track: (session: Session, response: http.ServerResponse) => void
  readonly close: (id: string) => Promise<void>
  /** Stops the sweeper and closes every session. */
  readonly closeAll: () => Promise<void>
}

// Clients often leave without `DELETE`; how often sessions are checked for idleness.
const IDLE_SWEEP_MS = 60_000

// When every session of an identity at its cap has a request open, nothing says when one will
// end: ask again soon, but not in a loop.
const SESSIONS_RETRY_AFTER_SECONDS = 10

export const makeSessions = (
  provider: AuthProvider.Service,
  settings: { readonly sessionIdleTimeout: number; readonly maxSessionsPerIdentity: number }
): Sessions => {
  const sessions = new Map<string, Session>()
  // Session ids by owner identity, and `initialize` requests under way by identity: the cap
  // on sessions per identity counts both, so concurrent requests cannot pass it together.
  const byIdentity = new Map<string, Set<string>>()
  const initializing = new Map<string, number>()

  const close = async (id: string): Promise<void> => {
    const session = sessions.get(id)
    if (session === undefined) return
    sessions.delete(id)
    const ids = byIdentity.get(session.identity)
    ids?.delete(id)
    if (ids?.size === 0) byIdentity.delete(session.identity)
    session.owner.dispose()
    await Promise.allSettled([session.transport.close(), session.server.close()])
  }

  // A session with no request open for `idleTimeout` is closed: a client that left without
  // `DELETE` must not hold its server, transport and timers for ever.
  const idleMs = settings.sessionIdleTimeout * 1000
  const sweeper = setInterval(() => {
    const now = Date.now()
    for (const [id, session] of sessions) {
      if (session.inFlight === 0 && now - session.lastActive >= idleMs) void close(id)
    }
  }, Math.min(IDLE_SWEEP_MS, Math.max(idleMs / 10, 100)))
  sweeper.unref()

  /**
   * Room for one more session of `identity` (docs/behaviour.md#order-of-checks, step 6): at
   * its cap, its least recently active session with no request open is closed, as an idle
   * session is most often one whose client left without `DELETE`, and a client that is still
   * there gets the SDK's 404 and initializes anew (MCP specification, session management).
   * If every one has a request open, nothing is closed: a busy client is never cut off for
   * another, and the answer is 429. Only the identity's own sessions are ever touched.
   */
  const makeRoom = (identity: string): HttpAnswer.HttpAnswer | undefined => {
    const ids = byIdentity.get(identity)
    const held = (ids?.size ?? 0) + (initializing.get(identity) ?? 0)
    if (held < settings.maxSessionsPerIdentity) return undefined
    let oldest: { readonly id: string; readonly lastActive: number } | undefined
    for (const id of ids ?? []) {
      const session = sessions.get(id)!
      if (session.inFlight === 0 && (oldest === undefined || session.lastActive < oldest.lastActive)) {
        oldest = { id, lastActive: session.lastActive }
      }
    }
    if (oldest === undefined) return HttpAnswer.tooManySessions(SESSIONS_RETRY_AFTER_SECONDS)
    // Out of the counts at once (`close` deletes before it awaits the SDK).
    void close(oldest.id)
    return undefined
  }

  return {
    get: (id) => sessions.get(id),
    has: (id) => sessions.has(id),
    size: () => sessions.size,
    owners: () => [...sessions.values()].map((session) => session.owner),
    add: (id, transport, server, principal) => {
      const owner = new SessionOwner.SessionOwner(provider, () => void close(id))
      owner.bind(principal)
      const identity = principal.identity
      const session: Session = { transport, server, owner, identity, inFlight: 0, lastActive: Date.now() }
      sessions.set(id, session)
      const ids = byIdentity.get(identity) ?? new Set()
      ids.add(id)
      byIdentity.set(identity, ids)
      return session
    },
    initializing: (identity) => {
      initializing.set(identity, (initializing.get(identity) ?? 0) + 1)
      let counted = true
      return () => {
        if (!counted) return
        counted = false
        const left = (initializing.get(identity) ?? 1) - 1
        if (left === 0) initializing.delete(identity)
        else initializing.set(identity, left)
      }
    },
    makeRoom,
    track: (session, response) => {
      session.inFlight += 1
      response.once("close", () => {
        session.inFlight -= 1
        session.lastActive = Date.now()
      })
    },
    close,
    closeAll: async () => {
      clearInterval(sweeper)
      await Promise.all([...sessions.keys()].map(close))
    }
  }
}
