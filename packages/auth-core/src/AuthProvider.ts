/**
 * The service every adapter asks: request headers in, a `Principal` or an `AuthFailure` out.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type { AuthFailure, ProviderKind, SingleFailure } from "./AuthFailure.js"
import { failuresOf, InvalidCredentials, NoProviderAccepted } from "./AuthFailure.js"
import type { RequestHeaders } from "./Credentials.js"
import { headerLines } from "./Credentials.js"
import type { Binding } from "./Dpop.js"
import type { Principal } from "./Principal.js"

/**
 * What a provider offers.
 *
 * @since 0.1.0
 */
export interface Service {
  /** The kinds of credential this provider accepts, in the order it tries them. */
  readonly kinds: ReadonlyArray<ProviderKind>
  /**
   * The request headers credentials are read from, as configured. Adapters allow them in
   * CORS preflights and keep them out of the request information handed to tools.
   */
  readonly headerNames: ReadonlyArray<string>
  /** Checks one request's credentials. Never dies for bad input: every refusal is a typed failure. */
  readonly authenticate: (request: RequestHeaders) => Effect.Effect<Principal, AuthFailure>
  /**
   * The same check, started at once at the given time (milliseconds since the epoch): what
   * needs no waiting is done during the call, and a check that needed nothing else (an API
   * key, a token found in the verified-token cache) is answered as an `Exit`, so that the
   * request pipeline runs it without a fiber. Optional: without it, adapters run
   * `authenticate`.
   */
  readonly authenticateAt?: ((request: RequestHeaders, nowMillis: number) => Effect.Effect<Principal, AuthFailure>) | undefined
  /**
   * Whether a principal authenticated earlier would still be accepted by the current keys:
   * false once its key was revoked by a rotation (or its API key expired). Adapters call it
   * on `changes` to close the streams of revoked callers.
   */
  readonly stillValid: (principal: Principal) => Effect.Effect<boolean>
  /** Emits once after every rotation of the keys. */
  readonly changes: Stream.Stream<void>
  /**
   * Who the request's credential says it is, read cheaply and without verifying it: the
   * `identity` a successful check would give, or undefined. The gate compares it with the
   * identities a client proved before, to serve them during a lockout after a full check;
   * it is never trusted alone. A provider without it gets no such exemption.
   */
  readonly claimedIdentity?: ((request: RequestHeaders) => string | undefined) | undefined
  /**
   * A token provider's DPoP rules (RFC 9449, the `dpop` option), which the request gate
   * applies to every token it accepted, knowing the method and the URL (docs/behaviour.md#dpop).
   */
  readonly dpop?: Binding | undefined
}

/**
 * The authentication provider in context.
 *
 * @example
 * ```ts
 * import { ApiKey, AuthProvider } from "@mcpgate/auth-core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const provider = yield* AuthProvider.AuthProvider
 *   return yield* provider.authenticate({ "x-api-key": "..." })
 * }).pipe(Effect.provide(ApiKey.layer({ keys: [process.env.MY_KEY!] })))
 * ```
 *
 * @since 0.1.0
 */
export class AuthProvider extends Context.Tag("@mcpgate/auth-core/AuthProvider")<AuthProvider, Service>() {}

/**
 * A provider that tries several in order; the first success wins. When all refuse, the
 * answer is the JWT one if and only if an `Authorization` header was present, else the
 * API-key one, and the challenges of all are sent (docs/behaviour.md#answers).
 *
 * @example
 * ```ts
 * const both = AuthProvider.firstOf(yield* ApiKey.make(keyOptions), yield* Jwt.make(jwtOptions))
 * ```
 *
 * @since 0.1.0
 */
export const firstOf = (...providers: ReadonlyArray<Service>): Service => {
  if (providers.length === 0) throw new TypeError("firstOf needs at least one provider")
  if (providers.length === 1) return providers[0]!
  const authenticate = (request: RequestHeaders): Effect.Effect<Principal, AuthFailure> => {
    const attempt = (index: number, failures: ReadonlyArray<SingleFailure>): Effect.Effect<Principal, AuthFailure> =>
      index === providers.length
        ? Effect.fail(choose(request, failures))
        : Effect.catchAll(
          // A custom provider that dies refuses like any other, and the next one is still asked.
          authenticateSafely(providers[index]!, request),
          (failure) => attempt(index + 1, [...failures, ...failuresOf(failure)])
        )
    return attempt(0, [])
  }
  return {
    kinds: providers.flatMap((provider) => provider.kinds),
    headerNames: uniqueIgnoringCase(providers.flatMap((provider) => provider.headerNames)),
    authenticate,
    stillValid: (principal) =>
      Effect.map(
        Effect.forEach(providers.filter((p) => p.kinds.includes(principal.provider)), (p) => p.stillValid(principal)),
        (answers) => answers.some(Boolean)
      ),
    changes: Stream.mergeAll(providers.map((provider) => provider.changes), { concurrency: "unbounded" }),
    // The first DPoP rules apply to every token: a bound token is bound whoever accepted it.
    dpop: providers.find((provider) => provider.dpop !== undefined)?.dpop,
    claimedIdentity: (request) => {
      for (const provider of providers) {
        const claimed = provider.claimedIdentity?.(request)
        if (claimed !== undefined) return claimed
      }
      return undefined
    }
  }
}

/** Header names, each once whatever its letter case, in the first spelling given. */
const uniqueIgnoringCase = (names: ReadonlyArray<string>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const unique: Array<string> = []
  for (const name of names) {
    if (seen.has(name.toLowerCase())) continue
    seen.add(name.toLowerCase())
    unique.push(name)
  }
  return unique
}

const choose = (request: RequestHeaders, failures: ReadonlyArray<SingleFailure>): NoProviderAccepted => {
  const wanted = wantedKind(request)
  const primary = failures.find((failure) => failure.provider === wanted) ??
    // `OAuthAuthProvider` reads Bearer tokens too: its body answers where a JWT one would.
    (wanted === "jwt" ? failures.find((failure) => failure.provider === "oauth") : undefined) ??
    failures[0]!
  return new NoProviderAccepted({ primary, failures })
}

/** Whose body answers: the JWT one if and only if an `Authorization` header is present. */
const wantedKind = (request: RequestHeaders): ProviderKind | undefined => {
  try {
    return headerLines(request, "authorization").length > 0 ? "jwt" : "api-key"
  } catch {
    // Headers that cannot be read (every provider said so already): the first refusal answers.
    return undefined
  }
}

/**
 * A Layer of `firstOf` over providers built by their `make` effects.
 *
 * @example
 * ```ts
 * const AuthLive = AuthProvider.layerFirstOf(ApiKey.make(keyOptions), Jwt.make(jwtOptions))
 * ```
 *
 * @since 0.1.0
 */
export const layerFirstOf = <E, R>(
  ...makes: ReadonlyArray<Effect.Effect<Service, E, R>>
): Layer.Layer<AuthProvider, E, R> =>
  Layer.effect(AuthProvider, Effect.map(Effect.all(makes), (providers) => firstOf(...providers)))

/**
 * The failure for a check that ended without a verdict (a custom provider threw): a 401
 * with the default challenge of the provider's first kind. An API-key challenge names the
 * header the provider reads (its first header name other than `Authorization`).
 *
 * @since 0.1.0
 */
export const unverified = (service: Service): SingleFailure => {
  const provider: ProviderKind = service.kinds[0] ?? "jwt"
  return new InvalidCredentials({
    provider,
    reason: "verification_error",
    challenge: provider === "api-key"
      ? { scheme: "ApiKey", realm: "mcp", headerName: apiKeyHeaderOf(service) }
      : { scheme: "Bearer", realm: "mcp", resourceMetadata: undefined }
  })
}

const apiKeyHeaderOf = (service: Service): string => {
  const names = Array.isArray(service.headerNames) ? service.headerNames : []
  return names.find((name) => name.toLowerCase() !== "authorization") ?? names[0] ?? "X-API-Key"
}

/**
 * Runs a provider's check for an adapter. mcpgate's providers never die; a custom one
 * might, and its exception must still be a 401 rather than a 500 (docs/behaviour.md#answers).
 * Suspended, so that a provider that throws instead of returning an effect is caught too.
 *
 * @since 0.1.0
 */
export const authenticateSafely = (service: Service, request: RequestHeaders): Effect.Effect<Principal, AuthFailure> =>
  Effect.catchAllDefect(Effect.suspend(() => service.authenticate(request)), () => Effect.fail(unverified(service)))
