/**
 * The `node` command's arguments: what they mean (`NodeOptions`) and their
 * syntax checks. Kept apart from `node.ts` so that parsing stays cheap and
 * testable without libp2p: only the multiaddr check loads a dependency, and
 * nothing here touches the file system (files are read by `runNode`).
 */
import { parseArgs } from 'node:util'
import { CliUsageError, oneLine } from './program.js'
import type { EchMode } from '../encrypter/types.js'

export const DEFAULT_DATA_DIR = 'libp2p-noise-ech-data'

const MODES: readonly EchMode[] = ['opportunistic', 'require', 'disabled']

export interface NodeOptions {
  /** Listen multiaddrs (TCP) */
  listen: string[]
  /** PEM file with the ECH key (as written by `keygen --out`) */
  key: string
  /** Default `./libp2p-noise-ech-data` */
  dataDir: string
  /** Where the HTTP gateway binds, when it runs */
  gateway?: { host: string, port: number }
  /** Default `opportunistic` */
  mode: EchMode
  /** Rollout percentage 0..100 (`ECH_ROLLOUT_PERCENTAGE` still wins) */
  rollout?: number
  /** Dialled once at start; failures are reported, not fatal */
  peers: string[]
  /** Identity file; default `<dataDir>/identity.key` */
  identity?: string
  /** Replaces `process.env` for the encrypter's policy and the gateway's tokens (tests) */
  env?: Record<string, string | undefined>
}

function parseGateway (value: string): { host: string, port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(value)
  const port = match == null ? NaN : Number(match[3])
  if (match == null || port > 65535) {
    throw new CliUsageError(`--gateway must be HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080), got "${value}"`)
  }
  return { host: match[1] ?? match[2], port }
}

function parseRollout (value: string | undefined): number | undefined {
  if (value == null) { return undefined }
  const n = Number(value)
  if (!/^\d{1,3}(\.\d+)?$/.test(value) || n > 100) {
    throw new CliUsageError(`--rollout must be a number 0..100, got "${value}"`)
  }
  return n
}

function parseMode (value: string | undefined): EchMode {
  if (value == null) { return 'opportunistic' }
  if (!(MODES as string[]).includes(value)) {
    throw new CliUsageError(`--mode must be one of ${MODES.join(', ')}, got "${value}"`)
  }
  return value as EchMode
}

/** Parse the `node` command's arguments; checks syntax only (files are read by `runNode`) */
export function parseNodeArgs (args: string[]): NodeOptions {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string', multiple: true },
      key: { type: 'string' },
      'data-dir': { type: 'string' },
      gateway: { type: 'string' },
      mode: { type: 'string' },
      rollout: { type: 'string' },
      peer: { type: 'string', multiple: true },
      identity: { type: 'string' }
    },
    strict: true,
    allowPositionals: false
  })
  if (values.key == null || values.key === '') {
    throw new CliUsageError('node needs --key FILE (a PEM file from "keygen --out FILE")')
  }
  if (values.listen == null || values.listen.length === 0) {
    throw new CliUsageError('node needs at least one --listen MULTIADDR (e.g. /ip4/0.0.0.0/tcp/4001)')
  }
  return {
    listen: values.listen,
    key: values.key,
    dataDir: values['data-dir'] ?? DEFAULT_DATA_DIR,
    gateway: values.gateway == null ? undefined : parseGateway(values.gateway),
    mode: parseMode(values.mode),
    rollout: parseRollout(values.rollout),
    peers: values.peer ?? [],
    identity: values.identity
  }
}

/** Check every multiaddr parses before anything is started */
export async function checkMultiaddrs (options: NodeOptions): Promise<void> {
  const { multiaddr } = await import('@multiformats/multiaddr')
  const check = (flag: string, value: string): void => {
    try {
      multiaddr(value)
    } catch (err: any) {
      throw new CliUsageError(`invalid ${flag} multiaddr "${value}": ${oneLine(err?.message ?? err)}`)
    }
  }
  options.listen.forEach(value => { check('--listen', value) })
  options.peers.forEach(value => { check('--peer', value) })
}
