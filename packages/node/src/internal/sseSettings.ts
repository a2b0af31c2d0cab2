/**
 * The SSE server's settings: what `SseServer.fromSettings` builds from, and the one decode of
 * `SseServerOptions` into them (`SseServer.decodeSettings`).
 */
import type { AuthProvider } from "@mcpgate/auth-core"
import { Options } from "@mcpgate/auth-core"
import type { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"
import { serviceOf } from "@mcpgate/auth-core/CustomProvider"
import type { EndpointPolicy, ToolScopes } from "@mcpgate/http"
import { CrossOrigin, ProtectedResource, RequestGate, ServerOptions } from "@mcpgate/http"
import * as Either from "effect/Either"
import type * as Runtime from "effect/Runtime"
import type { SseTransport } from "../SseTransport.js"
import { SseServerOptions as OptionsSchema } from "./options.js"

/**
 * What the server is built from: options already checked, with what they are made into (the
 * provider's service, the gate, the cross-origin policy, the protected resource). The sizes
 * and caps are optional: left out, the server's own defaults apply.
 */
export interface Settings {
  readonly provider: AuthProvider.Service
  /** The gate of every request; share one between servers for one failed-attempt budget. */
  readonly gate: RequestGate.RequestGate
  /** Which endpoints require credentials. */
  readonly policy: EndpointPolicy.EndpointPolicy
  readonly cors: CrossOrigin.CrossOrigin
  readonly onSession: (transport: SseTransport) => void | Promise<void>
  readonly onError: ((error: unknown) => void) | undefined
  readonly endpoint: string
  readonly messageEndpoint: string
  readonly healthEndpoint: string | false
  readonly exposeToken: boolean
  readonly requestContext: boolean
  readonly resource: string | undefined
  /** The tool scopes, or the whole scope policy (`ServerOptions.scopePolicyOf`). */
  readonly toolScopes: ToolScopes.ToolScopes | ToolScopes.Policy
  /** Served at its metadata paths when given (RFC 9728); the gate must be made with it. */
  readonly protectedResource: ProtectedResource.ProtectedResource | undefined
  /** Default 4 MiB. */
  readonly maxBodyBytes?: number | undefined
  /** Default 8 MiB. */
  readonly maxBufferedBytes?: number | undefined
  /** Seconds; default 15. */
  readonly heartbeat?: number | undefined
  /** Default 2,000. */
  readonly maxHeadersCount?: number | undefined
  /** The caps on open streams; default 1,000, a quarter of it anonymous, 16 a client, 60 s unclaimed. */
  readonly maxStreams?: number | undefined
  readonly maxAnonymousStreams?: number | undefined
  readonly maxAnonymousStreamsPerClient?: number | undefined
  /** Seconds. */
  readonly anonymousStreamTimeout?: number | undefined
}

/** Decodes `SseServerOptions` once into settings; the gate is made in `runtime` when given. */
export const decodeSettings = (
  // What the schema cannot type: the callbacks, handed on as given.
  input: { readonly onSession: Settings["onSession"]; readonly onError?: Settings["onError"] },
  runtime?: Runtime.Runtime<never>
): Either.Either<Settings, ConfigurationError> =>
  Either.flatMap(Options.decode(OptionsSchema, input, "SSE server"), (decoded) => {
    const provider = serviceOf(decoded.auth.provider)
    return Either.map(CrossOrigin.decode(crossOriginOptions(decoded, provider)), (cors): Settings => {
      const protectedResource = decoded.protectedResource === undefined
        ? undefined
        : ProtectedResource.fromDecoded(decoded.protectedResource)
      return {
        ...decoded,
        onSession: input.onSession,
        onError: input.onError,
        provider,
        resource: decoded.resource ?? protectedResource?.resource,
        protectedResource,
        toolScopes: ServerOptions.scopePolicyOf(decoded),
        gate: decoded.gate ?? RequestGate.unsafeMake(provider, { ...decoded, protectedResource, runtime }),
        policy: decoded.auth.endpoints,
        cors
      }
    })
  })

const crossOriginOptions = (
  options: { readonly allowedOrigins?: ReadonlyArray<string> | undefined; readonly allowedHosts?: ReadonlyArray<string> | undefined },
  provider: AuthProvider.Service
): CrossOrigin.Options => ({
  credentialHeaders: provider.headerNames,
  ...(options.allowedOrigins === undefined ? {} : { allowedOrigins: options.allowedOrigins }),
  ...(options.allowedHosts === undefined ? {} : { allowedHosts: options.allowedHosts })
})

