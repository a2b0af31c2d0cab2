/**
 * A bounded map that forgets the least recently used entry first. Both the rate-limit store
 * and the verified-token cache hold whatever strangers send, so neither may grow without a
 * bound, and both evict on every insert once full.
 *
 * The order is a doubly linked list beside a `Map`, so `get`, `set` and eviction are O(1).
 * A `Map` alone (delete and re-insert to touch, `keys().next()` to find the oldest) is not:
 * V8 leaves deleted entries as holes until the table is rebuilt, and every new iterator walks
 * past them, so eviction from a full map cost 10 to 40 µs instead of 1.
 *
 * Public so that `@mcpgate/http`'s rate-limit store shares it; not part of the credential API.
 *
 * @example
 * ```ts
 * import { Lru } from "@mcpgate/auth-core/Lru"
 *
 * const recent = new Lru<string, number>(2)
 * recent.set("a", 1)
 * recent.set("b", 2)
 * recent.set("c", 3) // "a" goes
 * ```
 *
 * @since 0.1.0
 */
export class Lru<K, V> {
  readonly #nodes = new Map<K, Node<K, V>>()
  /** The least recently used node, evicted first. */
  #oldest: Node<K, V> | undefined
  /** The most recently used node. */
  #newest: Node<K, V> | undefined

  constructor(readonly maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`the bound must be a whole number of at least 1, got ${maxEntries}`)
    }
  }

  get size(): number {
    return this.#nodes.size
  }

  /** The entry, now the most recently used; or undefined. */
  get(key: K): V | undefined {
    const node = this.#nodes.get(key)
    if (node === undefined) return undefined
    this.#moveToNewest(node)
    return node.value
  }

  /** Sets the entry as the most recently used, evicting the least recently used past the bound. */
  set(key: K, value: V): void {
    const node = this.#nodes.get(key)
    if (node !== undefined) {
      node.value = value
      this.#moveToNewest(node)
      return
    }
    const added: Node<K, V> = { key, value, older: this.#newest, newer: undefined }
    if (this.#newest !== undefined) this.#newest.newer = added
    this.#newest = added
    this.#oldest ??= added
    this.#nodes.set(key, added)
    if (this.#nodes.size > this.maxEntries) this.delete(this.#oldest.key)
  }

  delete(key: K): void {
    const node = this.#nodes.get(key)
    if (node === undefined) return
    this.#nodes.delete(key)
    this.#unlink(node)
  }

  clear(): void {
    this.#nodes.clear()
    this.#oldest = undefined
    this.#newest = undefined
  }

  #moveToNewest(node: Node<K, V>): void {
    if (node === this.#newest) return
    this.#unlink(node)
    node.older = this.#newest
    node.newer = undefined
    if (this.#newest !== undefined) this.#newest.newer = node
    this.#newest = node
    this.#oldest ??= node
  }

  #unlink(node: Node<K, V>): void {
    if (node.older !== undefined) node.older.newer = node.newer
    else this.#oldest = node.newer
    if (node.newer !== undefined) node.newer.older = node.older
    else this.#newest = node.older
    node.older = undefined
    node.newer = undefined
  }
}

interface Node<K, V> {
  readonly key: K
  value: V
  older: Node<K, V> | undefined
  newer: Node<K, V> | undefined
}
