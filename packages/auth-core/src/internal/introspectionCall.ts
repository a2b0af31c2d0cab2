/**
 * One introspection request (RFC 7662 2.1) and what its answer means. The resource server
 * authenticates as an OAuth client (RFC 6749 2.3.1: `client_secret_basic` or
 * `client_secret_post`). Anything but a 200 with a JSON object whose `active` is a boolean
 * (RFC 7662 2.2: it is REQUIRED) is the server's fault, never the token's: the caller answers
 * 503 so that a client does not throw a good token away. Uses the global `fetch`.
 */
import * as Redacted from "effect/Redacted"

/** What an introspection answered. */
export type IntrospectionAnswer =
  | { readonly _tag: "Active"; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly _tag: "Inactive" }
  | { readonly _tag: "Unavailable" }

export interface ClientCredentials {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly method: "client_secret_basic" | "client_secret_post"
}

const inactive: IntrospectionAnswer = { _tag: "Inactive" }
const unavailable: IntrospectionAnswer = { _tag: "Unavailable" }

/** RFC 6749 2.3.1: id and secret are form-urlencoded before they are joined for Basic. */
const formEncoded = (value: string) => new URLSearchParams({ v: value }).toString().slice(2)

/** The Basic credentials of a client, built once and kept redacted. */
const basicOf = (client: ClientCredentials): Redacted.Redacted<string> =>
  Redacted.make(
    `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(
      `${formEncoded(client.clientId)}:${formEncoded(Redacted.value(client.clientSecret))}`
    )))}`
  )

/** Introspects tokens at an endpoint with these client credentials, each call bounded by `timeoutMillis`. */
export const makeIntrospectionCall = (client: ClientCredentials, timeoutMillis: number) => {
  const basic = client.method === "client_secret_basic" ? basicOf(client) : undefined
  return async (endpoint: string, token: string): Promise<IntrospectionAnswer> => {
    const form = new URLSearchParams({ token, token_type_hint: "access_token" })
    if (basic === undefined) {
      form.set("client_id", client.clientId)
      form.set("client_secret", Redacted.value(client.clientSecret))
    }
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "application/json",
          ...(basic === undefined ? {} : { authorization: Redacted.value(basic) })
        },
        body: form.toString(),
        // The token must not follow a redirect to wherever it points.
        redirect: "error",
        signal: AbortSignal.timeout(timeoutMillis)
      })
      if (response.status !== 200) {
        await response.body?.cancel()
        return unavailable
      }
      return answerOf(JSON.parse(await response.text()))
    } catch {
      // unreachable, timed out, redirected, cut off, or not JSON
      return unavailable
    }
  }
}

/** The meaning of a parsed answer body. */
export const answerOf = (body: unknown): IntrospectionAnswer => {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return unavailable
  const claims = body as Record<string, unknown>
  if (claims["active"] === false) return inactive
  return claims["active"] === true ? { _tag: "Active", claims } : unavailable
}
