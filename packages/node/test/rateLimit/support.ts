/**
 * Requests from a chosen loopback address: Linux routes all of 127.0.0.0/8 to loopback, so
 * a client bound to 127.0.0.2 is, to the server, another machine than one on 127.0.0.1.
 */
import * as http from "node:http"

export interface Reply {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

const agents = new Map<string, http.Agent>()

/** One request from `from`, on a kept-alive connection of that address. */
export const send = (
  url: URL,
  options: {
    readonly from: string
    readonly method?: string
    readonly path: string
    readonly headers?: Readonly<Record<string, string>>
    readonly body?: string
  }
): Promise<Reply> =>
  new Promise((resolve, reject) => {
    let agent = agents.get(options.from)
    if (agent === undefined) {
      agent = new http.Agent({ keepAlive: true, maxSockets: 8, localAddress: options.from })
      agents.set(options.from, agent)
    }
    const request = http.request(
      new URL(options.path, url),
      { method: options.method ?? "POST", headers: options.headers, agent },
      (response) => {
        const chunks: Array<Buffer> = []
        response.on("data", (chunk: Buffer) => chunks.push(chunk))
        response.on("end", () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString("utf8") }))
        response.on("error", reject)
      }
    )
    request.on("error", reject)
    request.end(options.body)
  })

/** Closes every kept-alive connection. */
export const closeAgents = (): void => {
  for (const agent of agents.values()) agent.destroy()
  agents.clear()
}
