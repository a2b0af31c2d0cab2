/**
 * The API-key provider for code that does not use Effect, with the reference's name and
 * option names.
 *
 * @since 0.1.0
 */
import type * as ApiKey from "./ApiKey.js"
import { Messages } from "./HttpAnswer.js"
import * as internal from "./internal/apiKey.js"
import { orThrow, PromiseProvider, runSyncOrThrow } from "./internal/promiseProvider.js"

export type { CheckResult } from "./internal/promiseProvider.js"

/**
 * API-key authentication: `new APIKeyAuthProvider({ keys, headerName })` plus every option
 * of `ApiKey.Options`. The constructor throws a `ConfigurationError` on bad options.
 * `check(req)` resolves to `{ ok: true, principal }` or to the exact answer
 * `{ ok: false, status, headers, body, reason }`; `authenticate(req)` is mcp-framework's
 * contract (`true` or `false`), so the provider also works inside mcp-framework's own
 * `MCPServer`. Neither rejects for a bad credential.
 *
 * @example
 * ```ts
 * import { APIKeyAuthProvider } from "@mcpgate/auth-core"
 *
 * const provider = new APIKeyAuthProvider({ keys: process.env.MCP_API_KEYS!.split(",") })
 * const result = await provider.check(req) // a Node request, a header record or Headers
 * if (!result.ok) res.writeHead(result.status, result.headers).end(result.body)
 * ```
 *
 * @since 0.1.0
 */
export class APIKeyAuthProvider extends PromiseProvider {
  declare readonly service: ApiKey.Service
  readonly #headerName: string
  readonly #keyCount: () => number
  readonly #replaceKeys: (keys: ReadonlyArray<ApiKey.KeySpec>) => void

  constructor(options: ApiKey.Options) {
    const { keys, options: decoded } = orThrow(internal.parseOptions(options))
    const { checkNow, keyCount, provider, replaceKeysNow } = runSyncOrThrow(internal.makeChecker(decoded, keys))
    super(
      provider,
      "api-key",
      { scheme: "ApiKey", realm: decoded.realm, headerName: decoded.headerName },
      Messages.apiKey,
      checkNow
    )
    this.#headerName = decoded.headerName
    this.#keyCount = keyCount
    this.#replaceKeys = replaceKeysNow
  }

  /**
   * Replaces the key set atomically; a removed key fails on its next request, and an empty
   * set refuses every request. Throws on bad keys.
   */
  updateKeys(keys: ReadonlyArray<ApiKey.KeySpec>): void {
    this.#replaceKeys(keys)
  }

  /** How many keys are in force (mcp-framework's name). */
  getKeyCount(): number {
    return this.#keyCount()
  }

  /** The header the key is read from, as configured (mcp-framework's name). */
  getHeaderName(): string {
    return this.#headerName
  }
}
