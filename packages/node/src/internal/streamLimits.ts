/**
 * How many SSE streams may be open. With `endpoints.sse` open (the reference's default) anyone
 * can open a stream without a credential, and each holds a socket, a file descriptor and some
 * 30 KiB until its client leaves: enough of them starve the process of descriptors, and a
 * valid client can no longer connect. So:
 * - a stream with no owner is anonymous: it counts against its client's cap (429) and the
 *   anonymous cap of the server (503), and ends after `anonymousTimeout` unless a `POST`
 *   binds an owner to it;
 * - a stream with an owner (opened with a credential, or bound since) counts only against the
 *   server's cap of all streams (503), which the anonymous cap stays below: however many
 *   anonymous streams a flood opens, a client that sends its credential finds room.
 */
import { HttpAnswer } from "@mcpgate/auth-core"

export interface StreamLimitSettings {
  /** Every open stream, owned or not. */
  readonly maxStreams: number
  /** Streams without an owner, all clients together; below `maxStreams`. */
  readonly maxAnonymousStreams: number
  /** Streams without an owner from one client address. */
  readonly maxAnonymousStreamsPerClient: number
  /** How long a stream may stay without an owner (ms). */
  readonly anonymousTimeoutMs: number
}

/** One open stream's place in the counts. */
export interface StreamSlot {
  /** The stream has an owner now: it leaves the anonymous counts and its timer. */
  readonly claim: () => void
  /** The stream ended: it leaves every count. */
  readonly release: () => void
}

interface Anonymous {
  readonly client: string
  /** When the stream ends unless claimed (ms since the epoch). */
  readonly deadline: number
  readonly timer: NodeJS.Timeout
}

const first = <A>(set: ReadonlySet<A>): A | undefined => set.values().next().value

export class StreamLimits {
  #open = 0
  // Insertion order is opening order, so the first entry is the next to time out.
  readonly #anonymous = new Set<Anonymous>()
  readonly #byClient = new Map<string, Set<Anonymous>>()

  constructor(private readonly settings: StreamLimitSettings) {}

  /**
   * The answer refusing a new stream, or undefined if it may open. `anonymousClient` is the
   * client address for a stream without an owner, undefined for one opened with a credential.
   */
  refusal(anonymousClient: string | undefined, now: number): HttpAnswer.HttpAnswer | undefined {
    if (anonymousClient !== undefined) {
      const own = this.#byClient.get(anonymousClient)
      if (own !== undefined && own.size >= this.settings.maxAnonymousStreamsPerClient) {
        return HttpAnswer.tooManySessions(this.#secondsUntil(first(own), now))
      }
      if (this.#anonymous.size >= this.settings.maxAnonymousStreams) {
        return HttpAnswer.sessionsUnavailable(this.#secondsUntil(first(this.#anonymous), now))
      }
    }
    if (this.#open >= this.settings.maxStreams) return HttpAnswer.sessionsUnavailable(this.#secondsUntil(first(this.#anonymous), now))
    return undefined
  }

  /**
   * Counts a stream that opens. An anonymous one (`anonymousClient` set) gets `onTimeout`
   * called once `anonymousTimeout` passes unless it is claimed or released first.
   */
  open(anonymousClient: string | undefined, onTimeout: () => void, now: number): StreamSlot {
    this.#open += 1
    let released = false
    let entry: Anonymous | undefined
    if (anonymousClient !== undefined) {
      const timer = setTimeout(onTimeout, this.settings.anonymousTimeoutMs)
      // A stream must not keep the process alive on its own.
      timer.unref()
      entry = { client: anonymousClient, deadline: now + this.settings.anonymousTimeoutMs, timer }
      this.#anonymous.add(entry)
      const own = this.#byClient.get(anonymousClient) ?? new Set()
      own.add(entry)
      this.#byClient.set(anonymousClient, own)
    }
    const leaveAnonymous = () => {
      if (entry === undefined) return
      clearTimeout(entry.timer)
      this.#anonymous.delete(entry)
      const own = this.#byClient.get(entry.client)
      own?.delete(entry)
      // Emptied sets go, so that a flood from many addresses leaves nothing behind.
      if (own?.size === 0) this.#byClient.delete(entry.client)
      entry = undefined
    }
    return {
      claim: leaveAnonymous,
      release: () => {
        if (released) return
        released = true
        leaveAnonymous()
        this.#open -= 1
      }
    }
  }

  /** Seconds until the stream `entry` times out; without one, a whole anonymous timeout. */
  #secondsUntil(entry: Anonymous | undefined, now: number): number {
    return ((entry?.deadline ?? now + this.settings.anonymousTimeoutMs) - now) / 1000
  }
}
