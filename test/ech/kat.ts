/**
 * Known-answer transcripts: every input fixed (identities, Noise static and
 * ephemeral keys, the ECH key, the HPKE ephemeral key, GREASE randomness),
 * both roles run over an in-memory pair, and every byte on the wire plus the
 * transport keys recorded. `npx tsx test/ech/kat.ts` rewrites
 * `test/fixtures/handshake-kat.json`; kat.spec.ts checks against it.
 */
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromString, toString } from 'uint8arrays'
import { createEchConfig } from '../../src/config/create.js'
import { createEchOffer } from '../../src/config/offer.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { performInitiatorHandshake, performResponderHandshake } from '../../src/ech/handshake.js'
import { extractOuterHello } from '../../src/ech/outer-hello.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { SymmetricState } from '../../src/noise/symmetric-state.js'
import { extensions, log, lp, pair } from './helpers.js'
import type { CryptoProvider } from '../../src/crypto/provider.js'
import type { OuterHelloPlan } from '../../src/ech/types.js'
import type { LengthPrefixedStream } from '@libp2p/utils'

const hex = (b: Uint8Array): string => toString(b, 'base16')
const fill = (byte: number): Uint8Array => new Uint8Array(32).fill(byte)

/**
 * The fixture, relative to the package root (aegir and mocha run there;
 * dist/ holds no JSON). Nothing here touches the file system at import, so
 * the browser suite runs these transcripts in Chromium too.
 */
export const KAT_FIXTURE = 'test/fixtures/handshake-kat.json'

export const KAT_INPUTS = {
  initiator_identity_seed: hex(fill(0x01)),
  responder_identity_seed: hex(fill(0x02)),
  initiator_static: hex(fill(0x11)),
  responder_static: hex(fill(0x22)),
  initiator_ephemeral: hex(fill(0x33)),
  responder_ephemeral: hex(fill(0x44)),
  ech_private_key: hex(fill(0x55)),
  hpke_ephemeral: hex(fill(0x66)),
  ech_config_id: 0x2a,
  other_config_id: 0x2b,
  ech_public_name: 'ech.example',
  cipher_suites: [{ kdfId: 1, aeadId: 3 }],
  retry_record: hex(Uint8Array.from({ length: 48 }, (_, i) => 0xa0 + (i % 16))),
  grease_random: 'randomBytes(n) returns the next n bytes of b[i] = (7i + 3) mod 256, i = 0, 1, ...; drawn for config_id (1), the throwaway key (32), the HPKE ephemeral (32)',
  stream_muxers: ['/yamux/1.0.0'],
  prologue: ''
}

export type KatCase = 'plain' | 'accepted' | 'rejected' | 'grease'

function recording (connection: LengthPrefixedStream, frames: Uint8Array[]): LengthPrefixedStream {
  return {
    ...connection,
    read: connection.read.bind(connection),
    writeV: connection.writeV.bind(connection),
    unwrap: connection.unwrap.bind(connection),
    write: async (data, options) => {
      frames.push(Uint8Array.from(data.subarray()))
      return connection.write(data, options)
    }
  }
}

function greaseRandom (): (n: number) => Uint8Array {
  let i = 0
  return (n) => Uint8Array.from({ length: n }, () => (7 * i++ + 3) & 0xff)
}

export async function runKat (which: KatCase, provider: CryptoProvider = nodeProvider): Promise<Record<string, unknown>> {
  const x = (s: string): Uint8Array => fromString(s, 'base16')
  const iId = await generateKeyPairFromSeed('Ed25519', x(KAT_INPUTS.initiator_identity_seed))
  const rId = await generateKeyPairFromSeed('Ed25519', x(KAT_INPUTS.responder_identity_seed))
  const rPeer = peerIdFromPrivateKey(rId)
  const echKey = dhkemX25519.importPrivateKey(provider, x(KAT_INPUTS.ech_private_key))
  const config = createEchConfig({ configId: KAT_INPUTS.ech_config_id, kemId: 0x20, publicKey: echKey.publicKey, cipherSuites: KAT_INPUTS.cipher_suites, publicName: KAT_INPUTS.ech_public_name })
  // the rejected case: the responder's only live key has another config_id
  const responderConfig = which === 'rejected' ? createEchConfig({ ...config, configId: KAT_INPUTS.other_config_id }) : config
  const plans: Record<KatCase, () => OuterHelloPlan | undefined> = {
    plain: () => undefined,
    grease: () => ({ kind: 'grease' }),
    accepted: () => ({ kind: 'offer', offer: createEchOffer(provider, config), targetPeer: rPeer }),
    rejected: () => ({ kind: 'offer', offer: createEchOffer(provider, config), targetPeer: rPeer })
  }
  const ech = plans[which]()

  const splits: Array<{ h: string, k1: string, k2: string }> = []
  const psks: string[] = []
  const split = SymmetricState.prototype.split
  const mix = SymmetricState.prototype.mixKeyAndHash
  SymmetricState.prototype.split = function () {
    const h = hex(this.h)
    const [k1, k2] = split.call(this)
    splits.push({ h, k1: hex(k1), k2: hex(k2) })
    return [k1, k2]
  }
  SymmetricState.prototype.mixKeyAndHash = function (ikm) {
    psks.push(hex(ikm))
    mix.call(this, ikm)
  }
  const frames: Uint8Array[] = []
  try {
    const [a, b] = pair()
    const ext = { ...extensions, streamMuxers: KAT_INPUTS.stream_muxers }
    const responderConnection = recording(lp(b), frames)
    const [i, r] = await Promise.all([
      performInitiatorHandshake({
        connection: recording(lp(a), frames),
        provider,
        privateKey: iId,
        staticKey: provider.x25519FromSecret(x(KAT_INPUTS.initiator_static)),
        extensions: ext,
        log,
        ech,
        testing: { e: provider.x25519FromSecret(x(KAT_INPUTS.initiator_ephemeral)), hpkeEphemeral: dhkemX25519.importPrivateKey(provider, x(KAT_INPUTS.hpke_ephemeral)), randomBytes: greaseRandom() }
      }),
      (async () => {
        const message1 = await responderConnection.read()
        return performResponderHandshake({
          connection: responderConnection,
          message1,
          outerHello: extractOuterHello(message1),
          provider,
          privateKey: rId,
          staticKey: provider.x25519FromSecret(x(KAT_INPUTS.responder_static)),
          extensions: ext,
          log,
          keys: [{ config: responderConfig, privateKey: echKey }],
          localPeer: rPeer,
          retryRecord: x(KAT_INPUTS.retry_record),
          testing: { e: provider.x25519FromSecret(x(KAT_INPUTS.responder_ephemeral)) }
        })
      })()
    ])
    const ping = new TextEncoder().encode('ping')
    const pong = new TextEncoder().encode('pong')
    const c1 = i.send.encrypt(ping).subarray()
    const c2 = r.send.encrypt(pong).subarray()
    if (hex(r.recv.decrypt(c1).subarray()) !== hex(ping) || hex(i.recv.decrypt(c2).subarray()) !== hex(pong)) { throw new Error('transport mismatch') }
    return {
      case: which,
      initiator_outcome: i.ech,
      responder_outcome: r.ech,
      echconfig: which === 'plain' || which === 'grease' ? undefined : hex(config.raw),
      message1: hex(frames[0]),
      message2: hex(frames[1]),
      message3: hex(frames[2]),
      psk: psks[0],
      retry_record_received: i.retryRecord == null ? undefined : hex(i.retryRecord),
      handshake_hash: splits[0].h,
      k1_initiator_to_responder: splits[0].k1,
      k2_responder_to_initiator: splits[0].k2,
      transport: [
        { from: 'initiator', plaintext: hex(ping), ciphertext: hex(c1) },
        { from: 'responder', plaintext: hex(pong), ciphertext: hex(c2) }
      ]
    }
  } finally {
    SymmetricState.prototype.split = split
    SymmetricState.prototype.mixKeyAndHash = mix
  }
}

export async function allKats (provider?: CryptoProvider): Promise<Record<string, unknown>> {
  const cases: Record<string, unknown> = {}
  for (const which of ['plain', 'accepted', 'rejected', 'grease'] as const) {
    cases[which] = JSON.parse(JSON.stringify(await runKat(which, provider)))
  }
  return { inputs: KAT_INPUTS, cases }
}

if (globalThis.process?.argv[1]?.endsWith('kat.ts') === true) {
  const fs = await import('node:fs')
  fs.writeFileSync(KAT_FIXTURE, JSON.stringify(await allKats(), null, 2) + '\n')
  process.stdout.write(`wrote ${KAT_FIXTURE}\n`)
}
