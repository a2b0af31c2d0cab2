/**
 * The answers of the behaviour document (docs/behaviour.md), byte for byte, written here
 * independently of the library's `HttpAnswer`, so that a test comparing the two catches a
 * change on either side.
 */
/** The JSON bodies, as they go on the wire. */
export const Bodies = {
  apiKey: "{\"error\":\"Invalid API key\",\"status\":401,\"type\":\"authentication_error\"}",
  jwt: "{\"error\":\"Invalid or expired JWT token\",\"status\":401,\"type\":\"authentication_error\"}",
  sessionForbidden: "{\"error\":\"Session belongs to another identity\",\"status\":403,\"type\":\"authorization_error\"}",
  originNotAllowed: "{\"error\":\"Origin not allowed\",\"status\":403,\"type\":\"authorization_error\"}",
  sessionNotFound: "{\"error\":\"Session not found\",\"status\":404,\"type\":\"not_found_error\"}",
  payloadTooLarge: "{\"error\":\"Payload too large\",\"status\":413,\"type\":\"invalid_request_error\"}",
  invalidJsonRpc: "{\"error\":\"Invalid JSON-RPC message\",\"status\":400,\"type\":\"invalid_request_error\"}",
  unavailable: "{\"error\":\"Authentication unavailable\",\"status\":503,\"type\":\"api_error\"}",
  notFound: "{\"error\":\"Not found\",\"status\":404,\"type\":\"not_found_error\"}",
  methodNotAllowed: "{\"error\":\"Method not allowed\",\"status\":405,\"type\":\"invalid_request_error\"}",
  unsupportedMediaType: "{\"error\":\"Unsupported media type\",\"status\":415,\"type\":\"invalid_request_error\"}",
  health: "{\"ok\":true}"
} as const
