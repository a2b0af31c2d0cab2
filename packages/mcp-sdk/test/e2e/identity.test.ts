/**
 * Contract section 5, end to end: a real MCP client of either SDK line, over either
 * transport, calls a tool on a server of either line, and the tool learns who called from
 * the SDK's own `authInfo`, without ever seeing the credential (unless the server opts in).
 */
import { describe, expect, it } from "@effect/vitest"
import { decodeJwt } from "jose"
import { apiKeys, headersFor, jwts, KEY_ALICE, KEY_BOB, tokenFor } from "../fixtures/credentials.js"
import type { Credential } from "../fixtures/credentials.js"
import type { Sdk, Transport } from "../fixtures/mcp.js"
import { SDK_PAIRS } from "../fixtures/mcp.js"
import { inScope } from "@mcpgate/testing/scoped"
import { serve, connectAs } from "./support.js"

const TRANSPORTS: ReadonlyArray<Transport> = ["sse", "http-stream"]

/** A provider, Alice's credential for it, and what a tool must learn of her. */
interface Case {
  readonly name: string
  readonly provider: () => ReturnType<typeof apiKeys> | ReturnType<typeof jwts>
  readonly header: "x-api-key" | "authorization"
  readonly alice: () => Promise<{ readonly credential: Credential; readonly raw: string; readonly caller: Record<string, unknown> }>
}

const CASES: ReadonlyArray<Case> = [
  {
    name: "API key in X-API-Key",
    provider: apiKeys,
    header: "x-api-key",
    alice: async () => ({
      credential: { apiKey: KEY_ALICE },
      raw: KEY_ALICE,
      caller: {
        provider: "api-key",
        subject: "alice",
        clientId: "alice",
        identity: expect.stringMatching(/^api-key:[0-9a-f]{16}$/),
        scopes: ["tools:read"],
        keyLabel: "alice"
      }
    })
  },
  {
    name: "JWT as a Bearer token",
    provider: jwts,
    header: "authorization",
    alice: async () => {
      const token = await tokenFor("alice")
      const claims = decodeJwt(token)
      expect(Object.keys(claims).sort()).toEqual(["exp", "iat", "scope", "sub"])
      return {
        credential: { token },
        raw: token,
        caller: {
          provider: "jwt",
          subject: "alice",
          clientId: "alice",
          identity: expect.any(String),
          scopes: ["tools:read"],
          expiresAt: claims.exp,
          claims
        }
      }
    }
  }
]

const serveWhoami = (sdk: Sdk, transport: Transport, provider: Case["provider"], extra: Record<string, unknown> = {}) =>
  serve(sdk, transport, { auth: { provider: provider() }, ...extra })

describe("a tool learns its caller from authInfo, and never sees the credential", () => {
  for (const { client, server } of SDK_PAIRS) {
    for (const transport of TRANSPORTS) {
      for (const { alice, header, name, provider } of CASES) {
        it.scopedLive(`server ${server}, client ${client}, ${transport}, ${name}`, () => inScope(async (use) => {
          const { caller, credential, raw } = await alice()
          const { endpoint, seen } = await use(serveWhoami(server, transport, provider))
          const mcp = await use(connectAs(client, transport, endpoint, headersFor(credential)))

          expect(await mcp.toolNames()).toEqual(["whoami"])
          const answered = await mcp.whoami()

          expect(seen).toHaveLength(1)
          const [saw] = seen
          expect(saw!.caller).toEqual(caller)
          // The tool's answer went back to the client intact.
          expect(answered).toEqual(saw!.caller)
          expect(saw!.authInfo?.["token"]).toBe("")
          expect(saw!.authInfo?.["clientId"]).toBe("alice")
          expect(saw!.authInfo?.["scopes"]).toEqual(["tools:read"])
          expect((saw!.authInfo?.["extra"] as Record<string, unknown> | undefined)?.["provider"]).toBe(caller["provider"])
          // The tool could read the request's headers, but not the one with the credential.
          expect(saw!.headers["host"]).toBe(endpoint.host)
          expect(saw!.headers).not.toHaveProperty(header)
          expect(JSON.stringify(saw!.headers)).not.toContain(raw)
        }))
      }
    }
  }

  it.scopedLive("two calls of one client are one caller; another key is another caller", () => inScope(async (use) => {
    const { endpoint, seen } = await use(serveWhoami("v2", "http-stream", apiKeys))
    const alice = await use(connectAs("v2", "http-stream", endpoint, headersFor({ apiKey: KEY_ALICE })))
    const bob = await use(connectAs("v1", "http-stream", endpoint, headersFor({ apiKey: KEY_BOB })))
    await alice.whoami()
    await bob.whoami()
    await alice.whoami()
    expect(seen.map(({ caller }) => caller?.clientId)).toEqual(["alice", "bob", "alice"])
    expect(seen[0]!.caller?.identity).toBe(seen[2]!.caller?.identity)
    expect(seen[1]!.caller?.identity).not.toBe(seen[0]!.caller?.identity)
    expect(seen[1]!.caller).not.toHaveProperty("scopes", ["tools:read"])
  }))
})

describe("exposeToken: true", () => {
  for (const sdk of ["v1", "v2"] as const) {
    for (const transport of TRANSPORTS) {
      for (const { alice, header, name, provider } of CASES) {
        it.scopedLive(`server and client ${sdk}, ${transport}, ${name}: authInfo.token is the raw credential and the header is visible`, () => inScope(async (use) => {
          const { credential, raw } = await alice()
          const { endpoint, seen } = await use(serveWhoami(sdk, transport, provider, { exposeToken: true }))
          const mcp = await use(connectAs(sdk, transport, endpoint, headersFor(credential)))

          await mcp.whoami()
          expect(seen).toHaveLength(1)
          // The bare key or token: no "Bearer " in front.
          expect(seen[0]!.authInfo?.["token"]).toBe(raw)
          expect(seen[0]!.headers[header]).toBe(header === "authorization" ? `Bearer ${raw}` : raw)
        }))
      }
    }
  }
})

describe(`resource: "https://mcp.example.com/mcp"`, () => {
  const RESOURCE = "https://mcp.example.com/mcp"

  for (const sdk of ["v1", "v2"] as const) {
    for (const transport of ["http-stream", "sse"] as const) {
      it.scopedLive(`server ${sdk}, ${transport}: the tool's authInfo.resource is that URL`, () => inScope(async (use) => {
        const { endpoint, seen } = await use(serveWhoami(sdk, transport, apiKeys, { resource: RESOURCE }))
        const mcp = await use(connectAs(sdk, transport, endpoint, headersFor({ apiKey: KEY_ALICE })))

        await mcp.whoami()
        const resource = seen[0]!.authInfo?.["resource"]
        expect(resource).toBeInstanceOf(URL)
        expect((resource as URL).href).toBe(RESOURCE)
      }))
    }
  }
})
