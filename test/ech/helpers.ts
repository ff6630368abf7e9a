/**
 * Shared set-up for the handshake tests: identities, an ECH key, an
 * in-memory connection pair, and both roles run over it.
 */
import '../../src/polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { createEchConfig } from '../../src/config/create.js'
import { createEchOffer } from '../../src/config/offer.js'
import { nodeProvider } from '../../src/crypto/node.js'
import { performInitiatorHandshake, performResponderHandshake } from '../../src/ech/handshake.js'
import { extractOuterHello } from '../../src/ech/outer-hello.js'
import { dhkemX25519 } from '../../src/hpke/kems/dhkem-x25519.js'
import { toMessageStream } from '../../src/noise/channel.js'
import { noiseFrames } from '../../src/noise/framing.js'
import type { EchConfig } from '../../src/config/types.js'
import type { CryptoProvider, DhPrivateKey } from '../../src/crypto/provider.js'
import type { EchKeyEntry } from '../../src/ech/seal.js'
import type { HandshakeResult, InitiatorInit, OuterHelloPlan, ResponderInit } from '../../src/ech/types.js'
import type { AbortOptions, MessageStream, PeerId, PrivateKey } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'

export interface Node {
  privateKey: PrivateKey
  peerId: PeerId
  staticKey: DhPrivateKey
}

export async function createNode (provider: CryptoProvider = nodeProvider): Promise<Node> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey), staticKey: provider.x25519Generate() }
}

export function createEchKey (configId = 7, provider: CryptoProvider = nodeProvider): EchKeyEntry {
  const privateKey = dhkemX25519.generateKeyPair(provider)
  const config = createEchConfig({
    configId,
    kemId: 0x0020,
    publicKey: privateKey.publicKey,
    cipherSuites: [{ kdfId: 1, aeadId: 3 }, { kdfId: 1, aeadId: 1 }],
    publicName: 'ech.example'
  })
  return { config, privateKey }
}

/** A real ECH offer of `config` to `targetPeer`, as the peer-store view makes it */
export function offerTo (config: EchConfig, targetPeer: PeerId, provider: CryptoProvider = nodeProvider): OuterHelloPlan {
  return { kind: 'offer', offer: createEchOffer(provider, config), targetPeer }
}

export function lp (stream: MessageStream): LengthPrefixedStream {
  return noiseFrames(stream)
}

export function pair (): [MessageStream, MessageStream] {
  const [a, b] = multiaddrConnectionPair()
  return [a, b]
}

export const log = defaultLogger().forComponent('test:handshake')
export const extensions = { streamMuxers: [], webtransportCerthashes: [] }

type InitOpts = Partial<Omit<InitiatorInit, 'connection'>>
type RespOpts = Partial<Omit<ResponderInit, 'connection' | 'message1'>>

export async function runInitiator (stream: MessageStream, node: Node, opts: InitOpts = {}, options?: AbortOptions): Promise<{ result: HandshakeResult, stream: MessageStream }> {
  const connection = lp(stream)
  const result = await performInitiatorHandshake({
    connection, provider: nodeProvider, privateKey: node.privateKey, staticKey: node.staticKey, extensions, log, ...opts
  }, options)
  return { result, stream: toMessageStream(connection.unwrap(), result) }
}

export async function runResponder (stream: MessageStream, node: Node, opts: RespOpts = {}, options?: AbortOptions): Promise<{ result: HandshakeResult, stream: MessageStream }> {
  const connection = lp(stream)
  const message1 = await connection.read(options)
  const result = await performResponderHandshake({
    connection, message1, outerHello: extractOuterHello(message1), provider: nodeProvider, privateKey: node.privateKey, staticKey: node.staticKey, extensions, log, keys: [], localPeer: node.peerId, ...opts
  }, options)
  return { result, stream: toMessageStream(connection.unwrap(), result) }
}

export function stockNoise (node: Node, staticNoiseKey?: Uint8Array): ReturnType<ReturnType<typeof noise>> {
  return noise({ staticNoiseKey })({
    privateKey: node.privateKey,
    peerId: node.peerId,
    logger: defaultLogger(),
    upgrader: { getStreamMuxers: () => new Map() } as any
  } as any)
}

/** Sends `data` one way and resolves with what arrived, however it was chunked */
export async function transfer (from: MessageStream, to: MessageStream, data: Uint8Array): Promise<Uint8Array> {
  const received: Uint8Array[] = []
  let length = 0
  const done = new Promise<void>((resolve) => {
    to.addEventListener('message', (evt) => {
      const chunk = evt.data.subarray()
      received.push(Uint8Array.from(chunk))
      length += chunk.byteLength
      if (length >= data.byteLength) { resolve() }
    })
  })
  from.send(data)
  await done
  const out = new Uint8Array(length)
  let offset = 0
  for (const r of received) { out.set(r, offset); offset += r.byteLength }
  return out
}
