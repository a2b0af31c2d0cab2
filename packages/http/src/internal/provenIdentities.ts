/**
 * The identities each client address has proven: a credential of theirs passed. A client
 * over its failed-attempt budget still gets in with an identity it proved before (OWASP's
 * "device cookie" against account lockout, applied to API keys and token subjects), so a web
 * page or a neighbour behind the same NAT can spend an address's budget without locking its
 * legitimate users out, while guesses stay limited: during a lockout nothing new is proven,
 * since only identities already on the list are even verified. See `docs/design.md`,
 * "Lockout spares proven credentials".
 *
 * In memory and bounded like the in-memory store: at most `maxClients` addresses, least
 * recently seen forgotten first, each with its few most recent identities.
 */
import { Lru } from "@mcpgate/auth-core/Lru"

// A person's laptop behind a NAT shares the address with a few others; more than this many
// identities from one address are forgotten oldest first.
const PER_CLIENT = 16

export class BoundedProvenIdentities {
  readonly #clients: Lru<string, Array<string>>

  constructor(maxClients: number) {
    this.#clients = new Lru(maxClients)
  }

  /** Remembers that `identity` proved itself from `client`. */
  add(client: string, identity: string): void {
    const known = this.#clients.get(client)
    if (known === undefined) return this.#clients.set(client, [identity])
    if (known.includes(identity)) return
    known.push(identity)
    if (known.length > PER_CLIENT) known.shift()
  }

  /** Whether `identity` proved itself from `client` before. */
  has(client: string, identity: string): boolean {
    return this.#clients.get(client)?.includes(identity) === true
  }
}
