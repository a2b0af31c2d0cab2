/**
 * What every `node:http` server of mcpgate does before its own work, written once: the
 * request listener that never lets an error become a 500 (the exchange ends, and `onError`
 * hears of it), the 431 for a head Node may have cut short, then the pipeline's decision
 * (`@mcpgate/http`'s `Pipeline`), with its answers written byte for byte. Only a request let
 * through reaches the server's own `serve`.
 */
import * as HttpAnswer from "@mcpgate/auth-core/HttpAnswer"
import type { Pipeline } from "@mcpgate/http"
import type * as http from "node:http"
import { describe, tooManyHeaderLines, writeAnswer } from "./nodeHttp.js"

type Served = Promise<void> | void

/** Calls `onError` with an error, never letting a failing reporter take the server down. */
export const reporter = (onError: ((error: unknown) => void) | undefined) => (error: unknown): void => {
  try {
    onError?.(error)
  } catch {
    // A failing error reporter must not take the server down.
  }
}

/** A request listener around `serve`: a throw or a rejection ends the exchange, never a 500 with details. */
export const listener = (
  serve: (request: http.IncomingMessage, response: http.ServerResponse) => Served,
  onError: ((error: unknown) => void) | undefined
): ((request: http.IncomingMessage, response: http.ServerResponse) => void) => {
  const report = reporter(onError)
  return (request, response) => {
    const failed = (error: unknown) => {
      report(error)
      response.destroy()
    }
    try {
      serve(request, response)?.catch(failed)
    } catch (error) {
      failed(error)
    }
  }
}

/**
 * The pipeline in front of `proceed`: more header lines than the server reads is a 431 on
 * nothing else (a second credential line could hide behind them), then the pipeline's
 * answer is written, or `proceed` serves the route with the caller (synchronously when the
 * gate needed nothing to wait for).
 */
export const front = <R extends string>(
  pipeline: Pipeline.Pipeline<R>,
  maxHeadersCount: number,
  proceed: (request: http.IncomingMessage, response: http.ServerResponse, decision: Pipeline.Proceed<R>) => Served
) =>
(request: http.IncomingMessage, response: http.ServerResponse): Served => {
  if (tooManyHeaderLines(request, maxHeadersCount)) {
    response.setHeader("connection", "close")
    return writeAnswer(response, HttpAnswer.headerFieldsTooLarge)
  }
  const decided = (decision: Pipeline.Decision<R>): Served =>
    decision._tag === "Answer" ? writeAnswer(response, decision.answer) : proceed(request, response, decision)
  const decision = pipeline.decide(describe(request))
  return decision instanceof Promise ? decision.then(decided) : decided(decision)
}
