/**
 * Standard (RFC 4648 §4, padded) base64 for ECHConfigLists, as printed by
 * `dig`, OpenSSL and PEM bodies. Whitespace is ignored; anything else that is
 * not canonical base64 is refused (draft-farrell-tls-pemesni Figure 2 has an
 * 87-character typo that lenient decoders silently accept).
 */
import { fromString } from 'uint8arrays/from-string'
import { toString } from 'uint8arrays/to-string'
import { EchConfigError } from './errors.js'

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Decode canonical base64 (whitespace tolerated); throws EchConfigError('base64') */
export function decodeBase64 (text: string, field = 'base64'): Uint8Array {
  if (typeof text !== 'string') {
    throw new EchConfigError(field, 'expected a base64 string')
  }
  const compact = text.replace(/\s+/g, '')
  if (!BASE64.test(compact)) {
    throw new EchConfigError(field, 'not valid padded base64')
  }
  try {
    return fromString(compact, 'base64pad')
  } catch {
    // multiformats refuses non-zero unused bits ("AB==", not canonical) with a SyntaxError
    throw new EchConfigError(field, 'not canonical base64')
  }
}

export function encodeBase64 (bytes: Uint8Array): string {
  return toString(bytes, 'base64pad')
}

/**
 * The ECHConfigList bytes in a base64 string (e.g. a DNS `ech=` value). Only
 * decodes; pass the result to `parseEchConfigList`.
 */
export function echConfigListFromBase64 (text: string): Uint8Array {
  return decodeBase64(text)
}

/**
 * Standard padded base64 of an ECHConfigList in wire form (the form of a DNS `ech=` value and of
 * `keygen`'s output)
 */
export function echConfigListToBase64 (bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) {
    throw new EchConfigError('ECHConfigList', 'expected a Uint8Array')
  }
  return encodeBase64(bytes)
}
