/**
 * The simulated network: gossip goes to every other node that is up and on
 * the same side of a partition, a vote to its target, each copy after its
 * own random delay (which reorders them), some dropped, some duplicated.
 * Every message crosses the wire as bytes through the real codecs and each
 * receiver checks it as the node does before its core sees it (the node's
 * own gossip handlers of node/ingress.ts, with the receiver's context;
 * for votes, ChainNode.onVote's voter and signature checks), so no object
 * is ever shared between nodes. What a receiver IGNOREs (a stale height) is
 * dropped; what it REJECTs never reaches a core and, coming from an honest
 * node, is a bug reported to the host.
 */
import { verifyBatchVote, verifyVote } from '../../src/core/chain/signatures.js'
import {
  type BatchVote,
  BatchVoteCodec,
  DecodeError,
  Phase,
  type Vote,
  VoteCodec,
  type WireCodec,
} from '../../src/core/codec/index.js'
import type { CoreEvent, Publish } from '../../src/core/consensus/types.js'
import { type ValidationContext, ValidationError } from '../../src/core/consensus/validation.js'
import { peerIdToString } from '../../src/core/crypto/peer-id.js'
import {
  coreEventOf,
  type GossipEvent,
  ingressHandlers,
  type TopicHandlers,
} from '../../src/node/node/ingress.js'
import type { GossipHandler } from '../../src/node/p2p/gossip.js'
import type { VirtualClock } from './clock.js'
import type { Rng } from './rng.js'

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** A core event without its time: the receiving node stamps it on delivery. */
export type Inbound = DistributiveOmit<CoreEvent, 'now'>

export type Topic = Publish['topic']

export interface NetworkHost {
  readonly clock: VirtualClock
  /** the peer id of node i */
  peerId(i: number): string
  indexOf(peerId: string): number
  /** the node a direct message from `from` to `peerId` reaches (twins share a peer id) */
  route(from: number, peerId: string): number
  /** a node whose wire faults are its own (the refusal is no violation) and who keeps what it hears */
  isByzantine(i: number): boolean
  /** a gossip message a Byzantine node heard (its replays draw on them) */
  heard?(i: number, p: Publish): void
  isUp(i: number): boolean
  /** changes on every restart: messages sent to an earlier life are lost */
  epoch(i: number): number
  /** how node i's gossip gate validates (ingress.ts): its validator set, its height */
  validation(i: number): ValidationContext
  deliver(to: number, epoch: number, event: Inbound, label: string): void
  /** an honest node put on the wire something the wire or its receivers refuse */
  refused(from: number, what: string, why: string): void
}

export interface LinkFaults {
  dropRate: number
  dupRate: number
  minDelayMs: number
  maxDelayMs: number
}

/** Decides to drop one copy of a gossip message, beyond the random drops (a scheduling adversary). */
export type Adversary = (from: number, to: number, publish: Publish) => boolean

export interface NetworkStats {
  gossipSent: number
  gossipDelivered: number
  votesSent: number
  dropped: number
  duplicated: number
  cut: number
  ignored: number
}

export class Network {
  /** each node's gossip gate (ingress.ts), by the validation context it was made with */
  private readonly gates = new WeakMap<ValidationContext, TopicHandlers>()
  /** the side of the partition each node is on; null: no partition */
  private sides: number[] | null = null
  adversary: Adversary | null = null
  readonly stats: NetworkStats = {
    gossipSent: 0,
    gossipDelivered: 0,
    votesSent: 0,
    dropped: 0,
    duplicated: 0,
    cut: 0,
    ignored: 0,
  }

  constructor(
    private readonly host: NetworkHost,
    private readonly rng: Rng,
    readonly faults: LinkFaults,
    private readonly size: number,
  ) {}

  // ---------------------------------------------------------------- partitions

  partition(sides: number[]): void {
    this.sides = [...sides]
  }

  heal(): void {
    this.sides = null
  }

  get partitioned(): boolean {
    return this.sides != null
  }

  describePartition(): string {
    if (this.sides == null) return 'none'
    const groups = new Map<number, number[]>()
    this.sides.forEach((s, i) => {
      groups.set(s, [...(groups.get(s) ?? []), i])
    })
    return [...groups.values()].map((g) => `{${g.map((i) => `n${i}`).join(',')}}`).join(' | ')
  }

  /** Can `a` and `b` talk now? Both up, and on one side. */
  connected(a: number, b: number): boolean {
    if (!this.host.isUp(a) || !this.host.isUp(b)) return false
    return this.sides == null || this.sides[a] === this.sides[b]
  }

  /** The nodes `a` is connected to. */
  peersOf(a: number): number[] {
    const out: number[] = []
    for (let b = 0; b < this.size; b++) if (b !== a && this.connected(a, b)) out.push(b)
    return out
  }

  delay(): number {
    return this.rng.int(this.faults.minDelayMs, this.faults.maxDelayMs + 1)
  }

  /** One direct request: does it get through (and its answer back)? */
  requestGetsThrough(a: number, b: number): boolean {
    if (!this.connected(a, b)) return false
    if (this.rng.chance(this.faults.dropRate)) {
      this.stats.dropped++
      return false
    }
    return true
  }

  /** Copies of one message on one link: none (dropped), one, or two (duplicated). */
  private copies(): number {
    if (this.rng.chance(this.faults.dropRate)) {
      this.stats.dropped++
      return 0
    }
    if (this.rng.chance(this.faults.dupRate)) {
      this.stats.duplicated++
      return 2
    }
    return 1
  }

  // ---------------------------------------------------------------- gossip

  private ingress(i: number): TopicHandlers {
    const ctx = this.host.validation(i)
    let gate = this.gates.get(ctx)
    if (gate == null) {
      // accepted messages come back from arrive(), not through the handlers' deliver
      gate = ingressHandlers(ctx, () => {})
      this.gates.set(ctx, gate)
    }
    return gate
  }

  /** Gossip from `from` to every connected node (or those `only` picks: a Byzantine sender's choice). */
  publish(from: number, p: Publish, only?: (to: number) => boolean): void {
    // every handler table has the same codecs: any node's will do
    const bytes = (this.ingress(from)[p.topic].codec as WireCodec<unknown>).encode(p.message)
    this.publishBytes(from, p.topic, bytes, only, p)
  }

  /** Bytes on a topic, whatever they hold (a garbage sender's). */
  publishBytes(
    from: number,
    topic: Topic,
    bytes: Uint8Array,
    only?: (to: number) => boolean,
    p?: Publish,
  ): void {
    this.stats.gossipSent++
    const sender = this.host.peerId(from)
    for (let to = 0; to < this.size; to++) {
      if (to === from || !this.connected(from, to)) continue
      if (only != null && !only(to)) continue
      if (p != null && this.adversary?.(from, to, p)) {
        this.stats.cut++
        continue
      }
      const epoch = this.host.epoch(to)
      for (let c = this.copies(); c > 0; c--) {
        this.host.clock.schedule(this.host.clock.now + this.delay(), to, `gossip:${topic}`, () =>
          this.arrive(from, to, epoch, topic, bytes, sender),
        )
      }
    }
  }

  /** A gossip message reaches `to`: its gossip gate decodes and validates it, then its core gets it. */
  private arrive(
    from: number,
    to: number,
    epoch: number,
    topic: Topic,
    bytes: Uint8Array,
    sender: string,
  ): void {
    if (!this.connected(from, to)) {
      this.stats.cut++
      return
    }
    if (this.host.epoch(to) !== epoch) return
    let event: Inbound
    let message: unknown
    try {
      // the receiver's gossip gate, as ChainNode wires it: decode, validate, make the core event
      const handler = this.ingress(to)[topic] as GossipHandler<unknown>
      message = handler.codec.decode(bytes)
      handler.validate(message, sender)
      event = coreEventOf({ topic, message, from: sender } as GossipEvent, 0)
    } catch (err) {
      if (err instanceof ValidationError && err.action === 'ignore') {
        this.stats.ignored++
        return
      }
      if (err instanceof ValidationError || err instanceof DecodeError) {
        this.host.refused(from, `gossip ${topic} (at n${to})`, err.message)
        return
      }
      throw err
    }
    this.stats.gossipDelivered++
    if (this.host.isByzantine(to))
      this.host.heard?.(to, { type: 'publish', topic, message } as Publish)
    this.host.deliver(to, epoch, event, `${topic} from n${from}`)
  }

  // ---------------------------------------------------------------- votes

  /** A batch vote to its target, with the checks ChainNode.onBatchVote makes. */
  sendBatchVote(from: number, toPeer: string, vote: BatchVote): void {
    this.stats.votesSent++
    const to = this.host.route(from, toPeer)
    if (to === from) {
      this.host.refused(from, 'batch vote', 'sent to itself')
      return
    }
    const bytes = BatchVoteCodec.encode(vote)
    const sender = this.host.peerId(from)
    const ctx = this.host.validation(to)
    let why: string | null = null
    try {
      const v = BatchVoteCodec.decode(bytes)
      if (peerIdToString(v.voter) !== sender) why = 'a vote must come from its voter'
      else if (!ctx.validators.has(sender)) why = 'not a validator'
      else if (!verifyBatchVote(ctx.chainId, v)) why = 'bad signature'
    } catch (err) {
      why = (err as Error).message
    }
    this.direct(from, to, why, 'batch vote', () => ({
      type: 'batch-vote',
      vote: BatchVoteCodec.decode(bytes),
      from: sender,
    }))
  }

  sendVote(from: number, toPeer: string, vote: Vote): void {
    this.stats.votesSent++
    const to = this.host.route(from, toPeer)
    if (to === from) {
      this.host.refused(from, 'vote', 'sent to itself')
      return
    }
    const bytes = VoteCodec.encode(vote)
    const sender = this.host.peerId(from)
    // what ChainNode.onVote checks; the same verdict at any receiver, so once
    const ctx = this.host.validation(to)
    let why: string | null = null
    try {
      const v = VoteCodec.decode(bytes)
      const blockPhase = v.phase === Phase.BLOCK_PERMIT || v.phase === Phase.BLOCK_COMMIT
      if (peerIdToString(v.voter) !== sender) why = 'a vote must come from its voter'
      else if (!ctx.validators.has(sender)) why = 'not a validator'
      else if (!blockPhase) why = 'tx votes are batch votes'
      else if (!verifyVote(ctx.chainId, v)) why = 'bad signature'
    } catch (err) {
      why = (err as Error).message
    }
    this.direct(from, to, why, 'vote', () => ({
      type: 'vote',
      vote: VoteCodec.decode(bytes),
      from: sender,
    }))
  }

  /**
   * A direct message (/bftchain/vote/1) the receiver checked: refused with `why`, or delivered,
   * in as many copies as the faults draw, each decoded afresh (nothing shared with the sender).
   */
  private direct(
    from: number,
    to: number,
    why: string | null,
    what: 'vote' | 'batch vote',
    event: () => Inbound,
  ): void {
    if (why != null) {
      this.host.refused(from, what, why)
      return
    }
    if (!this.connected(from, to)) return
    const epoch = this.host.epoch(to)
    const kind = what === 'vote' ? 'vote' : 'batch-vote'
    for (let c = this.copies(); c > 0; c--) {
      this.host.clock.schedule(this.host.clock.now + this.delay(), to, kind, () => {
        if (!this.connected(from, to)) {
          this.stats.cut++
          return
        }
        this.host.deliver(to, epoch, event(), `${what} from n${from}`)
      })
    }
  }
}
