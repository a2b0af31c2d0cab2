/**
 * mcpgate for Hono: `mcpAuth`, one middleware that authenticates MCP requests on every Hono
 * runtime, with mcpgate's exact answers, failed-attempt limiting and the caller in
 * `c.get("auth")`.
 *
 * @since 0.1.0
 */
export * as McpAuth from "./McpAuth.js"

export { mcpAuth } from "./McpAuth.js"
export type { McpAuthOptions, McpAuthVariables } from "./McpAuth.js"
