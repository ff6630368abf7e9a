#!/usr/bin/env node
/* eslint-disable no-console -- a command-line build script */
/**
 * Builds the interop peers (go, rust, rust-noise043, python; js needs only
 * `npm ci`) when missing or stale, into ~/.cache/libp2p-noise-ech-interop/
 * (override with NOISE_ECH_INTEROP_CACHE). Nothing is written inside the
 * repository. Usage: `node interop/build.mjs [--force] [go|rust|rust-noise043|python ...]`
 *
 * A peer is stale when the hash of its sources, lock file and toolchain
 * version differs from the stamp written by its last successful build. A
 * missing toolchain is an error (CI always has them): it is never skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))
export const CACHE = process.env.NOISE_ECH_INTEROP_CACHE ?? join(homedir(), '.cache', 'libp2p-noise-ech-interop')
const CARGO_TARGET = join(CACHE, 'cargo-target')
const VENV = join(CACHE, 'venv')
const BIN = join(CACHE, 'bin')
const STAMPS = join(CACHE, 'stamps')

export const PEERS = ['go', 'rust', 'rust-noise043', 'python', 'js']

function toolchainVersion (cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.error != null || r.status !== 0) {
    throw new Error(`interop: toolchain "${cmd}" is missing or broken (${r.error?.message ?? r.stderr}); install it: the interop matrix needs go, cargo, python3`)
  }
  return (r.stdout + r.stderr).trim()
}

function hashFiles (dir, names, extra) {
  const h = createHash('sha256')
  h.update(extra)
  for (const name of names) {
    const p = join(dir, name)
    h.update(name)
    h.update(existsSync(p) ? readFileSync(p) : 'missing')
  }
  return h.digest('hex')
}

function rustSources (dir) {
  return ['Cargo.toml', 'Cargo.lock', ...readdirSync(join(dir, 'src')).sort().map(f => `src/${f}`)]
}

const SPECS = {
  go: {
    dir: join(HERE, 'go'),
    toolchain: () => toolchainVersion('go', ['version']),
    inputs: (dir) => ['go.mod', 'go.sum', ...readdirSync(dir).filter(f => f.endsWith('.go')).sort()],
    output: join(BIN, 'go-peer'),
    build: (dir) => run('go', ['build', '-mod=readonly', '-trimpath', '-o', join(BIN, 'go-peer'), '.'], dir, {}),
    command: () => ({ cmd: join(BIN, 'go-peer'), args: [] })
  },
  rust: {
    dir: join(HERE, 'rust'),
    toolchain: () => toolchainVersion('cargo', ['--version']) + toolchainVersion('rustc', ['--version']),
    inputs: rustSources,
    output: join(CARGO_TARGET, 'release', 'interop-rust-peer'),
    build: (dir) => run('cargo', ['build', '--release', '--locked'], dir, { CARGO_TARGET_DIR: CARGO_TARGET }),
    command: () => ({ cmd: join(CARGO_TARGET, 'release', 'interop-rust-peer'), args: [] })
  },
  'rust-noise043': {
    dir: join(HERE, 'rust-noise043'),
    toolchain: () => toolchainVersion('cargo', ['--version']) + toolchainVersion('rustc', ['--version']),
    inputs: rustSources,
    output: join(CARGO_TARGET, 'release', 'interop-rust-noise043-peer'),
    build: (dir) => run('cargo', ['build', '--release', '--locked'], dir, { CARGO_TARGET_DIR: CARGO_TARGET }),
    command: () => ({ cmd: join(CARGO_TARGET, 'release', 'interop-rust-noise043-peer'), args: [] })
  },
  python: {
    dir: join(HERE, 'python'),
    toolchain: () => toolchainVersion('python3', ['--version']),
    // peer.py is run from the checkout: only the environment is built
    inputs: () => ['requirements.txt'],
    output: join(VENV, 'bin', 'python'),
    build: (dir) => {
      if (!existsSync(join(VENV, 'bin', 'python'))) {
        run('python3', ['-m', 'venv', VENV], dir, {})
      }
      run(join(VENV, 'bin', 'pip'), ['install', '--disable-pip-version-check', '-q', '-r', 'requirements.txt'], dir, {})
    },
    command: () => ({ cmd: join(VENV, 'bin', 'python'), args: ['-u', join(HERE, 'python', 'peer.py')] })
  },
  // a stock js-libp2p 3 + @libp2p/noise peer in its own process (no /ech codec); nothing to build
  // beyond `npm ci` (@libp2p/noise is a devDependency)
  js: {
    dir: join(HERE, 'js'),
    toolchain: () => process.version,
    inputs: () => ['peer.ts'],
    output: join(HERE, '..', 'node_modules', '@libp2p', 'noise', 'package.json'),
    build: () => {
      if (!existsSync(join(HERE, '..', 'node_modules', '@libp2p', 'noise', 'package.json'))) {
        throw new Error('interop: @libp2p/noise is missing from node_modules: run npm ci')
      }
    },
    command: () => ({ cmd: process.execPath, args: ['--import', 'tsx', join(HERE, 'js', 'peer.ts')] })
  }
}

function run (cmd, args, cwd, env) {
  process.stderr.write(`interop build: (cd ${cwd} && ${cmd} ${args.join(' ')})\n`)
  execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] })
}

/**
 * How to start a peer program: { cmd, args, cwd }
 *
 * @param name
 */
export function peerCommand (name) {
  const spec = SPECS[name]
  if (spec == null) { throw new Error(`unknown interop peer ${name}`) }
  return { ...spec.command(), cwd: spec.dir }
}

/**
 * Build the given peers when missing or stale; returns, per peer, whether it
 * was built and how long it took (s).
 *
 * @param names
 * @param root0
 * @param root0.force
 */
export function buildPeers (names = PEERS, { force = false } = {}) {
  mkdirSync(BIN, { recursive: true })
  mkdirSync(STAMPS, { recursive: true })
  const report = {}
  for (const name of names) {
    const spec = SPECS[name]
    if (spec == null) { throw new Error(`unknown interop peer ${name}`) }
    const hash = hashFiles(spec.dir, spec.inputs(spec.dir), spec.toolchain())
    const stampFile = join(STAMPS, `${name}.json`)
    const stamp = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : undefined
    if (!force && stamp?.hash === hash && existsSync(spec.output)) {
      report[name] = { built: false, lastBuildSeconds: stamp.seconds }
      continue
    }
    const start = Date.now()
    spec.build(spec.dir)
    const seconds = Math.round((Date.now() - start) / 100) / 10
    writeFileSync(stampFile, JSON.stringify({ hash, seconds, builtAt: new Date().toISOString() }, null, 2))
    report[name] = { built: true, seconds }
    process.stderr.write(`interop build: ${name} built in ${seconds} s\n`)
  }
  return report
}

if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const force = args.includes('--force')
  const names = args.filter(a => !a.startsWith('--'))
  try {
    console.log(JSON.stringify(buildPeers(names.length > 0 ? names : PEERS, { force }), null, 2))
  } catch (err) {
    console.error(String(err?.message ?? err))
    process.exit(1)
  }
}
