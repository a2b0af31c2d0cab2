/**
 * mcpgate for Express 5: `requireAuth` (`ExpressAuth.unsafeMake`) authenticates the
 * requests of an MCP route with mcpgate's exact answers and failed-attempt limiting, and
 * sets `req.auth` as the MCP SDK's `requireBearerAuth` does; `protectedResourceMetadata`
 * serves the RFC 9728 document.
 *
 * @since 0.1.0
 */
export * as ExpressAuth from "./ExpressAuth.js"
export { protectedResourceMetadata, requireAuth } from "./ExpressAuth.js"
export type { AuthenticatedRequest, ExpressAuthInfo, ExpressAuthOptions } from "./ExpressAuth.js"
