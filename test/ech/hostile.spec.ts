import { expect } from 'aegir/chai'
import fc from 'fast-check'
import { fromString } from 'uint8arrays'
import { nodeProvider } from '../../src/crypto/node.js'
import { performResponderHandshake } from '../../src/ech/handshake.js'
import { extractOuterHello, decodeInnerHello, decodeOuterHello, encodeInnerHello, encodeOuterHello } from '../../src/ech/outer-hello.js'
import { echAad, echInfo, openOuterHello } from '../../src/ech/seal.js'
import { setupBaseS } from '../../src/hpke/hpke.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { decodeHandshakePayload, encodeOuterHelloPayload } from '../../src/noise/payload.js'
import { rejection } from '../fixtures/errors.js'
import { createEchKey, createNode, lp, log, extensions, pair } from './helpers.js'
import type { Node } from './helpers.js'

const hex = (s: string): Uint8Array => fromString(s.replace(/\s/g, ''), 'base16')
const E = new Uint8Array(32).fill(9)

function message1 (payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(32 + payload.byteLength)
  out.set(E)
  out.set(payload, 32)
  return out
}

/** Named wire cases for the bytes of field 1025; `field` is the first bad field the parser must name */
const OUTER_CASES: Array<[string, string, string]> = [
  ['empty', '', 'version'],
  ['version 2', '02 0001 0003 07 0000 0001 00', 'version'],
  ['truncated suite', '01 0001 00', 'cipher_suite.aead_id'],
  ['no config_id', '01 0001 0003', 'config_id'],
  ['enc length overruns', '01 0001 0003 07 ffff 0102', 'enc'],
  ['no payload length', '01 0001 0003 07 0000', 'payload'],
  ['zero-length payload', '01 0001 0003 07 0000 0000', 'payload'],
  ['payload overruns', '01 0001 0003 07 0000 0010 aabb', 'payload'],
  ['trailing byte', '01 0001 0003 07 0000 0001 aa ff', 'trailing bytes']
]

describe('hostile and malformed input', () => {
  let bob: Node

  before(async () => {
    bob = await createNode()
  })

  for (const [name, bytes, field] of OUTER_CASES) {
    it(`outer hello: ${name} → EchDecodeError(${field})`, () => {
      const err = (() => { try { extractOuterHello(message1(encodeOuterHelloPayload(hex(bytes)))) } catch (e) { return e as any } })()
      expect(err?.name).to.equal('EchDecodeError')
      expect(err.field).to.equal(field)
    })
  }

  for (const [name, payload] of [
    ['field 1025 as a varint', '8840 01'],
    ['field 1025 twice', '8a4001 00 8a4001 00'.replace(/ /g, '')],
    ['field 1025 truncated (length overruns the frame)', '8a40 20 0100'],
    ['garbage after field 1025', '8a4010 01000100030700000001aa 07']
  ] as const) {
    it(`protobuf: ${name} → EchDecodeError`, () => {
      expect(() => extractOuterHello(message1(hex(payload)))).to.throw().with.property('name', 'EchDecodeError')
    })
  }

  it('a message-1 payload without field 1025, or not a protobuf, is a stock hello', () => {
    expect(extractOuterHello(message1(new Uint8Array(0)))).to.equal(undefined)
    expect(extractOuterHello(message1(hex('0a0102')))).to.equal(undefined)
    expect(extractOuterHello(message1(hex('ffffffff')))).to.equal(undefined)
    expect(extractOuterHello(new Uint8Array(10))).to.equal(undefined)
  })

  it('outer hello round-trips and never aliases its input', () => {
    const bytes = hex('01 0001 0003 07 0002 abcd 0003 010203')
    const hello = decodeOuterHello(bytes)
    expect(hello).to.deep.include({ version: 1, kdfId: 1, aeadId: 3, configId: 7 })
    expect(encodeOuterHello(hello)).to.deep.equal(bytes)
    bytes.fill(0)
    expect([...hello.enc]).to.deep.equal([0xab, 0xcd])
  })

  it('inner hello: padding to 32, non-zero padding and bad lengths are EchDecodeError', () => {
    const inner = encodeInnerHello({ targetPeer: new Uint8Array(38).fill(1), extensions: [] })
    expect(inner.byteLength).to.equal(64)
    expect(decodeInnerHello(inner).targetPeer).to.deep.equal(new Uint8Array(38).fill(1))
    const padded = Uint8Array.from(inner)
    padded[63] = 1
    expect(() => decodeInnerHello(padded)).to.throw().with.property('field', 'padding')
    expect(() => decodeInnerHello(inner.subarray(0, 63))).to.throw().with.property('field', 'inner hello length')
    expect(() => decodeInnerHello(new Uint8Array(32))).to.throw().with.property('field', 'target_peer_id')
    const overrun = new Uint8Array(32)
    overrun[0] = 40
    expect(() => decodeInnerHello(overrun)).to.throw().with.property('field', 'target_peer_id')
    const ext = new Uint8Array(32)
    ext.set([1, 9, 0, 3, 0, 1])
    expect(() => decodeInnerHello(ext)).to.throw().with.property('name', 'EchDecodeError')
  })

  it('an inner hello that decrypts but has non-zero padding aborts with EchDecodeError', () => {
    const key = createEchKey(7)
    const pk = dhkemX25519.importPublicKey(nodeProvider, key.config.publicKey)
    const { enc, context } = setupBaseS(nodeProvider, { kemId: 0x20, kdfId: 1, aeadId: 3 }, pk, echInfo(key.config.raw))
    const inner = encodeInnerHello({ targetPeer: bob.peerId.toMultihash().bytes, extensions: [] })
    inner[inner.byteLength - 1] = 0x80
    const hello = { version: 1, kdfId: 1, aeadId: 3, configId: 7, enc, payload: new Uint8Array(0) as Uint8Array }
    hello.payload = context.seal(echAad(E, hello), inner)
    expect(() => openOuterHello(nodeProvider, E, hello, [key], bob.peerId.toMultihash().bytes)).to.throw().with.property('field', 'padding')
  })

  it('an outer hello replayed onto another ephemeral key does not open (aad binds e)', () => {
    const key = createEchKey(7)
    const pk = dhkemX25519.importPublicKey(nodeProvider, key.config.publicKey)
    const { enc, context } = setupBaseS(nodeProvider, { kemId: 0x20, kdfId: 1, aeadId: 3 }, pk, echInfo(key.config.raw))
    const hello = { version: 1, kdfId: 1, aeadId: 3, configId: 7, enc, payload: new Uint8Array(0) as Uint8Array }
    hello.payload = context.seal(echAad(E, hello), encodeInnerHello({ targetPeer: bob.peerId.toMultihash().bytes, extensions: [] }))
    const target = bob.peerId.toMultihash().bytes
    expect(openOuterHello(nodeProvider, E, hello, [key], target).accepted).to.equal(true)
    expect(openOuterHello(nodeProvider, new Uint8Array(32).fill(8), hello, [key], target)).to.deep.equal({ accepted: false, reason: 'open-failed' })
    expect(openOuterHello(nodeProvider, E, { ...hello, aeadId: 1 }, [key], target)).to.deep.equal({ accepted: false, reason: 'open-failed' })
  })

  it('fuzz: extractOuterHello returns or throws EchDecodeError, never anything else', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, wrap) => {
      const payload = wrap ? encodeOuterHelloPayload(bytes) : bytes
      try {
        extractOuterHello(message1(payload))
      } catch (err: any) {
        expect(err.name).to.equal('EchDecodeError')
      }
    }), { numRuns: 3000 })
  })

  it('fuzz: handshake payload decoding throws only ProtobufDecodeError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        decodeHandshakePayload(bytes)
      } catch (err: any) {
        expect(err.name).to.equal('ProtobufDecodeError')
      }
    }), { numRuns: 3000 })
  })

  it('fuzz: a responder given random message 1 frames fails with typed errors or continues', async () => {
    const key = createEchKey(7)
    const allowed = new Set(['EchDecodeError', 'InvalidCryptoExchangeError', 'EchRequiredError', 'AbortError', 'TimeoutError'])
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.boolean(), async (bytes, wrap) => {
      const [, b] = pair()
      const connection = lp(b)
      const m1 = message1(wrap ? encodeOuterHelloPayload(bytes) : bytes)
      try {
        await performResponderHandshake({ connection, message1: m1, outerHello: extractOuterHello(m1), provider: nodeProvider, privateKey: bob.privateKey, staticKey: bob.staticKey, extensions, log, keys: [key], localPeer: bob.peerId, require: true }, { signal: AbortSignal.timeout(20) })
      } catch (err: any) {
        expect(allowed.has(err.name), err.name).to.equal(true)
      }
    }), { numRuns: 100 })
  })

  const SHORT_MESSAGE_1: Array<[string, Uint8Array]> = [
    ['message 1 shorter than e is InvalidCryptoExchangeError', new Uint8Array(31)],
    ['an all-zero (small-order) e in message 1 is InvalidCryptoExchangeError at message 2', new Uint8Array(32)]
  ]
  SHORT_MESSAGE_1.forEach(([name, m1]) => {
    it(name, async () => {
      const [, b] = pair()
      const err = await rejection(performResponderHandshake({ connection: lp(b), message1: m1, provider: nodeProvider, privateKey: bob.privateKey, staticKey: bob.staticKey, extensions, log, keys: [], localPeer: bob.peerId }))
      expect(err.name).to.equal('InvalidCryptoExchangeError')
    })
  })
})
