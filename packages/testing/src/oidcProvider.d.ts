// oidc-provider ships no types; this declares the little of it the tests' authorization
// server uses (docs: node-oidc-provider docs/README.md, "Configuration options").
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http"
  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>)
    readonly issuer: string
    proxy: boolean
    callback(): (req: IncomingMessage, res: ServerResponse) => void
    on(event: string, listener: (...args: Array<unknown>) => void): this
  }
  export const errors: Record<string, new(description?: string) => Error>
}
