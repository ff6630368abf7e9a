/**
 * Key-manager test fixtures: a settable clock, the datastore keys under the
 * default namespace, a spy on `privateKey.destroy()`, and a logger that
 * keeps its lines.
 */
import { DEFAULT_KEY_NAMESPACE } from '../../src/keys/manager.js'
import type { EchKey } from '../../src/keys/generate.js'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

export const DAY = 24 * 60 * 60 * 1000
export const HOUR = 60 * 60 * 1000
export const T0 = Date.UTC(2025, 0, 1)

export class Clock {
  t = T0
  now = (): number => this.t
  advance (ms: number): void { this.t += ms }
}

/** Every datastore key under the default namespace, sorted */
export async function storedKeys (ds: Datastore): Promise<string[]> {
  const keys: string[] = []
  for await (const key of ds.queryKeys({ prefix: DEFAULT_KEY_NAMESPACE })) { keys.push(key.toString()) }
  return keys.sort()
}

/** The datastore key the manager stores `key` under */
export function dsKeyOf (key: EchKey): string {
  return `${DEFAULT_KEY_NAMESPACE}/${key.config.configId}-${key.createdAt}`
}

/** Count calls of `privateKey.destroy()` (still wiping the key) */
export function spyDestroy (key: EchKey): { calls: number } {
  const spy = { calls: 0 }
  const privateKey = key.privateKey as { destroy(): void }
  const destroy = privateKey.destroy.bind(privateKey)
  privateKey.destroy = () => { spy.calls++; destroy() }
  return spy
}

/** A ComponentLogger keeping each line's format string and arguments, joined */
export function linesLogger (): { logger: ComponentLogger, lines: string[] } {
  const lines: string[] = []
  const make = (): Logger => {
    const log = ((...args: unknown[]) => { lines.push(args.map(String).join(' ')) }) as Logger
    log.error = (...args: unknown[]) => { lines.push(args.map(String).join(' ')) }
    log.trace = () => {}
    log.enabled = true
    log.newScope = () => make()
    return log
  }
  return { logger: { forComponent: make }, lines }
}
