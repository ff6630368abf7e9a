/**
 * Both backends held to the same bytes: the RFC 9180 base-mode
 * DHKEM(X25519) vectors (test/fixtures/vectors/hpke/), the X-Wing draft
 * vectors (test/fixtures/xwing-vectors.json) and the handshake
 * known-answer transcripts of docs/PROTOCOL.md §9
 * (test/fixtures/handshake-kat.json), computed in headless Chromium by the
 * browser backend and compared here with the fixtures the Node suites use.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { expect } from 'aegir/chai'
import { KAT_FIXTURE } from '../ech/kat.js'
import { baseModeX25519Vectors } from '../fixtures/vectors.js'
import { describeInBrowser, launchBrowser } from './chromium.js'
import { servePage } from './page-server.js'
import type { BrowserSession } from './chromium.js'
import type { BundledPage } from './page-server.js'
import type { Page } from 'playwright-core'

const HPKE = baseModeX25519Vectors()
const XWING = JSON.parse(readFileSync(path.resolve(process.cwd(), 'test/fixtures/xwing-vectors.json'), 'utf8')).vectors as Array<{ seed: string, pk: string, eseed: string, ct: string, ss: string }>
const KATS = JSON.parse(readFileSync(path.resolve(process.cwd(), KAT_FIXTURE), 'utf8'))

async function call<T = any> (page: Page, name: string, ...args: unknown[]): Promise<T> {
  return page.evaluate(async ([name, args]) => (globalThis as any).conformance[name](...args), [name, args] as const)
}

describeInBrowser('browser: conformance vectors on the browser backend in Chromium', function () {
  this.timeout(120_000)
  // one holder, assigned once: the tests made in loops below read it
  const session: { served?: BundledPage, browser?: BrowserSession } = {}
  const page = (): Page => {
    if (session.browser == null) { throw new Error('Chromium did not start') }
    return session.browser.page
  }

  before(async () => {
    session.served = await servePage('test/browser/pages/conformance.ts')
    session.browser = await launchBrowser()
    await page().goto(session.served.url)
    await page().waitForFunction(() => (globalThis as any).conformance != null)
  })

  after(async () => {
    expect(session.browser?.errors ?? []).to.deep.equal([])
    await session.browser?.close()
    await session.served?.close()
  })

  it('the page runs the browser backend; the nodeProvider export is there and throws NodeCryptoUnavailableError', async () => {
    expect(await call(page(), 'provider')).to.equal('browser')
    const name = 'NodeCryptoUnavailableError'
    expect(await call(page(), 'nodeProviderInBrowser')).to.deep.equal({ randomBytes: name, sha256: name, x25519Generate: name, aead: name, noiseCipher: name })
  })

  it('runs the three base-mode X25519 vectors (AES-128-GCM, ChaCha20-Poly1305, export-only)', () => {
    expect(HPKE.map(v => v.aead_id)).to.have.members([0x0001, 0x0003, 0xffff])
  })

  for (const v of HPKE) {
    it(`RFC 9180 DHKEM(X25519) aead 0x${v.aead_id.toString(16)}: keys, encap/decap, key schedule, every seal, open and export`, async () => {
      const got = await call(page(), 'hpkeVector', v)
      expect(got).to.deep.equal({
        skEm: v.skEm,
        pkEm: v.pkEm,
        skRm: v.skRm,
        pkRm: v.pkRm,
        enc: v.enc,
        shared_secret: v.shared_secret,
        decap_shared_secret: v.shared_secret,
        key_schedule_context: v.key_schedule_context,
        secret: v.secret,
        key: v.key,
        base_nonce: v.base_nonce,
        exporter_secret: v.exporter_secret,
        ct: v.encryptions.map(s => s.ct),
        pt: v.encryptions.map(s => s.pt),
        exported_sender: v.exports.map(e => e.exported_value),
        exported_recipient: v.exports.map(e => e.exported_value)
      })
    })
  }

  for (const [i, v] of XWING.entries()) {
    it(`X-Wing draft vector ${i}: key from seed, encap with eseed, decap`, async () => {
      expect(await call(page(), 'xwingVector', v)).to.deep.equal({ pk: v.pk, ct: v.ct, ss: v.ss, decap: v.ss })
    })
  }

  it('reproduces every handshake transcript of docs/PROTOCOL.md §9 byte for byte', async () => {
    const kats = await call(page(), 'kats')
    expect(Object.keys(kats.cases)).to.deep.equal(Object.keys(KATS.cases))
    for (const name of Object.keys(KATS.cases)) {
      expect(kats.cases[name], name).to.deep.equal(KATS.cases[name])
    }
    expect(kats.inputs).to.deep.equal(KATS.inputs)
  })
})
