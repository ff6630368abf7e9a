/**
 * The fallback policy driven through the wrapper, between real libp2p nodes
 * on TCP 127.0.0.1: the kill switch (`ECH_ENABLED`) in both directions, env
 * winning over init, staged rollout, a bad env value failing node creation,
 * and how failed outer hellos are counted: against the address when the
 * responder proved nothing (an on-path box that breaks every outer hello but
 * lets stock Noise through; bogus addresses that reset), never against the
 * peer's breaker.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { findError, rejection } from '../fixtures/errors.js'
import { collectEchEvents, nextEchEvent, pingOver, shareConfig, useNodes } from '../fixtures/nodes.js'
import { BREAK_ECH, createCaptureProxy, echBreak } from '../fixtures/proxy.js'
import { NOISE_NEGOTIATION, listenTcp, tcpPort, topLevelFields } from '../fixtures/wire.js'
import type { EchConnectionInfo } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { TcpServer } from '../fixtures/wire.js'
import type { Connection } from '@libp2p/interface'

/** Answers `/noise`, reads message 1 and resets: an address that is not the peer it is listed for */
async function resetAfterMessage1 (): Promise<TcpServer> {
  return listenTcp((socket) => {
    let seen = 0
    socket.write(NOISE_NEGOTIATION)
    // once message 1 is in (past the multistream lines and a uint16 length), reset
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.byteLength
      if (seen > NOISE_NEGOTIATION.byteLength + 2) { socket.resetAndDestroy() }
    })
  })
}

describe('operations: policy through the wrapper over TCP', function () {
  this.timeout(20_000)

  const nodes = useNodes()
  const node = nodes.create

  /** Dial `to` (a fresh connection) and return the connection with both sides' outcome events */
  async function dialOutcome (from: TestNode, to: TestNode, addr = to.addr): Promise<{ conn: Connection, out: EchConnectionInfo, in?: EchConnectionInfo }> {
    const out = nextEchEvent(from.ech!, 'ech:outcome')
    const inbound = to.ech != null ? nextEchEvent(to.ech, 'ech:outcome') : undefined
    const conn = await from.node.dial(addr, { force: true })
    return { conn, out: await out, in: await inbound }
  }

  describe('kill switch ECH_ENABLED=false', () => {
    it('every dial falls back with reason "disabled", nothing offered on the wire', async () => {
      const d = await node({ encrypter: 'ech', ech: { policy: { env: { ECH_ENABLED: 'false' } } } })
      const b = await node({ encrypter: 'ech' })
      await shareConfig(d, b)
      expect(d.ech!.isEchEnabled()).to.be.false()
      expect(d.ech!.policy.getState()).to.deep.include({ enabled: false, source: { enabled: 'env', rolloutPercentage: 'default' } })
      const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr) }))

      for (let i = 0; i < 3; i++) {
        const { conn, out, in: inbound } = await dialOutcome(d, b, proxy.addr(b.node.peerId))
        expect(out).to.include({ direction: 'outbound', outcome: 'fallback', reason: 'disabled', path: 'stock' })
        expect(inbound).to.include({ direction: 'inbound', outcome: 'not-offered' })
        await pingOver(conn)
        await conn.close()
      }
      // on the wire: every message 1 is a stock one (32-byte e, empty payload)
      const firsts = proxy.noiseMessages().filter(m => m.message === 1)
      expect(firsts).to.have.lengthOf(3)
      for (const m of firsts) {
        expect(topLevelFields(m.bytes.subarray(32))).to.deep.equal([])
      }
      expect(d.ech!.monitor.getCounters().fallbacks.disabled).to.equal(3)
      expect(d.ech!.monitor.getCounters().handshakes.initiator_fallback).to.equal(3)
    })

    it('inbound ECH offers go to stock Noise: the listener reports fallback/disabled, the ECH dialer sees rejected without retry configs', async () => {
      const d = await node({ encrypter: 'ech', ech: { policy: { env: { ECH_ENABLED: 'false' } } } })
      const b = await node({ encrypter: 'ech' })
      // b holds d's (real, live) config: d could accept it, but its kill switch is off
      await shareConfig(b, d)
      const bThreats = collectEchEvents(b.ech!, 'ech:threat')
      const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(d.addr) }))

      const { conn, out, in: inbound } = await dialOutcome(b, d, proxy.addr(d.node.peerId))
      expect(out).to.include({ direction: 'outbound', outcome: 'rejected', retryConfigsLearned: false })
      expect(inbound).to.include({ direction: 'inbound', outcome: 'fallback', reason: 'disabled', path: 'stock' })
      // the offer really was on the wire, and stock Noise carried on regardless
      const [m1] = proxy.noiseMessages().filter(m => m.message === 1)
      expect(topLevelFields(m1.bytes.subarray(32))).to.deep.equal([1025])
      await pingOver(conn)
      expect(d.ech!.monitor.getCounters().fallbacks.disabled).to.equal(1)
      expect(d.ech!.monitor.getCounters().outerHellos).to.deep.equal({ accepted: 0, failed: 0, malformed: 0 })
      // a first contact that rejects is no downgrade: nothing was accepted from d before
      expect(bThreats).to.deep.equal([])
      expect(d.failures).to.deep.equal([])
    })
  })

  it('init enabled:false is overridden by ECH_ENABLED=true: ECH accepted', async () => {
    const a = await node({ encrypter: 'ech', ech: { enabled: false, policy: { env: { ECH_ENABLED: 'true' } } } })
    const b = await node({ encrypter: 'ech', ech: { enabled: false, policy: { env: { ECH_ENABLED: 'TRUE' } } } })
    await shareConfig(a, b)
    expect(a.ech!.policy.getState()).to.deep.include({ enabled: true, source: { enabled: 'env', rolloutPercentage: 'default' } })
    expect(b.ech!.isEchEnabled()).to.be.true()

    const { conn, out, in: inbound } = await dialOutcome(a, b)
    expect(out).to.include({ outcome: 'accepted', path: 'ech' })
    expect(inbound).to.include({ outcome: 'accepted', path: 'ech' })
    await pingOver(conn)
  })

  it('ECH_ROLLOUT_PERCENTAGE=0: fallback "rollout"; =100: accepted', async () => {
    const b = await node({ encrypter: 'ech' })
    const none = await node({ encrypter: 'ech', ech: { rolloutPercentage: 100, policy: { env: { ECH_ROLLOUT_PERCENTAGE: '0' } } } })
    const all = await node({ encrypter: 'ech', ech: { rolloutPercentage: 0, policy: { env: { ECH_ROLLOUT_PERCENTAGE: '100' } } } })
    await shareConfig(none, b)
    await shareConfig(all, b)
    expect(none.ech!.policy.getState()).to.deep.include({ rolloutPercentage: 0, source: { enabled: 'default', rolloutPercentage: 'env' } })
    expect(all.ech!.policy.getState()).to.deep.include({ rolloutPercentage: 100, source: { enabled: 'default', rolloutPercentage: 'env' } })

    const out = await dialOutcome(none, b)
    expect(out.out).to.include({ outcome: 'fallback', reason: 'rollout', path: 'stock' })
    expect(out.in).to.include({ outcome: 'not-offered' })
    await pingOver(out.conn)
    expect(none.ech!.monitor.getCounters().fallbacks.rollout).to.equal(1)

    const inRollout = await dialOutcome(all, b)
    expect(inRollout.out).to.include({ outcome: 'accepted' })
    expect(inRollout.in).to.include({ outcome: 'accepted' })
    await pingOver(inRollout.conn)
  })

  it('a bad env value (ECH_ROLLOUT_PERCENTAGE=150, ECH_ENABLED=yes) makes node creation throw EchPolicyConfigError', async () => {
    for (const [variable, value] of [['ECH_ROLLOUT_PERCENTAGE', '150'], ['ECH_ENABLED', 'yes']]) {
      const thrown = await rejection(node({ encrypter: 'ech', ech: { policy: { env: { [variable]: value } } } }))
      expect(thrown, `createLibp2p with ${variable}=${value}`).to.exist()
      const original = findError(thrown, 'EchPolicyConfigError')
      expect(original, `EchPolicyConfigError behind ${thrown?.name}: ${thrown?.message}`).to.exist()
      expect(original).to.have.property('setting', variable)
      expect(original.message).to.include(value)
    }
  })

  describe('failed outer hellos, counted where the evidence is', () => {
    it('a box on one path that breaks every outer hello: the first dial fails before B proved anything; the next dial there goes stock (address-refused) and proves B, after which that path gets stock (config-refused) while B\'s direct address keeps ECH; no breaker opens', async () => {
      const b = await node({ encrypter: 'ech' })
      const a = await node({ encrypter: 'ech' })
      await shareConfig(a, b)
      const box = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr), tamper: BREAK_ECH }))
      const target = box.addr(b.node.peerId)
      const breaker = collectEchEvents(a.ech!, 'ech:breaker')
      const outcomes = collectEchEvents(a.ech!, 'ech:outcome')

      // 1: the offer, broken in message 2
      const since = a.failures.length
      await expect(a.node.dial(target, { force: true })).to.eventually.be.rejected()
      expect((await a.nextFailure('outbound', { since })).error.name).to.equal('InvalidCryptoExchangeError')
      expect(echBreak(box.connections[0])).to.deep.equal({ offeredEch: true, tampered: true })

      // 2: stock Noise at that address, which the box lets through and which proves B
      const stock = await a.node.dial(target, { force: true })
      expect(outcomes.at(-1)).to.include({ outcome: 'fallback', reason: 'address-refused', path: 'stock' })
      expect(echBreak(box.connections[1])).to.deep.equal({ offeredEch: false, tampered: false })
      await pingOver(stock)
      await stock.close()

      // 3: B proven behind a box that refuses outer hellos: that path gets stock Noise
      const stock2 = await a.node.dial(target, { force: true })
      expect(outcomes.at(-1)).to.include({ outcome: 'fallback', reason: 'config-refused', path: 'stock' })
      await stock2.close()

      // B's own address is another path: ECH as before
      const { conn, out } = await dialOutcome(a, b)
      expect(out).to.include({ outcome: 'accepted', path: 'ech' })
      await pingOver(conn)

      expect(breaker).to.deep.equal([])
      expect(a.ech!.policy.getState().openBreakers).to.deep.equal([])
      expect(a.ech!.monitor.getCounters().fallbacks).to.include({ 'address-refused': 1, 'config-refused': 1, 'breaker-open': 0 })
    })

    it('a stock listener that finishes the handshake with our offer and then hangs up (as jvm-libp2p\'s Noise does): its answer without retry configs sends the next dial there to stock Noise (config-refused), which works', async () => {
      // a stock listener that drops its first secured connection, as a Noise that checks message 1 after message 3 would
      let dropped = 0
      const b = await node({ encrypter: 'stock', connectionGater: { denyInboundEncryptedConnection: async () => dropped++ === 0 } })
      const a = await node({ encrypter: 'ech' })
      // a stale record: B restarted as stock Noise
      await a.node.peerStore.merge(b.node.peerId, { metadata: { [ECH_PEER_STORE_KEY]: (await generateEchKey()).configList } })
      const outcomes = collectEchEvents(a.ech!, 'ech:outcome')
      // the handshake completes (stock Noise ignores the outer hello: rejected), then the listener hangs up;
      // with the muxer negotiated inside the handshake, the dial itself may even resolve first
      const first = await a.node.dial(b.addr, { force: true }).catch(() => undefined)
      if (first != null && first.status !== 'closed') {
        await pEvent(first as unknown as EventTarget, 'close', { signal: AbortSignal.timeout(5000) })
      }
      expect(outcomes.map(o => o.outcome)).to.deep.equal(['rejected'])
      const conn = await a.node.dial(b.addr, { force: true })
      expect(outcomes.at(-1)).to.include({ outcome: 'fallback', reason: 'config-refused', path: 'stock' })
      await pingOver(conn)
    })

    it('three bogus addresses for B that read message 1 and reset (a stale address, a poisoned routing result) cannot push the dial to B\'s real address off ECH', async () => {
      const b = await node({ encrypter: 'ech' })
      const a = await node({ encrypter: 'ech', ech: { policy: { failureThreshold: 3 } } })
      await shareConfig(a, b)
      const bogus = [await resetAfterMessage1(), await resetAfterMessage1(), await resetAfterMessage1()].map(server => nodes.closeAfter(server))
      const since = a.failures.length
      for (const server of bogus) {
        await expect(a.node.dial(multiaddr(`/ip4/127.0.0.1/tcp/${server.port}/p2p/${b.node.peerId}`), { force: true })).to.eventually.be.rejected()
      }
      const failed = a.failures.slice(since)
      expect(failed).to.have.lengthOf(3)
      expect(a.ech!.policy.getState().openBreakers).to.deep.equal([])

      const { conn, out } = await dialOutcome(a, b)
      expect(out).to.include({ outcome: 'accepted', path: 'ech' })
      await pingOver(conn)
    })

    it('require mode is never subject to the breaker: every dial offers ECH, none falls back', async () => {
      const b = await node({ encrypter: 'ech' })
      const a = await node({ encrypter: 'ech', ech: { mode: 'require', policy: { failureThreshold: 2 } } })
      await shareConfig(a, b)
      const breakerProxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr), tamper: BREAK_ECH }))
      const target = breakerProxy.addr(b.node.peerId)
      const outcomes = collectEchEvents(a.ech!, 'ech:outcome')
      const breaker = collectEchEvents(a.ech!, 'ech:breaker')

      for (let i = 0; i < 5; i++) {
        await expect(a.node.dial(target, { force: true })).to.eventually.be.rejected()
      }
      expect(breakerProxy.connections).to.have.lengthOf(5)
      expect(breakerProxy.connections.map(echBreak).every(c => c.offeredEch && c.tampered)).to.be.true()
      expect(outcomes).to.deep.equal([])
      expect(a.ech!.monitor.getCounters().fallbacks['breaker-open']).to.equal(0)
      expect(a.failures.map(f => f.error.name)).to.deep.equal(new Array(5).fill('InvalidCryptoExchangeError'))

      // the box stops tampering: the very next dial is ECH and accepted
      breakerProxy.tamper = undefined
      const { conn, out } = await dialOutcome(a, b, target)
      expect(out).to.include({ outcome: 'accepted' })
      await pingOver(conn)
      // require mode does not feed the breaker either: it never opened
      expect(breaker).to.deep.equal([])
      expect(a.ech!.policy.getState().openBreakers).to.deep.equal([])
    })
  })
})
