import { expect } from 'aegir/chai'
import { createNode, offerTo, pair, runInitiator, runResponder, stockNoise, transfer } from '../ech/helpers.js'
import type { Node } from '../ech/helpers.js'
import type { MessageStream } from '@libp2p/interface'

function randomData (n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) { out[i] = (i * 31 + 7) & 0xff }
  return out
}

/** Data of every size crosses, in both directions, between our stream and the stock connection */
async function carriesBothWays (ours: MessageStream, stock: MessageStream): Promise<void> {
  for (const size of [1, 100, 1200, 70000, 200000]) {
    const data = randomData(size)
    expect(await transfer(ours, stock, data)).to.deep.equal(data)
    expect(await transfer(stock, ours, data)).to.deep.equal(data)
  }
}

describe('interop with stock @chainsafe/libp2p-noise (plain XX)', () => {
  let alice: Node
  let bob: Node

  before(async () => {
    alice = await createNode()
    bob = await createNode()
  })

  it('our initiator ↔ stock responder', async () => {
    const [a, b] = pair()
    const [ours, stock] = await Promise.all([
      runInitiator(a, alice, { remotePeer: bob.peerId }),
      stockNoise(bob).secureInbound(b, { skipStreamMuxerNegotiation: true })
    ])
    expect(ours.result.ech).to.equal('not-offered')
    expect(stock.remotePeer.equals(alice.peerId)).to.equal(true)
    await carriesBothWays(ours.stream, stock.connection)
  })

  it('stock initiator ↔ our responder', async () => {
    const [a, b] = pair()
    const [stock, ours] = await Promise.all([
      stockNoise(alice).secureOutbound(a, { remotePeer: bob.peerId, skipStreamMuxerNegotiation: true }),
      runResponder(b, bob)
    ])
    expect(ours.result.ech).to.equal('not-offered')
    expect(stock.remotePeer.equals(bob.peerId)).to.equal(true)
    await carriesBothWays(ours.stream, stock.connection)
  })

  it('our initiator ↔ our responder carries the extensions', async () => {
    const [a, b] = pair()
    const certhash = Uint8Array.of(1, 2, 3)
    const [i, r] = await Promise.all([
      runInitiator(a, alice, { extensions: { streamMuxers: ['/yamux/1.0.0'], webtransportCerthashes: [] } }),
      runResponder(b, bob, { extensions: { streamMuxers: ['/mplex/6.7.0', '/yamux/1.0.0'], webtransportCerthashes: [certhash] } })
    ])
    expect(i.result.payload.extensions?.streamMuxers).to.deep.equal(['/mplex/6.7.0', '/yamux/1.0.0'])
    expect(i.result.payload.extensions?.webtransportCerthashes).to.deep.equal([certhash])
    expect(r.result.payload.extensions?.streamMuxers).to.deep.equal(['/yamux/1.0.0'])
    const data = randomData(5000)
    expect(await transfer(i.stream, r.stream, data)).to.deep.equal(data)
  })

  it('a stock responder ignores an ECH outer hello in message 1', async () => {
    const { createEchKey } = await import('../ech/helpers.js')
    const key = createEchKey()
    const [a, b] = pair()
    const [ours, stock] = await Promise.all([
      runInitiator(a, alice, { ech: offerTo(key.config, bob.peerId) }),
      stockNoise(bob).secureInbound(b, { skipStreamMuxerNegotiation: true })
    ])
    expect(ours.result.ech).to.equal('rejected')
    expect(ours.result.retryRecord).to.equal(undefined)
    const data = randomData(300)
    expect(await transfer(stock.connection, ours.stream, data)).to.deep.equal(data)
  })
})
