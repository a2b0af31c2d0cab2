// Node's host for a side of bench/fetch.mjs (the side is the argument): the side's handler
// served by `@hono/node-server`'s `serve`, as Node users serve a Fetch handler (the SDK's own
// Node transport runs on its request listener too). The client's address is the socket's,
// which `@hono/node-server` hands over as `env.incoming`. Forked by bench/fetch.mjs, which
// reads this process's CPU time through `serveUntilStopped`.
import { serve } from "@hono/node-server"
import { serveUntilStopped } from "./common.mjs"
import { makeSide } from "./fetch.mjs"

const side = process.argv[2]
const handler = await makeSide(side, (_request, env) => env?.incoming?.socket?.remoteAddress)
const server = await new Promise((resolve) => {
  const listening = serve({ fetch: handler.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(listening))
})
serveUntilStopped({ [side]: `http://127.0.0.1:${server.address().port}/mcp` }, async () => {
  await handler.close()
  server.closeAllConnections?.()
})
