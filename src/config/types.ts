/**
 * ECHConfig as defined by RFC 9849 §4:
 *
 * ```
 * struct { HpkeKdfId kdf_id; HpkeAeadId aead_id; } HpkeSymmetricCipherSuite;
 * struct {
 *   uint8 config_id; HpkeKemId kem_id; HpkePublicKey public_key;
 *   HpkeSymmetricCipherSuite cipher_suites<4..2^16-4>;
 * } HpkeKeyConfig;
 * struct {
 *   HpkeKeyConfig key_config; uint8 maximum_name_length;
 *   opaque public_name<1..255>; ECHConfigExtension extensions<0..2^16-1>;
 * } ECHConfigContents;
 * struct { uint16 version; uint16 length; ECHConfigContents contents; } ECHConfig;
 * ECHConfig ECHConfigList<4..2^16-1>;
 * ```
 */

/** The only ECHConfig version this package speaks (RFC 9849 §4) */
export const ECH_CONFIG_VERSION = 0xfe0d

export interface HpkeSymmetricCipherSuite {
  readonly kdfId: number
  readonly aeadId: number
}

export interface EchConfigExtension {
  readonly type: number
  /** A copy; never aliases parser input */
  readonly data: Uint8Array
}

/**
 * A parsed (or constructed) version-0xfe0d ECHConfig. Frozen; byte fields are
 * copies that never alias the input buffer. `raw` is the exact serialized
 * ECHConfig (version, length and contents), which HPKE's `info` is built from.
 */
export interface EchConfig {
  readonly version: typeof ECH_CONFIG_VERSION
  readonly configId: number
  readonly kemId: number
  readonly publicKey: Uint8Array
  readonly cipherSuites: readonly HpkeSymmetricCipherSuite[]
  readonly maximumNameLength: number
  readonly publicName: string
  readonly extensions: readonly EchConfigExtension[]
  readonly raw: Uint8Array
}
