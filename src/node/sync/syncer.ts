/**
 * Catching up with the chain (DESIGN §4, the original "history file"): a node
 * that is behind — new, restarted, or cut off for a while — fetches block
 * ranges with their commit certificates over /bftchain/history/1 from several
 * peers at once, and hands them to the core strictly in height order; the core
 * checks each block (certificate of q validators, parent, roots, signatures,
 * state root) before it appends it, in the same atomic batch as always, so a
 * kill -9 at any point loses nothing and a restart simply goes on.
 *
 * Trust no single peer: a range that does not append (a forged block or
 * certificate) costs its peer its connection and a ban, and the range is asked
 * of another; a peer that does not answer in time is penalised and passed
 * over. The syncer never stays stuck: with no peer able to serve, it tells the
 * core to go back to consensus.
 *
 * Who can serve a height: the height a peer last gave in its status (asked every
 * 10 s, so seconds old under load), or a height named for it since
 * (`fetchFrom`: the peer sent the Final of a height whose certificate checked
 * out, and we lack the block). A node that missed one block's proposal so
 * fetches it from the peer that told it the block is final, at once, instead of
 * giving up until the next status. A peer asked on another's word (a relay of
 * the Final) that has nothing to send is passed over for a while, not
 * penalized. A validator's vote of a later height names nothing: most often the
 * voter is a few milliseconds ahead of a node that is finishing that very
 * block, and a fetch would only bring the block twice.
 *
 * It reads neither the wall clock nor the network itself: time and history
 * requests come in through its deps (ChainNode gives it Date.now, setInterval
 * and /bftchain/history/1 over libp2p; the simulation in test/sim gives it its
 * virtual clock and its simulated network), so the simulation runs this very
 * class.
 */
import { EventEmitter } from 'node:events'
import type { FinalizedBlock } from '../../core/codec/index.js'
import { shortPeerId } from '../../core/crypto/peer-id.js'
import type { Logger } from '../log.js'
import type { Reputation } from '../p2p/reputation.js'

export interface SyncProgress {
  /** the height syncing started from */
  from: number
  /** the height it is going to */
  to: number
  /** the head now */
  current: number
  blocksPerSec: number
}

/** Time, as the syncer sees it. */
export interface SyncClock {
  /** milliseconds since the epoch */
  now(): number
  /** run `fn` every `ms` until the returned function is called */
  every(ms: number, fn: () => void): () => void
}

/** What became of a history request: the blocks the peer sent, or why there are none. */
export type HistoryAnswer = { blocks: FinalizedBlock[] } | { failed: string }

/**
 * A sync for the one block after the head it started from: under load mostly a race (a vote of
 * the next height came a few ms before this node finished the block itself), which consensus
 * settles. Its log lines go to debug unless it fetched something, and `start` draws no progress.
 */
export function isOneBlockSync(p: Pick<SyncProgress, 'from' | 'to'>): boolean {
  return p.to <= p.from + 1
}

export interface SyncerDeps {
  clock: SyncClock
  /**
   * Ask `peer` for the final blocks `from`..`to` (/bftchain/history/1). `done` is called once,
   * never from within this call: with the blocks the peer sent, or with why it failed (no
   * answer within `timeoutMs`, a broken stream, bytes that do not decode).
   */
  fetch(
    peer: string,
    from: number,
    to: number,
    timeoutMs: number,
    done: (answer: HistoryAnswer) => void,
  ): void
  reputation: Reputation
  log: Logger
  /** our head height */
  height(): number
  /** chain peers with the height each last reported */
  peers(): { peerId: string; height: number }[]
  /** hand blocks to the core, in height order */
  push(blocks: FinalizedBlock[], from: string): void
  /** cut a lying peer off */
  disconnect(peerId: string): void
  /** tell the core syncing is over (caught up, or nobody can help) */
  done(): void
}

export interface SyncerOptions {
  /** blocks per request */
  rangeSize: number
  /** requests in flight at once, to different peers where there are several */
  parallel: number
  /** a peer that has not answered by then is passed over */
  requestTimeoutMs: number
  /** blocks fetched ahead of the head, at most */
  maxAhead: number
}

export const DEFAULT_SYNC_OPTIONS: SyncerOptions = {
  rangeSize: 128,
  parallel: 4,
  requestTimeoutMs: 15_000,
  maxAhead: 2_048,
}

interface Range {
  from: number
  to: number
}

/**
 * A failed answer: five in a row and the peer is banned (BAN_THRESHOLD). Not two: a timeout
 * or a broken stream may be this node's own doing (a starved event loop), and a syncing node
 * that banned every honest peer for it would stay behind for BAN_MS. A staller is rested
 * meanwhile, so it costs little.
 */
const STALL_PENALTY = 20
const FORGERY_PENALTY = 1_000
const EMPTY_PENALTY = 5
const TICK_MS = 1_000
/** heights named by verified messages (`named`), for this many peers at most: the oldest goes */
const MAX_NAMED_PEERS = 1_024
/** the head has not moved for this long with blocks handed over: hand them over again */
const NO_PROGRESS_MS = 10_000

export interface SyncerEvents {
  progress: [SyncProgress]
  done: [SyncProgress]
}

export class Syncer extends EventEmitter<SyncerEvents> {
  private target = 0
  private running = false
  private stopped = false
  private todo: Range[] = []
  private nextFetch = 0
  /** requests in flight, by start height */
  private readonly inFlight = new Map<number, { peer: string; range: Range }>()
  /**
   * the highest height a verified message named for each peer (see the header), at most
   * MAX_NAMED_PEERS entries, the least recently named dropped first
   */
  private readonly named = new Map<string, number>()
  private readonly buffer = new Map<number, { blocks: FinalizedBlock[]; peer: string }>()
  /** the highest height handed to the core */
  private pushedUpTo = 0
  /** peers passed over until this time */
  private readonly resting = new Map<string, number>()
  private started = { height: 0, at: 0 }
  private lastAdvance = { height: 0, at: 0 }
  private stopTicker: (() => void) | null = null
  private readonly opts: SyncerOptions

  constructor(
    private readonly deps: SyncerDeps,
    opts: Partial<SyncerOptions> = {},
  ) {
    super()
    this.opts = { ...DEFAULT_SYNC_OPTIONS, ...opts }
  }

  /** The chain is at least `height` high (a peer's status, a validator's signed claim). */
  request(height: number, hint: string | null): void {
    if (this.stopped || height <= this.deps.height()) return
    if (height > this.target) this.target = height
    if (!this.running) this.begin(hint)
    else this.pump()
  }

  /**
   * We lack the block of `height`, which `peer` told us is final (its Final's certificate checked
   * out): fetch it, from that peer if no status says another has it.
   */
  fetchFrom(height: number, peer: string | null): void {
    if (this.stopped || height <= this.deps.height()) return
    if (peer != null) this.name(peer, height)
    this.request(height, peer)
  }

  private name(peer: string, height: number): void {
    if (height <= (this.named.get(peer) ?? 0)) return
    this.named.delete(peer)
    this.named.set(peer, height)
    if (this.named.size > MAX_NAMED_PEERS) {
      const oldest = this.named.keys().next().value
      if (oldest != null) this.named.delete(oldest)
    }
  }

  stop(): void {
    this.stopped = true
    this.cancelTicker()
  }

  progress(): SyncProgress | null {
    if (!this.running) return null
    const current = this.deps.height()
    const secs = (this.deps.clock.now() - this.started.at) / 1000
    return {
      from: this.started.height,
      to: this.target,
      current,
      blocksPerSec: secs > 0 ? Math.round(((current - this.started.height) / secs) * 10) / 10 : 0,
    }
  }

  /** A block became final here (from us or from consensus). */
  onApplied(height: number): void {
    if (!this.running) return
    this.lastAdvance = { height, at: this.deps.clock.now() }
    this.emit('progress', this.progress()!)
    this.pump()
  }

  /** The core refused a block a peer sent us. */
  onRejected(height: number, from: string, reason: string): void {
    this.deps.log.warn('a peer sent a block that does not check out; dropping it', {
      peer: shortPeerId(from),
      height,
      reason,
    })
    this.deps.reputation.penalize(from, FORGERY_PENALTY, `history: ${reason}`)
    this.deps.reputation.ban(from)
    this.deps.disconnect(from)
    if (!this.running) return
    // everything that peer sent from there on is suspect: ask someone else
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

  private begin(hint: string | null): void {
    const head = this.deps.height()
    const now = this.deps.clock.now()
    this.running = true
    this.started = { height: head, at: now }
    this.lastAdvance = { height: head, at: now }
    this.pushedUpTo = head
    this.nextFetch = head + 1
    this.todo = []
    this.buffer.clear()
    this.resting.clear()
    this.deps.log[this.short() ? 'debug' : 'info']('syncing', {
      from: head,
      to: this.target,
      peer: hint ? shortPeerId(hint) : undefined,
    })
    this.stopTicker = this.deps.clock.every(TICK_MS, () => this.tick())
    this.pump()
  }

  private finish(): void {
    if (!this.running) return
    const p = this.progress()!
    this.running = false
    this.cancelTicker()
    this.inFlight.clear()
    this.buffer.clear()
    const level = this.short() && p.current === p.from ? 'debug' : 'info'
    this.deps.log[level]('synced', { height: p.current, blocksPerSec: p.blocksPerSec })
    this.emit('done', p)
    this.deps.done()
  }

  /** isOneBlockSync of the sync under way */
  private short(): boolean {
    return isOneBlockSync({ from: this.started.height, to: this.target })
  }

  private cancelTicker(): void {
    this.stopTicker?.()
    this.stopTicker = null
  }

  private tick(): void {
    if (!this.running) return
    const head = this.deps.height()
    const now = this.deps.clock.now()
    if (head > this.lastAdvance.height) this.lastAdvance = { height: head, at: now }
    else if (now - this.lastAdvance.at > NO_PROGRESS_MS && this.pushedUpTo > head) {
      // handed over but never appended (lost, or out of order): fetch them again
      this.deps.log.debug('no progress; fetching again', { head, pushed: this.pushedUpTo })
      this.todo.push({ from: head + 1, to: Math.min(this.target, head + this.opts.rangeSize) })
      this.pushedUpTo = head
      this.lastAdvance = { height: head, at: now }
      this.normalize()
    }
    this.emit('progress', this.progress()!)
    this.pump()
  }

  /** Merge and sort the ranges still to fetch, dropping what is below the head. */
  private normalize(): void {
    const head = this.deps.height()
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
    const from = Math.max(this.nextFetch, this.deps.height() + 1)
    const to = Math.min(this.target, from + this.opts.rangeSize - 1)
    this.nextFetch = to + 1
    return { from, to }
  }

  private pickPeer(range: Range): { peer: string; vouched: boolean } | null {
    const now = this.deps.clock.now()
    const busy = new Map<string, number>()
    for (const { peer } of this.inFlight.values()) busy.set(peer, (busy.get(peer) ?? 0) + 1)
    const able = this.deps
      .peers()
      .map((p) => ({
        ...p,
        height: Math.max(p.height, this.named.get(p.peerId) ?? 0),
        own: p.height,
      }))
      .filter((p) => p.height >= range.from && (this.resting.get(p.peerId) ?? 0) <= now)
      .filter((p) => !this.deps.reputation.isBanned(p.peerId))
      .sort((a, b) => (busy.get(a.peerId) ?? 0) - (busy.get(b.peerId) ?? 0) || b.height - a.height)
    const best = able[0]
    return best == null ? null : { peer: best.peerId, vouched: best.own >= range.from }
  }

  /** Hand over what is next in line, and keep the requests flowing. */
  private pump(): void {
    if (!this.running || this.stopped) return
    const head = this.deps.height()
    if (head >= this.target) {
      this.finish()
      return
    }
    if (this.pushedUpTo < head) this.pushedUpTo = head
    // in height order only
    for (;;) {
      const next = this.buffer.get(this.pushedUpTo + 1)
      if (next == null) break
      this.buffer.delete(this.pushedUpTo + 1)
      this.deps.push(next.blocks, next.peer)
      this.pushedUpTo += next.blocks.length
    }
    for (const start of [...this.buffer.keys()]) if (start <= head) this.buffer.delete(start)

    while (this.inFlight.size < this.opts.parallel) {
      if (this.nextFetch - head > this.opts.maxAhead && this.todo.length === 0) break
      const range = this.nextRange()
      if (range == null) break
      const pick = this.pickPeer(range)
      if (pick == null) {
        this.todo.push(range)
        if (this.inFlight.size === 0 && this.buffer.size === 0 && this.pushedUpTo <= head) {
          // nobody can serve what we need: back to consensus rather than stuck
          this.deps.log[this.short() ? 'debug' : 'warn'](
            'no peer can serve the blocks we lack; giving up for now',
            { head, target: this.target },
          )
          this.target = head
          this.finish()
        }
        break
      }
      this.fetch(pick.peer, range, pick.vouched)
    }
  }

  /**
   * `vouched`: the peer's own status gave a height this high. An empty answer from a peer picked
   * only by a named height is no fault of its (a relay of a Final need not hold the block yet).
   */
  private fetch(peer: string, range: Range, vouched: boolean): void {
    this.inFlight.set(range.from, { peer, range })
    this.deps.fetch(peer, range.from, range.to, this.opts.requestTimeoutMs, (answer) => {
      this.inFlight.delete(range.from)
      this.onAnswer(peer, range, answer, vouched)
    })
  }

  private onAnswer(peer: string, range: Range, answer: HistoryAnswer, vouched: boolean): void {
    if (!this.running) return
    const blocks = 'blocks' in answer ? answer.blocks : []
    const failed = 'failed' in answer ? answer.failed : null
    // the blocks must be the ones asked for, in order
    const inOrder = blocks.every((b, i) => b.block!.header!.height === range.from + i)
    if (failed != null || !inOrder || blocks.length > range.to - range.from + 1) {
      const why = failed ?? 'blocks out of order'
      this.deps.log.debug('history request failed', {
        peer: shortPeerId(peer),
        from: range.from,
        to: range.to,
        why,
      })
      this.deps.reputation.penalize(peer, STALL_PENALTY, `history: ${why}`)
      this.resting.set(peer, this.deps.clock.now() + 5_000)
      this.todo.push(range)
    } else if (blocks.length === 0) {
      // a peer that said it had these heights and sent none pays; one we asked on another's word
      // (a relay of the Final) is only passed over for a while
      if (vouched) this.deps.reputation.penalize(peer, EMPTY_PENALTY, 'history: empty answer')
      this.resting.set(peer, this.deps.clock.now() + 2_000)
      this.todo.push(range)
    } else {
      this.buffer.set(range.from, { blocks, peer })
      const last = range.from + blocks.length - 1
      if (last < range.to) this.todo.push({ from: last + 1, to: range.to })
    }
    this.pump()
  }
}
