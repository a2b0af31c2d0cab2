/**
 * The identity of a custom provider's caller let in without a subject: an HMAC-SHA-256 of
 * the credential headers it showed, keyed by a secret that lives only in this process, so the
 * digest names the credential without being a way to test guesses of it offline. On
 * `node:crypto` at once; on the web path Web Crypto's HMAC, waited for.
 */
import type { RequestHeaders } from "../Credentials.js"
import { headerLines } from "../Credentials.js"
import type { Platform } from "./platform.js"
import * as Platforms from "./platform.js"

/** The identity of a request, from the credential headers of `names`. */
export type UnnamedIdentity = (request: RequestHeaders) => string | Promise<string>

/**
 * `key` is the process-local secret, drawn on first use: a Worker may not draw random values
 * while its module loads, where providers are usually made. Tests give both paths one key.
 */
export const unnamedIdentity = (
  names: ReadonlyArray<string>,
  platform: Platform = Platforms.current,
  key?: Uint8Array
): UnnamedIdentity => {
  let secret = key
  const secretKey = () => secret ??= Platforms.randomBytes(32)
  /** What the MAC covers: each credential line with its header's name, or none shown. */
  const shownLines = (request: RequestHeaders): string | undefined => {
    let shown: string | undefined
    for (const name of names) {
      for (const line of headerLines(request, name)) shown = `${shown ?? ""}${name.toLowerCase()}\0${line}\0`
    }
    return shown
  }
  const identityOf = (mac: string) => `custom:~${mac.slice(0, 32)}`
  // Nothing to tell callers apart by: this request is nobody else, not everybody.
  const nobodyElse = () => `custom:~${crypto.randomUUID()}`
  if (platform._tag === "Node") {
    const { createHmac } = platform.crypto
    return (request) => {
      const shown = shownLines(request)
      return shown === undefined ? nobodyElse() : identityOf(createHmac("sha256", secretKey()).update(shown).digest("hex"))
    }
  }
  let hmacKey: Promise<CryptoKey> | undefined
  return (request) => {
    const shown = shownLines(request)
    if (shown === undefined) return nobodyElse()
    hmacKey ??= crypto.subtle.importKey("raw", secretKey() as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
    return hmacKey
      .then((ready) => crypto.subtle.sign("HMAC", ready, Platforms.utf8(shown) as Uint8Array<ArrayBuffer>))
      .then((mac) => identityOf(Platforms.toHex(new Uint8Array(mac))))
  }
}
