import { describe, expect, it } from "@effect/vitest"
import { ConfigurationError } from "@mcpgate/auth-core"
import { ClientAddress } from "@mcpgate/http"
import * as FastCheck from "effect/FastCheck"

const behind = (...entries: Array<string>) => ClientAddress.trustedProxies(entries)

describe("ClientAddress.of: the client a failed attempt counts against", () => {
  it("is the socket address for IPv4", () => {
    expect(ClientAddress.of("203.0.113.7", undefined)).toBe("203.0.113.7")
  })

  it("groups IPv6 by /64: one host usually holds a whole /64", () => {
    expect(ClientAddress.of("2001:db8:1:2:aaaa:bbbb:cccc:dddd", undefined)).toBe("2001:db8:1:2::/64")
    expect(ClientAddress.of("2001:db8:1:2::1", undefined)).toBe("2001:db8:1:2::/64")
    expect(ClientAddress.of("::1", undefined)).toBe("0:0:0:0::/64")
  })

  it("reads an IPv4-mapped IPv6 socket address as the IPv4 address", () => {
    expect(ClientAddress.of("::ffff:192.0.2.1", undefined)).toBe("192.0.2.1")
  })

  it("drops an IPv6 zone id", () => {
    expect(ClientAddress.of("fe80::1%eth0", undefined)).toBe("fe80:0:0:0::/64")
  })

  it("is `unknown` when the socket has no address", () => {
    expect(ClientAddress.of(undefined, undefined)).toBe("unknown")
  })

  it("ignores X-Forwarded-For when no proxy is trusted: a client can write anything there", () => {
    expect(ClientAddress.of("203.0.113.7", "198.51.100.1")).toBe("203.0.113.7")
  })

  it("ignores X-Forwarded-For from a socket that is not a trusted proxy", () => {
    expect(ClientAddress.of("203.0.113.7", "198.51.100.1", behind("10.0.0.0/8"))).toBe("203.0.113.7")
  })

  it("behind a trusted proxy, is the rightmost entry that is not a trusted proxy", () => {
    const proxies = behind("10.0.0.0/8")
    // The client forged the first entry; the proxy appended the address it saw.
    expect(ClientAddress.of("10.0.0.2", "6.6.6.6, 198.51.100.1", proxies)).toBe("198.51.100.1")
    expect(ClientAddress.of("10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", proxies)).toBe("198.51.100.1")
    expect(ClientAddress.of("10.0.0.2", ["6.6.6.6", "198.51.100.1, 10.0.0.9"], proxies)).toBe("198.51.100.1")
  })

  it("reads ports and brackets in forwarded entries", () => {
    const proxies = behind("loopback")
    expect(ClientAddress.of("127.0.0.1", "198.51.100.1:4711", proxies)).toBe("198.51.100.1")
    expect(ClientAddress.of("127.0.0.1", "[2001:db8::5]:443", proxies)).toBe("2001:db8:0:0::/64")
    expect(ClientAddress.of("::1", "2001:db8::5", proxies)).toBe("2001:db8:0:0::/64")
  })

  it("stops at an entry that is not an address: the proxy that forwarded it is the client", () => {
    const proxies = behind("10.0.0.0/8")
    expect(ClientAddress.of("10.0.0.2", "198.51.100.1, garbage", proxies)).toBe("10.0.0.2")
    expect(ClientAddress.of("10.0.0.2", "198.51.100.1, garbage, 10.0.0.3", proxies)).toBe("10.0.0.3")
  })

  it("is the proxy itself when there is no X-Forwarded-For", () => {
    expect(ClientAddress.of("10.0.0.2", undefined, behind("10.0.0.0/8"))).toBe("10.0.0.2")
  })

  it("maps every IPv4 address to itself", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.ipV4(), (address) => ClientAddress.of(address, undefined) === address)
    )
  })

  it("maps every address of one /64 to one key", () => {
    FastCheck.assert(
      FastCheck.property(
        FastCheck.array(FastCheck.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
        FastCheck.array(FastCheck.integer({ min: 0, max: 0xffff }), { minLength: 4, maxLength: 4 }),
        (groups, hostPart) => {
          const full = groups.map((g) => g.toString(16)).join(":")
          const sibling = [...groups.slice(0, 4), ...hostPart].map((g) => g.toString(16)).join(":")
          return ClientAddress.of(full, undefined) === ClientAddress.of(sibling, undefined)
        }
      )
    )
  })

  it("never throws, whatever the socket address and forwarded header", () => {
    const proxies = behind("0.0.0.0/0", "::/0")
    FastCheck.assert(
      FastCheck.property(FastCheck.string(), FastCheck.string(), (socket, forwarded) => {
        const key = ClientAddress.of(socket, forwarded, proxies)
        return typeof key === "string" && key.length <= 45
      })
    )
  })
})

describe("ClientAddress.parseAddress", () => {
  it.each([
    ["192.0.2.1", [192, 0, 2, 1]],
    ["0.0.0.0", [0, 0, 0, 0]],
    ["::ffff:10.1.2.3", [10, 1, 2, 3]]
  ])("reads %s", (text, bytes) => {
    expect([...ClientAddress.parseAddress(text)!]).toEqual(bytes)
  })

  it.each(["", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4", "1.2.3.-4", "::1::", "1:2:3:4:5:6:7:8:9", "g::1", "1.2.3.4 "])(
    "refuses %j",
    (text) => {
      expect(ClientAddress.parseAddress(text)).toBeUndefined()
    }
  )
})

describe("ClientAddress.trustedProxies", () => {
  it("takes addresses, CIDR ranges and the names loopback, linklocal, uniquelocal", () => {
    const proxies = behind("192.0.2.1", "10.0.0.0/8", "2001:db8::/32", "loopback", "linklocal", "uniquelocal")
    expect(proxies.ranges.length).toBe(3 + 2 + 2 + 4)
    expect(ClientAddress.of("172.16.5.5", "198.51.100.1", proxies)).toBe("198.51.100.1")
    expect(ClientAddress.of("2001:db8:ffff::1", "198.51.100.1", proxies)).toBe("198.51.100.1")
    expect(ClientAddress.of("2001:db9::1", "198.51.100.1", proxies)).toBe("2001:db9:0:0::/64")
  })

  it.each(["10.0.0.0/33", "::/129", "not-an-ip", "10.0.0.0/", "10.0.0.0/8/8", "*"])("refuses %j, naming it", (entry) => {
    expect(() => behind("127.0.0.1", entry)).toThrow(ConfigurationError.ConfigurationError)
    expect(() => behind("127.0.0.1", entry)).toThrow(`trustProxy (item 2) ${JSON.stringify(entry)} is not an IP address`)
  })
})
