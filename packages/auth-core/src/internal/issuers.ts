/**
 * One provider trusting several issuers, each with its own audience, keys (given, or found by
 * discovery) and algorithms, or its own introspection. A token is checked only by the issuer it
 * names (`issuerPeek.ts`); an unknown issuer is refused without any network call. A token that
 * is not a JWT goes to the introspection of `opaqueTokens`, when one is named, else is refused.
 * The JWT and introspection providers are the ones of `Jwt` and `Introspection`, composed, not
 * copied.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { AuthFailure, ChallengeParams } from "../AuthFailure.js"
import type { Service as AuthProviderService } from "../AuthProvider.js"
import { InvalidCredentials, KeySourceUnavailable } from "../AuthFailure.js"
import type { ConfigurationError } from "../ConfigurationError.js"
import type { RequestHeaders } from "../Credentials.js"
import { readBearer } from "../Credentials.js"
import type { Principal } from "../Principal.js"
import * as Discovery from "./discovery.js"
import { failuresFor } from "./failures.js"
import { fixedEndpoint, makeChecker as makeIntrospectionChecker } from "./introspection.js"
import { parseIntrospectionOptions, RequestFields } from "./introspectionOptions.js"
import { peekIssuer } from "./issuerPeek.js"
import type { JwtProvider } from "./jwt.js"
import { makeChecker as makeJwtChecker, parseOptions as parseJwtOptions } from "./jwt.js"
import { claimedIdentityOf } from "./jwtIdentity.js"
import { configurationError, decodeOptions, Seconds } from "./options.js"

const Entry = Schema.Struct({
  issuer: Schema.String,
  jwt: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  introspection: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})

export const IssuersOptionsSchema = Schema.Struct({
  issuers: Schema.NonEmptyArray(Entry),
  /** The issuer whose introspection checks tokens that are not JWTs (they name no issuer). */
  opaqueTokens: Schema.optional(Schema.String),
  discovery: Schema.optional(Schema.Struct({ timeout: Schema.optional(Seconds), cacheMaxAge: Schema.optional(Seconds) })),
  ...RequestFields
})

type Decoded = Schema.Schema.Type<typeof IssuersOptionsSchema>

/** One trusted issuer: how its tokens are checked, and whether a principal of it still holds. */
interface Trusted {
  readonly check: (request: RequestHeaders, token: string, nowMillis: number) => Effect.Effect<Principal, AuthFailure>
  readonly stillValid: (principal: Principal) => Effect.Effect<boolean>
}

export interface IssuersProvider extends Pick<AuthProviderService, "headerNames" | "authenticate" | "stillValid" | "changes"> {
  readonly kinds: ReadonlyArray<"jwt">
  readonly authenticateAt: NonNullable<AuthProviderService["authenticateAt"]>
  readonly claimedIdentity: NonNullable<AuthProviderService["claimedIdentity"]>
  /** The issuers trusted, as configured. */
  readonly issuers: ReadonlyArray<string>
}

/** A JWT provider's check at a given time: its `authenticateAt`, which answers a cached token at once. */
const checkAt = (jwt: JwtProvider) => {
  const service: AuthProviderService = jwt
  return service.authenticateAt ?? ((request: RequestHeaders) => jwt.authenticate(request))
}

const KEY_FIELDS = ["secret", "publicKey", "jwks", "jwksUrl"] as const
const SHARED = ["headerName", "requireBearer", "realm", "resourceMetadata", "issuer"] as const

export const makeIssuers = (input: unknown): Either.Either<IssuersProvider, ConfigurationError> =>
  Either.flatMap(decodeOptions(IssuersOptionsSchema, input, "issuers"), (options) => {
    const challenge: ChallengeParams = { scheme: "Bearer", realm: options.realm, resourceMetadata: options.resourceMetadata }
    const failures = failuresFor("jwt", challenge)
    const byIssuer = new Map<string, Trusted>()
    for (const [index, entry] of options.issuers.entries()) {
      const problem = entryProblem(options, index)
      if (problem !== undefined) return Either.left(configurationError(`Invalid issuers options: issuers[${index}]: ${problem}`))
      const trusted = trustedOf(options, entry, failures)
      if (Either.isLeft(trusted)) {
        return Either.left(configurationError(`Invalid issuers options: issuers[${index}] (${entry.issuer}): ${trusted.left.message}`))
      }
      byIssuer.set(entry.issuer, trusted.right)
    }
    if (options.opaqueTokens !== undefined && options.issuers.find((e) => e.issuer === options.opaqueTokens)?.introspection === undefined) {
      return Either.left(configurationError("Invalid issuers options: opaqueTokens must name an issuer configured with introspection"))
    }
    return Either.right(provider(options, byIssuer, failures))
  })

const entryProblem = (options: Decoded, index: number): string | undefined => {
  const entry = options.issuers[index]!
  if (!Discovery.isIssuerIdentifier(entry.issuer)) return `issuer ${JSON.stringify(entry.issuer)} is not an http(s) URL without query or fragment`
  if (options.issuers.findIndex((other) => other.issuer === entry.issuer) !== index) return `${entry.issuer} is listed twice`
  if ((entry.jwt === undefined) === (entry.introspection === undefined)) return "give exactly one of `jwt` and `introspection`"
  const own = entry.jwt ?? entry.introspection!
  // An issuer's own proof rules would go unused: the gate asks the provider it was given.
  if (Object.hasOwn(own, "dpop")) return "dpop is an option of the Jwt and Introspection providers, not of an issuer of Issuers"
  const shared = SHARED.find((name) => Object.hasOwn(own, name))
  return shared === undefined ? undefined : `${shared} is set once for all issuers, at the top level`
}

const trustedOf = (
  options: Decoded,
  entry: Decoded["issuers"][number],
  failures: ReturnType<typeof failuresFor>
): Either.Either<Trusted, ConfigurationError> => {
  const shared = {
    issuer: entry.issuer,
    headerName: options.headerName,
    requireBearer: options.requireBearer,
    realm: options.realm,
    ...(options.resourceMetadata === undefined ? {} : { resourceMetadata: options.resourceMetadata })
  }
  const discovery = () =>
    Discovery.make({
      issuer: entry.issuer,
      timeoutMillis: (options.discovery?.timeout ?? 5) * 1000,
      maxAgeMillis: (options.discovery?.cacheMaxAge ?? 600) * 1000
    })
  if (entry.introspection !== undefined) {
    const own = entry.introspection
    return Either.map(parseIntrospectionOptions({ ...own, ...shared }), (parsed) => {
      const metadata = typeof own["endpoint"] === "string" ? undefined : discovery()
      const { provider } = makeIntrospectionChecker(
        parsed,
        metadata === undefined
          ? fixedEndpoint(own["endpoint"] as string)
          : (now) => metadata.metadata(now).then((found) => found?.introspection_endpoint)
      )
      return { check: (_request, token, now) => provider.checkToken(token, now), stillValid: provider.stillValid }
    })
  }
  const own = entry.jwt!
  if (KEY_FIELDS.some((name) => own[name] !== undefined)) {
    return Either.map(parseJwtOptions({ ...own, ...shared }), ({ keys, options: decoded }) => {
      const { provider } = Effect.runSync(makeJwtChecker(decoded, keys))
      const at = checkAt(provider)
      return { check: (request, _token, now) => at(request, now), stillValid: provider.stillValid }
    })
  }
  const metadata = discovery()
  // The key source is discovered: the options are checked now, with the RFC 8414 URL standing
  // in for the `jwks_uri` not known yet, so a bad option fails at startup, not per request.
  return Either.map(parseJwtOptions({ ...own, ...shared, jwksUrl: Discovery.metadataUrls(entry.issuer).oauth }), () => {
    let built: { readonly jwksUri: string; readonly provider: JwtProvider | undefined } | undefined
    const providerFor = (jwksUri: string): JwtProvider | undefined => {
      // A document naming new keys (rare) gets a provider of its own; the old one is dropped.
      if (built?.jwksUri !== jwksUri) {
        const parsed = parseJwtOptions({ ...own, ...shared, jwksUrl: jwksUri })
        built = {
          jwksUri,
          provider: Either.isRight(parsed) ? Effect.runSync(makeJwtChecker(parsed.right.options, parsed.right.keys)).provider : undefined
        }
      }
      return built.provider
    }
    const unavailable = failures.failure(KeySourceUnavailable, "key_source_unavailable")
    // A document without a usable `jwks_uri` leaves the issuer's keys out of reach: 503.
    const withKeys = (request: RequestHeaders, now: number, jwksUri: string | undefined) => {
      const found = jwksUri === undefined ? undefined : providerFor(jwksUri)
      return found === undefined ? Exit.fail(unavailable) : checkAt(found)(request, now)
    }
    return {
      check: (request, _token, now) => {
        const known = metadata.known(now)
        return known !== undefined
          ? withKeys(request, now, known.jwks_uri)
          : Effect.flatMap(Effect.promise(() => metadata.metadata(now)), (found) => withKeys(request, now, found?.jwks_uri))
      },
      stillValid: (principal) => built?.provider?.stillValid(principal) ?? Effect.succeed(false)
    }
  })
}

const provider = (options: Decoded, byIssuer: ReadonlyMap<string, Trusted>, failures: ReturnType<typeof failuresFor>): IssuersProvider => {
  const { fail, failure, unread } = failures
  const unknownIssuer = failure(InvalidCredentials, "unknown_issuer")
  const malformed = failure(InvalidCredentials, "malformed_token")
  const opaque = options.opaqueTokens === undefined ? undefined : byIssuer.get(options.opaqueTokens)

  const check = (request: RequestHeaders, now: number): Effect.Effect<Principal, AuthFailure> => {
    try {
      const credential = readBearer(request, options.headerName, options.requireBearer)
      if (credential._tag !== "Found") return unread(credential)
      const token = credential.value
      const peeked = peekIssuer(token)
      switch (peeked._tag) {
        case "Jwt": {
          const trusted = byIssuer.get(peeked.issuer)
          return trusted === undefined ? Exit.fail(unknownIssuer) : trusted.check(request, token, now)
        }
        case "Opaque":
          return opaque === undefined ? Exit.fail(malformed) : opaque.check(request, token, now)
        case "Unreadable":
          return Exit.fail(malformed)
      }
    } catch {
      return fail(InvalidCredentials, "verification_error")
    }
  }

  return {
    kinds: ["jwt"],
    headerNames: [options.headerName],
    authenticate: (request) => Effect.clockWith((clock) => check(request, clock.unsafeCurrentTimeMillis())),
    authenticateAt: check,
    stillValid: (principal) => {
      const issuer = principal.claims?.["iss"]
      const trusted = typeof issuer === "string" ? byIssuer.get(issuer) : undefined
      return (trusted ?? opaque)?.stillValid(principal) ?? Effect.succeed(false)
    },
    changes: Stream.never,
    claimedIdentity: (request) => {
      const credential = readBearer(request, options.headerName, options.requireBearer)
      return credential._tag === "Found" && peekIssuer(credential.value)._tag === "Jwt" ? claimedIdentityOf(credential.value) : undefined
    },
    issuers: options.issuers.map((entry) => entry.issuer)
  }
}
