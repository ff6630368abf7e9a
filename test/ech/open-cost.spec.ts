/**
 * A responder's refusal of an outer hello must not tell a prober whether the
 * hello's config_id names a live key (SECURITY.md §7): `openOuterHello` does
 * the same cryptographic work — one KEM decapsulation, one key schedule, one
 * AEAD open — for a config_id that matches a live key and fails to open as
 * for one that matches none. Checked by counting the work, not by timing it
 * (test/ech/open-timing.ts measures the time).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'aegir/chai'
import { createEchOffer } from '../../src/config/offer.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { decodeOuterHello } from '../../src/ech/outer-hello.js'
import { openOuterHello, sealOuterHello } from '../../src/ech/seal.js'
import { getKem } from '../../src/hpke/registry.js'
import { generateEchKey } from '../../src/keys/generate.js'
import type { Aead, AeadId, CryptoProvider } from '../../src/crypto/provider.js'
import type { EchOuterHello } from '../../src/ech/outer-hello.js'
import type { EchKeyEntry } from '../../src/ech/seal.js'
import type { Kem } from '../../src/hpke/kem.js'

const X25519 = 0x0020
const X_WING = 0x647a

/** nodeProvider, recording each primitive it runs */
function recording (calls: string[]): CryptoProvider {
  return {
    ...nodeProvider,
    x25519: (sk, pk) => { calls.push('x25519'); return nodeProvider.x25519(sk, pk) },
    hmacSha256: (key, ...parts) => { calls.push('hmac'); return nodeProvider.hmacSha256(key, ...parts) },
    aead: (id: AeadId): Aead => {
      const aead = nodeProvider.aead(id)
      return {
        keyLength: aead.keyLength,
        nonceLength: aead.nonceLength,
        tagLength: aead.tagLength,
        seal: (...args) => { calls.push(`seal ${id}`); return aead.seal(...args) },
        open: (...args) => { calls.push(`open ${id}`); return aead.open(...args) }
      }
    }
  }
}

/** Every primitive `openOuterHello` runs on `hello`, KEM decapsulations included */
function work (hello: EchOuterHello, keys: readonly EchKeyEntry[], ePublic: Uint8Array, local: Uint8Array): { calls: string[], accepted: boolean } {
  const calls: string[] = []
  const kems = [X25519, X_WING].map(id => getKem(id) as Kem)
  const decaps = kems.map(kem => kem.decap)
  kems.forEach((kem, i) => {
    kem.decap = (...args) => { calls.push(`decap ${kem.name}`); return decaps[i](...args) }
  })
  try {
    const result = openOuterHello(recording(calls), ePublic, hello, keys, local)
    return { calls, accepted: result.accepted }
  } finally {
    kems.forEach((kem, i) => { kem.decap = decaps[i] })
  }
}

describe('openOuterHello: refusal work is independent of the config_id', () => {
  const n: { keys: EchKeyEntry[], local: Uint8Array, ePublic: Uint8Array, hellos: Record<string, EchOuterHello> } = {} as any

  before(async () => {
    n.local = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toMultihash().bytes
    n.ePublic = nodeProvider.x25519Generate().publicKey
    // live: X25519 with config_id 7, X-Wing with config_id 9; both offer AES-128-GCM only
    const suites = [{ kdfId: 1, aeadId: 1 }]
    n.keys = [
      await generateEchKey({ kem: 'x25519', configId: 7, cipherSuites: suites }),
      await generateEchKey({ kem: 'x-wing', configId: 9, cipherSuites: suites })
    ].map(k => ({ config: k.config, privateKey: k.privateKey }))
    // sealed to keys the responder does not hold, so no open can succeed
    n.hellos = {}
    for (const kem of ['x25519', 'x-wing']) {
      const stranger = await generateEchKey({ kem, configId: 100, cipherSuites: [{ kdfId: 1, aeadId: 1 }, { kdfId: 1, aeadId: 3 }] })
      const sealed = sealOuterHello(nodeProvider, n.ePublic, { offer: createEchOffer(nodeProvider, stranger.config), targetPeer: n.local })
      sealed.psk.fill(0)
      n.hellos[kem] = decodeOuterHello(sealed.hello)
    }
  })

  const cases: Array<[string, string, number, number, { kdfId: number, aeadId: number }?]> = [
    ['X25519', 'x25519', 7, 8],
    ['X-Wing', 'x-wing', 9, 10],
    ['X25519, a supported suite the live config does not list', 'x25519', 7, 8, { kdfId: 1, aeadId: 3 }],
    ['X-Wing, an unsupported suite', 'x-wing', 9, 10, { kdfId: 1, aeadId: 2 }],
    // an X-Wing-sized enc naming the X25519 key's config_id
    ['X-Wing enc, config_id of the X25519 key', 'x-wing', 7, 8]
  ]
  for (const [name, kem, live, dead, suite] of cases) {
    it(`${name}: a live config_id (${live}) and a dead one (${dead}) cost the same`, () => {
      const hello = { ...n.hellos[kem], ...suite }
      const matching = work({ ...hello, configId: live }, n.keys, n.ePublic, n.local)
      const notMatching = work({ ...hello, configId: dead }, n.keys, n.ePublic, n.local)
      expect(matching.accepted).to.equal(false)
      expect(notMatching.accepted).to.equal(false)
      expect(notMatching.calls.filter(c => c.startsWith('decap')), 'one decapsulation').to.have.lengthOf(1)
      expect(notMatching.calls).to.deep.equal(matching.calls)
    })
  }

  it('an enc of no live key\'s KEM costs no decapsulation, whatever the config_id', () => {
    const x25519Only = n.keys.slice(0, 1)
    const hello = n.hellos['x-wing']
    expect(work({ ...hello, configId: 7 }, x25519Only, n.ePublic, n.local).calls).to.deep.equal([])
    expect(work({ ...hello, configId: 8 }, x25519Only, n.ePublic, n.local).calls).to.deep.equal([])
  })
})
