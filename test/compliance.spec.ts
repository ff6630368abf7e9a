/**
 * The libp2p connection-encrypter compliance suite
 * (`@libp2p/interface-compliance-tests/connection-encryption`), run against
 * `echNoise` three times:
 *
 * 1. no configs: every connection goes to the stock Noise encrypter;
 * 2. ECH accepted: both encrypters share one real peer store holding each
 * side's config under `ECH_PEER_STORE_KEY`;
 * 3. `require` mode on both sides, with configs.
 *
 * The outcome events are recorded so each run can prove which path it took.
 */
import './fixtures/nodes.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import tests from '@libp2p/interface-compliance-tests/connection-encryption'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { persistentPeerStore } from '@libp2p/peer-store'
import { expect } from 'aegir/chai'
import { MemoryDatastore } from 'datastore-core'
import { TypedEventEmitter } from 'main-event'
import { ECH_PEER_STORE_KEY, echNoise } from '../src/index.js'
import type { EchConnectionInfo, EchHandshakeError, EchMode, EchNoise } from '../src/index.js'
import type { Libp2pEvents, PeerStore, PrivateKey, StreamMuxerFactory, Upgrader } from '@libp2p/interface'

interface Recorded {
  ech: EchNoise
  /** The config id of the encrypter's key at setup */
  configId: number
  outcomes: EchConnectionInfo[]
  errors: EchHandshakeError[]
}

interface HarnessInit {
  mode?: EchMode
  /** How each encrypter publishes its config to the shared peer store (none: no config) */
  configs?: 'wire' | 'signed-record'
}

/**
 * A minimal upgrader: the wrapper and the stock encrypter may only ask it for
 * the stream muxers (and, in `require` mode at start-up, which connection
 * encrypters the node has). Touching anything else fails the test.
 */
function strictUpgrader (touched: string[]): Upgrader {
  const target = {
    getStreamMuxers: () => new Map<string, StreamMuxerFactory>(),
    getConnectionEncrypters: () => new Map([['/noise', {}]])
  }
  return new Proxy(target, {
    get (t, prop) {
      if (prop === 'getStreamMuxers' || prop === 'getConnectionEncrypters') { return t[prop] }
      // promise detection and inspection are harmless
      if (prop === 'then' || typeof prop === 'symbol') { return undefined }
      touched.push(String(prop))
      throw new Error(`the encrypter touched upgrader.${String(prop)}`)
    }
  }) as unknown as Upgrader
}

function harness (init: HarnessInit): {
  setup(opts?: { privateKey: PrivateKey }): Promise<EchNoise>
  teardown(): Promise<void>
  recorded: Recorded[]
  upgraderTouched: string[]
} {
  const logger = defaultLogger()
  const recorded: Recorded[] = []
  const upgraderTouched: string[] = []
  let peerStore: PeerStore | undefined
  // one event bus for the peer store and the encrypters, as in a libp2p node
  const events = new TypedEventEmitter<Libp2pEvents>()

  const sharedPeerStore = async (): Promise<PeerStore> => {
    if (peerStore == null) {
      // owned by a third peer, so neither encrypter's peer is "self" to it
      const owner = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      peerStore = persistentPeerStore({
        peerId: owner,
        datastore: new MemoryDatastore(),
        events,
        logger
      })
    }
    return peerStore
  }

  return {
    recorded,
    upgraderTouched,
    async setup (opts) {
      const privateKey = opts?.privateKey ?? await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(privateKey)
      const store = await sharedPeerStore()
      const ech = echNoise({ mode: init.mode })({
        privateKey,
        peerId,
        logger,
        upgrader: strictUpgrader(upgraderTouched),
        peerStore: store,
        // this encrypter's own ECH keys live here
        datastore: new MemoryDatastore(),
        // libp2p passes its event bus too; the encrypter does not use it
        ...{ events }
      })
      await ech.start()
      const entry: Recorded = { ech, configId: ech.keys.getKeys()[0].config.configId, outcomes: [], errors: [] }
      ech.addEventListener('ech:outcome', (evt) => { entry.outcomes.push(evt.detail) })
      ech.addEventListener('ech:error', (evt) => { entry.errors.push(evt.detail) })
      recorded.push(entry)

      if (init.configs === 'wire') {
        await store.merge(peerId, { metadata: { [ECH_PEER_STORE_KEY]: ech.getEchConfigList() } })
      } else if (init.configs === 'signed-record') {
        await store.merge(peerId, { metadata: { [ECH_PEER_STORE_KEY]: await ech.getSignedConfigRecord() } })
      }
      return ech
    },
    async teardown () {
      await Promise.all(recorded.map(async r => r.ech.stop()))
    }
  }
}

/** The suite calls setup for the local encrypter (always dials) first, then the remote one (always listens) */
function dialerAndListener (recorded: Recorded[]): [Recorded, Recorded] {
  expect(recorded).to.have.lengthOf(2)
  return [recorded[0], recorded[1]]
}

// the suite runs three handshakes: two succeed, the third fails on the
// listener (`UnexpectedPeerError`: the initiator is not the peer it expected)
const HANDSHAKES = 3

describe('connection-encryption compliance: echNoise without configs (stock path)', function () {
  this.timeout(60_000)
  const h = harness({})
  tests({ setup: h.setup, teardown: h.teardown })

  describe('outcomes', () => {
    it('every connection went through the stock encrypter', () => {
      const [dialer, listener] = dialerAndListener(h.recorded)
      expect(dialer.outcomes.map(o => o.outcome)).to.deep.equal(new Array(HANDSHAKES).fill('fallback'))
      expect(dialer.outcomes.map(o => o.reason)).to.deep.equal(new Array(HANDSHAKES).fill('no-config'))
      expect(listener.outcomes.map(o => o.outcome)).to.deep.equal(['not-offered', 'not-offered'])
      expect(h.upgraderTouched).to.be.empty()
    })
  })
})

describe('connection-encryption compliance: echNoise with ECH accepted', function () {
  this.timeout(60_000)
  const h = harness({ configs: 'wire' })
  tests({ setup: h.setup, teardown: h.teardown })

  describe('outcomes', () => {
    it('every handshake was ECH-accepted on both sides', () => {
      const [dialer, listener] = dialerAndListener(h.recorded)
      expect(dialer.outcomes.map(o => o.outcome)).to.deep.equal(new Array(HANDSHAKES).fill('accepted'))
      expect(listener.outcomes.map(o => o.outcome)).to.deep.equal(['accepted', 'accepted'])
      for (const o of [...dialer.outcomes, ...listener.outcomes]) {
        expect(o.configId).to.equal(listener.configId)
      }
      // the one failure: the listener expected another peer (verified after ECH was accepted)
      expect(listener.errors.map(e => [e.direction, e.error])).to.deep.equal([['inbound', 'UnexpectedPeerError']])
      expect(dialer.errors).to.be.empty()
      expect(h.upgraderTouched).to.be.empty()
    })
  })
})

describe('connection-encryption compliance: echNoise in require mode with configs', function () {
  this.timeout(60_000)
  const h = harness({ mode: 'require', configs: 'signed-record' })
  tests({ setup: h.setup, teardown: h.teardown })

  describe('outcomes', () => {
    it('every handshake was ECH-accepted on both sides, none refused', () => {
      const [dialer, listener] = dialerAndListener(h.recorded)
      expect(dialer.ech.mode).to.equal('require')
      expect(listener.ech.mode).to.equal('require')
      expect(dialer.outcomes.map(o => o.outcome)).to.deep.equal(new Array(HANDSHAKES).fill('accepted'))
      expect(listener.outcomes.map(o => o.outcome)).to.deep.equal(['accepted', 'accepted'])
      expect(listener.errors.map(e => e.error)).to.deep.equal(['UnexpectedPeerError'])
      expect(dialer.errors).to.be.empty()
      expect(h.upgraderTouched).to.be.empty()
    })
  })
})
