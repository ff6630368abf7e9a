/**
 * `libp2p-noise-ech node`: a standalone libp2p 3 node (TCP, yamux, identify,
 * ping) secured by `echNoise` with an operator-supplied ECH key, serving its
 * configs over the config exchange protocol, with Prometheus metrics and,
 * optionally, the HTTP gateway.
 *
 * `runNode(options, io, { signal })` is the long-running part and returns
 * once `signal` aborts and everything is shut down; `nodeCommand()` adds
 * argument parsing and SIGINT/SIGTERM. Everything heavy (libp2p, transports,
 * LevelDB, prom-client, the gateway) is imported inside `runNode` so the
 * other commands do not load it.
 *
 * This file builds, runs and stops the node; its arguments are parsed in
 * `node-options.ts`, its state on disk (data directory, identity, key file,
 * datastore) is handled in `node-state.ts`, and what it prints is formatted
 * in `node-output.ts`.
 */
import { join, resolve } from 'node:path'
import { checkMultiaddrs, parseNodeArgs } from './node-options.js'
import { describeListenError, logEvents, startupLines, timestamp } from './node-output.js'
import { DATASTORE_DIR, IDENTITY_FILE, loadEchKey, loadOrCreateIdentity, openDatastore, prepareDataDir } from './node-state.js'
import { CliUsageError, PROGRAM, errorCode, oneLine } from './program.js'
import type { NodeOptions } from './node-options.js'
import type { NodeInfo } from './node-output.js'
import type { CliIo } from './program.js'
import type { EchNoise } from '../encrypter/ech-noise.js'

export const DASHBOARD_PATH = '/ech/dashboard'

export interface RunNodeOptions {
  /** The node runs until this aborts */
  signal: AbortSignal
  /** Called once the node is up, with what was printed (tests) */
  onReady?(info: NodeInfo): void
}

/** What `nodeCommand` needs from the process (injectable for tests) */
export interface NodeProcess {
  on(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown
  off(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown
  exit(code: number): void
}

type GatewayInit = import('../gateway/index.js').EchGatewayInit

/** Create and start the HTTP gateway; it reads its tokens from the environment itself */
async function startGateway (bind: { host: string, port: number }, init: Omit<GatewayInit, 'host' | 'port'>): Promise<import('../gateway/index.js').EchGateway> {
  const { createEchGateway } = await import('../gateway/index.js')
  let gateway
  try {
    gateway = createEchGateway({ ...init, host: bind.host, port: bind.port })
  } catch (err: any) {
    throw new CliUsageError(`cannot create the gateway: ${oneLine(err?.message ?? err)}`)
  }
  try {
    await gateway.start()
  } catch (err: any) {
    throw new CliUsageError(`cannot start the gateway on ${bind.host}:${bind.port}: ${errorCode(err)}`)
  }
  return gateway
}

type Closer = () => Promise<void>

/**
 * Run the node until `signal` aborts, then shut it down (gateway, node,
 * datastore) and return 0. Input problems and start-up failures throw
 * `CliUsageError` after undoing whatever was started.
 */
export async function runNode (options: NodeOptions, io: CliIo, { signal, onReady }: RunNodeOptions): Promise<number> {
  await import('../polyfill.js')
  await checkMultiaddrs(options)
  const echKey = await loadEchKey(options.key, io)

  // undone in reverse order on failure and at shutdown
  const closers: Closer[] = [async () => { echKey.privateKey.destroy() }]
  const shutdown = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) {
      try {
        await close()
      } catch (err: any) {
        io.stderr(`${PROGRAM}: warning: during shutdown: ${oneLine(err?.message ?? err)}\n`)
      }
    }
  }

  try {
    const dataDir = resolve(options.dataDir)
    await prepareDataDir(dataDir, io)
    const identityFile = options.identity ?? join(dataDir, IDENTITY_FILE)
    const { privateKey, created } = await loadOrCreateIdentity(identityFile, io)

    const [
      { createLibp2p }, { tcp }, { yamux }, { identify }, { ping }, { LevelDatastore }, { prometheusMetrics }, { Registry },
      { multiaddr }, { echNoise }, { echConfigExchange }, { echConfigListToBase64 }
    ] = await Promise.all([
      import('libp2p'), import('@libp2p/tcp'), import('@libp2p/yamux'), import('@libp2p/identify'), import('@libp2p/ping'),
      import('datastore-level'), import('@libp2p/prometheus-metrics'), import('prom-client'), import('@multiformats/multiaddr'),
      import('../encrypter/index.js'), import('../exchange/index.js'), import('../config/base64.js')
    ])

    const datastore = await openDatastore(new LevelDatastore(join(dataDir, DATASTORE_DIR)), dataDir)
    closers.push(async () => { await datastore.close() })

    // a registry of our own: nothing else in the process shares or clears it
    const registry = new Registry()
    let ech: EchNoise | undefined
    const node = await createLibp2p({
      start: false,
      privateKey,
      datastore,
      addresses: { listen: options.listen },
      transports: [tcp()],
      streamMuxers: [yamux()],
      connectionEncrypters: [(components: any) => {
        ech = echNoise({
          keys: [echKey],
          mode: options.mode,
          rolloutPercentage: options.rollout,
          policy: options.env != null ? { env: options.env } : undefined
        })(components)
        return ech
      }],
      services: { identify: identify(), ping: ping(), echConfigs: echConfigExchange() },
      // a standalone node is an exposed one: RUNBOOK §1d (more pending slots, a shorter upgrade
      // timeout, libp2p's per-host rate kept) - measured against slowloris in benchmarks/slowloris.ts
      connectionManager: { maxIncomingPendingConnections: 256, inboundUpgradeTimeout: 5_000, inboundConnectionThreshold: 5 },
      metrics: prometheusMetrics({ registry })
    }).catch((err: any) => {
      throw new CliUsageError(`cannot create the node: ${oneLine(err?.message ?? err)}`)
    })
    closers.push(async () => { await node.stop() })
    /* c8 ignore next 3 - the factory runs inside createLibp2p */
    if (ech == null) {
      throw new Error('the ECH encrypter was not created')
    }
    const encrypter: EchNoise = ech

    const write = (line: string): void => { io.stdout(line + '\n') }
    logEvents(encrypter, node.services.echConfigs, write)

    try {
      await node.start()
    } catch (err: any) {
      throw new CliUsageError(describeListenError(err))
    }

    let gatewayUrl: string | undefined
    if (options.gateway != null) {
      const gateway = await startGateway(options.gateway, { libp2p: node, encrypter, metrics: { registry }, env: options.env })
      closers.push(async () => { await gateway.stop() })
      gatewayUrl = gateway.url
    }

    const info: NodeInfo = {
      peerId: node.peerId.toString(),
      addresses: node.getMultiaddrs().map(ma => ma.toString()),
      configList: echConfigListToBase64(encrypter.getEchConfigList()),
      gatewayUrl,
      dashboardUrl: gatewayUrl == null ? undefined : gatewayUrl.replace(/\/+$/, '') + DASHBOARD_PATH
    }
    startupLines(info, encrypter, { dataDir, identityFile: created ? identityFile : undefined }).forEach(write)
    write('ready')
    onReady?.(info)

    // dial the given peers without holding up start-up or shutdown
    for (const peer of options.peers) {
      node.dial(multiaddr(peer), { signal }).then(
        (connection) => { write(`${timestamp()} dialed ${peer} peer=${connection.remotePeer.toString()}`) },
        (err: any) => { if (!signal.aborted) { io.stderr(`${PROGRAM}: warning: could not dial ${peer}: ${oneLine(err?.message ?? err)}\n`) } }
      )
    }

    if (!signal.aborted) {
      await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    }
    write('shutting down')
    await shutdown()
    write('stopped')
    return 0
  } finally {
    // start-up failed: undo what was started (a no-op after a clean shutdown)
    await shutdown()
  }
}

/**
 * The `node` command: parse, run until the first SIGINT/SIGTERM (then shut
 * down cleanly, exit 0); a second signal exits 1 at once.
 */
export async function nodeCommand (args: string[], io: CliIo, proc: NodeProcess = process): Promise<number> {
  const options = parseNodeArgs(args)
  const controller = new AbortController()
  let signals = 0
  const onSignal = (name: NodeJS.Signals): void => {
    signals++
    if (signals === 1) {
      io.stdout(`received ${name}, stopping (send it again to exit at once)\n`)
      controller.abort()
    } else {
      io.stderr(`${PROGRAM}: received ${name} again, exiting without a clean shutdown\n`)
      proc.exit(1)
    }
  }
  proc.on('SIGINT', onSignal)
  proc.on('SIGTERM', onSignal)
  try {
    return await runNode(options, io, { signal: controller.signal })
  } finally {
    proc.off('SIGINT', onSignal)
    proc.off('SIGTERM', onSignal)
  }
}
