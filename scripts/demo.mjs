// The demo until the MCP server exists: authenticates a few sample requests with both
// providers and prints the exact answers a client would get.
import { randomBytes } from "node:crypto"
import { SignJWT } from "jose"
import { APIKeyAuthProvider, JWTAuthProvider } from "@mcpgate/auth-core"

const apiKey = randomBytes(32).toString("base64url")
const secret = randomBytes(32).toString("base64url")
const keys = new APIKeyAuthProvider({ keys: [{ key: apiKey, label: "demo-client", scopes: ["tools:call"] }] })
const jwt = new JWTAuthProvider({ secret, issuer: "https://issuer.example" })

const sign = (claims, expiresIn) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer("https://issuer.example")
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret))

const show = async (title, provider, headers) => {
  const result = await provider.authenticate(headers)
  console.log(`\n# ${title}`)
  if (result.ok) {
    const { subject, clientId, scopes, provider: kind, expiresAt } = result.principal
    console.log(`authenticated: ${JSON.stringify({ provider: kind, subject, clientId, scopes, expiresAt })}`)
  } else {
    console.log(`HTTP ${result.status}  (reason: ${result.reason})`)
    for (const [name, value] of Object.entries(result.headers)) console.log(`${name}: ${value}`)
    console.log(result.body)
  }
}

console.log("mcpgate demo: the answers of @mcpgate/auth-core for sample requests")
await show("API key: the configured key", keys, { "x-api-key": apiKey })
await show("API key: header name in another casing", keys, { "X-Api-KEY": apiKey })
await show("API key: no key", keys, {})
await show("API key: a wrong key", keys, { "x-api-key": "not-the-key-at-all-0123456789" })
await show("API key: two header lines", keys, { "x-api-key": [apiKey, apiKey] })
await show("JWT: a valid token", jwt, { authorization: `Bearer ${await sign({ sub: "alice", scope: "tools:call" }, "1h")}` })
await show("JWT: lower-case scheme", jwt, { authorization: `bearer ${await sign({ sub: "alice" }, "1h")}` })
await show("JWT: no token", jwt, {})
await show("JWT: Basic credentials", jwt, { authorization: "Basic YWxpY2U6cGFzc3dvcmQ=" })
await show("JWT: an expired token", jwt, { authorization: `Bearer ${await sign({ sub: "alice" }, "-5 minutes")}` })
await show("JWT: junk after the token", jwt, { authorization: `Bearer ${await sign({ sub: "alice" }, "1h")} junk` })
const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url")
const unsigned = `${part({ alg: "none" })}.${part({ sub: "alice", exp: Math.floor(Date.now() / 1000) + 3600 })}.${randomBytes(32).toString("base64url")}`
await show("JWT: alg none", jwt, { authorization: `Bearer ${unsigned}` })

await keys.dispose()
await jwt.dispose()
