/**
 * `inspect`: show every config of an ECHConfigList (RFC 9849 §4) and why
 * any is unusable. Reads PEM key files (draft-farrell-tls-pemesni), raw
 * wire-form lists, base64 text and DNS HTTPS/SVCB records in presentation
 * format (their `ech=` SvcParam, see svcb.ts). Private keys are never
 * printed, only whether the file holds one.
 */
import { readFile, stat } from 'node:fs/promises'
import { decodeBase64 } from '../config/base64.js'
import { isWireConfigList, parseEchConfigList } from '../config/codec.js'
import { parseEchPem } from '../config/pem.js'
import { aeadName, hex16, kdfName, kemName, keyAlgorithmName } from './names.js'
import { SvcbParseError, echConfigListFromSvcb, looksLikeSvcb } from './svcb.js'
import type { EchConfigListEntry } from '../config/codec.js'

/** The `inspect` argument is neither a file nor base64 */
export class CliInputError extends Error {
  static name = 'CliInputError'

  constructor (message = 'Unreadable input', options?: ErrorOptions) {
    super(message, options)
    this.name = 'CliInputError'
  }
}

/** RFC 9849 §4.2: the high bit of an extension type marks it mandatory */
const MANDATORY_EXTENSION_BIT = 0x8000

export interface InspectInput {
  /** Where the list came from: `pem`, `binary`, `base64` or `svcb` (an HTTPS/SVCB record's `ech=`) */
  source: 'pem' | 'binary' | 'base64' | 'svcb'
  configList: Uint8Array
  /** PEM files only: the PRIVATE KEY block's algorithm OID, when there is one */
  privateKeyAlgorithm?: string
}

export interface InspectedConfig {
  index: number
  version: string
  length: number
  usable: boolean
  skipReason?: { code: string, detail: string }
  configId?: number
  kem?: { id: string, name: string }
  publicKey?: string
  cipherSuites?: Array<{ kdf: { id: string, name: string }, aead: { id: string, name: string } }>
  maximumNameLength?: number
  publicName?: string
  extensions?: Array<{ type: string, mandatory: boolean, data: string }>
}

export interface InspectReport {
  source: InspectInput['source']
  length: number
  usable: number
  /** `name` is set for the key algorithms this package reads (X25519, X-Wing) */
  privateKey?: { present: true, algorithm: string, name?: string }
  configs: InspectedConfig[]
}

function toHex (bytes: Uint8Array): string {
  return Array.from(bytes, b => b.toString(16).padStart(2, '0')).join('')
}

/** The `ech=` list of an HTTPS/SVCB record; record errors become CliInputError */
function fromSvcb (text: string): InspectInput {
  try {
    return { source: 'svcb', configList: echConfigListFromSvcb(text) }
  } catch (err: any) {
    if (err instanceof SvcbParseError) {
      throw new CliInputError(`HTTPS/SVCB record: ${err.message}`, { cause: err })
    }
    throw err
  }
}

/**
 * Interpret `arg` as a file (PEM, binary, base64 text or an HTTPS/SVCB
 * record) or, failing that, as an HTTPS/SVCB record or base64
 */
export async function readInspectInput (arg: string): Promise<InspectInput> {
  let bytes: Uint8Array | undefined
  try {
    if ((await stat(arg)).isFile()) {
      bytes = await readFile(arg)
    }
  } catch {
    // not a file: try it as base64 below
  }
  if (bytes == null) {
    if (looksLikeSvcb(arg)) {
      return fromSvcb(arg)
    }
    try {
      return { source: 'base64', configList: decodeBase64(arg) }
    } catch {
      const shown = arg.length > 40 ? `${arg.slice(0, 40)}...` : arg
      throw new CliInputError(`"${shown}" is neither a readable file, base64, nor an HTTPS/SVCB record`)
    }
  }
  const text = Buffer.from(bytes).toString('latin1')
  if (text.includes('-----BEGIN ')) {
    const pem = parseEchPem(text)
    pem.privateKey?.fill(0)
    pem.privateKeyPkcs8?.fill(0)
    return { source: 'pem', configList: pem.configList, privateKeyAlgorithm: pem.privateKeyAlgorithm }
  }
  if (isWireConfigList(bytes)) {
    return { source: 'binary', configList: new Uint8Array(bytes) }
  }
  if (looksLikeSvcb(text)) {
    return fromSvcb(text)
  }
  return { source: 'base64', configList: decodeBase64(text) }
}

function describeEntry (entry: EchConfigListEntry): InspectedConfig {
  const out: InspectedConfig = {
    index: entry.index,
    version: hex16(entry.version),
    length: entry.length,
    usable: entry.usable
  }
  if (entry.skipReason != null) {
    out.skipReason = { code: entry.skipReason.code, detail: entry.skipReason.detail }
  }
  const config = entry.config
  if (config == null) { return out }
  out.configId = config.configId
  out.kem = { id: hex16(config.kemId), name: kemName(config.kemId) }
  out.publicKey = toHex(config.publicKey)
  out.cipherSuites = config.cipherSuites.map(s => ({
    kdf: { id: hex16(s.kdfId), name: kdfName(s.kdfId) },
    aead: { id: hex16(s.aeadId), name: aeadName(s.aeadId) }
  }))
  out.maximumNameLength = config.maximumNameLength
  out.publicName = config.publicName
  out.extensions = config.extensions.map(e => ({
    type: hex16(e.type),
    mandatory: (e.type & MANDATORY_EXTENSION_BIT) !== 0,
    data: toHex(e.data)
  }))
  return out
}

/** Parse the list; throws EchConfigError when it is malformed */
export function inspectConfigList (input: InspectInput): InspectReport {
  const parsed = parseEchConfigList(input.configList)
  const report: InspectReport = {
    source: input.source,
    length: input.configList.byteLength,
    usable: parsed.usable.length,
    configs: parsed.entries.map(describeEntry)
  }
  if (input.privateKeyAlgorithm != null) {
    const name = keyAlgorithmName(input.privateKeyAlgorithm)
    report.privateKey = { present: true, algorithm: input.privateKeyAlgorithm, ...(name != null ? { name } : {}) }
  }
  return report
}

/**
 * public_name is attacker-chosen bytes (shown one character per byte); escape
 * anything outside printable ASCII so a config cannot drive the terminal.
 */
function printable (text: string): string {
  return text.replace(/[^\x20-\x7e]|\\/g, ch => ch === '\\' ? '\\\\' : `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/** The human-readable form of a report */
export function formatReport (report: InspectReport): string {
  const lines = [...summaryLines(report), ...report.configs.flatMap(c => configLines(c))]
  return lines.join('\n') + '\n'
}

/** The list as a whole and, for a PEM file, whether it held a private key (never the key itself) */
function summaryLines (report: InspectReport): string[] {
  const n = report.configs.length
  const lines = [`ECHConfigList (${report.source}, ${report.length} bytes): ${n} config${n === 1 ? '' : 's'}, ${report.usable} usable`]
  if (report.privateKey != null) {
    const name = report.privateKey.name != null ? `${report.privateKey.name}, ` : ''
    lines.push(`private key: present (${name}algorithm ${report.privateKey.algorithm}), not shown`)
  }
  return lines
}

/** One config: its framing always, its fields only when its contents parsed */
function configLines (c: InspectedConfig): string[] {
  const status = c.usable ? 'usable' : `unusable: ${c.skipReason?.code} (${c.skipReason?.detail})`
  const lines = [`config ${c.index}: ${status}`, `  version: ${c.version}`, `  length: ${c.length}`]
  if (c.configId == null) { return lines }
  lines.push(
    `  config_id: ${c.configId}`,
    `  kem: ${c.kem?.name} (${c.kem?.id})`,
    `  public_key: ${c.publicKey}`,
    `  cipher_suites: ${c.cipherSuites?.map(s => `${s.kdf.name}/${s.aead.name} (${s.kdf.id},${s.aead.id})`).join(', ')}`,
    `  maximum_name_length: ${c.maximumNameLength}`,
    `  public_name: ${printable(c.publicName ?? '')}`,
    ...extensionLines(c.extensions)
  )
  return lines
}

function extensionLines (extensions: InspectedConfig['extensions']): string[] {
  if (extensions?.length === 0) {
    return ['  extensions: none']
  }
  return ['  extensions:', ...(extensions ?? []).map(e => `    ${e.type}${e.mandatory ? ' (mandatory)' : ''}: ${e.data === '' ? '(empty)' : e.data}`)]
}
