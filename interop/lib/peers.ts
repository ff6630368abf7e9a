/**
 * The other implementations as peers: external programs (go, rust, python)
 * and a stock js-libp2p (`@libp2p/noise`), each a child process that prints
 * JSON lines.
 */
import { spawn } from 'node:child_process'
import { peerCommand } from '../build.mjs'
import type { ChildProcess } from 'node:child_process'

export type ImplName = 'go-libp2p' | 'rust-libp2p' | 'rust-libp2p-noise043' | 'py-libp2p' | 'js-libp2p+@libp2p/noise' |
'go-libp2p[agent:go-libp2p]' | 'rust-libp2p-noise043[agent:0.44.0]'

export interface PeerImpl {
  name: ImplName
  /** The build.mjs peer id for external programs */
  build: 'go' | 'rust' | 'rust-noise043' | 'python' | 'js'
  /** Extra arguments for its listener */
  listenArgs?: string[]
  /** Only these steps of the runner (default: all) */
  steps?: string[]
  /** The implementation this is a variant of (`--only` with the base name selects it too) */
  base?: ImplName
  /** Its identify agent names a Noise it does not run (row 5d) */
  misidentified?: boolean
}

/** Steps whose result depends on what identify says about the peer */
const AGENT_STEPS = ['4c', '5']

export const IMPLEMENTATIONS: PeerImpl[] = [
  { name: 'go-libp2p', build: 'go' },
  // go-libp2p's own default agent is the main module's path (here the interop program's,
  // github.com/libp2p-noise-ech/interop/go@…): present go-libp2p's module path instead, as a
  // binary built from go-libp2p itself would, to show GREASE against go-libp2p's Noise
  { name: 'go-libp2p[agent:go-libp2p]', build: 'go', base: 'go-libp2p', listenArgs: ['--user-agent', 'github.com/libp2p/go-libp2p@v0.52.0'], steps: AGENT_STEPS },
  { name: 'rust-libp2p', build: 'rust' },
  { name: 'rust-libp2p-noise043', build: 'rust-noise043' },
  // libp2p-noise 0.43 claiming identify 0.44 (libp2p 0.53, whose Noise takes an outer hello):
  // what GREASE costs when an agent is wrong
  { name: 'rust-libp2p-noise043[agent:0.44.0]', build: 'rust-noise043', base: 'rust-libp2p-noise043', listenArgs: ['--agent', 'rust-libp2p/0.44.0'], steps: ['5'], misidentified: true },
  { name: 'py-libp2p', build: 'python' },
  { name: 'js-libp2p+@libp2p/noise', build: 'js' }
]

export interface PeerLine { event: string, [key: string]: any }

export interface RunningPeer {
  impl: ImplName
  version: string
  peerId: string
  addrs: string[]
  /** Every JSON line it printed so far */
  lines: PeerLine[]
  /** Everything it printed (stdout and stderr), raw */
  text(): string
  /** The first line (already printed or future) matching `pred`, or undefined after `timeoutMs` */
  waitFor(pred: (l: PeerLine) => boolean, timeoutMs: number): Promise<PeerLine | undefined>
  stop(): Promise<void>
}

const children = new Set<ChildProcess>()

/** Kill every child process still running (called at exit, on signals and on the watchdog) */
export function killAllChildren (): void {
  for (const c of children) {
    try { c.kill('SIGKILL') } catch {}
  }
  children.clear()
}

class LineBuffer {
  lines: PeerLine[] = []
  raw: string[] = []
  private readonly waiters = new Set<{ pred(l: PeerLine): boolean, resolve(l: PeerLine | undefined): void }>()

  push (line: PeerLine): void {
    this.lines.push(line)
    for (const w of [...this.waiters]) {
      if (w.pred(line)) { this.waiters.delete(w); w.resolve(line) }
    }
  }

  async waitFor (pred: (l: PeerLine) => boolean, timeoutMs: number): Promise<PeerLine | undefined> {
    const found = this.lines.find(pred)
    if (found != null) { return found }
    return new Promise(resolve => {
      const w = { pred, resolve }
      this.waiters.add(w)
      const timer = setTimeout(() => { this.waiters.delete(w); resolve(undefined) }, timeoutMs)
      const orig = w.resolve
      w.resolve = (l) => { clearTimeout(timer); orig(l) }
    })
  }

  /** Resolve every waiter with undefined (the process ended) */
  end (): void {
    for (const w of [...this.waiters]) { this.waiters.delete(w); w.resolve(undefined) }
  }
}

function spawnProcess (impl: PeerImpl, args: string[]): { child: ChildProcess, buf: LineBuffer, exited: Promise<number | null> } {
  const { cmd, args: pre, cwd } = peerCommand(impl.build)
  const child = spawn(cmd, [...pre, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  const buf = new LineBuffer()
  let partial = ''
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (chunk: string) => {
    buf.raw.push(chunk)
    partial += chunk
    let i
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i).trim()
      partial = partial.slice(i + 1)
      if (line === '') { continue }
      try {
        buf.push(JSON.parse(line))
      } catch {
        buf.push({ event: 'raw', text: line })
      }
    }
  })
  child.stderr!.setEncoding('utf8')
  child.stderr!.on('data', (chunk: string) => { buf.raw.push(chunk) })
  const exited = new Promise<number | null>(resolve => {
    child.on('exit', (code) => { children.delete(child); buf.end(); resolve(code) })
    child.on('error', (err) => { buf.raw.push(String(err)); children.delete(child); buf.end(); resolve(-1) })
  })
  return { child, buf, exited }
}

async function stopProcess (child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) { return }
  try { child.stdin?.end() } catch {}
  const timer = setTimeout(() => { try { child.kill('SIGTERM') } catch {} }, 1500)
  const killer = setTimeout(() => { try { child.kill('SIGKILL') } catch {} }, 4000)
  await exited
  clearTimeout(timer)
  clearTimeout(killer)
}

/** Start a listening peer of `impl` on 127.0.0.1 */
export async function startListener (impl: PeerImpl, startTimeoutMs = 20_000): Promise<RunningPeer> {
  const { child, buf, exited } = spawnProcess(impl, ['--listen', '/ip4/127.0.0.1/tcp/0', ...(impl.listenArgs ?? [])])
  const listening = await buf.waitFor(l => l.event === 'listening', startTimeoutMs)
  if (listening == null) {
    await stopProcess(child, exited)
    throw new Error(`${impl.name} did not start listening: ${buf.raw.join('').slice(-2000)}`)
  }
  return {
    impl: impl.name,
    version: listening.version,
    peerId: listening.peerId,
    addrs: listening.addrs,
    lines: buf.lines,
    text: () => buf.raw.join(''),
    waitFor: async (pred, t) => buf.waitFor(pred, t),
    stop: async () => { await stopProcess(child, exited) }
  }
}

export interface DialerRun {
  version: string
  peerId?: string
  dial?: PeerLine
  lines: PeerLine[]
  text: string
}

/** Run a dialer of `impl` against `target` (a multiaddr ending in /p2p/...): connect, ping, echo */
export async function runDialer (impl: PeerImpl, target: string, echoBytes: number, timeoutMs = 20_000): Promise<DialerRun> {
  const args = ['--listen', '/ip4/127.0.0.1/tcp/0', '--dial', target, '--echo-bytes', String(echoBytes), '--exit-after-dial']
  if (impl.build === 'go') { args.push('--timeout', `${timeoutMs}ms`) } else if (impl.build === 'python') { args.push('--timeout', String(timeoutMs / 1000)) } else { args.push('--timeout-ms', String(timeoutMs)) }
  const { child, buf, exited } = spawnProcess(impl, args)
  const dial = await buf.waitFor(l => l.event === 'dial', timeoutMs + 15_000)
  // let it print what it learned after the dial (identify, errors), then stop it
  await new Promise(resolve => setTimeout(resolve, 300))
  await stopProcess(child, exited)
  const listening = buf.lines.find(l => l.event === 'listening')
  return { version: listening?.version ?? '?', peerId: listening?.peerId, dial, lines: buf.lines, text: buf.raw.join('') }
}
