/**
 * Headless Chromium for the browser suites: Debian's `/usr/bin/chromium`
 * (or `CHROMIUM_PATH`), driven by playwright-core with a fresh profile per
 * launch. A test tool's own browser download fails on this project's
 * machines, so none is attempted.
 *
 * Without Chromium, `npm test` skips the browser suites and says so in one
 * line; `npm run test:browser` sets `ECH_BROWSER_TESTS=require`, where a
 * browser that cannot start FAILS the run.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import type { BrowserContext, Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** `npm run test:browser` sets this: a missing or broken Chromium is a failure, not a skip */
export const BROWSER_REQUIRED = process.env.ECH_BROWSER_TESTS === 'require'

let announced = false

/**
 * Whether the browser suites run here. False only when Chromium is missing
 * and the run does not require it; the reason is printed once per run.
 */
export function browserSuitesRun (): boolean {
  if (existsSync(CHROMIUM) || BROWSER_REQUIRED) { return true }
  if (!announced) {
    announced = true
    process.stdout.write(`  browser suites skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH), then run npm run test:browser\n`)
  }
  return false
}

/** `describe`, or `describe.skip` (pending, counted) when `browserSuitesRun()` says no */
export function describeInBrowser (title: string, fn: (this: Mocha.Suite) => void): Mocha.Suite | void {
  return browserSuitesRun() ? describe(title, fn) : describe.skip(title, fn)
}

export interface BrowserSession {
  context: BrowserContext
  page: Page
  /** Page errors and console errors, for assertions */
  errors: string[]
  close(): Promise<void>
}

/** Chromium with a fresh `--user-data-dir` and one page; throws (never skips) when it cannot start */
export async function launchBrowser (): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium) or set CHROMIUM_PATH`)
  }
  const profile = await mkdtemp(join(tmpdir(), 'libp2p-noise-ech-chromium-'))
  let context: BrowserContext
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 })
  } catch (err) {
    await rm(profile, { recursive: true, force: true })
    throw err
  }
  const page = context.pages()[0] ?? await context.newPage()
  const errors: string[] = []
  page.on('pageerror', err => { errors.push(err.message) })
  page.on('console', msg => { if (msg.type() === 'error') { errors.push(msg.text()) } })
  return {
    context,
    page,
    errors,
    close: async () => {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    }
  }
}
