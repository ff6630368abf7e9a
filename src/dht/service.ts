/**
 * The DHT config records service: publishes this node's signed config
 * record under `/noise-ech/<peer id>` in the node's kad-dht, and looks
 * peers' records up when a dial finds no usable config in the peer store
 * (docs/PROTOCOL.md "Configs in the DHT"). The lookup is registered with the
 * peer store (`registerEchConfigFinder`), so the encrypter asks it on every
 * dial without knowing about it, and waits at most `lookupTimeout`.
 *
 * Like the config exchange service, it shares the encrypter's record
 * without global state: at `start()` it takes the node's `/noise`
 * connection encrypter from the upgrader. A node whose encrypter is not
 * `echNoise()` can still look records up (`publish: false`).
 */
import { NotStartedError, serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { registerEchConfigFinder } from '../config/finders.js'
import { PeerConfigStore } from '../config/peer-store.js'
import { defaultProvider } from '../crypto/default.js'
import { DEFAULT_TIMEOUT, ECH_CONFIG_EXCHANGE_PROTOCOL } from '../exchange/constants.js'
import { ConfigRecordImporter } from '../exchange/import.js'
import { isConfigSource, serveConfigRecord } from '../exchange/server.js'
import { kemIdsByName } from '../hpke/registry.js'
import { EchDhtNotConfiguredError, EchDhtOptionsError } from './errors.js'
import { DhtConfigFinder } from './finder.js'
import { echDhtKey, ECH_DHT_NAMESPACE } from './key.js'
import { DhtPublisher } from './publisher.js'
import type { EchDhtClient, EchDhtConfigsComponents, EchDhtConfigsEvents, EchDhtConfigsInit, EchDhtLookupResult, EchDhtPublishedDetail } from './types.js'
import type { ConfigSource } from '../exchange/server.js'
import type { CounterGroup, Logger, Peer, PeerId, Startable } from '@libp2p/interface'

const DEFAULTS = {
  lookupTimeout: 1000,
  queryTimeout: 10_000,
  quorum: 2,
  settleTime: 25,
  negativeTtl: 60_000,
  maxConcurrentLookups: 8,
  maxNegativeEntries: 4096,
  republishInterval: 60 * 60_000,
  retryInterval: 1000
}

/** The metadata `@libp2p/identify` writes once it has stored a peer's whole protocol list */
const IDENTIFIED_KEY = 'AgentVersion'

/**
 * Longest `lookupTimeout` accepted, ms. The dial waits inside
 * `secureOutbound`, on an open connection, before sending message 1; this
 * package's responders close a connection without message 1 after 2 s
 * (`message1Timeout`, `encrypter/inbound.ts`): 1.5 s leaves the rest of
 * those 2 s for the handshake's start on a loaded machine (PROTOCOL §3.2)
 */
export const MAX_LOOKUP_TIMEOUT = 1500

function checkInteger (name: keyof typeof DEFAULTS, value: number | undefined, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? DEFAULTS[name]
  if (!Number.isSafeInteger(v) || v < 1 || v > max) {
    throw new EchDhtOptionsError(`${name} must be an integer 1..${max}`)
  }
  return v
}

type Settings = { [K in keyof typeof DEFAULTS]: number }

/** What a started service holds */
interface RunningState {
  finder?: DhtConfigFinder
  publisher?: DhtPublisher
  /** The encrypter whose record is published */
  source?: ConfigSource
  /** The config exchange protocol is served by this service (no `echConfigExchange()` on the node) */
  serving?: boolean
  unregister?(): void
  unwatch?(): void
  unready?(): void
}

function checkSettings (init: EchDhtConfigsInit): Settings {
  return {
    lookupTimeout: checkInteger('lookupTimeout', init.lookupTimeout, MAX_LOOKUP_TIMEOUT),
    queryTimeout: checkInteger('queryTimeout', init.queryTimeout),
    quorum: checkInteger('quorum', init.quorum, 20),
    settleTime: checkInteger('settleTime', init.settleTime),
    negativeTtl: checkInteger('negativeTtl', init.negativeTtl),
    maxConcurrentLookups: checkInteger('maxConcurrentLookups', init.maxConcurrentLookups),
    maxNegativeEntries: checkInteger('maxNegativeEntries', init.maxNegativeEntries),
    republishInterval: checkInteger('republishInterval', init.republishInterval),
    retryInterval: checkInteger('retryInterval', init.retryInterval)
  }
}

export class EchDhtConfigs extends TypedEventEmitter<EchDhtConfigsEvents> implements Startable {
  /** `'libp2p-noise-ech/dht-configs'` */
  readonly [Symbol.toStringTag] = 'libp2p-noise-ech/dht-configs'
  /** What this service provides to other libp2p services */
  readonly [serviceCapabilities]: string[] = ['libp2p-noise-ech/dht-configs']
  /** Needs kad-dht */
  readonly [serviceDependencies]: string[] = ['@libp2p/kad-dht']

  private readonly components: EchDhtConfigsComponents
  private readonly init: EchDhtConfigsInit
  private readonly settings: Settings
  private readonly kemIds?: ReadonlySet<number>
  private readonly log: Logger
  private readonly lookups?: CounterGroup<EchDhtLookupResult>
  private readonly queries?: CounterGroup<EchDhtLookupResult>
  private readonly publications?: CounterGroup<'stored' | 'failed' | 'skipped'>
  private state?: RunningState

  constructor (components: EchDhtConfigsComponents, init: EchDhtConfigsInit = {}) {
    super()
    this.components = components
    this.init = init
    this.settings = checkSettings(init)
    this.kemIds = kemIdsByName(init.kems)
    this.log = components.logger.forComponent('libp2p:noise-ech:dht')
    this.lookups = components.metrics?.registerCounterGroup('libp2p_ech_noise_dht_lookups_total', { label: 'result' })
    this.queries = components.metrics?.registerCounterGroup('libp2p_ech_noise_dht_queries_total', { label: 'result' })
    this.publications = components.metrics?.registerCounterGroup('libp2p_ech_noise_dht_publications_total', { label: 'result' })
  }

  /** Whether the service is started */
  isStarted (): boolean {
    return this.state != null
  }

  /**
   * Find the kad-dht service (it must carry `echDhtValidators` and
   * `echDhtSelectors`: `EchDhtNotConfiguredError` otherwise), register the
   * lookup with the peer store, and schedule the first publication
   */
  async start (): Promise<void> {
    if (this.state != null) { return }
    const dht = this.findDht()
    const state: RunningState = {}
    try {
      this.startParts(dht, state)
    } catch (err) {
      // nothing of a failed start may stay behind: a registered finder would go on serving dials
      stopParts(state)
      throw err
    }
    this.state = state
  }

  private startParts (dht: EchDhtClient, state: RunningState): void {
    if (this.init.lookup !== false) {
      const finder = this.createFinder(dht)
      state.finder = finder
      state.unregister = registerEchConfigFinder(this.components.peerStore, finder)
      state.unready = holdUntilSelfQuery(finder, this.components.events)
    }
    if (this.init.publish !== false) {
      const encrypter = this.components.upgrader.getConnectionEncrypters().get('/noise')
      if (!isConfigSource(encrypter)) {
        throw new EchDhtNotConfiguredError('Publishing ECH config records needs echNoise() as the node\'s /noise connection encrypter (or publish: false)')
      }
      state.source = encrypter
      state.publisher = this.createPublisher(dht, encrypter, state.finder)
      state.unwatch = watchKeys(encrypter, () => { state.publisher?.keysChanged() })
      state.publisher.start()
    }
  }

  /**
   * A publishing node serves the config exchange protocol when no
   * `echConfigExchange()` does (every service has started by now): dialers
   * skip the DHT lookup of a peer whose identify lists no such protocol
   * (`markerProtocol`), so every node with a record in the DHT must list it
   */
  async afterStart (): Promise<void> {
    const state = this.state
    const registrar = this.components.registrar
    if (state?.source == null || registrar == null || registrar.getProtocols().includes(ECH_CONFIG_EXCHANGE_PROTOCOL)) { return }
    const source = state.source
    await registrar.handle(ECH_CONFIG_EXCHANGE_PROTOCOL, async (stream, connection) => {
      await serveConfigRecord(stream, connection, source, { timeout: DEFAULT_TIMEOUT, log: this.log })
    })
    state.serving = true
  }

  async stop (): Promise<void> {
    const state = this.state
    this.state = undefined
    if (state == null) { return }
    stopParts(state)
    if (state.serving === true) { await this.components.registrar?.unhandle(ECH_CONFIG_EXCHANGE_PROTOCOL) }
  }

  /**
   * Publish this node's record now (e.g. after turning the kill switch back
   * on: nothing is published while ECH is off). Resolves with how many DHT
   * servers took it.
   */
  async publish (): Promise<EchDhtPublishedDetail> {
    if (this.state?.publisher == null) {
      throw new NotStartedError('The ECH DHT service is not started, or does not publish')
    }
    return this.state.publisher.publish()
  }

  private findDht (): EchDhtClient {
    const name = this.init.dhtService ?? 'dht'
    let dht: Partial<EchDhtClient> | undefined
    try {
      dht = (this.components as unknown as Record<string, Partial<EchDhtClient> | undefined>)[name]
    } catch {
      // libp2p's components throw for a service that is not there
    }
    if (typeof dht?.get !== 'function' || typeof dht.put !== 'function') {
      throw new EchDhtNotConfiguredError(`No kad-dht service named "${name}" (services: { ${name}: kadDHT(…) }, or dhtService)`)
    }
    if (dht.validators?.[ECH_DHT_NAMESPACE] == null || dht.selectors?.[ECH_DHT_NAMESPACE] == null) {
      throw new EchDhtNotConfiguredError()
    }
    return dht as EchDhtClient
  }

  private createFinder (dht: EchDhtClient): DhtConfigFinder {
    const importer = new ConfigRecordImporter({ peerStore: this.components.peerStore, provider: this.init.provider, log: this.log })
    // what the encrypter would offer after the record is stored: its KEMs, not just any config
    const offers = new PeerConfigStore({ peerStore: this.components.peerStore, provider: this.init.provider ?? defaultProvider, log: this.log, kemIds: this.kemIds, cacheSize: 64 })
    const s = this.settings
    return new DhtConfigFinder({
      get: (key, options) => dht.get(key, options),
      keyOf: echDhtKey,
      connected: (peer) => (this.components.connectionManager?.getConnections(peer).length ?? 0) > 0,
      notEch: notEchBy(this.components.peerStore, this.init.markerProtocol),
      store: async (peer, record) => {
        await importer.import(peer, record)
        return (await offers.lookup(peer, { find: false })).offer != null
      },
      timeout: s.lookupTimeout,
      queryTimeout: s.queryTimeout,
      quorum: s.quorum,
      settleTime: s.settleTime,
      negativeTtl: s.negativeTtl,
      maxConcurrent: s.maxConcurrentLookups,
      maxNegativeEntries: s.maxNegativeEntries,
      now: Date.now,
      log: this.log,
      report: (remotePeer, result, waitedMs) => {
        this.lookups?.increment({ [result]: true })
        this.safeDispatchEvent('ech:dht-lookup', { detail: { remotePeer, result, waitedMs } })
      },
      counted: (remotePeer, result, durationMs) => {
        this.queries?.increment({ [result]: true })
        this.safeDispatchEvent('ech:dht-query', { detail: { remotePeer, result, durationMs } })
      }
    })
  }

  private createPublisher (dht: EchDhtClient, source: ConfigSource, finder?: DhtConfigFinder): DhtPublisher {
    return new DhtPublisher({
      dialing: (peer) => { finder?.dialing(peer) },
      put: (key, value, options) => dht.put(key, value, options),
      key: echDhtKey(this.components.peerId),
      record: async () => source.getSignedConfigRecord(),
      enabled: () => source.isEchEnabled(),
      interval: this.settings.republishInterval,
      retryInterval: this.settings.retryInterval,
      log: this.log,
      report: (detail) => {
        this.publications?.increment({ [publicationLabel(detail)]: true })
        this.safeDispatchEvent('ech:dht-published', { detail })
      }
    })
  }
}

/**
 * Whether identify showed a peer runs no ECH config service: identify ran
 * (it writes `AgentVersion` right after the whole protocol list) and
 * `marker` is not among the protocols (PROTOCOL §3.2). A protocol list
 * without it may be partial: libp2p adds each protocol a stream negotiated,
 * before identify has answered. A peer the store does not know is looked up
 */
function notEchBy (peerStore: EchDhtConfigsComponents['peerStore'], marker: string | false = ECH_CONFIG_EXCHANGE_PROTOCOL): ((peer: PeerId) => Promise<boolean>) | undefined {
  if (marker === false) { return undefined }
  return async (peer) => {
    let record: Peer
    try {
      record = await peerStore.get(peer)
    } catch (err: any) {
      if (err.name === 'NotFoundError') { return false }
      throw err
    }
    return record.metadata.has(IDENTIFIED_KEY) && !record.protocols.includes(marker)
  }
}

/** Undo what a start did, part by part (a failed start did only some) */
function stopParts (state: RunningState): void {
  state.unregister?.()
  state.unwatch?.()
  state.unready?.()
  state.finder?.stop()
  state.publisher?.stop()
}

function publicationLabel (detail: EchDhtPublishedDetail): 'stored' | 'failed' | 'skipped' {
  if (detail.skipped != null) { return 'skipped' }
  return detail.stored > 0 ? 'stored' : 'failed'
}

/**
 * Hold `finder` until kad-dht's first self-query has run (`DhtConfigFinder.hold`);
 * without libp2p's event bus it is never held
 */
function holdUntilSelfQuery (finder: DhtConfigFinder, events?: EchDhtConfigsComponents['events']): () => void {
  if (events == null) { return () => {} }
  const onSelfQuery = (): void => { finder.ready() }
  finder.hold()
  events.addEventListener('kad-dht:query:self', onSelfQuery, { once: true })
  return () => { events.removeEventListener('kad-dht:query:self', onSelfQuery) }
}

/** Republish when the encrypter's live keys change (its record is re-signed then) */
function watchKeys (encrypter: unknown, onChange: () => void): () => void {
  const target = encrypter as Partial<EventTarget>
  if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') {
    return () => {}
  }
  target.addEventListener('ech:rotated', onChange)
  return () => { target.removeEventListener?.('ech:rotated', onChange) }
}

/**
 * The DHT config records service, for `services`. Needs a kad-dht service
 * made with `echDhtValidators` and `echDhtSelectors`, and (to publish)
 * `echNoise()` as the node's `/noise` connection encrypter.
 *
 * @example
 *
 * ```TypeScript
 * const node = await createLibp2p({
 *   connectionEncrypters: [echNoise()],
 *   services: {
 *     identify: identify(),
 *     ping: ping(),
 *     dht: kadDHT({ validators: echDhtValidators, selectors: echDhtSelectors }),
 *     echDht: echDhtConfigs()
 *   }
 * })
 * ```
 */
export function echDhtConfigs (init: EchDhtConfigsInit = {}): (components: EchDhtConfigsComponents) => EchDhtConfigs {
  return (components) => new EchDhtConfigs(components, init)
}
