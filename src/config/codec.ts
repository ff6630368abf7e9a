/**
 * ECHConfigList codec (RFC 9849 §4). Parsing is two-level, as the RFC asks:
 * a list that is syntactically broken anywhere is rejected whole
 * (EchConfigError naming the first bad field, like Go's parseECHConfigList
 * and BoringSSL's parse_ech_config), while a well-formed config this node
 * cannot use is kept as a skipped entry with a reason and left out of
 * `usable`.
 */
import { getKem, isSupportedCipherSuite } from '../hpke/registry.js'
import { freezeEchConfig } from './create.js'
import { EchConfigError } from './errors.js'
import { publicNameProblem } from './public-name.js'
import { Reader } from './reader.js'
import { checkWireFields, publicNameFromBytes, serializeEchConfig } from './serialize.js'
import { ECH_CONFIG_VERSION } from './types.js'
import type { EchConfig, EchConfigExtension, HpkeSymmetricCipherSuite } from './types.js'

/** Why a well-formed config in a list cannot be used by this package (RFC 9849 §4) */
export type EchConfigSkipCode =
  | 'unsupported-version'
  | 'unsupported-kem'
  | 'bad-public-key-length'
  | 'no-supported-cipher-suite'
  | 'mandatory-extension'
  | 'invalid-public-name'

/** Why one config of a list was skipped */
export interface EchConfigSkipReason {
  /** Machine-readable reason */
  readonly code: EchConfigSkipCode
  /** Human-readable detail, e.g. the unsupported KEM id */
  readonly detail: string
}

/** One ECHConfig of a list, in list order, usable or not */
export interface EchConfigListEntry {
  /** Position in the list, from 0 */
  readonly index: number
  /** ECHConfig.version (only `0xfe0d` is usable) */
  readonly version: number
  /** ECHConfig.length: the size of the contents */
  readonly length: number
  /** The whole ECHConfig (version, length, contents), copied */
  readonly raw: Uint8Array
  /** Present whenever the version is 0xfe0d (it parsed, or the list would have been rejected) */
  readonly config?: EchConfig
  /**
   * Whether this package can encrypt to it (KEM and a suite implemented, no unknown mandatory
   * extension, valid public_name)
   */
  readonly usable: boolean
  /** Why it is not usable (only when `usable` is false) */
  readonly skipReason?: EchConfigSkipReason
}

/** A parsed ECHConfigList (RFC 9849 §4), as `parseEchConfigList` returns it */
export interface EchConfigList {
  /** Every config of the list, usable or not, in list order */
  readonly entries: readonly EchConfigListEntry[]
  /** The usable configs, in list order (the server's preference order) */
  readonly usable: readonly EchConfig[]
}

/** ECHConfigList<4..2^16-1> */
const MIN_LIST_LENGTH = 4
const MAX_LIST_LENGTH = 0xffff
/** RFC 9849 §4.2: the high bit of an extension type marks it mandatory */
const MANDATORY_EXTENSION_BIT = 0x8000

const hex = (n: number): string => `0x${n.toString(16).padStart(4, '0')}`

/** Parse one version-0xfe0d ECHConfigContents; `contents` must be consumed exactly */
function parseContents (contents: Reader, raw: Uint8Array): EchConfig {
  const configId = contents.u8('config_id')
  const kemId = contents.u16('kem_id')
  // HpkePublicKey public_key<1..2^16-1>
  const publicKey = contents.bytesCopy(contents.u16('public_key'), 'public_key')
  if (publicKey.length === 0) {
    throw new EchConfigError('public_key', 'public_key is empty')
  }
  // HpkeSymmetricCipherSuite cipher_suites<4..2^16-4>
  const suitesLength = contents.u16('cipher_suites')
  if (suitesLength < 4 || suitesLength % 4 !== 0) {
    throw new EchConfigError('cipher_suites', `cipher_suites length ${suitesLength} is not a positive multiple of 4`)
  }
  const suitesReader = contents.sub(suitesLength, 'cipher_suites')
  const cipherSuites: HpkeSymmetricCipherSuite[] = []
  while (suitesReader.remaining > 0) {
    cipherSuites.push({ kdfId: suitesReader.u16('cipher_suites'), aeadId: suitesReader.u16('cipher_suites') })
  }
  const maximumNameLength = contents.u8('maximum_name_length')
  // opaque public_name<1..255>
  const nameBytes = contents.bytesCopy(contents.u8('public_name'), 'public_name')
  if (nameBytes.length === 0) {
    throw new EchConfigError('public_name', 'public_name is empty')
  }
  // ECHConfigExtension extensions<0..2^16-1>
  const extReader = contents.sub(contents.u16('extensions'), 'extensions')
  const extensions: EchConfigExtension[] = []
  const seen = new Set<number>()
  while (extReader.remaining > 0) {
    const type = extReader.u16('extension.type')
    const data = extReader.bytesCopy(extReader.u16('extension.data'), 'extension.data')
    if (seen.has(type)) {
      throw new EchConfigError('extensions', `duplicate extension type ${hex(type)}`)
    }
    seen.add(type)
    extensions.push({ type, data })
  }
  // ECHConfig.length must cover exactly the contents (rustls
  // rejects_trailing_data_in_v18_echconfig)
  contents.end('ECHConfig.length')
  return freezeEchConfig({
    configId, kemId, publicKey, cipherSuites, maximumNameLength, publicName: publicNameFromBytes(nameBytes), extensions
  }, raw)
}

/** Why a parsed config is of no use to this node (RFC 9849 §4, §4.2, §6.1.7), or undefined */
export function echConfigSkipReason (config: EchConfig): EchConfigSkipReason | undefined {
  const kem = getKem(config.kemId)
  if (kem === undefined) {
    return { code: 'unsupported-kem', detail: `KEM ${hex(config.kemId)} is not implemented` }
  }
  if (config.publicKey.length !== kem.publicKeyLength) {
    return {
      code: 'bad-public-key-length',
      detail: `KEM ${hex(config.kemId)} public key is ${config.publicKey.length} bytes, expected ${kem.publicKeyLength}`
    }
  }
  if (!config.cipherSuites.some(suite => isSupportedCipherSuite(suite))) {
    const list = config.cipherSuites.map(s => `(${hex(s.kdfId)},${hex(s.aeadId)})`).join(' ')
    return { code: 'no-supported-cipher-suite', detail: `no supported suite among ${list}` }
  }
  // No ECHConfig extension is implemented yet, so every mandatory one is unsupported
  const mandatory = config.extensions.filter(ext => (ext.type & MANDATORY_EXTENSION_BIT) !== 0)
  if (mandatory.length > 0) {
    return { code: 'mandatory-extension', detail: `unsupported mandatory extension(s) ${mandatory.map(e => hex(e.type)).join(', ')}` }
  }
  const problem = publicNameProblem(config.publicName)
  if (problem !== undefined) {
    return { code: 'invalid-public-name', detail: problem }
  }
  return undefined
}

/**
 * Parse an ECHConfigList in wire form (u16 length, then ECHConfigs), as in
 * a DNS HTTPS `ech=` value. Throws EchConfigError on malformed syntax.
 */
export function parseEchConfigList (bytes: Uint8Array): EchConfigList {
  if (!(bytes instanceof Uint8Array)) {
    throw new EchConfigError('ECHConfigList', 'expected a Uint8Array')
  }
  const list = new Reader(bytes)
  const listLength = list.u16('ECHConfigList.length')
  // Compare against the real remaining count, never a uint16 of it: with
  // 65536 bytes after a length field of 0 (go-overflow-65538.bin, Go's
  // TestDecodeECHConfigListOverflow) a parser that truncates the count to 16
  // bits sees 0 == 0 and then walks configs past the list it validated.
  if (listLength !== list.remaining) {
    throw new EchConfigError('ECHConfigList.length', `list length ${listLength} != ${list.remaining} bytes present`)
  }
  if (listLength < MIN_LIST_LENGTH) {
    throw new EchConfigError('ECHConfigList.length', `list length ${listLength} < ${MIN_LIST_LENGTH}`)
  }
  const entries: EchConfigListEntry[] = []
  const usable: EchConfig[] = []
  while (list.remaining > 0) {
    const start = list.position
    const version = list.u16('ECHConfig.version')
    const length = list.u16('ECHConfig.length')
    const contents = list.sub(length, 'ECHConfig.length')
    const raw = list.copyFrom(start)
    const index = entries.length
    if (version !== ECH_CONFIG_VERSION) {
      // RFC 9849 §4: clients MUST ignore configs of versions they don't know
      entries.push(Object.freeze({
        index,
        version,
        length,
        raw,
        usable: false,
        skipReason: Object.freeze({ code: 'unsupported-version', detail: `version ${hex(version)}` } as const)
      }))
      continue
    }
    const config = parseContents(contents, raw)
    const skipReason = echConfigSkipReason(config)
    if (skipReason === undefined) {
      usable.push(config)
      entries.push(Object.freeze({ index, version, length, raw, config, usable: true }))
    } else {
      entries.push(Object.freeze({ index, version, length, raw, config, usable: false, skipReason: Object.freeze(skipReason) }))
    }
  }
  return Object.freeze({ entries: Object.freeze(entries), usable: Object.freeze(usable) })
}

/**
 * The ECHConfigList wire form of `configs`, each serialized from its fields
 * (so a parsed config re-encodes to its `raw` bytes exactly).
 */
export function encodeEchConfigList (configs: readonly EchConfig[]): Uint8Array {
  if (!Array.isArray(configs)) {
    throw new EchConfigError('ECHConfigList', 'expected an array of configs')
  }
  const parts = configs.map((config: EchConfig) => {
    if (config?.version !== ECH_CONFIG_VERSION) {
      throw new EchConfigError('ECHConfig.version', `only version ${hex(ECH_CONFIG_VERSION)} can be encoded`)
    }
    checkWireFields(config)
    return serializeEchConfig(config)
  })
  return frameConfigList(parts)
}

/**
 * An ECHConfigList in wire form from serialized ECHConfigs: their u16 total
 * length, then each. Throws `EchConfigError` when the total is outside
 * 4..65535, so a length prefix never wraps.
 */
export function frameConfigList (rawConfigs: readonly Uint8Array[]): Uint8Array {
  const length = rawConfigs.reduce((sum, raw) => sum + raw.byteLength, 0)
  if (length < MIN_LIST_LENGTH || length > MAX_LIST_LENGTH) {
    throw new EchConfigError('ECHConfigList.length', `list length ${length} outside ${MIN_LIST_LENGTH}..${MAX_LIST_LENGTH}`)
  }
  const out = new Uint8Array(2 + length)
  out[0] = length >> 8
  out[1] = length & 0xff
  let offset = 2
  for (const raw of rawConfigs) {
    out.set(raw, offset)
    offset += raw.byteLength
  }
  return out
}

/**
 * Whether `bytes` is framed as a wire-form ECHConfigList: its u16 length
 * says exactly how many bytes follow, at least 4 (RFC 9849 §4). A cheap test
 * of the framing, not a parse; it tells a list from a signed config record.
 */
export function isWireConfigList (bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 + MIN_LIST_LENGTH && ((bytes[0] << 8) | bytes[1]) === bytes.byteLength - 2
}
