/**
 * The dashboard in headless Chromium (Debian's `/usr/bin/chromium`, driven
 * by playwright-core): paste a read token, see the node's peer id and
 * handshake counts arrive, with no CSP violation, and a screenshot that is
 * not blank. Without Chromium, `npm test` skips it with the other browser
 * suites (one line says how to run them); `npm run test:browser` FAILS.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'aegir/chai'
import { chromium } from 'playwright-core'
import { decodeBase64 } from '../../src/config/base64.js'
import { CHROMIUM, CHROMIUM_ARGS, describeInBrowser } from '../browser/chromium.js'
import { READ_TOKEN, createEchNode, startHarness } from './fixtures.js'
import type { Harness } from './fixtures.js'
import type { EchNoise } from '../../src/index.js'
import type { Libp2p } from '@libp2p/interface'
import type { Browser, Page } from 'playwright-core'

export const SCREENSHOT = join(tmpdir(), 'libp2p-noise-ech-gateway', 'dashboard.png')

/** Distinct colours and the share of the most common one, over a grid of pixels of a PNG (decoded by the browser) */
async function pixelStats (page: Page, png: Buffer): Promise<{ width: number, height: number, colours: number, dominant: number }> {
  await page.goto('about:blank')
  return page.evaluate(async (b64) => {
    const img = new Image()
    img.src = `data:image/png;base64,${b64}`
    await img.decode()
    const canvas = document.createElement('canvas')
    canvas.width = img.naturalWidth
    canvas.height = img.naturalHeight
    const ctx = canvas.getContext('2d')
    if (ctx == null) { throw new Error('no 2d context') }
    ctx.drawImage(img, 0, 0)
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height)
    const counts = new Map<number, number>()
    let samples = 0
    for (let y = 0; y < canvas.height; y += 4) {
      for (let x = 0; x < canvas.width; x += 4) {
        const i = (y * canvas.width + x) * 4
        const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2]
        counts.set(key, (counts.get(key) ?? 0) + 1)
        samples++
      }
    }
    return { width: canvas.width, height: canvas.height, colours: counts.size, dominant: Math.max(...counts.values()) / samples }
  }, png.toString('base64'))
}

/** The text of each cell of each row (runs in the page) */
function cellTexts (rows: Element[]): string[][] {
  return rows.map(r => Array.from(r.children, c => c.textContent ?? ''))
}

describeInBrowser('gateway dashboard in Chromium', function () {
  this.timeout(90_000)
  let h: Harness
  let withConfig: { node: Libp2p, ech: EchNoise }
  let withoutConfig: { node: Libp2p, ech: EchNoise }
  let browser: Browser

  before(async () => {
    h = await startHarness()
    withConfig = await createEchNode()
    withoutConfig = await createEchNode()
    const doc = (await h.request('/.well-known/libp2p-noise-ech')).json()
    await withConfig.ech.importSignedConfigRecord(h.node.peerId, decodeBase64(doc.record))
    await withConfig.node.dial(h.node.getMultiaddrs()[0])
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 30_000 })
  })

  after(async () => {
    await browser?.close()
    await Promise.all([withConfig?.node.stop(), withoutConfig?.node.stop()])
    await h?.stop()
  })

  it('shows live status after a read token is pasted, with no CSP violation, and renders a non-blank page', async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 1000 } })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', msg => { if (msg.type() === 'error') { problems.push(msg.text()) } })
    page.on('pageerror', err => { problems.push(err.message) })

    await page.goto(`${h.url}/ech/dashboard?interval=1000`)
    expect(await page.textContent('#conn-state')).to.equal('no token')
    await page.fill('#token', READ_TOKEN)
    await page.click('button[type=submit]')

    const peerId = h.node.peerId.toString()
    await page.waitForFunction((id) => document.getElementById('peer-id')?.textContent === id, peerId, { timeout: 15_000 })
    await page.waitForFunction(() => Number(document.getElementById('handshakes-total')?.textContent) >= 1, undefined, { timeout: 15_000 })
    expect(await page.textContent('#conn-state')).to.equal('live')

    // more handshakes while the page polls, so the chart has something to draw
    for (let i = 0; i < 3; i++) {
      await withConfig.node.hangUp(h.node.peerId)
      await withConfig.node.dial(h.node.getMultiaddrs()[0])
      await withoutConfig.node.hangUp(h.node.peerId)
      await withoutConfig.node.dial(h.node.getMultiaddrs()[0])
      await page.waitForTimeout(1100)
    }
    const total = h.ech.monitor.getCounters().handshakes
    await page.waitForFunction((n) => Number(document.getElementById('handshakes-total')?.textContent) >= n,
      Object.values(total).reduce((a, b) => a + b, 0), { timeout: 15_000 })
    // bars for both outcomes seen: ECH accepted, and stock Noise from the peer without a config
    await page.waitForFunction(() => document.querySelector('#chart rect[data-outcome="accepted"]') != null &&
      document.querySelector('#chart rect[data-outcome="not-offered"]') != null, undefined, { timeout: 15_000 })

    const keys = await page.$$eval('#keys tr', rows => rows.map(r => r.textContent ?? ''))
    expect(keys).to.have.lengthOf(h.ech.keys.getKeys().length)
    expect(keys[0]).to.include(String(h.ech.keys.getKeys()[0].config.configId))
    const outcomes = await page.$$eval('#outcomes tr', cellTexts)
    expect(outcomes).to.deep.include(['accepted', String(h.ech.monitor.getCounters().handshakes.responder_accepted)])

    // the token lives in sessionStorage only, and not in the DOM
    expect(await page.evaluate(() => Object.keys(sessionStorage))).to.have.lengthOf(1)
    expect(await page.evaluate(() => localStorage.length)).to.equal(0)
    expect(await page.content()).to.not.include(READ_TOKEN)

    const png = await page.screenshot({ fullPage: true })
    await mkdir(join(tmpdir(), 'libp2p-noise-ech-gateway'), { recursive: true })
    await writeFile(SCREENSHOT, png)
    expect(problems, 'console errors (a CSP violation shows here)').to.deep.equal([])

    expect(png.byteLength).to.be.greaterThan(20_000)
    const stats = await pixelStats(page, png)
    expect(stats.width).to.equal(1200)
    expect(stats.colours, 'distinct colours in the screenshot').to.be.greaterThan(20)
    expect(stats.dominant, 'share of the most common colour').to.be.below(0.9)
    await context.close()
  })

  it('says when the token is refused', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${h.url}/ech/dashboard?interval=1000`)
    await page.fill('#token', 'not-the-right-token-0000')
    await page.click('button[type=submit]')
    await page.waitForFunction(() => document.getElementById('conn-state')?.textContent === 'token refused', undefined, { timeout: 15_000 })
    expect(await page.textContent('#message')).to.equal('Invalid bearer token')
    expect(await page.textContent('#peer-id')).to.equal('-')
    // it stops polling: retries would count as failed attempts against this host
    await page.waitForTimeout(3500)
    const refused = h.lines.filter(l => /^GET \/ech\/status 401 /.test(l.text))
    expect(refused).to.have.lengthOf(1)
    await context.close()
  })
})
