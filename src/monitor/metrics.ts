/**
 * The monitor's metrics, through the libp2p `Metrics` interface (optional:
 * without it every method is a no-op).
 *
 * Counter and histogram groups in the interface take ONE label: their
 * `increment`/`observe` take a `Record<labelValue, number>` and
 * `@libp2p/prometheus-metrics` builds each group with `labelNames: [label]`.
 * So handshakes are counted under one combined label `role_outcome`
 * (`initiator_accepted`, `responder_not-offered`, …): one metric name keeps
 * `sum()` meaningful, and PromQL splits it with
 * `label_replace(m, "role", "$1", "role_outcome", "([a-z]+)_.*")`.
 * Durations are observed in seconds (Prometheus base unit) into one
 * histogram group labelled `path`.
 */
import type { EchFallbackLabel, EchHandshakeLabel, EchHandshakeOutcome, EchPath, EchRole, EchStallStage, EchThreatKind } from './types.js'
import type { CounterGroup, HistogramGroup, Metrics } from '@libp2p/interface'

export const METRIC_HANDSHAKES = 'libp2p_ech_noise_handshakes_total'
export const METRIC_FALLBACKS = 'libp2p_ech_noise_fallbacks_total'
export const METRIC_THREATS = 'libp2p_ech_noise_threats_total'
export const METRIC_DURATION = 'libp2p_ech_noise_handshake_duration_seconds'
export const METRIC_LIVE_KEYS = 'libp2p_ech_noise_live_keys'
export const METRIC_OPEN_BREAKERS = 'libp2p_ech_noise_open_breakers'

/** 1 ms … 1 s in roughly 1-2.5-5 steps, then 2.5/5/10 s so timeouts (default 10 s) land in a bucket; seconds */
export const DURATION_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

export const ROLES: readonly EchRole[] = ['initiator', 'responder']
export const OUTCOMES: readonly EchHandshakeOutcome[] = ['accepted', 'rejected', 'grease', 'not-offered', 'fallback', 'failed']
export const PATHS: readonly EchPath[] = ['ech', 'stock']
export const FALLBACK_REASONS: readonly EchFallbackLabel[] = ['disabled', 'rollout', 'breaker-open', 'address-refused', 'config-refused', 'no-peer-id', 'no-config', 'expired-config', 'unusable-config', 'not-offered', 'other']
export const THREAT_KINDS: readonly EchThreatKind[] = ['probing', 'replay', 'downgrade', 'malformed', 'require-refusals', 'bad-retry-configs', 'slow-handshake', 'half-open']
export const STALL_STAGES: readonly EchStallStage[] = ['message1', 'handshake']
export const HANDSHAKE_LABELS: readonly EchHandshakeLabel[] = ROLES.flatMap(role => OUTCOMES.map(outcome => `${role}_${outcome}` as const))

export interface MonitorMetricsInit {
  getLiveKeys?(): number
  getOpenBreakers?(): number
}

export function zeros<T extends string> (labels: readonly T[]): Record<T, number> {
  return Object.fromEntries(labels.map(label => [label, 0])) as Record<T, number>
}

/** A scrape must not fail because a callback threw: report NaN ("unknown") instead */
function guarded (fn: () => number): () => number {
  return () => {
    try {
      return fn()
    } catch {
      return NaN
    }
  }
}

export class MonitorMetrics {
  readonly #handshakes?: CounterGroup<EchHandshakeLabel>
  readonly #fallbacks?: CounterGroup<EchFallbackLabel>
  readonly #threats?: CounterGroup<EchThreatKind>
  readonly #durations?: HistogramGroup<EchPath>

  constructor (metrics: Metrics | undefined, init: MonitorMetricsInit = {}) {
    if (metrics == null) {
      return
    }
    this.#handshakes = metrics.registerCounterGroup(METRIC_HANDSHAKES, {
      label: 'role_outcome',
      help: 'ECH-Noise handshakes by role and ECH outcome'
    })
    this.#fallbacks = metrics.registerCounterGroup(METRIC_FALLBACKS, {
      label: 'reason',
      help: 'Connections handed to stock Noise, by reason'
    })
    this.#threats = metrics.registerCounterGroup(METRIC_THREATS, {
      label: 'kind',
      help: 'Threat detections by kind, including rate-limited ones'
    })
    this.#durations = metrics.registerHistogramGroup(METRIC_DURATION, {
      label: 'path',
      help: 'Time to secure a connection, seconds, by engine',
      buckets: DURATION_BUCKETS_SECONDS
    })
    // every series exists from the start, so rate() and alerts see the first event
    this.#handshakes.increment(zeros(HANDSHAKE_LABELS))
    this.#fallbacks.increment(zeros(FALLBACK_REASONS))
    this.#threats.increment(zeros(THREAT_KINDS))

    if (init.getLiveKeys != null) {
      metrics.registerMetric(METRIC_LIVE_KEYS, {
        help: 'ECH keys this node currently accepts',
        calculate: guarded(init.getLiveKeys)
      })
    }
    if (init.getOpenBreakers != null) {
      metrics.registerMetric(METRIC_OPEN_BREAKERS, {
        help: 'Peers whose ECH circuit breaker is open or half-open',
        calculate: guarded(init.getOpenBreakers)
      })
    }
  }

  handshake (label: EchHandshakeLabel, path: EchPath, durationMs?: number): void {
    this.#handshakes?.increment({ [label]: true })
    if (durationMs != null && Number.isFinite(durationMs) && durationMs >= 0) {
      this.#durations?.observe({ [path]: durationMs / 1000 })
    }
  }

  fallback (reason: EchFallbackLabel): void {
    this.#fallbacks?.increment({ [reason]: true })
  }

  threat (kind: EchThreatKind): void {
    this.#threats?.increment({ [kind]: true })
  }
}
