/**
 * The config exchange tests' nodes: test nodes (`test/fixtures/nodes.ts`)
 * with either the `echConfigExchange` service or a hand-written handler on
 * its protocol id that misbehaves on purpose; and waiting for, collecting
 * and forging what the service sees.
 */
import { echConfigExchange, ECH_CONFIG_EXCHANGE_PROTOCOL } from '../../src/exchange/index.js'
import { createTestNode } from '../fixtures/nodes.js'
import type { EchConfigExchange, EchConfigExchangeComponents, EchConfigExchangeEvents, EchConfigExchangeInit } from '../../src/exchange/index.js'
import type { EchNoiseInit } from '../../src/index.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { Connection, IdentifyResult, PeerId, PrivateKey, Stream } from '@libp2p/interface'

export interface ExchangeNode extends TestNode {
  /** The service, unless the node was made with `exchange: false` */
  exchange?: EchConfigExchange
  /** The components the service was given (events, peer store, …) */
  components?: EchConfigExchangeComponents
}

export interface ExchangeNodeOptions {
  encrypter?: 'ech' | 'stock'
  ech?: EchNoiseInit
  /** Service options, or `false` for no service */
  exchange?: EchConfigExchangeInit | false
  /** A handler of its own on the exchange protocol id, instead of the service */
  serve?(stream: Stream, connection: Connection): void | Promise<void>
  privateKey?: PrivateKey
}

/** A test node (`echNoise` unless `encrypter: 'stock'`) with the exchange service or a handler of its own on its protocol id */
export async function createExchangeNode (options: ExchangeNodeOptions = {}): Promise<ExchangeNode> {
  let exchange: EchConfigExchange | undefined
  let components: EchConfigExchangeComponents | undefined
  const services: Record<string, (c: EchConfigExchangeComponents) => unknown> = {}
  if (options.exchange !== false && options.serve == null) {
    const init = options.exchange ?? {}
    services.echConfigs = (c) => {
      components = c
      exchange = echConfigExchange(init)(c)
      return exchange
    }
  }
  const node = await createTestNode({ encrypter: options.encrypter ?? 'ech', ech: options.ech, privateKey: options.privateKey, services })
  if (options.serve != null) {
    await node.node.handle(ECH_CONFIG_EXCHANGE_PROTOCOL, options.serve)
  }
  return { ...node, exchange, components }
}

/** The next service event of this type about `remotePeer` (rejects after `timeout` ms) */
export async function nextExchangeEvent<K extends keyof EchConfigExchangeEvents> (
  exchange: EchConfigExchange, type: K, remotePeer?: PeerId, timeout = 5000
): Promise<EchConfigExchangeEvents[K]['detail']> {
  const promise = new Promise<EchConfigExchangeEvents[K]['detail']>((resolve, reject) => {
    const signal = AbortSignal.timeout(timeout)
    const onEvent = (evt: CustomEvent<any>): void => {
      if (remotePeer != null && evt.detail.remotePeer.equals(remotePeer) !== true) { return }
      cleanup()
      resolve(evt.detail)
    }
    const onAbort = (): void => {
      cleanup()
      reject(new Error(`no ${type} event${remotePeer == null ? '' : ` about ${remotePeer}`} within ${timeout} ms`))
    }
    const cleanup = (): void => {
      exchange.removeEventListener(type, onEvent as any)
      signal.removeEventListener('abort', onAbort)
    }
    exchange.addEventListener(type, onEvent as any)
    signal.addEventListener('abort', onAbort)
  })
  // a waiter a failing test never awaited must not turn into an unhandled rejection
  promise.catch(() => {})
  return promise
}

/** The next `peer:identify` result a node emits */
export async function nextIdentify (node: ExchangeNode, timeout = 5000): Promise<IdentifyResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error('no peer:identify')) }, timeout)
    node.node.addEventListener('peer:identify', (evt) => {
      clearTimeout(timer)
      resolve(evt.detail)
    }, { once: true })
  })
}

/** Every service event, from now on, as `{ type, detail }` */
export function collectExchangeEvents (exchange: EchConfigExchange): Array<{ type: keyof EchConfigExchangeEvents, detail: any }> {
  const events: Array<{ type: keyof EchConfigExchangeEvents, detail: any }> = []
  for (const type of ['ech:record-stored', 'ech:record-refused', 'ech:fetch-failed', 'ech:fetch-skipped'] as const) {
    exchange.addEventListener(type, (evt: CustomEvent) => { events.push({ type, detail: evt.detail }) })
  }
  return events
}

/** A listener that writes `bytes` raw (no length prefix added) and closes */
export function serveRaw (bytes: Uint8Array | (() => Promise<Uint8Array>)): (stream: Stream) => Promise<void> {
  return async (stream) => {
    try {
      stream.send(typeof bytes === 'function' ? await bytes() : bytes)
      await stream.close()
    } catch (err: any) {
      stream.abort(err)
    }
  }
}

/** `bytes` with a uvarint length prefix */
export function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = bytes.byteLength
  while (n >= 0x80) {
    prefix.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  prefix.push(n)
  const out = new Uint8Array(prefix.length + bytes.byteLength)
  out.set(prefix)
  out.set(bytes, prefix.length)
  return out
}
