/**
 * Settings of the fallback policy: the operator environment variables, the
 * `init` options, and which of them wins.
 *
 * `ECH_ENABLED`: `true`, `false`, `1` or `0`, case-insensitive, surrounding
 * whitespace ignored. `ECH_ROLLOUT_PERCENTAGE`: a plain decimal 0..100
 * (`25`, `12.5`); signs, exponents, hex and blanks are refused so that a
 * mangled deployment file fails loudly rather than meaning something else.
 * An unset variable defers to `init`; a set-but-empty one is an error.
 */
import { EchPolicyConfigError } from './errors.js'
import type { EchPolicyInit, PolicySettingSource } from './types.js'

/**
 * The kill-switch variable: `true`, `false`, `1` or `0` (case-insensitive); wins over
 * `init.enabled`
 */
export const ENV_ENABLED = 'ECH_ENABLED'
/** The rollout variable: a plain decimal 0..100; wins over `init.rolloutPercentage` */
export const ENV_ROLLOUT_PERCENTAGE = 'ECH_ROLLOUT_PERCENTAGE'

export const DEFAULT_FAILURE_THRESHOLD = 3
export const DEFAULT_COOLDOWN_MS = 60 * 1000
export const DEFAULT_MAX_COOLDOWN_MS = 60 * 60 * 1000
export const DEFAULT_TRIAL_TIMEOUT_MS = 60 * 1000
export const DEFAULT_MAX_PEERS = 10_000
export const DEFAULT_PERSIST_DELAY_MS = 1000
export const DEFAULT_ADDRESS_REFUSAL_MS = 10 * 60 * 1000
export const DEFAULT_INTOLERANT_MS = 60 * 60 * 1000
export const DEFAULT_POLICY_NAMESPACE = '/libp2p-noise-ech/policy/breakers'

const DECIMAL = /^\d{1,3}(\.\d+)?$/

/** The overrides found in an environment; only the variables that are set */
export interface PolicyEnvOverrides {
  enabled?: boolean
  rolloutPercentage?: number
}

export interface ResolvedPolicyConfig {
  enabled: boolean
  rolloutPercentage: number
  source: { enabled: PolicySettingSource, rolloutPercentage: PolicySettingSource }
  failureThreshold: number
  cooldownMs: number
  maxCooldownMs: number
  trialTimeoutMs: number
  maxPeers: number
  persistDelayMs: number
  addressRefusalMs: number
  intolerantMs: number
  namespace: string
}

/** Quote an offending value for an error message without letting a huge one flood the log */
function show (value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 40 ? `${text.slice(0, 37)}...` : text
}

export function parseBooleanSetting (value: string, setting: string): boolean {
  switch (value.trim().toLowerCase()) {
    case 'true': case '1': return true
    case 'false': case '0': return false
    default:
      throw new EchPolicyConfigError(setting, `${setting} must be true, false, 1 or 0 (case-insensitive), got ${show(value)}`)
  }
}

export function parsePercentageSetting (value: string, setting: string): number {
  const text = value.trim()
  if (!DECIMAL.test(text)) {
    throw new EchPolicyConfigError(setting, `${setting} must be a decimal number from 0 to 100, got ${show(value)}`)
  }
  return checkPercentage(Number(text), setting)
}

export function checkPercentage (value: unknown, setting: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
    throw new EchPolicyConfigError(setting, `${setting} must be a number from 0 to 100, got ${show(value)}`)
  }
  return value
}

export function checkBoolean (value: unknown, setting: string): boolean {
  if (typeof value !== 'boolean') {
    throw new EchPolicyConfigError(setting, `${setting} must be a boolean, got ${show(value)}`)
  }
  return value
}

/**
 * Validated overrides from an environment (`process.env` shape). Throws
 * `EchPolicyConfigError` naming the variable when one is set to an invalid
 * value.
 */
export function parseEnv (env: Record<string, string | undefined>): PolicyEnvOverrides {
  const overrides: PolicyEnvOverrides = {}
  const enabled = env[ENV_ENABLED]
  if (enabled != null) {
    overrides.enabled = parseBooleanSetting(enabled, ENV_ENABLED)
  }
  const percentage = env[ENV_ROLLOUT_PERCENTAGE]
  if (percentage != null) {
    overrides.rolloutPercentage = parsePercentageSetting(percentage, ENV_ROLLOUT_PERCENTAGE)
  }
  return overrides
}

function checkInteger (value: unknown, fallback: number, min: number, setting: string): number {
  if (value == null) { return fallback }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new EchPolicyConfigError(setting, `${setting} must be an integer >= ${min}, got ${show(value)}`)
  }
  return value
}

/** The environment the constructor reads when none is given; none at all outside Node */
export function defaultEnv (): Record<string, string | undefined> {
  return globalThis.process?.env ?? {}
}

function sourceOf (fromEnv: unknown, fromInit: unknown): PolicySettingSource {
  if (fromEnv != null) { return 'env' }
  return fromInit != null ? 'init' : 'default'
}

/** Every setting validated, the environment winning over `init` for the two operator switches */
export function resolveConfig (init: EchPolicyInit, env: Record<string, string | undefined>): ResolvedPolicyConfig {
  const overrides = parseEnv(env)
  const initEnabled = init.enabled == null ? undefined : checkBoolean(init.enabled, 'init.enabled')
  const initPercentage = init.rolloutPercentage == null ? undefined : checkPercentage(init.rolloutPercentage, 'init.rolloutPercentage')

  const cooldownMs = checkInteger(init.cooldownMs, DEFAULT_COOLDOWN_MS, 1, 'init.cooldownMs')
  const maxCooldownMs = checkInteger(init.maxCooldownMs, Math.max(DEFAULT_MAX_COOLDOWN_MS, cooldownMs), 1, 'init.maxCooldownMs')
  if (maxCooldownMs < cooldownMs) {
    throw new EchPolicyConfigError('init.maxCooldownMs', `init.maxCooldownMs (${maxCooldownMs}) must not be below init.cooldownMs (${cooldownMs})`)
  }
  const namespace = init.namespace ?? DEFAULT_POLICY_NAMESPACE
  if (typeof namespace !== 'string' || !namespace.startsWith('/')) {
    throw new EchPolicyConfigError('init.namespace', `init.namespace must be a datastore key prefix starting with "/", got ${show(namespace)}`)
  }

  return {
    enabled: overrides.enabled ?? initEnabled ?? true,
    rolloutPercentage: overrides.rolloutPercentage ?? initPercentage ?? 100,
    source: {
      enabled: sourceOf(overrides.enabled, initEnabled),
      rolloutPercentage: sourceOf(overrides.rolloutPercentage, initPercentage)
    },
    failureThreshold: checkInteger(init.failureThreshold, DEFAULT_FAILURE_THRESHOLD, 1, 'init.failureThreshold'),
    cooldownMs,
    maxCooldownMs,
    trialTimeoutMs: checkInteger(init.trialTimeoutMs, DEFAULT_TRIAL_TIMEOUT_MS, 1, 'init.trialTimeoutMs'),
    maxPeers: checkInteger(init.maxPeers, DEFAULT_MAX_PEERS, 1, 'init.maxPeers'),
    persistDelayMs: checkInteger(init.persistDelayMs, DEFAULT_PERSIST_DELAY_MS, 0, 'init.persistDelayMs'),
    addressRefusalMs: checkInteger(init.addressRefusalMs, DEFAULT_ADDRESS_REFUSAL_MS, 1, 'init.addressRefusalMs'),
    intolerantMs: checkInteger(init.intolerantMs, DEFAULT_INTOLERANT_MS, 1, 'init.intolerantMs'),
    namespace
  }
}
