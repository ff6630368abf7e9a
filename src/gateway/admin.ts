/**
 * The admin endpoints: rotate the ECH key, set the rollout share, set the
 * mode and the kill switch. Each validates its whole body before changing
 * anything, so a bad request changes nothing.
 */
import { HttpError } from './errors.js'
import { jsonObject } from './http.js'
import type { EchNoise } from '../encrypter/ech-noise.js'
import type { EchMode } from '../encrypter/types.js'
import type { Logger } from '@libp2p/interface'

const MODES: readonly EchMode[] = ['opportunistic', 'require', 'disabled']

export interface RotateResult {
  /** config_id of the new key */
  configId: number
  /** config_ids of the keys it retired */
  retired: number[]
}

/**
 * `POST /ech/rotate`, body absent or `{ "gracePeriod": ms }`: how long the
 * keys it replaces stay accepted (default: the configured grace period; 0
 * drops them at once, for a key that may be compromised)
 */
export async function rotate (encrypter: EchNoise, body: unknown, log: Logger): Promise<RotateResult> {
  const { gracePeriod } = body === undefined ? {} : jsonObject(body, ['gracePeriod'])
  if (gracePeriod !== undefined && (typeof gracePeriod !== 'number' || !Number.isFinite(gracePeriod) || gracePeriod < 0)) {
    throw new HttpError(400, 'bad-request', 'gracePeriod must be a non-negative number of ms')
  }
  // the manager's own event says which keys this rotation retired, even when rotations overlap
  const seen: Array<{ added: number, retired: number[] }> = []
  const onRotated = (evt: CustomEvent<{ added: number, retired: number[] }>): void => { seen.push(evt.detail) }
  encrypter.keys.addEventListener('ech:rotated', onRotated)
  let configId: number
  try {
    configId = (await encrypter.keys.rotate(gracePeriod === undefined ? {} : { gracePeriod })).config.configId
  } finally {
    encrypter.keys.removeEventListener('ech:rotated', onRotated)
  }
  const retired = seen.find(d => d.added === configId)?.retired ?? []
  log('admin: rotated ECH key, new config id %d, retired %o, grace period %s', configId, retired, gracePeriod ?? 'as configured')
  return { configId, retired: [...retired] }
}

export function setRollout (encrypter: EchNoise, body: unknown, log: Logger): { percentage: number, source: string } {
  const { percentage } = jsonObject(body, ['percentage'])
  if (typeof percentage !== 'number' || !Number.isFinite(percentage) || percentage < 0 || percentage > 100) {
    throw new HttpError(400, 'bad-request', 'percentage must be a number from 0 to 100')
  }
  encrypter.policy.setRolloutPercentage(percentage)
  log('admin: ECH rollout set to %s%%', percentage)
  const state = encrypter.policy.getState()
  return { percentage: state.rolloutPercentage, source: state.source.rolloutPercentage }
}

export interface ModeResult {
  mode: EchMode
  enabled: boolean
  effectiveMode: EchMode
}

export function setMode (encrypter: EchNoise, body: unknown, log: Logger): ModeResult {
  const { mode, enabled } = jsonObject(body, ['mode', 'enabled'])
  if (mode === undefined && enabled === undefined) {
    throw new HttpError(400, 'bad-request', 'Give mode, enabled, or both')
  }
  if (mode !== undefined && !MODES.includes(mode as EchMode)) {
    throw new HttpError(400, 'bad-request', `mode must be one of ${MODES.join(', ')}`)
  }
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw new HttpError(400, 'bad-request', 'enabled must be a boolean')
  }
  if (mode !== undefined) {
    encrypter.mode = mode as EchMode
    log('admin: ECH mode set to %s', mode)
  }
  if (enabled !== undefined) {
    encrypter.policy.setEnabled(enabled)
    log('admin: ECH kill switch set to enabled=%s', enabled)
  }
  const on = encrypter.policy.isEnabled()
  return { mode: encrypter.mode, enabled: on, effectiveMode: on ? encrypter.mode : 'disabled' }
}
