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
import { AEAD_ID, KDF_ID } from '../hpke/kem.js'
import { getKem, isSupportedCipherSuite } from '../hpke/registry.js'
import { OUTER_HELLO_VERSION, decodeInnerHello, encodeInnerHello, encodeOuterHello } from './outer-hello.js'
import type { EchOuterHello } from './outer-hello.js'
import type { EchOffer } from '../config/offer.js'
import type { EchConfig } from '../config/types.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { RecipientContext } from '../hpke/context.js'
import type { Kem, KemPrivateKey } from '../hpke/kem.js'
import type { CipherSuite } from '../hpke/key-schedule.js'

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
  /**
   * Fixes the HPKE ephemeral key (not destroyed here): known-answer tests,
   * and GREASE, which draws it from its own randomness source
   */
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

interface Opened {
  context: RecipientContext
  plaintext: Uint8Array
}

/** SetupBaseR then Open (RFC 9180 §5.1.1, §5.2); undefined when either fails */
function tryOpen (provider: CryptoProvider, suite: CipherSuite, privateKey: KemPrivateKey, info: Uint8Array, hello: EchOuterHello, aad: Uint8Array): Opened | undefined {
  let context: RecipientContext
  try {
    context = setupBaseR(provider, suite, hello.enc, privateKey, info)
  } catch {
    return undefined
  }
  try {
    return { context, plaintext: context.open(aad, hello.payload) }
  } catch {
    context.destroy()
    return undefined
  }
}

/** An opened hello: the psk when the inner hello names this peer. Throws `EchDecodeError` on a malformed inner hello */
function accept (opened: Opened, configId: number, localPeer: Uint8Array): OpenResult {
  try {
    const inner = decodeInnerHello(opened.plaintext)
    if (!constantTimeEqual(inner.targetPeer, localPeer)) {
      return { accepted: false, reason: 'wrong-peer' }
    }
    return { accepted: true, psk: opened.context.export(PSK_LABEL, PSK_LENGTH), configId }
  } finally {
    opened.plaintext.fill(0)
    opened.context.destroy()
  }
}

/**
 * Decapsulation keys that protect nothing, one per provider and KEM, made on
 * first use and kept for the process (never destroyed: nothing is sealed to
 * them, so there is nothing to wipe).
 */
const decoyKeys = new WeakMap<CryptoProvider, Map<number, KemPrivateKey>>()

function decoyKey (provider: CryptoProvider, kem: Kem): KemPrivateKey {
  let byKem = decoyKeys.get(provider)
  if (byKem == null) {
    byKem = new Map()
    decoyKeys.set(provider, byKem)
  }
  let key = byKem.get(kem.id)
  if (key == null) {
    key = kem.generateKeyPair(provider)
    byKem.set(kem.id, key)
  }
  return key
}

/** The suite a decoy open runs: the hello's when this package implements it, else the mandatory one (RFC 9849 §9) */
const DECOY_FALLBACK_SUITE = { kdfId: KDF_ID.HKDF_SHA256, aeadId: AEAD_ID.AES_128_GCM }

/**
 * The work of a failed open, done for an outer hello that reached no
 * decapsulation (its config_id names no live key, or a key whose suite or
 * KEM it does not fit): SetupBaseR and Open with a decoy key of the KEM its
 * `enc` length implies, and the `info` of a live key of that KEM, so the
 * refusal costs what a live config_id's failed open costs and its timing
 * does not tell a prober which config_ids are live. An `enc` of no live
 * key's KEM costs nothing: no config_id gets further with it either.
 */
function decoyOpen (provider: CryptoProvider, hello: EchOuterHello, keys: readonly EchKeyEntry[], aad: Uint8Array): void {
  for (const { config } of keys) {
    const kem = getKem(config.kemId)
    if (kem == null || kem.encLength !== hello.enc.byteLength) { continue }
    const suite = isSupportedCipherSuite(hello) ? { kdfId: hello.kdfId, aeadId: hello.aeadId } : DECOY_FALLBACK_SUITE
    // a decoy key opens nothing an initiator sealed on purpose; whatever comes out is dropped
    const opened = tryOpen(provider, { kemId: kem.id, ...suite }, decoyKey(provider, kem), echInfo(config.raw), hello, aad)
    opened?.plaintext.fill(0)
    opened?.context.destroy()
    return
  }
}

/**
 * Responder: tries each live key with the hello's config_id (newest first).
 * A hello that reaches no decapsulation gets a decoy one (`decoyOpen`), so
 * refusals cost the same whether or not the config_id is live. An inner
 * hello that decrypts but is malformed throws `EchDecodeError`; any other
 * failure is a rejection the caller answers with plain XX.
 */
export function openOuterHello (provider: CryptoProvider, ePublic: Uint8Array, hello: EchOuterHello, keys: readonly EchKeyEntry[], localPeer: Uint8Array): OpenResult {
  let reason: EchRejectReason = 'unknown-config'
  let decapsulated = false
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
    decapsulated = true
    const opened = tryOpen(provider, { kemId: config.kemId, kdfId: hello.kdfId, aeadId: hello.aeadId }, privateKey, echInfo(config.raw), hello, aad)
    if (opened != null) { return accept(opened, config.configId, localPeer) }
  }
  if (!decapsulated) { decoyOpen(provider, hello, keys, aad) }
  return { accepted: false, reason }
}
