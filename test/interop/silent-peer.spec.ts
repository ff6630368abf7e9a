/**
 * Silent peers: a TCP server that accepts and never answers, and one that
 * completes multistream-select for `/noise` and then never answers message 1.
 * The dial must fail within its deadline, not hang. The encrypter's own
 * `handshakeTimeout` (used when the caller gives no signal, as libp2p always
 * does) is checked on a direct `secureOutbound`/`secureInbound` call.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddrConnectionPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'aegir/chai'
import { ECH_PEER_STORE_KEY, generateEchKey } from '../../src/index.js'
import { assertWorks, nextEchEvent, shareConfig, useNodes } from '../fixtures/nodes.js'
import { NOISE_NEGOTIATION, listenTcp, topLevelFields } from '../fixtures/wire.js'
import type { TestNode } from '../fixtures/nodes.js'
import type { PeerId } from '@libp2p/interface'

interface SilentServer {
  port: number
  /** Everything each accepted socket sent */
  received: Buffer[]
  /** Resolves on the first accepted connection */
  accepted: Promise<void>
  close(): Promise<void>
}

/**
 * `answerMultistream`: reply `/multistream/1.0.0` + `/noise` once the dialer
 * proposed them, then say nothing more. Otherwise never write a byte.
 */
async function silentServer (answerMultistream: boolean): Promise<SilentServer> {
  const received: Buffer[] = []
  let onAccept!: () => void
  const accepted = new Promise<void>(resolve => { onAccept = resolve })
  const server = await listenTcp((socket) => {
    const index = received.push(Buffer.alloc(0)) - 1
    let answered = false
    socket.on('data', (chunk) => {
      received[index] = Buffer.concat([received[index], chunk])
      if (answerMultistream && !answered && received[index].includes('/noise\n')) {
        answered = true
        socket.write(NOISE_NEGOTIATION)
      }
    })
    onAccept()
  })
  return { port: server.port, received, accepted, close: server.close }
}

/** A peer id the silent server pretends to be, with an ECH config the dialer holds for it */
async function fakePeer (dialer: TestNode): Promise<PeerId> {
  const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const key = await generateEchKey()
  await dialer.node.peerStore.merge(peer, { metadata: { [ECH_PEER_STORE_KEY]: key.configList } })
  return peer
}

const DEADLINE = 500
/** How late after the deadline a failure may come */
const SLACK = 1500

describe('interop: silent peers', function () {
  this.timeout(20_000)

  const nodes = useNodes()

  it('a TCP server that never answers: the dial fails within its deadline', async () => {
    const a = await nodes.create({ encrypter: 'ech', ech: { handshakeTimeout: DEADLINE } })
    const server = nodes.closeAfter(await silentServer(false))
    const peer = await fakePeer(a)

    const started = Date.now()
    await expect(a.node.dial(multiaddr(`/ip4/127.0.0.1/tcp/${server.port}/p2p/${peer}`), { signal: AbortSignal.timeout(DEADLINE) }))
      .to.eventually.be.rejected().with.property('name').that.is.oneOf(['TimeoutError', 'AbortError', 'EncryptionFailedError'])
    const elapsed = Date.now() - started
    expect(elapsed).to.be.lessThan(DEADLINE + SLACK)
    await server.accepted
    // stuck in multistream-select: no Noise frame was ever sent
    expect(server.received[0].toString()).to.equal(Buffer.from(NOISE_NEGOTIATION).toString())
  })

  it('a peer that negotiates /noise and never answers message 1: the ECH handshake fails within the deadline', async () => {
    const a = await nodes.create({ encrypter: 'ech', ech: { handshakeTimeout: DEADLINE } })
    const server = nodes.closeAfter(await silentServer(true))
    const peer = await fakePeer(a)
    const aError = nextEchEvent(a.ech!, 'ech:error')

    const started = Date.now()
    await expect(a.node.dial(multiaddr(`/ip4/127.0.0.1/tcp/${server.port}/p2p/${peer}`), { signal: AbortSignal.timeout(DEADLINE) }))
      .to.eventually.be.rejected().with.property('name').that.is.oneOf(['TimeoutError', 'AbortError', 'EncryptionFailedError'])
    expect(Date.now() - started).to.be.lessThan(DEADLINE + SLACK)

    const failure = await a.nextFailure('outbound')
    expect(['AbortError', 'TimeoutError']).to.include(failure.error.name)
    expect(await aError).to.include({ direction: 'outbound' })

    // the server did get an ECH message 1: e (32 bytes) and only the outer hello field
    const bytes = server.received[0]
    const noiseStart = NOISE_NEGOTIATION.byteLength
    const length = bytes.readUInt16BE(noiseStart)
    const message1 = new Uint8Array(bytes.subarray(noiseStart + 2, noiseStart + 2 + length))
    expect(message1.byteLength).to.equal(length)
    const fields = topLevelFields(message1.subarray(32))
    expect(fields).to.have.lengthOf(1)
    expect(fields[0]).to.be.at.least(1025)

    // the node is fine afterwards
    const b = await nodes.create({ encrypter: 'ech' })
    await shareConfig(a, b)
    const accepted = nextEchEvent(a.ech!, 'ech:accepted')
    const conn = await a.node.dial(b.addr)
    await accepted
    await assertWorks(a, b, conn)
  })

  it('without a caller signal, handshakeTimeout bounds secureOutbound and secureInbound', async () => {
    const a = await nodes.create({ encrypter: 'ech', ech: { handshakeTimeout: DEADLINE } })
    const peer = await fakePeer(a)

    // initiator: message 1 goes out, message 2 never comes
    const [local, remote] = multiaddrConnectionPair()
    let started = Date.now()
    await expect(a.ech!.secureOutbound(local, { remotePeer: peer })).to.eventually.be.rejected()
      .with.property('name').that.is.oneOf(['AbortError', 'TimeoutError'])
    expect(Date.now() - started).to.be.lessThan(DEADLINE + SLACK)
    remote.abort(new Error('test over'))

    // responder: message 1 never comes
    const [inLocal, inRemote] = multiaddrConnectionPair()
    started = Date.now()
    await expect(a.ech!.secureInbound(inLocal)).to.eventually.be.rejected()
      .with.property('name').that.is.oneOf(['AbortError', 'TimeoutError'])
    expect(Date.now() - started).to.be.lessThan(DEADLINE + SLACK)
    inRemote.abort(new Error('test over'))
  })
})
