/**
 * @since 0.1.0
 */
export * as ApiKey from "./ApiKey.js"
export * as AuthFailure from "./AuthFailure.js"
export * as AuthInfo from "./AuthInfo.js"
export * as AuthProvider from "./AuthProvider.js"
export * as ConfigurationError from "./ConfigurationError.js"
export * as CrossOrigin from "./CrossOrigin.js"
export * as Credentials from "./Credentials.js"
export * as EndpointPolicy from "./EndpointPolicy.js"
export * as HttpAnswer from "./HttpAnswer.js"
export * as Jwt from "./Jwt.js"
export * as Options from "./Options.js"
export * as Principal from "./Principal.js"

export { APIKeyAuthProvider } from "./APIKeyAuthProvider.js"
export type { AuthResult } from "./APIKeyAuthProvider.js"
export { JWTAuthProvider } from "./JWTAuthProvider.js"
