/**
 * The post-handshake secure channel (libp2p noise spec, "Wire Format"):
 * each frame is a uint16 big-endian length then one ChaChaPoly ciphertext of
 * at most 65535 bytes, so plaintext chunks are at most 65535 - 16 bytes.
 * Wire-identical to stock `@chainsafe/libp2p-noise`'s `EncryptedMessageStream`
 * and with the same event handling (message, close, drain, remoteCloseWrite,
 * pause/resume, abort).
 */
import { AbstractMessageStream, LengthPrefixedDecoder } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import { MAX_FRAME, uint16BEDecode, uint16BEEncode } from './framing.js'
import type { CipherState } from './cipher-state.js'
import type { AbortOptions, MessageStream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

// `uint8arraylist` 2.x (this package's dependency) and 3.x (libp2p's) are
// interchangeable at run time (both detect lists by a shared Symbol.for
// brand) but their types differ, so libp2p-facing values are typed from
// libp2p's own signatures.
type LibList = Exclude<Parameters<MessageStream['send']>[0], Uint8Array>

const TAGLEN = 16
const MAX_PLAINTEXT = MAX_FRAME - TAGLEN

/** Every length prefix is a uint16: one function for all channels, not a closure held by each */
function prefixLength (): number {
  return 2
}

/** The two transport CipherStates after Split (§5.2): ours to send with, the remote's to receive with */
export interface TransportCiphers {
  send: CipherState
  recv: CipherState
}

/**
 * Told when the remote's first transport frame arrives: the connection
 * carries data, so the handshake really was taken (a Noise that checks
 * message 1 only after message 3, as jvm-libp2p does, finishes the handshake
 * and then hangs up without a frame)
 */
export interface FirstFrameWatch {
  firstFrame(): void
}

/** Counters the channel bumps, shaped like prom-client / libp2p `Counter`s */
export interface ChannelMetrics {
  encryptedPackets?: { increment(): void }
  decryptedPackets?: { increment(): void }
  decryptErrors?: { increment(): void }
}

class EncryptedMessageStream extends AbstractMessageStream {
  readonly #stream: MessageStream
  readonly #ciphers: TransportCiphers
  readonly #metrics?: ChannelMetrics
  readonly #decoder: LengthPrefixedDecoder
  #watch?: FirstFrameWatch

  constructor (stream: MessageStream, ciphers: TransportCiphers, metrics?: ChannelMetrics, watch?: FirstFrameWatch) {
    super({
      log: stream.log,
      inactivityTimeout: stream.inactivityTimeout,
      maxReadBufferLength: stream.maxReadBufferLength,
      direction: stream.direction
    })

    this.#stream = stream
    this.#ciphers = ciphers
    this.#metrics = metrics
    this.#watch = watch
    this.#decoder = new LengthPrefixedDecoder({
      lengthDecoder: uint16BEDecode,
      maxBufferSize: 16 * 1024 * 1024,
      encodingLength: prefixLength
    })

    this.#stream.addEventListener('message', (evt: StreamMessageEvent) => {
      try {
        for (const frame of this.#decoder.decode(evt.data)) {
          this.onData(this.decrypt(frame))
          if (this.#watch != null) { this.#settle() }
        }
      } catch (err: any) {
        this.abort(err)
      }
    })

    this.#stream.addEventListener('close', (evt: StreamCloseEvent) => {
      if (evt.error != null) {
        if (evt.local === true) {
          this.abort(evt.error)
        } else {
          this.onRemoteReset()
        }
      } else {
        this.onTransportClosed()
      }
    })

    this.#stream.addEventListener('drain', () => {
      this.safeDispatchEvent('drain')
    })

    this.#stream.addEventListener('remoteCloseWrite', () => {
      this.onRemoteCloseWrite()
    })
  }

  /** The remote's first frame: tell the watch, once */
  #settle (): void {
    const watch = this.#watch
    this.#watch = undefined
    watch?.firstFrame()
  }

  encrypt (chunk: Uint8Array | LibList): LibList {
    const output = new Uint8ArrayList()
    for (let i = 0; i < chunk.byteLength; i += MAX_PLAINTEXT) {
      const end = Math.min(i + MAX_PLAINTEXT, chunk.byteLength)
      const data = chunk instanceof Uint8Array
        ? this.#ciphers.send.encrypt(chunk.subarray(i, end))
        : this.#ciphers.send.encrypt((chunk.byteLength === end - i ? chunk : chunk.sublist(i, end)) as unknown as Uint8ArrayList)
      this.#metrics?.encryptedPackets?.increment()
      output.append(uint16BEEncode(data.byteLength))
      output.append(data)
    }
    return output as unknown as LibList
  }

  /** One frame from the length-prefixed decoder is one ciphertext (<= 65535 bytes by its uint16 length) */
  decrypt (frame: LibList): Uint8Array | LibList {
    if (frame.byteLength < TAGLEN) {
      throw new Error('Invalid chunk')
    }
    try {
      // a full-size frame often arrives split over two reads: hand the cipher
      // the list as it is rather than copying it into one buffer
      const bufs = (frame as unknown as { bufs?: Uint8Array[] }).bufs
      const ciphertext = bufs?.length === 1 ? bufs[0] : frame as unknown as Uint8ArrayList
      const plaintext = this.#ciphers.recv.decrypt(ciphertext) as Uint8Array | LibList
      this.#metrics?.decryptedPackets?.increment()
      return plaintext
    } catch (err) {
      this.#metrics?.decryptErrors?.increment()
      throw err
    }
  }

  async close (options?: AbortOptions): Promise<void> {
    return this.#stream.close(options)
  }

  sendPause (): void {
    this.#stream.pause()
  }

  sendResume (): void {
    this.#stream.resume()
  }

  sendReset (err: Error): void {
    this.#stream.abort(err)
  }

  sendData (data: LibList): SendResult {
    return {
      sentBytes: data.byteLength,
      canSendMore: this.#stream.send(this.encrypt(data))
    }
  }
}

/** Wraps the raw connection (`lpStream(...).unwrap()`) in the transport-phase cipher */
export function toMessageStream (connection: MessageStream, ciphers: TransportCiphers, metrics?: ChannelMetrics, watch?: FirstFrameWatch): MessageStream {
  return new EncryptedMessageStream(connection, ciphers, metrics, watch)
}
