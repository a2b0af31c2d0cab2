/**
 * Where the credential core finds its cryptography. `node:crypto` (with `node:buffer`) is the
 * fast path, synchronous and without a thread-pool hop, and it is found at run time through
 * `process.getBuiltinModule` (Node >= 20.16, Bun, Deno, workerd with `nodejs_compat`), never
 * by a static import: a static `node:*` import fails the whole module graph where no such
 * module exists (a Worker without `nodejs_compat`, an edge runtime, a browser). Everywhere
 * else the core runs on Web Crypto and the web encodings (`TextDecoder`, `atob`), which are
 * asynchronous for digests and signatures (docs/design.md, "Decisions": the platform).
 *
 * Each provider takes its platform when it is made, so that a test can hold both paths to
 * the same answers in one process (`web` forces the web path); nothing public exposes it.
 */
import type * as NodeBuffer from "node:buffer"
import type * as NodeCrypto from "node:crypto"

/** `node:crypto` and `node:buffer`, as the runtime provides them. */
export interface NodePlatform {
  readonly _tag: "Node"
  readonly crypto: typeof NodeCrypto
  readonly Buffer: typeof NodeBuffer.Buffer
  readonly isUtf8: typeof NodeBuffer.isUtf8
}

/** Web Crypto and the web encodings only. */
export interface WebPlatform {
  readonly _tag: "Web"
}

export type Platform = NodePlatform | WebPlatform

/** The web path, forced (tests run it beside the Node path in one process). */
export const web: WebPlatform = Object.freeze({ _tag: "Web" })

type GetBuiltinModule = (id: string) => unknown

/**
 * The Node path when the runtime offers `node:crypto` with everything the core uses, else
 * the web path. A runtime whose `node:crypto` lacks one of these (an incomplete polyfill, say)
 * is treated as having none, rather than failing per request. workerd's `node:crypto` (with
 * `nodejs_compat`) is such a one: its `verify` refuses a `{ key, dsaEncoding }` or
 * `{ key, padding }` input, so every public-key token would be refused; its Web Crypto is
 * native, so workerd always takes the web path (docs/design.md, "Decisions").
 */
export const detect = (): Platform => {
  try {
    if ((globalThis as { readonly navigator?: { readonly userAgent?: unknown } }).navigator?.userAgent === "Cloudflare-Workers") {
      return web
    }
    const processLike = (globalThis as { readonly process?: { readonly getBuiltinModule?: GetBuiltinModule } }).process
    const getBuiltinModule = processLike?.getBuiltinModule
    if (typeof getBuiltinModule !== "function") return web
    const crypto = getBuiltinModule.call(processLike, "node:crypto") as typeof NodeCrypto | undefined
    const buffer = getBuiltinModule.call(processLike, "node:buffer") as typeof NodeBuffer | undefined
    const complete = crypto !== undefined && buffer !== undefined &&
      [crypto.hash, crypto.createHash, crypto.createHmac, crypto.timingSafeEqual, crypto.verify, crypto.createPublicKey,
        crypto.createSecretKey, crypto.randomBytes, buffer.isUtf8, buffer.Buffer?.from].every((f) => typeof f === "function")
    return complete ? { _tag: "Node", crypto, Buffer: buffer.Buffer, isUtf8: buffer.isUtf8 } : web
  } catch {
    return web
  }
}

/** The platform of this runtime, found once when the core is loaded. */
export const current: Platform = detect()

const encoder = new TextEncoder()
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** A string's UTF-8 bytes. */
export const utf8 = (text: string): Uint8Array => encoder.encode(text)

/** The SHA-256 of a string's UTF-8 bytes, or of bytes, on Web Crypto. */
export const webSha256 = async (data: string | Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(await crypto.subtle.digest("SHA-256", (typeof data === "string" ? utf8(data) : data) as Uint8Array<ArrayBuffer>))

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))

export const toHex = (bytes: Uint8Array): string => {
  let hex = ""
  for (const byte of bytes) hex += HEX[byte]
  return hex
}

/** Lower-case hex to bytes; the caller has checked the form. */
export const fromHex = (hex: string): Uint8Array => {
  const bytes = new Uint8Array(hex.length >> 1)
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return bytes
}

const binaryOf = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return binary
}

export const toBase64 = (bytes: Uint8Array): string => btoa(binaryOf(bytes))

/**
 * Base64 or base64url text to bytes, as `Buffer.from(text, "base64url")` reads a segment
 * whose alphabet and length the caller has checked (`jwtTokenForm.ts`).
 */
export const fromBase64 = (text: string): Uint8Array => {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/")
  const binary = atob(standard + "=".repeat((4 - (standard.length % 4)) % 4))
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/**
 * Bytes as text when they are well-formed UTF-8, else undefined: what `isUtf8` and
 * `toString("utf8")` answer together. A byte-order mark is kept, as `Buffer` keeps it.
 */
export const strictUtf8Text = (bytes: Uint8Array): string | undefined => {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return undefined
  }
}

/** Whether two byte strings are equal, in a time that depends only on their length. */
export const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

/** Random bytes from the runtime's CSPRNG (a web global in every runtime the core supports). */
export const randomBytes = (length: number): Uint8Array => crypto.getRandomValues(new Uint8Array(length))
