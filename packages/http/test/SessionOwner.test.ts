/**
 * `SessionOwner` (contract section 7): a session is bound to the first identity, a refresh
 * keeps the latest `exp`, and the owner is lost, once, when the provider no longer vouches
 * for it: after a rotation (`revalidate("revoked")`) or at expiry. Real timers with short
 * waits: expiry times are fractional seconds a few hundred milliseconds away.
 */
import { describe, expect, it } from "@effect/vitest"
import type { AuthProvider } from "@mcpgate/auth-core"
import type { Principal } from "@mcpgate/auth-core/Principal"
import { SessionOwner } from "@mcpgate/http"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** A principal of `subject`, expiring at `expiresAt` seconds (fractional allowed). */
const principal = (subject: string, expiresAt?: number): Principal => ({
  provider: "jwt",
  subject,
  clientId: subject,
  scopes: [],
  identity: `jwt:issuer:${subject}`,
  keyId: "key-1",
  ...(expiresAt === undefined ? {} : { expiresAt })
})

/** Seconds since the epoch, `ms` milliseconds from now. */
const inMs = (ms: number) => (Date.now() + ms) / 1000

/**
 * A hand-written provider whose `stillValid` answers with `verdict(principal)` and counts
 * its calls.
 */
const provider = (verdict: (principal: Principal) => boolean | Promise<boolean> | "fail" | "die") => {
  const asked: Array<Principal> = []
  const service: AuthProvider.Service = {
    kinds: ["jwt"],
    headerNames: ["Authorization"],
    authenticate: () => Effect.die("not used"),
    stillValid: (principal) =>
      Effect.suspend(() => {
        asked.push(principal)
        const answer = verdict(principal)
        if (answer === "fail") return Effect.fail("unreachable") as unknown as Effect.Effect<boolean>
        if (answer === "die") return Effect.die(new Error("boom"))
        return Effect.promise(async () => answer)
      }),
    changes: Stream.empty
  }
  return { service, asked }
}

/** An owner over `service` that records every loss. */
const ownerOf = (service: AuthProvider.Service) => {
  const lost: Array<SessionOwner.LostReason> = []
  const owner = new SessionOwner.SessionOwner(service, (reason) => lost.push(reason))
  return { owner, lost }
}

describe("SessionOwner", () => {
  describe("binding", () => {
    it("admits anyone until bound, then only the identity that bound it", () => {
      const { owner } = ownerOf(provider(() => true).service)
      expect(owner.principal).toBeUndefined()
      expect(owner.admits(principal("alice"))).toBe(true)
      expect(owner.admits(principal("bob"))).toBe(true)

      expect(owner.bind(principal("alice", inMs(60_000)))).toBe(true)
      expect(owner.principal?.subject).toBe("alice")
      expect(owner.admits(principal("alice"))).toBe(true)
      expect(owner.admits(principal("bob"))).toBe(false)
      owner.dispose()
    })

    it("never binds another identity, even one whose credential lasts longer", () => {
      const { owner } = ownerOf(provider(() => true).service)
      owner.bind(principal("alice", inMs(60_000)))
      expect(owner.bind(principal("bob", inMs(600_000)))).toBe(false)
      expect(owner.principal?.subject).toBe("alice")
      owner.dispose()
    })

    it("judges identity by `identity`, not by the other fields", () => {
      const { owner } = ownerOf(provider(() => true).service)
      owner.bind(principal("alice"))
      expect(owner.admits({ ...principal("alice"), clientId: "other-client", scopes: ["x"], keyId: "key-2" })).toBe(true)
      expect(owner.admits({ ...principal("alice"), identity: "jwt:other-issuer:alice" })).toBe(false)
      owner.dispose()
    })

    it("keeps the later exp on a refresh, never an earlier one", () => {
      const { owner } = ownerOf(provider(() => true).service)
      const t = Math.floor(Date.now() / 1000)
      owner.bind(principal("alice", t + 100))
      owner.bind(principal("alice", t + 50))
      expect(owner.principal?.expiresAt).toBe(t + 100)
      owner.bind(principal("alice", t + 100))
      expect(owner.principal?.expiresAt).toBe(t + 100)
      owner.bind(principal("alice", t + 200))
      expect(owner.principal?.expiresAt).toBe(t + 200)
      owner.dispose()
    })

    it("treats a credential without exp as never expiring: it replaces any exp, and no exp replaces it", () => {
      const { owner } = ownerOf(provider(() => true).service)
      const t = Math.floor(Date.now() / 1000)
      owner.bind(principal("alice", t + 100))
      owner.bind(principal("alice"))
      expect(owner.principal?.expiresAt).toBeUndefined()
      owner.bind(principal("alice", t + 10_000))
      expect(owner.principal?.expiresAt).toBeUndefined()
      owner.dispose()
    })

    it("binds nothing once disposed", () => {
      const { owner } = ownerOf(provider(() => true).service)
      owner.dispose()
      owner.bind(principal("alice", inMs(60_000)))
      expect(owner.principal).toBeUndefined()
    })
  })

  describe("revalidate", () => {
    it("calls onLost once with the reason when the provider no longer vouches for the owner", async () => {
      const { asked, service } = provider(() => false)
      const { lost, owner } = ownerOf(service)
      owner.bind(principal("alice", inMs(60_000)))
      await owner.revalidate("revoked")
      expect(lost).toEqual(["revoked"])
      expect(asked.map((p) => p.subject)).toEqual(["alice"])
      // Lost means disposed: no second call, no second question.
      await owner.revalidate("revoked")
      await owner.revalidate("expired")
      expect(lost).toEqual(["revoked"])
      expect(asked).toHaveLength(1)
    })

    it("does nothing while the provider still vouches for the owner", async () => {
      const { asked, service } = provider(() => true)
      const { lost, owner } = ownerOf(service)
      owner.bind(principal("alice", inMs(60_000)))
      await owner.revalidate("revoked")
      await owner.revalidate("revoked")
      expect(lost).toEqual([])
      expect(asked).toHaveLength(2)
      owner.dispose()
    })

    it("counts a provider that fails or dies as not vouching", async () => {
      for (const answer of ["fail", "die"] as const) {
        const { lost, owner } = ownerOf(provider(() => answer).service)
        owner.bind(principal("alice"))
        await owner.revalidate("revoked")
        expect(lost, answer).toEqual(["revoked"])
      }
    })

    it("asks nothing and loses nothing without an owner, or after dispose", async () => {
      const unbound = provider(() => false)
      const first = ownerOf(unbound.service)
      await first.owner.revalidate("revoked")
      expect(first.lost).toEqual([])
      expect(unbound.asked).toEqual([])

      const disposed = provider(() => false)
      const second = ownerOf(disposed.service)
      second.owner.bind(principal("alice"))
      second.owner.dispose()
      await second.owner.revalidate("revoked")
      expect(second.lost).toEqual([])
      expect(disposed.asked).toEqual([])
    })

    it("does not call onLost when disposed while the provider was deciding", async () => {
      let decide: (valid: boolean) => void = () => {}
      const { service } = provider(() => new Promise<boolean>((resolve) => (decide = resolve)))
      const { lost, owner } = ownerOf(service)
      owner.bind(principal("alice"))
      const pending = owner.revalidate("revoked")
      await sleep(10)
      owner.dispose()
      decide(false)
      await pending
      expect(lost).toEqual([])
    })

    it("does not call onLost when a refreshed credential replaced the owner meanwhile", async () => {
      let decide: (valid: boolean) => void = () => {}
      const { asked, service } = provider(() => new Promise<boolean>((resolve) => (decide = resolve)))
      const { lost, owner } = ownerOf(service)
      const t = Math.floor(Date.now() / 1000)
      owner.bind(principal("alice", t + 600))
      const pending = owner.revalidate("revoked")
      await sleep(10)
      // Alice refreshed her token while the old one was being judged.
      owner.bind(principal("alice", t + 1200))
      decide(false)
      await pending
      expect(lost).toEqual([])
      expect(asked[0]?.expiresAt).toBe(t + 600)
      expect(owner.principal?.expiresAt).toBe(t + 1200)
      owner.dispose()
    })
  })

  describe.concurrent("expiry", () => {
    it("fires onLost(\"expired\") shortly after exp once the provider stops vouching", async () => {
      const { asked, service } = provider((p) => Date.now() < p.expiresAt! * 1000)
      const { lost, owner } = ownerOf(service)
      const exp = inMs(150)
      owner.bind(principal("alice", exp))
      await sleep(60)
      expect(asked).toEqual([]) // not before its time
      while (lost.length === 0 && Date.now() < exp * 1000 + 1000) await sleep(5)
      const late = Date.now() - exp * 1000
      expect(lost).toEqual(["expired"])
      expect(late).toBeGreaterThanOrEqual(0)
      expect(late).toBeLessThan(300)
      await sleep(50)
      expect(lost).toEqual(["expired"])
    })

    it("asks again about once a second while the provider still vouches past exp (clock tolerance)", async () => {
      let answers = 0
      const { service } = provider(() => ++answers < 2) // vouches once, then no more
      const { lost, owner } = ownerOf(service)
      const exp = inMs(50)
      owner.bind(principal("alice", exp))
      await sleep(250)
      expect(answers).toBe(1)
      expect(lost).toEqual([])
      while (lost.length === 0 && Date.now() < exp * 1000 + 2500) await sleep(20)
      expect(lost).toEqual(["expired"])
      const sinceExp = Date.now() - exp * 1000
      expect(sinceExp).toBeGreaterThanOrEqual(900)
      expect(sinceExp).toBeLessThan(1600)
      expect(answers).toBe(2)
    })

    it("a refresh before exp moves the deadline", async () => {
      const { asked, service } = provider((p) => Date.now() < p.expiresAt! * 1000)
      const { lost, owner } = ownerOf(service)
      owner.bind(principal("alice", inMs(100)))
      const later = inMs(350)
      owner.bind(principal("alice", later))
      await sleep(200)
      expect(asked).toEqual([])
      expect(lost).toEqual([])
      while (lost.length === 0 && Date.now() < later * 1000 + 1000) await sleep(5)
      expect(lost).toEqual(["expired"])
      expect(Date.now()).toBeGreaterThanOrEqual(later * 1000)
    })

    it("dispose clears the timer: nothing is asked, nothing lost", async () => {
      const { asked, service } = provider(() => false)
      const { lost, owner } = ownerOf(service)
      owner.bind(principal("alice", inMs(50)))
      owner.dispose()
      await sleep(200)
      expect(asked).toEqual([])
      expect(lost).toEqual([])
    })

    it("dispose also stops the polling past exp", async () => {
      const { asked, service } = provider(() => true)
      const { lost, owner } = ownerOf(service)
      owner.bind(principal("alice", inMs(20)))
      while (asked.length === 0) await sleep(5)
      owner.dispose()
      await sleep(1200)
      expect(asked).toHaveLength(1)
      expect(lost).toEqual([])
    })

    it("sets no timer for a credential without exp, nor fires at once for one beyond setTimeout's range", async () => {
      const { asked, service } = provider(() => false)
      const none = ownerOf(service)
      none.owner.bind(principal("alice"))
      const far = ownerOf(service)
      far.owner.bind(principal("bob", inMs(40 * 24 * 3600 * 1000))) // 40 days: more than 2^31 - 1 ms
      await sleep(100)
      expect(asked).toEqual([])
      expect(none.lost).toEqual([])
      expect(far.lost).toEqual([])
      none.owner.dispose()
      far.owner.dispose()
    })

    it("an exp already past is judged at once", async () => {
      const { asked, service } = provider(() => false)
      const { lost, owner } = ownerOf(service)
      owner.bind(principal("alice", inMs(-5000)))
      while (lost.length === 0 && asked.length < 5) await sleep(5)
      expect(lost).toEqual(["expired"])
    })
  })
})
