/**
 * Reading a request body with a size cap (docs/behaviour.md#order-of-checks, step 7: 413
 * before any parse).
 */
import type { IncomingMessage } from "node:http"

export type BodyRead =
  | { readonly _tag: "Body"; readonly text: string }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "NotUtf8" }
  | { readonly _tag: "Aborted" }

/**
 * A body's bytes as read: all of them (`complete`), or those read until they passed the cap,
 * the rest left unread; undefined when the client left first.
 */
export type BytesRead = { readonly bytes: Buffer; readonly complete: boolean } | undefined

/**
 * Reads a body, stopping as soon as more than `limit` bytes have come; the stream is paused
 * there, and the caller answers (a 413, say) and closes the connection.
 */
export const readBytes = (request: IncomingMessage, limit: number): Promise<BytesRead> =>
  new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let settled = false
    const settle = (read: BytesRead) => {
      if (settled) return
      settled = true
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onAbort)
      request.off("close", onClose)
      resolve(read)
    }
    const onData = (chunk: Buffer) => {
      chunks.push(chunk)
      size += chunk.length
      if (size > limit) {
        request.pause()
        settle({ bytes: Buffer.concat(chunks, size), complete: false })
      }
    }
    const onEnd = () => settle({ bytes: Buffer.concat(chunks, size), complete: true })
    const onAbort = () => settle(undefined)
    const onClose = () => {
      if (!request.complete) settle(undefined)
    }
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onAbort)
    request.on("close", onClose)
  })

/**
 * Reads at most `limit` bytes as UTF-8 text. A declared `Content-Length` over the cap is
 * refused before reading anything; a body that grows past it is refused as soon as it does.
 */
export const readBody = async (request: IncomingMessage, limit: number): Promise<BodyRead> => {
  const declared = request.headers["content-length"]
  if (declared !== undefined && Number(declared) > limit) return { _tag: "TooLarge" }
  const read = await readBytes(request, limit)
  if (read === undefined) return { _tag: "Aborted" }
  if (!read.complete) return { _tag: "TooLarge" }
  try {
    return { _tag: "Body", text: UTF8.decode(read.bytes) }
  } catch {
    return { _tag: "NotUtf8" }
  }
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })
