/**
 * Messages between the fleet coordinator and its worker processes (Node
 * IPC, `process.send`). Times are ms since the epoch: every process runs
 * on the same machine.
 */

/** `ech`: libp2p 3 + echNoise; `stock`: libp2p 3 + `@chainsafe/libp2p-noise`; `v2`: libp2p 2 + noise 16 */
export type NodeKind = 'ech' | 'stock' | 'v2'

export interface NodeSpec {
  index: number
  kind: NodeKind
  /** Ed25519 identity, protobuf, base64: the same peer across restarts */
  privateKey: string
  /** The loopback address this node dials from: the fault proxies tell links apart by it */
  ip: string
  /** The port of the node's fault proxy: the only address it announces */
  announcePort: number
  /**
   * The bootstrap list: multiaddrs with `/p2p/`, dialled at start. For ECH
   * nodes, an ECH bootstrap node's entry also carries the same address with
   * `/noise/ech/<its configs>`: it goes into the peer store beside the plain
   * one, as a bootstrap list puts it there (the encrypter reads it).
   * `require`-mode nodes, which take no unsigned config from an address, get
   * the list itself (`echConfigList`, base64), stored as the application's
   * own (`ECH_PEER_STORE_KEY`)
   */
  bootstrap: Array<{ addr: string, echAddr?: string, echConfigList?: string }>
  /** ECH nodes: X-Wing keys rather than X25519 */
  xwing?: boolean
  /** ECH nodes: `require` mode */
  require?: boolean
}

export interface WorkerSettings {
  /** Mean ms between two transfers a node starts */
  trafficIntervalMs: number
  /** Chance that a node closes its idle connection to the peer after a transfer */
  closeProbability: number
  /** ms between DHT walks (getClosestPeers of a random key) that find peers */
  discoverIntervalMs: number
  /** ms between the pings libp2p's connection monitor sends on every connection (libp2p's default 10 000) */
  pingIntervalMs: number
  /** ms between stats reports */
  statsIntervalMs: number
  /** ECH nodes: the DHT lookup bound, ms */
  lookupTimeout: number
}

export type Command =
  | { cmd: 'settings', settings: WorkerSettings }
  | { cmd: 'start', spec: NodeSpec, keepDatastore: boolean }
  | { cmd: 'stop', index: number }
  | { cmd: 'rotate', index: number, gracePeriod?: number }
  | { cmd: 'enabled', index: number, enabled: boolean }
  | { cmd: 'rollout', index: number, percentage: number }
  | { cmd: 'traffic', on: boolean }
  | { cmd: 'shutdown' }

export interface HandshakeReport {
  ev: 'handshake'
  index: number
  t: number
  dir: 'inbound' | 'outbound'
  remote?: string
  /** ECH outcome (`accepted`, `rejected`, `fallback`, `not-offered`, `grease`), `stock` (stock and v2 nodes) or `failed` */
  outcome: string
  reason?: string
  error?: string
  ms: number
  configId?: number
}

export interface TransferReport {
  ev: 'transfer'
  index: number
  t: number
  side: 'sender' | 'receiver'
  remote: string
  id: string
  length: number
  status: string
  error?: string
  ms: number
}

export interface NodeStats {
  index: number
  connections: number
  peers: number
  /** ECH nodes: entries in the monitor's trackers, open breakers */
  trackers?: number
  breakers?: number
}

export type Report =
  | { ev: 'ready', kind: NodeKind }
  | { ev: 'started', index: number, peerId: string, port: number, configList?: string, t: number }
  | { ev: 'stopped', index: number, t: number }
  | { ev: 'start-failed', index: number, error: string }
  | HandshakeReport
  | TransferReport
  | { ev: 'lookup', index: number, t: number, remote: string, result: string, ms: number }
  | { ev: 'query', index: number, t: number, remote: string, result: string, ms: number }
  | { ev: 'published', index: number, t: number, stored: number, errors: number, skipped?: string }
  | { ev: 'threat', index: number, t: number, kind: string, severity: string, remotePeer?: string, remoteAddr?: string }
  | { ev: 'stats', t: number, heapUsed: number, rss: number, cpuMs: number, nodes: NodeStats[], lagMaxMs: number, lagP99Ms: number }
