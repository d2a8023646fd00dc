/**
 * Byzantine validators for the simulation. A Byzantine node runs the honest
 * core (so it knows the protocol's state: its height, its round, when it
 * leads) and holds its own key; its strategies rewrite what the core sends
 * and inject messages of their own, each signed with that key. Strategies
 * compose: a node may be an election capturer and a height liar at once.
 *
 *   silent        sends nothing (it still receives)
 *   equivocate    as leader, proposes different blocks to different validators
 *   double-vote   signs a second, conflicting answer to every block and election question
 *   capture       asks to lead at once in every height, votes for itself ahead of time in
 *                 later rounds, and proposes nothing when elected
 *   flood         as leader, publishes many distinct valid proposals in its round
 *   height-lie    claims a far-future head in its status and signs election messages for
 *                 far-future heights
 *   poison        signs its batch votes for the right batch with another size, and its block votes
 *                 for a round it is not in
 *   replay        re-publishes old messages it heard, block-sync ones with new relay values
 *   garbage       publishes random bytes on every topic and forged votes
 *
 * Twins (two honest nodes with one key) are not a strategy here: the
 * simulation builds them as two nodes (simulation.ts).
 *
 * The same class drives a real attacking process (test/support/attacker.ts):
 * its host is then a ChainNode on the project's own libp2p stack.
 */
import { blockHash } from '../../src/core/chain/block.js'
import {
  signBatchVote,
  signBlockPrepare,
  signElectionRequest,
  signElectionVote,
  signVote,
} from '../../src/core/chain/signatures.js'
import {
  type BatchVote,
  type BlockPrepare,
  type BlockSyncMessage,
  Phase,
  RejectReason,
  type Vote,
  VoteResult,
} from '../../src/core/codec/index.js'
import type { Core } from '../../src/core/consensus/core.js'
import type { CoreAction, Publish } from '../../src/core/consensus/types.js'
import type { Signer } from '../../src/core/crypto/keys.js'
import { peerIdFromString } from '../../src/core/crypto/peer-id.js'
import { executeBlock } from '../../src/core/state/execute.js'
import type { Topic } from './network.js'
import type { Rng } from './rng.js'

export const STRATEGIES = [
  'silent',
  'equivocate',
  'double-vote',
  'capture',
  'flood',
  'height-lie',
  'poison',
  'replay',
  'garbage',
] as const
export type Strategy = (typeof STRATEGIES)[number]

export function isStrategy(s: string): s is Strategy {
  return (STRATEGIES as readonly string[]).includes(s)
}

const TOPICS: Topic[] = ['tx', 'prepare', 'commit', 'block-sync', 'accounts', 'election']
/** how far ahead a height liar claims to be */
export const LIE_AHEAD = 1_000_000
const FLOOD_PROPOSALS = 24
const REPLAY_KEEP = 256

export interface AdversaryHost {
  readonly chainId: string
  /** the validators' peer ids, in genesis order */
  readonly validatorIds: readonly string[]
  core(i: number): Core | null
  /** gossip from `from`, to every connected node (or those `to` picks) */
  publish(from: number, p: Publish, to?: (i: number) => boolean): void
  /** raw bytes on a topic: what no codec would make */
  publishBytes(from: number, topic: Topic, bytes: Uint8Array): void
  sendVote(from: number, toPeer: string, vote: Vote): void
  sendBatchVote(from: number, toPeer: string, vote: BatchVote): void
  trace(node: number, line: string): void
}

export class Adversary {
  readonly stats: Record<string, number> = {}
  private readonly heardLog: Publish[] = []
  private readonly self: Uint8Array
  private capturedHeight = -1

  constructor(
    private readonly host: AdversaryHost,
    readonly node: number,
    /** the validator's key: what the strategies sign with */
    private readonly id: { signer: Signer; peerIdString: string },
    readonly strategies: readonly Strategy[],
    private readonly rng: Rng,
  ) {
    this.self = peerIdFromString(id.peerIdString)
  }

  has(s: Strategy): boolean {
    return this.strategies.includes(s)
  }

  private count(what: string): void {
    this.stats[what] = (this.stats[what] ?? 0) + 1
  }

  private get core(): Core | null {
    return this.host.core(this.node)
  }

  /** What this node says its head is, in status exchanges. */
  reportedHeight(real: number): number {
    return this.has('height-lie') ? real + LIE_AHEAD : real
  }

  /** A gossip message reached this node (kept for replays). */
  heard(p: Publish): void {
    if (!this.has('replay')) return
    this.heardLog.push(p)
    if (this.heardLog.length > REPLAY_KEEP)
      this.heardLog.splice(0, this.heardLog.length - REPLAY_KEEP)
  }

  /** The honest core's actions become what this node does: messages rewritten, dropped or added. */
  outgoing(actions: CoreAction[]): CoreAction[] {
    if (this.has('silent'))
      return actions.filter((a) => a.type !== 'publish' && a.type !== 'send-vote')
    const out: CoreAction[] = []
    for (const a of actions) {
      if (a.type === 'round' && this.has('capture')) this.capture(a.height, a.round)
      if (a.type === 'publish' && a.topic === 'block-sync' && a.message.prepare) {
        const p = a.message.prepare
        const own = p.validRound == null && (a.message.relay ?? 0) === 0
        if (own && this.has('capture')) {
          this.count('proposals withheld')
          continue // elected: proposes nothing
        }
        if (own && this.has('equivocate')) {
          this.equivocate(p)
          continue
        }
        if (own && this.has('flood')) this.flood(p)
      }
      if (a.type === 'send-vote') {
        const vote = this.has('poison') ? this.poisoned(a.vote) : a.vote
        out.push({ ...a, vote })
        if (this.has('double-vote')) this.doubleVote(a.to, a.vote)
        continue
      }
      if (a.type === 'send-batch-vote') {
        const vote = this.has('poison') ? this.poisonedBatchVote(a.vote) : a.vote
        out.push({ ...a, vote })
        if (this.has('double-vote')) this.doubleBatchVote(a.to, a.vote)
        continue
      }
      if (
        a.type === 'publish' &&
        a.topic === 'election' &&
        a.message.vote &&
        this.has('double-vote')
      )
        this.doubleElectionVote(
          a.message.vote.height,
          a.message.vote.round,
          a.message.vote.candidate,
        )
      out.push(a)
    }
    return out
  }

  /** Every 250 ms of virtual time while the node is up. */
  tick(): void {
    const core = this.core
    if (core == null) return
    const height = core.blocks.height
    if (this.has('height-lie') && this.rng.chance(0.3)) {
      const far = height + LIE_AHEAD + this.rng.int(0, 1000)
      this.host.publish(this.node, {
        type: 'publish',
        topic: 'election',
        message: {
          request: signElectionRequest(this.id.signer, this.host.chainId, {
            height: far,
            round: 0,
            candidate: this.self,
          }),
        },
      })
      this.count('height lies')
    }
    if (this.has('capture')) this.capture(height, core.blocks.round)
    if (this.has('replay') && this.heardLog.length > 0 && this.rng.chance(0.5)) {
      const old = this.rng.pick(this.heardLog)
      const again: Publish =
        old.topic === 'block-sync'
          ? {
              ...old,
              message: { ...(old.message as BlockSyncMessage), relay: this.rng.int(1, 64) },
            }
          : old
      this.host.publish(this.node, again)
      this.count('replays')
    }
    if (this.has('garbage') && this.rng.chance(0.5)) {
      const bytes = new Uint8Array(this.rng.int(1, 300))
      for (let i = 0; i < bytes.length; i++) bytes[i] = this.rng.int(0, 256)
      this.host.publishBytes(this.node, this.rng.pick(TOPICS), bytes)
      // and a vote whose signature is noise, to a random validator
      const to = this.rng.pick(this.host.validatorIds)
      const forged = signVote(this.id.signer, this.host.chainId, {
        phase: Phase.BLOCK_PERMIT,
        subject: bytes.length >= 32 ? bytes.slice(0, 32) : new Uint8Array(32),
        height,
        round: core.blocks.round,
        result: VoteResult.PERMIT,
        reason: RejectReason.NONE,
        voter: this.self,
      })
      forged.signature = new Uint8Array(64).fill(this.rng.int(0, 256))
      this.host.sendVote(this.node, to, forged)
      this.count('garbage')
    }
  }

  // ---------------------------------------------------------------- strategies

  /** Ask to lead at once, and vote for ourselves in this round and the next few. */
  private capture(height: number, round: number): void {
    if (this.capturedHeight !== height) {
      this.capturedHeight = height
      // the instant the height starts (or we see it): ask for round 0, and for the next height
      for (const h of [height, height + 1]) {
        this.host.publish(this.node, {
          type: 'publish',
          topic: 'election',
          message: {
            request: signElectionRequest(this.id.signer, this.host.chainId, {
              height: h,
              round: 0,
              candidate: this.self,
            }),
          },
        })
      }
      this.count('capture requests')
    }
    for (let r = round; r <= round + 3; r++) {
      this.host.publish(this.node, {
        type: 'publish',
        topic: 'election',
        message: {
          vote: signElectionVote(this.id.signer, this.host.chainId, {
            height,
            round: r,
            candidate: this.self,
            voter: this.self,
          }),
        },
      })
      if (r > 0)
        this.host.publish(this.node, {
          type: 'publish',
          topic: 'election',
          message: {
            request: signElectionRequest(this.id.signer, this.host.chainId, {
              height,
              round: r,
              candidate: this.self,
            }),
          },
        })
    }
  }

  /** A different valid block for the same round: same txs, another time. */
  private variant(p: BlockPrepare, k: number): BlockPrepare | null {
    const core = this.core
    if (core == null) return null
    const block = structuredClone(p.block!)
    const header = block.header!
    header.time += k
    header.stateRoot = executeBlock(core.ledger, block, core.head.stateRoot).stateRoot
    return signBlockPrepare(this.id.signer, this.host.chainId, {
      height: p.height,
      round: p.round,
      block,
      electionCert: p.electionCert,
      validRound: undefined,
      validCert: undefined,
    })
  }

  private equivocate(p: BlockPrepare): void {
    const other = this.variant(p, 1)
    if (other == null) return
    const msg = (prepare: BlockPrepare): Publish => ({
      type: 'publish',
      topic: 'block-sync',
      message: { prepare },
    })
    this.host.publish(this.node, msg(p), (i) => i % 2 === 0)
    this.host.publish(this.node, msg(other), (i) => i % 2 === 1)
    this.count('equivocations')
  }

  private flood(p: BlockPrepare): void {
    for (let k = 1; k <= FLOOD_PROPOSALS; k++) {
      const v = this.variant(p, k)
      if (v == null) return
      this.host.publish(this.node, {
        type: 'publish',
        topic: 'block-sync',
        message: { prepare: v },
      })
    }
    this.count('floods')
  }

  private resign(v: Vote, change: Partial<Vote>): Vote {
    const { signature: _, ...rest } = v
    return signVote(this.id.signer, this.host.chainId, { ...rest, ...change })
  }

  private poisoned(v: Vote): Vote {
    this.count('poisoned votes')
    return this.resign(v, { round: v.round + 1 })
  }

  /** A batch vote for the right batch hash but another batch size: it must never be counted. */
  private poisonedBatchVote(v: BatchVote): BatchVote {
    this.count('poisoned votes')
    const { signature: _, ...rest } = v
    return signBatchVote(this.id.signer, this.host.chainId, { ...rest, count: v.count + 1 })
  }

  /** The same batch answered twice: all permitted, then all rejected (or the reverse). */
  private doubleBatchVote(to: string, v: BatchVote): void {
    const { signature: _, ...rest } = v
    const all = Array.from({ length: v.count }, (_x, i) => i)
    const second = signBatchVote(this.id.signer, this.host.chainId, {
      ...rest,
      rejected: v.rejected.length > 0 ? [] : all,
      reasons: v.rejected.length > 0 ? [] : all.map(() => 4 /* NONCE_USED on the wire */),
    })
    this.host.sendBatchVote(this.node, to, second)
    this.count('double votes')
  }

  private doubleVote(to: string, v: Vote): void {
    const second =
      v.result === VoteResult.PERMIT
        ? this.resign(v, { result: VoteResult.REJECT, reason: RejectReason.LOCKED })
        : this.resign(v, {
            result: VoteResult.PERMIT,
            reason: RejectReason.NONE,
            subject:
              v.phase === Phase.BLOCK_PERMIT || v.phase === Phase.BLOCK_COMMIT
                ? blockHash({
                    chainId: this.host.chainId,
                    height: v.height,
                    round: v.round,
                    parentHash: new Uint8Array(32),
                    proposer: this.self,
                    time: 0,
                    txRoot: new Uint8Array(32),
                    accountsRoot: new Uint8Array(32),
                    stateRoot: new Uint8Array(32),
                  })
                : v.subject,
          })
    this.host.sendVote(this.node, to, second)
    this.count('double votes')
  }

  private doubleElectionVote(height: number, round: number, candidate: Uint8Array): void {
    const others = this.host.validatorIds.filter(
      (id) => peerIdFromString(id).join() !== candidate.join(),
    )
    const other = peerIdFromString(this.rng.pick(others))
    this.host.publish(
      this.node,
      {
        type: 'publish',
        topic: 'election',
        message: {
          vote: signElectionVote(this.id.signer, this.host.chainId, {
            height,
            round,
            candidate: other,
            voter: this.self,
          }),
        },
      },
      (i) => i % 2 === 1,
    )
    this.count('double election votes')
  }
}
