/**
 * The shell's catch-up (src/node/sync/syncer.ts) on the virtual clock: the
 * same ranges, requests in flight to different peers at once, blocks handed
 * to the core strictly in height order, peers rested when they fail or have
 * nothing, a refetch when the head stops moving, and `sync-done` when the
 * head reaches the target or no peer can serve what is missing. The real
 * Syncer reads Date.now and setInterval, so the simulation keeps this model
 * of it, one per node life; its options are the real defaults.
 *
 * Everything it does to the node (blocks to apply, `sync-done`) is handed
 * back as work scheduled on the clock, as the real driver queues events, so
 * the core is never stepped from inside one of its own steps.
 */
import { DEFAULT_SYNC_OPTIONS, type SyncerOptions } from '../../src/node/sync/syncer.js'
import type { VirtualClock } from './clock.js'

export interface SyncHost {
  readonly clock: VirtualClock
  /** the node's head height */
  height(): number
  /** its chain peers (connected, not banned) with the height each last reported */
  peers(): { peer: number; height: number }[]
  /** a history request: `done` gets the block bytes, or null when it failed (after its timeout) */
  request(
    peer: number,
    from: number,
    to: number,
    timeoutMs: number,
    done: (blocks: Uint8Array[] | null) => void,
  ): void
  /** hand blocks to the core, in height order */
  push(blocks: Uint8Array[], peer: number): void
  /** cut a peer off (it sent a block that does not check out) */
  ban(peer: number): void
  /** tell the core syncing is over */
  done(): void
}

interface Range {
  from: number
  to: number
}

const TICK_MS = 1_000
const NO_PROGRESS_MS = 10_000
const FAILED_REST_MS = 5_000
const EMPTY_REST_MS = 2_000

export class SimSyncer {
  private target = 0
  private running = false
  /** the node's life ended: nothing more happens */
  dead = false
  private todo: Range[] = []
  private nextFetch = 0
  private readonly inFlight = new Map<number, { peer: number; range: Range }>()
  private readonly buffer = new Map<number, { blocks: Uint8Array[]; peer: number }>()
  private pushedUpTo = 0
  private readonly resting = new Map<number, number>()
  private lastAdvance = { height: 0, at: 0 }
  private tickToken = 0
  readonly opts: SyncerOptions

  constructor(
    private readonly host: SyncHost,
    opts: Partial<SyncerOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SYNC_OPTIONS, ...opts }
  }

  get syncing(): boolean {
    return this.running
  }

  /** The chain is at least `height` high. */
  request(height: number): void {
    if (this.dead || height <= this.host.height()) return
    if (height > this.target) this.target = height
    if (!this.running) this.begin()
    else this.pump()
  }

  /** A block became final here. */
  onApplied(height: number): void {
    if (!this.running || this.dead) return
    this.lastAdvance = { height, at: this.host.clock.now }
    this.pump()
  }

  /** The core refused a block `from` sent: ban it, fetch that range again elsewhere. */
  onRejected(height: number, from: number): void {
    if (this.dead) return
    this.host.ban(from)
    if (!this.running) return
    for (const [start, entry] of this.buffer) {
      if (entry.peer === from) {
        this.buffer.delete(start)
        this.todo.push({ from: start, to: start + entry.blocks.length - 1 })
      }
    }
    this.pushedUpTo = Math.min(this.pushedUpTo, height - 1)
    this.todo.push({ from: height, to: Math.min(this.target, height + this.opts.rangeSize - 1) })
    this.normalize()
    this.pump()
  }

  private begin(): void {
    const head = this.host.height()
    const now = this.host.clock.now
    this.running = true
    this.lastAdvance = { height: head, at: now }
    this.pushedUpTo = head
    this.nextFetch = head + 1
    this.todo = []
    this.buffer.clear()
    this.resting.clear()
    const token = ++this.tickToken
    const tick = (): void => {
      if (this.dead || token !== this.tickToken || !this.running) return
      this.tick()
      this.host.clock.schedule(this.host.clock.now + TICK_MS, -1, 'sync:tick', tick)
    }
    this.host.clock.schedule(now + TICK_MS, -1, 'sync:tick', tick)
    this.pump()
  }

  private finish(): void {
    if (!this.running) return
    this.running = false
    this.tickToken++
    this.inFlight.clear()
    this.buffer.clear()
    this.host.done()
  }

  private tick(): void {
    const head = this.host.height()
    const now = this.host.clock.now
    if (head > this.lastAdvance.height) this.lastAdvance = { height: head, at: now }
    else if (now - this.lastAdvance.at > NO_PROGRESS_MS && this.pushedUpTo > head) {
      // handed over but never appended: fetch them again
      this.todo.push({ from: head + 1, to: Math.min(this.target, head + this.opts.rangeSize) })
      this.pushedUpTo = head
      this.lastAdvance = { height: head, at: now }
      this.normalize()
    }
    this.pump()
  }

  private normalize(): void {
    const head = this.host.height()
    this.todo = this.todo
      .map((r) => ({ from: Math.max(r.from, head + 1), to: r.to }))
      .filter((r) => r.from <= r.to)
      .sort((a, b) => a.from - b.from)
  }

  private nextRange(): Range | null {
    this.normalize()
    const queued = this.todo.shift()
    if (queued) return queued
    if (this.nextFetch > this.target) return null
    const from = Math.max(this.nextFetch, this.host.height() + 1)
    const to = Math.min(this.target, from + this.opts.rangeSize - 1)
    this.nextFetch = to + 1
    return { from, to }
  }

  private pickPeer(range: Range): number | null {
    const now = this.host.clock.now
    const busy = new Map<number, number>()
    for (const { peer } of this.inFlight.values()) busy.set(peer, (busy.get(peer) ?? 0) + 1)
    const able = this.host
      .peers()
      .filter((p) => p.height >= range.from && (this.resting.get(p.peer) ?? 0) <= now)
      .sort((a, b) => (busy.get(a.peer) ?? 0) - (busy.get(b.peer) ?? 0) || b.height - a.height)
    return able[0]?.peer ?? null
  }

  private pump(): void {
    if (!this.running || this.dead) return
    const head = this.host.height()
    if (head >= this.target) {
      this.finish()
      return
    }
    if (this.pushedUpTo < head) this.pushedUpTo = head
    for (;;) {
      const next = this.buffer.get(this.pushedUpTo + 1)
      if (next == null) break
      this.buffer.delete(this.pushedUpTo + 1)
      this.host.push(next.blocks, next.peer)
      this.pushedUpTo += next.blocks.length
    }
    for (const start of [...this.buffer.keys()]) if (start <= head) this.buffer.delete(start)

    while (this.inFlight.size < this.opts.parallel) {
      if (this.nextFetch - head > this.opts.maxAhead && this.todo.length === 0) break
      const range = this.nextRange()
      if (range == null) break
      const peer = this.pickPeer(range)
      if (peer == null) {
        this.todo.push(range)
        if (this.inFlight.size === 0 && this.buffer.size === 0 && this.pushedUpTo <= head) {
          // nobody can serve what we need: back to consensus rather than stuck
          this.target = head
          this.finish()
        }
        break
      }
      this.fetch(peer, range)
    }
  }

  private fetch(peer: number, range: Range): void {
    this.inFlight.set(range.from, { peer, range })
    this.host.request(peer, range.from, range.to, this.opts.requestTimeoutMs, (blocks) => {
      this.inFlight.delete(range.from)
      if (!this.running || this.dead) return
      const now = this.host.clock.now
      if (blocks == null || blocks.length > range.to - range.from + 1) {
        this.resting.set(peer, now + FAILED_REST_MS)
        this.todo.push(range)
      } else if (blocks.length === 0) {
        this.resting.set(peer, now + EMPTY_REST_MS)
        this.todo.push(range)
      } else {
        this.buffer.set(range.from, { blocks, peer })
        const last = range.from + blocks.length - 1
        if (last < range.to) this.todo.push({ from: last + 1, to: range.to })
      }
      this.pump()
    })
  }
}
