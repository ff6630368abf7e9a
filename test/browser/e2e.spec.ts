/**
 * A libp2p 3 node with `echNoise()` and `@libp2p/websockets` in headless
 * Chromium (the browser backend, `crypto/default.browser.ts`) dials Node
 * listeners on 127.0.0.1 over WebSockets: ECH accepted, a `require`-mode
 * listener (with and without the config), a stock `noise()` listener, a
 * stale config repaired by retry configs, and an X-Wing config (its chunk
 * fetched only then). Every connection that comes up carries a ping and a
 * 1 MiB echo compared byte for byte, and both ends' outcomes are checked.
 */
import { expect } from 'aegir/chai'
import { pEvent } from 'p-event'
import { toString } from 'uint8arrays'
import { describeInBrowser, launchBrowser } from './chromium.js'
import { createWsListener } from './listeners.js'
import { servePage } from './page-server.js'
import type { BrowserSession } from './chromium.js'
import type { WsListener } from './listeners.js'
import type { BundledPage } from './page-server.js'
import type { OutcomeView } from './pages/harness.js'
import type { Page } from 'playwright-core'

const ONE_MIB = 1024 * 1024
const X_WING = 0x647a
const b64 = (b: Uint8Array): string => toString(b, 'base64')

/** Calls `harness[name](...args)` in the page */
async function call<T = any> (page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(async ([name, args]) => (globalThis as any).harness[name](...args), [name, args] as const)
}

describeInBrowser('browser: echNoise in Chromium dialling Node listeners over WebSockets', function () {
  this.timeout(120_000)
  let served: BundledPage
  let browser: BrowserSession
  let browserPeer: string
  const listeners: WsListener[] = []

  async function listener (options: Parameters<typeof createWsListener>[0]): Promise<WsListener> {
    const l = await createWsListener(options)
    listeners.push(l)
    return l
  }

  /** A ping and a 1 MiB echo over this connection, byte for byte */
  async function assertWorks (connection: string): Promise<void> {
    expect(await call(browser.page, 'pingOver', connection)).to.equal(true)
    expect(await call(browser.page, 'echo', connection, ONE_MIB)).to.deep.equal({ sent: ONE_MIB, received: ONE_MIB, equal: true, firstDifference: -1 })
  }

  before(async () => {
    served = await servePage('test/browser/pages/harness.ts')
    browser = await launchBrowser()
    await browser.page.goto(served.url)
    await browser.page.waitForFunction(() => (globalThis as any).harness != null)
  })

  beforeEach(async () => {
    const started = await call(browser.page, 'start')
    expect(started.provider).to.equal('browser')
    browserPeer = started.peerId
  })

  afterEach(async () => {
    await call(browser.page, 'stop')
    await Promise.all(listeners.splice(0).map(async l => l.stop()))
    expect(browser.errors).to.deep.equal([])
  })

  after(async () => {
    await browser?.close()
    await served?.close()
  })

  it('ECH accepted: the listener\'s config in the browser node\'s peer store', async () => {
    const l = await listener({ encrypter: 'ech' })
    const configId = l.ech!.keys.getKeys()[0].config.configId
    await call(browser.page, 'storeConfig', l.node.peerId.toString(), b64(l.ech!.getEchConfigList()))

    const { id, outcome } = await call<{ id: string, outcome: OutcomeView }>(browser.page, 'dial', l.addr)
    expect(outcome).to.include({ outcome: 'accepted', configId, remotePeer: l.node.peerId.toString() })
    expect(l.outcomes.map(o => [o.direction, o.outcome, o.configId, o.remotePeer?.toString()])).to.deep.equal([['inbound', 'accepted', configId, browserPeer]])
    await assertWorks(id)
  })

  it('require-mode listener: the browser with the config gets in; one without it is refused and learns nothing', async () => {
    const l = await listener({ encrypter: 'ech', ech: { mode: 'require' } })
    await call(browser.page, 'storeConfig', l.node.peerId.toString(), b64(l.ech!.getEchConfigList()))
    const { id, outcome } = await call<{ id: string, outcome: OutcomeView }>(browser.page, 'dial', l.addr)
    expect(outcome).to.include({ outcome: 'accepted' })
    expect(l.outcomes.map(o => o.outcome)).to.deep.equal(['accepted'])
    await assertWorks(id)

    // a second browser node, without the config
    await call(browser.page, 'stop')
    const second = await call(browser.page, 'start')
    const refused = await call(browser.page, 'dialExpectingFailure', l.addr)
    // over WebSockets the browser sees the refusal only at its own timeout: the Node listener's
    // reset is ws.close(1006), which the ws package refuses (a reserved code), so the socket stays open
    expect(refused.error, 'the dial fails').to.equal('EncryptionFailedError')
    expect(refused.outcome).to.equal(undefined)
    expect(l.failures).to.deep.equal(['EchRequiredError'])
    expect(l.outcomes.map(o => o.outcome), 'no second outcome on the listener').to.deep.equal(['accepted'])
    expect(l.node.getConnections().filter(c => c.remotePeer.toString() === second.peerId)).to.deep.equal([])
    // nothing was learnt: no retry configs (the listener closed before message 2)
    expect(await call(browser.page, 'storedConfig', l.node.peerId.toString())).to.equal(undefined)
  })

  it('stock noise() listener: the browser falls back to stock Noise, and it works', async () => {
    const l = await listener({ encrypter: 'stock' })
    const { id, outcome } = await call<{ id: string, outcome: OutcomeView }>(browser.page, 'dial', l.addr)
    expect(outcome).to.include({ outcome: 'fallback', reason: 'no-config' })
    const conns = l.node.getConnections().filter(c => c.remotePeer.toString() === browserPeer)
    expect(conns.map(c => c.encryption)).to.deep.equal(['/noise'])
    expect(l.failures).to.deep.equal([])
    await assertWorks(id)
  })

  it('stale config: rejected, retry configs learnt in the browser, the next dial accepted', async () => {
    const l = await listener({ encrypter: 'ech', ech: { keyManager: { gracePeriod: 0 } } })
    const stale = l.ech!.getEchConfigList()
    await call(browser.page, 'storeConfig', l.node.peerId.toString(), b64(stale))
    const expired = pEvent(l.ech!.keys as unknown as EventTarget, 'ech:key-expired', { signal: AbortSignal.timeout(5000) })
    const newConfigId = (await l.ech!.keys.rotate()).config.configId
    await expired

    const first = await call<{ id: string, outcome: OutcomeView }>(browser.page, 'dial', l.addr)
    expect(first.outcome).to.include({ outcome: 'rejected', retryConfigsLearned: true })
    expect(l.outcomes.map(o => o.outcome)).to.deep.equal(['rejected'])
    await assertWorks(first.id)
    expect(await call(browser.page, 'storedConfig', l.node.peerId.toString())).to.equal(b64(await l.ech!.getSignedConfigRecord()))

    await call(browser.page, 'hangUp', l.node.peerId.toString())
    const second = await call<{ id: string, outcome: OutcomeView }>(browser.page, 'dial', l.addr)
    expect(second.outcome).to.include({ outcome: 'accepted', configId: newConfigId })
    expect(l.outcomes.map(o => [o.outcome, o.configId])).to.deep.equal([['rejected', l.outcomes[0].configId], ['accepted', newConfigId]])
    await assertWorks(second.id)
  })

  it('X-Wing config: its chunk is fetched only when the config is used, then ECH is accepted', async () => {
    const l = await listener({ encrypter: 'ech', ech: { keyManager: { generate: { kem: 'x-wing' } } } })
    const config = l.ech!.keys.getKeys()[0].config
    expect(config.kemId).to.equal(X_WING)
    expect(await call(browser.page, 'kemLoaded', X_WING)).to.equal(false)
    const xwingChunk = served.files.find(f => f.name.startsWith('x-wing'))?.name
    expect(xwingChunk, 'X-Wing is a chunk of its own').to.be.a('string')
    expect(await call<string[]>(browser.page, 'scripts')).to.not.include(xwingChunk)

    await call(browser.page, 'storeConfig', l.node.peerId.toString(), b64(l.ech!.getEchConfigList()))
    const { id, outcome } = await call<{ id: string, outcome: OutcomeView }>(browser.page, 'dial', l.addr)
    expect(outcome).to.include({ outcome: 'accepted', configId: config.configId })
    expect(l.outcomes.map(o => [o.outcome, o.configId])).to.deep.equal([['accepted', config.configId]])
    expect(await call(browser.page, 'kemLoaded', X_WING)).to.equal(true)
    expect(await call<string[]>(browser.page, 'scripts')).to.include(xwingChunk)
    await assertWorks(id)
  })
})
