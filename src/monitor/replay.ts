/**
 * Replay detection: the `enc` of every outer hello that OPENED is remembered
 * for `replayWindowMs`; an outer hello whose `enc` is remembered is a replay.
 *
 * Which hellos are remembered. Two honest initiators never share an `enc`
 * (RFC 9180 §4: a fresh ephemeral key per SetupBaseS), so a repeat is a
 * replay — but only the repeat of a hello that opened matters: that is a
 * captured genuine message 1, and answering it tells the sender this node
 * holds the key (linkability, RUNBOOK §6 `replay`). A repeat of bytes that
 * never opened (GREASE, a stale config, a prober's garbage) tells nobody
 * anything, and remembering them let anyone fill the table with random
 * `enc` values at no cost — no HPKE work, not even a valid config id. So
 * only opened hellos are inserted: each entry costs the sender a real HPKE
 * seal to this node's key (and this node the open it performs anyway); a
 * hello that did not open is only looked up, so a captured hello replayed
 * after its key was retired is still caught. Every replay is therefore
 * `high`.
 *
 * What is stored. Not the `enc`, not a hex string: the first 8 bytes of
 * SHA-256(enc) as a bigint (a chance match among 65,536 entries is 2^-48 per
 * hello; forcing one needs the captured `enc`, which could simply be
 * replayed). Entries sit in a ring in insertion order (typed arrays: digest,
 * first sighting, count), indexed by a `Map<bigint, slot>`; the oldest leaves
 * first, both when it expires and when the ring is full, in O(1). About 70
 * bytes per entry against about 510 for the generic `BoundedMap` with hex
 * keys (`test/monitor/replay-memory.ts`). The ring starts small and doubles
 * up to `maxEntries`, so an idle node does not pay for the cap.
 *
 * The window runs from an entry's first sighting; a replay does not extend
 * it, so the ring stays ordered by time. A replayer pacing itself over the
 * window is caught every other time (its hello, opened again, is recorded
 * anew), which is enough to raise the alarm.
 */
import { BoundedMap } from './bounded.js'
import { reportable } from './detectors.js'
import type { EventState, Finding } from './detectors.js'

const INITIAL_CAPACITY = 1024
const MAX_COUNT = 0xffff_ffff

export interface ReplayTrackerInit {
  maxEntries: number
  windowMs: number
  /** Sources whose last replay event time is kept (the per-source event limit) */
  maxSources: number
  eventIntervalMs: number
  now(): number
}

export class ReplayTracker {
  readonly #init: ReplayTrackerInit
  readonly #index = new Map<bigint, number>()
  /** Per source (not per `enc`): a flood of replays from one address is one event per interval */
  readonly #sources: BoundedMap<EventState>
  #digests!: BigUint64Array
  #firstSeen!: Float64Array
  #counts!: Uint32Array
  /** Slot of the oldest entry */
  #head = 0
  /** Occupied slots, from `head` on */
  #length = 0

  constructor (init: ReplayTrackerInit) {
    this.#init = init
    this.#sources = new BoundedMap(init.maxSources, init.eventIntervalMs, init.now)
    this.#allocate(Math.min(INITIAL_CAPACITY, init.maxEntries))
  }

  /** `enc` digests remembered */
  get size (): number {
    return this.#index.size
  }

  /** Sources with a replay event time kept */
  get sourceCount (): number {
    return this.#sources.size
  }

  /** An outer hello opened: a replay when its digest is remembered, else it is remembered from now */
  opened (digest: bigint, source: string): Finding | undefined {
    const finding = this.#lookup(digest, source)
    if (finding == null) {
      this.#insert(digest)
    }
    return finding
  }

  /** An outer hello did not open: a replay when it opened before; never remembered */
  failed (digest: bigint, source: string): Finding | undefined {
    return this.#lookup(digest, source)
  }

  clear (): void {
    this.#index.clear()
    this.#sources.clear()
    this.#allocate(Math.min(INITIAL_CAPACITY, this.#init.maxEntries))
  }

  #lookup (digest: bigint, source: string): Finding | undefined {
    const now = this.#init.now()
    this.#expire(now)
    const slot = this.#index.get(digest)
    if (slot == null) {
      return undefined
    }
    const count = Math.min(this.#counts[slot] + 1, MAX_COUNT)
    this.#counts[slot] = count
    let state = this.#sources.get(source)
    if (state == null) {
      state = { lastReport: -Infinity }
      this.#sources.set(source, state)
    }
    return { kind: 'replay', severity: 'high', count, report: reportable(state, 'high', now, this.#init.eventIntervalMs) }
  }

  #insert (digest: bigint): void {
    const capacity = this.#counts.length
    if (this.#length === capacity) {
      if (capacity < this.#init.maxEntries) {
        this.#grow(Math.min(capacity * 2, this.#init.maxEntries))
      } else {
        this.#dropOldest()
      }
    }
    const slot = (this.#head + this.#length) % this.#counts.length
    this.#digests[slot] = digest
    this.#firstSeen[slot] = this.#init.now()
    this.#counts[slot] = 1
    this.#index.set(digest, slot)
    this.#length++
  }

  /** Entries are in first-sighting order, so the expired ones are at the head */
  #expire (now: number): void {
    while (this.#length > 0 && now - this.#firstSeen[this.#head] >= this.#init.windowMs) {
      this.#dropOldest()
    }
  }

  #dropOldest (): void {
    this.#index.delete(this.#digests[this.#head])
    this.#head = (this.#head + 1) % this.#counts.length
    this.#length--
  }

  /** Lay the ring out again from slot 0 in larger arrays (log2(max / 1024) times at most) */
  #grow (capacity: number): void {
    const [digests, firstSeen, counts, head, length] = [this.#digests, this.#firstSeen, this.#counts, this.#head, this.#length]
    this.#allocate(capacity)
    for (let i = 0; i < length; i++) {
      const from = (head + i) % counts.length
      this.#digests[i] = digests[from]
      this.#firstSeen[i] = firstSeen[from]
      this.#counts[i] = counts[from]
      this.#index.set(digests[from], i)
    }
    this.#length = length
  }

  #allocate (capacity: number): void {
    this.#digests = new BigUint64Array(capacity)
    this.#firstSeen = new Float64Array(capacity)
    this.#counts = new Uint32Array(capacity)
    this.#head = 0
    this.#length = 0
  }
}
