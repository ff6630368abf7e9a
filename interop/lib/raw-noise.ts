/**
 * A minimal, independent libp2p Noise XX peer over raw TCP (multistream-select
 * + Noise_XX_25519_ChaChaPoly_SHA256 + the libp2p handshake payload), written
 * for the interop probes only: it lets us put arbitrary bytes in message 1
 * (as an initiator) or extra fields in message 2 (as a responder) and see
 * what the other implementations' stock Noise does with them.
 *
 * It does not use the package under test; it checks what the other side did
 * by whether the next handshake message arrives and decrypts.
 */
import net from 'node:net'
import { generateKeyPair, publicKeyFromProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id'
import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { x25519 } from '@noble/curves/ed25519.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concat } from '../../src/crypto/bytes.js'
import type { PrivateKey } from '@libp2p/interface'

const PROTOCOL_NAME = new TextEncoder().encode('Noise_XX_25519_ChaChaPoly_SHA256') // exactly 32 bytes: h = name
const SIG_PREFIX = new TextEncoder().encode('noise-libp2p-static-key:')

export function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Uint8Array.from(out)
}

/** A protobuf length-delimited field */
export function pbBytes (field: number, value: Uint8Array): Uint8Array {
  return concat(varint(field * 8 + 2), varint(value.byteLength), value)
}

function hkdf2 (ck: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const temp = hmac(sha256, ck, ikm)
  const o1 = hmac(sha256, temp, Uint8Array.of(1))
  const o2 = hmac(sha256, temp, concat(o1, Uint8Array.of(2)))
  return [o1, o2]
}

class SymmetricState {
  ck: Uint8Array = PROTOCOL_NAME.slice()
  h: Uint8Array = PROTOCOL_NAME.slice()
  k?: Uint8Array
  n = 0

  constructor () { this.mixHash(new Uint8Array(0)) } // empty prologue

  mixHash (d: Uint8Array): void { this.h = sha256(concat(this.h, d)) }
  mixKey (ikm: Uint8Array): void { [this.ck, this.k] = hkdf2(this.ck, ikm); this.n = 0 }
  private nonce (): Uint8Array {
    const nonce = new Uint8Array(12)
    new DataView(nonce.buffer).setBigUint64(4, BigInt(this.n++), true)
    return nonce
  }

  encryptAndHash (pt: Uint8Array): Uint8Array {
    const c = this.k == null ? pt : chacha20poly1305(this.k, this.nonce(), this.h).encrypt(pt)
    this.mixHash(c)
    return c
  }

  decryptAndHash (c: Uint8Array): Uint8Array {
    const pt = this.k == null ? c : chacha20poly1305(this.k, this.nonce(), this.h).decrypt(c)
    this.mixHash(c)
    return pt
  }
}

/** Buffered reads from a socket, with a deadline */
class Reader {
  private buf: Uint8Array = new Uint8Array(0)
  private closed = false
  private wake?: () => void

  constructor (private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => { this.buf = concat(this.buf, new Uint8Array(d)); this.wake?.() })
    socket.on('close', () => { this.closed = true; this.wake?.() })
    socket.on('error', () => { this.closed = true; this.wake?.() })
  }

  async read (n: number, deadline: number): Promise<Uint8Array> {
    while (this.buf.byteLength < n) {
      if (this.closed) { throw new Error(`connection closed by the remote (wanted ${n} bytes, had ${this.buf.byteLength})`) }
      const left = deadline - Date.now()
      if (left <= 0) { throw new Error('timeout') }
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, left)
        this.wake = () => { clearTimeout(t); resolve() }
      })
      this.wake = undefined
    }
    const out = this.buf.slice(0, n)
    this.buf = this.buf.slice(n)
    return out
  }

  async readVarint (deadline: number): Promise<number> {
    let n = 0
    let mul = 1
    for (;;) {
      const [b] = await this.read(1, deadline)
      n += (b & 0x7f) * mul
      if (b < 0x80) { return n }
      mul *= 128
    }
  }

  async readMultistream (deadline: number): Promise<string> {
    const len = await this.readVarint(deadline)
    return new TextDecoder().decode(await this.read(len, deadline))
  }

  async readFrame (deadline: number): Promise<Uint8Array> {
    const len = await this.read(2, deadline)
    return this.read((len[0] << 8) | len[1], deadline)
  }
}

function msLine (s: string): Uint8Array {
  const b = new TextEncoder().encode(s + '\n')
  return concat(varint(b.byteLength), b)
}

function frame (b: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(b.byteLength >> 8, b.byteLength & 0xff), b)
}

async function identityPayload (identity: PrivateKey, staticPub: Uint8Array, extra: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  const sig = await identity.sign(concat(SIG_PREFIX, staticPub))
  return concat(pbBytes(1, publicKeyToProtobuf(identity.publicKey)), pbBytes(2, sig), extra)
}

/** Parses the libp2p payload of message 2 or 3, checks its signature, returns the peer id */
async function verifyPayload (payload: Uint8Array, remoteStatic: Uint8Array): Promise<string> {
  // fields 1 and 2 (any other field is skipped, as protobuf readers do)
  let i = 0
  let key: Uint8Array | undefined
  let sig: Uint8Array | undefined
  const readV = (): number => {
    let n = 0; let mul = 1
    for (;;) { const b = payload[i++]; n += (b & 0x7f) * mul; if (b < 0x80) { return n } mul *= 128 }
  }
  while (i < payload.byteLength) {
    const tag = readV()
    const wt = tag & 7
    const field = Math.floor(tag / 8)
    if (wt === 2) {
      const len = readV()
      const v = payload.subarray(i, i + len); i += len
      if (field === 1) { key = v } else if (field === 2) { sig = v }
    } else if (wt === 0) { readV() } else { throw new Error(`unexpected wire type ${wt}`) }
  }
  if (key == null || sig == null) { throw new Error('payload without identity key or signature') }
  const pub = publicKeyFromProtobuf(key)
  if (!(await pub.verify(concat(SIG_PREFIX, remoteStatic), sig))) { throw new Error('bad identity signature') }
  return peerIdFromPublicKey(pub).toString()
}

export interface ResponderProbeResult {
  /** The responder answered message 1 with a message 2 */
  msg2Received: boolean
  /** Message 2 decrypted under our transcript (so the responder hashed our message 1 as sent) and its identity verified */
  msg2Valid: boolean
  remotePeer?: string
  /** Bytes in message 2's payload after the identity fields (e.g. a retry record) */
  msg2Bytes?: number
  error?: string
}

/**
 * Dial a Noise responder at host:port, send message 1 with `payload`, and
 * report whether it answers with a valid message 2; then finish the
 * handshake (message 3) and close.
 */
export async function probeResponder (host: string, port: number, payload: Uint8Array, timeoutMs = 5000): Promise<ResponderProbeResult> {
  const deadline = Date.now() + timeoutMs
  const identity = await generateKeyPair('Ed25519')
  const s = x25519.utils.randomSecretKey()
  const sPub = x25519.getPublicKey(s)
  const e = x25519.utils.randomSecretKey()
  const ePub = x25519.getPublicKey(e)
  const socket = net.connect({ host, port })
  const reader = new Reader(socket)
  const res: ResponderProbeResult = { msg2Received: false, msg2Valid: false }
  try {
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
    socket.write(concat(msLine('/multistream/1.0.0'), msLine('/noise')))
    const header = await reader.readMultistream(deadline)
    const proto = await reader.readMultistream(deadline)
    if (header !== '/multistream/1.0.0\n' || proto !== '/noise\n') { throw new Error(`multistream: ${JSON.stringify([header, proto])}`) }
    const ss = new SymmetricState()
    ss.mixHash(ePub)
    const p1 = ss.encryptAndHash(payload)
    socket.write(frame(concat(ePub, p1)))
    let msg2: Uint8Array
    try {
      msg2 = await reader.readFrame(deadline)
    } catch (err: any) {
      res.error = `no message 2: ${err.message}`
      return res
    }
    res.msg2Received = true
    const re = msg2.subarray(0, 32)
    ss.mixHash(re)
    ss.mixKey(x25519.getSharedSecret(e, re))
    const rs = ss.decryptAndHash(msg2.subarray(32, 80))
    ss.mixKey(x25519.getSharedSecret(e, rs))
    const p2 = ss.decryptAndHash(msg2.subarray(80))
    res.remotePeer = await verifyPayload(p2, rs)
    res.msg2Bytes = p2.byteLength
    res.msg2Valid = true
    // message 3
    const c = ss.encryptAndHash(sPub)
    ss.mixKey(x25519.getSharedSecret(s, re))
    const p3 = ss.encryptAndHash(await identityPayload(identity, sPub, pbBytes(4, pbBytes(2, new TextEncoder().encode('/yamux/1.0.0')))))
    socket.write(frame(concat(c, p3)))
    await new Promise(resolve => setTimeout(resolve, 150))
  } catch (err: any) {
    res.error ??= err.message
  } finally {
    socket.destroy()
  }
  return res
}

export interface InitiatorProbeResult {
  /** The initiator sent message 3 that decrypted and carried a valid identity: it accepted our message 2 */
  msg3Valid: boolean
  remotePeer?: string
  /** Length of the message-1 payload it sent */
  msg1PayloadBytes?: number
  error?: string
}

export interface RawResponder {
  port: number
  peerId: string
  results: InitiatorProbeResult[]
  close(): void
}

/**
 * A Noise responder on 127.0.0.1 that appends `extra` (raw protobuf fields,
 * e.g. field 1026) to its message-2 payload, and records whether each
 * initiator completed the handshake with a valid message 3; then it closes
 * the connection (so the initiator's muxer negotiation fails afterwards).
 */
export async function startRawResponder (extra: Uint8Array, timeoutMs = 5000): Promise<RawResponder> {
  const identity = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(identity).toString()
  const s = x25519.utils.randomSecretKey()
  const sPub = x25519.getPublicKey(s)
  const results: InitiatorProbeResult[] = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const reader = new Reader(socket)
    const deadline = Date.now() + timeoutMs
    const res: InitiatorProbeResult = { msg3Valid: false }
    void (async () => {
      try {
        // answer the header at once: some dialers (py-libp2p) wait for it before proposing
        const header = await reader.readMultistream(deadline)
        if (header !== '/multistream/1.0.0\n') { throw new Error(`multistream: ${JSON.stringify(header)}`) }
        socket.write(msLine('/multistream/1.0.0'))
        const proposal = await reader.readMultistream(deadline)
        if (proposal !== '/noise\n') { throw new Error(`multistream: ${JSON.stringify(proposal)}`) }
        socket.write(msLine('/noise'))
        const msg1 = await reader.readFrame(deadline)
        const ss = new SymmetricState()
        const re = msg1.subarray(0, 32)
        ss.mixHash(re)
        res.msg1PayloadBytes = msg1.byteLength - 32
        ss.decryptAndHash(msg1.subarray(32))
        const e = x25519.utils.randomSecretKey()
        const ePub = x25519.getPublicKey(e)
        ss.mixHash(ePub)
        ss.mixKey(x25519.getSharedSecret(e, re))
        const c = ss.encryptAndHash(sPub)
        ss.mixKey(x25519.getSharedSecret(s, re))
        const p2 = ss.encryptAndHash(await identityPayload(identity, sPub, extra))
        socket.write(frame(concat(ePub, c, p2)))
        const msg3 = await reader.readFrame(deadline)
        const rs = ss.decryptAndHash(msg3.subarray(0, 48))
        ss.mixKey(x25519.getSharedSecret(e, rs))
        const p3 = ss.decryptAndHash(msg3.subarray(48))
        res.remotePeer = await verifyPayload(p3, rs)
        res.msg3Valid = true
      } catch (err: any) {
        res.error = err.message
      } finally {
        results.push(res)
        socket.destroy()
      }
    })()
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    peerId,
    results,
    close: () => { for (const s of sockets) { s.destroy() } server.close() }
  }
}
