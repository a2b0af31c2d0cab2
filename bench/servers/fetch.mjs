// The sides of bench/fetch.mjs: each a web-standard handler, `fetch(request, platform)`, made
// here whatever the runtime, and served by that runtime's host script (fetch-node.mjs on
// `@hono/node-server`, fetch-bun.mjs on `Bun.serve`, fetch-deno.mjs on `Deno.serve`), one side
// per process. Every side serves the same SDK v2 server factory with the same tool:
//   sdk               SDK v2's `createMcpHandler(factory)` alone, no authentication (the baseline);
//   ours-key          `createMcpFetchHandler` with `APIKeyAuthProvider` (the same 10 keys as the
//                     other benches) and the platform's client address (failed-attempt budget on);
//   ours-jwt          the same with `new JWTAuthProvider({ secret })` (HS256);
//   mcp-handler       Vercel's `mcp-handler` as its users write it: its own `createMcpHandler`
//                     wrapped in its `withMcpAuth(handler, verifyToken, { required: true })`, with
//                     a `verifyToken` doing jose's `jwtVerify` (key imported once, HS256 only);
//   mcp-handler-auth  the same `withMcpAuth` and `verifyToken` in front of SDK v2's handler, so
//                     that only the authentication differs from `sdk` and `ours-jwt`.
// `platform` is the runtime's second argument (`{ incoming }` on Node, the server on Bun, the
// connection's info on Deno); only ours reads it, for the client's address.
import { APIKeyAuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"
import { createMcpFetchHandler } from "@mcpgate/mcp-sdk/McpFetchHandler"
import { createMcpHandler, McpServer } from "@modelcontextprotocol/server"
import { jwtVerify } from "jose"
import { createMcpHandler as createMcpHandlerRoute, withMcpAuth } from "mcp-handler"
import { API_KEYS, JWT_SECRET, registerTool } from "./common.mjs"

/** SDK v2's server factory: a fresh server per request, with the bench's one tool. */
const createServer = () => {
  const server = new McpServer({ name: "bench", version: "1.0.0" })
  registerTool(server)
  return server
}

/** mcp-handler's `verifyToken`: jose's `jwtVerify` with the HMAC key imported once; a bad token is `undefined`. */
const joseVerifyToken = async () => {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(JWT_SECRET), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify"
  ])
  return async (_request, bearerToken) => {
    if (bearerToken === undefined) return undefined
    try {
      const { payload } = await jwtVerify(bearerToken, key, { algorithms: ["HS256"] })
      return { token: bearerToken, clientId: payload.sub, scopes: [], expiresAt: payload.exp }
    } catch {
      return undefined
    }
  }
}

/**
 * The side's handler: `{ fetch(request, platform), close() }`. `clientAddress(request, platform)`
 * is the runtime's way to the client's address, given to ours as its users give it.
 */
export const makeSide = async (side, clientAddress) => {
  switch (side) {
    case "sdk": {
      const sdk = createMcpHandler(createServer)
      return { fetch: (request) => sdk.fetch(request), close: () => sdk.close() }
    }
    case "ours-key":
    case "ours-jwt": {
      const provider = side === "ours-key" ? new APIKeyAuthProvider({ keys: API_KEYS }) : new JWTAuthProvider({ secret: JWT_SECRET })
      const ours = createMcpFetchHandler({ auth: { provider }, clientAddress, createServer })
      return { fetch: (request, platform) => ours.fetch(request, platform), close: () => ours.close() }
    }
    case "mcp-handler": {
      const route = withMcpAuth(
        createMcpHandlerRoute((server) => registerTool(server), { serverInfo: { name: "bench", version: "1.0.0" } }),
        await joseVerifyToken(),
        { required: true }
      )
      return { fetch: (request) => route(request), close: async () => {} }
    }
    case "mcp-handler-auth": {
      const sdk = createMcpHandler(createServer)
      // mcp-handler hands its handler the request with `req.auth` set; SDK v2 takes it as `authInfo`.
      const route = withMcpAuth((request) => sdk.fetch(request, { authInfo: request.auth }), await joseVerifyToken(), { required: true })
      return { fetch: (request) => route(request), close: () => sdk.close() }
    }
    default:
      throw new Error(`unknown side ${side}`)
  }
}
