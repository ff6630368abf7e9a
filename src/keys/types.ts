/**
 * Public types of the key manager (`manager.ts`): its settings, the
 * components it uses and its events.
 */
import type { EchKey, GenerateEchKeyOptions } from './generate.js'
import type { CryptoProvider } from '../crypto/provider.js'
import type { ComponentLogger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** What the key manager needs from libp2p */
export interface EchKeyManagerComponents {
  /** Logger `libp2p:noise-ech:keys` */
  logger: ComponentLogger
  /** Where generated keys are kept across restarts; in memory only without it */
  datastore?: Datastore
}

/**
 * Settings of the key manager; `EchNoiseInit.keyManager` takes them without `keys` and `provider`
 */
export interface EchKeyManagerInit {
  /**
   * Keys the application manages itself, newest first. They are used as
   * given: not persisted, not rotated automatically, never expired unless
   * `rotate()` retires them.
   */
  keys?: EchKey[]
  /** ms between automatic rotations (default 30 days) */
  rotationInterval?: number
  /**
   * ms a retired key stays usable (default 7 days). Below 48 h (the
   * longest a dialer caches a config) a warning is logged: a rotation then
   * strands `require`-mode dialers holding the replaced config.
   */
  gracePeriod?: number
  /**
   * Most keys live at once, 1..255 (default 8). A rotation beyond it
   * retires the oldest keys before their grace period ends (destroyed,
   * deleted, `ech:key-expired` with reason `cap`); so does a config list
   * over `MAX_CONFIG_LIST_BYTES` (32 KiB, about 26 X-Wing configs).
   */
  maxLiveKeys?: number
  /** Rotate on a timer (default true, false when `keys` are given) */
  autoRotate?: boolean
  /** How new keys are made (public name, KEM, suites) */
  generate?: Omit<GenerateEchKeyOptions, 'configId' | 'avoidConfigIds' | 'createdAt' | 'provider'>
  /** Crypto backend for key generation and import (default: the platform's, `node:crypto` on Node) */
  provider?: CryptoProvider
  /** Datastore prefix (default `/libp2p-noise-ech/keys`) */
  namespace?: string
  /** The clock, ms since the epoch (default `Date.now`) */
  now?(): number
}

/** The detail of `ech:rotated` */
export interface EchKeyRotatedDetail {
  /** config_id of the new key */
  added: number
  /** config_ids of the keys this rotation retired (accepted until their grace period ends) */
  retired: number[]
}

/** Options of `EchKeyManager.rotate()` */
export interface EchKeyRotateOptions {
  /**
   * ms the keys this rotation retires stay accepted, instead of the
   * configured `gracePeriod`; keys retired earlier are kept no longer than
   * that either (0: only the new key is accepted, at once). Persisted with
   * the keys, so a restart keeps it.
   */
  gracePeriod?: number
}

/** The detail of `ech:key-expired` */
export interface EchKeyExpiredDetail {
  /** config_id of the key that is no longer accepted */
  configId: number
  /** When that key was made, ms since the epoch */
  createdAt: number
  /** `grace-ended`: its grace period ran out; `cap`: `maxLiveKeys` or the list size limit retired it early */
  reason: 'grace-ended' | 'cap'
}

/** Events of `EchKeyManager` */
export interface EchKeyManagerEvents {
  /** A key was added (by a rotation, or the first one at start) */
  'ech:rotated': CustomEvent<EchKeyRotatedDetail>
  /** A retired key's grace period ended, or the live-key cap retired it early: destroyed and deleted from the datastore */
  'ech:key-expired': CustomEvent<EchKeyExpiredDetail>
}
