/**
 * X-Wing (HPKE KEM 0x647a) end to end between real TCP nodes: an X-Wing-only
 * listener, a mixed fleet (one listener holding an X-Wing and an X25519 key,
 * dialers restricted with `kems`), and the handshake's bytes on the wire per
 * KEM, measured through a capture proxy. Every connection that comes up is
 * checked with a ping and a 1 MiB echo, byte for byte.
 */
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { generateEchKey, parseEchConfigList } from '../../src/index.js'
import { assertWorks, nextEchEvent, openConnection, shareConfig, useNodes } from '../fixtures/nodes.js'
import { createCaptureProxy } from '../fixtures/proxy.js'
import { readVarint, tcpPort, topLevelFields } from '../fixtures/wire.js'
import type { EchConnectionInfo, EchKey } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { CaptureProxy, CapturedFrame } from '../fixtures/proxy.js'

const X25519_KEM = 0x0020
const XWING_KEM = 0x647a
/** HPKE `enc` lengths: DHKEM(X25519) Nenc = 32; X-Wing Nenc = 1120 (ML-KEM-768 ciphertext + X25519 share) */
const X25519_ENC = 32
const XWING_ENC = 1120
/** The Noise frame length is a uint16 */
const MAX_NOISE_FRAME = 65535

/** Dial `listener` (through `via` when given), wait for both sides' outcomes, check the connection works */
async function dialAndCheck (dialer: TestNode, listener: TestNode, via?: CaptureProxy): Promise<[EchConnectionInfo, EchConnectionInfo | undefined]> {
  const out = nextEchEvent(dialer.ech!)
  const inb = listener.ech != null ? nextEchEvent(listener.ech) : undefined
  const conn = await dialer.node.dial(via != null ? via.addr(listener.node.peerId) : listener.addr)
  const [outInfo, inInfo] = await Promise.all([out, inb])
  await assertWorks(dialer, listener, conn)
  expect(dialer.ech!.getConnectionInfo(conn)).to.equal(outInfo)
  if (listener.ech != null) {
    expect(listener.ech.getConnectionInfo(openConnection(listener, dialer.node.peerId))).to.equal(inInfo)
  }
  return [outInfo, inInfo]
}

interface HandshakeSizes {
  label: string
  /** Noise message bodies (without the 2-byte length prefix) */
  m1: number
  m2: number
  m3: number
  /** The three frames with their length prefixes */
  total: number
}

function sizesOf (label: string, frames: CapturedFrame[]): HandshakeSizes {
  const size = (n: number): number => {
    const found = frames.filter(f => f.message === n)
    expect(found, `exactly one Noise message ${n}`).to.have.lengthOf(1)
    return found[0].bytes.byteLength
  }
  const [m1, m2, m3] = [size(1), size(2), size(3)]
  return { label, m1, m2, m3, total: m1 + m2 + m3 + 3 * 2 }
}

/** Length of the outer hello in a message 1: `e` (32 bytes), then one protobuf field (tag, length, bytes) */
function outerHelloLength (message1: Uint8Array): number {
  const payload = message1.subarray(32)
  const [, tagBytes] = readVarint(payload)!
  const [length, lengthBytes] = readVarint(payload.subarray(tagBytes))!
  expect(tagBytes + lengthBytes + length).to.equal(payload.byteLength)
  return length
}

describe('interop: X-Wing ECH over TCP', function () {
  this.timeout(30_000)

  const nodes = useNodes()
  const node = nodes.create
  let xwingKey: EchKey
  let x25519Key: EchKey

  before(async () => {
    xwingKey = await generateEchKey({ kem: 'x-wing' })
    x25519Key = await generateEchKey({ kem: 'x25519', avoidConfigIds: [xwingKey.config.configId] })
  })

  it('echNoise <-> echNoise with an X-Wing key: accepted on both sides with its config id', async () => {
    const listener = await node({ encrypter: 'ech', ech: { keys: [xwingKey] } })
    const dialer = await node({ encrypter: 'ech' })
    const list = listener.ech!.getEchConfigList()
    expect(parseEchConfigList(list).usable.map(c => c.kemId)).to.deep.equal([XWING_KEM])
    await shareConfig(dialer, listener, list)

    const [outInfo, inInfo] = await dialAndCheck(dialer, listener)
    expect(outInfo).to.include({ direction: 'outbound', outcome: 'accepted', configId: xwingKey.config.configId })
    expect(inInfo).to.include({ direction: 'inbound', outcome: 'accepted', configId: xwingKey.config.configId })
  })

  describe('mixed fleet: one listener with an X-Wing key and an X25519 key', () => {
    let listener: TestNode
    let list: Uint8Array

    beforeEach(async () => {
      listener = await node({ encrypter: 'ech', ech: { keys: [xwingKey, x25519Key] } })
      list = listener.ech!.getEchConfigList()
      // one published list, the listener's preference first
      expect(parseEchConfigList(list).usable.map(c => [c.kemId, c.configId])).to.deep.equal([
        [XWING_KEM, xwingKey.config.configId],
        [X25519_KEM, x25519Key.config.configId]
      ])
    })

    const cases: Array<{ name: string, kems?: string[], expected(): EchKey }> = [
      { name: 'a dialer with kems: [\'x25519\'] picks the X25519 config', kems: ['x25519'], expected: () => x25519Key },
      { name: 'a dialer with kems: [\'x-wing\'] picks the X-Wing config', kems: ['x-wing'], expected: () => xwingKey },
      { name: 'a default dialer picks the list\'s first config (server preference: X-Wing)', expected: () => xwingKey },
      { name: 'a dialer with kems: [\'x25519\', \'x-wing\'] still follows the server\'s order', kems: ['x25519', 'x-wing'], expected: () => xwingKey }
    ]
    cases.forEach(c => {
      it(c.name, async () => {
        const dialer = await node({ encrypter: 'ech', ech: c.kems != null ? { kems: c.kems } : {} })
        await shareConfig(dialer, listener, list)
        const configId = c.expected().config.configId
        const [outInfo, inInfo] = await dialAndCheck(dialer, listener)
        expect(outInfo).to.include({ outcome: 'accepted', configId })
        expect(inInfo).to.include({ outcome: 'accepted', configId })
      })
    })

    it('several dialers with different KEMs, concurrently, against the same listener', async () => {
      const xDialer = await node({ encrypter: 'ech', ech: { kems: ['x25519'] } })
      const wDialer = await node({ encrypter: 'ech', ech: { kems: ['x-wing'] } })
      await shareConfig(xDialer, listener, list)
      await shareConfig(wDialer, listener, list)
      const inbound: EchConnectionInfo[] = []
      listener.ech!.addEventListener('ech:accepted', (evt) => { inbound.push(evt.detail) })

      const [x, w] = await Promise.all([
        xDialer.node.dial(listener.addr),
        wDialer.node.dial(listener.addr)
      ])
      expect(xDialer.ech!.getConnectionInfo(x)).to.include({ outcome: 'accepted', configId: x25519Key.config.configId })
      expect(wDialer.ech!.getConnectionInfo(w)).to.include({ outcome: 'accepted', configId: xwingKey.config.configId })
      await Promise.all([assertWorks(xDialer, listener, x), assertWorks(wDialer, listener, w)])
      const byPeer = new Map(inbound.map(i => [i.remotePeer?.toString(), i.configId]))
      expect(byPeer.get(xDialer.node.peerId.toString())).to.equal(x25519Key.config.configId)
      expect(byPeer.get(wDialer.node.peerId.toString())).to.equal(xwingKey.config.configId)
    })

    it('a dialer restricted to a KEM the listener does not publish speaks stock Noise (unusable-config)', async () => {
      const x25519Only = await node({ encrypter: 'ech', ech: { keys: [x25519Key] } })
      const dialer = await node({ encrypter: 'ech', ech: { kems: ['x-wing'] } })
      await shareConfig(dialer, x25519Only)
      const [outInfo, inInfo] = await dialAndCheck(dialer, x25519Only)
      expect(outInfo).to.include({ outcome: 'fallback', reason: 'unusable-config' })
      expect(inInfo).to.include({ outcome: 'not-offered' })
    })
  })

  it('bytes on the wire per handshake, per KEM: frames within 65535, the X-Wing outer hello grows by the enc difference', async function () {
    const rows: HandshakeSizes[] = []
    /** Outer hello length (the protobuf field's bytes) per variant */
    const hellos: Record<string, number> = {}

    const variants: Array<{ label: string, keys?: EchKey[], share: boolean, grease?: boolean, outcome: string }> = [
      { label: 'stock Noise (no config)', share: false, outcome: 'fallback' },
      { label: 'ECH, DHKEM(X25519)', keys: [x25519Key], share: true, outcome: 'accepted' },
      { label: 'ECH, X-Wing', keys: [xwingKey], share: true, outcome: 'accepted' },
      { label: 'GREASE (X25519-shaped)', keys: [xwingKey], share: false, grease: true, outcome: 'grease' }
    ]
    for (const v of variants) {
      const listener = await node({ encrypter: 'ech', ech: v.keys != null ? { keys: v.keys } : {} })
      const dialer = await node({ encrypter: 'ech', ech: { grease: v.grease } })
      if (v.share) { await shareConfig(dialer, listener) }
      if (v.grease === true) {
        // GREASE goes only to peers known to take an outer hello: meet once (stock Noise, identify), then dial again
        const identified = pEvent(dialer.node, 'peer:identify')
        await dialer.node.dial(listener.addr)
        await identified
        await dialer.node.hangUp(listener.node.peerId)
      }
      const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(listener.addr) }))
      const [outInfo] = await dialAndCheck(dialer, listener, proxy)
      expect(outInfo.outcome).to.equal(v.outcome)

      const frames = proxy.noiseMessages()
      for (const f of frames) {
        expect(f.bytes.byteLength, `message ${f.message} of ${v.label}`).to.be.at.most(MAX_NOISE_FRAME)
      }
      const sizes = sizesOf(v.label, frames)
      rows.push(sizes)
      if (v.keys != null && v.grease !== true) {
        // message 1 = e (32) + a payload of exactly one experimental field: the outer hello
        const m1 = frames.find(f => f.message === 1)!.bytes
        const fields = topLevelFields(m1.subarray(32))
        expect(fields).to.have.lengthOf(1)
        expect(fields[0]).to.be.at.least(1025)
        hellos[v.label] = outerHelloLength(m1)
      }
      await proxy.close()
    }

    const pad = (s: string | number, n: number): string => String(s).padStart(n)
    const lines = [
      '      | variant                  |   msg 1 |   msg 2 |   msg 3 | total (with 2-byte prefixes) |',
      '      |--------------------------|--------:|--------:|--------:|-----------------------------:|',
      ...rows.map(r => `      | ${r.label.padEnd(24)} | ${pad(r.m1, 7)} | ${pad(r.m2, 7)} | ${pad(r.m3, 7)} | ${pad(r.total, 28)} |`)
    ]
    // eslint-disable-next-line no-console
    console.log(`\n      Noise handshake bytes on the wire (bodies; max frame ${MAX_NOISE_FRAME}):\n${lines.join('\n')}\n`)

    const [stock, x25519, xwing, grease] = rows
    // messages 2 and 3 do not depend on the KEM (nor on ECH, once accepted)
    expect(x25519.m2).to.equal(stock.m2)
    expect(xwing.m2).to.equal(stock.m2)
    expect(x25519.m3).to.equal(stock.m3)
    expect(xwing.m3).to.equal(stock.m3)
    // stock message 1 is `e` plus an empty payload
    expect(stock.m1).to.equal(32)

    // the outer hellos differ only in `enc` (same suite, same padded inner hello);
    // around them the protobuf field's length varint may grow by a byte
    expect(hellos['ECH, X-Wing'] - hellos['ECH, DHKEM(X25519)']).to.equal(XWING_ENC - X25519_ENC)
    // "grows by ~1.1 KB"
    expect(xwing.m1 - x25519.m1).to.be.within(1088, 1090)
    expect(xwing.total - x25519.total).to.equal(xwing.m1 - x25519.m1)
    // GREASE always uses the X25519 shape (src/handshake/ech.ts GREASE_SUITE): it
    // mimics an X25519 offer byte for byte in length, so it cannot cover X-Wing offers
    expect(grease.m1).to.equal(x25519.m1)
    expect(grease.m1).to.not.equal(xwing.m1)
    // the responder rejects a GREASE hello and sends its signed config record
    // (retry configs, here holding the 1216-byte X-Wing public key) in message 2
    expect(grease.m2).to.be.greaterThan(stock.m2 + 1216)
  })
})
