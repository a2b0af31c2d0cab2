/**
 * The counters of authentication (docs/behaviour.md#logs-and-metrics), as Effect `Metric`s, and their
 * rendering in the Prometheus text format for a `GET /metrics` route.
 *
 * Effect keeps metrics in its process-wide registry: every gate in the process adds to the
 * same counters, as a Prometheus exporter expects.
 *
 * @example
 * ```ts
 * import { AuthMetrics } from "@mcpgate/http"
 * import { Effect } from "effect"
 *
 * const text = await Effect.runPromise(AuthMetrics.prometheus)
 * res.writeHead(200, { "content-type": AuthMetrics.PROMETHEUS_CONTENT_TYPE }).end(text)
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import type * as MetricPair from "effect/MetricPair"
import * as MetricState from "effect/MetricState"
import type { ProviderKind, ReasonCode } from "@mcpgate/auth-core/AuthFailure"

/**
 * Successful authentications, tagged `provider`.
 *
 * @since 0.1.0
 */
export const successes = Metric.counter("mcpgate_auth_successes_total", {
  description: "Requests authenticated",
  incremental: true
})

/**
 * Failed authentications (401 and 503), tagged `provider` and `reason`.
 *
 * @since 0.1.0
 */
export const failures = Metric.counter("mcpgate_auth_failures_total", {
  description: "Requests refused by authentication, by reason code",
  incremental: true
})

/**
 * Requests answered 429 because their client was over its failed-attempt budget.
 *
 * @since 0.1.0
 */
export const rateLimited = Metric.counter("mcpgate_auth_rate_limited_total", {
  description: "Requests refused because the client was over its failed-attempt budget",
  incremental: true
})

/**
 * Times the shared rate-limit store could not be reached, tagged `store` and `fallback`
 * (`memory` or `refuse`).
 *
 * @since 0.1.0
 */
export const storeUnavailable = Metric.counter("mcpgate_rate_limit_store_unavailable_total", {
  description: "Rate-limit store operations that failed, by store and what was done instead",
  incremental: true
})

/**
 * Failure log lines held back by flood control.
 *
 * @since 0.1.0
 */
export const logLinesSuppressed = Metric.counter("mcpgate_auth_log_lines_suppressed_total", {
  description: "Authentication failure log lines suppressed by flood control",
  incremental: true
})

/**
 * Counts one success.
 *
 * @since 0.1.0
 */
export const recordSuccess = (provider: ProviderKind): Effect.Effect<void> =>
  Metric.increment(taggedOnce(`${provider}`, () => Metric.tagged(successes, "provider", provider)))

/**
 * Counts one success at once, outside any fiber: the gate's synchronous path
 * (`Gate.checkNow`) runs without one. Labels set with `Effect.tagMetrics` do not apply.
 *
 * @since 0.1.0
 */
export const unsafeRecordSuccess = (provider: ProviderKind): void =>
  taggedOnce(`${provider}`, () => Metric.tagged(successes, "provider", provider)).unsafeUpdate(1, [])

/**
 * Counts one failure.
 *
 * @since 0.1.0
 */
export const recordFailure = (provider: ProviderKind, reason: ReasonCode): Effect.Effect<void> =>
  Metric.increment(
    taggedOnce(`${provider} ${reason}`, () => Metric.tagged(Metric.tagged(failures, "provider", provider), "reason", reason))
  )

// Tagging a counter builds and hashes a new metric key, about four times the cost of the
// increment itself, on every request. The tagged counters are few (providers × reasons)
// and immutable, so each is made once.
const tagged = new Map<string, Metric.Metric.Counter<number>>()
const taggedOnce = (key: string, make: () => Metric.Metric.Counter<number>): Metric.Metric.Counter<number> => {
  let counter = tagged.get(key)
  if (counter === undefined) {
    counter = make()
    tagged.set(key, counter)
  }
  return counter
}

/**
 * The media type of the Prometheus text exposition format.
 *
 * @since 0.1.0
 */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/**
 * Every counter and gauge in Effect's registry (mcpgate's and the application's own), in
 * the Prometheus text exposition format 0.0.4. Other metric kinds are left out.
 *
 * @since 0.1.0
 */
export const prometheus: Effect.Effect<string> = Effect.map(Metric.snapshot, (pairs) => render(pairs))

/**
 * Renders metric pairs in the Prometheus text format, grouped by name, sorted for stable output.
 *
 * @since 0.1.0
 */
export const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, { type: string; help: string | undefined; samples: Array<string> }>()
  for (const pair of pairs) {
    const state: unknown = pair.metricState
    let type: string
    let value: number | bigint
    if (MetricState.isCounterState(state)) {
      type = "counter"
      value = state.count
    } else if (MetricState.isGaugeState(state)) {
      type = "gauge"
      value = state.value
    } else {
      continue
    }
    const name = metricName(pair.metricKey.name)
    const family = families.get(name) ?? { type, help: undefined, samples: [] }
    family.help ??= pair.metricKey.description._tag === "Some" ? pair.metricKey.description.value : undefined
    const labels = pair.metricKey.tags
      .map((tag) => `${labelName(tag.key)}="${escapeLabel(tag.value)}"`)
      .sort()
    family.samples.push(`${name}${labels.length > 0 ? `{${labels.join(",")}}` : ""} ${formatValue(value)}`)
    families.set(name, family)
  }
  const lines: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!
    if (family.help !== undefined) lines.push(`# HELP ${name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`)
    lines.push(`# TYPE ${name} ${family.type}`)
    lines.push(...family.samples.sort())
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}

const metricName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const labelName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Infinity) return "+Inf"
  if (value === -Infinity) return "-Inf"
  return String(value)
}
