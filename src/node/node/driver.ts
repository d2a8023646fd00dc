/**
 * Drives the core (etcd raft's Ready loop): events queue up, are stepped
 * through the core in order, the writes their actions ask for land in one
 * synced batch, and only then do the other actions (messages, replies) go
 * out. Many events share one fsync under load (group commit).
 */

import type { Core } from '../../core/consensus/core.js'
import type { ClientResult, CoreAction, CoreEvent, PersistOp } from '../../core/consensus/types.js'
import type { Logger } from '../log.js'

type Effect = Exclude<CoreAction, { type: 'persist' } | { type: 'client-result' }>

export interface Effects {
  persist(ops: PersistOp[]): Promise<void>
  execute(action: Effect): void
  /** the store failed: the node cannot go on safely */
  fatal(err: Error): void
}

const TICK_MS = 250
const MAX_EVENTS_PER_CYCLE = 2_048

export class CoreDriver {
  private readonly queue: CoreEvent[] = []
  private readonly waiting = new Map<number, (r: ClientResult) => void>()
  private nextRequestId = 1
  private draining = false
  private stopped = false
  private ticker: NodeJS.Timeout | null = null

  constructor(
    private readonly core: Core,
    private readonly effects: Effects,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

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
    this.queue.push(event)
    if (!this.draining) {
      this.draining = true
      setImmediate(() => void this.drain())
    }
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

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const events = this.queue.splice(0, MAX_EVENTS_PER_CYCLE)
        const actions: CoreAction[] = []
        for (const event of events) {
          try {
            for (const a of this.core.step(event)) actions.push(a)
          } catch (err) {
            this.log.error('core step failed', { event: event.type, err })
          }
        }
        const ops: PersistOp[] = []
        for (const a of actions) if (a.type === 'persist') ops.push(...a.ops)
        if (ops.length > 0) {
          try {
            await this.effects.persist(ops)
          } catch (err) {
            // nothing that depends on these writes may go out
            this.effects.fatal(err as Error)
            return
          }
        }
        for (const a of actions) {
          if (a.type === 'persist') continue
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
    } finally {
      this.draining = false
      if (this.queue.length > 0 && !this.stopped) {
        this.draining = true
        setImmediate(() => void this.drain())
      }
    }
  }
}
