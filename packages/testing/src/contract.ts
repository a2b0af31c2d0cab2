/**
 * The answers of the behaviour document (docs/behaviour.md), byte for byte, written here by
 * hand and independently of the library's `HttpAnswer`, so that a test comparing the two
 * catches a change on either side. This is the one home of these bytes: tests take them
 * from here, never write them again.
 */

/** The JSON bodies, as they go on the wire (docs/behaviour.md#answers). */
export const Bodies = {
  apiKey: "{\"error\":\"Invalid API key\",\"status\":401,\"type\":\"authentication_error\"}",
  jwt: "{\"error\":\"Invalid or expired JWT token\",\"status\":401,\"type\":\"authentication_error\"}",
  /** A custom provider (mcp-framework's shape) that names no refusal of its own. */
  unauthorized: "{\"error\":\"Unauthorized\",\"status\":401,\"type\":\"authentication_error\"}",
  rateLimited: "{\"error\":\"Too many failed authentication attempts\",\"status\":429,\"type\":\"rate_limit_error\"}",
  sessionForbidden: "{\"error\":\"Session belongs to another identity\",\"status\":403,\"type\":\"authorization_error\"}",
  insufficientScope: "{\"error\":\"Insufficient scope\",\"status\":403,\"type\":\"authorization_error\"}",
  originNotAllowed: "{\"error\":\"Origin not allowed\",\"status\":403,\"type\":\"authorization_error\"}",
  sessionNotFound: "{\"error\":\"Session not found\",\"status\":404,\"type\":\"not_found_error\"}",
  payloadTooLarge: "{\"error\":\"Payload too large\",\"status\":413,\"type\":\"invalid_request_error\"}",
  invalidJsonRpc: "{\"error\":\"Invalid JSON-RPC message\",\"status\":400,\"type\":\"invalid_request_error\"}",
  unavailable: "{\"error\":\"Authentication unavailable\",\"status\":503,\"type\":\"api_error\"}",
  notFound: "{\"error\":\"Not found\",\"status\":404,\"type\":\"not_found_error\"}",
  methodNotAllowed: "{\"error\":\"Method not allowed\",\"status\":405,\"type\":\"invalid_request_error\"}",
  unsupportedMediaType: "{\"error\":\"Unsupported media type\",\"status\":415,\"type\":\"invalid_request_error\"}",
  headerFieldsTooLarge: "{\"error\":\"Request header fields too large\",\"status\":431,\"type\":\"invalid_request_error\"}",
  /**
   * Streamable HTTP: `Mcp-Method` disagrees with the body, or is missing where required
   * (docs/behaviour.md#mcp-headers): a JSON-RPC error, code -32020, answering the request's id.
   */
  mcpMethodMismatch: (id: string | number | null) =>
    `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":{"code":-32020,"message":"Mcp-Method header does not match the body"}}`,
  /** Streamable HTTP: `Mcp-Name` disagrees with the body, or is missing where required. */
  mcpNameMismatch: (id: string | number | null) =>
    `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"error":{"code":-32020,"message":"Mcp-Name header does not match the body"}}`,
  /** One client past its cap of open sessions or anonymous streams. */
  tooManySessions: "{\"error\":\"Too many open sessions\",\"status\":429,\"type\":\"rate_limit_error\"}",
  /** The server past its cap of open streams, whoever asks. */
  serverFull: "{\"error\":\"Too many open sessions\",\"status\":503,\"type\":\"api_error\"}",
  health: "{\"ok\":true}",
  /** Streamable HTTP: the MCP SDK transport's own 404 for a session it does not know (not ours). */
  sdkSessionNotFound: "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32001,\"message\":\"Session not found\"},\"id\":null}"
} as const

/** The headers every JSON answer carries. */
export const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" } as const

/** The challenges of docs/behaviour.md#challenges. */
export const Challenge = {
  /** The API-key provider's challenge, naming its header. */
  apiKey: (header = "X-API-Key", realm = "mcp") => `ApiKey realm="${realm}", header="${header}"`,
  bearer: "Bearer realm=\"mcp\"",
  invalidToken: "Bearer realm=\"mcp\", error=\"invalid_token\"",
  invalidRequest: "Bearer realm=\"mcp\", error=\"invalid_request\"",
  /**
   * A provider with `dpop` and its default algorithms (docs/behaviour.md#dpop): `DPoP algs`
   * after Bearer on every 401, the error code on the challenge of the scheme the request used.
   */
  dpop: {
    /** No credential. */
    none: "Bearer realm=\"mcp\", DPoP algs=\"ES256 EdDSA RS256 PS256\"",
    /** A token refused under `Bearer` (a bound token sent as Bearer, an unbound one where binding is required). */
    bearerInvalidToken: "Bearer realm=\"mcp\", error=\"invalid_token\", DPoP algs=\"ES256 EdDSA RS256 PS256\"",
    /** A proof missing or refused. */
    invalidProof: "Bearer realm=\"mcp\", DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"invalid_dpop_proof\"",
    /** A token refused under `DPoP` (expired, unbound, bad signature). */
    invalidToken: "Bearer realm=\"mcp\", DPoP algs=\"ES256 EdDSA RS256 PS256\", error=\"invalid_token\"",
    /** A header malformed under `DPoP`. */
    invalidRequest: "Bearer realm=\"mcp\", error=\"invalid_request\", DPoP algs=\"ES256 EdDSA RS256 PS256\""
  }
} as const

/** The API-key challenge of docs/behaviour.md#challenges. */
export const apiKeyChallenge = (headerName = "X-API-Key", realm = "mcp"): string => Challenge.apiKey(headerName, realm)

/** The exact 401 answer of the API-key provider. */
export const apiKey401 = (headerName = "X-API-Key") => ({
  status: 401,
  headers: { ...JSON_HEADERS, "www-authenticate": apiKeyChallenge(headerName) },
  body: Bodies.apiKey
})

// ---------------------------------------------------------------------------------------
// Whole answers on the wire (sections 1 and 2): status line, every header but the
// connection management Node adds (`Date`, `Connection`, `Keep-Alive`), body.

export interface Expected {
  readonly statusLine: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

type Extra = Readonly<Record<string, string>>

const errorAnswer = (statusLine: string, body: string, headers: Extra = {}): Expected => ({
  statusLine,
  headers: { ...JSON_HEADERS, ...headers, "content-length": String(Buffer.byteLength(body)) },
  body
})

export const Answer = {
  apiKey: (header = "X-API-Key", extra: Extra = {}) =>
    errorAnswer("HTTP/1.1 401 Unauthorized", Bodies.apiKey, { "www-authenticate": Challenge.apiKey(header), ...extra }),
  jwt: (challenge: string, extra: Extra = {}) =>
    errorAnswer("HTTP/1.1 401 Unauthorized", Bodies.jwt, { "www-authenticate": challenge, ...extra }),
  /** `firstOf`'s 401: the chosen body, every provider's challenge. */
  both: (body: string, challenges: string, extra: Extra = {}) =>
    errorAnswer("HTTP/1.1 401 Unauthorized", body, { "www-authenticate": challenges, ...extra }),
  sessionForbidden: (extra: Extra = {}) => errorAnswer("HTTP/1.1 403 Forbidden", Bodies.sessionForbidden, extra),
  originNotAllowed: (extra: Extra = {}) => errorAnswer("HTTP/1.1 403 Forbidden", Bodies.originNotAllowed, extra),
  sessionNotFound: (extra: Extra = {}) => errorAnswer("HTTP/1.1 404 Not Found", Bodies.sessionNotFound, extra),
  notFound: (extra: Extra = {}) => errorAnswer("HTTP/1.1 404 Not Found", Bodies.notFound, extra),
  methodNotAllowed: (allow: string, extra: Extra = {}) =>
    errorAnswer("HTTP/1.1 405 Method Not Allowed", Bodies.methodNotAllowed, { allow, ...extra }),
  payloadTooLarge: (extra: Extra = {}) => errorAnswer("HTTP/1.1 413 Payload Too Large", Bodies.payloadTooLarge, extra),
  invalidJsonRpc: (extra: Extra = {}) => errorAnswer("HTTP/1.1 400 Bad Request", Bodies.invalidJsonRpc, extra),
  unsupportedMediaType: (extra: Extra = {}) =>
    errorAnswer("HTTP/1.1 415 Unsupported Media Type", Bodies.unsupportedMediaType, extra),
  accepted: (extra: Extra = {}): Expected => ({
    statusLine: "HTTP/1.1 202 Accepted",
    headers: { ...extra, "content-length": "0" },
    body: ""
  }),
  health: (extra: Extra = {}): Expected => ({
    statusLine: "HTTP/1.1 200 OK",
    headers: { ...JSON_HEADERS, ...extra, "content-length": "11" },
    body: Bodies.health
  })
} as const
