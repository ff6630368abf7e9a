/**
 * Properties of the ECHConfigList codec (fast-check, 10,000 runs each):
 * round trips for generated valid lists, and for random and mutated input
 * the parser either returns or throws EchConfigError, nothing else.
 */
import { isDeepStrictEqual } from 'node:util'
import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { ECH_CONFIG_VERSION, createEchConfig, echConfigListFromBase64, echConfigListToBase64, encodeEchConfigList, parseEchConfigList } from '../../src/config/index.js'
import { getKem } from '../../src/hpke/registry.js'
import type { EchConfig, EchConfigList } from '../../src/config/index.js'

const RUNS = 10_000

/** chai's deep equality is slow at 10,000 runs: compare natively, and let chai print the diff on failure */
function same (actual: unknown, expected: unknown): void {
  if (!isDeepStrictEqual(actual, expected)) { expect(actual).to.deep.equal(expected) }
}

const u16 = fc.integer({ min: 0, max: 0xffff })
const label = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,14}[A-Za-z0-9])?$/)
/** The last label has a letter, so it never looks like an IPv4 literal (RFC 9849 §6.1.7) */
const tld = fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/)
const publicName = fc.tuple(fc.array(label, { maxLength: 4 }), tld).map(([labels, last]) => [...labels, last].join('.'))

const keyConfig = fc.oneof(
  fc.record({ kemId: fc.constant(0x0020), publicKey: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
  fc.record({ kemId: u16.filter(id => getKem(id) === undefined), publicKey: fc.uint8Array({ minLength: 1, maxLength: 70 }) })
)

const configArb = fc.record({
  configId: fc.integer({ min: 0, max: 255 }),
  key: keyConfig,
  cipherSuites: fc.array(fc.oneof(
    fc.constantFrom({ kdfId: 1, aeadId: 1 }, { kdfId: 1, aeadId: 3 }, { kdfId: 1, aeadId: 0xffff }),
    fc.record({ kdfId: u16, aeadId: u16 })
  ), { minLength: 1, maxLength: 5 }),
  maximumNameLength: fc.integer({ min: 0, max: 255 }),
  publicName,
  extensions: fc.uniqueArray(fc.record({ type: u16, data: fc.uint8Array({ maxLength: 16 }) }), { selector: e => e.type, maxLength: 4 })
}).map(({ key, ...rest }) => createEchConfig({ ...key, ...rest }))

/** An ECHConfig of some other version: version, length, opaque contents */
const unknownVersionArb = fc.record({
  version: u16.filter(v => v !== ECH_CONFIG_VERSION),
  body: fc.uint8Array({ maxLength: 24 })
}).map(({ version, body }) => Uint8Array.from([version >> 8, version & 0xff, body.length >> 8, body.length & 0xff, ...body]))

type Item = { kind: 'config', config: EchConfig } | { kind: 'unknown', raw: Uint8Array }
const itemsArb = fc.array(fc.oneof(
  configArb.map((config): Item => ({ kind: 'config', config })),
  unknownVersionArb.map((raw): Item => ({ kind: 'unknown', raw }))
), { minLength: 1, maxLength: 4 })

const rawOf = (item: Item): Uint8Array => item.kind === 'config' ? item.config.raw : item.raw

function wire (raws: Uint8Array[]): Uint8Array {
  const body = raws.flatMap(r => [...r])
  return Uint8Array.from([body.length >> 8, body.length & 0xff, ...body])
}

/** The parse result, or the error after checking it is an EchConfigError */
function parseOrError (bytes: Uint8Array): EchConfigList | undefined {
  try {
    return parseEchConfigList(bytes)
  } catch (err: any) {
    if (err?.name !== 'EchConfigError' || typeof err.field !== 'string') { throw err }
    return undefined
  }
}

/** What any successful parse must satisfy: raws tile the input, usable is the usable entries */
function checkInvariants (bytes: Uint8Array, parsed: EchConfigList): void {
  same(wire(parsed.entries.map(e => e.raw)), bytes)
  same(parsed.usable, parsed.entries.filter(e => e.usable).map(e => e.config))
  for (const entry of parsed.entries) {
    same(entry.config !== undefined, entry.version === ECH_CONFIG_VERSION)
    if (entry.config !== undefined) {
      same(encodeEchConfigList([entry.config]).subarray(2), entry.raw)
    }
  }
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) })
)

interface Mutation { kind: 'flip' | 'truncate' | 'insert', at: number, bit?: number, byte?: number }

function mutate (bytes: Uint8Array, m: Mutation, fixLength: boolean): Uint8Array {
  const out = [...bytes]
  if (out.length === 0 && m.kind !== 'insert') { return bytes }
  const at = m.at % (out.length + (m.kind === 'insert' ? 1 : 0))
  if (m.kind === 'flip') { out[at] ^= 1 << (m.bit ?? 0) }
  if (m.kind === 'truncate') { out.length = at }
  if (m.kind === 'insert') { out.splice(at, 0, m.byte ?? 0) }
  // Re-deriving the list length gets mutations past the first check, into the configs
  if (fixLength && out.length >= 2 && out.length - 2 <= 0xffff) {
    out[0] = (out.length - 2) >> 8
    out[1] = (out.length - 2) & 0xff
  }
  return Uint8Array.from(out)
}

describe('config/property', function () {
  this.timeout(20_000)

  it('parse(wire(items)) gives back every config and raw entry, in order', () => {
    fc.assert(fc.property(itemsArb, items => {
      const bytes = wire(items.map(rawOf))
      const parsed = parseEchConfigList(bytes)
      same(parsed.entries.map(e => e.raw), items.map(rawOf))
      same(parsed.entries.map(e => e.config), items.map(item => item.kind === 'config' ? item.config : undefined))
      checkInvariants(bytes, parsed)
    }), { numRuns: RUNS })
  })

  it('parse(encode(configs)) deep-equals configs', () => {
    fc.assert(fc.property(fc.array(configArb, { minLength: 1, maxLength: 4 }), configs => {
      const encoded = encodeEchConfigList(configs)
      same(parseEchConfigList(encoded).entries.map(e => e.config), configs)
      same(encoded, wire(configs.map(c => c.raw)))
    }), { numRuns: RUNS })
  })

  it('random bytes only ever parse or throw EchConfigError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (random, prefixed) => {
      const bytes = prefixed ? wire([random]) : random
      const parsed = parseOrError(bytes)
      if (parsed !== undefined) { checkInvariants(bytes, parsed) }
    }), { numRuns: RUNS })
  })

  it('mutated valid lists (bit flips, truncation, insertion) only ever parse or throw EchConfigError', () => {
    const started = Date.now()
    fc.assert(fc.property(itemsArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean(), (items, mutations, fixLength) => {
      let bytes = wire(items.map(rawOf))
      for (const m of mutations) { bytes = mutate(bytes, m, fixLength) }
      const parsed = parseOrError(bytes)
      if (parsed !== undefined) { checkInvariants(bytes, parsed) }
    }), { numRuns: RUNS })
    expect(Date.now() - started).to.be.below(10_000)
  })

  it('base64 round-trips any bytes, and any string decodes or throws EchConfigError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), fc.string({ maxLength: 40 }), (bytes, text) => {
      same(echConfigListFromBase64(echConfigListToBase64(bytes)), bytes)
      try {
        echConfigListFromBase64(text)
      } catch (err: any) {
        expect(err.name).to.equal('EchConfigError')
      }
    }), { numRuns: RUNS })
  })
})
