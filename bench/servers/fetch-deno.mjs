// Deno's host for a side of bench/fetch.mjs (the side is the argument): the side's handler
// served by `Deno.serve`; the client's address is `info.remoteAddr.hostname`. Prints the URL
// for bench/fetch.mjs, which reads this process's CPU time from /proc and kills it when done.
import { makeSide } from "./fetch.mjs"

const side = Deno.args[0]
const handler = await makeSide(side, (_request, info) => info.remoteAddr.hostname)
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}/mcp`)
}, handler.fetch)
