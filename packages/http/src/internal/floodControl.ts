/**
 * Flood control for log lines: at most `lines` per window; what is held back is counted
 * and reported by one line when the next window opens, so an attack from many addresses
 * cannot fill the disk, and the operator still learns how much was dropped.
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import { logLinesSuppressed } from "../AuthMetrics.js"

export interface FloodControl {
  /** Runs `line` when the window has room left, else counts it as suppressed. */
  readonly log: (line: Effect.Effect<void>) => Effect.Effect<void>
}

export const make = (options: { readonly lines: number; readonly windowMillis: number }): FloodControl => {
  let windowStart = Number.NEGATIVE_INFINITY
  let written = 0
  let suppressed = 0
  return {
    log: (line) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        let report: Effect.Effect<void> = Effect.void
        if (now - windowStart >= options.windowMillis) {
          if (suppressed > 0) {
            report = Effect.logWarning("authentication failure log lines suppressed by flood control").pipe(
              Effect.annotateLogs({ suppressed, windowSeconds: options.windowMillis / 1000 })
            )
          }
          windowStart = now
          written = 0
          suppressed = 0
        }
        if (written < options.lines) {
          written++
          return Effect.zipRight(report, line)
        }
        suppressed++
        return Effect.zipRight(report, Metric.increment(logLinesSuppressed))
      })
  }
}
