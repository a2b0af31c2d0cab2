/**
 * Reading a request body with a size cap (contract section 6.7: 413 before any parse).
 */
import type { IncomingMessage } from "node:http"

export type BodyRead =
  | { readonly _tag: "Body"; readonly text: string }
  | { readonly _tag: "TooLarge" }
  | { readonly _tag: "NotUtf8" }
  | { readonly _tag: "Aborted" }

/**
 * Reads at most `limit` bytes. A declared `Content-Length` over the cap is refused before
 * reading anything; a body that grows past it is refused as soon as it does.
 */
export const readBody = (request: IncomingMessage, limit: number): Promise<BodyRead> => {
  const declared = request.headers["content-length"]
  if (declared !== undefined && Number(declared) > limit) return Promise.resolve({ _tag: "TooLarge" })
  return new Promise((resolve) => {
    const chunks: Array<Buffer> = []
    let size = 0
    let settled = false
    const settle = (read: BodyRead) => {
      if (settled) return
      settled = true
      request.off("data", onData)
      request.off("end", onEnd)
      request.off("error", onAbort)
      request.off("close", onClose)
      resolve(read)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        // Stop buffering; the caller answers 413 and closes the connection.
        request.pause()
        settle({ _tag: "TooLarge" })
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      try {
        settle({ _tag: "Body", text: UTF8.decode(Buffer.concat(chunks, size)) })
      } catch {
        settle({ _tag: "NotUtf8" })
      }
    }
    const onAbort = () => settle({ _tag: "Aborted" })
    const onClose = () => {
      if (!request.complete) settle({ _tag: "Aborted" })
    }
    request.on("data", onData)
    request.on("end", onEnd)
    request.on("error", onAbort)
    request.on("close", onClose)
  })
}

const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false })
