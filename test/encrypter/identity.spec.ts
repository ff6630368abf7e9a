/**
 * The dialled peer id is checked against the identity the responder proved,
 * for every key type. For RSA peer ids `peerId.publicKey` is undefined (the
 * id is a hash of the key), so a check that compares public keys silently
 * checks nothing and an impostor completes the handshake.
 */
import '../../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { ECH_PEER_STORE_KEY } from '../../src/index.js'
import { startedEncrypter } from '../fixtures/encrypter.js'
import type { EchNoise } from '../../src/index.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

/** The rejection reason of a settled promise, or undefined when it fulfilled */
function reason (result: PromiseSettledResult<unknown>): any {
  return result.status === 'rejected' ? result.reason : undefined
}

async function encrypter (privateKey: PrivateKey): Promise<EchNoise> {
  return startedEncrypter(privateKey)
}

describe('encrypter: the dialled peer id is checked for every key type', function () {
  this.timeout(30_000)
  let rsaPeer: PeerId
  let impostorKey: PrivateKey

  before(async () => {
    // as libp2p's upgrader has it: parsed from the dialled multiaddr's /p2p component
    rsaPeer = peerIdFromString(peerIdFromPrivateKey(await generateKeyPair('RSA', 2048)).toString())
    impostorKey = await generateKeyPair('Ed25519')
    expect(rsaPeer.publicKey).to.equal(undefined)
  })

  it('stock path (no config): an Ed25519 impostor answering for an RSA peer id is UnexpectedPeerError', async () => {
    const dialer = await encrypter(await generateKeyPair('Ed25519'))
    const impostor = noise()({ privateKey: impostorKey, peerId: peerIdFromPrivateKey(impostorKey), logger: defaultLogger(), upgrader: { getStreamMuxers: () => new Map() } } as any)
    const [a, b] = multiaddrConnectionPair()
    const [out] = await Promise.allSettled([
      dialer.secureOutbound(a, { remotePeer: rsaPeer }),
      impostor.secureInbound(b)
    ])
    expect(reason(out)?.name).to.equal('UnexpectedPeerError')
    await dialer.stop()
  })

  it('ECH path (a config stored for the RSA peer id, rejected by the impostor): UnexpectedPeerError before message 3', async () => {
    const dialer = await encrypter(await generateKeyPair('Ed25519'))
    const impostor = await encrypter(impostorKey)
    // the impostor's own config, filed under the RSA peer's id: the outer hello names the RSA peer, so it is rejected
    await (dialer as any).components.peerStore.merge(rsaPeer, { metadata: { [ECH_PEER_STORE_KEY]: impostor.getEchConfigList() } })
    const [a, b] = multiaddrConnectionPair()
    const [out] = await Promise.allSettled([
      dialer.secureOutbound(a, { remotePeer: rsaPeer }),
      impostor.secureInbound(b, { signal: AbortSignal.timeout(2000) })
    ])
    expect(reason(out)?.name).to.equal('UnexpectedPeerError')
    await Promise.all([dialer.stop(), impostor.stop()])
  })

  it('the real RSA peer passes', async () => {
    const rsaKey = await generateKeyPair('RSA', 2048)
    const dialerKey = await generateKeyPair('Ed25519')
    const dialer = await encrypter(dialerKey)
    const responder = await encrypter(rsaKey)
    const [a, b] = multiaddrConnectionPair()
    const [out, inn] = await Promise.all([
      dialer.secureOutbound(a, { remotePeer: peerIdFromString(peerIdFromPrivateKey(rsaKey).toString()) }),
      responder.secureInbound(b)
    ])
    expect(out.remotePeer.equals(peerIdFromPrivateKey(rsaKey))).to.be.true()
    expect(inn.remotePeer.equals(peerIdFromPrivateKey(dialerKey))).to.be.true()
    await Promise.all([dialer.stop(), responder.stop()])
  })
})
