/**
 * How the gate refuses (docs/behaviour.md#logs-and-metrics): the answer, the failure counted,
 * one warning logged under flood control with the reason, provider, client and key label
 * (never a credential), and, for a guess at a credential, one unit of the client's budget spent.
 */
import type { AuthFailure } from "@mcpgate/auth-core/AuthFailure"
import { primaryOf } from "@mcpgate/auth-core/AuthFailure"
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import * as Effect from "effect/Effect"
import { recordFailure } from "../AuthMetrics.js"
import type * as RateLimiter from "../RateLimiter.js"
import * as FloodControl from "./floodControl.js"

// Enough to see an attack's shape in the logs, too few to fill a disk: 144,000 lines a day.
const LOG_LINES = 100
const LOG_WINDOW_MILLIS = 60_000

/** A refusal, as the gate's verdict. */
export interface Refused {
  readonly _tag: "Refused"
  readonly answer: HttpAnswer.HttpAnswer
}

/** The refusals of one gate, with its limiter (if any) and its challenge options. */
export const make = (limiter: RateLimiter.RateLimiter | undefined, challenge: HttpAnswer.ChallengeOptions) => {
  const flood = FloodControl.make({ lines: LOG_LINES, windowMillis: LOG_WINDOW_MILLIS })
  /**
   * The answer to a refused request, counted and logged. `spend` says whether it is a guess
   * at a credential: a request that presented none, or put one in its URL, spends nothing.
   */
  return (client: string, failure: AuthFailure, spend = true): Effect.Effect<Refused> => {
    const primary = primaryOf(failure)
    const answer = HttpAnswer.fromFailure(failure, challenge)
    const logged = flood.log(
      Effect.logWarning("authentication failed").pipe(
        Effect.annotateLogs({
          reason: primary.reason,
          provider: primary.provider,
          client,
          ...(primary.keyLabel === undefined ? {} : { key: primary.keyLabel })
        })
      )
    )
    const counted = Effect.zipRight(recordFailure(primary.provider, primary.reason), logged)
    // A key source that is down is not the client's fault: it spends no budget. Every other
    // refusal does, a custom provider's own status (mcp-framework's `getAuthError`) included.
    if (limiter === undefined || !spend || primary._tag === "KeySourceUnavailable") {
      return Effect.as(counted, { _tag: "Refused", answer } as const)
    }
    return counted.pipe(
      Effect.zipRight(limiter.recordFailure(client)),
      // Once limited, the client is stopped at the gate, so this is logged about once per window.
      Effect.tap((after) =>
        after._tag === "Limited"
          ? flood.log(
            Effect.logWarning("client over its failed-attempt budget").pipe(
              Effect.annotateLogs({ client, retryAfterSeconds: after.retryAfterSeconds })
            )
          )
          : Effect.void
      ),
      Effect.as({ _tag: "Refused", answer } as const)
    )
  }
}
