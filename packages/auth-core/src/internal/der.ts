/**
 * The little DER the web path needs to know a public key synchronously, as `node:crypto`'s
 * `createPublicKey` does: the kind of key an SPKI holds (its algorithm, curve, RSA modulus
 * length), the SPKI inside an X.509 certificate (RFC 5280 4.1), and the SPKI of a public JWK
 * (RFC 5480, RFC 8017 A.1.1, RFC 8410), byte for byte what `KeyObject.export({ type: "spki" })`
 * writes, so that a key's id is the same digest on both paths. Anything that does not parse
 * throws an `Error` whose message says why; the key itself is checked by Web Crypto at import.
 */
import { fromBase64, toBase64, toHex } from "./platform.js"

/** What a key is, in `node:crypto`'s names (`asymmetricKeyType`, `namedCurve`, `modulusLength`). */
export interface KeyShape {
  readonly type: string
  readonly namedCurve?: string | undefined
  readonly modulusLength?: number | undefined
}

interface Element {
  readonly tag: number
  readonly start: number
  readonly end: number
}

const read = (der: Uint8Array, at: number, limit = der.length): Element => {
  if (at + 2 > limit) throw new Error("truncated DER")
  const tag = der[at]!
  let length = der[at + 1]!
  let start = at + 2
  if (length & 0x80) {
    const octets = length & 0x7f
    if (octets === 0 || octets > 4 || start + octets > limit) throw new Error("bad DER length")
    length = 0
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!
    start += octets
  }
  if (start + length > limit) throw new Error("truncated DER")
  return { tag, start, end: start + length }
}

const expect = (element: Element, tag: number, what: string): Element => {
  if (element.tag !== tag) throw new Error(`expected ${what}`)
  return element
}

const ALGORITHMS: Readonly<Record<string, string>> = {
  "2a864886f70d010101": "rsa",
  "2a864886f70d01010a": "rsa-pss",
  "2a8648ce3d0201": "ec",
  "2b6570": "ed25519",
  "2b6571": "ed448",
  "2b656e": "x25519",
  "2b656f": "x448",
  "2a8648ce380401": "dsa",
  "2a864886f70d010301": "dh"
}

const CURVES: Readonly<Record<string, string>> = {
  "2a8648ce3d030107": "prime256v1",
  "2b81040022": "secp384r1",
  "2b81040023": "secp521r1",
  "2b8104000a": "secp256k1"
}

const bitLength = (integer: Uint8Array): number => {
  let at = 0
  while (at < integer.length - 1 && integer[at] === 0) at++
  return (integer.length - at - 1) * 8 + (32 - Math.clz32(integer[at]!))
}

/** The kind of key a DER SubjectPublicKeyInfo holds (RFC 5280 4.1.2.7). */
export const spkiShape = (der: Uint8Array): KeyShape => {
  const outer = expect(read(der, 0), 0x30, "a SEQUENCE")
  if (outer.end !== der.length) throw new Error("trailing bytes after the key")
  const algorithm = expect(read(der, outer.start, outer.end), 0x30, "an AlgorithmIdentifier")
  const oid = expect(read(der, algorithm.start, algorithm.end), 0x06, "an OID")
  const key = expect(read(der, algorithm.end, outer.end), 0x03, "a BIT STRING")
  const type = ALGORITHMS[toHex(der.subarray(oid.start, oid.end))]
  if (type === undefined) throw new Error("unsupported key algorithm")
  if (type === "ec") {
    const curve = expect(read(der, oid.end, algorithm.end), 0x06, "a named curve")
    return { type, namedCurve: CURVES[toHex(der.subarray(curve.start, curve.end))] ?? "unknown" }
  }
  if (type === "rsa" || type === "rsa-pss") {
    const rsa = expect(read(der, key.start + 1, key.end), 0x30, "an RSAPublicKey")
    const modulus = expect(read(der, rsa.start, rsa.end), 0x02, "a modulus")
    return { type, modulusLength: bitLength(der.subarray(modulus.start, modulus.end)) }
  }
  return { type }
}

/** The DER SubjectPublicKeyInfo of a DER X.509 certificate (RFC 5280 4.1). */
export const spkiOfCertificate = (der: Uint8Array): Uint8Array => {
  const certificate = expect(read(der, 0), 0x30, "a certificate")
  const tbs = expect(read(der, certificate.start, certificate.end), 0x30, "a TBSCertificate")
  let at = tbs.start
  // version [0] EXPLICIT is optional; then serial, signature, issuer, validity, subject.
  if (read(der, at, tbs.end).tag === 0xa0) at = read(der, at, tbs.end).end
  for (let skip = 0; skip < 5; skip++) at = read(der, at, tbs.end).end
  const spki = expect(read(der, at, tbs.end), 0x30, "a SubjectPublicKeyInfo")
  return der.slice(at, spki.end)
}

/** The DER body of a PEM block of the given label, or undefined when there is none. */
export const pemBody = (pem: string, label: string): Uint8Array | undefined => {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`).exec(pem)
  return match === null ? undefined : fromBase64(match[1]!.replace(/\s+/g, ""))
}

/** A PEM SPKI block of DER bytes, as jose's `importSPKI` reads it. */
export const spkiPem = (der: Uint8Array): string => {
  let body = ""
  const base64 = toBase64(der)
  for (let i = 0; i < base64.length; i += 64) body += base64.slice(i, i + 64) + "\n"
  return `-----BEGIN PUBLIC KEY-----\n${body}-----END PUBLIC KEY-----\n`
}

const concat = (...parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const all = new Uint8Array(parts.reduce((length, part) => length + part.length, 0))
  let at = 0
  for (const part of parts) {
    all.set(part, at)
    at += part.length
  }
  return all
}

const tlv = (tag: number, content: Uint8Array): Uint8Array => {
  const length = content.length
  const header = length < 0x80
    ? [tag, length]
    : length < 0x100
    ? [tag, 0x81, length]
    : length < 0x10000
    ? [tag, 0x82, length >> 8, length & 0xff]
    : [tag, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff]
  return concat(Uint8Array.from(header), content)
}

/** A DER INTEGER of an unsigned big-endian number: minimal, with a zero octet before a high bit. */
const unsigned = (bytes: Uint8Array): Uint8Array => {
  let at = 0
  while (at < bytes.length - 1 && bytes[at] === 0) at++
  const minimal = bytes.subarray(at)
  return tlv(0x02, minimal[0]! & 0x80 ? concat(Uint8Array.of(0), minimal) : minimal)
}

const hex = (text: string) => Uint8Array.from(text.match(/../g)!.map((byte) => parseInt(byte, 16)))

const ALGORITHM_IDS: Readonly<Record<string, Uint8Array>> = {
  RSA: hex("300d06092a864886f70d0101010500"),
  "P-256": hex("301306072a8648ce3d020106082a8648ce3d030107"),
  "P-384": hex("301006072a8648ce3d020106052b81040022"),
  "P-521": hex("301006072a8648ce3d020106052b81040023"),
  secp256k1: hex("301006072a8648ce3d020106052b8104000a"),
  Ed25519: hex("300506032b6570"),
  Ed448: hex("300506032b6571"),
  X25519: hex("300506032b656e"),
  X448: hex("300506032b656f")
}

/** The byte length of a coordinate of each curve, as a JWK must give it (RFC 7518 6.2.1.2). */
const COORDINATE_BYTES: Readonly<Record<string, number>> = {
  "P-256": 32, "P-384": 48, "P-521": 66, secp256k1: 32, Ed25519: 32, Ed448: 57, X25519: 32, X448: 56
}

const member = (jwk: Readonly<Record<string, unknown>>, name: string, bytes?: number): Uint8Array => {
  const value = jwk[name]
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]+$/.test(value) || value.length % 4 === 1) {
    throw new Error(`"${name}" is missing or not base64url`)
  }
  const decoded = fromBase64(value)
  if (bytes !== undefined && decoded.length !== bytes) throw new Error(`"${name}" is not ${bytes} bytes long`)
  return decoded
}

/** The DER SPKI of a public JWK (RSA, EC or OKP), and what kind of key it is. */
export const spkiOfJwk = (jwk: Readonly<Record<string, unknown>>): { readonly der: Uint8Array; readonly shape: KeyShape } => {
  const kty = jwk["kty"]
  const crv = typeof jwk["crv"] === "string" ? jwk["crv"] : ""
  let key: Uint8Array
  let algorithm: Uint8Array | undefined
  if (kty === "RSA") {
    algorithm = ALGORITHM_IDS["RSA"]
    key = tlv(0x30, concat(unsigned(member(jwk, "n")), unsigned(member(jwk, "e"))))
  } else if (kty === "EC") {
    algorithm = crv.startsWith("P-") || crv === "secp256k1" ? ALGORITHM_IDS[crv] : undefined
    if (algorithm === undefined) throw new Error(`unsupported curve ${JSON.stringify(crv)}`)
    key = concat(Uint8Array.of(4), member(jwk, "x", COORDINATE_BYTES[crv]), member(jwk, "y", COORDINATE_BYTES[crv]))
  } else if (kty === "OKP") {
    algorithm = crv.startsWith("Ed") || crv.startsWith("X") ? ALGORITHM_IDS[crv] : undefined
    if (algorithm === undefined) throw new Error(`unsupported curve ${JSON.stringify(crv)}`)
    key = member(jwk, "x", COORDINATE_BYTES[crv])
  } else {
    throw new Error(`unsupported key type ${JSON.stringify(kty)}`)
  }
  const der = tlv(0x30, concat(algorithm!, tlv(0x03, concat(Uint8Array.of(0), key))))
  return { der, shape: spkiShape(der) }
}
