/**
 * The driver's queue of core events, in two lanes: **consensus** (block and
 * election messages, block votes, timers, ticks, catch-up) and **txs** (tx
 * batches, batch votes and certificates, registrations, client requests).
 * Under load thousands of tx events can queue up; a block proposal or an
 * election vote behind them would wait seconds and its round would time out
 * (CometBFT gives consensus its own channels and priorities for the same
 * reason). So the consensus lane goes first, but never more than
 * CONSENSUS_PER_TX events in a row while txs wait: the tx lane always makes
 * progress. Within a lane, events keep their order.
 *
 * Each lane is a FIFO with O(1) push and shift (a plain array's shift is
 * O(n), quadratic over a queue of tens of thousands). The driver bounds the
 * total (MAX_QUEUED_NETWORK_EVENTS, driver.ts).
 */
import type { CoreEvent } from '../../core/consensus/types.js'

/** consensus events stepped for each tx event, when both lanes hold some */
export const CONSENSUS_PER_TX = 4

/** The events of the tx lane; every other kind is consensus. */
export const TX_LANE: ReadonlySet<CoreEvent['type']> = new Set<CoreEvent['type']>([
  'tx-batch',
  'batch-vote',
  'batch-prepare',
  'batch-commit',
  'batch-fetched',
  'account',
  'client-tx',
  'client-account',
])

/** A FIFO with O(1) push and shift: an array and a head index, compacted as it drains. */
class Fifo<T> {
  private items: (T | undefined)[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: T): void {
    this.items.push(item)
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head]
    this.items[this.head++] = undefined
    // compact once the dead prefix is most of the array
    if (this.head > 1_024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}

export class EventLanes {
  private readonly consensus = new Fifo<CoreEvent>()
  private readonly txs = new Fifo<CoreEvent>()
  /** consensus events stepped in a row while txs waited */
  private run = 0

  get length(): number {
    return this.consensus.length + this.txs.length
  }

  push(event: CoreEvent): void {
    if (TX_LANE.has(event.type)) this.txs.push(event)
    else this.consensus.push(event)
  }

  shift(): CoreEvent | undefined {
    if (this.consensus.length > 0 && (this.txs.length === 0 || this.run < CONSENSUS_PER_TX)) {
      if (this.txs.length > 0) this.run++
      return this.consensus.shift()
    }
    this.run = 0
    return this.txs.shift()
  }
}
