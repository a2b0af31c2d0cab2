import { describe, it } from "@effect/vitest"
import { apiKeys, KEY_ALICE, KEY_BOB } from "../fixtures/credentials.js"
import { apiKey, harness, initializeRaw, inSession, openGet, pingIn, send, POST_HEADERS, INITIALIZE } from "./support.js"

const { serve } = harness()
describe("probe", () => {
  for (const sdk of ["v1", "v2"] as const) {
    it(sdk, async () => {
      const { base, endpoint, server } = await serve(sdk, "http-stream", { auth: { provider: apiKeys() } })
      const show = (label: string, r: any) => console.log(sdk, label, r.statusLine, JSON.stringify(r.headers), JSON.stringify(r.body))
      show("anon post", await send(base, "POST", "/mcp", POST_HEADERS, INITIALIZE))
      show("anon bad json", await send(base, "POST", "/mcp", POST_HEADERS, "{nope"))
      show("unknown path", await send(base, "GET", "/nope"))
      show("health", await send(base, "GET", "/health"))
      show("options", await send(base, "OPTIONS", "/mcp"))
      const id = await initializeRaw(endpoint, apiKey(KEY_ALICE))
      console.log("count", server.sessionCount)
      show("ping", await pingIn(endpoint, id, apiKey(KEY_ALICE)))
      show("bob ping", await pingIn(endpoint, id, apiKey(KEY_BOB)))
      show("unknown", await pingIn(endpoint, "00000000-0000-4000-8000-000000000000", apiKey(KEY_ALICE)))
      show("unknown GET", await send(base, "GET", "/mcp", [["Accept", "text/event-stream"], ...inSession("00000000-0000-4000-8000-000000000000"), ...apiKey(KEY_ALICE)]))
      const g = await openGet(base, "/mcp", [["Accept", "text/event-stream"], ...inSession(id), ...apiKey(KEY_ALICE)])
      console.log("GET", g.response.statusLine, JSON.stringify(g.response.headers))
      show("bob delete", await send(base, "DELETE", "/mcp", [...inSession(id), ...apiKey(KEY_BOB)]))
      show("alice delete", await send(base, "DELETE", "/mcp", [...inSession(id), ...apiKey(KEY_ALICE)]))
      console.log("count", server.sessionCount, g.isEnded())
      show("after delete", await pingIn(endpoint, id, apiKey(KEY_ALICE)))
      show("bad json authed", await send(base, "POST", "/mcp", [...POST_HEADERS, ...apiKey(KEY_ALICE)], "{nope"))
    })
  }
})
