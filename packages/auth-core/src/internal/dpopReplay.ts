/**
 * The proofs already accepted (RFC 9449 11.1): a proof is good once. An entry is kept as long
 * as its proof could still be accepted (its `iat` plus the age allowed plus the clock
 * tolerance), so that a replay is refused for as long as it could otherwise pass; the cache is
 * an LRU bounded by `maxEntries`, like the verified-token cache, and only proofs that passed
 * every other check (a valid token bound to the proof's key) enter it, so a stranger's junk
 * evicts nothing.
 */
import { Lru } from "../Lru.js"

export interface ReplayCache {
  /**
   * Remembers a proof by its key (a digest of the key thumbprint and `jti`) until
   * `keepUntilMillis`; false when the same proof is remembered already and still live.
   */
  readonly firstUse: (key: string, keepUntilMillis: number, nowMillis: number) => boolean
  readonly size: () => number
}

export const makeReplayCache = (maxEntries: number): ReplayCache => {
  const seen = new Lru<string, number>(maxEntries)
  return {
    firstUse: (key, keepUntilMillis, nowMillis) => {
      const until = seen.get(key)
      if (until !== undefined && until >= nowMillis) return false
      seen.set(key, keepUntilMillis)
      return true
    },
    size: () => seen.size
  }
}
