/**
 * ECHConfig (RFC 9849 §4): codec, validation, base64 and PEM.
 */
export { ECH_CONFIG_VERSION } from './types.js'
export type { EchConfig, EchConfigExtension, HpkeSymmetricCipherSuite } from './types.js'
export { EchConfigError } from './errors.js'
export { parseEchConfigList, encodeEchConfigList, echConfigSkipReason } from './codec.js'
export type { EchConfigList, EchConfigListEntry, EchConfigSkipCode, EchConfigSkipReason } from './codec.js'
export { createEchConfig } from './create.js'
export type { EchConfigFields } from './serialize.js'
export { isValidPublicName, publicNameProblem } from './public-name.js'
export { echConfigListFromBase64, echConfigListToBase64 } from './base64.js'
export { parseEchPem, encodeEchPem } from './pem.js'
export type { EchPem } from './pem.js'
export { pkcs8ToX25519PrivateKey, x25519PrivateKeyToPkcs8 } from './pkcs8.js'
