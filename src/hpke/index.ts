/**
 * HPKE (RFC 9180) base mode over a crypto provider, with a KEM registry.
 */
export { setupBaseS, setupBaseR } from './hpke.js'
export type { SetupBaseSOptions, SenderSetup } from './hpke.js'
export type { SenderContext, RecipientContext, ExporterContext } from './context.js'
export { AEAD_EXPORT_ONLY, MODE_BASE } from './key-schedule.js'
export type { CipherSuite } from './key-schedule.js'
export { KEM_ID, KDF_ID, AEAD_ID } from './kem.js'
export type { Kem, KemPrivateKey, KemPublicKey, Encapsulation } from './kem.js'
export { registerKem, getKem, getKemByName, supportedKems, isSupportedKdf, aeadName, isSupportedCipherSuite } from './registry.js'
export { dhkemX25519 } from './kems/dhkem-x25519.js'
export type { CryptoProvider, DhPrivateKey, DhPublicKey, Aead, AeadId } from '../crypto/provider.js'
export { nodeProvider } from '../crypto/node.js'
export { nobleProvider } from '../crypto/noble.js'
export * from './errors.js'
