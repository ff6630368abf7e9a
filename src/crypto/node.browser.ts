/**
 * What `crypto/node.js` is in a browser bundle (package.json `browser` map,
 * as `@chainsafe/libp2p-noise` maps its crypto): the `nodeProvider` export
 * stays, so code importing it still bundles, but nothing of `node:crypto`
 * does. Every operation throws `NodeCryptoUnavailableError`.
 */
import { NodeCryptoUnavailableError } from './errors.js'
import type { CryptoProvider, NoiseCipher } from './provider.js'

function unavailable (): never {
  throw new NodeCryptoUnavailableError()
}

const noiseCipher: NoiseCipher = { seal: unavailable, open: unavailable }

/** Stands in for the `node:crypto` backend in browsers: every operation throws `NodeCryptoUnavailableError` */
export const nodeProvider: CryptoProvider = {
  name: 'node',
  randomBytes: unavailable,
  sha256: unavailable,
  hmacSha256: unavailable,
  x25519Generate: unavailable,
  x25519FromSecret: unavailable,
  x25519ImportPublic: unavailable,
  x25519: unavailable,
  aead: unavailable,
  noiseCipher
}
