/**
 * `require` mode holds only on this encrypter: at start-up (and when a
 * self-secured listener appears) it warns of every other way this node
 * answers a scanner with its identity.
 */
import '../../src/polyfill.js'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { otherEncrypters, selfSecuredAddrs } from '../../src/encrypter/exposure.js'
import { echNoise } from '../../src/index.js'
import type { EchNoiseInit } from '../../src/index.js'
import type { ComponentLogger, ConnectionEncrypter, Logger } from '@libp2p/interface'

/** A ComponentLogger that keeps what `libp2p:noise-ech` logs at error level */
function capturing (): { logger: ComponentLogger, errors: string[] } {
  const errors: string[] = []
  const logger: ComponentLogger = {
    forComponent: (name: string): Logger => Object.assign((): void => {}, {
      enabled: false,
      trace: (): void => {},
      error: (format: string, ...args: unknown[]) => {
        if (name === 'libp2p:noise-ech') { errors.push([format, ...args.map(String)].join(' ')) }
      },
      newScope: () => logger.forComponent(name)
    }) as unknown as Logger
  }
  return { logger, errors }
}

/** A second encrypter, as `tls()` would be */
const tlsLike: ConnectionEncrypter = {
  protocol: '/tls/1.0.0',
  secureInbound: async () => { throw new Error('not used') },
  secureOutbound: async () => { throw new Error('not used') }
}

async function startNode (ech: EchNoiseInit, extraEncrypter = false): Promise<{ errors: string[], stop(): Promise<void>, node: any }> {
  const { logger, errors } = capturing()
  const node = await createLibp2p({
    logger,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [...(extraEncrypter ? [() => tlsLike] : []), echNoise({ ...ech, policy: { env: {}, ...ech.policy } })],
    streamMuxers: [yamux()]
  })
  return { errors, node, stop: async () => node.stop() }
}

describe('encrypter: what else answers a scanner in require mode', function () {
  this.timeout(10_000)

  it('names the connection encrypters other than /noise, and the self-secured listen addresses', () => {
    expect(otherEncrypters(['/noise', '/tls/1.0.0', '/plaintext/2.0.0'])).to.deep.equal(['/tls/1.0.0', '/plaintext/2.0.0'])
    const addrs = ['/ip4/1.2.3.4/tcp/4001', '/ip4/1.2.3.4/udp/4001/webrtc-direct/certhash/uEiA', '/ip4/1.2.3.4/udp/4001/quic-v1', '/ip4/1.2.3.4/udp/4001/quic-v1/webtransport'].map(a => multiaddr(a))
    expect(selfSecuredAddrs(addrs).map(String)).to.deep.equal(addrs.slice(1).map(String))
  })

  it('a require node with a second encrypter, the kill switch off and grace 0 warns of all three at start', async () => {
    const n = await startNode({ mode: 'require', enabled: false, keyManager: { gracePeriod: 0 } }, true)
    expect(n.errors.some(e => e.includes('/tls/1.0.0'))).to.be.true()
    expect(n.errors.some(e => e.includes('kill switch'))).to.be.true()
    expect(n.errors.some(e => e.includes('grace period'))).to.be.true()
    await n.stop()
  })

  it('a require node warns when a self-secured listener appears', async () => {
    const n = await startNode({ mode: 'require' })
    expect(n.errors).to.deep.equal([])
    const addr = multiaddr('/ip4/127.0.0.1/udp/4001/webrtc-direct')
    // as libp2p's transport manager announces a new listener on the node's internal event bus
    n.node.components.events.safeDispatchEvent('transport:listening', { detail: { getAddrs: () => [addr] } })
    expect(n.errors).to.have.lengthOf(1)
    expect(n.errors[0]).to.include('secures itself')
    await n.stop()
  })

  it('an opportunistic node with the same set-up says nothing (anti-probing is not promised there)', async () => {
    const n = await startNode({ enabled: false, keyManager: { gracePeriod: 0 } }, true)
    expect(n.errors).to.deep.equal([])
    await n.stop()
  })
})
