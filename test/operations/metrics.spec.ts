/**
 * The `libp2p_ech_noise_*` metrics as Prometheus scrapes them: two real
 * nodes with `@libp2p/prometheus-metrics` on their own registries, scripted
 * traffic over TCP 127.0.0.1, then `registry.metrics()` and the exact sample
 * lines on both sides.
 *
 * Traffic: A → B 3× accepted; stock C → B 2× not-offered; A → C 1× fallback
 * no-config; a raw client sends B a malformed outer hello (one threat); A →
 * B once through a box that breaks ECH (A's breaker, threshold 1, opens);
 * B rotates its key (two live keys during the grace period).
 */
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { expect } from 'aegir/chai'
import { Registry } from 'prom-client'
import { nextEchEvent, nextThreat, shareConfig, useNodes } from '../fixtures/nodes.js'
import { BREAK_ECH, createCaptureProxy } from '../fixtures/proxy.js'
import { probeHello, rawAttempt, rawOuterHelloMessage1, tcpPort } from '../fixtures/wire.js'

const ACCEPTED = 3
const NOT_OFFERED = 2

/** The scrape's `libp2p_ech_noise_*` sample lines, without histogram buckets and sums */
async function echSamples (registry: Registry): Promise<string[]> {
  const text = await registry.metrics()
  return text.split('\n')
    .filter(line => line.startsWith('libp2p_ech_noise_'))
    .filter(line => !line.startsWith('libp2p_ech_noise_handshake_duration_seconds_bucket') && !line.startsWith('libp2p_ech_noise_handshake_duration_seconds_sum'))
    .sort()
}

/** Every expected sample line; labels not listed are 0 */
function expectedSamples (values: {
  handshakes: Record<string, number>
  fallbacks: Record<string, number>
  threats: Record<string, number>
  durationCount: { ech: number, stock: number }
  liveKeys: number
  openBreakers: number
}): string[] {
  const lines: string[] = []
  for (const role of ['initiator', 'responder']) {
    for (const outcome of ['accepted', 'rejected', 'grease', 'not-offered', 'fallback', 'failed']) {
      const label = `${role}_${outcome}`
      lines.push(`libp2p_ech_noise_handshakes_total{role_outcome="${label}"} ${values.handshakes[label] ?? 0}`)
    }
  }
  for (const reason of ['disabled', 'rollout', 'breaker-open', 'address-refused', 'config-refused', 'no-peer-id', 'no-config', 'expired-config', 'unusable-config', 'not-offered', 'other']) {
    lines.push(`libp2p_ech_noise_fallbacks_total{reason="${reason}"} ${values.fallbacks[reason] ?? 0}`)
  }
  for (const kind of ['probing', 'replay', 'downgrade', 'malformed', 'require-refusals', 'bad-retry-configs', 'slow-handshake', 'half-open']) {
    lines.push(`libp2p_ech_noise_threats_total{kind="${kind}"} ${values.threats[kind] ?? 0}`)
  }
  for (const path of ['ech', 'stock'] as const) {
    if (values.durationCount[path] > 0) {
      lines.push(`libp2p_ech_noise_handshake_duration_seconds_count{path="${path}"} ${values.durationCount[path]}`)
    }
  }
  lines.push(`libp2p_ech_noise_live_keys ${values.liveKeys}`)
  lines.push(`libp2p_ech_noise_open_breakers ${values.openBreakers}`)
  return lines.sort()
}

describe('operations: Prometheus scrape after scripted traffic over TCP', function () {
  this.timeout(30_000)

  const nodes = useNodes()

  it('exact libp2p_ech_noise_* samples on both nodes', async () => {
    // created one after the other: each prometheusMetrics() clears the module's shared metric cache
    const registryA = new Registry()
    const a = await nodes.create({
      encrypter: 'ech',
      metrics: prometheusMetrics({ registry: registryA, collectDefaultMetrics: false }),
      ech: { policy: { failureThreshold: 1 } }
    })
    const registryB = new Registry()
    const b = await nodes.create({ encrypter: 'ech', metrics: prometheusMetrics({ registry: registryB, collectDefaultMetrics: false }) })
    const c = await nodes.create({ encrypter: 'stock' })
    await shareConfig(a, b)

    // k accepted
    for (let i = 0; i < ACCEPTED; i++) {
      const out = nextEchEvent(a.ech!, 'ech:outcome')
      const inbound = nextEchEvent(b.ech!, 'ech:outcome')
      await a.node.dial(b.addr, { force: true })
      expect(await out).to.include({ outcome: 'accepted' })
      expect(await inbound).to.include({ outcome: 'accepted' })
    }
    // m not-offered (a stock dialer)
    for (let i = 0; i < NOT_OFFERED; i++) {
      const inbound = nextEchEvent(b.ech!, 'ech:outcome')
      await c.node.dial(b.addr, { force: true })
      expect(await inbound).to.include({ outcome: 'not-offered' })
    }
    // one fallback: no config for the stock peer
    const fallback = nextEchEvent(a.ech!, 'ech:outcome')
    await a.node.dial(c.addr)
    expect(await fallback).to.include({ outcome: 'fallback', reason: 'no-config' })
    // one threat: a malformed outer hello
    const threat = nextThreat(b.ech!, 'malformed')
    const bFailures = b.failures.length
    await rawAttempt(tcpPort(b.addr), rawOuterHelloMessage1(probeHello({ configId: 1 }).subarray(0, 20)))
    expect(await threat).to.include({ kind: 'malformed', severity: 'low', count: 1 })
    // one broken ECH handshake: the proxy breaks message 2 when message 1 offered ECH, so A's dial
    // fails before B proved anything; it counts against that address, not against B (no breaker)
    const proxy = nodes.closeAfter(await createCaptureProxy({ target: tcpPort(b.addr), tamper: BREAK_ECH }))
    await expect(a.node.dial(proxy.addr(b.node.peerId), { force: true })).to.eventually.be.rejected()
    // B's side of that handshake ends when A hangs up instead of sending message 3
    await b.nextFailure('inbound', { since: bFailures + 1 })
    // the next dial to that address goes to stock Noise (address-refused) and works through the proxy
    const refused = nextEchEvent(a.ech!, 'ech:outcome')
    const refusedInbound = nextEchEvent(b.ech!, 'ech:outcome')
    await a.node.dial(proxy.addr(b.node.peerId), { force: true })
    expect(await refused).to.include({ outcome: 'fallback', reason: 'address-refused' })
    expect(await refusedInbound).to.include({ outcome: 'not-offered' })
    // B rotates: the retired key stays live for the grace period
    await b.ech!.keys.rotate()

    expect(await echSamples(registryA)).to.deep.equal(expectedSamples({
      handshakes: { initiator_accepted: ACCEPTED, initiator_fallback: 2, initiator_failed: 1 },
      fallbacks: { 'no-config': 1, 'address-refused': 1 },
      threats: {},
      durationCount: { ech: ACCEPTED, stock: 2 },
      liveKeys: 1,
      openBreakers: 0
    }))
    expect(await echSamples(registryB)).to.deep.equal(expectedSamples({
      handshakes: { responder_accepted: ACCEPTED, 'responder_not-offered': NOT_OFFERED + 1, responder_failed: 2 },
      fallbacks: { 'not-offered': NOT_OFFERED + 1 },
      threats: { malformed: 1 },
      durationCount: { ech: ACCEPTED, stock: NOT_OFFERED + 1 },
      liveKeys: 2,
      openBreakers: 0
    }))

    // the scrape agrees with the monitor's own counters
    expect(a.ech!.monitor.getCounters().handshakes).to.include({ initiator_accepted: ACCEPTED, initiator_fallback: 2, initiator_failed: 1 })
    expect(b.ech!.monitor.getCounters().handshakes).to.include({ responder_accepted: ACCEPTED, 'responder_not-offered': NOT_OFFERED + 1, responder_failed: 2 })
  })
})
