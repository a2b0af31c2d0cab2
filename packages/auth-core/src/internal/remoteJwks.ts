// The one module of the core that does I/O: jose's fetch of a remote JWK Set.
import * as Effect from "effect/Effect"
import type { CryptoKey, JWSHeaderParameters, KeyObject } from "jose"
import { createRemoteJWKSet, errors } from "jose"

/** What resolving a key from the remote set found. */
export type RemoteKeyResult =
  | { readonly _tag: "Keys"; readonly keys: ReadonlyArray<CryptoKey | KeyObject> }
  | { readonly _tag: "NoMatchingKey" }
  | { readonly _tag: "Unavailable" }

export interface RemoteJwks {
  readonly url: string
  readonly resolve: (header: JWSHeaderParameters) => Effect.Effect<RemoteKeyResult>
}

export interface RemoteJwksOptions {
  readonly timeoutMillis: number
  readonly cooldownMillis: number
  readonly cacheMaxAgeMillis: number
}

const collect = async (matches: AsyncIterable<CryptoKey | KeyObject>): Promise<RemoteKeyResult> => {
  const keys: Array<CryptoKey | KeyObject> = []
  try {
    for await (const key of matches) keys.push(key)
  } catch {
    // a key of the set could not be imported: the set is unusable as served
    return { _tag: "Unavailable" }
  }
  return { _tag: "Keys", keys }
}

/**
 * A cached remote key set. A key that is not found, or found several times, is the token's
 * fault (401); anything else (network error, timeout, non-200, a body that is not a key
 * set) is the key source's fault (503), so a client is never told a good token is bad.
 */
export const make = (url: string, options: RemoteJwksOptions): RemoteJwks => {
  const jwks = createRemoteJWKSet(new URL(url), {
    timeoutDuration: options.timeoutMillis,
    cooldownDuration: options.cooldownMillis,
    cacheMaxAge: options.cacheMaxAgeMillis
  })
  const resolve = (header: JWSHeaderParameters): Effect.Effect<RemoteKeyResult> =>
    Effect.promise(async (): Promise<RemoteKeyResult> => {
      try {
        return { _tag: "Keys", keys: [await jwks(header)] }
      } catch (error) {
        if (error instanceof errors.JWKSMultipleMatchingKeys) return collect(error)
        if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JOSENotSupported) {
          return { _tag: "NoMatchingKey" }
        }
        return { _tag: "Unavailable" }
      }
    })
  return { url, resolve }
}
