/**
 * The simulated network: gossip goes to every other node that is up and on
 * the same side of a partition, a vote to its target, each copy after its
 * own random delay (which reorders them), some dropped, some duplicated.
 * Every message crosses the wire as bytes through the real codecs and each
 * receiver checks it as the node does before its core sees it (the topic
 * validators of consensus/validation.ts, with the receiver's own context;
 * for votes, ChainNode.onVote's voter and signature checks), so no object
 * is ever shared between nodes. What a receiver IGNOREs (a stale height) is
 * dropped; what it REJECTs never reaches a core and, coming from an honest
 * node, is a bug reported to the host.
 */
import { verifyVote } from '../../src/core/chain/signatures.js'
import {
  AccountRegistrationCodec,
  BlockSyncMessageCodec,
  CommitCodec,
  DecodeError,
  ElectionMessageCodec,
  PrePrepareCodec,
  PrepareCodec,
  type Vote,
  VoteCodec,
} from '../../src/core/codec/index.js'
import type { CoreEvent, Publish } from '../../src/core/consensus/types.js'
import {
  type ValidationContext,
  ValidationError,
  validateAccount,
  validateBlockSync,
  validateCommit,
  validateElection,
  validatePrePrepare,
  validatePrepare,
} from '../../src/core/consensus/validation.js'
import { peerIdToString } from '../../src/core/crypto/peer-id.js'
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

  publish(from: number, p: Publish): void {
    this.stats.gossipSent++
    const bytes = encode(p)
    const sender = this.host.peerId(from)
    for (let to = 0; to < this.size; to++) {
      if (to === from || !this.connected(from, to)) continue
      if (this.adversary?.(from, to, p)) {
        this.stats.cut++
        continue
      }
      const epoch = this.host.epoch(to)
      for (let c = this.copies(); c > 0; c--) {
        this.host.clock.schedule(this.host.clock.now + this.delay(), to, `gossip:${p.topic}`, () =>
          this.arrive(from, to, epoch, p.topic, bytes, sender),
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
    try {
      event = inbound(topic, bytes, sender)
      validate(this.host.validation(to), topic, event)
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
    this.host.deliver(to, epoch, event, `${topic} from n${from}`)
  }

  // ---------------------------------------------------------------- votes

  sendVote(from: number, toPeer: string, vote: Vote): void {
    this.stats.votesSent++
    const to = this.host.indexOf(toPeer)
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
      if (peerIdToString(v.voter) !== sender) why = 'a vote must come from its voter'
      else if (!ctx.validators.has(sender)) why = 'not a validator'
      else if (!verifyVote(ctx.chainId, v)) why = 'bad signature'
    } catch (err) {
      why = (err as Error).message
    }
    if (why != null) {
      this.host.refused(from, 'vote', why)
      return
    }
    if (!this.connected(from, to)) return
    const epoch = this.host.epoch(to)
    for (let c = this.copies(); c > 0; c--) {
      this.host.clock.schedule(this.host.clock.now + this.delay(), to, 'vote', () => {
        if (!this.connected(from, to)) {
          this.stats.cut++
          return
        }
        this.host.deliver(
          to,
          epoch,
          { type: 'vote', vote: VoteCodec.decode(bytes), from: sender },
          `vote from n${from}`,
        )
      })
    }
  }
}

// ------------------------------------------------------------------ the wire

function encode(p: Publish): Uint8Array {
  switch (p.topic) {
    case 'tx':
      return PrePrepareCodec.encode(p.message)
    case 'prepare':
      return PrepareCodec.encode(p.message)
    case 'commit':
      return CommitCodec.encode(p.message)
    case 'accounts':
      return AccountRegistrationCodec.encode(p.message)
    case 'election':
      return ElectionMessageCodec.encode(p.message)
    case 'block-sync':
      return BlockSyncMessageCodec.encode(p.message)
  }
}

/** A fresh decoded copy of a gossip message, as the receiving node's event. */
function inbound(topic: Topic, bytes: Uint8Array, from: string): Inbound {
  switch (topic) {
    case 'tx':
      return { type: 'pre-prepare', msg: PrePrepareCodec.decode(bytes), from }
    case 'prepare':
      return { type: 'prepare', msg: PrepareCodec.decode(bytes), from }
    case 'commit':
      return { type: 'commit', msg: CommitCodec.decode(bytes), from }
    case 'accounts':
      return { type: 'account', reg: AccountRegistrationCodec.decode(bytes), from }
    case 'election':
      return { type: 'election', msg: ElectionMessageCodec.decode(bytes), from }
    case 'block-sync':
      return { type: 'block-sync', msg: BlockSyncMessageCodec.decode(bytes), from }
  }
}

/** The topic validator of ingress.ts, run with the receiving node's context. */
function validate(ctx: ValidationContext, topic: Topic, e: Inbound): void {
  switch (e.type) {
    case 'pre-prepare':
      validatePrePrepare(ctx, e.msg)
      break
    case 'prepare':
      validatePrepare(ctx, e.msg)
      break
    case 'commit':
      validateCommit(ctx, e.msg)
      break
    case 'account':
      validateAccount(ctx, e.reg)
      break
    case 'election':
      validateElection(ctx, e.msg)
      break
    case 'block-sync':
      validateBlockSync(ctx, e.msg)
      break
    default:
      throw new Error(`no validator for ${topic}`)
  }
}
