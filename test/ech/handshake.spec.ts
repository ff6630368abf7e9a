import { expect } from 'aegir/chai'
import { nodeProvider } from '../../src/crypto/node.js'
import { SymmetricState } from '../../src/noise/symmetric-state.js'
import { createEchKey, createNode, offerTo, pair, runInitiator, runResponder, transfer } from './helpers.js'
import type { Node } from './helpers.js'
import type { EchKeyEntry } from '../../src/ech/seal.js'

const RETRY = Uint8Array.from({ length: 200 }, (_, i) => i)

async function expectName (p: Promise<unknown>, name: string): Promise<any> {
  try {
    await p
  } catch (err: any) {
    expect(err.name, err.stack).to.equal(name)
    return err
  }
  expect.fail(`expected ${name}`)
}

describe('ECH stage', () => {
  const n: { alice: Node, bob: Node, carol: Node, key: EchKeyEntry } = {} as any

  before(async () => {
    n.alice = await createNode()
    n.bob = await createNode()
    n.carol = await createNode()
    n.key = createEchKey(7)
  })

  it('accepted: both sides mix the psk and the channel works', async () => {
    const [a, b] = pair()
    const [i, r] = await Promise.all([
      runInitiator(a, n.alice, { ech: offerTo(n.key.config, n.bob.peerId), require: true }),
      runResponder(b, n.bob, { keys: [n.key], retryRecord: RETRY, require: true })
    ])
    expect(i.result.ech).to.equal('accepted')
    expect(r.result.ech).to.equal('accepted')
    expect(i.result.configId).to.equal(7)
    expect(r.result.configId).to.equal(7)
    expect(i.result.retryRecord).to.equal(undefined)
    const data = Uint8Array.from({ length: 3000 }, (_, n) => n & 0xff)
    expect(await transfer(i.stream, r.stream, data)).to.deep.equal(data)
    expect(await transfer(r.stream, i.stream, data)).to.deep.equal(data)
  })

  it('accepted by the older of two live keys, through an offer that holds the imported public key', async () => {
    const newer = createEchKey(9)
    const [a, b] = pair()
    const [i, r] = await Promise.all([
      runInitiator(a, n.alice, { ech: offerTo(n.key.config, n.bob.peerId) }),
      runResponder(b, n.bob, { keys: [newer, n.key] })
    ])
    expect(i.result.ech).to.equal('accepted')
    expect(r.result.configId).to.equal(7)
  })

  const REJECTIONS: Array<[string, () => EchKeyEntry]> = [
    ['rejected (unknown config_id): plain XX and the retry record reaches the initiator', () => createEchKey(8)],
    ['rejected (same config_id, wrong key)', () => createEchKey(7)]
  ]
  REJECTIONS.forEach(([name, responderKey]) => {
    it(name, async () => {
      const [a, b] = pair()
      const [i, r] = await Promise.all([
        runInitiator(a, n.alice, { ech: offerTo(n.key.config, n.bob.peerId) }),
        runResponder(b, n.bob, { keys: [responderKey()], retryRecord: RETRY })
      ])
      expect(i.result.ech).to.equal('rejected')
      expect(r.result.ech).to.equal('rejected')
      expect(i.result.retryRecord).to.deep.equal(RETRY)
      const data = Uint8Array.of(1, 2, 3)
      expect(await transfer(i.stream, r.stream, data)).to.deep.equal(data)
    })
  })

  it('rejected (inner hello names another peer)', async () => {
    const [a, b] = pair()
    const [i, r] = await Promise.all([
      runInitiator(a, n.alice, { ech: offerTo(n.key.config, n.carol.peerId) }),
      runResponder(b, n.bob, { keys: [n.key], retryRecord: RETRY })
    ])
    expect(i.result.ech).to.equal('rejected')
    expect(r.result.ech).to.equal('rejected')
  })

  it('grease: the responder treats it as undecryptable and the initiator ignores retry records', async () => {
    const [a, b] = pair()
    const [i, r] = await Promise.all([
      runInitiator(a, n.alice, { ech: { kind: 'grease' } }),
      runResponder(b, n.bob, { keys: [n.key], retryRecord: RETRY })
    ])
    expect(i.result.ech).to.equal('grease')
    expect(r.result.ech).to.equal('rejected')
    expect(i.result.retryRecord).to.equal(undefined)
  })

  it('require (initiator): EchRejectedError before message 3, carrying the retry record and the responder', async () => {
    const [a, b] = pair()
    const responder = runResponder(b, n.bob, { keys: [createEchKey(8)], retryRecord: RETRY }, { signal: AbortSignal.timeout(500) })
    const err = await expectName(runInitiator(a, n.alice, { ech: offerTo(n.key.config, n.bob.peerId), require: true }), 'EchRejectedError')
    expect(err.retryRecord).to.deep.equal(RETRY)
    expect(err.remotePeer.equals(n.bob.peerId)).to.equal(true)
    // message 3 (the initiator's identity) was never sent
    a.abort(new Error('closed'))
    const rErr = await responder.then(() => undefined, (e) => e)
    expect(rErr).to.be.an('error')
  })

  it('require (initiator) with GREASE or no offer fails the same way', async () => {
    for (const ech of [{ kind: 'grease' as const }, undefined]) {
      const [a, b] = pair()
      const responder = runResponder(b, n.bob, { keys: [n.key] }, { signal: AbortSignal.timeout(500) })
      await expectName(runInitiator(a, n.alice, { ech, require: true }), 'EchRejectedError')
      a.abort(new Error('closed'))
      await responder.catch(() => {})
    }
  })

  for (const [what, keys, target, reason] of [
    ['no outer hello', undefined, undefined, 'not-offered'],
    ['unknown config_id', [createEchKey(8)], 'bob', 'unknown-config'],
    ['a key that cannot open it', [createEchKey(7)], 'bob', 'open-failed'],
    ['an inner hello for another peer', 'key', 'carol', 'wrong-peer']
  ] as const) {
    it(`require (responder): EchRequiredError for ${what}, before message 2`, async () => {
      const [a, b] = pair()
      const ech = target == null ? undefined : offerTo(n.key.config, target === 'bob' ? n.bob.peerId : n.carol.peerId)
      const initiator = runInitiator(a, n.alice, { ech }, { signal: AbortSignal.timeout(500) })
      const err = await expectName(runResponder(b, n.bob, { keys: keys === 'key' ? [n.key] : keys ?? [n.key], require: true }), 'EchRequiredError')
      expect(err.reason).to.equal(reason)
      b.abort(new Error('closed'))
      expect(await initiator.then(() => undefined, (e) => e)).to.be.an('error')
    })
  }

  it('unsupported suite in the hello is a rejection, not a crash', async () => {
    const onlyAes = createEchKey(7)
    const chachaOnly = { ...n.key, config: { ...n.key.config, cipherSuites: [{ kdfId: 1, aeadId: 3 }] } }
    const aesOnlyResponder = { ...onlyAes, config: { ...onlyAes.config, cipherSuites: [{ kdfId: 1, aeadId: 1 }] } }
    const [a, b] = pair()
    const [i, r] = await Promise.all([
      runInitiator(a, n.alice, { ech: offerTo(chachaOnly.config, n.bob.peerId) }),
      runResponder(b, n.bob, { keys: [aesOnlyResponder] })
    ])
    expect(i.result.ech).to.equal('rejected')
    expect(r.result.ech).to.equal('rejected')
  })

  it('an unusable config never becomes an offer, so nothing is sent: EchConfigUnusableError', () => {
    const bad = { ...n.key.config, cipherSuites: [{ kdfId: 1, aeadId: 0xffff }] }
    expect(() => offerTo(bad, n.bob.peerId)).to.throw().with.property('name', 'EchConfigUnusableError')
  })

  it('wipes the psk after MixKeyAndHash and destroys the ephemeral keys', async () => {
    const psks: Uint8Array[] = []
    const original = SymmetricState.prototype.mixKeyAndHash
    SymmetricState.prototype.mixKeyAndHash = function (ikm: Uint8Array) {
      psks.push(ikm)
      original.call(this, ikm)
    }
    const destroyed: string[] = []
    const spyKey = (name: string): any => {
      const k = nodeProvider.x25519Generate()
      const destroy = k.destroy.bind(k)
      k.destroy = () => { destroyed.push(name); destroy() }
      return k
    }
    try {
      const [a, b] = pair()
      await Promise.all([
        runInitiator(a, n.alice, { ech: offerTo(n.key.config, n.bob.peerId), testing: { e: spyKey('initiator e') } }),
        runResponder(b, n.bob, { keys: [n.key], testing: { e: spyKey('responder e') } })
      ])
    } finally {
      SymmetricState.prototype.mixKeyAndHash = original
    }
    expect(psks).to.have.lengthOf(2)
    for (const psk of psks) { expect(psk.every(x => x === 0)).to.equal(true) }
    expect(destroyed).to.include('initiator e')
    expect(destroyed).to.include('responder e')
  })
})
