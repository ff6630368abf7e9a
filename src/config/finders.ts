/**
 * Config finders, registered per peer store by the service that runs them
 * (the DHT, `src/dht/`), so that the encrypter's `PeerConfigStore.lookup`
 * asks them without importing them (this folder sits below `dht/`). A dial
 * waits for a finder at most the finder's `timeout`, whatever the finder
 * does.
 */
import type { Logger, PeerId, PeerStore } from '@libp2p/interface'

/**
 * Somewhere slower than the peer store where a peer's configs may be found
 * (the DHT, `src/dht/`). `lookup` asks it when the peer store holds nothing
 * usable for the peer, and waits for it at most `timeout` ms: a dial is
 * never held longer than that, and goes ahead by the normal rules without a
 * config when nothing arrived in time.
 */
export interface EchConfigFinder {
  /** Longest a dial waits for `find`, ms */
  readonly timeout: number
  /**
   * Look for a signed config record of `peer` and store it (by the rule of
   * `storeSignedRecord`). Resolves when done or once `signal` aborts, which
   * means the dial stops waiting (the search itself may go on and store later).
   */
  find(peer: PeerId, options: { signal: AbortSignal }): Promise<void>
}

/** Per peer store, the finders registered for it; weak, so a stopped node's store is not kept alive */
const finders = new WeakMap<PeerStore, Set<EchConfigFinder>>()

/**
 * Register `finder` for every `PeerConfigStore` over `peerStore` (the
 * encrypter's, whichever service registers it). Returns the function that
 * unregisters it.
 */
export function registerEchConfigFinder (peerStore: PeerStore, finder: EchConfigFinder): () => void {
  let set = finders.get(peerStore)
  if (set == null) {
    set = new Set()
    finders.set(peerStore, set)
  }
  set.add(finder)
  return () => { finders.get(peerStore)?.delete(finder) }
}

/** Wait for `finder` at most its `timeout`, or until `signal` (the dial's) aborts, whatever it does; its errors are its own */
async function findWithin (finder: EchConfigFinder, peer: PeerId, log: Logger, signal?: AbortSignal): Promise<void> {
  const controller = new AbortController()
  const gaveUp = new Promise<void>(resolve => { controller.signal.addEventListener('abort', () => { resolve() }, { once: true }) })
  const timer = setTimeout(() => { controller.abort() }, finder.timeout)
  // an aborted dial stops waiting at once: the finder sees the same abort as at the bound
  const onAbort = (): void => { controller.abort() }
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted === true) { controller.abort() }
  try {
    await Promise.race([
      finder.find(peer, { signal: controller.signal }).catch(err => { log.error('finding ECH configs of %p failed - %e', peer, err) }),
      gaveUp
    ])
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Ask every finder registered for `peerStore` about `peer`, each for at most
 * its `timeout`, at once, or until `options.signal` (the dial's) aborts.
 * Resolves false when none is registered (nothing can have been stored),
 * true otherwise.
 */
export async function findConfigs (peerStore: PeerStore, peer: PeerId, log: Logger, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  const registered = finders.get(peerStore)
  if (registered == null || registered.size === 0) {
    return false
  }
  await Promise.all([...registered].map(async finder => findWithin(finder, peer, log, options.signal)))
  return true
}
