/**
 * The bounded containers every tracker is built from. Nothing here grows
 * without limit and nothing runs on a timer: expiry is lazy, checked on
 * access and pruned from the oldest end on insert, so a stopped node holds no
 * handles and a flood costs O(1) amortised per event.
 */

interface Node<V> {
  key: string
  value: V
  touched: number
  /** Towards the least recently touched end */
  prev?: Node<V>
  next?: Node<V>
}

/**
 * A Map capped at `maxSize` entries, least recently touched evicted first,
 * where entries expire `ttlMs` after their last touch. Recency is kept in a
 * doubly linked list rather than in the Map's insertion order, because
 * iterating a V8 Map from the front walks over every deleted slot there, and
 * an LRU that keeps deleting at the front would make each operation O(n).
 */
export class BoundedMap<V> {
  readonly #nodes = new Map<string, Node<V>>()
  #oldest?: Node<V>
  #newest?: Node<V>
  readonly #maxSize: number
  readonly #ttlMs: number
  readonly #now: () => number
  /** Entries dropped because the map was full */
  evictions = 0

  constructor (maxSize: number, ttlMs: number, now: () => number) {
    this.#maxSize = maxSize
    this.#ttlMs = ttlMs
    this.#now = now
  }

  get size (): number {
    return this.#nodes.size
  }

  /** The live value under `key`, touched (made newest, expiry renewed) */
  get (key: string): V | undefined {
    const node = this.#nodes.get(key)
    if (node == null) {
      return undefined
    }
    const now = this.#now()
    this.#unlink(node)
    if (now - node.touched >= this.#ttlMs) {
      this.#nodes.delete(key)
      return undefined
    }
    node.touched = now
    this.#append(node)
    return node.value
  }

  set (key: string, value: V): void {
    const now = this.#now()
    // expired entries are the oldest ones: drop them before evicting live ones
    while (this.#oldest != null && now - this.#oldest.touched >= this.#ttlMs) {
      this.#drop(this.#oldest)
    }
    const existing = this.#nodes.get(key)
    if (existing != null) {
      // replaced in place and made newest: no Map delete and re-insert, no
      // new node (the downgrade tracker replaces one peer's entry on every
      // accepted handshake); the size does not change, so nothing is evicted
      this.#unlink(existing)
      existing.value = value
      existing.touched = now
      this.#append(existing)
      return
    }
    while (this.#oldest != null && this.#nodes.size >= this.#maxSize) {
      this.#drop(this.#oldest)
      this.evictions++
    }
    const node: Node<V> = { key, value, touched: now }
    this.#append(node)
    this.#nodes.set(key, node)
  }

  clear (): void {
    this.#nodes.clear()
    this.#oldest = undefined
    this.#newest = undefined
  }

  #drop (node: Node<V>): void {
    this.#unlink(node)
    this.#nodes.delete(node.key)
  }

  #append (node: Node<V>): void {
    node.prev = this.#newest
    node.next = undefined
    if (this.#newest != null) {
      this.#newest.next = node
    } else {
      this.#oldest = node
    }
    this.#newest = node
  }

  #unlink (node: Node<V>): void {
    if (node.prev != null) {
      node.prev.next = node.next
    } else {
      this.#oldest = node.next
    }
    if (node.next != null) {
      node.next.prev = node.prev
    } else {
      this.#newest = node.prev
    }
    node.prev = undefined
    node.next = undefined
  }
}

/** A token bucket: `burst` tokens, refilled at `perSecond` */
export class TokenBucket {
  #tokens: number
  #last: number
  readonly #burst: number
  readonly #perSecond: number
  readonly #now: () => number

  constructor (burst: number, perSecond: number, now: () => number) {
    this.#burst = burst
    this.#perSecond = perSecond
    this.#now = now
    this.#tokens = burst
    this.#last = now()
  }

  take (): boolean {
    const now = this.#now()
    // a clock that steps back refills nothing rather than draining the bucket
    const elapsed = Math.max(0, now - this.#last)
    this.#last = now
    this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#perSecond / 1000)
    if (this.#tokens < 1) {
      return false
    }
    this.#tokens -= 1
    return true
  }
}

/** The last `capacity` items */
export class RingBuffer<T> {
  readonly #items: T[] = []
  #next = 0
  readonly #capacity: number

  constructor (capacity: number) {
    this.#capacity = capacity
  }

  get size (): number {
    return this.#items.length
  }

  push (item: T): void {
    if (this.#items.length < this.#capacity) {
      this.#items.push(item)
    } else {
      this.#items[this.#next] = item
    }
    this.#next = (this.#next + 1) % this.#capacity
  }

  /** Newest first, at most `limit` */
  newest (limit: number): T[] {
    const out: T[] = []
    const n = Math.min(Math.max(0, Math.floor(limit)), this.#items.length)
    for (let i = 1; i <= n; i++) {
      out.push(this.#items[(this.#next - i + this.#items.length) % this.#items.length])
    }
    return out
  }

  clear (): void {
    this.#items.length = 0
    this.#next = 0
  }
}
