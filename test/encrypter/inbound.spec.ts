/**
 * Admission of inbound handshakes (SECURITY.md §4.4): one source (an IPv4
 * address, an IPv6 /64) holds at most `maxPendingPerSource` handshakes at
 * once; one more is refused at once with `InboundLimitError`, and a finished
 * handshake frees its slot. The source is worked out once per connection and
 * shared with the monitor only where both group addresses alike.
 */
import '../../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { startedEncrypter } from '../fixtures/encrypter.js'
import type { EchNoise, EchNoiseInit } from '../../src/index.js'
import type { MessageStream, PrivateKey } from '@libp2p/interface'

async function responder (privateKey: PrivateKey, init: EchNoiseInit): Promise<EchNoise> {
  return startedEncrypter(privateKey, init)
}

/** An in-memory connection whose listener end comes from `ip` */
function from (ip: string): [MessageStream, MessageStream] {
  return multiaddrConnectionPair({ inbound: { remoteAddr: multiaddr(`/ip6/${ip}/tcp/4001`) } })
}

/** The rejection reason of a promise that must reject */
async function rejection (promise: Promise<unknown>): Promise<any> {
  return promise.then(() => undefined, (err: unknown) => err)
}

describe('encrypter: inbound admission per source', function () {
  this.timeout(30_000)

  for (const ipv6PrefixLength of [64, 128]) {
    it(`a /64 holds maxPendingPerSource handshakes at once, the next is InboundLimitError, a finished one frees its slot (monitor grouping /${ipv6PrefixLength})`, async () => {
      const key = await generateKeyPair('Ed25519')
      const dialerKey = await generateKeyPair('Ed25519')
      const ech = await responder(key, { maxPendingPerSource: 1, monitor: { ipv6PrefixLength } })
      const stock = noise()({ privateKey: dialerKey, peerId: peerIdFromPrivateKey(dialerKey), logger: defaultLogger(), upgrader: { getStreamMuxers: () => new Map() } } as any)

      // one handshake in flight from 2001:db8::1 (its message 1 never comes)
      const [a1, b1] = from('2001:db8::1')
      const first = rejection(ech.secureInbound(b1))
      // 2001:db8::2 is in the same /64
      const [, b2] = from('2001:db8::2')
      expect((await rejection(ech.secureInbound(b2)))?.name).to.equal('InboundLimitError')
      expect(b2.status).to.not.equal('open')

      a1.abort(new Error('dialer gone'))
      expect(await first).to.be.an('error')
      // the slot is free again: a whole handshake from the same /64 goes through
      const [a3, b3] = from('2001:db8::3')
      const [outbound, inbound] = await Promise.all([
        stock.secureOutbound(a3, { remotePeer: peerIdFromPrivateKey(key) }),
        ech.secureInbound(b3)
      ])
      expect(inbound.remotePeer.equals(peerIdFromPrivateKey(dialerKey))).to.equal(true)
      expect(ech.getConnectionInfo(b3)?.outcome).to.equal('not-offered')
      expect(ech.monitor.getCounters().handshakes.responder_failed).to.equal(2)
      outbound.connection.abort(new Error('done'))
      inbound.connection.abort(new Error('done'))
      await ech.stop()
    })
  }
})
