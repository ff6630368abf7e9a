/**
 * ECH key files (draft-farrell-tls-pemesni): an optional PKCS#8
 * `PRIVATE KEY` block, then one `ECHCONFIG` block holding an ECHConfigList
 * in wire form (with its u16 length), both in RFC 7468 textual encoding.
 * This is the format OpenSSL, nginx, haproxy and the DEfO tools read.
 */
import { decodeBase64, encodeBase64 } from './base64.js'
import { parseEchConfigList } from './codec.js'
import { EchConfigError } from './errors.js'
import { OID_X25519, parsePkcs8, pkcs8ToX25519PrivateKey } from './pkcs8.js'
import type { EchConfigList } from './codec.js'

export const PEM_LABEL_PRIVATE_KEY = 'PRIVATE KEY'
export const PEM_LABEL_ECHCONFIG = 'ECHCONFIG'
const LINE_LENGTH = 64
const BEGIN = /^-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[- ]?[\x21-\x2c\x2e-\x7e])*)?-----\s*$/

/**
 * The blocks of an ECH key file (draft-farrell-tls-pemesni), as read by `parseEchPem` or written by
 * `encodeEchPem`
 */
export interface EchPem {
  /** The raw PKCS#8 DER of the PRIVATE KEY block, when there is one */
  readonly privateKeyPkcs8?: Uint8Array
  /** privateKeyAlgorithm of that key, dotted OID (`1.3.101.110` for X25519) */
  readonly privateKeyAlgorithm?: string
  /** The raw KEM private key, when the key is one we can read (X25519: 32 bytes) */
  readonly privateKey?: Uint8Array
  /** The ECHCONFIG block: an ECHConfigList in wire form */
  readonly configList: Uint8Array
  /** `configList` parsed (RFC 9849 §4): every entry, and the usable configs */
  readonly parsed: EchConfigList
}

function fail (message: string): never {
  throw new EchConfigError('pem', message)
}

/** The decoded blocks of a PEM text, by label; text outside blocks is ignored (RFC 7468 §2) */
function readBlocks (text: string): Map<string, Uint8Array> {
  const blocks = new Map<string, Uint8Array>()
  let label: string | undefined
  let body: string[] = []
  for (const line of text.split(/\r?\n/)) {
    if (label === undefined) {
      const begin = BEGIN.exec(line)
      if (begin !== null) {
        label = begin[1] ?? ''
        body = []
      }
      continue
    }
    if (!line.startsWith('-----')) {
      body.push(line)
      continue
    }
    // Text after the END boundary on the same line is tolerated, as in
    // openssl test/certs/echdir/ech-giant.pem (END line followed by "`")
    if (!line.startsWith(`-----END ${label}-----`)) {
      fail(`unexpected boundary inside ${label} block`)
    }
    if (blocks.has(label)) {
      fail(`more than one ${label} block`)
    }
    blocks.set(label, decodeBase64(body.join(''), 'pem'))
    label = undefined
  }
  if (label !== undefined) {
    fail(`unterminated ${label} block`)
  }
  return blocks
}

/** Read an ECH PEM file; throws EchConfigError (field `pem`, `private_key`, or the list's first bad field) */
export function parseEchPem (text: string): EchPem {
  if (typeof text !== 'string') {
    fail('expected a string')
  }
  const blocks = readBlocks(text)
  for (const label of blocks.keys()) {
    if (label !== PEM_LABEL_PRIVATE_KEY && label !== PEM_LABEL_ECHCONFIG) {
      fail(`unexpected ${label} block`)
    }
  }
  const configList = blocks.get(PEM_LABEL_ECHCONFIG)
  if (configList === undefined) {
    fail('no ECHCONFIG block')
  }
  const parsed = parseEchConfigList(configList)
  const privateKeyPkcs8 = blocks.get(PEM_LABEL_PRIVATE_KEY)
  if (privateKeyPkcs8 === undefined) {
    return Object.freeze({ configList, parsed })
  }
  const privateKeyAlgorithm = parsePkcs8(privateKeyPkcs8).algorithm
  if (privateKeyAlgorithm !== OID_X25519) {
    return Object.freeze({ privateKeyPkcs8, privateKeyAlgorithm, configList, parsed })
  }
  const privateKey = pkcs8ToX25519PrivateKey(privateKeyPkcs8)
  return Object.freeze({ privateKeyPkcs8, privateKeyAlgorithm, privateKey, configList, parsed })
}

function block (label: string, bytes: Uint8Array): string {
  const b64 = encodeBase64(bytes)
  const lines: string[] = []
  for (let i = 0; i < b64.length; i += LINE_LENGTH) {
    lines.push(b64.slice(i, i + LINE_LENGTH))
  }
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/**
 * Write an ECH PEM file: the PKCS#8 key (if given) then the ECHConfigList.
 * Both are checked first, so what is written parses back.
 */
export function encodeEchPem (options: { privateKeyPkcs8?: Uint8Array, configList: Uint8Array }): string {
  parseEchConfigList(options.configList)
  let text = ''
  if (options.privateKeyPkcs8 !== undefined) {
    parsePkcs8(options.privateKeyPkcs8)
    text += block(PEM_LABEL_PRIVATE_KEY, options.privateKeyPkcs8)
  }
  return text + block(PEM_LABEL_ECHCONFIG, options.configList)
}
