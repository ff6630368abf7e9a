/**
 * Bundles a browser page from the TypeScript sources with esbuild
 * (`platform: 'browser'`, ES modules, code splitting so X-Wing is its own
 * chunk) and serves it on 127.0.0.1. The package's `browser` map
 * (package.json, written for `dist/`) is applied to `src/` here, so the page
 * runs exactly the files a browser bundle of the package would:
 * `crypto/default.browser.ts`, `crypto/node.browser.ts`. No `node:` import
 * may come from `src/`; test code's own (fixtures that read files when run
 * on Node) stay external and are never reached in the page.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { build } from 'esbuild'
import type { Plugin } from 'esbuild'
import type { AddressInfo } from 'node:net'

const ROOT = process.cwd()
const SRC = path.join(ROOT, 'src') + path.sep

/** `src/x.ts` for `./dist/src/x.js` */
function sourceOf (distPath: string): string {
  return path.join(ROOT, distPath.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts'))
}

function browserMapPlugin (): Plugin {
  const map: Record<string, string> = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).browser ?? {}
  const bySource = new Map(Object.entries(map).map(([from, to]) => [sourceOf(from), sourceOf(to)]))
  return {
    name: 'package-browser-map-on-src',
    setup (b) {
      b.onResolve({ filter: /^\.\.?\// }, args => {
        const target = path.resolve(path.dirname(args.importer), args.path).replace(/\.js$/, '.ts')
        const mapped = bySource.get(target)
        return mapped == null ? undefined : { path: mapped }
      })
      b.onResolve({ filter: /^node:/ }, args => {
        if (args.importer.startsWith(SRC)) {
          return { errors: [{ text: `${path.relative(ROOT, args.importer)} imports ${args.path}: src/ must bundle for browsers` }] }
        }
        return { path: args.path, external: true }
      })
    }
  }
}

export interface BundledPage {
  url: string
  /** Output file names and sizes (bytes), for the X-Wing chunk check */
  files: Array<{ name: string, bytes: number }>
  close(): Promise<void>
}

/** Bundle `entry` (relative to the package root) and serve it with an HTML shell on 127.0.0.1 */
export async function servePage (entry: string, options: { minify?: boolean } = {}): Promise<BundledPage> {
  const result = await build({
    entryPoints: { page: path.join(ROOT, entry) },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    splitting: true,
    minify: options.minify ?? false,
    target: 'es2022',
    write: false,
    outdir: '/page',
    logLevel: 'silent',
    plugins: [browserMapPlugin()]
  })
  const files = new Map(result.outputFiles.map(f => [path.basename(f.path), f.contents]))
  const html = '<!doctype html><meta charset="utf-8"><title>libp2p-noise-ech</title><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>'
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '/').replace(/^\//, '').split('?')[0]
    if (name === '' || name === 'index.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html)
      return
    }
    const body = files.get(name)
    if (body == null) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/`,
    files: [...files].map(([name, body]) => ({ name, bytes: body.byteLength })),
    close: async () => new Promise<void>(resolve => {
      server.closeAllConnections()
      server.close(() => { resolve() })
    })
  }
}
