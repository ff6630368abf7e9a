import { StreamResetEvent } from '@libp2p/interface'
import { expect } from 'aegir/chai'
import { nodeProvider } from '../../src/crypto/node.js'
import { performInitiatorHandshake, performResponderHandshake } from '../../src/ech/handshake.js'
import { createEchKey, createNode, extensions, log, lp, offerTo, pair, runInitiator, runResponder } from './helpers.js'
import type { Node } from './helpers.js'
import type { LengthPrefixedStream } from '@libp2p/utils'

/** A connection that aborts `controller` just before its `at`-th read or write */
function abortingAt (connection: LengthPrefixedStream, at: number, controller: AbortController): LengthPrefixedStream {
  let ops = 0
  const maybeAbort = (): void => {
    if (ops++ === at) { controller.abort() }
  }
  return {
    read: async (options) => { maybeAbort(); return connection.read(options) },
    write: async (data, options) => { maybeAbort(); return connection.write(data, options) },
    writeV: async (data, options) => { maybeAbort(); return connection.writeV(data, options) },
    unwrap: () => connection.unwrap()
  }
}

async function errorName (p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err: any) {
    return err.name
  }
  return 'resolved'
}

describe('abort and silent peers', () => {
  const nodes: Record<'alice' | 'bob', Node> = {} as any

  before(async () => {
    nodes.alice = await createNode()
    nodes.bob = await createNode()
  })

  // @libp2p/utils' byteStream rejects a write that waits for drain with the
  // stream's close *event* (no name, no message) when the remote resets; the
  // handshake promises typed errors, so it must not pass that through
  for (const [role, op] of [['initiator', 'write'], ['initiator', 'read'], ['responder', 'write'], ['responder', 'read']] as const) {
    it(`${role}: a frame ${op} that rejects with a stream reset event becomes StreamResetError with the event's error as cause`, async () => {
      const [a, b] = pair()
      const reset = new Error('remote reset')
      const failing = (connection: LengthPrefixedStream): LengthPrefixedStream => ({
        ...connection,
        read: async (options) => op === 'read' ? Promise.reject(new StreamResetEvent(reset)) : connection.read(options),
        write: async (data, options) => op === 'write' ? Promise.reject(new StreamResetEvent(reset)) : connection.write(data, options),
        writeV: async (data, options) => connection.writeV(data, options),
        unwrap: () => connection.unwrap()
      })
      const run = role === 'initiator'
        ? performInitiatorHandshake({ connection: failing(lp(a)), provider: nodeProvider, privateKey: nodes.alice.privateKey, staticKey: nodes.alice.staticKey, extensions, log }, { signal: AbortSignal.timeout(1000) })
        : (async () => {
            const initiator = runInitiator(a, nodes.alice, {}, { signal: AbortSignal.timeout(1000) }).catch(() => {})
            const connection = lp(b)
            const message1 = await connection.read()
            try {
              return await performResponderHandshake({ connection: failing(connection), message1, provider: nodeProvider, privateKey: nodes.bob.privateKey, staticKey: nodes.bob.staticKey, extensions, log, keys: [], localPeer: nodes.bob.peerId }, { signal: AbortSignal.timeout(1000) })
            } finally {
              b.abort(new Error('done'))
              await initiator
            }
          })()
      const err = await run.then(() => undefined, (e) => e)
      expect(err?.name).to.equal('StreamResetError')
      expect(err?.cause).to.equal(reset)
      a.abort(new Error('done'))
    })
  }

  it('an already-aborted signal fails both roles before any I/O', async () => {
    const [a, b] = pair()
    const signal = AbortSignal.abort()
    expect(await errorName(performInitiatorHandshake({ connection: lp(a), provider: nodeProvider, privateKey: nodes.alice.privateKey, staticKey: nodes.alice.staticKey, extensions, log }, { signal }))).to.equal('AbortError')
    expect(await errorName(performResponderHandshake({ connection: lp(b), message1: new Uint8Array(32).fill(9), provider: nodeProvider, privateKey: nodes.bob.privateKey, staticKey: nodes.bob.staticKey, extensions, log, keys: [], localPeer: nodes.bob.peerId }, { signal }))).to.equal('AbortError')
  })

  for (const [stage, at] of [['write message 1', 0], ['read message 2', 1], ['write message 3', 2]] as const) {
    it(`initiator: abort at ${stage}`, async () => {
      const key = createEchKey(7)
      const [a, b] = pair()
      const controller = new AbortController()
      const responder = runResponder(b, nodes.bob, { keys: [key] }, { signal: AbortSignal.timeout(300) })
      const initiator = performInitiatorHandshake({
        connection: abortingAt(lp(a), at, controller),
        provider: nodeProvider,
        privateKey: nodes.alice.privateKey,
        staticKey: nodes.alice.staticKey,
        extensions,
        log,
        ech: offerTo(key.config, nodes.bob.peerId)
      }, { signal: controller.signal })
      expect(await errorName(initiator)).to.equal('AbortError')
      a.abort(new Error('closed'))
      await responder.catch(() => {})
    })
  }

  for (const [stage, at] of [['write message 2', 0], ['read message 3', 1]] as const) {
    it(`responder: abort at ${stage}`, async () => {
      const [a, b] = pair()
      const controller = new AbortController()
      const initiator = runInitiator(a, nodes.alice, {}, { signal: AbortSignal.timeout(300) })
      const connection = lp(b)
      const message1 = await connection.read()
      const responder = performResponderHandshake({
        connection: abortingAt(connection, at, controller), message1, provider: nodeProvider, privateKey: nodes.bob.privateKey, staticKey: nodes.bob.staticKey, extensions, log, keys: [], localPeer: nodes.bob.peerId
      }, { signal: controller.signal })
      expect(await errorName(responder)).to.equal('AbortError')
      b.abort(new Error('closed'))
      await initiator.catch(() => {})
    })
  }

  it('initiator: a silent responder ends in the timeout error, not a hang', async () => {
    const [a] = pair()
    const started = Date.now()
    const name = await errorName(runInitiator(a, nodes.alice, {}, { signal: AbortSignal.timeout(100) }))
    expect(['AbortError', 'TimeoutError']).to.include(name)
    expect(Date.now() - started).to.be.lessThan(1000)
  })

  it('responder: an initiator silent after message 1 ends in the timeout error', async () => {
    const [a, b] = pair()
    const silent = lp(a)
    const initiator = performInitiatorHandshake({ connection: { ...silent, write: silent.write.bind(silent), read: async (options: any) => new Promise((resolve, reject) => { options.signal.addEventListener('abort', () => { reject(options.signal.reason) }) }) } as any, provider: nodeProvider, privateKey: nodes.alice.privateKey, staticKey: nodes.alice.staticKey, extensions, log }, { signal: AbortSignal.timeout(300) })
    const name = await errorName(runResponder(b, nodes.bob, {}, { signal: AbortSignal.timeout(100) }))
    expect(['AbortError', 'TimeoutError']).to.include(name)
    await initiator.catch(() => {})
  })
})
