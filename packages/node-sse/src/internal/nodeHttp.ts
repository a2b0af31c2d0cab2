/**
 * Reading a Node request and writing an `HttpAnswer` onto a Node response, byte for byte.
 */
import type { HttpAnswer } from "@mcpgate/auth-core/HttpAnswer"
import type { IncomingMessage, ServerResponse } from "node:http"

/**
 * Writes an answer with an exact `Content-Length`. If headers already went out (a stream
 * was open), the only honest thing left is to end the connection.
 */
export const writeAnswer = (
  response: ServerResponse,
  answer: HttpAnswer,
  extraHeaders: Readonly<Record<string, string>> = {}
): void => {
  if (response.headersSent) {
    response.destroy()
    return
  }
  const body = Buffer.from(answer.body, "utf8")
  const headers: Record<string, string> = { ...answer.headers, ...extraHeaders }
  if (answer.status !== 204) headers["content-length"] = String(body.length)
  response.writeHead(answer.status, headers)
  response.end(answer.status === 204 ? undefined : body)
}

/**
 * One header's value, or undefined when absent or sent on several lines: a repeated
 * `Origin` or `Host` is not a value anyone can vouch for.
 */
export const singleHeader = (request: IncomingMessage, name: string): string | undefined => {
  const lines = request.headersDistinct[name]
  return lines !== undefined && lines.length === 1 ? lines[0] : undefined
}

/**
 * The request target's path and query; undefined when it cannot be parsed. An origin-form
 * target ("/path?query") is read as a path only: resolved against a base, `//host/path` or
 * `/\host/path` would name an authority and leave `/path`, so a request for `//x/messages`
 * would reach the message endpoint. Of an absolute-form target only path and query are used.
 */
export const targetOf = (request: IncomingMessage): URL | undefined => {
  const target = request.url ?? "/"
  try {
    return target.startsWith("/") ? new URL(`http://localhost${target}`) : new URL(target)
  } catch {
    return undefined
  }
}

/** The full URL of a request as the client addressed it, for the request information given to tools. */
export const fullUrlOf = (request: IncomingMessage, target: URL): URL => {
  const secure = "encrypted" in request.socket && request.socket.encrypted === true
  const host = singleHeader(request, "host") ?? "localhost"
  let url: URL
  try {
    url = new URL(`${secure ? "https" : "http"}://${host}`)
  } catch {
    url = new URL("http://localhost")
  }
  // Set, not resolved: a path beginning with "//" must not be read as an authority.
  url.pathname = target.pathname
  url.search = target.search
  return url
}

/** The media type of `Content-Type`, lower-case, without parameters. */
export const mediaTypeOf = (request: IncomingMessage): string | undefined => {
  const value = singleHeader(request, "content-type")
  return value?.split(";", 1)[0]!.trim().toLowerCase()
}
