/**
 * GREASE outer hellos (cf. RFC 9849 §6.2): what an initiator without a
 * config sends so that real offers are not the only outer hellos on the wire.
 *
 * A GREASE hello is a real offer to a config nobody holds: an HPKE base-mode
 * seal (RFC 9180 §5.1.1, SetupBaseS) to a fresh DHKEM(X25519) key made for
 * this one hello, under a config shaped like the keys this package makes by
 * default (`DEFAULT_KEM`, `DEFAULT_CIPHER_SUITES` in keys/generate.ts), of an
 * inner hello as long as one to an Ed25519 peer id. So `enc` is a genuine
 * X25519 public key (top bit clear, on the curve), the suite is the one an
 * offer to a default key names, and every length matches; the throwaway key
 * is destroyed at once, so nobody can open it. RFC 9849 §6.2 only asks for
 * random `enc` bytes of the right length; that is what made GREASE
 * distinguishable (docs/PROTOCOL.md §4.7).
 */
import { createEchConfig } from '../config/create.js'
import { offerSuite } from '../config/offer.js'
import { defaultProvider } from '../crypto/default.js'
import { AEAD_ID, KDF_ID, KEM_ID } from '../hpke/kem.js'
import { getKem } from '../hpke/registry.js'
import { sealOuterHello } from './seal.js'
import type { EchOffer } from '../config/offer.js'
import type { HpkeSymmetricCipherSuite } from '../config/types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { Kem, KemPrivateKey } from '../hpke/kem.js'

export type RandomBytes = (length: number) => Uint8Array

/** The KEM of this package's default keys (`DEFAULT_KEM`, keys/generate.ts; test/ech/grease.spec.ts checks they agree) */
export const GREASE_KEM_ID = KEM_ID.DHKEM_X25519_HKDF_SHA256
/** The suites of this package's default keys, in their order (`DEFAULT_CIPHER_SUITES`, keys/generate.ts) */
export const GREASE_CIPHER_SUITES: readonly HpkeSymmetricCipherSuite[] = Object.freeze([
  Object.freeze({ kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.AES_128_GCM }),
  Object.freeze({ kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.CHACHA20_POLY1305 })
])
/** `DEFAULT_PUBLIC_NAME`; it only enters HPKE `info`, never the wire */
const GREASE_PUBLIC_NAME = 'libp2p.invalid'
/** An Ed25519 PeerId multihash (identity, 36-byte protobuf key) is 38 bytes; its inner hello pads to 64 */
const GREASE_TARGET_PEER_LENGTH = 38
/**
 * The aad's `e.public` (PROTOCOL §4.3). A real offer binds its Noise
 * ephemeral key; GREASE binds 32 zero bytes, since nobody can open it and the
 * aad never appears on the wire. Fixed, so message 1 depends only on the
 * randomness (the known-answer vectors need no Noise key to reproduce it).
 */
const GREASE_AAD_EPHEMERAL = new Uint8Array(32)

export interface GreaseInit {
  /** The backend that runs the seal (default: the platform's); the handshake passes its own */
  provider?: CryptoProvider
}

/** A private key imported from drawn bytes, which are wiped */
function importDrawn (kem: Kem, provider: CryptoProvider, secret: Uint8Array): KemPrivateKey {
  try {
    return kem.importPrivateKey(provider, secret)
  } finally {
    secret.fill(0)
  }
}

/**
 * A GREASE outer hello: all its randomness comes from `randomBytes`, drawn
 * in this order (the known-answer vectors of PROTOCOL §9 fix it): the
 * config_id (1 byte), the throwaway key's secret (32), the HPKE ephemeral
 * secret (32). Every secret is wiped and every key destroyed before it
 * returns; the psk the seal exports is wiped unused.
 */
export function greaseOuterHello (randomBytes: RandomBytes, init: GreaseInit = {}): Uint8Array {
  const provider = init.provider ?? defaultProvider
  const kem = getKem(GREASE_KEM_ID)
  if (kem == null) { throw new Error('DHKEM(X25519) is not registered') }
  const configId = randomBytes(1)[0]
  const skR = importDrawn(kem, provider, randomBytes(32))
  let skE: KemPrivateKey | undefined
  try {
    skE = importDrawn(kem, provider, randomBytes(32))
    const config = createEchConfig({ configId, kemId: kem.id, publicKey: skR.publicKey, cipherSuites: [...GREASE_CIPHER_SUITES], publicName: GREASE_PUBLIC_NAME })
    const suite = offerSuite(config)
    if (suite == null) { throw new Error('no GREASE suite is implemented') }
    // built directly rather than by createEchOffer: the key is our own, so its validation would be a wasted DH
    const offer: EchOffer = { config, suite, publicKey: kem.importPublicKey(provider, skR.publicKey) }
    const sealed = sealOuterHello(provider, GREASE_AAD_EPHEMERAL, {
      offer, targetPeer: new Uint8Array(GREASE_TARGET_PEER_LENGTH), hpkeEphemeral: skE
    })
    sealed.psk.fill(0)
    return sealed.hello
  } finally {
    skE?.destroy()
    skR.destroy()
  }
}
