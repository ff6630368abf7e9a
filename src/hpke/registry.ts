/**
 * Which HPKE algorithms this package implements. ECHConfig validation
 * (RFC 9849 §4: skip configs with an unsupported KEM or no usable suite) and
 * the handshake both ask here, so a new KEM is one `registerKem` away.
 *
 * The registry knows every KEM's metadata (id, name, sizes) and public-key
 * checks statically, but X-Wing's implementation (ML-KEM-768 from
 * `@noble/post-quantum`) is a dynamic import, loaded on first use, so an
 * X25519-only browser application does not ship it in its main chunk. The
 * HPKE and Noise engines are synchronous, so the implementation must be
 * loaded before an X-Wing key or offer is used: `loadKem` is awaited where
 * the code is already async (key generation and loading in `keys/`, the
 * peer-store lookup that makes an offer). Until then the registered X-Wing
 * `Kem` parses, validates and imports public keys, and its other operations
 * throw `HpkeKemNotLoadedError`.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { HpkeKemLoadError, HpkeKemNotLoadedError } from './errors.js'
import { AEAD_ID, KDF_ID } from './kem.js'
import { dhkemX25519 } from './kems/dhkem-x25519.js'
import { importXWingPublicKey, validateXWingPublicKey, xwingInfo } from './kems/x-wing-public.js'
import type { Kem, KemInfo } from './kem.js'
import type { AeadId } from '../crypto/provider.js'

const kems = new Map<number, Kem>()
const loaders = new Map<number, () => Promise<Kem>>()
const loading = new Map<number, Promise<Kem>>()

export function registerKem (kem: Kem): void {
  kems.set(kem.id, kem)
  loaders.delete(kem.id)
}

/** The parts of a lazily loaded KEM that work before it is loaded */
export type LazyKemStatic = KemInfo & Pick<Kem, 'importPublicKey' | 'validatePublicKey'>

/**
 * Register a KEM whose implementation `load` imports on first use. Until
 * then `getKem` returns a stand-in whose key operations throw
 * `HpkeKemNotLoadedError`; after it, the implementation itself.
 */
export function registerLazyKem (info: LazyKemStatic, load: () => Promise<Kem>): void {
  const notLoaded = (): never => {
    throw new HpkeKemNotLoadedError(notLoadedMessage(info))
  }
  const standIn: Kem = {
    ...info,
    generateKeyPair: notLoaded,
    deriveKeyPair: notLoaded,
    importPrivateKey: notLoaded,
    encap: notLoaded,
    decap: notLoaded
  }
  kems.set(info.id, standIn)
  loaders.set(info.id, load)
}

function notLoadedMessage (kem: KemInfo): string {
  return `HPKE KEM ${kem.name} is loaded on first use: await loadKem('${kem.name}') before using it synchronously`
}

registerKem(dhkemX25519)
registerLazyKem({ ...xwingInfo, importPublicKey: importXWingPublicKey, validatePublicKey: validateXWingPublicKey }, async () => {
  const { xwing } = await import('./kems/x-wing.js')
  return xwing
})

/**
 * The KEM with this id, or undefined when it is not implemented. A KEM
 * loaded on first use (X-Wing) that is not loaded yet comes back as its
 * stand-in: metadata and public-key import work, key operations throw
 * `HpkeKemNotLoadedError` (see `loadKem`).
 */
export function getKem (id: number): Kem | undefined {
  return kems.get(id)
}

/** The KEM with this short name (`x25519`, `x-wing`, ...) */
export function getKemByName (name: string): Kem | undefined {
  for (const kem of kems.values()) {
    if (kem.name === name) { return kem }
  }
  return undefined
}

export function supportedKems (): Kem[] {
  return [...kems.values()]
}

/** Whether this KEM's key operations can run now (always true but for a lazy KEM not loaded yet) */
export function isKemLoaded (id: number): boolean {
  return kems.has(id) && !loaders.has(id)
}

/** Throws `HpkeKemNotLoadedError` unless `kem`'s key operations can run now */
export function requireKemLoaded (kem: KemInfo): void {
  if (loaders.has(kem.id)) {
    throw new HpkeKemNotLoadedError(notLoadedMessage(kem))
  }
}

/**
 * Load a KEM's implementation, by id (`0x647a`) or name (`'x-wing'`), so the
 * synchronous API (`echKeyFromPem`, `decodeStoredEchKey`) can use it. X-Wing
 * is loaded on first use; the package's async paths (key generation and
 * loading, the peer-store lookup that makes an offer) call this themselves.
 * Resolves at once for a KEM that is always there (X25519). Throws
 * `InvalidParametersError` for a KEM this package does not know, and
 * `HpkeKemLoadError` when the import fails (in a browser: the chunk could
 * not be fetched; a later call tries again).
 */
export async function loadKem (kem: number | string): Promise<void> {
  await importKem(kem)
}

/** `loadKem`, resolving to the loaded KEM (internal) */
export async function importKem (kem: number | string): Promise<Kem> {
  const known = typeof kem === 'number' ? getKem(kem) : getKemByName(kem)
  if (known == null) {
    throw new InvalidParametersError(`Unknown KEM ${typeof kem === 'number' ? `0x${kem.toString(16).padStart(4, '0')}` : `"${kem}"`}`)
  }
  const load = loaders.get(known.id)
  if (load == null) { return known }
  let pending = loading.get(known.id)
  if (pending == null) {
    pending = load().then(impl => {
      registerKem(impl)
      return impl
    }, err => {
      throw new HpkeKemLoadError(`Could not load HPKE KEM ${known.name}`, { cause: err })
    }).finally(() => {
      loading.delete(known.id)
    })
    loading.set(known.id, pending)
  }
  return pending
}

/** KEM names (`x25519`, `x-wing`) to ids; an unknown name throws `InvalidParametersError` */
export function kemIdsByName (names?: string[]): ReadonlySet<number> | undefined {
  if (names == null) {
    return undefined
  }
  return new Set(names.map(name => {
    const kem = getKemByName(name)
    if (kem == null) {
      throw new InvalidParametersError(`Unknown KEM "${name}"; known: ${supportedKems().map(k => k.name).join(', ')}`)
    }
    return kem.id
  }))
}

export function isSupportedKdf (kdfId: number): boolean {
  return kdfId === KDF_ID.HKDF_SHA256
}

/** The provider AEAD for an HPKE AEAD id; undefined for unknown and export-only (0xffff) */
export function aeadName (aeadId: number): AeadId | undefined {
  switch (aeadId) {
    case AEAD_ID.AES_128_GCM: return 'aes-128-gcm'
    case AEAD_ID.CHACHA20_POLY1305: return 'chacha20-poly1305'
    default: return undefined
  }
}

export function isSupportedCipherSuite (suite: { kdfId: number, aeadId: number }): boolean {
  return isSupportedKdf(suite.kdfId) && aeadName(suite.aeadId) != null
}
