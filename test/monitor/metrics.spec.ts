import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { expect } from 'aegir/chai'
import { Registry } from 'prom-client'
import { DURATION_BUCKETS_SECONDS, EchMonitor } from '../../src/monitor/index.js'
import { enc, fakePeer, harness, recordingLogger, tcp } from './helpers.js'
import type { EchMonitorInit } from '../../src/monitor/index.js'
import type { Metrics } from '@libp2p/interface'

/** A real `@libp2p/prometheus-metrics` instance on its own registry (it also clears its global metric cache) */
function prometheus (): { metrics: Metrics, registry: Registry } {
  const registry = new Registry()
  const metrics = prometheusMetrics({ registry, collectDefaultMetrics: false })({ logger: recordingLogger().logger })
  return { metrics, registry }
}

/** The scrape's sample lines for one metric name (HELP/TYPE lines dropped) */
async function samples (registry: Registry, name: string): Promise<string[]> {
  const text = await registry.metrics()
  return text.split('\n').filter(line => line.startsWith(`${name}{`) || line.startsWith(`${name} `) || line.startsWith(`${name}_`))
}

async function types (registry: Registry): Promise<string[]> {
  const text = await registry.metrics()
  return text.split('\n').filter(line => line.startsWith('# TYPE libp2p_ech_noise_'))
}

function monitorWith (metrics: Metrics, init: EchMonitorInit = {}): EchMonitor {
  return harness(init, metrics).monitor
}

describe('monitor/metrics', () => {
  it('registers every metric with its type', async () => {
    const { metrics, registry } = prometheus()
    monitorWith(metrics, { getLiveKeys: () => 2, getOpenBreakers: () => 0 })
    expect(await types(registry)).to.deep.equal([
      '# TYPE libp2p_ech_noise_handshakes_total counter',
      '# TYPE libp2p_ech_noise_fallbacks_total counter',
      '# TYPE libp2p_ech_noise_threats_total counter',
      '# TYPE libp2p_ech_noise_handshake_duration_seconds histogram',
      '# TYPE libp2p_ech_noise_live_keys gauge',
      '# TYPE libp2p_ech_noise_open_breakers gauge'
    ])
  })

  it('counts handshakes under role_outcome, with every series present from the start', async () => {
    const { metrics, registry } = prometheus()
    const monitor = monitorWith(metrics)
    const base = { durationMs: 5, remotePeer: fakePeer('p') }
    monitor.handshake({ ...base, role: 'initiator', outcome: 'accepted', path: 'ech' })
    monitor.handshake({ ...base, role: 'initiator', outcome: 'accepted', path: 'ech' })
    monitor.handshake({ ...base, role: 'initiator', outcome: 'rejected', path: 'ech', retryConfigs: true })
    monitor.handshake({ ...base, role: 'initiator', outcome: 'grease', path: 'ech' })
    monitor.handshake({ ...base, role: 'initiator', outcome: 'fallback', path: 'stock' })
    monitor.handshake({ ...base, role: 'initiator', outcome: 'failed', path: 'ech' })
    monitor.handshake({ ...base, role: 'responder', outcome: 'accepted', path: 'ech' })
    monitor.handshake({ ...base, role: 'responder', outcome: 'not-offered', path: 'stock' })
    monitor.handshake({ ...base, role: 'responder', outcome: 'not-offered', path: 'stock' })
    monitor.handshake({ ...base, role: 'responder', outcome: 'failed', path: 'stock' })
    const n = 'libp2p_ech_noise_handshakes_total'
    expect(await samples(registry, n)).to.deep.equal([
      `${n}{role_outcome="initiator_accepted"} 2`,
      `${n}{role_outcome="initiator_rejected"} 1`,
      `${n}{role_outcome="initiator_grease"} 1`,
      `${n}{role_outcome="initiator_not-offered"} 0`,
      `${n}{role_outcome="initiator_fallback"} 1`,
      `${n}{role_outcome="initiator_failed"} 1`,
      `${n}{role_outcome="responder_accepted"} 1`,
      `${n}{role_outcome="responder_rejected"} 0`,
      `${n}{role_outcome="responder_grease"} 0`,
      `${n}{role_outcome="responder_not-offered"} 2`,
      `${n}{role_outcome="responder_fallback"} 0`,
      `${n}{role_outcome="responder_failed"} 1`
    ])
    expect(monitor.getCounters().handshakes).to.deep.equal({
      initiator_accepted: 2,
      initiator_rejected: 1,
      initiator_grease: 1,
      'initiator_not-offered': 0,
      initiator_fallback: 1,
      initiator_failed: 1,
      responder_accepted: 1,
      responder_rejected: 0,
      responder_grease: 0,
      'responder_not-offered': 2,
      responder_fallback: 0,
      responder_failed: 1
    })
  })

  it('counts fallbacks by reason, unknown reasons as other', async () => {
    const { metrics, registry } = prometheus()
    const monitor = monitorWith(metrics)
    monitor.fallback('no-config')
    monitor.fallback('no-config')
    monitor.fallback('breaker-open', fakePeer('p'))
    monitor.fallback('not-offered')
    monitor.fallback('expired-config')
    monitor.fallback('a new reason nobody typed' as any)
    const n = 'libp2p_ech_noise_fallbacks_total'
    expect(await samples(registry, n)).to.deep.equal([
      `${n}{reason="disabled"} 0`,
      `${n}{reason="rollout"} 0`,
      `${n}{reason="breaker-open"} 1`,
      `${n}{reason="address-refused"} 0`,
      `${n}{reason="config-refused"} 0`,
      `${n}{reason="no-peer-id"} 0`,
      `${n}{reason="no-config"} 2`,
      `${n}{reason="expired-config"} 1`,
      `${n}{reason="unusable-config"} 0`,
      `${n}{reason="not-offered"} 1`,
      `${n}{reason="other"} 1`
    ])
  })

  it('counts every threat detection by kind, including rate-limited ones', async () => {
    const { metrics, registry } = prometheus()
    const monitor = monitorWith(metrics)
    const e = enc()
    monitor.outerHelloAccepted({ enc: e })
    monitor.outerHelloAccepted({ enc: e })
    monitor.outerHelloAccepted({ enc: e })
    for (let i = 0; i < 12; i++) {
      monitor.outerHelloFailed({ remoteAddr: tcp('192.0.2.1') })
      monitor.probe({ remoteAddr: tcp('192.0.2.1') })
    }
    for (let i = 0; i < 10; i++) {
      monitor.inboundStarted(tcp('192.0.2.3'))
    }
    for (let i = 0; i < 4; i++) {
      monitor.malformed({ remoteAddr: tcp('192.0.2.2'), error: 'EchDecodeError' })
    }
    const n = 'libp2p_ech_noise_threats_total'
    expect(await samples(registry, n)).to.deep.equal([
      `${n}{kind="probing"} 2`,
      `${n}{kind="replay"} 2`,
      `${n}{kind="downgrade"} 0`,
      `${n}{kind="malformed"} 4`,
      `${n}{kind="require-refusals"} 0`,
      `${n}{kind="bad-retry-configs"} 0`,
      `${n}{kind="slow-handshake"} 0`,
      `${n}{kind="half-open"} 2`
    ])
  })

  it('observes completed handshake durations in seconds by path; failures and closed rejections are not timed', async () => {
    const { metrics, registry } = prometheus()
    const monitor = monitorWith(metrics)
    for (const [path, durationMs] of [['ech', 3], ['ech', 40], ['ech', 1500], ['stock', 0.5], ['stock', 20000]] as const) {
      monitor.handshake({ role: 'initiator', outcome: path === 'ech' ? 'accepted' : 'fallback', path, durationMs })
    }
    monitor.handshake({ role: 'initiator', outcome: 'failed', path: 'ech', durationMs: 10_000 })
    monitor.handshake({ role: 'initiator', outcome: 'accepted', path: 'ech', durationMs: NaN })
    monitor.handshake({ role: 'initiator', outcome: 'rejected', path: 'ech', durationMs: 2, error: 'EchRejectedError' })
    const n = 'libp2p_ech_noise_handshake_duration_seconds'
    const buckets = (path: string, counts: number[], total: number, sum: number): string[] => [
      ...DURATION_BUCKETS_SECONDS.map((le, i) => `${n}_bucket{le="${le}",path="${path}"} ${counts[i]}`),
      `${n}_bucket{le="+Inf",path="${path}"} ${total}`,
      `${n}_sum{path="${path}"} ${sum}`,
      `${n}_count{path="${path}"} ${total}`
    ]
    expect(DURATION_BUCKETS_SECONDS).to.deep.equal([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
    expect(await samples(registry, n)).to.deep.equal([
      //                 1ms 2.5 5  10 25 50 .1 .25 .5 1  2.5 5  10
      ...buckets('ech', [0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3], 3, 0.003 + 0.04 + 1.5),
      ...buckets('stock', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 2, 0.0005 + 20)
    ])
  })

  it('computes live keys and open breakers at scrape time from the callbacks', async () => {
    const { metrics, registry } = prometheus()
    let keys = 1
    let calls = 0
    monitorWith(metrics, { getLiveKeys: () => { calls++; return keys }, getOpenBreakers: () => 4 })
    expect(calls).to.equal(0)
    expect(await samples(registry, 'libp2p_ech_noise_live_keys')).to.deep.equal(['libp2p_ech_noise_live_keys 1'])
    keys = 3
    expect(await samples(registry, 'libp2p_ech_noise_live_keys')).to.deep.equal(['libp2p_ech_noise_live_keys 3'])
    expect(await samples(registry, 'libp2p_ech_noise_open_breakers')).to.deep.equal(['libp2p_ech_noise_open_breakers 4'])
    expect(calls).to.equal(3)
  })

  it('a throwing callback does not fail the scrape: the gauge reads NaN', async () => {
    const { metrics, registry } = prometheus()
    monitorWith(metrics, { getLiveKeys: () => { throw new Error('key manager stopped') } })
    const [line] = await samples(registry, 'libp2p_ech_noise_live_keys')
    expect(line.toLowerCase()).to.equal('libp2p_ech_noise_live_keys nan')
    expect(await samples(registry, 'libp2p_ech_noise_open_breakers')).to.deep.equal([])
  })

  it('a second monitor on the same Metrics shares the series instead of throwing', async () => {
    const { metrics, registry } = prometheus()
    monitorWith(metrics, { getLiveKeys: () => 1 }).fallback('rollout')
    monitorWith(metrics, { getLiveKeys: () => 2 }).fallback('rollout')
    expect(await samples(registry, 'libp2p_ech_noise_fallbacks_total')).to.include('libp2p_ech_noise_fallbacks_total{reason="rollout"} 2')
  })

  it('works without a Metrics component', () => {
    const { monitor } = harness()
    monitor.handshake({ role: 'initiator', outcome: 'accepted', path: 'ech', durationMs: 1 })
    monitor.fallback('no-config')
    monitor.malformed({ error: 'EchDecodeError' })
    expect(monitor.getCounters().handshakes.initiator_accepted).to.equal(1)
  })
})
