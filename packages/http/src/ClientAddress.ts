/**
 * Who is knocking, for the failed-attempt budget (docs/behaviour.md#order-of-checks, step 4): the socket
 * address, an IPv6 address grouped by its /64 (one host usually holds a whole /64, so
 * counting single addresses would give it 2^64 budgets), or, behind trusted proxies, the
 * rightmost `X-Forwarded-For` entry that is not one of them.
 *
 * Only the rightmost entries can be trusted: each proxy appends the address it saw, and
 * everything to their left was written by the client.
 *
 * @example
 * ```ts
 * import { ClientAddress } from "@mcpgate/http"
 *
 * const proxies = ClientAddress.trustedProxies(["10.0.0.0/8", "loopback"])
 * const client = ClientAddress.of(req.socket.remoteAddress, req.headers["x-forwarded-for"], proxies)
 * ```
 *
 * @since 0.1.0
 */
import { ConfigurationError } from "@mcpgate/auth-core/ConfigurationError"

/**
 * A parsed list of trusted proxies: addresses and CIDR ranges.
 *
 * @since 0.1.0
 */
export interface TrustedProxies {
  readonly ranges: ReadonlyArray<Range>
}

interface Range {
  readonly bytes: Uint8Array
  readonly prefix: number
}

/**
 * No proxy is trusted: the client is the socket address, whatever `X-Forwarded-For` says.
 *
 * @since 0.1.0
 */
export const noProxies: TrustedProxies = { ranges: [] }

// Names for the ranges a deployment usually means, as Express spells them.
const NAMED: Readonly<Record<string, ReadonlyArray<string>>> = {
  loopback: ["127.0.0.0/8", "::1/128"],
  linklocal: ["169.254.0.0/16", "fe80::/10"],
  uniquelocal: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
}

/**
 * Parses trusted proxies: IP addresses, CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`) and the
 * names `loopback`, `linklocal` and `uniquelocal`. Throws `ConfigurationError` naming the
 * first entry that is none of these.
 *
 * @since 0.1.0
 */
export const trustedProxies = (entries: ReadonlyArray<string>): TrustedProxies => {
  const ranges: Array<Range> = []
  entries.forEach((entry, index) => {
    const named = NAMED[entry]
    for (const text of named ?? [entry]) {
      const range = parseRange(text)
      if (range === undefined) {
        throw new ConfigurationError({
          message: `trustProxy (item ${index + 1}) ${JSON.stringify(entry)} is not an IP address, a CIDR range ` +
            `or one of loopback, linklocal, uniquelocal`
        })
      }
      ranges.push(range)
    }
  })
  return { ranges }
}

const parseRange = (text: string): Range | undefined => {
  const slash = text.indexOf("/")
  const bytes = parseAddress(slash === -1 ? text : text.slice(0, slash))
  if (bytes === undefined) return undefined
  if (slash === -1) return { bytes, prefix: bytes.length * 8 }
  const prefixText = text.slice(slash + 1)
  if (!/^\d{1,3}$/.test(prefixText)) return undefined
  const prefix = Number(prefixText)
  return prefix <= bytes.length * 8 ? { bytes, prefix } : undefined
}

const inRange = (address: Uint8Array, range: Range): boolean => {
  if (address.length !== range.bytes.length) return false
  let bits = range.prefix
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if ((address[i]! & mask) !== (range.bytes[i]! & mask)) return false
  }
  return true
}

const isTrusted = (address: Uint8Array, proxies: TrustedProxies): boolean =>
  proxies.ranges.some((range) => inRange(address, range))

/**
 * The client a request counts against. `forwardedFor` is the `X-Forwarded-For` header as
 * Node gives it (lines joined with ", ", or an array); it is read only when the socket
 * address is a trusted proxy. Walking from the right, the first entry that is not a
 * trusted proxy is the client; an entry that is not an address stops the walk, and the
 * proxy that forwarded it counts as the client (it vouched for nothing better).
 *
 * The result is a printable key: a normalized IPv4 address, an IPv6 `/64` prefix such as
 * `2001:db8:0:1::/64`, or `unknown` when the socket has no address (already closed).
 *
 * @since 0.1.0
 */
export const of = (
  remoteAddress: string | undefined,
  forwardedFor: string | ReadonlyArray<string> | undefined,
  proxies: TrustedProxies = noProxies
): string => {
  const socket = remoteAddress === undefined ? undefined : parseAddress(stripZone(remoteAddress))
  if (socket === undefined) return "unknown"
  let client = socket
  if (proxies.ranges.length > 0 && isTrusted(socket, proxies) && forwardedFor !== undefined) {
    const entries = (typeof forwardedFor === "string" ? [forwardedFor] : forwardedFor)
      .flatMap((line) => line.split(","))
    for (let i = entries.length - 1; i >= 0; i--) {
      const hop = parseAddress(stripPort(entries[i]!.trim()))
      if (hop === undefined) break
      client = hop
      if (!isTrusted(hop, proxies)) break
    }
  }
  return keyOf(client)
}

/**
 * The budget key of one address: IPv4 as dotted quad, IPv6 as its /64 prefix; an
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) is the IPv4 address it maps.
 *
 * @since 0.1.0
 */
export const keyOf = (address: Uint8Array): string => {
  if (address.length === 4) return address.join(".")
  const groups: Array<string> = []
  for (let i = 0; i < 8; i += 2) groups.push(((address[i]! << 8) | address[i + 1]!).toString(16))
  return `${groups.join(":")}::/64`
}

const stripZone = (address: string): string => {
  const percent = address.indexOf("%")
  return percent === -1 ? address : address.slice(0, percent)
}

/** `[2001:db8::1]:443` → `2001:db8::1`; `192.0.2.1:8080` → `192.0.2.1`. */
const stripPort = (entry: string): string => {
  if (entry.startsWith("[")) {
    const close = entry.indexOf("]")
    return close === -1 ? entry : entry.slice(1, close)
  }
  const colon = entry.indexOf(":")
  return colon !== -1 && colon === entry.lastIndexOf(":") ? entry.slice(0, colon) : stripZone(entry)
}

/**
 * An address as bytes: 4 for IPv4 (and IPv4-mapped IPv6), 16 for IPv6; undefined for
 * anything else. Strict: no leading zeros in IPv4 octets, no more than 45 characters.
 *
 * @since 0.1.0
 */
export const parseAddress = (text: string): Uint8Array | undefined => {
  if (text.length === 0 || text.length > 45) return undefined
  if (text.includes(":")) {
    const bytes = parseIPv6(text)
    if (bytes === undefined) return undefined
    return isMappedIPv4(bytes) ? bytes.slice(12) : bytes
  }
  return parseIPv4(text)
}

const IPV4_OCTET = /^(?:0|[1-9]\d{0,2})$/

const parseIPv4 = (text: string): Uint8Array | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    if (!IPV4_OCTET.test(parts[i]!)) return undefined
    const value = Number(parts[i])
    if (value > 255) return undefined
    bytes[i] = value
  }
  return bytes
}

const HEXTET = /^[0-9a-fA-F]{1,4}$/

const parseIPv6 = (text: string): Uint8Array | undefined => {
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const groupsOf = (half: string): Array<number> | undefined => {
    if (half === "") return []
    const parts = half.split(":")
    const groups: Array<number> = []
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!
      if (i === parts.length - 1 && part.includes(".")) {
        // An embedded IPv4 address fills the last two groups.
        const v4 = parseIPv4(part)
        if (v4 === undefined) return undefined
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!)
      } else if (HEXTET.test(part)) {
        groups.push(parseInt(part, 16))
      } else {
        return undefined
      }
    }
    return groups
  }
  const head = groupsOf(halves[0]!)
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  const missing = 8 - head.length - tail.length
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail]
  const bytes = new Uint8Array(16)
  groups.forEach((group, i) => {
    bytes[2 * i] = group >> 8
    bytes[2 * i + 1] = group & 0xff
  })
  return bytes
}

const isMappedIPv4 = (bytes: Uint8Array): boolean =>
  bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
