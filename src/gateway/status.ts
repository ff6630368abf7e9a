/**
 * `GET /ech/status`: a JSON snapshot of the encrypter for operators. Keys are
 * described by their public half only (config id, KEM, public name, times);
 * nothing here reads `EchKey.privateKey`.
 */
import { getKem } from '../hpke/registry.js'
import { nextRotationOf } from './well-known.js'
import type { KeyStatus, StatusDocument } from './types.js'
import type { KeySchedule } from './well-known.js'
import type { EchNoise } from '../encrypter/ech-noise.js'
import type { EchKey } from '../keys/generate.js'
import type { PeerId } from '@libp2p/interface'

const RECENT_THREATS = 20

function iso (ms: number): string {
  return new Date(ms).toISOString()
}

function kemName (kemId: number): string {
  return getKem(kemId)?.name ?? `0x${kemId.toString(16).padStart(4, '0')}`
}

/**
 * Newest first. A key is retired when the next newer one was made (the key
 * manager's documented rule), and expires when the key manager says so.
 */
export function describeKeys (keys: EchKey[], schedule: KeySchedule, now: number): KeyStatus[] {
  return keys.map((key, i) => {
    const { config } = key
    const status: KeyStatus = {
      configId: config.configId,
      kemId: config.kemId,
      kem: kemName(config.kemId),
      publicName: config.publicName,
      current: i === 0,
      createdAt: iso(key.createdAt),
      ageSeconds: Math.max(0, Math.floor((now - key.createdAt) / 1000))
    }
    if (i > 0) {
      status.retiredAt = iso(keys[i - 1].createdAt)
      const expiry = typeof schedule.getKeyExpiry === 'function' ? schedule.getKeyExpiry(config.configId) : undefined
      if (typeof expiry === 'number' && Number.isFinite(expiry)) {
        status.expiresAt = iso(expiry)
      }
    }
    return status
  })
}

export function buildStatus (encrypter: EchNoise, peerId: PeerId, now: number): StatusDocument {
  const policy = encrypter.policy.getState()
  const counters = encrypter.monitor.getCounters()
  const byOutcome: Record<string, number> = {}
  let total = 0
  for (const [label, count] of Object.entries(counters.handshakes)) {
    const outcome = label.slice(label.indexOf('_') + 1)
    byOutcome[outcome] = (byOutcome[outcome] ?? 0) + count
    total += count
  }
  const nextRotation = nextRotationOf(encrypter.keys)
  return {
    peerId: peerId.toString(),
    time: iso(now),
    mode: encrypter.mode,
    effectiveMode: policy.enabled ? encrypter.mode : 'disabled',
    enabled: { value: policy.enabled, source: policy.source.enabled },
    rollout: { percentage: policy.rolloutPercentage, source: policy.source.rolloutPercentage },
    keys: describeKeys(encrypter.keys.getKeys(), encrypter.keys as KeySchedule, now),
    ...(nextRotation != null ? { nextRotation: iso(nextRotation) } : {}),
    handshakes: { total, byOutcome, byLabel: { ...counters.handshakes } },
    fallbacks: { ...counters.fallbacks },
    threats: { ...counters.threats },
    outerHellos: { ...counters.outerHellos },
    requireRefusals: counters.requireRefusals,
    breakers: { open: policy.openBreakers.length, peers: policy.openBreakers },
    recentThreats: encrypter.monitor.getRecentThreats(RECENT_THREATS)
  }
}
