/**
 * The monitor's options: their defaults, their checks, and the bounded
 * trackers they configure. Every option is optional; each is checked once,
 * here, and a bad one is an `InvalidParametersError` naming it.
 */
import { InvalidParametersError } from '@libp2p/interface'
import { RingBuffer, TokenBucket } from './bounded.js'
import { DowngradeTracker, HalfOpenTracker, RateTracker } from './detectors.js'
import { ReplayTracker } from './replay.js'
import type { AuditEntry, EchMonitorInit } from './types.js'

const MINUTE = 60 * 1000
const DAY = 24 * 60 * MINUTE

export const MONITOR_DEFAULTS = Object.freeze({
  probing: Object.freeze({ limit: 10, windowMs: MINUTE }),
  requireRefusals: Object.freeze({ limit: 10, windowMs: MINUTE }),
  slowHandshakes: Object.freeze({ limit: 10, windowMs: MINUTE }),
  maxHalfOpen: 8,
  malformedMediumAt: 10,
  countMemoryMs: 10 * MINUTE,
  replayWindowMs: 10 * MINUTE,
  maxReplayEntries: 65_536,
  downgradeMemoryMs: 7 * DAY,
  maxPeers: 10_000,
  preAuthFailuresAt: 3,
  maxSources: 10_000,
  eventIntervalMs: MINUTE,
  threatEventBurst: 100,
  threatEventsPerSecond: 10,
  maxRecentThreats: 100,
  ipv6PrefixLength: 64
})

export function option (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const v = value ?? fallback
  if (typeof v !== 'number' || !(v >= min && v <= max)) {
    throw new InvalidParametersError(`EchMonitor option ${name} must be a number in [${min}, ${max}]`)
  }
  return v
}

/** Everything the monitor keeps, each bounded by an option */
export interface Trackers {
  probing: RateTracker
  malformedHellos: RateTracker
  refusals: RateTracker
  retryConfigs: RateTracker
  slowHandshakes: RateTracker
  halfOpen: HalfOpenTracker
  replay: ReplayTracker
  downgrade: DowngradeTracker
  budget: TokenBucket
  recent: RingBuffer<AuditEntry>
}

type RateName = 'probing' | 'requireRefusals' | 'slowHandshakes'

export function createTrackers (init: EchMonitorInit, now: () => number): Trackers {
  const d = MONITOR_DEFAULTS
  const maxSources = option('maxSources', init.maxSources, d.maxSources, 1)
  const eventIntervalMs = option('eventIntervalMs', init.eventIntervalMs, d.eventIntervalMs, 0)
  const mediumAt = option('malformedMediumAt', init.malformedMediumAt, d.malformedMediumAt, 1)
  const memoryMs = option('countMemoryMs', init.countMemoryMs, d.countMemoryMs, 1)
  const common = { maxSources, eventIntervalMs, now }
  const rate = (name: RateName): { limit: number, windowMs: number } => ({
    limit: option(`${name}.limit`, init[name]?.limit, d[name].limit, 0),
    windowMs: option(`${name}.windowMs`, init[name]?.windowMs, d[name].windowMs, 1)
  })
  return {
    probing: new RateTracker({ ...common, ...rate('probing'), kind: 'probing', severity: () => 'medium' }),
    refusals: new RateTracker({ ...common, ...rate('requireRefusals'), kind: 'require-refusals', severity: () => 'medium' }),
    slowHandshakes: new RateTracker({ ...common, ...rate('slowHandshakes'), kind: 'slow-handshake', severity: () => 'medium' }),
    // limit 0: every occurrence is a finding; the tracker rate-limits the
    // event, and its window is how long a source's count is remembered (so
    // severity can escalate however events are throttled)
    malformedHellos: new RateTracker({ ...common, kind: 'malformed', limit: 0, windowMs: memoryMs, severity: count => count >= mediumAt ? 'medium' : 'low' }),
    retryConfigs: new RateTracker({ ...common, kind: 'bad-retry-configs', limit: 0, windowMs: memoryMs, severity: () => 'high' }),
    halfOpen: new HalfOpenTracker({ ...common, limit: option('maxHalfOpen', init.maxHalfOpen, d.maxHalfOpen, 0), memoryMs }),
    replay: new ReplayTracker({
      ...common,
      maxEntries: option('maxReplayEntries', init.maxReplayEntries, d.maxReplayEntries, 1),
      windowMs: option('replayWindowMs', init.replayWindowMs, d.replayWindowMs, 1)
    }),
    downgrade: new DowngradeTracker({
      eventIntervalMs,
      now,
      maxPeers: option('maxPeers', init.maxPeers, d.maxPeers, 1),
      memoryMs: option('downgradeMemoryMs', init.downgradeMemoryMs, d.downgradeMemoryMs, 1),
      preAuthFailuresAt: option('preAuthFailuresAt', init.preAuthFailuresAt, d.preAuthFailuresAt, 1)
    }),
    budget: new TokenBucket(
      option('threatEventBurst', init.threatEventBurst, d.threatEventBurst, 1),
      option('threatEventsPerSecond', init.threatEventsPerSecond, d.threatEventsPerSecond, 0),
      now),
    recent: new RingBuffer(option('maxRecentThreats', init.maxRecentThreats, d.maxRecentThreats, 1))
  }
}
