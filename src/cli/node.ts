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
 * State lives in a data directory (0700): a LevelDB datastore (peer store,
 * the policy's circuit breakers) and the libp2p identity (`identity.key`,
 * protobuf-encoded private key, 0600) so the peer id survives restarts.
 */
import { mkdir, open, readFile, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { CliUsageError, PROGRAM } from './commands.js'
import type { CliIo } from './commands.js'
import type { EchNoise } from '../encrypter/ech-noise.js'
import type { EchConnectionInfo, EchHandshakeError, EchMode, EchThreat } from '../encrypter/types.js'
import type { EchConfigExchange } from '../exchange/index.js'
import type { PrivateKey } from '@libp2p/interface'

export const DEFAULT_DATA_DIR = 'libp2p-noise-ech-data'
export const IDENTITY_FILE = 'identity.key'
export const DATASTORE_DIR = 'datastore'
export const DASHBOARD_PATH = '/ech/dashboard'

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

export interface RunNodeOptions {
  /** The node runs until this aborts */
  signal: AbortSignal
  /** Called once the node is up, with what was printed (tests) */
  onReady?(info: NodeInfo): void
}

export interface NodeInfo {
  peerId: string
  addresses: string[]
  /** base64 ECHConfigList */
  configList: string
  gatewayUrl?: string
  dashboardUrl?: string
}

/** What `nodeCommand` needs from the process (injectable for tests) */
export interface NodeProcess {
  on(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown
  off(signal: 'SIGINT' | 'SIGTERM', listener: (signal: NodeJS.Signals) => void): unknown
  exit(code: number): void
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
async function checkMultiaddrs (options: NodeOptions): Promise<void> {
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

function oneLine (text: unknown): string {
  return String(text).split('\n')[0].trim()
}

function errorCode (err: any): string {
  return err?.code ?? oneLine(err?.message ?? err)
}

/** The data directory, made 0700 when it does not exist */
async function prepareDataDir (dir: string, io: CliIo): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const info = await stat(dir)
    if (!info.isDirectory()) {
      throw new CliUsageError(`--data-dir ${dir} is not a directory`)
    }
    if ((info.mode & 0o077) !== 0 && process.platform !== 'win32') {
      io.stderr(`${PROGRAM}: warning: data directory ${dir} is accessible to other users (mode ${(info.mode & 0o777).toString(8)}); chmod 700 it\n`)
    }
  } catch (err: any) {
    if (err instanceof CliUsageError) { throw err }
    throw new CliUsageError(`cannot create data directory ${dir}: ${errorCode(err)}`)
  }
}

/**
 * The node's identity: read from `file`, or made (Ed25519) and written there
 * with mode 0600 when the file does not exist.
 */
async function loadOrCreateIdentity (file: string, io: CliIo): Promise<{ privateKey: PrivateKey, created: boolean }> {
  const { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } = await import('@libp2p/crypto/keys')
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(file)
  } catch (err: any) {
    if (err?.code !== 'ENOENT') {
      throw new CliUsageError(`cannot read identity file ${file}: ${errorCode(err)}`)
    }
  }
  if (bytes != null) {
    try {
      const privateKey = privateKeyFromProtobuf(bytes)
      await warnIfExposed(file, 'identity file', io)
      return { privateKey, created: false }
    } catch (err: any) {
      throw new CliUsageError(`invalid identity file ${file}: ${oneLine(err?.message ?? err)}`)
    } finally {
      bytes.fill(0)
    }
  }
  const privateKey = await generateKeyPair('Ed25519')
  const encoded = privateKeyToProtobuf(privateKey)
  let handle
  try {
    // `wx`: never clobber an identity another process just wrote
    handle = await open(file, 'wx', 0o600)
    await handle.chmod(0o600)
    await handle.writeFile(encoded)
  } catch (err: any) {
    throw new CliUsageError(`cannot write identity file ${file}: ${errorCode(err)}`)
  } finally {
    encoded.fill(0)
    await handle?.close()
  }
  return { privateKey, created: true }
}

/** Warn (never fail) when a secret file is open to the group or others */
async function warnIfExposed (file: string, what: string, io: CliIo): Promise<void> {
  if (process.platform === 'win32') { return }
  const mode = (await stat(file).catch(() => undefined))?.mode
  if (mode != null && (mode & 0o077) !== 0) {
    io.stderr(`${PROGRAM}: warning: ${what} ${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it\n`)
  }
}

async function loadEchKey (file: string, io: CliIo): Promise<import('../keys/generate.js').EchKey> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    throw new CliUsageError(`cannot read key file ${file}: ${errorCode(err)}`)
  }
  const { echKeyFromPem } = await import('../keys/pem.js')
  let key
  try {
    key = echKeyFromPem(text)
  } catch (err: any) {
    const cause = err?.cause?.message != null ? ` (${oneLine(err.cause.message)})` : ''
    throw new CliUsageError(`invalid key file ${file}: ${oneLine(err?.message ?? err)}${cause}`)
  }
  // only for a key that is worth protecting: bad input stays one line
  await warnIfExposed(file, 'key file', io)
  return key
}

/**
 * libp2p reports listen failures as one multi-line message with stacks:
 * keep the `ADDR: reason` lines, without the stacks.
 */
export function describeListenError (err: any): string {
  const message = String(err?.message ?? err)
  const reasons = message.split('\n')
    .map(line => /^ {2}(\/\S+): (?:[A-Za-z]*Error: )?(.+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m != null)
    .map(m => `${m[1]}: ${m[2].trim()}`)
  if (reasons.length > 0) {
    return `cannot listen on ${reasons.join('; ')}`
  }
  return `cannot start the node: ${oneLine(message)}`
}

function timestamp (): string {
  return new Date().toISOString()
}

/** One line for a secured connection (`ech:outcome`) */
export function formatOutcome (info: EchConnectionInfo): string {
  const parts = [timestamp(), info.direction, info.outcome]
  if (info.remotePeer != null) { parts.push(`peer=${info.remotePeer.toString()}`) }
  if (info.remoteAddr != null) { parts.push(`addr=${info.remoteAddr.toString()}`) }
  if (info.configId != null) { parts.push(`config=${info.configId}`) }
  if (info.reason != null) { parts.push(`reason=${info.reason}`) }
  if (info.retryConfigsLearned === true) { parts.push('retry-configs=learned') }
  if (info.error != null) { parts.push(`error=${info.error}`) }
  parts.push(`${info.durationMs.toFixed(1)}ms`)
  return parts.join(' ')
}

/** One line for a handshake that threw (`ech:error`) */
export function formatError (info: EchHandshakeError): string {
  const parts = [timestamp(), info.direction, info.outcome === 'failed' ? 'failed' : `${info.outcome}-error`]
  if (info.remotePeer != null) { parts.push(`peer=${info.remotePeer.toString()}`) }
  if (info.remoteAddr != null) { parts.push(`addr=${info.remoteAddr.toString()}`) }
  parts.push(`path=${info.path}`, `error=${info.error}`, `${info.durationMs.toFixed(1)}ms`)
  return parts.join(' ')
}

/** One line for a threat (`ech:threat`) */
export function formatThreat (threat: EchThreat): string {
  const parts = [timestamp(), 'threat', threat.kind, `severity=${threat.severity}`]
  if (threat.remotePeer != null) { parts.push(`peer=${threat.remotePeer.toString()}`) }
  if (threat.remoteAddr != null) { parts.push(`addr=${threat.remoteAddr.toString()}`) }
  parts.push(`count=${threat.count}`)
  if (threat.error != null) { parts.push(`error=${threat.error}`) }
  return parts.join(' ')
}

/** Open the LevelDB datastore, telling a locked directory apart from other failures */
async function openDatastore<T extends { db: { open(): Promise<void> } }> (datastore: T, dataDir: string): Promise<T> {
  try {
    // the Level instance itself: `LevelDatastore.open()` flattens the error and loses its cause
    await datastore.db.open()
  } catch (err: any) {
    throw new CliUsageError(err?.cause?.code === 'LEVEL_LOCKED'
      ? `data directory ${dataDir} is in use by another node`
      : `cannot open the datastore in ${dataDir}: ${oneLine(err?.cause?.message ?? err?.message ?? err)}`)
  }
  return datastore
}

/** One stdout line per connection outcome, failed handshake, threat and fetched config record */
function logEvents (encrypter: EchNoise, exchange: EchConfigExchange, write: (line: string) => void): void {
  encrypter.addEventListener('ech:outcome', (evt) => { write(formatOutcome(evt.detail)) })
  encrypter.addEventListener('ech:error', (evt) => { write(formatError(evt.detail)) })
  encrypter.addEventListener('ech:threat', (evt) => { write(formatThreat(evt.detail)) })
  exchange.addEventListener('ech:record-stored', (evt) => {
    write(`${timestamp()} config-record stored peer=${evt.detail.remotePeer.toString()} expires=${new Date(evt.detail.expiresAt).toISOString()}`)
  })
  exchange.addEventListener('ech:record-refused', (evt) => {
    write(`${timestamp()} config-record refused peer=${evt.detail.remotePeer.toString()} error=${evt.detail.error}`)
  })
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

/** What is printed once the node is up, before `ready` */
function startupLines (info: NodeInfo, encrypter: EchNoise, where: { dataDir: string, identityFile?: string }): string[] {
  const policy = encrypter.policy.getState()
  const lines = [`peer id: ${info.peerId}${where.identityFile != null ? ` (new identity in ${where.identityFile})` : ''}`]
  lines.push(...info.addresses.map(address => `listening: ${address}`))
  lines.push(`ech config list: ${info.configList}`)
  lines.push(`ech mode: ${encrypter.mode}${policy.enabled ? '' : ' (kill switch off: stock Noise only)'}, ` +
    `rollout: ${policy.rolloutPercentage}%${policy.source.rolloutPercentage === 'env' ? ' (from ECH_ROLLOUT_PERCENTAGE)' : ''}`)
  lines.push(`data dir: ${where.dataDir}`)
  if (info.gatewayUrl != null) {
    lines.push(`gateway: ${info.gatewayUrl}`, `dashboard: ${info.dashboardUrl ?? ''}`)
  }
  return lines
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
