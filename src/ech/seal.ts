/**
 * The ECH stage of the handshake, pure (no I/O): sealing the inner hello to
 * the responder's ECHConfig (initiator), opening it (responder), GREASE, and
 * the psk both sides mix into the Noise state after message 1.
 *
 * HPKE base mode (RFC 9180 §5.1.1) with the suite from the ECHConfig
 * (RFC 9849 §4); `info = "libp2p-noise-ech v1" || 0x00 || ECHConfig` (the
 * whole serialized config); `aad = e.public || EchOuterHello-with-empty-payload`,
 * binding the ciphertext to this handshake's Noise ephemeral key (as RFC 9849
 * §5.2 binds ClientHelloOuter); `psk = Export("libp2p-noise-ech psk", 32)`
 * (RFC 9180 §5.3).
 */
import { concat, constantTimeEqual } from '../crypto/bytes.js'
import { setupBaseR, setupBaseS } from '../hpke/hpke.js'
import { getKem, isSupportedCipherSuite } from '../hpke/registry.js'
import { EchConfigUnusableError } from './errors.js'
import { OUTER_HELLO_VERSION, decodeInnerHello, encodeInnerHello, encodeOuterHello, innerHelloLength } from './outer-hello.js'
import type { EchOuterHello } from './outer-hello.js'
import type { EchConfig, HpkeSymmetricCipherSuite } from '../config/types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { KemPrivateKey, KemPublicKey } from '../hpke/kem.js'

const encoder = new TextEncoder()
const INFO_PREFIX = encoder.encode('libp2p-noise-ech v1\0')
const PSK_LABEL = encoder.encode('libp2p-noise-ech psk')
export const PSK_LENGTH = 32
/** AEAD tag length of every HPKE AEAD this package speaks (RFC 9180 §7.3) */
const HPKE_TAG_LENGTH = 16
/** The GREASE suite and KEM: DHKEM(X25519), HKDF-SHA256, ChaCha20Poly1305 */
const GREASE_SUITE = { kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0003 }
/** An Ed25519 PeerId multihash (identity, 36-byte protobuf key) is 38 bytes; its inner hello pads to 64 */
const GREASE_TARGET_PEER_LENGTH = 38

export type RandomBytes = (length: number) => Uint8Array

/** info = "libp2p-noise-ech v1" || 0x00 || ECHConfig */
export function echInfo (configRaw: Uint8Array): Uint8Array {
  return concat(INFO_PREFIX, configRaw)
}

/** aad = e.public || EchOuterHello with a zero-length payload */
export function echAad (ePublic: Uint8Array, hello: EchOuterHello): Uint8Array {
  return concat(ePublic, encodeOuterHello(hello, true))
}

/** The suite the initiator uses: the config's first one this package implements (server preference order) */
export function pickCipherSuite (config: EchConfig): HpkeSymmetricCipherSuite {
  if (getKem(config.kemId) == null) { throw new EchConfigUnusableError() }
  const suite = config.cipherSuites.find(s => isSupportedCipherSuite(s))
  if (suite == null) { throw new EchConfigUnusableError() }
  return suite
}

export interface SealedOuterHello {
  /** The serialized EchOuterHello */
  hello: Uint8Array
  /** The exported psk; the caller wipes it after MixKeyAndHash */
  psk: Uint8Array
}

export interface SealInit {
  config: EchConfig
  publicKey?: KemPublicKey
  /** Multihash bytes of the target peer */
  targetPeer: Uint8Array
  /** Testing only: fixes the HPKE ephemeral key */
  hpkeEphemeral?: KemPrivateKey
}

/** Initiator: encrypts the inner hello to the config and exports the psk */
export function sealOuterHello (provider: CryptoProvider, ePublic: Uint8Array, init: SealInit): SealedOuterHello {
  const { config } = init
  const suite = pickCipherSuite(config)
  const kem = getKem(config.kemId)
  if (kem == null) { throw new EchConfigUnusableError() }
  const publicKey = init.publicKey ?? kem.importPublicKey(provider, config.publicKey)
  const { enc, context } = setupBaseS(provider, { kemId: config.kemId, ...suite }, publicKey, echInfo(config.raw), { ephemeral: init.hpkeEphemeral })
  try {
    const inner = encodeInnerHello({ targetPeer: init.targetPeer, extensions: [] })
    const hello: EchOuterHello = { version: OUTER_HELLO_VERSION, kdfId: suite.kdfId, aeadId: suite.aeadId, configId: config.configId, enc, payload: new Uint8Array(0) }
    hello.payload = context.seal(echAad(ePublic, hello), inner)
    return { hello: encodeOuterHello(hello), psk: context.export(PSK_LABEL, PSK_LENGTH) }
  } finally {
    context.destroy()
  }
}

/**
 * A GREASE outer hello (cf. RFC 9849 §6.2): a random config_id, a real suite,
 * a random `enc` of the KEM's size and a random payload the size of a real
 * sealed inner hello. Its shape is always `GREASE_SUITE`'s (X25519 `enc`,
 * ChaCha20Poly1305), so it matches only offers to configs of that shape: not
 * offers to default keys (AES-128-GCM first) nor to X-Wing keys (1120-byte
 * `enc`); and the responder's retry record makes message 2 larger than after
 * an accepted offer (docs/PROTOCOL.md §4.7).
 */
export function greaseOuterHello (randomBytes: RandomBytes): Uint8Array {
  const kem = getKem(GREASE_SUITE.kemId)
  const encLength = kem?.encLength ?? 32
  const payloadLength = innerHelloLength(GREASE_TARGET_PEER_LENGTH) + HPKE_TAG_LENGTH
  return encodeOuterHello({
    version: OUTER_HELLO_VERSION,
    kdfId: GREASE_SUITE.kdfId,
    aeadId: GREASE_SUITE.aeadId,
    configId: randomBytes(1)[0],
    enc: randomBytes(encLength),
    payload: randomBytes(payloadLength)
  })
}

export interface EchKeyEntry {
  config: EchConfig
  privateKey: KemPrivateKey
}

/** Why a responder could not accept an outer hello */
export type EchRejectReason = 'unknown-config' | 'unsupported-suite' | 'open-failed' | 'wrong-peer'

export type OpenResult =
  | { accepted: true, psk: Uint8Array, configId: number }
  | { accepted: false, reason: EchRejectReason }

function suiteOffered (config: EchConfig, hello: EchOuterHello): boolean {
  return config.cipherSuites.some(s => s.kdfId === hello.kdfId && s.aeadId === hello.aeadId) &&
    isSupportedCipherSuite({ kdfId: hello.kdfId, aeadId: hello.aeadId })
}

/**
 * Responder: tries each live key with the hello's config_id (newest first).
 * An inner hello that decrypts but is malformed throws `EchDecodeError`; any
 * other failure is a rejection the caller answers with plain XX.
 */
export function openOuterHello (provider: CryptoProvider, ePublic: Uint8Array, hello: EchOuterHello, keys: readonly EchKeyEntry[], localPeer: Uint8Array): OpenResult {
  let reason: EchRejectReason = 'unknown-config'
  const aad = echAad(ePublic, hello)
  for (const { config, privateKey } of keys) {
    if (config.configId !== hello.configId) { continue }
    const kem = getKem(config.kemId)
    if (kem == null || !suiteOffered(config, hello)) {
      if (reason === 'unknown-config') { reason = 'unsupported-suite' }
      continue
    }
    reason = 'open-failed'
    if (hello.enc.byteLength !== kem.encLength) { continue }
    let context
    try {
      context = setupBaseR(provider, { kemId: config.kemId, kdfId: hello.kdfId, aeadId: hello.aeadId }, hello.enc, privateKey, echInfo(config.raw))
    } catch {
      continue
    }
    try {
      let plaintext: Uint8Array
      try {
        plaintext = context.open(aad, hello.payload)
      } catch {
        continue
      }
      const inner = decodeInnerHello(plaintext)
      plaintext.fill(0)
      if (!constantTimeEqual(inner.targetPeer, localPeer)) {
        return { accepted: false, reason: 'wrong-peer' }
      }
      return { accepted: true, psk: context.export(PSK_LABEL, PSK_LENGTH), configId: config.configId }
    } finally {
      context.destroy()
    }
  }
  return { accepted: false, reason }
}
