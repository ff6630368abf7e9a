/**
 * The other implementations as peers: external programs (go, rust, python)
 * and a stock js-libp2p (`@libp2p/noise`), each a child process that prints
 * JSON lines.
 */
import { spawn } from 'node:child_process'
import { peerCommand } from '../build.mjs'
import type { ChildProcess } from 'node:child_process'

export type ImplName = 'go-libp2p' | 'rust-libp2p' | 'rust-libp2p-noise043' | 'py-libp2p' | 'js-libp2p+@libp2p/noise'

export interface PeerImpl {
  name: ImplName
  /** The build.mjs peer id for external programs */
  build: 'go' | 'rust' | 'rust-noise043' | 'python' | 'js'
}

export const IMPLEMENTATIONS: PeerImpl[] = [
  { name: 'go-libp2p', build: 'go' },
  { name: 'rust-libp2p', build: 'rust' },
  { name: 'rust-libp2p-noise043', build: 'rust-noise043' },
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
  const { child, buf, exited } = spawnProcess(impl, ['--listen', '/ip4/127.0.0.1/tcp/0'])
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
