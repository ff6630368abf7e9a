/**
 * ECH keys: generation, PEM files, rotation and persistence.
 */
export { generateEchKey, randomConfigId, DEFAULT_PUBLIC_NAME, DEFAULT_KEM, DEFAULT_CIPHER_SUITES } from './generate.js'
export type { EchKey, GenerateEchKeyOptions } from './generate.js'
export { echKeyFromPem, echKeyToPem, loadEchKeyFromPem } from './pem.js'
export type { EchKeyFromPemOptions } from './pem.js'
export { encodeStoredEchKey, decodeStoredEchKey, decodeStoredEchKeyRecord, loadStoredEchKeyRecord } from './stored-key.js'
export type { StoredEchKeyRecord } from './stored-key.js'
export { EchKeyManager, DEFAULT_ROTATION_INTERVAL, DEFAULT_GRACE_PERIOD, DEFAULT_KEY_NAMESPACE, CONFIG_CACHE_LIFETIME } from './manager.js'
export { DEFAULT_MAX_LIVE_KEYS, MAX_LIVE_KEYS, MAX_CONFIG_LIST_BYTES } from './live-set.js'
export type {
  EchKeyManagerComponents, EchKeyManagerInit, EchKeyManagerEvents, EchKeyRotatedDetail, EchKeyExpiredDetail, EchKeyRotateOptions
} from './types.js'
export * from './errors.js'
export { EchKeyStore } from './key-store.js'
export type { StoredKey } from './key-store.js'
