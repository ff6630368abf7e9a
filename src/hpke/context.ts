/**
 * HPKE encryption contexts (RFC 9180 §5.2) and the secret export interface
 * (§5.3). The sequence number is kept as an Nn-byte big-endian counter, so
 * the nonce is `base_nonce XOR seq` byte for byte and the §5.2 limit
 * (2^(8*Nn) - 1) is exact rather than bounded by a JS number.
 */
import { HpkeDestroyedError, HpkeInvalidInputError, HpkeMessageLimitError, HpkeOpenError } from './errors.js'
import { HASH_LENGTH, label, labeledExpand } from './labeled.js'
import type { KeyScheduleResult, ResolvedSuite } from './key-schedule.js'
import type { Aead, CryptoProvider } from '../crypto/provider.js'

const LABEL_SEC = label('sec')

export interface ExporterContext {
  /** Export(exporter_context, L) (RFC 9180 §5.3) */
  export(exporterContext: Uint8Array, length: number): Uint8Array
  /** Wipe key, base_nonce and exporter_secret; later calls throw `HpkeDestroyedError` */
  destroy(): void
}

export interface SenderContext extends ExporterContext {
  /** ContextS.Seal(aad, pt) (RFC 9180 §5.2); returns ct || tag */
  seal(aad: Uint8Array, plaintext: Uint8Array): Uint8Array
}

export interface RecipientContext extends ExporterContext {
  /** ContextR.Open(aad, ct) (RFC 9180 §5.2); throws `HpkeOpenError` */
  open(aad: Uint8Array, ciphertext: Uint8Array): Uint8Array
}

interface LiveState {
  key: Uint8Array
  baseNonce: Uint8Array
  exporterSecret: Uint8Array
  seq: Uint8Array
}

export function checkBytes (value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new HpkeInvalidInputError(`${what} must be a Uint8Array`)
  }
}

let seqSetter: (context: ExporterContext, seq: bigint) => void

class HpkeContext implements SenderContext, RecipientContext {
  static {
    seqSetter = (context, seq) => {
      if (!(context instanceof HpkeContext)) {
        throw new HpkeInvalidInputError('not an HPKE context')
      }
      const { seq: bytes } = context.#live()
      for (let i = bytes.length - 1; i >= 0; i--) {
        bytes[i] = Number(seq & 0xffn)
        seq >>= 8n
      }
    }
  }

  readonly #provider: CryptoProvider
  readonly #suiteId: Uint8Array
  readonly #aead: Aead | undefined
  #state: LiveState | undefined

  constructor (provider: CryptoProvider, suite: ResolvedSuite, schedule: KeyScheduleResult) {
    this.#provider = provider
    this.#suiteId = suite.suiteId
    this.#aead = suite.aead == null ? undefined : provider.aead(suite.aead)
    this.#state = {
      key: schedule.key,
      baseNonce: schedule.baseNonce,
      exporterSecret: schedule.exporterSecret,
      seq: new Uint8Array(suite.nonceLength)
    }
  }

  seal (aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    checkBytes(aad, 'aad')
    checkBytes(plaintext, 'plaintext')
    const { aead, state, nonce } = this.#nextNonce()
    try {
      const ct = aead.seal(state.key, nonce, aad, plaintext)
      this.#incrementSeq(state.seq)
      return ct
    } finally {
      nonce.fill(0)
    }
  }

  open (aad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    checkBytes(aad, 'aad')
    checkBytes(ciphertext, 'ciphertext')
    const { aead, state, nonce } = this.#nextNonce()
    let pt: Uint8Array
    try {
      pt = aead.open(state.key, nonce, aad, ciphertext)
    } catch (err) {
      throw new HpkeOpenError(undefined, { cause: err })
    } finally {
      nonce.fill(0)
    }
    // §5.2: the sequence number advances only on a successful Open
    this.#incrementSeq(state.seq)
    return pt
  }

  export (exporterContext: Uint8Array, length: number): Uint8Array {
    checkBytes(exporterContext, 'exporter_context')
    if (!Number.isSafeInteger(length) || length <= 0 || length > 255 * HASH_LENGTH) {
      throw new HpkeInvalidInputError('export length must be 1..8160 bytes')
    }
    const { exporterSecret } = this.#live()
    return labeledExpand(this.#provider, this.#suiteId, exporterSecret, LABEL_SEC, exporterContext, length)
  }

  destroy (): void {
    if (this.#state == null) { return }
    this.#state.key.fill(0)
    this.#state.baseNonce.fill(0)
    this.#state.exporterSecret.fill(0)
    this.#state = undefined
  }

  #live (): LiveState {
    if (this.#state == null) {
      throw new HpkeDestroyedError()
    }
    return this.#state
  }

  /** ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn), refusing seq = 2^(8*Nn) - 1 (§5.2) */
  #nextNonce (): { aead: Aead, state: LiveState, nonce: Uint8Array } {
    const state = this.#live()
    if (this.#aead == null) {
      // §5.3: an export-only context has no Seal/Open
      throw new HpkeInvalidInputError('export-only HPKE context cannot seal or open')
    }
    let all = 0xff
    for (const b of state.seq) { all &= b }
    if (all === 0xff) {
      throw new HpkeMessageLimitError()
    }
    const nonce = new Uint8Array(state.baseNonce.length)
    for (let i = 0; i < nonce.length; i++) { nonce[i] = state.baseNonce[i] ^ state.seq[i] }
    return { aead: this.#aead, state, nonce }
  }

  #incrementSeq (seq: Uint8Array): void {
    for (let i = seq.length - 1; i >= 0; i--) {
      seq[i] = (seq[i] + 1) & 0xff
      if (seq[i] !== 0) { return }
    }
  }
}

export function createContext (provider: CryptoProvider, suite: ResolvedSuite, schedule: KeyScheduleResult): SenderContext & RecipientContext {
  return new HpkeContext(provider, suite, schedule)
}

/** Testing hook: set the sequence number (e.g. to 2^96 - 2) to exercise the §5.2 limit */
export function setSequenceNumber (context: ExporterContext, seq: bigint): void {
  seqSetter(context, seq)
}
