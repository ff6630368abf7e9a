import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { EchPolicy } from '../../src/policy/policy.js'
import type { EchPolicyComponents } from '../../src/policy/policy.js'
import type { EchPolicyOptions, PolicyDecision } from '../../src/policy/types.js'
import type { ComponentLogger, Logger, PeerId } from '@libp2p/interface'

export const T0 = Date.UTC(2025, 0, 1)
export const MINUTE = 60 * 1000
export const HOUR = 60 * MINUTE

export class Clock {
  t = T0
  now = (): number => this.t
  advance (ms: number): void { this.t += ms }
}

export async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

export async function peers (n: number): Promise<PeerId[]> {
  return Promise.all(Array.from({ length: n }, async () => peer()))
}

/**
 * A stand-in for a PeerId where only the string form matters (rollout at
 * 100 % never hashes it): lets the LRU be filled to its 10,000 default cheaply.
 */
export function fakePeer (i: number): PeerId {
  const id = `fake-peer-${i}`
  return { toString: () => id } as unknown as PeerId
}

/** Every policy made here; `afterEach` stops them so no debounce timer outlives its test */
export const made: EchPolicy[] = []

/** A policy with an empty environment unless the test gives one, so the runner's env cannot leak in */
export function policy (components: Partial<EchPolicyComponents> = {}, init: EchPolicyOptions = {}): EchPolicy {
  const p = new EchPolicy({ logger: defaultLogger(), ...components }, { env: {}, ...init })
  made.push(p)
  return p
}

export async function stopAll (): Promise<void> {
  await Promise.all(made.splice(0).map(async p => p.stop()))
}

/** A ComponentLogger that keeps `log.error` messages, to check what was skipped and why */
export function captureLogger (): { logger: ComponentLogger, errors: string[] } {
  const errors: string[] = []
  const log: Logger = Object.assign((): void => {}, {
    error: (formatter: string, ...args: unknown[]): void => { errors.push([formatter, ...args.map(String)].join(' ')) },
    trace: (): void => {},
    enabled: false,
    newScope: (): Logger => log
  })
  return { logger: { forComponent: () => log }, errors }
}

export { thrown as throws } from '../fixtures/errors.js'

/** A decision as a short string, for readable assertions */
export function show (d: PolicyDecision): string {
  if (d.offer) { return d.trial === true ? 'trial' : 'offer' }
  return d.reason
}
