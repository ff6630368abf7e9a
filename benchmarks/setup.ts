/**
 * What the benchmarks share: identities, the components a libp2p node gives
 * its encrypters, in-memory connection pairs, and the output helpers.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { persistentPeerStore } from '@libp2p/peer-store'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { TypedEventEmitter } from 'main-event'
import type { EchNoiseComponents } from '../src/index.js'
import type { Libp2pEvents, MessageStream, PeerId, PrivateKey, Upgrader } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

export interface Identity {
  privateKey: PrivateKey
  peerId: PeerId
}

export const logger = defaultLogger()

// multiaddrConnectionPair() otherwise derives a TCP port from a global counter
// and throws after ~32k pairs; the encrypters never look at the address
const PAIR_ADDR = multiaddr('/ip4/127.0.0.1/tcp/4001')

/** Two ends of an in-memory connection; `capacity` is the send queue length in messages */
export function pair (capacity?: number): [MessageStream, MessageStream] {
  return multiaddrConnectionPair({ capacity, outbound: { remoteAddr: PAIR_ADDR }, inbound: { remoteAddr: PAIR_ADDR } })
}

// both stock and ECH only ever call getStreamMuxers() on the upgrader
const upgrader = { getStreamMuxers: () => new Map() } as unknown as Upgrader

export async function identity (): Promise<Identity> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey) }
}

/** What a libp2p node gives its encrypters: a fresh datastore, event bus and peer store per node */
export function components (id: Identity): EchNoiseComponents & { events: TypedEventTarget<Libp2pEvents> } {
  const datastore = new MemoryDatastore()
  const events = new TypedEventEmitter<Libp2pEvents>()
  const peerStore = persistentPeerStore({ peerId: id.peerId, datastore, events, logger })
  return { ...id, logger, upgrader, peerStore, datastore, events }
}

/**
 * `components()` with the node's own peer-store record as a started libp2p
 * node has it: its registrar merges the protocols of every handler (here
 * identify's and ping's) into the record of the local peer
 */
export async function startedComponents (id: Identity): Promise<ReturnType<typeof components>> {
  const c = components(id)
  await c.peerStore.merge(id.peerId, { protocols: ['/ipfs/id/1.0.0', '/ipfs/ping/1.0.0'] })
  return c
}

export function sorted (xs: ArrayLike<number>): Float64Array {
  return Float64Array.from(xs).sort()
}

/** Linear interpolation between closest ranks, on sorted input */
export function quantile (sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

export const fmt = (n: number, digits = 3): string => n.toFixed(digits)
export const out = (line = ''): void => { process.stdout.write(line + '\n') }

/** A Markdown table */
export function table (header: string[], align: string[], rows: string[][]): void {
  out(`| ${header.join(' | ')} |`)
  out(`|${align.join('|')}|`)
  for (const row of rows) { out(`| ${row.join(' | ')} |`) }
}
