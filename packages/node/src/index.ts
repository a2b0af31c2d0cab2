/**
 * mcpgate on `node:http`: the MCP HTTP+SSE transport guarded per endpoint (`SseServer`,
 * `SseTransport`) and the guard for any Node HTTP handler (`NodeGuard`). The
 * `@effect/platform` middleware lives at `@mcpgate/http/HttpAuth`.
 *
 * @since 0.1.0
 */
export * as NodeGuard from "./NodeGuard.js"
export * as NodeHttp from "./NodeHttp.js"
export * as RequestContext from "./RequestContext.js"
export { getRequestContext, requestContext, runInRequestContext } from "./RequestContext.js"
export type { RequestContextData } from "./RequestContext.js"
export * as SseServer from "./SseServer.js"
export { SseTransport } from "./SseTransport.js"
export type { JsonRpcMessage, MessageExtra } from "./SseTransport.js"
