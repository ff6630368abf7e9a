/**
 * Shared fixtures for the monitor tests: a settable clock, a logger that
 * records every line per component, fake peers and addresses, and an event
 * collector.
 */
import { randomBytes } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { EchMonitor } from '../../src/monitor/index.js'
import type { EchMonitorEvents, EchMonitorInit, EchThreatDetail } from '../../src/monitor/index.js'
import type { ComponentLogger, Logger, Metrics, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export const T0 = Date.UTC(2025, 0, 1)
export const SECOND = 1000
export const MINUTE = 60 * SECOND

export class Clock {
  t = T0
  now = (): number => this.t
  advance (ms: number): void { this.t += ms }
}

export interface LogLine {
  component: string
  level: 'log' | 'error' | 'trace'
  args: unknown[]
}

/** A ComponentLogger that keeps every line */
export function recordingLogger (): { logger: ComponentLogger, lines: LogLine[] } {
  const lines: LogLine[] = []
  const make = (component: string): Logger => {
    const log = ((...args: unknown[]) => { lines.push({ component, level: 'log', args }) }) as Logger
    log.error = (...args: unknown[]) => { lines.push({ component, level: 'error', args }) }
    log.trace = (...args: unknown[]) => { lines.push({ component, level: 'trace', args }) }
    log.enabled = true
    log.newScope = (name: string) => make(`${component}:${name}`)
    return log
  }
  return { logger: { forComponent: make }, lines }
}

/** A stand-in PeerId: the monitor only ever calls `toString()` on it */
export function fakePeer (name: string): PeerId {
  return { toString: () => name, equals: (other: unknown) => String(other) === name } as unknown as PeerId
}

export function tcp (ip: string, port = 4001): Multiaddr {
  return multiaddr(ip.includes(':') ? `/ip6/${ip}/tcp/${port}` : `/ip4/${ip}/tcp/${port}`)
}

export function enc (): Uint8Array {
  return new Uint8Array(randomBytes(32))
}

/** A distinct enc per `i`, cheaper than random bytes for floods */
export function encOf (i: number): Uint8Array {
  const bytes = new Uint8Array(32)
  new DataView(bytes.buffer).setUint32(0, i)
  return bytes
}

/** A distinct IPv4 address per `i` < 2^24 */
export function ipOf (i: number): string {
  return `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`
}

export interface Harness {
  monitor: EchMonitor
  clock: Clock
  threats: EchThreatDetail[]
  lines: LogLine[]
}

export function harness (init: EchMonitorInit = {}, metrics?: Metrics): Harness {
  const clock = new Clock()
  const { logger, lines } = recordingLogger()
  const monitor = new EchMonitor({ logger, metrics }, { now: clock.now, ...init })
  const threats = collect(monitor, 'ech:threat')
  return { monitor, clock, threats, lines }
}

export function collect<K extends keyof EchMonitorEvents> (target: EchMonitor, type: K): Array<EchMonitorEvents[K]['detail']> {
  const out: Array<EchMonitorEvents[K]['detail']> = []
  target.addEventListener(type, (evt) => { out.push(evt.detail) })
  return out
}
