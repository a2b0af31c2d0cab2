/**
 * The URL a proof's `htu` is compared with (RFC 9449 4.3, step 9): the request's URI without
 * its query and fragment, both sides normalized as RFC 3986 6.2.2 (syntax: case of the scheme,
 * host and percent-encodings, unreserved characters decoded, dot segments) and 6.2.3 (scheme:
 * the default port and an empty path) describe, so that spellings of one URL compare equal.
 */

const UNRESERVED = /[A-Za-z0-9\-._~]/

/** Percent-encodings with upper-case hex digits, and those of unreserved characters decoded (RFC 3986 6.2.2.1, 6.2.2.2). */
const normalizeEncodings = (path: string): string =>
  path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const character = String.fromCharCode(parseInt(hex, 16))
    return UNRESERVED.test(character) ? character : `%${hex.toUpperCase()}`
  })

/**
 * The normalized `scheme://authority/path` of an http(s) URL, or undefined for anything else:
 * another scheme, no host, user information (no client puts credentials in `htu`). The WHATWG
 * parser lower-cases scheme and host, drops the default port, resolves dot segments and gives
 * an empty path as `/`; the encodings are normalized here.
 */
export const comparableUrl = (url: string): string | undefined => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.host === "") return undefined
  if (parsed.username !== "" || parsed.password !== "") return undefined
  return `${parsed.protocol}//${parsed.host}${normalizeEncodings(parsed.pathname)}`
}

/**
 * The URL a server compares `htu` with: the request's path under `origin` when one is
 * configured (the protected resource's, which proxies cannot change), else the request's own
 * absolute URL. Undefined when the request's URL cannot be read.
 */
export const requestUrl = (url: string, origin: string | undefined): string | undefined => {
  if (origin === undefined) return comparableUrl(url)
  let path: string
  try {
    path = new URL(url).pathname
  } catch {
    return undefined
  }
  return comparableUrl(`${origin}${path}`)
}
