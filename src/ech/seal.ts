/**
 * The ECH stage of the handshake, pure (no I/O): sealing the inner hello to
 * the responder's ECHConfig (initiator), opening it (responder), and the psk
 * both sides mix into the Noise state after message 1.
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
import { OUTER_HELLO_VERSION, decodeInnerHello, encodeInnerHello, encodeOuterHello } from './outer-hello.js'
import type { EchOuterHello } from './outer-hello.js'
import type { EchOffer } from '../config/offer.js'
import type { EchConfig } from '../config/types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { KemPrivateKey } from '../hpke/kem.js'

const encoder = new TextEncoder()
const INFO_PREFIX = encoder.encode('libp2p-noise-ech v1\0')
const PSK_LABEL = encoder.encode('libp2p-noise-ech psk')
export const PSK_LENGTH = 32

/** info = "libp2p-noise-ech v1" || 0x00 || ECHConfig */
export function echInfo (configRaw: Uint8Array): Uint8Array {
  return concat(INFO_PREFIX, configRaw)
}

/** aad = e.public || EchOuterHello with a zero-length payload */
export function echAad (ePublic: Uint8Array, hello: EchOuterHello): Uint8Array {
  return concat(ePublic, encodeOuterHello(hello, true))
}

export interface SealedOuterHello {
  /** The serialized EchOuterHello */
  hello: Uint8Array
  /** The exported psk; the caller wipes it after MixKeyAndHash */
  psk: Uint8Array
}

export interface SealInit {
  offer: EchOffer
  /** Multihash bytes of the target peer */
  targetPeer: Uint8Array
  /** Testing only: fixes the HPKE ephemeral key */
  hpkeEphemeral?: KemPrivateKey
}

/** Initiator: encrypts the inner hello to the offered config with the offer's suite, and exports the psk */
export function sealOuterHello (provider: CryptoProvider, ePublic: Uint8Array, init: SealInit): SealedOuterHello {
  const { config, suite, publicKey } = init.offer
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
