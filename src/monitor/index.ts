/**
 * Security monitor: typed events, threat detection, audit log and metrics
 * for the ECH-Noise wrapper.
 */
export { EchMonitor, MONITOR_DEFAULTS } from './monitor.js'
export { AUDIT_FIELDS } from './audit.js'
export {
  DURATION_BUCKETS_SECONDS,
  METRIC_DURATION,
  METRIC_FALLBACKS,
  METRIC_HANDSHAKES,
  METRIC_LIVE_KEYS,
  METRIC_OPEN_BREAKERS,
  METRIC_THREATS
} from './metrics.js'
export type * from './types.js'
