/**
 * A real OAuth authorization server for the tests: panva's `oidc-provider`, started in-process
 * on 127.0.0.1 and a free port as a scoped resource. It issues access tokens by the client
 * credentials grant for a resource indicator (RFC 8707), as JWTs (RFC 9068) or opaque tokens,
 * answers introspection (RFC 7662), revocation (RFC 7009) and discovery (RFC 8414 and OpenID
 * Connect), and accepts DPoP proofs (RFC 9449). Tests can also slow it, stop it, restart it,
 * replace one of its answers, and count the requests each path received.
 *
 * The issuer is `http://127.0.0.1:<port>[<path>]`: oidc-provider takes any URL as its issuer
 * and needs `https` only for what these tests do not use (cookies marked secure for the
 * interactive flows, which are off: `devInteractions` is disabled). With a `path`, the RFC 8414
 * document is served where section 3.1 puts it (`/.well-known/oauth-authorization-server<path>`),
 * as the library's documentation asks of whoever mounts it under a path ("Mounting
 * oidc-provider"), and the OpenID one under the path.
 *
 *     const as = await use(authorizationServer())
 *     const token = await as.token({ scope: "tools:read", format: "opaque" })
 */
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { exportJWK, generateKeyPair } from "jose"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Provider } from "oidc-provider"
import { acquire } from "./scoped.js"

/** A client registered at the server, with its secret (test material only). */
export interface Client {
  readonly id: string
  readonly secret: string
}

/** The clients every server registers. */
export const CLIENTS = {
  /** The MCP client: gets tokens by client credentials (`client_secret_basic`). */
  app: { id: "mcp-client", secret: "mcp-client-secret-0123456789abcdef" },
  /** The resource server: introspects with `client_secret_basic`. */
  resourceServer: { id: "mcp-resource-server", secret: "resource-server-secret-0123456789ab" },
  /** A client that authenticates with `client_secret_post`. */
  postClient: { id: "mcp-post-client", secret: "post-client-secret-0123456789abcdef" }
} as const satisfies Record<string, Client>

/** The resource every server knows unless told otherwise, and its scopes. */
export const RESOURCE = "http://127.0.0.1/mcp"
export const SCOPES = ["tools:read", "tools:write", "files:read", "files:write", "admin"] as const

/** A resource server the authorization server issues tokens for (RFC 8707). */
export interface ResourceServer {
  readonly resource: string
  readonly scopes: ReadonlyArray<string>
  /** The token format when a request does not choose; default `jwt`. */
  readonly format?: "jwt" | "opaque"
  /** The `aud` of its tokens; default the resource indicator itself. */
  readonly audience?: string
}

export interface AuthorizationServerOptions {
  /** A path for the issuer (`/tenant-a`), to exercise RFC 8414 3.1's path insertion. */
  readonly path?: string
  /** Whether `/.well-known/oauth-authorization-server` is served (default true); without it only OpenID discovery is. */
  readonly rfc8414?: boolean
  /** Default: one resource, `RESOURCE`, with `SCOPES`. */
  readonly resources?: ReadonlyArray<ResourceServer>
}

/** What a test asks for in a token. */
export interface TokenRequest {
  readonly scope?: string
  readonly resource?: string
  /** Seconds until `exp` (default 300). */
  readonly lifetime?: number
  readonly format?: "jwt" | "opaque"
  readonly client?: Client
  /** A DPoP proof for the token endpoint, for a DPoP-bound token. */
  readonly dpop?: string
}

/** How the server answers a request that a test took over. */
export type Answer = (req: http.IncomingMessage, res: http.ServerResponse) => void

export interface AuthorizationServer {
  /** The issuer identifier, exactly as the server writes it in `iss` and its metadata. */
  readonly issuer: string
  /** The server's origin, `http://127.0.0.1:<port>`. */
  readonly origin: string
  readonly introspectionEndpoint: string
  readonly jwksUri: string
  /** A token endpoint answer (`access_token`, `token_type`, `expires_in`, `scope`), or throws with the server's error. */
  readonly tokenResponse: (request?: TokenRequest) => Promise<Readonly<Record<string, unknown>>>
  /** The access token of `tokenResponse`. */
  readonly token: (request?: TokenRequest) => Promise<string>
  /** Revokes a token (RFC 7009) with the client that obtained it. */
  readonly revoke: (token: string, client?: Client) => Promise<void>
  /** How many requests a path (no query) received since the start or the last `resetHits`. */
  readonly hits: (path: string) => number
  readonly resetHits: () => void
  /** Holds every answer for this long first (0 to stop). */
  readonly slow: (millis: number) => void
  /** Answers requests to this path with `answer` instead (undefined to give the path back). */
  readonly intercept: (path: string, answer: Answer | undefined) => void
  /** Stops listening and cuts open connections: the server is down. */
  readonly stop: () => Promise<void>
  /** Listens again on the same port. */
  readonly restart: () => Promise<void>
}

const formBody = (fields: Record<string, string | undefined>) =>
  new URLSearchParams(Object.entries(fields).filter((entry): entry is [string, string] => entry[1] !== undefined))

const basic = (client: Client) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString("base64")}`

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

const configuration = async (resources: ReadonlyArray<ResourceServer>): Promise<Record<string, unknown>> => {
  const { privateKey } = await generateKeyPair("RS256", { extractable: true })
  const signing = { ...(await exportJWK(privateKey)), kid: "as-rs256", alg: "RS256", use: "sig" }
  const allScopes = [...new Set(resources.flatMap((server) => server.scopes))].join(" ")
  const client = (registered: Client, method: string) => ({
    client_id: registered.id,
    client_secret: registered.secret,
    grant_types: ["client_credentials"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: method,
    scope: allScopes
  })
  return {
    jwks: { keys: [signing] },
    // A client may be registered only with scopes the server announces.
    scopes: ["openid", ...allScopes.split(" ")],
    clients: [
      client(CLIENTS.app, "client_secret_basic"),
      client(CLIENTS.resourceServer, "client_secret_basic"),
      client(CLIENTS.postClient, "client_secret_post")
    ],
    cookies: { keys: ["test-cookie-key-0123456789abcdef"] },
    // The lifetime the resource server's information chose for this token.
    ttl: {
      ClientCredentials: (_ctx: unknown, token: { resourceServer?: { accessTokenTTL?: number } }) =>
        token.resourceServer?.accessTokenTTL ?? 300
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // Every registered client may introspect any token; a client revokes only its own.
      introspection: { enabled: true, allowedPolicy: async () => true },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, client: { clientId: string }, token: { clientId: string }) =>
          client.clientId === token.clientId
      },
      dPoP: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => resources[0]?.resource,
        useGrantedResource: async () => true,
        // The koa context of the token request: a test picks the lifetime and format per token.
        getResourceServerInfo: async (ctx: { get: (name: string) => string }, indicator: string) => {
          const server = resources.find((candidate) => candidate.resource === indicator)
          if (server === undefined) throw new Error(`unknown resource ${indicator}`)
          const lifetime = Number(ctx.get("x-token-lifetime") || "300")
          const format = ctx.get("x-token-format") || server.format || "jwt"
          return {
            scope: server.scopes.join(" "),
            ...(server.audience === undefined ? {} : { audience: server.audience }),
            accessTokenTTL: lifetime,
            accessTokenFormat: format,
            ...(format === "jwt" ? { jwt: { sign: { alg: "RS256" } } } : {})
          }
        }
      }
    }
  }
}

/** The authorization server as a scoped resource: stopped and closed when the scope closes. */
export const authorizationServer = (
  options: AuthorizationServerOptions = {}
): Effect.Effect<AuthorizationServer, never, Scope.Scope> =>
  acquire(() => start(options), (server) => server.stop())

const start = async (options: AuthorizationServerOptions): Promise<AuthorizationServer> => {
  const path = options.path ?? ""
  const rfc8414 = options.rfc8414 ?? true
  const resources = options.resources ?? [{ resource: RESOURCE, scopes: SCOPES }]
  const hits = new Map<string, number>()
  const intercepted = new Map<string, Answer>()
  let delay = 0
  let dispatch: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.writeHead(503).end()

  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://127.0.0.1").pathname
    hits.set(pathname, (hits.get(pathname) ?? 0) + 1)
    const answer = () => {
      const taken = intercepted.get(pathname)
      if (taken !== undefined) return taken(req, res)
      route(req, res, pathname)
    }
    if (delay > 0) void sleep(delay).then(answer)
    else answer()
  })

  const route = (req: http.IncomingMessage, res: http.ServerResponse, pathname: string) => {
    const wellKnown = "/.well-known/oauth-authorization-server"
    if (pathname.startsWith(wellKnown) || pathname === `${path}${wellKnown}`) {
      // RFC 8414 3.1: the issuer's path goes after the well-known prefix, and only there.
      if (!rfc8414 || pathname !== `${wellKnown}${path}`) return res.writeHead(404).end()
      const query = req.url!.slice(req.url!.indexOf(pathname) + pathname.length)
      req.url = `${wellKnown}${query}`
      Object.assign(req, { originalUrl: `${path}${wellKnown}${query}` })
      return dispatch(req, res)
    }
    if (path !== "" && !(pathname === path || pathname.startsWith(`${path}/`))) return res.writeHead(404).end()
    // Mounted under the path as express mounts it: `originalUrl` tells oidc-provider where it lives.
    Object.assign(req, { originalUrl: req.url })
    req.url = req.url!.slice(path.length) || "/"
    dispatch(req, res)
  }

  const listen = (port: number) =>
    new Promise<number>((resolve) => server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))
  const port = await listen(0)
  const origin = `http://127.0.0.1:${port}`
  const issuer = `${origin}${path}`
  const provider = new Provider(issuer, await configuration(resources))
  dispatch = provider.callback()

  const tokenResponse = async (request: TokenRequest = {}) => {
    const response = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: {
        authorization: basic(request.client ?? CLIENTS.app),
        "content-type": "application/x-www-form-urlencoded",
        ...(request.lifetime === undefined ? {} : { "x-token-lifetime": String(request.lifetime) }),
        ...(request.format === undefined ? {} : { "x-token-format": request.format }),
        ...(request.dpop === undefined ? {} : { dpop: request.dpop })
      },
      body: formBody({
        grant_type: "client_credentials",
        scope: request.scope,
        resource: request.resource ?? resources[0]?.resource
      })
    })
    const body = await response.json() as Record<string, unknown>
    if (!response.ok) throw new Error(`token request refused: ${response.status} ${JSON.stringify(body)}`)
    return body
  }

  let stopped = false
  return {
    issuer,
    origin,
    introspectionEndpoint: `${issuer}/token/introspection`,
    jwksUri: `${issuer}/jwks`,
    tokenResponse,
    token: async (request) => (await tokenResponse(request))["access_token"] as string,
    revoke: async (token, client = CLIENTS.app) => {
      const response = await fetch(`${issuer}/token/revocation`, {
        method: "POST",
        headers: { authorization: basic(client), "content-type": "application/x-www-form-urlencoded" },
        body: formBody({ token })
      })
      if (!response.ok) throw new Error(`revocation refused: ${response.status} ${await response.text()}`)
    },
    hits: (pathname) => hits.get(pathname) ?? 0,
    resetHits: () => hits.clear(),
    slow: (millis) => {
      delay = millis
    },
    intercept: (pathname, answer) => {
      if (answer === undefined) intercepted.delete(pathname)
      else intercepted.set(pathname, answer)
    },
    stop: async () => {
      if (stopped) return
      stopped = true
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
    restart: async () => {
      if (!stopped) return
      stopped = false
      await listen(port)
    }
  }
}
