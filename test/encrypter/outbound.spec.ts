/**
 * The dialer's planning and settling (`encrypter/outbound.ts`) with the real
 * pieces it is given in `EchNoise`: a `PeerConfigStore` over a libp2p peer
 * store, an `EchPolicy`, an `EchMonitor` and a `Reporter`. `plan()` is driven
 * through every mode, peer situation and GREASE setting; `succeeded()` and
 * `failed()` through what each outcome feeds the breaker, the peer store and
 * the monitor. The policy's three record methods are observed (and still
 * run) to see which the wrapper called with what.
 */
import '../../src/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { encodeEchConfigList } from '../../src/config/codec.js'
import { createEchConfig } from '../../src/config/create.js'
import { registerEchConfigFinder } from '../../src/config/finders.js'
import { PeerConfigStore } from '../../src/config/peer-store.js'
import { createSignedConfigRecord } from '../../src/config/record.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { EchRejectedError } from '../../src/ech/errors.js'
import { Outbound } from '../../src/encrypter/outbound.js'
import { Reporter } from '../../src/encrypter/report.js'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { EchMonitor } from '../../src/monitor/monitor.js'
import { EchPolicy } from '../../src/policy/policy.js'
import { createNode } from '../ech/helpers.js'
import { memoryPeerStore } from '../fixtures/peer-store.js'
import type { HandshakeResult } from '../../src/ech/types.js'
import type { OutboundPlan } from '../../src/encrypter/outbound.js'
import type { Attempt } from '../../src/encrypter/report.js'
import type { EchKey, EchMode } from '../../src/index.js'
import type { EchPolicyOptions, HandshakeFailureKind } from '../../src/policy/types.js'
import type { Node } from '../ech/helpers.js'
import type { PeerId, PeerStore, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const HOUR = 60 * 60 * 1000
/** The address every planned dial goes to */
const ADDR = '/ip4/127.0.0.1/tcp/4001'
const logger = defaultLogger()
const log = logger.forComponent('test:outbound')

/** The engine's report of how far a failed dial got */
const PROVEN = { authenticated: true }
const UNPROVEN = { authenticated: false }

/** What the wrapper told the policy, in order */
type PolicyCall = ['success' | 'retry', string] | ['failure', string, HandshakeFailureKind]

/** The wrapper's collaborators as `EchNoise` wires them, over an empty peer store */
async function setup (init: { grease?: boolean, policy?: EchPolicyOptions } = {}): Promise<{ outbound: Outbound, policy: EchPolicy, monitor: EchMonitor, reporter: Reporter, peerStore: PeerStore, calls: PolicyCall[] }> {
  const peerStore = await memoryPeerStore()
  const configs = new PeerConfigStore({ peerStore, provider: nodeProvider, log })
  const policy = new EchPolicy({ logger }, { env: {}, ...init.policy })
  const calls: PolicyCall[] = []
  const recordSuccess = policy.recordSuccess.bind(policy)
  const recordRetry = policy.recordRetry.bind(policy)
  const recordFailure = policy.recordFailure.bind(policy)
  policy.recordSuccess = (peer) => { calls.push(['success', peer.toString()]); recordSuccess(peer) }
  policy.recordRetry = (peer) => { calls.push(['retry', peer.toString()]); recordRetry(peer) }
  policy.recordFailure = (peer, kind) => { calls.push(['failure', peer.toString(), kind]); recordFailure(peer, kind) }
  const monitor = new EchMonitor({ logger })
  const reporter = new Reporter(log, monitor)
  const outbound = new Outbound({ configs, policy, monitor, reporter, log, grease: init.grease === true })
  return { outbound, policy, monitor, reporter, peerStore, calls }
}

type Setup = Awaited<ReturnType<typeof setup>>

/** A plan as one comparable value: its kind, reason, what message 1 carries and whether ECH is required */
function summary (plan: OutboundPlan): Record<string, unknown> {
  if (plan.kind !== 'ech') {
    return { kind: plan.kind, reason: plan.reason }
  }
  return { kind: 'ech', reason: plan.reason, hello: plan.hello.kind, require: plan.require }
}

/** A well-formed config list whose only config uses a KEM this package does not implement */
function unusableConfigList (): Uint8Array {
  const config = { configId: 9, kemId: 0x0012, publicKey: new Uint8Array(133).fill(4), cipherSuites: [{ kdfId: 1, aeadId: 1 }], publicName: 'example.invalid' }
  return encodeEchConfigList([createEchConfig(config)])
}

describe('encrypter/outbound', function () {
  this.timeout(10_000)

  /** The peer being dialled, and the ECH key whose config the dialer holds for it */
  let peer: Node
  let remote: PeerId
  let echKey: EchKey

  before(async () => {
    peer = await createNode()
    remote = peer.peerId
    echKey = await generateEchKey()
  })

  after(() => {
    echKey.privateKey.destroy()
  })

  describe('plan()', () => {
    type Want = Record<string, unknown>
    const stock = (reason: string): Want => ({ kind: 'stock', reason })
    const refuse = (reason: string): Want => ({ kind: 'refuse', reason })
    const grease = (reason: string): Want => ({ kind: 'ech', reason, hello: 'grease', require: false })
    const offer = (require: boolean): Want => ({ kind: 'ech', reason: undefined, hello: 'offer', require })
    /** No offer: stock Noise, with GREASE on too (the peer is not known to take an outer hello, or the policy says stock) */
    const fallback = (reason: string): [Want, Want] => [stock(reason), stock(reason)]
    /** No offer: stock Noise, or GREASE when it is on (the peer is known to take an outer hello) */
    const greasable = (reason: string): [Want, Want] => [stock(reason), grease(reason)]
    /** What identify told the dialer: a Noise that takes outer hellos, and one that rejects any message-1 payload */
    const jsAgent = { agentVersion: 'js-libp2p/3.3.11 node/20.20.2', protocols: ['/ipfs/id/1.0.0'] }
    const rust043Agent = { agentVersion: 'rust-libp2p/0.43.1', protocols: ['/ipfs/id/1.0.0'] }

    interface Situation {
      name: string
      /** Omit the remote peer id */
      noPeerId?: boolean
      /** What the peer store holds for the peer under `ECH_PEER_STORE_KEY` */
      stored?(): Promise<Uint8Array>
      policy?: EchPolicyOptions
      /** Run against the policy before planning */
      prepare?(policy: EchPolicy): void
      /** What identify stored for the peer */
      identify?: { agentVersion: string, protocols: string[] }
      /** The plan in `opportunistic` mode, without and with GREASE */
      opportunistic: [Want, Want]
      /** The plan in `require` mode, with or without GREASE (`disabled` always plans stock Noise) */
      require: Want
    }

    const usable = async (): Promise<Uint8Array> => echKey.configList
    const expired = async (): Promise<Uint8Array> => createSignedConfigRecord(peer.privateKey, echKey.configList, { now: Date.now() - 49 * HOUR, ttlSeconds: 48 * 3600 })
    // `require` is not subject to rollout, breaker or kill switch: falling back would weaken the connection
    const situations: Situation[] = [
      { name: 'no peer id', noPeerId: true, opportunistic: fallback('no-peer-id'), require: refuse('no-peer-id') },
      { name: 'no config, nothing known of the peer', opportunistic: fallback('no-config'), require: refuse('no-config') },
      { name: 'no config, identify says js-libp2p', identify: jsAgent, opportunistic: greasable('no-config'), require: refuse('no-config') },
      { name: 'no config, identify says rust-libp2p 0.43 (rejects any message-1 payload)', identify: rust043Agent, opportunistic: fallback('no-config'), require: refuse('no-config') },
      {
        name: 'no config, an outer-hello handshake with the peer completed before',
        prepare: (policy) => { policy.recordOuterHelloCompleted(remote) },
        opportunistic: greasable('no-config'),
        require: refuse('no-config')
      },
      {
        name: 'no config, js-libp2p, but its address refused an outer hello and the stock handshake there proved it',
        identify: jsAgent,
        prepare: (policy) => { policy.recordUnprovenFailure(remote, ADDR); policy.recordStockSuccess(remote, ADDR) },
        // with GREASE on, the reason says it is the address, not the lack of a config
        opportunistic: [stock('no-config'), stock('address-refused')],
        require: refuse('no-config')
      },
      {
        name: 'a usable config, its address refused an outer hello before the responder proved itself',
        stored: usable,
        prepare: (policy) => { policy.recordUnprovenFailure(remote, ADDR, echKey.config.raw) },
        opportunistic: fallback('address-refused'),
        require: offer(true)
      },
      {
        name: 'a usable config the peer refused at this address (it refused the offer, then proved the peer over stock Noise)',
        stored: usable,
        prepare: (policy) => { policy.recordUnprovenFailure(remote, ADDR, echKey.config.raw); policy.recordStockSuccess(remote, ADDR) },
        opportunistic: fallback('config-refused'),
        require: offer(true)
      },
      { name: 'a usable config', stored: usable, opportunistic: [offer(false), offer(false)], require: offer(true) },
      // signed for 48 h, 49 h ago
      { name: 'an expired signed record', stored: expired, opportunistic: fallback('expired-config'), require: refuse('expired-config') },
      { name: 'an unusable config', stored: async () => unusableConfigList(), opportunistic: fallback('unusable-config'), require: refuse('unusable-config') },
      { name: 'a usable config, rollout 0 %', stored: usable, policy: { rolloutPercentage: 0 }, opportunistic: fallback('rollout'), require: offer(true) },
      // the policy's stock answers never turn into GREASE, even for a peer that takes outer hellos
      { name: 'no config, js-libp2p, rollout 0 %', identify: jsAgent, policy: { rolloutPercentage: 0 }, opportunistic: fallback('no-config'), require: refuse('no-config') },
      {
        name: 'a usable config, the breaker open',
        stored: usable,
        policy: { failureThreshold: 1 },
        prepare: (policy) => { policy.recordFailure(remote, 'decode') },
        opportunistic: fallback('breaker-open'),
        require: offer(true)
      },
      {
        name: 'no config, js-libp2p, the breaker open',
        identify: jsAgent,
        policy: { failureThreshold: 1 },
        prepare: (policy) => { policy.recordFailure(remote, 'decode') },
        opportunistic: fallback('no-config'),
        require: refuse('no-config')
      },
      // the kill switch is applied by EchNoise, which plans in mode `disabled` while it is off;
      // plan() itself only hears of it through the policy's answer, which also stops GREASE
      { name: 'a usable config, the kill switch off', stored: usable, policy: { enabled: false }, opportunistic: fallback('disabled'), require: offer(true) },
      { name: 'no config, js-libp2p, the kill switch off', identify: jsAgent, policy: { enabled: false }, opportunistic: fallback('no-config'), require: refuse('no-config') }
    ]

    function expected (mode: EchMode, situation: Situation, greaseOn: boolean): Want {
      switch (mode) {
        case 'opportunistic': return situation.opportunistic[greaseOn ? 1 : 0]
        case 'require': return situation.require
        default: return stock('disabled')
      }
    }

    /** Plan a dial in `mode` with the peer in `situation`; the plan must be `want` */
    async function checkPlan (mode: EchMode, situation: Situation, greaseOn: boolean, want: Want): Promise<void> {
      const s = await setup({ grease: greaseOn, policy: situation.policy })
      if (situation.stored != null) {
        await s.peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: await situation.stored() } })
      }
      if (situation.identify != null) {
        await s.peerStore.merge(remote, { metadata: { AgentVersion: new TextEncoder().encode(situation.identify.agentVersion) }, protocols: situation.identify.protocols })
      }
      situation.prepare?.(s.policy)
      const plan = await s.outbound.plan(mode, situation.noPeerId === true ? undefined : remote, ADDR)
      expect(summary(plan)).to.deep.equal(want)
      if (plan.kind === 'ech' && plan.hello.kind === 'offer') {
        // the offer is the stored config, addressed to the peer being dialled
        expect(plan.hello.offer.config.configId).to.equal(echKey.config.configId)
        expect(plan.hello.targetPeer.equals(remote)).to.be.true()
      }
    }

    function title (situation: Situation, greaseOn: boolean, want: Want): string {
      const what = want.kind === 'ech' ? `${String(want.hello)}${want.require === true ? ' (required)' : ''}` : String(want.kind)
      return `${situation.name}, GREASE ${greaseOn ? 'on' : 'off'}: ${what}${want.reason != null ? ` (${String(want.reason)})` : ''}`
    }

    for (const mode of ['opportunistic', 'require', 'disabled'] as const) {
      describe(`mode ${mode}`, () => {
        for (const situation of situations) {
          for (const greaseOn of [false, true]) {
            const want = expected(mode, situation, greaseOn)
            it(title(situation, greaseOn, want), async () => { await checkPlan(mode, situation, greaseOn, want) })
          }
        }
      })
    }
  })

  describe('plan() and the config finders (the DHT)', () => {
    /** A finder that stores the peer's config when asked, and counts the peers it was asked about */
    function storingFinder (s: Setup): { asked: string[], unregister(): void } {
      const asked: string[] = []
      const unregister = registerEchConfigFinder(s.peerStore, {
        timeout: 1000,
        find: async (peer) => {
          asked.push(peer.toString())
          await s.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: echKey.configList } })
        }
      })
      return { asked, unregister }
    }

    const cases: Array<{ name: string, mode: EchMode, policy?: EchPolicyOptions, asked: boolean, want: Record<string, unknown> }> = [
      { name: 'opportunistic: asked, and its config offered', mode: 'opportunistic', asked: true, want: { kind: 'ech', reason: undefined, hello: 'offer', require: false } },
      { name: 'require: asked (not subject to the policy), and its config offered', mode: 'require', policy: { rolloutPercentage: 0 }, asked: true, want: { kind: 'ech', reason: undefined, hello: 'offer', require: true } },
      { name: 'opportunistic, rollout 0 %: not asked, stock Noise', mode: 'opportunistic', policy: { rolloutPercentage: 0 }, asked: false, want: { kind: 'stock', reason: 'no-config' } },
      { name: 'opportunistic, the kill switch off: not asked, stock Noise', mode: 'opportunistic', policy: { enabled: false }, asked: false, want: { kind: 'stock', reason: 'no-config' } }
    ]
    async function check (c: typeof cases[number]): Promise<void> {
      const s = await setup({ policy: c.policy })
      const finder = storingFinder(s)
      try {
        const plan = await s.outbound.plan(c.mode, remote, ADDR)
        expect(finder.asked).to.deep.equal(c.asked ? [remote.toString()] : [])
        expect(summary(plan)).to.deep.equal(c.want)
      } finally {
        finder.unregister()
      }
    }
    for (const c of cases) {
      it(c.name, async () => { await check(c) })
    }

    it('a dial whose signal aborts stops waiting for a finder at once, not at the finder\'s bound', async () => {
      const s = await setup()
      const controller = new AbortController()
      // a finder that answers only when its own wait is cut short, with a bound far beyond mocha's timeout
      const unregister = registerEchConfigFinder(s.peerStore, {
        timeout: 10 * 60_000,
        find: async (_peer, { signal }) => {
          controller.abort()
          await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
        }
      })
      try {
        const plan = await s.outbound.plan('opportunistic', remote, ADDR, controller.signal)
        expect(summary(plan)).to.deep.equal({ kind: 'stock', reason: 'no-config' })
      } finally {
        unregister()
      }
    })
  })

  describe('succeeded() and failed()', () => {
    /** A real offer to `remote` from its stored config, and the attempt it belongs to */
    async function offered (s: Setup, mode: EchMode = 'opportunistic'): Promise<{ plan: OutboundPlan & { kind: 'ech' }, attempt: Attempt }> {
      await s.peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: echKey.configList } })
      const attempt = attemptTo(s, remote)
      const plan = await s.outbound.plan(mode, remote, addressOf(attempt))
      if (plan.kind !== 'ech' || plan.hello.kind !== 'offer') { throw new Error(`expected an offer, planned ${JSON.stringify(summary(plan))}`) }
      return { plan, attempt }
    }

    /** A GREASE dial to a peer that completed an outer-hello handshake before */
    async function greased (s: Setup): Promise<{ plan: OutboundPlan & { kind: 'ech' }, attempt: Attempt }> {
      s.policy.recordOuterHelloCompleted(remote)
      const attempt = attemptTo(s, remote)
      const plan = await s.outbound.plan('opportunistic', remote, addressOf(attempt))
      if (plan.kind !== 'ech' || plan.hello.kind !== 'grease') { throw new Error(`expected GREASE, planned ${JSON.stringify(summary(plan))}`) }
      return { plan, attempt }
    }

    function attemptTo (s: Setup, remotePeer?: PeerId, remoteAddr?: Multiaddr): Attempt {
      const [connection] = multiaddrConnectionPair()
      const attempt = s.reporter.start(connection, 'outbound', { remotePeer })
      return remoteAddr == null ? attempt : { ...attempt, remoteAddr }
    }

    function addressOf (attempt: Attempt): string | undefined {
      return attempt.remoteAddr?.toString()
    }

    /** The fields of a handshake result the wrapper reads */
    function result (fields: Pick<HandshakeResult, 'ech'> & Partial<HandshakeResult>): HandshakeResult {
      return fields as HandshakeResult
    }

    async function stored (s: Setup): Promise<Uint8Array | undefined> {
      return (await s.peerStore.get(remote)).metadata.get(ECH_PEER_STORE_KEY)
    }

    async function freshRecord (signer: PrivateKey = peer.privateKey): Promise<Uint8Array> {
      return createSignedConfigRecord(signer, (await generateEchKey({ avoidConfigIds: [echKey.config.configId] })).configList)
    }

    it('accepted: success for the breaker, reported accepted with the config id', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      await s.outbound.succeeded(attempt, plan, result({ ech: 'accepted', configId: echKey.config.configId }), remote)
      expect(s.calls).to.deep.equal([['success', remote.toString()]])
      expect(s.reporter.get(attempt.connection)).to.include({ outcome: 'accepted', configId: echKey.config.configId, retryConfigsLearned: false })
    })

    it('rejected with valid retry configs: stored, a retry (not a success) for the breaker, reported as learned', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      const record = await freshRecord()
      await s.outbound.succeeded(attempt, plan, result({ ech: 'rejected', retryRecord: record }), remote)
      expect(s.calls).to.deep.equal([['retry', remote.toString()]])
      expect(await stored(s)).to.equalBytes(record)
      expect(s.reporter.get(attempt.connection)).to.include({ outcome: 'rejected', retryConfigsLearned: true, configId: echKey.config.configId })
      expect(s.monitor.getCounters().threats['bad-retry-configs']).to.equal(0)
    })

    it('rejected without retry configs: a success for the breaker (the peer answered), nothing learned', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      await s.outbound.succeeded(attempt, plan, result({ ech: 'rejected' }), remote)
      expect(s.calls).to.deep.equal([['success', remote.toString()]])
      expect(await stored(s)).to.equalBytes(echKey.configList)
      expect(s.reporter.get(attempt.connection)).to.include({ outcome: 'rejected', retryConfigsLearned: false })
    })

    it('rejected with retry configs signed by another key: refused, bad-retry-configs counted, nothing stored, a success for the breaker', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      const forged = await freshRecord(await generateKeyPair('Ed25519'))
      await s.outbound.succeeded(attempt, plan, result({ ech: 'rejected', retryRecord: forged }), remote)
      expect(s.monitor.getCounters().threats['bad-retry-configs']).to.equal(1)
      expect(await stored(s)).to.equalBytes(echKey.configList)
      expect(s.calls).to.deep.equal([['success', remote.toString()]])
      expect(s.reporter.get(attempt.connection)).to.include({ outcome: 'rejected', retryConfigsLearned: false })
    })

    it('require mode: an accepted offer does not touch the breaker', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s, 'require')
      expect(plan.require).to.be.true()
      await s.outbound.succeeded(attempt, plan, result({ ech: 'accepted', configId: echKey.config.configId }), remote)
      expect(s.calls).to.deep.equal([])
      expect(s.reporter.get(attempt.connection)).to.include({ outcome: 'accepted' })
    })

    it('GREASE: neither success nor failure for the breaker, reported as grease', async () => {
      const s = await setup({ grease: true })
      const { plan, attempt } = await greased(s)
      expect(summary(plan)).to.deep.equal({ kind: 'ech', reason: 'no-config', hello: 'grease', require: false })
      await s.outbound.succeeded(attempt, plan, result({ ech: 'grease' }), remote)
      expect(s.calls).to.deep.equal([])
      expect(s.reporter.get(attempt.connection)).to.include({ outcome: 'grease', path: 'ech' })
    })

    const failures: Array<{ name: string, error(): Error, kind?: HandshakeFailureKind }> = [
      { name: 'InvalidCryptoExchangeError', error: () => named('InvalidCryptoExchangeError'), kind: 'decode' },
      { name: 'EchDecodeError', error: () => named('EchDecodeError'), kind: 'decode' },
      { name: 'UnexpectedEOFError', error: () => named('UnexpectedEOFError'), kind: 'close' },
      { name: 'StreamResetError', error: () => named('StreamResetError'), kind: 'reset' },
      { name: 'EchRefusedError', error: () => named('EchRefusedError'), kind: 'close' },
      { name: 'an ECONNRESET', error: () => Object.assign(new Error('reset by peer'), { code: 'ECONNRESET' }), kind: 'reset' },
      { name: 'TimeoutError', error: () => named('TimeoutError'), kind: 'timeout' },
      { name: 'AbortError', error: () => named('AbortError'), kind: 'timeout' },
      { name: 'an unknown error', error: () => named('SomethingElseError'), kind: 'other' },
      // the wrong peer answered: not ECH's fault
      { name: 'UnexpectedPeerError', error: () => named('UnexpectedPeerError') }
    ]
    failures.forEach(f => {
      it(`a failure after an offer and after the responder proved itself (${f.name}) feeds the breaker ${f.kind != null ? `as '${f.kind}'` : 'nothing'} and is reported failed`, async () => {
        const s = await setup()
        const { plan, attempt } = await offered(s)
        const err = f.error()
        await s.outbound.failed(attempt, plan, err, PROVEN)
        expect(s.calls).to.deep.equal(f.kind != null ? [['failure', remote.toString(), f.kind]] : [])
        expect(s.monitor.getCounters().handshakes.initiator_failed).to.equal(1)
        expect(s.reporter.get(attempt.connection)).to.be.undefined()
      })
    })

    it('failures after offers open the breaker at the threshold, and the next plan falls back (breaker-open)', async () => {
      const s = await setup({ policy: { failureThreshold: 2 } })
      for (let i = 0; i < 2; i++) {
        const { plan, attempt } = await offered(s)
        await s.outbound.failed(attempt, plan, named('InvalidCryptoExchangeError'), PROVEN)
      }
      expect(s.policy.getState().openBreakers.map(b => b.peer)).to.deep.equal([remote.toString()])
      expect(summary(await s.outbound.plan('opportunistic', remote))).to.deep.equal({ kind: 'stock', reason: 'breaker-open' })
    })

    it('failures before the responder proved itself never open the peer\'s breaker: three bogus addresses do not downgrade the real one', async () => {
      const s = await setup({ policy: { failureThreshold: 3 } })
      await s.peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: echKey.configList } })
      for (let port = 1; port <= 3; port++) {
        const attempt = attemptTo(s, remote, multiaddr(`/ip4/192.0.2.${port}/tcp/4001`))
        const plan = await s.outbound.plan('opportunistic', remote, addressOf(attempt))
        expect(summary(plan)).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: false })
        await s.outbound.failed(attempt, plan as OutboundPlan & { kind: 'ech' }, named('UnexpectedEOFError'), UNPROVEN)
      }
      expect(s.policy.getState().openBreakers).to.deep.equal([])
      // the real address still gets the offer; each bogus one now gets stock Noise
      expect(summary(await s.outbound.plan('opportunistic', remote, '/ip4/198.51.100.7/tcp/4001'))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: false })
      expect(summary(await s.outbound.plan('opportunistic', remote, '/ip4/192.0.2.1/tcp/4001'))).to.deep.equal({ kind: 'stock', reason: 'address-refused' })
    })

    it('an offer refused before proof, then a stock handshake at that address proving the peer: that config is not offered there again until it changes; other addresses keep it', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      await s.outbound.failed(attempt, plan, named('UnexpectedEOFError'), UNPROVEN)
      const next = attemptTo(s, remote, attempt.remoteAddr)
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(next)))).to.deep.equal({ kind: 'stock', reason: 'address-refused' })
      s.outbound.stockSucceeded(next, remote)
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(next)))).to.deep.equal({ kind: 'stock', reason: 'config-refused' })
      // a box on one path cannot downgrade the peer's other addresses
      expect(summary(await s.outbound.plan('opportunistic', remote, '/ip4/198.51.100.7/tcp/4001'))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: false })
      // a new config (the peer upgraded, or its operator published one) is offered there again
      const fresh = await generateEchKey()
      await s.peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: fresh.configList } })
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(next)))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: false })
      fresh.privateKey.destroy()
    })

    it('a responder that answers our offer as stock Noise (rejected, no retry configs) gets stock Noise there next (config-refused); other addresses keep the offer', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      await s.outbound.succeeded(attempt, plan, result({ ech: 'rejected' }), remote)
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(attempt)))).to.deep.equal({ kind: 'stock', reason: 'config-refused' })
      expect(summary(await s.outbound.plan('opportunistic', remote, '/ip4/198.51.100.7/tcp/4001'))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: false })
      // require mode is never subject to it
      expect(summary(await s.outbound.plan('require', remote, addressOf(attempt)))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: true })
    })

    it('a responder that rejects our offer with retry configs runs this package: the new config is offered there next', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      await s.outbound.succeeded(attempt, plan, result({ ech: 'rejected', retryRecord: await freshRecord() }), remote)
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(attempt)))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: false })
    })

    it('only the responder\'s first frame marks it as taking outer hellos (and so eligible for GREASE); the handshake alone does not', async () => {
      const s = await setup({ grease: true })
      const { plan, attempt } = await offered(s)
      await s.outbound.succeeded(attempt, plan, result({ ech: 'accepted', configId: echKey.config.configId }), remote)
      // no config any more: GREASE needs the peer to be known to take outer hellos
      await s.peerStore.merge(remote, { metadata: { [ECH_PEER_STORE_KEY]: undefined } })
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(attempt)))).to.deep.equal({ kind: 'stock', reason: 'no-config' })
      s.outbound.watchFirstFrame(attempt)?.firstFrame()
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(attempt)))).to.deep.equal({ kind: 'ech', reason: 'no-config', hello: 'grease', require: false })
    })

    it('a stock handshake that cannot prove the peer (a bogus address) leaves the refusal on that address only', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s)
      await s.outbound.failed(attempt, plan, named('UnexpectedEOFError'), UNPROVEN)
      // no stockSucceeded: the stock dial to a bogus address fails
      expect(summary(await s.outbound.plan('opportunistic', remote, '/ip4/198.51.100.7/tcp/4001'))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: false })
    })

    it('require mode: a failure never feeds the breaker', async () => {
      const s = await setup({ policy: { failureThreshold: 1 } })
      const { plan, attempt } = await offered(s, 'require')
      await s.outbound.failed(attempt, plan, named('InvalidCryptoExchangeError'), UNPROVEN)
      expect(s.calls).to.deep.equal([])
      expect(s.policy.getState().openBreakers).to.deep.equal([])
      // nor the refusals: require mode keeps offering
      expect(summary(await s.outbound.plan('require', remote, addressOf(attempt)))).to.deep.equal({ kind: 'ech', reason: undefined, hello: 'offer', require: true })
    })

    it('a GREASE handshake that fails does not feed the breaker; failing before proof, the next dial there gets stock Noise, and once the peer is proven there no more GREASE', async () => {
      const s = await setup({ grease: true })
      const { plan, attempt } = await greased(s)
      await s.outbound.failed(attempt, plan, named('UnexpectedEOFError'), UNPROVEN)
      expect(s.calls).to.deep.equal([])
      expect(s.monitor.getCounters().handshakes.initiator_failed).to.equal(1)
      const next = attemptTo(s, remote, attempt.remoteAddr)
      expect(summary(await s.outbound.plan('opportunistic', remote, addressOf(next)))).to.deep.equal({ kind: 'stock', reason: 'address-refused' })
      s.outbound.stockSucceeded(next, remote)
      expect(summary(await s.outbound.plan('opportunistic', remote, '/ip4/198.51.100.7/tcp/4001'))).to.deep.equal({ kind: 'stock', reason: 'no-config' })
    })

    it('require mode, EchRejectedError with valid retry configs: stored, refusal counted and reported, the breaker untouched', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s, 'require')
      const record = await freshRecord()
      await s.outbound.failed(attempt, plan, new EchRejectedError(undefined, { retryRecord: record, remotePeer: remote }), PROVEN)
      expect(await stored(s)).to.equalBytes(record)
      expect(s.calls).to.deep.equal([])
      expect(s.monitor.getCounters().requireRefusals).to.equal(1)
      expect(s.reporter.get(attempt.connection)).to.include({
        outcome: 'rejected', reason: 'require-refused', retryConfigsLearned: true, configId: echKey.config.configId, error: 'EchRejectedError'
      })
    })

    it('require mode, EchRejectedError with a bad retry record: refused, bad-retry-configs counted, nothing stored', async () => {
      const s = await setup()
      const { plan, attempt } = await offered(s, 'require')
      const forged = await freshRecord(await generateKeyPair('Ed25519'))
      await s.outbound.failed(attempt, plan, new EchRejectedError(undefined, { retryRecord: forged, remotePeer: remote }), PROVEN)
      expect(s.monitor.getCounters().threats['bad-retry-configs']).to.equal(1)
      expect(await stored(s)).to.equalBytes(echKey.configList)
      expect(s.calls).to.deep.equal([])
      expect(s.reporter.get(attempt.connection)).to.include({ outcome: 'rejected', retryConfigsLearned: false, error: 'EchRejectedError' })
    })
  })
})

/** An error with this `name`, as the failure classification reads it */
function named (name: string): Error {
  const err = new Error(name)
  err.name = name
  return err
}
