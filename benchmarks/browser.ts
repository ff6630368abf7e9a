/**
 * Browser benchmarks in headless Chromium (Debian's `/usr/bin/chromium` or
 * `CHROMIUM_PATH`, driven by playwright-core), page in browser-page.ts:
 *
 * 1. per primitive, the `@noble/*` call the browser backend makes against
 * the same operation through WebCrypto (what native crypto would buy if the
 * engine could await it);
 * 2. handshakes per second, `echNoise` (ECH accepted) against stock
 * `noise()`, both roles in one page, interleaved.
 *
 * Run: `npm run bench:browser [-- --handshakes 300 --warmup 30 --batch 10]`.
 * Numbers are reported, never asserted.
 */
import { parseArgs } from 'node:util'
import { launchBrowser } from '../test/browser/chromium.js'
import { servePage } from '../test/browser/page-server.js'
import { out, table } from './setup.js'

const { values } = parseArgs({ options: { handshakes: { type: 'string', default: '300' }, warmup: { type: 'string', default: '30' }, batch: { type: 'string', default: '10' }, iterations: { type: 'string', default: '200' } } })

const served = await servePage('benchmarks/browser-page.ts', { minify: true })
const browser = await launchBrowser()
try {
  await browser.page.goto(served.url)
  await browser.page.waitForFunction(() => (globalThis as any).bench != null)
  const version = browser.context.browser()?.version() ?? (await browser.page.evaluate(() => navigator.userAgent))
  out(`Chromium ${version}, ${new Date().toISOString().slice(0, 10)}\n`)

  const rows = await browser.page.evaluate(async (n) => (globalThis as any).bench.primitives(n), Number(values.iterations)) as Array<{ primitive: string, noble: number, webcrypto: number | null, note: string }>
  const us = (x: number): string => x < 10 ? x.toFixed(2) : x.toFixed(1)
  table(['primitive', '@noble/* (sync), µs', 'WebCrypto (awaited), µs', 'WebCrypto / noble', 'note'], ['---', '---:', '---:', '---:', '---'],
    rows.map(r => [r.primitive, us(r.noble), r.webcrypto == null ? 'not in WebCrypto' : us(r.webcrypto), r.webcrypto == null ? '—' : (r.webcrypto / r.noble).toFixed(2), r.note]))

  const hs = await browser.page.evaluate(async ([n, w, b]) => (globalThis as any).bench.handshakes(n, w, b), [Number(values.handshakes), Number(values.warmup), Number(values.batch)]) as { provider: string, results: Record<string, { median: number, perSecond: number }>, checked: string[] }
  out(`\nHandshakes (both roles in the page, ${values.handshakes} per variant, interleaved by ${values.batch}; backend ${hs.provider}; ECH outcomes seen: ${hs.checked.join(', ')})\n`)
  const stock = hs.results.stock
  table(['variant', 'median ms', 'handshakes/s', 'vs stock'], ['---', '---:', '---:', '---:'], Object.entries(hs.results).map(([name, r]) => [name, r.median.toFixed(2), r.perSecond.toFixed(0), (r.perSecond / stock.perSecond).toFixed(2)]))
  if (browser.errors.length > 0) { out(`\npage errors: ${browser.errors.join('; ')}`) }
} finally {
  await browser.close()
  await served.close()
}
