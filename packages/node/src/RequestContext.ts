/**
 * mcp-framework's request context, on mcpgate's transports: inside a tool, while it serves
 * one request, `getRequestContext()` gives what was authenticated about the caller (the
 * claims of a JWT, the label and scopes of an API key, a custom provider's `data`), as
 * mcp-framework's own `getRequestContext()` does on its transports. `getPrincipal` (in
 * `@mcpgate/mcp-sdk`) gives the same caller typed; this is for code written for
 * mcp-framework.
 *
 * @example
 * ```ts
 * import { getRequestContext } from "@mcpgate/mcp-sdk"
 *
 * server.registerTool("whoami", {}, async () => ({
 *   content: [{ type: "text", text: String(getRequestContext()?.sub ?? "anonymous") }]
 * }))
 * ```
 *
 * @since 0.1.0
 */
import { McpFrameworkAuth } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { AsyncLocalStorage } from "node:async_hooks"

/**
 * What a request's context holds: mcp-framework's shape.
 *
 * @since 0.1.0
 */
export interface RequestContextData {
  token?: string
  user?: Record<string, unknown>
  [key: string]: unknown
}

/**
 * The store behind `getRequestContext`. One per process, as in mcp-framework: a tool cannot
 * be handed a store of its own, so the transports and the tools must share this one.
 *
 * @since 0.1.0
 */
export const requestContext: AsyncLocalStorage<RequestContextData> = new AsyncLocalStorage<RequestContextData>()

/**
 * The context of the request being served; undefined outside one.
 *
 * @since 0.1.0
 */
export const getRequestContext = (): RequestContextData | undefined => requestContext.getStore()

/**
 * Runs `fn` (and everything it starts) with `context` as the request context.
 *
 * @since 0.1.0
 */
export const runInRequestContext = <T>(context: RequestContextData, fn: () => T): T => requestContext.run(context, fn)

/**
 * Runs `fn` in the context of a request by `principal`; an anonymous request (an endpoint
 * left open) gets an empty context, as in mcp-framework.
 *
 * @since 0.1.0
 */
export const runAs = <T>(principal: Principal | undefined, fn: () => T): T =>
  requestContext.run(principal === undefined ? {} : McpFrameworkAuth.contextDataOf(principal), fn)
