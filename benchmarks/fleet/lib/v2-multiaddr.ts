/**
 * Parse a multiaddr with the `@multiformats/multiaddr` 12 that libp2p 2
 * itself resolves (its nested copy): a bare import from here gets the
 * libp2p 3 tree's multiaddr 13, whose objects libp2p 2 cannot use.
 * (As `test/fixtures/nodes-v2.ts` does; copied, not imported, to keep the
 * fleet free of test fixtures.)
 */
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

let loaded: Promise<{ multiaddr(addr: string): unknown }> | undefined

async function load (): Promise<{ multiaddr(addr: string): unknown }> {
  const pkg = '@multiformats/multiaddr'
  const v2Require = createRequire(import.meta.resolve('libp2p-v2'))
  for (const dir of v2Require.resolve.paths(pkg) ?? []) {
    const manifest = join(dir, pkg, 'package.json')
    if (existsSync(manifest)) {
      const { exports } = JSON.parse(readFileSync(manifest, 'utf8'))
      return import(pathToFileURL(join(dir, pkg, exports['.'].import)).href)
    }
  }
  throw new Error(`cannot resolve ${pkg} from libp2p-v2`)
}

export async function multiaddrV2 (addr: string): Promise<unknown> {
  loaded ??= load()
  return (await loaded).multiaddr(addr)
}
