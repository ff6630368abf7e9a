/* eslint-disable no-console */
/**
 * Builds a browser page that uses `echNoise()` (benchmarks/browser-size/ech.js)
 * and the same page with stock `noise()` (noise.js) with esbuild, webpack and
 * Vite, as an application would: production mode, `libp2p-noise-ech` resolved
 * through this package's own package.json (`exports`, `browser` map), no
 * polyfills, no plugins. Run after `npm run build`.
 *
 * Fails when a bundler warns about a Node built-in (or any `node:` import is
 * left in the output), when X-Wing (ML-KEM-768) is in the page's initial
 * chunks rather than a chunk of its own, or when a build fails. Prints the
 * minified and gzipped size of each page's initial JavaScript, the
 * difference, and the X-Wing chunk.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { build as esbuild } from 'esbuild'
import { build as viteBuild, createLogger } from 'vite'
import webpack from 'webpack'

const ROOT = process.cwd()
const PAGES = { noise: 'benchmarks/browser-size/noise.js', ech: 'benchmarks/browser-size/ech.js' }
const OUT = fs.mkdtempSync(path.join(os.tmpdir(), 'libp2p-noise-ech-bundlers-'))
/** Warnings that mean a Node built-in reached the browser graph */
const NODE_BUILTIN = /node:|built-?in|polyfill|externalized for browser|Can't resolve '(crypto|fs|path|os|net|http|buffer|stream|util)'/i
/** A string only kems/x-wing.ts holds: where it lands is where X-Wing landed */
const XWING_MARKER = 'X-Wing eseed'

if (!fs.existsSync(path.join(ROOT, 'dist/src/index.js'))) {
  console.error('check-bundlers: no dist/src/index.js: run npm run build first')
  process.exit(1)
}

const size = (files) => {
  const bytes = files.reduce((n, f) => n + fs.statSync(f).size, 0)
  const gz = files.reduce((n, f) => n + gzipSync(fs.readFileSync(f), { level: 9 }).byteLength, 0)
  return { bytes, gz }
}

/**
 * The files of the initial load: the entry and every chunk it imports statically, transitively
 *
 * @param entry
 * @param staticImports
 */
function initialClosure (entry, staticImports) {
  const seen = new Set([entry])
  const queue = [entry]
  while (queue.length > 0) {
    for (const next of staticImports(queue.shift()) ?? []) {
      if (!seen.has(next)) { seen.add(next); queue.push(next) }
    }
  }
  return [...seen]
}

async function withEsbuild (name, entry, out) {
  const result = await esbuild({
    entryPoints: [path.join(ROOT, entry)],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    splitting: true,
    minify: true,
    target: 'es2022',
    outdir: out,
    metafile: true,
    logLevel: 'silent'
  })
  const outputs = result.metafile.outputs
  const rel = (f) => path.relative(ROOT, path.resolve(ROOT, f))
  const entryOut = Object.keys(outputs).find(f => outputs[f].entryPoint != null)
  const initial = initialClosure(entryOut, (f) => outputs[f].imports.filter(i => i.kind === 'import-statement').map(i => i.path))
  const lazy = Object.keys(outputs).filter(f => f.endsWith('.js') && !initial.includes(f))
  return { warnings: result.warnings.map(w => w.text), initial: initial.map(f => path.resolve(ROOT, f)), lazy: lazy.map(f => path.resolve(ROOT, f)), label: rel(entryOut) }
}

async function withWebpack (name, entry, out) {
  const stats = await new Promise((resolve, reject) => {
    webpack({
      mode: 'production',
      target: 'web',
      context: ROOT,
      entry: path.join(ROOT, entry),
      output: { path: out, filename: '[name].js', chunkFilename: '[name].[contenthash].js', clean: true },
      performance: { hints: false }
    }, (err, s) => { err != null ? reject(err) : resolve(s) })
  })
  const json = stats.toJson({ all: false, warnings: true, errors: true, chunks: true, assets: true })
  if (json.errors.length > 0) { throw new Error(`webpack: ${json.errors.map(e => e.message).join('\n')}`) }
  const files = (chunks) => chunks.flatMap(c => c.files).filter(f => f.endsWith('.js')).map(f => path.join(out, f))
  return { warnings: json.warnings.map(w => w.message), initial: files(json.chunks.filter(c => c.initial)), lazy: files(json.chunks.filter(c => !c.initial)) }
}

async function withVite (name, entry, out) {
  const warnings = []
  const logger = createLogger('warn', { allowClearScreen: false })
  logger.warn = (msg) => { warnings.push(msg) }
  logger.warnOnce = (msg) => { warnings.push(msg) }
  const result = await viteBuild({
    root: ROOT,
    configFile: false,
    logLevel: 'warn',
    customLogger: logger,
    build: {
      outDir: out,
      emptyOutDir: true,
      minify: true,
      target: 'es2022',
      write: true,
      reportCompressedSize: false,
      chunkSizeWarningLimit: 4096,
      rollupOptions: { input: path.join(ROOT, entry), onwarn: (w) => { warnings.push(w.message) } }
    }
  })
  const chunks = (Array.isArray(result) ? result : [result]).flatMap(r => r.output).filter(o => o.type === 'chunk')
  const byName = new Map(chunks.map(c => [c.fileName, c]))
  const entryChunk = chunks.find(c => c.isEntry)
  const initial = initialClosure(entryChunk.fileName, (f) => byName.get(f)?.imports)
  return { warnings, initial: initial.map(f => path.join(out, f)), lazy: chunks.filter(c => !initial.includes(c.fileName)).map(c => path.join(out, c.fileName)) }
}

const contains = (file, text) => fs.readFileSync(file, 'utf8').includes(text)
const failures = []
const rows = []

for (const [bundler, run] of [['esbuild', withEsbuild], ['webpack', withWebpack], ['vite', withVite]]) {
  const sizes = {}
  for (const [name, entry] of Object.entries(PAGES)) {
    const out = path.join(OUT, bundler, name)
    let built
    try {
      built = await run(name, entry, out)
    } catch (err) {
      failures.push(`${bundler} ${name}: build failed: ${err.message}`)
      continue
    }
    for (const w of built.warnings) {
      console.log(`${bundler} ${name} warning: ${JSON.stringify(w).slice(0, 300)}`)
      if (NODE_BUILTIN.test(w)) { failures.push(`${bundler} ${name}: warns about a Node built-in: ${w.split('\n')[0]}`) }
    }
    for (const file of [...built.initial, ...built.lazy]) {
      if (/["'`]node:[a-z_/]+["'`]/.test(fs.readFileSync(file, 'utf8'))) { failures.push(`${bundler} ${name}: ${path.basename(file)} imports a node: module`) }
    }
    sizes[name] = size(built.initial)
    if (name === 'noise' && built.lazy.length > 0) { failures.push(`${bundler}: the noise() page has chunks loaded on demand, so the X-Wing size would be off: ${built.lazy.map(f => path.basename(f)).join(', ')}`) }
    if (name === 'ech') {
      if (built.initial.some(f => contains(f, XWING_MARKER))) { failures.push(`${bundler}: X-Wing is in the initial chunks`) }
      if (!built.lazy.some(f => contains(f, XWING_MARKER))) { failures.push(`${bundler}: no X-Wing chunk of its own`) }
      // every chunk loaded on demand: X-Wing's, and what the bundler split off it (webpack puts its node_modules apart)
      sizes.xwing = size(built.lazy)
    }
  }
  if (sizes.ech != null && sizes.noise != null) {
    rows.push({ bundler, noise: sizes.noise, ech: sizes.ech, xwing: sizes.xwing })
  }
}

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
console.log('\n| bundler | noise() page | echNoise() page | difference | X-Wing chunk (loaded on use) |')
console.log('|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.bundler} | ${kib(r.noise.bytes)} (${kib(r.noise.gz)} gzip) | ${kib(r.ech.bytes)} (${kib(r.ech.gz)} gzip) | +${kib(r.ech.bytes - r.noise.bytes)} (+${kib(r.ech.gz - r.noise.gz)} gzip) | ${kib(r.xwing.bytes)} (${kib(r.xwing.gz)} gzip) |`)
}
fs.rmSync(OUT, { recursive: true, force: true })
if (failures.length > 0) {
  console.error(`\ncheck-bundlers: ${failures.length} failure(s)`)
  for (const f of failures) { console.error(`  ${f}`) }
  process.exit(1)
}
console.log('\ncheck-bundlers: esbuild, webpack and Vite built both pages: no Node built-in, X-Wing in a chunk of its own')
