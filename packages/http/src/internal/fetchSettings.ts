/**
 * The options every Fetch adapter takes beyond its provider (`createMcpFetchHandler`,
 * `withMcpAuth`, `@mcpgate/hono`), decoded once, and the settings made of them: the gate,
 * the cross-origin policy, the protected resource, the head limits and the client address.
 *
 * The client address (docs/behaviour.md#order-of-checks, step 4):
 * the Fetch API has no socket, and no platform is guessed, so the address comes from the
 * user: `clientAddress(request, env, ctx)` (Bun's `server.requestIP(request)`, Deno's
 * `info.remoteAddr`) or `clientAddressHeader`, a header the platform itself sets
 * (`CF-Connecting-IP`). `X-Forwarded-For` is then read behind `trustProxy` as on Node.
 * - Neither given: no address, so failed-attempt limiting is off, and one warning says so
 *   when the adapter is made. One bucket for every client would let one attacker lock
 *   everyone out; a budget given explicitly (`rateLimit` options or a `gate`) without an
 *   address is a configuration error rather than silently off.
 * - Given, but a request without one (a header the platform did not set): that request
 *   counts against the one budget `unknown`, which only such requests share, since every
 *   client the platform serves has an address. Guesses stay limited; nobody with an
 *   address is locked out by them.
 */
import type * as AuthProvider from "@mcpgate/auth-core/AuthProvider"
import { HeaderName, HostName, HttpUrl, PositiveInt } from "@mcpgate/auth-core/Options"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as CrossOrigin from "../CrossOrigin.js"
import * as ProtectedResource from "../ProtectedResource.js"
import * as RequestGate from "../RequestGate.js"
import * as ServerOptions from "../ServerOptions.js"
import * as ToolScopes from "../ToolScopes.js"

/** The client address of one request: `(request, env, ctx)` to an address, or undefined. */
export type AddressReader = (request: Request, env: unknown, ctx: unknown) => string | undefined

/** How the client address of a Fetch request is learned; see the module's comment. */
export interface AddressOptions {
  /** The client's address for a request: `(request, env, ctx) => string | undefined`. */
  readonly clientAddress?: ((request: Request, env: any, ctx: any) => string | undefined | null) | undefined
  /** A header the platform sets to the client's address (`CF-Connecting-IP`, `Fly-Client-IP`). */
  readonly clientAddressHeader?: string | undefined
}

/** The fields, shared by every Fetch adapter's options schema. */
export const fetchFields = {
  allowedOrigins: Schema.optional(Schema.Array(Schema.String)),
  allowedHosts: Schema.optional(Schema.Array(HostName)),
  exposeToken: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  resource: Schema.optional(HttpUrl),
  protectedResource: Schema.optional(ProtectedResource.OptionsSchema),
  requiredScopes: ServerOptions.scopeFields.requiredScopes,
  scopeHierarchy: ServerOptions.scopeFields.scopeHierarchy,
  clientAddress: Schema.optional(ServerOptions.Fn),
  clientAddressHeader: Schema.optional(HeaderName),
  maxHeadersCount: Schema.optional(PositiveInt),
  maxHeaderSize: Schema.optional(PositiveInt),
  onError: Schema.optional(ServerOptions.Fn),
  ...ServerOptions.gateFields
}

/** A budget (`rateLimit` options, a limiter, a `gate`) needs a way to tell clients apart. */
export const budgetHasAddress = (options: {
  readonly rateLimit?: unknown
  readonly gate?: unknown
  readonly clientAddress?: unknown
  readonly clientAddressHeader?: unknown
}): true | string =>
  options.clientAddress !== undefined || options.clientAddressHeader !== undefined ||
  ((options.rateLimit === undefined || options.rateLimit === false) && options.gate === undefined) ||
  "a failed-attempt budget needs the client's address: give clientAddress (request, env, ctx) => address, " +
    "or clientAddressHeader, a header your platform sets (e.g. \"CF-Connecting-IP\"); or rateLimit: false"

/** The fields as decoded. */
type Decoded = Schema.Struct.Type<typeof fetchFields>

/**
 * The rules a Fetch adapter's decoded options meet together, whatever fields it adds: one
 * protected resource, one source of the gate, a gate that knows that resource, a scope
 * hierarchy naming only known scopes, and a budget that can tell clients apart.
 */
export const withFetchRules = <A extends Decoded, I, R>(schema: Schema.Schema<A, I, R>) =>
  schema.pipe(
    Schema.filter(ProtectedResource.oneResource),
    Schema.filter(ServerOptions.oneGateSource),
    Schema.filter(ServerOptions.gateKnowsResource),
    Schema.filter(ServerOptions.scopesKnown),
    Schema.filter(budgetHasAddress)
  )

/** What a Fetch adapter is made of. */
export interface FetchSettings {
  readonly provider: AuthProvider.Service
  readonly gate: RequestGate.RequestGate
  readonly cors: CrossOrigin.CrossOrigin
  readonly protectedResource: ProtectedResource.ProtectedResource | undefined
  /** The server's resource identifier, given to tools as `authInfo.resource`. */
  readonly resource: URL | undefined
  /**
   * The scopes every request needs and the hierarchy they are judged by (no tool scopes: a
   * handler that reads bodies adds its own, `ToolScopes.policyOf`).
   */
  readonly scopes: ToolScopes.Policy
  readonly exposeToken: boolean
  readonly address: AddressReader | undefined
  readonly maxHeadersCount: number
  readonly maxHeaderSize: number
  readonly onError: ((error: unknown) => void) | undefined
}

/** The reader the options describe; undefined when they name none. */
export const addressReader = (options: AddressOptions): AddressReader | undefined => {
  const { clientAddress, clientAddressHeader } = options
  if (clientAddress !== undefined) {
    return (request, env, ctx) => {
      try {
        const address = clientAddress(request, env, ctx)
        return typeof address === "string" && address.length > 0 ? address : undefined
      } catch {
        // A reader that fails tells nothing: the request counts as one without an address.
        return undefined
      }
    }
  }
  if (clientAddressHeader === undefined) return undefined
  const name = clientAddressHeader.toLowerCase()
  // One address, as the platform sets it; a list (or a repeated line, joined) vouches for none.
  return (request) => {
    const value = request.headers.get(name)?.trim()
    return value === undefined || value.length === 0 || value.includes(",") ? undefined : value
  }
}

const NO_ADDRESS_WARNING = "mcpgate: no client address (clientAddress or clientAddressHeader), so failed " +
  "authentication attempts are not limited. Name how your platform gives the client's address to turn limiting on."

/** The settings of decoded fields, for `provider`; warns once when limiting is off for want of an address. */
export const settingsOf = (
  provider: AuthProvider.Service,
  decoded: Decoded,
  user: { readonly clientAddress?: unknown; readonly onError?: unknown }
): Either.Either<FetchSettings, ConfigurationError> => {
  const protectedResource = decoded.protectedResource === undefined
    ? undefined
    : ProtectedResource.fromDecoded(decoded.protectedResource)
  const resource = decoded.resource ?? protectedResource?.resource
  const address = addressReader({
    clientAddress: user.clientAddress as AddressOptions["clientAddress"],
    clientAddressHeader: decoded.clientAddressHeader
  })
  return Either.map(
    CrossOrigin.decode({
      credentialHeaders: provider.headerNames,
      ...(decoded.allowedOrigins === undefined ? {} : { allowedOrigins: decoded.allowedOrigins }),
      ...(decoded.allowedHosts === undefined ? {} : { allowedHosts: decoded.allowedHosts })
    }),
    (cors) => {
      const limited = address !== undefined && decoded.rateLimit !== false
      const gate = decoded.gate ?? RequestGate.unsafeMake(provider, {
        rateLimit: limited ? decoded.rateLimit : false,
        trustProxy: decoded.trustProxy,
        logger: decoded.logger,
        protectedResource,
        // Named in every Bearer 401 challenge (docs/behaviour.md#challenges).
        requiredScopes: decoded.requiredScopes
      })
      if (address === undefined && decoded.rateLimit === undefined && decoded.gate === undefined) {
        void gate.run(Effect.logWarning(NO_ADDRESS_WARNING)).catch(() => {})
      }
      return {
        provider,
        gate,
        cors,
        protectedResource,
        resource: resource === undefined ? undefined : new URL(resource),
        scopes: ToolScopes.policyOf(decoded),
        exposeToken: decoded.exposeToken,
        address,
        maxHeadersCount: decoded.maxHeadersCount ?? 2000,
        maxHeaderSize: decoded.maxHeaderSize ?? 16 * 1024,
        onError: user.onError as FetchSettings["onError"]
      }
    }
  )
}

/** Calls `onError`, never letting a failing reporter escape. */
export const reporter = (onError: ((error: unknown) => void) | undefined) => (error: unknown): void => {
  try {
    onError?.(error)
  } catch {
    // A failing error reporter must not fail the request.
  }
}
