/**
 * The host's metrics route: Effect's counters and gauges (mcpgate's authentication counters
 * and the application's own) in the Prometheus text format.
 *
 * Public like health (docs/behaviour.md#order-of-checks, step 3: no authentication, no rate
 * limiting, so a scraper needs no credential and a client over its budget still shows in the
 * counts), but after step 1: the `Origin` and `Host` checks still apply, so a DNS-rebinding page cannot
 * read it through a browser. No CORS headers are sent: no other origin may read it either.
 */
import { HttpAnswer } from "@mcpgate/auth-core"
import type { CrossOrigin } from "@mcpgate/http"
import { AuthMetrics, Pipeline } from "@mcpgate/http"
import { NodeHttp } from "@mcpgate/node"
import * as Runtime from "effect/Runtime"
import type * as http from "node:http"

const METHODS = ["GET", "HEAD"]

/** What the route is made from: the host's step-1 policy and the runtime its gate runs in. */
export interface MetricsRouteSettings {
  /** The host's cross-origin policy; only its `Origin` and `Host` checks apply here. */
  readonly cors: CrossOrigin.CrossOrigin
  /** Default: Effect's default runtime. */
  readonly runtime: Runtime.Runtime<never> | undefined
  readonly onError: ((error: unknown) => void) | undefined
}

/** The route's handler. */
export const makeMetricsRoute = (
  settings: MetricsRouteSettings
): ((request: http.IncomingMessage, response: http.ServerResponse) => void) => {
  const { cors } = settings
  const run = Runtime.runPromise(settings.runtime ?? Runtime.defaultRuntime)
  return (request, response) => {
    const refusal = Pipeline.originRefusal(cors, NodeHttp.describe(request))
    if (refusal !== undefined) return NodeHttp.writeAnswer(response, refusal)
    if (!METHODS.includes(request.method ?? "")) return NodeHttp.writeAnswer(response, HttpAnswer.methodNotAllowed(METHODS))
    run(AuthMetrics.prometheus).then(
      (body) =>
        NodeHttp.writeAnswer(response, {
          status: 200,
          headers: { "content-type": AuthMetrics.PROMETHEUS_CONTENT_TYPE, "cache-control": "no-store" },
          body
        }),
      (error: unknown) => {
        try {
          settings.onError?.(error)
        } catch {
          // A failing error reporter must not take the server down.
        }
        response.destroy()
      }
    )
  }
}
