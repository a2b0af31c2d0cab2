// The three Streamable HTTP servers of bench/http.mjs, each in a child process of its own
// (the side to start is the argument). All run the MCP SDK v2 transport
// (`NodeStreamableHTTPServerTransport`, JSON answers) with a fresh SDK v2 `McpServer` per
// session and the same tool; they differ in what checks the bearer token, if anything:
//   ours  `StreamableHttp.make` from @mcpgate/mcp-sdk with `new JWTAuthProvider({ secret })`,
//         default options (verified-token cache, rate limit, Origin/Host checks, session binding);
//   sdk   the SDK's own bearer check in front of its transport, with the verifier a server
//         author writes by hand: jose's `jwtVerify` with a key imported once;
//   open  the SDK transport alone, no authentication;
//   identity  the SDK transport alone with a fixed `req.auth`: the SDK's own cost of an identity.
import { JWTAuthProvider, StreamableHttp } from "@mcpgate/mcp-sdk"
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node"
import { bearerAuthChallengeResponse, McpServer, OAuthError, OAuthErrorCode, verifyBearerToken } from "@modelcontextprotocol/server"
import { jwtVerify } from "jose"
import { randomUUID } from "node:crypto"
import http from "node:http"
import { JWT_SECRET, JWT_SUBJECT, registerTool, serveUntilStopped } from "./common.mjs"

const mcpServer = () => {
  const server = new McpServer({ name: "bench", version: "1.0.0" })
  registerTool(server)
  return server
}

const listen = (handler) =>
  new Promise((resolve) => {
    const server = http.createServer(handler)
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

// Ours.
const hmacKey = await crypto.subtle.importKey("raw", new TextEncoder().encode(JWT_SECRET), { name: "HMAC", hash: "SHA-256" }, false, [
  "verify"
])
const verifier = {
  async verifyAccessToken(token) {
    try {
      const { payload } = await jwtVerify(token, hmacKey, { algorithms: ["HS256"] })
      return { token, clientId: payload.sub, scopes: [], expiresAt: payload.exp }
    } catch {
      throw new OAuthError(OAuthErrorCode.InvalidToken, "Invalid token")
    }
  }
}
const writeWebResponse = async (res, response) => {
  res.writeHead(response.status, Object.fromEntries(response.headers))
  res.end(Buffer.from(await response.arrayBuffer()))
}
/**
 * The SDK transport as its README serves it: a transport per Mcp-Session-Id, a fresh server
 * per session, after `authenticate(req, res)` has let the request through (or answered it).
 */
const sdkHandler = (authenticate) => {
  const transports = new Map()
  const handler = async (req, res) => {
    if (!(await authenticate(req, res))) return
    const sessionId = req.headers["mcp-session-id"]
    let transport = sessionId === undefined ? undefined : transports.get(sessionId)
    if (transport === undefined) {
      transport = new NodeStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (id) => transports.set(id, transport)
      })
      transport.onclose = () => transports.delete(transport.sessionId)
      await mcpServer().connect(transport)
    }
    await transport.handleRequest(req, res)
  }
  handler.close = async () => {
    for (const transport of [...transports.values()]) await transport.close()
  }
  return handler
}

/** Each side in a process of its own (the side is this script's argument). */
const sides = {
  ours: async () => {
    const guarded = await StreamableHttp.makePromise({
      auth: { provider: new JWTAuthProvider({ secret: JWT_SECRET }) },
      createServer: mcpServer,
      responseMode: "batch",
      sdk: "v2"
    })
    return [await listen(guarded.handle), () => guarded.close()]
  },
  sdk: async () => {
    const bearerChecked = sdkHandler(async (req, res) => {
      try {
        req.auth = await verifyBearerToken(req.headers.authorization, { verifier })
        return true
      } catch (error) {
        await writeWebResponse(res, bearerAuthChallengeResponse(error))
        return false
      }
    })
    return [await listen(bearerChecked), () => bearerChecked.close()]
  },
  open: async () => {
    const unguarded = sdkHandler(async () => true)
    return [await listen(unguarded), () => unguarded.close()]
  },
  // The SDK transport alone, handed a fixed identity without checking anything: what carrying
  // `req.auth` costs the SDK itself, which no authentication in front of it can avoid.
  identity: async () => {
    const authInfo = { token: "", clientId: JWT_SUBJECT, scopes: [], expiresAt: Math.floor(Date.now() / 1000) + 3600, extra: {} }
    const identified = sdkHandler(async (req) => {
      req.auth = authInfo
      return true
    })
    return [await listen(identified), () => identified.close()]
  }
}

const side = process.argv[2]
const [server, close] = await sides[side]()
serveUntilStopped({ [side]: `http://127.0.0.1:${server.address().port}/mcp` }, async () => {
  await close()
  server.closeAllConnections()
})
