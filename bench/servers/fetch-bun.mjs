// Bun's host for a side of bench/fetch.mjs (the side is the argument): the side's handler
// served by `Bun.serve({ fetch })`; the client's address is `server.requestIP(request)`.
// Prints the URL for bench/fetch.mjs, which reads this process's CPU time from /proc and
// kills it when done.
import { makeSide } from "./fetch.mjs"

const side = process.argv[2]
const handler = await makeSide(side, (request, server) => server.requestIP(request)?.address)
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler.fetch })
console.log(`listening on http://127.0.0.1:${server.port}/mcp`)
