/**
 * The page the browser conformance suite drives: the RFC 9180 HPKE vectors,
 * the X-Wing draft vectors and the handshake known-answer transcripts of
 * docs/PROTOCOL.md §9, computed in Chromium with the package's default
 * backend there (`browserProvider`). The page returns every value as hex;
 * the Node side compares them with the same fixtures the Node suites use,
 * so both backends are held to the same bytes.
 */
import { toString, fromString } from 'uint8arrays'
import { defaultProvider } from '../../../src/crypto/default.js'
import { setupBaseR, setupBaseS } from '../../../src/hpke/hpke.js'
import { keySchedule, resolveSuite } from '../../../src/hpke/key-schedule.js'
import { getKem, importKem } from '../../../src/hpke/registry.js'
import { nodeProvider } from '../../../src/index.js'
import { allKats } from '../../ech/kat.js'
import type { HpkeVector } from '../../fixtures/vectors.js'

const hex = (s: string): Uint8Array => fromString(s, 'base16')
const toHex = (b: Uint8Array): string => toString(b, 'base16')

/** Every value of one RFC 9180 base-mode vector, as this page computes it */
function hpkeVector (v: HpkeVector): Record<string, unknown> {
  const provider = defaultProvider
  const kem = getKem(v.kem_id)
  if (kem == null) { throw new Error(`KEM 0x${v.kem_id.toString(16)} is not registered`) }
  const suite = { kemId: v.kem_id, kdfId: v.kdf_id, aeadId: v.aead_id }
  const skE = kem.deriveKeyPair(provider, hex(v.ikmE))
  const skR = kem.deriveKeyPair(provider, hex(v.ikmR))
  const { enc, sharedSecret } = kem.encap(provider, kem.importPublicKey(provider, skR.publicKey), skE)
  const ks = keySchedule(provider, resolveSuite(provider, suite), sharedSecret, hex(v.info))
  const { enc: enc2, context: sender } = setupBaseS(provider, suite, kem.importPublicKey(provider, skR.publicKey), hex(v.info), { ephemeral: skE })
  const recipient = setupBaseR(provider, suite, enc2, skR, hex(v.info))
  return {
    skEm: toHex(skE.exportSecret()),
    pkEm: toHex(skE.publicKey),
    skRm: toHex(skR.exportSecret()),
    pkRm: toHex(skR.publicKey),
    enc: toHex(enc),
    shared_secret: toHex(sharedSecret),
    decap_shared_secret: toHex(kem.decap(provider, enc, skR)),
    key_schedule_context: toHex(ks.keyScheduleContext),
    secret: toHex(ks.secret),
    key: toHex(ks.key),
    base_nonce: toHex(ks.baseNonce),
    exporter_secret: toHex(ks.exporterSecret),
    ct: v.encryptions.map(step => toHex(sender.seal(hex(step.aad), hex(step.pt)))),
    pt: v.encryptions.map(step => toHex(recipient.open(hex(step.aad), hex(step.ct)))),
    exported_sender: v.exports.map(e => toHex(sender.export(hex(e.exporter_context), e.L))),
    exported_recipient: v.exports.map(e => toHex(recipient.export(hex(e.exporter_context), e.L)))
  }
}

/** One X-Wing draft vector: key from seed, encapsulation with eseed, decapsulation (the KEM loaded on first use) */
async function xwingVector (v: { seed: string, eseed: string, ct: string }): Promise<Record<string, string>> {
  const provider = defaultProvider
  const kem = await importKem('x-wing')
  const { xwingEncapsulationSeed } = await import('../../../src/hpke/kems/x-wing.js')
  const sk = kem.importPrivateKey(provider, hex(v.seed))
  const e = kem.encap(provider, kem.importPublicKey(provider, sk.publicKey), xwingEncapsulationSeed(hex(v.eseed)))
  return { pk: toHex(sk.publicKey), ct: toHex(e.enc), ss: toHex(e.sharedSecret), decap: toHex(kem.decap(provider, hex(v.ct), sk)) }
}

async function kats (): Promise<Record<string, unknown>> {
  return allKats(defaultProvider)
}

/** What the package's `nodeProvider` export does in a browser bundle: `err.name` per operation */
function nodeProviderInBrowser (): Record<string, string> {
  const name = (fn: () => unknown): string => {
    try {
      fn()
      return 'no error'
    } catch (err: any) {
      return err?.name
    }
  }
  return {
    randomBytes: name(() => nodeProvider.randomBytes(1)),
    sha256: name(() => nodeProvider.sha256(new Uint8Array(1))),
    x25519Generate: name(() => nodeProvider.x25519Generate()),
    aead: name(() => nodeProvider.aead('aes-128-gcm')),
    noiseCipher: name(() => nodeProvider.noiseCipher?.seal(new Uint8Array(32), new Uint8Array(12), new Uint8Array(0), new Uint8Array(1)))
  }
}

Object.assign(globalThis, { conformance: { provider: () => defaultProvider.name, nodeProviderInBrowser, hpkeVector, xwingVector, kats } })
