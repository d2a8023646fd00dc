/**
 * Drives the core (etcd raft's Ready loop, with asynchronous storage
 * writes): events queue up and are stepped through the core in order (in
 * two lanes: consensus before txs, txs never starved; event-lanes.ts); the
 * writes their actions ask for go to disk in synced batches, one after the
 * other; and the other actions of a cycle (messages, replies) go out only
 * once that cycle's writes — and every earlier one — are on disk. The core
 * keeps stepping while a write is in flight, so a slow fsync delays what
 * depends on it, never the processing of what comes next; under load many
 * cycles share one fsync (group commit).
 */
import type { Core } from '../../core/consensus/core.js'
import type { ClientResult, CoreAction, CoreEvent, PersistOp } from '../../core/consensus/types.js'
import type { Logger } from '../log.js'
import { EventLanes } from './event-lanes.js'

type Effect = Exclude<CoreAction, { type: 'persist' }>

export interface Effects {
  persist(ops: PersistOp[]): Promise<void>
  execute(action: Exclude<Effect, { type: 'client-result' }>): void
  /** the store failed: the node cannot go on safely */
  fatal(err: Error): void
}

const TICK_MS = 250
const MAX_EVENTS_PER_CYCLE = 2_048
/** a core cycle (stepping, not writing) this long stalls everything behind it: say so */
const SLOW_STEP_MS = 100
const SLOW_WRITE_MS = 1_000

/**
 * Bound of the driver's event queue for what the network feeds it: while the
 * queue holds this many events (of any kind), a further network-fed event
 * (NETWORK_EVENT_TYPES) is dropped, as if the message were lost — which the
 * protocol tolerates (rounds time out, votes are re-announced, blocks come
 * from history). About 50,000 events, a few tens of MB at most. Eviction:
 * none (the newest network event is the one dropped; nothing queued is
 * removed). Penalty: none — the queue is shared by every peer and the
 * senders were already rate limited and validated at the gossip and
 * request/response edge, so a drop says nothing about any one peer.
 * Client requests, timers, ticks, fetched blocks and sync-done are always
 * queued: they are bounded where they come from (HTTP limits, the core's
 * timers, the syncer's window).
 */
export const MAX_QUEUED_NETWORK_EVENTS = 50_000
/** log a warning about dropped network events at most this often */
const DROP_WARN_EVERY_MS = 5_000

/** The events that come from peers, which a full queue drops. */
export const NETWORK_EVENT_TYPES: ReadonlySet<CoreEvent['type']> = new Set<CoreEvent['type']>([
  'tx-batch',
  'batch-prepare',
  'batch-commit',
  'vote',
  'batch-vote',
  'account',
  'election',
  'block-sync',
  'batch-fetched',
  'height-claim',
  'peer-height',
])

export interface CoreDriverOptions {
  /** default MAX_QUEUED_NETWORK_EVENTS */
  maxQueuedNetworkEvents?: number
}

export class CoreDriver {
  /** consensus first, txs never starved (event-lanes.ts) */
  private readonly queue = new EventLanes()
  private readonly waiting = new Map<number, (r: ClientResult) => void>()
  private nextRequestId = 1
  private stepping = false
  private stopped = false
  private failed = false
  private ticker: NodeJS.Timeout | null = null
  /** writes not yet started, and the effects that wait for them, in order */
  private pendingOps: PersistOp[] = []
  private pendingEffects: Effect[] = []
  /** effects stepped while a write was in flight: released after the writes before them */
  private writing = false
  private readonly maxQueuedNetworkEvents: number
  /** network events dropped because the queue was full, since start */
  private dropped = 0
  /** drops not yet reported in a warning, and when the last warning was */
  private unreportedDrops = 0
  private lastDropWarnAt = Number.NEGATIVE_INFINITY

  constructor(
    private readonly core: Core,
    private readonly effects: Effects,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    options: CoreDriverOptions = {},
  ) {
    this.maxQueuedNetworkEvents = options.maxQueuedNetworkEvents ?? MAX_QUEUED_NETWORK_EVENTS
  }

  /** Network events dropped because the queue was full (MAX_QUEUED_NETWORK_EVENTS), since start. */
  get droppedNetworkEvents(): number {
    return this.dropped
  }

  /** Events waiting to be stepped. */
  get queued(): number {
    return this.queue.length
  }

  start(): void {
    this.ticker = setInterval(() => this.push({ type: 'tick', now: this.now() }), TICK_MS)
    this.ticker.unref()
  }

  stop(): void {
    this.stopped = true
    if (this.ticker) clearInterval(this.ticker)
    for (const resolve of this.waiting.values()) {
      resolve({
        ok: false,
        code: 'SHUTTING_DOWN',
        message: 'the node is stopping',
        httpStatus: 503,
      })
    }
    this.waiting.clear()
  }

  push(event: CoreEvent): void {
    if (this.stopped) return
    if (this.queue.length >= this.maxQueuedNetworkEvents && NETWORK_EVENT_TYPES.has(event.type)) {
      this.drop(event)
      return
    }
    this.queue.push(event)
    if (!this.stepping) {
      this.stepping = true
      setImmediate(() => this.step())
    }
  }

  /** A full queue drops a network event: count it, and say so now and then. */
  private drop(event: CoreEvent): void {
    this.dropped++
    this.unreportedDrops++
    const now = this.now()
    if (now - this.lastDropWarnAt < DROP_WARN_EVERY_MS) return
    this.log.warn('core event queue full; dropping network events', {
      dropped: this.unreportedDrops,
      total: this.dropped,
      queued: this.queue.length,
      last: event.type,
    })
    this.unreportedDrops = 0
    this.lastDropWarnAt = now
  }

  /** A client request: resolves with the core's answer, after what it wrote is on disk. */
  request(make: (requestId: number, now: number) => CoreEvent): Promise<ClientResult> {
    if (this.stopped) {
      return Promise.resolve({
        ok: false,
        code: 'SHUTTING_DOWN',
        message: 'the node is stopping',
        httpStatus: 503,
      })
    }
    const id = this.nextRequestId++
    return new Promise((resolve) => {
      this.waiting.set(id, resolve)
      this.push(make(id, this.now()))
    })
  }

  /** Step every queued event through the core; queue their writes and effects. */
  private step(): void {
    this.stepping = false
    if (this.stopped || this.failed) return
    const started = performance.now()
    let stepped = 0
    while (this.queue.length > 0 && stepped < MAX_EVENTS_PER_CYCLE) {
      const event = this.queue.shift()!
      stepped++
      let actions: CoreAction[]
      try {
        actions = this.core.step(event)
      } catch (err) {
        this.log.error('core step failed', { event: event.type, err })
        continue
      }
      for (const a of actions) {
        if (a.type === 'persist') this.pendingOps.push(...a.ops)
        else this.pendingEffects.push(a)
      }
    }
    const ms = performance.now() - started
    if (ms > SLOW_STEP_MS)
      this.log.warn('slow core cycle', {
        events: stepped,
        ms: Math.round(ms),
        queued: this.queue.length,
      })
    this.flush()
    if (this.queue.length > 0 && !this.stepping) {
      this.stepping = true
      setImmediate(() => this.step())
    }
  }

  /** Write what is pending (one write at a time), then release the effects that waited for it. */
  private flush(): void {
    if (this.writing || this.failed) return
    const effects = this.pendingEffects
    this.pendingEffects = []
    if (this.pendingOps.length === 0) {
      this.release(effects)
      return
    }
    const ops = this.pendingOps
    this.pendingOps = []
    this.writing = true
    const started = performance.now()
    this.effects.persist(ops).then(
      () => {
        const ms = performance.now() - started
        if (ms > SLOW_WRITE_MS)
          this.log.warn('slow store write', { ops: ops.length, ms: Math.round(ms) })
        this.writing = false
        this.release(effects)
        // what was stepped meanwhile: its writes next, its effects after them
        this.flush()
      },
      (err: Error) => {
        // nothing that depends on these writes may go out
        this.failed = true
        this.effects.fatal(err)
      },
    )
  }

  private release(effects: Effect[]): void {
    if (this.stopped) return
    for (const a of effects) {
      if (a.type === 'client-result') {
        this.waiting.get(a.requestId)?.(a.result)
        this.waiting.delete(a.requestId)
        continue
      }
      try {
        this.effects.execute(a)
      } catch (err) {
        this.log.error('action failed', { action: a.type, err })
      }
    }
  }
}
