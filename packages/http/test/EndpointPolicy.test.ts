import { describe, expect, it } from "@effect/vitest"
import { EndpointPolicy } from "@mcpgate/http"
import * as Either from "effect/Either"

describe("EndpointPolicy", () => {
  it("defaults to the reference's: the SSE stream open, the message POSTs guarded", () => {
    expect(EndpointPolicy.defaults).toEqual({ sse: false, messages: true })
    expect(EndpointPolicy.requiresAuth(EndpointPolicy.defaults, "sse")).toBe(false)
    expect(EndpointPolicy.requiresAuth(EndpointPolicy.defaults, "messages")).toBe(true)
  })

  it("takes each flag on and off", () => {
    for (const sse of [true, false]) {
      for (const messages of [true, false]) {
        const policy = EndpointPolicy.unsafeMake({ sse, messages })
        expect(EndpointPolicy.requiresAuth(policy, "sse")).toBe(sse)
        expect(EndpointPolicy.requiresAuth(policy, "messages")).toBe(messages)
      }
    }
  })

  it("always authenticates Streamable HTTP, whatever the flags", () => {
    const open = EndpointPolicy.unsafeMake({ sse: false, messages: false })
    expect(EndpointPolicy.requiresAuth(open, "streamable-http")).toBe(true)
  })

  it("refuses a misspelled flag rather than leaving an endpoint open", () => {
    const decoded = EndpointPolicy.decode({ mesages: false })
    expect(Either.isLeft(decoded)).toBe(true)
    expect(() => EndpointPolicy.unsafeMake({ mesages: false } as never)).toThrow(/mesages/)
    expect(() => EndpointPolicy.unsafeMake({ sse: "yes" } as never)).toThrow(/sse/)
  })
})
