/**
 * Authorization server metadata, found from the issuer alone: RFC 8414's document (the
 * well-known segment inserted before the issuer's path, section 3.1), else OpenID Connect
 * Discovery's (appended to the issuer, section 4). A document is used only when its `issuer`
 * is exactly the configured one (RFC 8414 3.3), and kept for `maxAgeMillis`; past that it is
 * fetched again in the background, and while the server cannot be reached the last good
 * document is still used.
 * Concurrent look-ups share one fetch. Uses the global `fetch`, so it runs on any runtime.
 */

/** The members of a metadata document that mcpgate reads. */
export interface Metadata {
  readonly issuer: string
  readonly jwks_uri?: string | undefined
  readonly introspection_endpoint?: string | undefined
  readonly [member: string]: unknown
}

export interface DiscoverySettings {
  readonly issuer: string
  readonly timeoutMillis: number
  readonly maxAgeMillis: number
}

export interface MetadataSource {
  readonly issuer: string
  /** The document in force, fetched when missing or stale; undefined when it cannot be had. */
  readonly metadata: (nowMillis: number) => Promise<Metadata | undefined>
  /** The document in force without waiting (a stale one starts its refresh); undefined before the first. */
  readonly known: (nowMillis: number) => Metadata | undefined
}

/** The two places a document is looked for, in the order they are tried. */
export const metadataUrls = (issuer: string): { readonly oauth: string; readonly openid: string } => {
  const url = new URL(issuer)
  // RFC 8414 3.1: "/.well-known/oauth-authorization-server" goes between host and path; a
  // path of "/" alone is no path.
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/$/, "")
  return {
    oauth: `${url.origin}/.well-known/oauth-authorization-server${path}`,
    // OpenID Connect Discovery 4: appended to the issuer, its trailing "/" removed.
    openid: `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`
  }
}

/** Whether a configured issuer can be looked up: an http(s) URL without query or fragment (RFC 8414 2). */
export const isIssuerIdentifier = (issuer: string): boolean => {
  try {
    const url = new URL(issuer)
    return (url.protocol === "https:" || url.protocol === "http:") && url.search === "" && url.hash === "" &&
      !issuer.includes("?") && !issuer.includes("#")
  } catch {
    return false
  }
}

const isHttpUrl = (value: unknown): value is string => {
  if (typeof value !== "string") return false
  try {
    const url = new URL(value)
    return url.protocol === "https:" || url.protocol === "http:"
  } catch {
    return false
  }
}

/** The document at one URL when it is usable for this issuer, else undefined. */
const fetchDocument = async (url: string, issuer: string, timeoutMillis: number): Promise<Metadata | undefined> => {
  try {
    const response = await fetch(url, {
      headers: { accept: "application/json" },
      // A redirect could lead anywhere: the document is where the RFC puts it, or nowhere.
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMillis)
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      return undefined
    }
    const document: unknown = JSON.parse(await response.text())
    if (typeof document !== "object" || document === null || Array.isArray(document)) return undefined
    const members = document as Record<string, unknown>
    // RFC 8414 3.3: a document naming another issuer "MUST NOT be used".
    if (members["issuer"] !== issuer) return undefined
    for (const member of ["jwks_uri", "introspection_endpoint"]) {
      if (members[member] !== undefined && !isHttpUrl(members[member])) return undefined
    }
    return members as Metadata
  } catch {
    // unreachable, timed out, redirected, or not JSON
    return undefined
  }
}

export const make = (settings: DiscoverySettings): MetadataSource => {
  const urls = metadataUrls(settings.issuer)
  let known: { readonly metadata: Metadata; readonly fetchedAt: number } | undefined
  let inFlight: Promise<Metadata | undefined> | undefined

  const lookUp = async (): Promise<Metadata | undefined> =>
    (await fetchDocument(urls.oauth, settings.issuer, settings.timeoutMillis)) ??
      (await fetchDocument(urls.openid, settings.issuer, settings.timeoutMillis))

  const refresh = (nowMillis: number): Promise<Metadata | undefined> => {
    inFlight ??= lookUp().then((found) => {
      inFlight = undefined
      if (found !== undefined) known = { metadata: found, fetchedAt: nowMillis }
      // A server that is down keeps its last document, tried again after another max age.
      else if (known !== undefined) known = { metadata: known.metadata, fetchedAt: nowMillis }
      return known?.metadata
    })
    return inFlight
  }

  const knownAt = (nowMillis: number): Metadata | undefined => {
    // A stale document still serves while its successor is fetched: no request waits for it.
    if (known !== undefined && nowMillis - known.fetchedAt >= settings.maxAgeMillis) void refresh(nowMillis)
    return known?.metadata
  }

  return {
    issuer: settings.issuer,
    metadata: (nowMillis) => {
      const found = knownAt(nowMillis)
      return found === undefined ? refresh(nowMillis) : Promise.resolve(found)
    },
    known: knownAt
  }
}
