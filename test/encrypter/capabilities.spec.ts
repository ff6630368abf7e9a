/**
 * `echNoise()` replaces `noise()` one for one, under both names stock Noise
 * is published as (`@chainsafe/libp2p-noise` 17 and `@libp2p/noise` 17.0.3):
 * a service that declares a dependency on either starts on a node whose only
 * encrypter is `echNoise()`.
 */
import '../../src/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { serviceCapabilities, serviceDependencies } from '@libp2p/interface'
import { noise as libp2pNoise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { expect } from 'aegir/chai'
import { createLibp2p } from 'libp2p'
import { echNoise } from '../../src/index.js'
import { encrypterComponents } from '../fixtures/encrypter.js'

/** A service that needs a Noise encrypter by this capability name */
function needs (capability: string): () => object {
  return () => ({ [Symbol.toStringTag]: `needs ${capability}`, [serviceDependencies]: [capability] })
}

describe('encrypter: declared capabilities', () => {
  for (const capability of ['@chainsafe/libp2p-noise', '@libp2p/noise', '@libp2p/connection-encryption', 'libp2p-noise-ech']) {
    it(`a service that depends on ${capability} starts with echNoise() as the only encrypter`, async () => {
      const node = await createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [echNoise()],
        streamMuxers: [yamux()],
        services: { dependent: needs(capability) }
      })
      expect(node.status).to.equal('started')
      await node.stop()
    })
  }

  it('the capabilities include every one stock @libp2p/noise declares', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const components = await encrypterComponents(privateKey)
    const stock = libp2pNoise()(components) as any
    const ours = echNoise({ policy: { env: {} } })(components)
    expect(stock[serviceCapabilities]).to.include('@libp2p/noise')
    expect(ours[serviceCapabilities]).to.include.members(stock[serviceCapabilities])
  })
})
