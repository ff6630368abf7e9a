/**
 * A bounds-checked big-endian reader for TLS presentation-language structures
 * (RFC 8446 §3), the one the ECHConfig codec and the ECH outer hello codec
 * share. Every read names the field it is reading, so the first short or
 * overlong field is the one the error reports; the error class is the
 * caller's (`EchConfigError` by default). Byte reads return copies: nothing
 * parsed from the input ever aliases it.
 */
import { EchConfigError } from './errors.js'

/** Makes the error for a bad field */
export type FieldError = (field: string, message: string) => Error

const configError: FieldError = (field, message) => new EchConfigError(field, message)

export class Reader {
  readonly #bytes: Uint8Array
  readonly #fail: FieldError
  #offset = 0

  constructor (bytes: Uint8Array, fail: FieldError = configError) {
    this.#bytes = bytes
    this.#fail = fail
  }

  get position (): number {
    return this.#offset
  }

  get remaining (): number {
    return this.#bytes.length - this.#offset
  }

  u8 (field: string): number {
    this.#need(1, field)
    return this.#bytes[this.#offset++]
  }

  u16 (field: string): number {
    this.#need(2, field)
    const value = (this.#bytes[this.#offset] << 8) | this.#bytes[this.#offset + 1]
    this.#offset += 2
    return value
  }

  /** A copy of the next `length` bytes */
  bytesCopy (length: number, field: string): Uint8Array {
    this.#need(length, field)
    const out = this.#bytes.slice(this.#offset, this.#offset + length)
    this.#offset += length
    return out
  }

  /** A reader over the next `length` bytes (a view, for parsing only) */
  sub (length: number, field: string): Reader {
    this.#need(length, field)
    const sub = new Reader(this.#bytes.subarray(this.#offset, this.#offset + length), this.#fail)
    this.#offset += length
    return sub
  }

  /** A copy of the bytes between `start` and the current position */
  copyFrom (start: number): Uint8Array {
    return this.#bytes.slice(start, this.#offset)
  }

  /** Throws unless every byte has been consumed */
  end (field: string): void {
    if (this.remaining !== 0) {
      throw this.#fail(field, `${this.remaining} trailing byte(s) not covered by the structure (${field})`)
    }
  }

  #need (length: number, field: string): void {
    if (length > this.remaining) {
      throw this.#fail(field, `truncated ${field}: need ${length} byte(s), have ${this.remaining}`)
    }
  }
}
