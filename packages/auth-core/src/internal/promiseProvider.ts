import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Option from "effect/Option"
import type { AuthFailure, ChallengeParams, ProviderKind, ReasonCode } from "../AuthFailure.js"
import { InvalidCredentials, primaryOf } from "../AuthFailure.js"
import type { Service } from "../AuthProvider.js"
import { AuthProvider } from "../AuthProvider.js"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { RequestHeaders } from "../Credentials.js"
import type { HttpAnswer } from "../HttpAnswer.js"
import { fromFailure } from "../HttpAnswer.js"
import type { AuthResult } from "../McpFrameworkAuth.js"
import { acceptanceOf } from "../McpFrameworkAuth.js"
import type { Principal } from "../Principal.js"

/** What `check` resolves to: never a rejection for a bad credential. */
export type CheckResult =
  | { readonly ok: true; readonly principal: Principal }
  | {
    readonly ok: false
    readonly status: number
    readonly headers: HttpAnswer["headers"]
    readonly body: string
    /** A stable code for logs and metrics; never part of the answer sent. */
    readonly reason: ReasonCode
  }

/** mcp-framework's answer for a verdict; never a throw, so `authenticate` never rejects. */
const acceptanceOrRefusal = (verdict: CheckResult): boolean | AuthResult => {
  try {
    return verdict.ok ? acceptanceOf(verdict.principal) : false
  } catch {
    return false
  }
}

/** Runs an Effect that cannot block or fail, returning its value or throwing its error. */
export const runSyncOrThrow = <A>(effect: Effect.Effect<A, ConfigurationError>): A =>
  Exit.match(Effect.runSyncExit(effect), {
    onSuccess: (value) => value,
    onFailure: (cause) => {
      throw Cause.squash(cause)
    }
  })

export const orThrow = <A>(either: Either.Either<A, ConfigurationError>): A =>
  Either.getOrThrowWith(either, (error) => error)

/** The Promise face of a provider: one runtime, built once, disposed with `dispose()`. */
export class PromiseProvider {
  readonly #runtime: ManagedRuntime.ManagedRuntime<AuthProvider, never>
  readonly #kind: ProviderKind
  readonly #challenge: ChallengeParams
  readonly #refusalMessage: string

  readonly #checkNow: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  #disposed = false

  constructor(
    /** The Effect service behind this provider, for adapters and Effect code. */
    readonly service: Service,
    kind: ProviderKind,
    /** The provider's configured challenge, announced even when a request could not be read. */
    challenge: ChallengeParams,
    /** The message of the provider's 401 body, for `getAuthError()`. */
    refusalMessage: string,
    /**
     * The provider's check started on the live clock. What it can decide synchronously (an
     * API key, a cached token) comes back as an Exit and is answered without a fiber; the
     * rest runs on this runtime. Defaults to running the service's `authenticate`.
     */
    checkNow?: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  ) {
    this.#kind = kind
    this.#challenge = challenge
    this.#refusalMessage = refusalMessage
    this.#runtime = ManagedRuntime.make(this.layer)
    this.#checkNow = checkNow ?? service.authenticate
  }

  /** The service as a Layer, for Effect code that wants this very provider. */
  get layer(): Layer.Layer<AuthProvider> {
    return Layer.succeed(AuthProvider, this.service)
  }

  /**
   * mcp-framework's contract, for code written to it (its `MCPServer` among them), which
   * reads any truthy result as success: `true` for a valid API key, `{ data: <claims> }`
   * for a valid token, `false` for every refusal. Never rejects. Our adapters use `check`.
   */
  authenticate(request: RequestHeaders): Promise<boolean | AuthResult> {
    try {
      const verdict = this.#verdict(request)
      // One promise, already settled when the check was synchronous (an API key, a token on
      // local keys): the contract is a Promise, but nothing else need wait.
      return verdict instanceof Promise
        ? verdict.then(acceptanceOrRefusal, () => false)
        : Promise.resolve(acceptanceOrRefusal(verdict))
    } catch {
      return Promise.resolve(false)
    }
  }

  /** mcp-framework's `getAuthError()`: the status and message of this provider's 401 body. */
  getAuthError(): { status: 401; message: string } {
    return { status: 401, message: this.#refusalMessage }
  }

  /**
   * Checks a request's headers (a Fetch `Headers`, a header record, or a Node request) and
   * resolves to the principal or to the exact answer to send; never rejects.
   */
  async check(request: RequestHeaders): Promise<CheckResult> {
    return this.#verdict(request)
  }

  /** The verdict, at once when the check was synchronous; a promise of it otherwise. */
  #verdict(request: RequestHeaders): CheckResult | Promise<CheckResult> {
    // A disposed provider refuses everything, whether or not a check would need the runtime.
    let check: Effect.Effect<Principal, AuthFailure>
    try {
      check = this.#disposed ? Exit.die("disposed") : this.#checkNow(request)
    } catch (error) {
      return this.#resultOf(Exit.die(error))
    }
    if (Exit.isExit(check)) return this.#resultOf(check as Exit.Exit<Principal, AuthFailure>)
    return this.#runtime.runPromiseExit(check).then(
      (exit) => this.#resultOf(exit),
      (error) => this.#resultOf(Exit.die(error))
    )
  }

  #resultOf(exit: Exit.Exit<Principal, AuthFailure>): CheckResult {
    if (Exit.isSuccess(exit)) return { ok: true, principal: exit.value }
    const failure: AuthFailure = Option.getOrElse(Cause.failureOption(exit.cause), () =>
      // A defect here is a bug of ours; it still must not let the caller in, nor be a 500.
      new InvalidCredentials({
        provider: this.#kind,
        reason: "verification_error",
        challenge: this.#challenge
      }))
    const answer = fromFailure(failure)
    return { ok: false, ...answer, reason: primaryOf(failure).reason }
  }

  /** Releases the runtime; from then on every request is refused. */
  dispose(): Promise<void> {
    this.#disposed = true
    return this.#runtime.dispose()
  }
}
