/**
 * Runs the chaos schedule against the fleet: operator actions go to the
 * workers as commands, link faults become state the proxies read as data
 * flows (`faults()`), and every action is recorded with the time it ran
 * and the end of its window, for attribution.
 */
import type { Command } from './ipc.js'
import type { ChaosEvent } from './plan.js'
import type { LinkFaults } from './proxy.js'

export interface ChaosHooks {
  command(index: number, cmd: Command): void
  restart(index: number, keepDatastore: boolean, downMs: number): Promise<void>
  /** Reset the open connections from `src` into `dst` for which `match` holds; returns how many */
  reset(match: (src: number | undefined, dst: number) => boolean): number
  applied(event: ChaosEvent & { end: number }): void
}

export class ChaosRunner {
  private readonly latency = new Map<number, { base: number, jitter: number }>()
  private readonly middlebox = new Set<string>()
  private partition?: Set<number>
  private readonly timers: Array<ReturnType<typeof setTimeout>> = []

  /** The faults on the link from `src` into `dst` now */
  faults (src: number | undefined, dst: number): LinkFaults {
    return {
      latency: this.latency.get(dst),
      corruptOuterHello: src != null && this.middlebox.has(`${src}>${dst}`),
      blocked: src != null && this.partition != null && this.partition.has(src) !== this.partition.has(dst)
    }
  }

  run (plan: ChaosEvent[], t0: number, hooks: ChaosHooks): void {
    for (const event of plan) {
      this.later(t0 + event.at - Date.now(), () => { this.apply(event, hooks) })
    }
  }

  stop (): void {
    this.timers.forEach(t => { clearTimeout(t) })
    this.latency.clear()
    this.middlebox.clear()
    this.partition = undefined
  }

  private later (ms: number, fn: () => void): void {
    this.timers.push(setTimeout(fn, Math.max(0, ms)))
  }

  private apply (event: ChaosEvent, hooks: ChaosHooks): void {
    const at = Date.now()
    let end = at
    switch (event.kind) {
      case 'restart':
        end = at + event.downMs
        void hooks.restart(event.node, event.keepDatastore, event.downMs)
        break
      case 'rotate':
        hooks.command(event.node, { cmd: 'rotate', index: event.node, gracePeriod: event.gracePeriod })
        break
      case 'rollout':
        end = at + event.durationMs
        hooks.command(event.node, { cmd: 'rollout', index: event.node, percentage: event.percentage })
        this.later(event.durationMs, () => { hooks.command(event.node, { cmd: 'rollout', index: event.node, percentage: 100 }) })
        break
      case 'killswitch':
        end = at + event.durationMs
        hooks.command(event.node, { cmd: 'enabled', index: event.node, enabled: false })
        this.later(event.durationMs, () => { hooks.command(event.node, { cmd: 'enabled', index: event.node, enabled: true }) })
        break
      case 'latency':
        end = at + event.durationMs
        event.dsts.forEach(d => this.latency.set(d, { base: event.base, jitter: event.jitter }))
        this.later(event.durationMs, () => { event.dsts.forEach(d => this.latency.delete(d)) })
        break
      case 'reset':
        hooks.reset((src, dst) => src === event.node || dst === event.node)
        break
      case 'middlebox':
        end = at + event.durationMs
        event.links.forEach(([s, d]) => this.middlebox.add(`${s}>${d}`))
        this.later(event.durationMs, () => { event.links.forEach(([s, d]) => this.middlebox.delete(`${s}>${d}`)) })
        break
      case 'partition': {
        const group = new Set(event.nodes)
        end = at + event.durationMs
        this.partition = group
        hooks.reset((src, dst) => src != null && group.has(src) !== group.has(dst))
        this.later(event.durationMs, () => { this.partition = undefined })
        break
      }
      default:
    }
    hooks.applied({ ...event, at, end })
  }
}
