/**
 * The listener's peek at Noise message 1 (`encrypter/inbound.ts`) over real
 * in-memory connections: a stock message 1 goes back byte for byte (a stock
 * Noise responder then completes the handshake on it), an outer hello comes
 * out parsed with the stream after message 1, read failures rethrow the
 * original error with the bytes put back, and nothing read ahead is lost.
 */
import '../../src/polyfill.js'
import { byteStream, multiaddrConnectionPair, streamPair } from '@libp2p/utils'
import { expect } from 'aegir/chai'
import { decodeOuterHello } from '../../src/ech/outer-hello.js'
import { peekMessage1 } from '../../src/encrypter/peek.js'
import { findOuterHelloField } from '../../src/noise/payload.js'
import { createNode, stockNoise, transfer } from '../ech/helpers.js'
import { rejection } from '../fixtures/errors.js'
import { concat, freshEphemeral, noiseFrame, probeHello, probeMessage1, randomBytes, rawOuterHelloMessage1 } from '../fixtures/wire.js'
import type { Node } from '../ech/helpers.js'
import type { MessageStream } from '@libp2p/interface'

/** Exactly `length` bytes from the front of `stream`, however they arrive */
async function readBack (stream: MessageStream, length: number): Promise<Uint8Array> {
  const bytes = byteStream(stream)
  const read = await bytes.read({ bytes: length, signal: AbortSignal.timeout(5000) })
  bytes.unwrap()
  return read.subarray()
}

/** Sends `bytes` a few at a time, each piece in its own message after the previous was delivered */
async function trickle (stream: MessageStream, bytes: Uint8Array, size = 3): Promise<void> {
  for (let i = 0; i < bytes.byteLength; i += size) {
    stream.send(bytes.subarray(i, i + size))
    await new Promise(resolve => setTimeout(resolve, 1))
  }
}

/** What a stock initiator sends after message 1 would be message 3; any bytes do for read-ahead */
const AFTER = Uint8Array.of(0x00, 0x05, 1, 2, 3, 4, 5, 0xee)

describe('encrypter/inbound: peekMessage1', function () {
  this.timeout(10_000)

  let alice: Node
  let bob: Node

  before(async () => {
    alice = await createNode()
    bob = await createNode()
  })

  describe('a stock message 1', () => {
    it('goes back with every byte restored: a stock responder completes the handshake with a stock initiator on the returned stream', async () => {
      const [a, b] = multiaddrConnectionPair()
      const initiator = stockNoise(alice).secureOutbound(a, { remotePeer: bob.peerId, skipStreamMuxerNegotiation: true })
      const peeked = await peekMessage1(b)
      expect(peeked.kind).to.equal('stock')
      const [out, inb] = await Promise.all([initiator, stockNoise(bob).secureInbound(peeked.stream, { skipStreamMuxerNegotiation: true })])
      expect(out.remotePeer.equals(bob.peerId)).to.be.true()
      expect(inb.remotePeer.equals(alice.peerId)).to.be.true()
      const data = randomBytes(70_000)
      expect(await transfer(out.connection, inb.connection, data)).to.equalBytes(data)
      expect(await transfer(inb.connection, out.connection, data)).to.equalBytes(data)
    })

    const restored: Array<{ name: string, sent(): Uint8Array, trickleBy?: number }> = [
      // sent as one message: the peek reads message 1 and holds what follows in its buffer
      { name: 'goes back with its length prefix, message 1 and the bytes read ahead after it, in order', sent: () => concat(noiseFrame(freshEphemeral()), AFTER) },
      { name: 'a payload that is not a protobuf at all is stock, restored as sent', sent: () => noiseFrame(concat(freshEphemeral(), Uint8Array.of(0xff, 0xff, 0xff))) },
      { name: 'a zero-length frame is left to the stock responder: stock, the two zero bytes restored', sent: () => concat(Uint8Array.of(0, 0), AFTER) },
      { name: 'trickled in 1-byte messages, is read whole and restored whole', sent: () => noiseFrame(freshEphemeral()), trickleBy: 1 }
    ]
    for (const c of restored) {
      it(c.name, async () => {
        const [a, b] = multiaddrConnectionPair()
        const sent = c.sent()
        const peeking = peekMessage1(b)
        if (c.trickleBy == null) {
          a.send(sent)
        } else {
          await trickle(a, sent, c.trickleBy)
        }
        const peeked = await peeking
        expect(peeked.kind).to.equal('stock')
        // the stream as it was given, with every byte back in front
        expect(peeked.stream).to.equal(b)
        expect(await readBack(peeked.stream, sent.byteLength)).to.equalBytes(sent)
      })
    }
  })

  describe('an outer hello', () => {
    it('is parsed and handed over with message 1; the stream continues with the bytes after message 1', async () => {
      const [a, b] = multiaddrConnectionPair()
      const message1 = probeMessage1({ configId: 7 })
      a.send(concat(noiseFrame(message1), AFTER))
      const peeked = await peekMessage1(b)
      if (peeked.kind !== 'ech') { throw new Error(`expected an outer hello, got ${peeked.kind}`) }
      expect(peeked.message1.subarray()).to.equalBytes(message1)
      expect(peeked.outerHello).to.deep.equal(decodeOuterHello(findOuterHelloField(message1.subarray(32))!))
      expect(peeked.outerHello.configId).to.equal(7)
      // nothing of message 1 is put back; what was read ahead is
      expect(await readBack(peeked.stream, AFTER.byteLength)).to.equalBytes(AFTER)
    })

    it('trickled in 3-byte messages, is read whole', async () => {
      const [a, b] = multiaddrConnectionPair()
      const message1 = probeMessage1({ configId: 200, payload: randomBytes(200) })
      const peeking = peekMessage1(b)
      await trickle(a, concat(noiseFrame(message1), AFTER))
      const peeked = await peeking
      if (peeked.kind !== 'ech') { throw new Error(`expected an outer hello, got ${peeked.kind}`) }
      expect(peeked.message1.subarray()).to.equalBytes(message1)
      expect(peeked.outerHello.configId).to.equal(200)
      expect(peeked.outerHello.payload).to.have.lengthOf(200)
      expect(await readBack(peeked.stream, AFTER.byteLength)).to.equalBytes(AFTER)
    })
  })

  describe('a malformed field 1025', () => {
    const cases: Array<[string, () => Uint8Array, string]> = [
      ['an EchOuterHello of an unknown version', () => rawOuterHelloMessage1(Uint8Array.of(0x7f, ...randomBytes(40))), 'version'],
      ['an EchOuterHello cut inside enc', () => rawOuterHelloMessage1(probeHello({ configId: 1 }).subarray(0, 20)), 'enc'],
      // tag 1025 (wire type 2), a length of 100 and only 3 bytes
      ['field 1025 itself truncated', () => concat(freshEphemeral(), Uint8Array.of(0x8a, 0x40, 100, 1, 2, 3)), 'field 1025']
    ]
    for (const [name, message1, field] of cases) {
      it(`${name} throws EchDecodeError naming ${field}`, async () => {
        const [a, b] = multiaddrConnectionPair()
        a.send(noiseFrame(message1()))
        const err = await rejection(peekMessage1(b))
        expect(err.name).to.equal('EchDecodeError')
        expect(err.field).to.equal(field)
      })
    }
  })

  describe('a read that fails mid-frame', () => {
    const aborts: Array<[string, number]> = [
      ['abort inside message 1: rethrows the AbortError, and the bytes read so far come first when the rest arrives', 20],
      ['abort inside the length prefix: rethrows the AbortError, the one byte restored', 1]
    ]
    for (const [name, before] of aborts) {
      it(name, async () => {
        const [a, b] = multiaddrConnectionPair()
        const sent = noiseFrame(freshEphemeral())
        a.send(sent.subarray(0, before))
        const controller = new AbortController()
        const failing = rejection(peekMessage1(b, { signal: controller.signal }))
        await new Promise(resolve => setTimeout(resolve, 10))
        controller.abort()
        expect((await failing).name).to.equal('AbortError')
        a.send(sent.subarray(before))
        expect(await readBack(b, sent.byteLength)).to.equalBytes(sent)
      })
    }

    it('EOF (the remote closes its writing end): rethrows the UnexpectedEOFError, the bytes read so far restored', async () => {
      const [a, b] = await streamPair()
      const sent = noiseFrame(freshEphemeral())
      a.send(sent.subarray(0, 20))
      const failing = rejection(peekMessage1(b))
      await a.close()
      expect((await failing).name).to.equal('UnexpectedEOFError')
      expect(await readBack(b, 20)).to.equalBytes(sent.subarray(0, 20))
    })

    it('the whole connection closes: rethrows the UnexpectedEOFError (not the failed restore)', async () => {
      const [a, b] = multiaddrConnectionPair()
      a.send(noiseFrame(freshEphemeral()).subarray(0, 20))
      const failing = rejection(peekMessage1(b))
      await a.close()
      expect((await failing).name).to.equal('UnexpectedEOFError')
      expect(b.status).to.not.equal('open')
    })
  })
})
