/**
 * The request gate on a Node request: the pipeline's gate (`@mcpgate/http`'s `RequestGate`)
 * read from an `IncomingMessage`, for adapters that authenticate outside a pipeline
 * (`NodeGuard`, a handler of one's own).
 */
import type { Gate } from "@mcpgate/http"
import { Pipeline, RequestGate } from "@mcpgate/http"
import type { IncomingMessage } from "node:http"
import { fullUrlOf, queryOf, targetOf } from "./nodeHttp.js"


/** The client a request counts against: the socket address, or behind trusted proxies the forwarded one. */
export const clientOf = (gate: RequestGate.RequestGate, request: IncomingMessage): string =>
  gate.clientOf(request.socket.remoteAddress, request)

/**
 * Checks a request. With `required` false, a request that presents no credentials at all
 * passes as anonymous; one that presents credentials still has them checked, so a wrong or
 * another caller's credential is never ignored. Synchronous when the gate could answer at
 * once (`Gate.checkNow`); never rejects.
 */
export const authenticate = (
  gate: RequestGate.RequestGate,
  request: IncomingMessage,
  required: boolean
): Gate.Verdict | Promise<Gate.Verdict> =>
  RequestGate.verdict(gate, {
    headers: request,
    remoteAddress: request.socket.remoteAddress,
    query: queryOf(request.url),
    method: request.method,
    url: gate.provider.dpop === undefined ? undefined : urlOf(request)
  }, required)

/**
 * The request's URL as the server sees it, for a DPoP proof's `htu` (docs/behaviour.md#dpop):
 * Express's `originalUrl`, as a router mounted on a path cuts that path off `url`.
 */
const urlOf = (request: IncomingMessage & { readonly originalUrl?: unknown }): string | undefined => {
  const target = typeof request.originalUrl === "string" ? Pipeline.targetOf(request.originalUrl) : targetOf(request)
  return target === undefined ? undefined : fullUrlOf(request, target).href
}
