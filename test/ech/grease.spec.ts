/**
 * GREASE outer hellos (docs/PROTOCOL.md §4.7, SECURITY.md §6) against the
 * passive checks a reviewer runs on message 1: the `enc` bytes (top bit,
 * curve or twist), the suite, the lengths and their distribution. None of
 * them may tell 400 GREASE hellos from 400 real offers to default keys.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Field, FpLegendre } from '@noble/curves/abstract/modular.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import { expect } from 'aegir/chai'
import { createEchConfig } from '../../src/config/create.js'
import { createEchOffer } from '../../src/config/offer.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { GREASE_CIPHER_SUITES, GREASE_KEM_ID, greaseOuterHello } from '../../src/ech/grease.js'
import { decodeOuterHello } from '../../src/ech/outer-hello.js'
import { openOuterHello, sealOuterHello } from '../../src/ech/seal.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { getKemByName } from '../../src/hpke/registry.js'
import { DEFAULT_CIPHER_SUITES, DEFAULT_KEM, DEFAULT_PUBLIC_NAME, generateEchKey } from '../../src/keys/generate.js'

const SAMPLES = 400
const P = 2n ** 255n - 19n
const Fp = Field(P)
/** Curve25519: v^2 = u^3 + A u^2 + u (RFC 7748 §4.1) */
const A = 486662n

/** Whether an X25519 u-coordinate is on Curve25519 (true) or on its quadratic twist (false), by the Legendre symbol of u^3 + A u^2 + u */
function onCurve (u: bigint): boolean {
  const rhs = Fp.add(Fp.add(Fp.mul(Fp.sqr(u), u), Fp.mul(A, Fp.sqr(u))), u)
  return FpLegendre(Fp, rhs) !== -1
}

/** The same question asked by decompressing the birationally equivalent Edwards point, y = (u - 1) / (u + 1) */
function decompresses (u: bigint): boolean {
  if (u === P - 1n) { return true }
  const y = Fp.div(Fp.sub(u, 1n), Fp.add(u, 1n))
  try {
    ed25519.Point.fromBytes(numberToBytesLE(y, 32))
    return true
  } catch {
    return false
  }
}

interface Features {
  /** version, kdf_id, aead_id, enc length, payload length, total length */
  shapes: Record<string, number>
  /** `enc` with bit 255 set: no X25519 public key has it */
  topBitSet: number
  /** `enc` on the twist: no X25519 public key is there */
  onTwist: number
}

/** What a passive observer can compute from the hellos' bytes */
function features (hellos: Uint8Array[]): Features {
  const out: Features = { shapes: {}, topBitSet: 0, onTwist: 0 }
  for (const bytes of hellos) {
    const h = decodeOuterHello(bytes)
    const shape = [h.version, h.kdfId, h.aeadId, h.enc.byteLength, h.payload.byteLength, bytes.byteLength].join('/')
    out.shapes[shape] = (out.shapes[shape] ?? 0) + 1
    if (h.enc.byteLength !== 32) { continue }
    if ((h.enc[31] & 0x80) !== 0) { out.topBitSet++ }
    // X25519 masks bit 255 (RFC 7748 §5), so does the observer
    const u = bytesToNumberLE(h.enc) & ((1n << 255n) - 1n)
    const curve = onCurve(u % P)
    expect(decompresses(u % P), 'Legendre and Edwards decompression disagree').to.equal(curve)
    if (!curve) { out.onTwist++ }
  }
  return out
}

describe('GREASE (PROTOCOL §4.7)', () => {
  it(`a passive observer finds no difference between ${SAMPLES} GREASE hellos and ${SAMPLES} real offers to default keys`, async () => {
    const real: Uint8Array[] = []
    const grease: Uint8Array[] = []
    for (let i = 0; i < SAMPLES; i++) {
      const key = await generateEchKey({ provider: nodeProvider })
      const target = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const ePublic = nodeProvider.x25519Generate().publicKey
      const sealed = sealOuterHello(nodeProvider, ePublic, { offer: createEchOffer(nodeProvider, key.config), targetPeer: target.toMultihash().bytes })
      sealed.psk.fill(0)
      key.privateKey.destroy()
      real.push(sealed.hello)
      grease.push(greaseOuterHello(nodeProvider.randomBytes, { provider: nodeProvider }))
    }
    const r = features(real)
    expect(r.topBitSet, 'real offers').to.equal(0)
    expect(r.onTwist, 'real offers').to.equal(0)
    expect(features(grease)).to.deep.equal(r)
  })

  it('is a real HPKE seal to a throwaway DHKEM(X25519) key under a default-shaped config: that key, rebuilt from the randomness, opens it', () => {
    const drawn: Uint8Array[] = []
    let i = 0
    const randomBytes = (n: number): Uint8Array => {
      const bytes = Uint8Array.from({ length: n }, () => (7 * i++ + 3) & 0xff)
      drawn.push(Uint8Array.from(bytes))
      return bytes
    }
    const hello = decodeOuterHello(greaseOuterHello(randomBytes, { provider: nodeProvider }))
    // drawn in order: config_id, the throwaway key's secret, the HPKE ephemeral secret (PROTOCOL §9)
    expect(drawn.map(d => d.byteLength)).to.deep.equal([1, 32, 32])
    const skR = dhkemX25519.importPrivateKey(nodeProvider, drawn[1])
    const skE = dhkemX25519.importPrivateKey(nodeProvider, drawn[2])
    expect(hello.configId).to.equal(drawn[0][0])
    expect(hello.enc).to.deep.equal(skE.publicKey)
    const config = createEchConfig({ configId: hello.configId, kemId: 0x0020, publicKey: skR.publicKey, cipherSuites: [...DEFAULT_CIPHER_SUITES], publicName: DEFAULT_PUBLIC_NAME })
    // it opens (its aad binds 32 zero bytes for e) and its inner hello parses; it names no peer (an all-zero id)
    const opened = openOuterHello(nodeProvider, new Uint8Array(32), hello, [{ config, privateKey: skR }], new Uint8Array(38).fill(1))
    expect(opened).to.deep.equal({ accepted: false, reason: 'wrong-peer' })
  })

  it('is shaped like the default keys of keys/generate.ts', () => {
    expect(GREASE_CIPHER_SUITES).to.deep.equal(DEFAULT_CIPHER_SUITES)
    expect(getKemByName(DEFAULT_KEM)?.id).to.equal(GREASE_KEM_ID)
  })

  it('wipes the secrets it drew', () => {
    const drawn: Uint8Array[] = []
    const randomBytes = (n: number): Uint8Array => {
      const bytes = nodeProvider.randomBytes(n)
      drawn.push(bytes)
      return bytes
    }
    greaseOuterHello(randomBytes, { provider: nodeProvider })
    const secrets = drawn.filter(d => d.byteLength === 32)
    expect(secrets).to.have.lengthOf(2)
    for (const secret of secrets) {
      expect(secret.every(b => b === 0), 'a drawn secret left in memory').to.equal(true)
    }
  })
})
