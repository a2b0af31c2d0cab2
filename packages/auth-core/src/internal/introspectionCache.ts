/**
 * What the introspection provider remembers. Answers are kept by the SHA-256 of the token (the
 * cache holds no bearer token), in a bounded LRU: an accepted token until the earliest of its
 * `exp` and the configured TTL, so the cache never outlives the token; an inactive or refused
 * one briefly, so a flood of bad tokens does not become a flood of calls. A 503 is never kept.
 * Checks of one token that arrive while its introspection is under way share that one call.
 */
import type { JWTPayload } from "jose"
import type { SingleFailure } from "../AuthFailure.js"
import { Lru } from "../Lru.js"
import type { Principal } from "../Principal.js"
import type { CacheSettings } from "./introspectionOptions.js"

/** A decided answer about one token, until `until` (milliseconds since the epoch). */
export type Decided =
  | { readonly _tag: "Accepted"; readonly principal: Principal; readonly payload: JWTPayload; readonly until: number }
  | { readonly _tag: "Refused"; readonly failure: SingleFailure; readonly until: number }

/** What one introspection led to: a decision, or the server's unavailability (never kept). */
export type Outcome = Decided | { readonly _tag: "Unavailable" }

export interface IntrospectionCache {
  /** The decision kept for a digest at `nowMillis`; an expired one is dropped. */
  readonly recall: (digest: string, nowMillis: number) => Decided | undefined
  /** The outcome of the token's introspection, sharing the call already under way for it. */
  readonly shared: (digest: string, introspect: () => Promise<Outcome>) => Promise<Outcome>
  readonly forget: (digest: string) => void
  /** How many introspections are under way (for tests of the sharing). */
  readonly inFlight: () => number
}

export const make = (settings: CacheSettings | undefined): IntrospectionCache => {
  const decided = settings === undefined ? undefined : new Lru<string, Decided>(settings.maxEntries)
  const pending = new Map<string, Promise<Outcome>>()
  return {
    recall: (digest, nowMillis) => {
      const entry = decided?.get(digest)
      if (entry === undefined || nowMillis < entry.until) return entry
      decided!.delete(digest)
      return undefined
    },
    shared: (digest, introspect) => {
      const under = pending.get(digest)
      if (under !== undefined) return under
      const call = introspect().then((outcome) => {
        // Kept before the call is let go, so that no check between the two calls again.
        if (outcome._tag !== "Unavailable") decided?.set(digest, outcome)
        pending.delete(digest)
        return outcome
      })
      pending.set(digest, call)
      return call
    },
    forget: (digest) => decided?.delete(digest),
    inFlight: () => pending.size
  }
}
