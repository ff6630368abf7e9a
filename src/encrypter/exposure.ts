/**
 * What else on a node answers a scanner with the node's identity.
 *
 * `require` mode answers only initiators that encrypted to a current ECH
 * key, but only on this encrypter. Another connection encrypter (`tls()`), a
 * transport that secures itself (WebRTC-Direct builds its own `noise()`;
 * WebTransport and QUIC run TLS), or the kill switch (which turns the node
 * into a stock responder) each answer anyone who connects with the node's
 * identity. The encrypter cannot close those doors; it says so at start-up
 * and when such a listener appears (SECURITY.md §4.2).
 */
import type { EchNoiseComponents } from './types.js'
import type { EchKeyManager } from '../keys/manager.js'
import type { EchPolicy } from '../policy/policy.js'
import type { Listener, Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Multiaddr protocols whose connections are secured by the transport, not by a connection encrypter */
const SELF_SECURED = ['webrtc-direct', 'webtransport', 'quic-v1', 'quic', 'webrtc']

/** The connection encrypters other than `/noise` (this one) */
export function otherEncrypters (protocols: Iterable<string>): string[] {
  return [...protocols].filter(protocol => protocol !== '/noise')
}

/** The listen addresses whose transport secures connections itself */
export function selfSecuredAddrs (addrs: readonly Multiaddr[]): Multiaddr[] {
  return addrs.filter(addr => addr.getComponents().some(c => SELF_SECURED.includes(c.name)))
}

/**
 * Log, as warnings, every way around `require` mode this node has now, and
 * each self-secured listener as it appears. Returns the unsubscribe.
 */
export function watchExposure (log: Logger, components: Pick<EchNoiseComponents, 'upgrader' | 'events'>, policy: EchPolicy, keys: EchKeyManager): () => void {
  const others = otherEncrypters(components.upgrader.getConnectionEncrypters().keys())
  if (others.length > 0) {
    log.error('warning: require mode, but connections secured by %s answer anyone with this node\'s identity', others.join(', '))
  }
  if (!policy.isEnabled()) {
    log.error('warning: require mode, but the kill switch is off: every connection uses stock Noise and answers anyone with this node\'s identity')
  }
  if (keys.isGraceShorterThanCache()) {
    log.error('warning: require mode with a grace period under 48 h: dialers holding a retired config are refused without retry configs and need the new config out of band (RUNBOOK §3d)')
  }
  const onListening = (evt: CustomEvent<Listener>): void => {
    for (const addr of selfSecuredAddrs(evt.detail.getAddrs())) {
      log.error('warning: require mode, but %a secures itself and answers anyone with this node\'s identity', addr)
    }
  }
  components.events?.addEventListener('transport:listening', onListening)
  return () => { components.events?.removeEventListener('transport:listening', onListening) }
}
