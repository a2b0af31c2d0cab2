/**
 * mcpgate's request pipeline on web-standard requests, and the policy it applies: the
 * failed-attempt gate (`Gate`, `RateLimiter`, `RateLimitStore`, `ClientAddress`), Origin and
 * Host checks with CORS (`CrossOrigin`), RFC 9728 metadata (`ProtectedResource`), scopes per
 * tool and their hierarchy (`ToolScopes`, `ScopeHierarchy`), `Mcp-Method`/`Mcp-Name` against
 * bodies (`McpHeaders`), per-endpoint policy (`EndpointPolicy`), session owners
 * (`SessionOwner`), the SDK's `AuthInfo` (`AuthInfo`) and the counters (`AuthMetrics`). No
 * `node:*` module is imported here (`test/RuntimeNeutral.test.ts`), so it runs wherever
 * Fetch does. The `@effect/platform` middleware lives at `@mcpgate/http/HttpAuth`.
 *
 * @since 0.1.0
 */
export * as AuthInfo from "./AuthInfo.js"
export * as AuthMetrics from "./AuthMetrics.js"
export * as ClientAddress from "./ClientAddress.js"
export * as CrossOrigin from "./CrossOrigin.js"
export * as EndpointPolicy from "./EndpointPolicy.js"
export * as Fetch from "./Fetch.js"
export * as Gate from "./Gate.js"
export * as McpFrameworkServerless from "./McpFrameworkServerless.js"
export * as McpHeaders from "./McpHeaders.js"
export * as Pipeline from "./Pipeline.js"
export * as ProtectedResource from "./ProtectedResource.js"
export * as RateLimiter from "./RateLimiter.js"
export * as RateLimitStore from "./RateLimitStore.js"
export * as RequestGate from "./RequestGate.js"
export * as ScopeHierarchy from "./ScopeHierarchy.js"
export * as ServerOptions from "./ServerOptions.js"
export * as SessionOwner from "./SessionOwner.js"
export * as ToolScopes from "./ToolScopes.js"

// mcp-framework's serverless names, so that its users change only the import.
export { authenticateWebRequest, createIncomingMessageShim } from "./McpFrameworkServerless.js"
