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

/** An HPKE KDF and AEAD pair a config offers (RFC 9849 §4 `HpkeSymmetricCipherSuite`) */
export interface HpkeSymmetricCipherSuite {
  /** HPKE KDF id (RFC 9180 §7.2), e.g. `0x0001` HKDF-SHA256 */
  readonly kdfId: number
  /** HPKE AEAD id (RFC 9180 §7.3), e.g. `0x0001` AES-128-GCM, `0x0003` ChaCha20Poly1305 */
  readonly aeadId: number
}

/** One ECHConfig extension (RFC 9849 §4.2); none is defined for libp2p */
export interface EchConfigExtension {
  /** Extension type; the high bit (`0x8000`) marks it mandatory */
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
  /** Always `0xfe0d` */
  readonly version: typeof ECH_CONFIG_VERSION
  /** `config_id`: the initiator names the config by it in the outer hello */
  readonly configId: number
  /** HPKE KEM id (RFC 9180 §7.1) */
  readonly kemId: number
  /** The KEM public key (a copy) */
  readonly publicKey: Uint8Array
  /** KDF/AEAD pairs in the server's order of preference */
  readonly cipherSuites: readonly HpkeSymmetricCipherSuite[]
  /** `maximum_name_length` (unused by libp2p) */
  readonly maximumNameLength: number
  /** `public_name` (unused by libp2p, which has no outer SNI) */
  readonly publicName: string
  /** ECHConfig extensions */
  readonly extensions: readonly EchConfigExtension[]
  /** The whole serialized ECHConfig (version, length, contents): HPKE `info` is built from it */
  readonly raw: Uint8Array
}
