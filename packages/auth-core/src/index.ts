/**
 * @since 0.1.0
 */
import type { AuthProvider as FrameworkAuthProvider } from "./McpFrameworkAuth.js"

export * as ApiKey from "./ApiKey.js"
export * as AuthFailure from "./AuthFailure.js"
export * as AuthProvider from "./AuthProvider.js"
export * as ConfigurationError from "./ConfigurationError.js"
export * as Credentials from "./Credentials.js"
export * as CustomProvider from "./CustomProvider.js"
export * as Dpop from "./Dpop.js"
export * as Discovery from "./Discovery.js"
export * as HttpAnswer from "./HttpAnswer.js"
export * as Introspection from "./Introspection.js"
export * as Issuers from "./Issuers.js"
export * as Jwt from "./Jwt.js"
export * as McpFrameworkAuth from "./McpFrameworkAuth.js"
export * as Options from "./Options.js"
export * as Principal from "./Principal.js"

export { APIKeyAuthProvider } from "./APIKeyAuthProvider.js"
export type { CheckResult } from "./APIKeyAuthProvider.js"
export { IntrospectionAuthProvider } from "./IntrospectionAuthProvider.js"
export { IntrospectionValidator } from "./IntrospectionValidator.js"
export type { IntrospectionConfig } from "./IntrospectionValidator.js"
export { JWTAuthProvider } from "./JWTAuthProvider.js"
export { JWTValidator, TokenValidationError } from "./JWTValidator.js"
export type { JWTValidationConfig, TokenClaims } from "./JWTValidator.js"
export { OAuthAuthProvider } from "./OAuthAuthProvider.js"
export type { OAuthConfig } from "./OAuthAuthProvider.js"

// mcp-framework's names, so that its users change only the import.
export { DEFAULT_AUTH_ERROR } from "./McpFrameworkAuth.js"
export type { AuthConfig, AuthResult } from "./McpFrameworkAuth.js"
/**
 * mcp-framework's provider interface (`implements AuthProvider`), under the name its users
 * import. The same name is also the namespace of mcpgate's Effect service
 * (`AuthProvider.AuthProvider`, `AuthProvider.firstOf`); TypeScript keeps the two apart.
 *
 * @since 0.1.0
 */
export interface AuthProvider extends FrameworkAuthProvider {}
