/**
 * mcpgate for the MCP SDK: the caller's identity in tools through the SDK's own `authInfo`
 * (`getPrincipal`), Streamable HTTP through the SDK's transport (`StreamableHttp`), the
 * SDK's `OAuthTokenVerifier` (`TokenVerifier`), an `MCPServer` shaped like mcp-framework's,
 * and the same as an Effect `Layer` (`McpHttp`). The providers are re-exported, so one
 * import serves.
 *
 * @since 0.1.0
 */
export { CustomProvider } from "@mcpgate/auth-core"
export * as McpAuthInfo from "./McpAuthInfo.js"
export * as McpFetchHandler from "./McpFetchHandler.js"
export * as McpHttp from "./McpHttp.js"
export * as StreamableHttp from "./StreamableHttp.js"
export * as TokenVerifier from "./TokenVerifier.js"
export * as WithMcpAuth from "./WithMcpAuth.js"

export { createMcpFetchHandler } from "./McpFetchHandler.js"
export { withMcpAuth } from "./WithMcpAuth.js"

export { getPrincipal } from "./McpAuthInfo.js"
export type { Caller } from "./McpAuthInfo.js"
export { MCPServer } from "./MCPServer.js"
export type { MCPServerOptions } from "./MCPServer.js"

export { ApiKey, APIKeyAuthProvider, AuthProvider, DEFAULT_AUTH_ERROR, Jwt, JWTAuthProvider } from "@mcpgate/auth-core"
export type { AuthConfig, AuthResult, CheckResult } from "@mcpgate/auth-core"
// mcp-framework's OAuth names, so that its OAuth examples change only the import.
export { IntrospectionValidator, JWTValidator, OAuthAuthProvider, TokenValidationError } from "@mcpgate/auth-core"
export type { IntrospectionConfig, JWTValidationConfig, OAuthConfig, TokenClaims } from "@mcpgate/auth-core"
export { getRequestContext, requestContext, runInRequestContext } from "@mcpgate/node"
export type { RequestContextData } from "@mcpgate/node"
