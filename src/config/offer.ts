/**
 * The one object an initiator offers ECH with, from the peer store to the
 * seal: a usable config, the suite it will use and its imported public key.
 * Made once per stored value (the peer-store view caches it), so a dial
 * neither re-parses the config nor re-imports the key nor re-picks the suite.
 */
import { getKem, isSupportedCipherSuite, loadKem } from '../hpke/registry.js'
import { parseEchConfigList } from './codec.js'
import { EchConfigUnusableError } from './errors.js'
import type { EchConfig, HpkeSymmetricCipherSuite } from './types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { KemPublicKey } from '../hpke/kem.js'

/** What the initiator needs to offer ECH to one peer: a usable config, imported once */
export interface EchOffer {
  readonly config: EchConfig
  /** The config's first suite this package implements (server preference order, RFC 9849 §4) */
  readonly suite: HpkeSymmetricCipherSuite
  readonly publicKey: KemPublicKey
  /** When the source stops vouching for the config (signed records), ms since epoch */
  readonly expiresAt?: number
}

/**
 * The suite an offer to this config uses: its first one this package
 * implements (the server's preference, RFC 9849 §4). GREASE picks its suite
 * the same way, so the two name the same suite for the same config shape.
 */
export function offerSuite (config: EchConfig): HpkeSymmetricCipherSuite | undefined {
  return config.cipherSuites.find(s => isSupportedCipherSuite(s))
}

/**
 * An offer for one config: its first supported suite and its public key,
 * validated and imported. Throws `EchConfigUnusableError` when the KEM or
 * every suite is unknown here, or the key is one no encapsulation can use
 * (`Kem.validatePublicKey`: e.g. a small-order X25519 point, RFC 9180
 * §7.1.4), so such a config is skipped now instead of failing every dial.
 */
export function createEchOffer (provider: CryptoProvider, config: EchConfig, expiresAt?: number): EchOffer {
  const kem = getKem(config.kemId)
  const suite = offerSuite(config)
  if (kem == null || suite == null) { throw new EchConfigUnusableError() }
  let publicKey: KemPublicKey
  try {
    kem.validatePublicKey(provider, config.publicKey)
    publicKey = kem.importPublicKey(provider, config.publicKey)
  } catch (err) {
    throw new EchConfigUnusableError('The ECHConfig public key is not a valid KEM public key', { cause: err })
  }
  return Object.freeze({ config, suite, publicKey, expiresAt })
}

/**
 * The offer for the first usable config in list order (the server's
 * preference) whose KEM this dialer accepts, or undefined. Throws
 * `EchConfigError` on a malformed list.
 */
export function selectOffer (provider: CryptoProvider, configList: Uint8Array, expiresAt?: number, kemIds?: ReadonlySet<number>): EchOffer | undefined {
  for (const config of parseEchConfigList(configList).usable) {
    if (kemIds != null && !kemIds.has(config.kemId)) { continue }
    try {
      return createEchOffer(provider, config, expiresAt)
    } catch {
      // the next config may do
    }
  }
  return undefined
}

/**
 * `selectOffer`, then the offer's KEM loaded: X-Wing's implementation is
 * imported on first use (`hpke/registry.ts`), and the handshake that uses
 * the offer is synchronous. Throws `HpkeKemLoadError` when the load fails.
 */
export async function loadOffer (provider: CryptoProvider, configList: Uint8Array, expiresAt?: number, kemIds?: ReadonlySet<number>): Promise<EchOffer | undefined> {
  const offer = selectOffer(provider, configList, expiresAt, kemIds)
  if (offer != null) {
    await loadKem(offer.config.kemId)
  }
  return offer
}
