/**
 * A child process that prints one JSON object per line, and waiting for
 * the line one needs. Shared by the go-libp2p DHT check and the fleet.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

export interface Line { event: string, [key: string]: any }

export interface LineProcess {
  child: ChildProcess
  lines: Line[]
  /** The first line (printed or future) matching `pred`; rejects after `timeoutMs` or when the process exits first */
  waitFor(pred: (l: Line) => boolean, timeoutMs: number): Promise<Line>
  /** Called for every line as it arrives */
  onLine(fn: (l: Line) => void): void
  stop(): Promise<void>
}

export function spawnLines (cmd: string, args: string[], options: { cwd?: string, env?: NodeJS.ProcessEnv, stderr?(text: string): void } = {}): LineProcess {
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
  const lines: Line[] = []
  const listeners: Array<(l: Line) => void> = []
  let exited = false
  const waiters = new Set<() => void>()
  let rest = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    rest += chunk
    let i: number
    while ((i = rest.indexOf('\n')) >= 0) {
      const text = rest.slice(0, i).trim()
      rest = rest.slice(i + 1)
      if (!text.startsWith('{')) { continue }
      try {
        const line = JSON.parse(text) as Line
        lines.push(line)
        for (const fn of listeners) { fn(line) }
        for (const w of [...waiters]) { w() }
      } catch {
        // not a JSON line: a library printing on stdout
      }
    }
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => { options.stderr?.(text) })
  child.on('exit', () => {
    exited = true
    for (const w of [...waiters]) { w() }
  })
  return {
    child,
    lines,
    onLine: (fn) => { listeners.push(fn) },
    waitFor: async (pred, timeoutMs) => new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = lines.find(pred)
        if (found != null) { done(); resolve(found); return true }
        if (exited) { done(); reject(new Error(`${cmd} exited before the expected line`)); return true }
        return false
      }
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for a line from ${cmd}`)) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); waiters.delete(wake) }
      const wake = (): void => { check() }
      if (!check()) { waiters.add(wake) }
    }),
    stop: async () => {
      if (exited) { return }
      const gone = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
      child.stdin.end()
      child.kill('SIGTERM')
      const timer = setTimeout(() => { child.kill('SIGKILL') }, 3000)
      await gone
      clearTimeout(timer)
    }
  }
}
