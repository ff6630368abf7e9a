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
  /** ms a retired key stays usable (default 7 days) */
  gracePeriod?: number
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

/** The detail of `ech:key-expired` */
export interface EchKeyExpiredDetail {
  /** config_id of the key that is no longer accepted */
  configId: number
  /** When that key was made, ms since the epoch */
  createdAt: number
}

/** Events of `EchKeyManager` */
export interface EchKeyManagerEvents {
  /** A key was added (by a rotation, or the first one at start) */
  'ech:rotated': CustomEvent<EchKeyRotatedDetail>
  /** A retired key's grace period ended: destroyed and deleted from the datastore */
  'ech:key-expired': CustomEvent<EchKeyExpiredDetail>
}
