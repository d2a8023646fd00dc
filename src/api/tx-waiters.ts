/**
 * Requests held by POST /transactions?wait=committed|final until their tx
 * gets there, times out, or the client goes away. One listener on the node's
 * tx-status events serves them all (a map by tx hash), and their number is
 * bounded: a slot is reserved before the tx is submitted, so a refused
 * request has changed nothing and may simply be sent again.
 */
import type { TxRecord } from '../core/consensus/tx-log.js'
import { reached, type TxStatus } from '../core/consensus/types.js'
import type { ChainNode } from '../node/node/chain-node.js'

/**
 * Requests one node holds at once for ?wait=: 1,000 (each a socket, a timer
 * and a few hundred bytes). Beyond it a request is refused before its tx is
 * submitted: 503 TOO_MANY_WAITING with Retry-After (WAIT_RETRY_AFTER_S).
 * Eviction: none — a waiter leaves when its tx is committed/final/failed,
 * its timeoutMs passes, or its client disconnects. Penalty: none (HTTP
 * clients are not peers; whoever exposes the API fronts it).
 */
export const MAX_WAITING_REQUESTS = 1_000
/** What Retry-After tells a client refused with TOO_MANY_WAITING, in seconds. */
export const WAIT_RETRY_AFTER_S = 5

export { reached }

type WaiterNode = Pick<ChainNode, 'on' | 'off' | 'txRecord'>

interface Waiter {
  wanted: 'committed' | 'final'
  finish: () => void
}

/** A reserved place among the waiting requests: wait at most once, release always. */
export interface WaitSlot {
  /** Resolves with the tx's record once it got to `wanted`, or when timed out or aborted. */
  wait(
    hash: string,
    wanted: 'committed' | 'final',
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<TxRecord | undefined>
  release(): void
}

export class TxWaiters {
  private readonly byHash = new Map<string, Set<Waiter>>()
  private reserved = 0
  private closed = false

  constructor(
    private readonly node: WaiterNode,
    readonly max: number = MAX_WAITING_REQUESTS,
  ) {
    node.on('tx-status', this.onStatus)
  }

  /** Requests holding a slot now. */
  get size(): number {
    return this.reserved
  }

  /** Txs with at least one waiter. */
  get hashes(): number {
    return this.byHash.size
  }

  /** A slot, or null when MAX_WAITING_REQUESTS are held already. */
  reserve(): WaitSlot | null {
    if (this.closed || this.reserved >= this.max) return null
    this.reserved++
    let released = false
    return {
      wait: (hash, wanted, timeoutMs, signal) => this.wait(hash, wanted, timeoutMs, signal),
      release: () => {
        if (released) return
        released = true
        this.reserved--
      },
    }
  }

  /** Answer every waiter with what is known now, and stop listening. */
  close(): void {
    this.closed = true
    this.node.off('tx-status', this.onStatus)
    for (const set of [...this.byHash.values()]) for (const w of [...set]) w.finish()
    this.byHash.clear()
  }

  private wait(
    hash: string,
    wanted: 'committed' | 'final',
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<TxRecord | undefined> {
    const now = this.node.txRecord(hash)
    if (this.closed || signal?.aborted || reached(now?.status, wanted)) return Promise.resolve(now)
    return new Promise((resolve) => {
      let set = this.byHash.get(hash)
      if (set == null) {
        set = new Set()
        this.byHash.set(hash, set)
      }
      const waiters = set
      const waiter: Waiter = {
        wanted,
        finish: () => {
          clearTimeout(timer)
          signal?.removeEventListener('abort', waiter.finish)
          waiters.delete(waiter)
          if (waiters.size === 0 && this.byHash.get(hash) === waiters) this.byHash.delete(hash)
          resolve(this.node.txRecord(hash))
        },
      }
      const timer = setTimeout(waiter.finish, timeoutMs)
      signal?.addEventListener('abort', waiter.finish, { once: true })
      waiters.add(waiter)
    })
  }

  private readonly onStatus = (hash: string, status: TxStatus): void => {
    const set = this.byHash.get(hash)
    if (set == null) return
    for (const w of [...set]) if (reached(status, w.wanted)) w.finish()
  }
}
