/**
 * The three-phase vote on tx batches (DESIGN §5) on n = 4 cores and an
 * observer, wired by a tiny deterministic router: publishes go to every other
 * core that is up, after the same validation the network applies (a message
 * that fails it is dropped); batch votes go to the addressed core after the
 * signature and voter checks the node makes. Time is a number the test
 * moves, and the timers the cores set fire only when the test moves it past
 * them. Unless a test says otherwise the cores batch with `batchWaitMs: 0`,
 * so each client tx goes out at once in a batch of its own.
 */
import { describe, expect, it } from 'vitest'
import { tallyBatch, verifyBatchCertificate } from '../../src/core/chain/certificates.js'
import { genesisTimeMs } from '../../src/core/chain/genesis.js'
import {
  batchHeader,
  signBatchVote,
  signTxBatch,
  verifyBatchVote,
} from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import { batchDigest } from '../../src/core/chain/tx-batch.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import {
  type BatchCertificate,
  type BatchCommit,
  type BatchPrepare,
  type BatchVote,
  EvidenceKind,
  GasGrantCodec,
  MAX_TX_BATCH_BYTES,
  MAX_TX_DATA_BYTES,
  Phase,
  RejectReason,
  rejectReasonFromWire,
  rejectReasonToWire,
  type Tx,
  type TxBatch,
  TxBatchCodec,
  TxCodec,
  TxKind,
} from '../../src/core/codec/index.js'
import { MAX_RETRY_AFTER_MS } from '../../src/core/consensus/admission-gauge.js'
import { Core } from '../../src/core/consensus/core.js'
import { SETTLED_BATCHES, SETTLED_TX_BYTES } from '../../src/core/consensus/tx-rounds.js'
import {
  ADMISSION_FLOOR_BATCHES,
  BACKLOG_RETRY_AFTER_MS,
  BUSY_GATHER_TXS,
  BUSY_WAIT_FACTOR,
  GRACE_SHARE,
  MAX_COMMITTED_BACKLOG,
  MIN_GRACE_MS,
  type TargetRound,
} from '../../src/core/consensus/tx-target.js'
import type {
  ClientResult,
  CoreAction,
  CoreEvent,
  PersistOp,
  TxStatus,
} from '../../src/core/consensus/types.js'
import {
  ValidationError,
  validateAccount,
  validateBatchCommit,
  validateBatchPrepare,
  validateTxBatch,
} from '../../src/core/consensus/validation.js'
import { fromHex, toHex } from '../../src/core/crypto/hash.js'
import { peerIdToString } from '../../src/core/crypto/peer-id.js'
import type { PoolLimits } from '../../src/core/mempool/mempool.js'
import {
  type AccountIdentity,
  accountIdentity,
  CHAIN_ID,
  hashOf,
  type NodeIdentity,
  nodeIdentity,
  registrationOf,
  signedTx,
  testGenesis,
  validators,
} from './fixtures.js'

// ------------------------------------------------------------------ the network

const N = 4
const Q = 3
const TX_ROUND_MS = 1000
const GRANT = 1000

const validatorIds = validators(N)
const observerId = nodeIdentity('observer')
const authority = accountIdentity('authority')
const alice = accountIdentity('alice')
const bob = accountIdentity('bob')
const genesis = testGenesis(
  validatorIds.map((v) => v.peerIdString),
  authority,
  GRANT,
  { txRoundMs: TX_ROUND_MS },
)
const validatorSet = new ValidatorSet(genesis.validators)
const ctx = { chainId: CHAIN_ID, validators: validatorSet }
/** a minute after genesis */
const T0 = genesisTimeMs(genesis) + 60_000
/** the index of the observer core */
const OBS = N
const utf8 = new TextEncoder()

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** An event as a test writes it: the network adds the time. */
type EventIn = DistributiveOmit<CoreEvent, 'now'>

/** One action on its way from core `from`. */
interface Sent {
  from: number
  action: CoreAction
}

interface NetInit {
  poolLimits?: PoolLimits
  maxWaitingTxs?: number
  /** default 0: every client tx goes out at once */
  batchWaitMs?: number
  batchTxs?: number
}

class Net {
  readonly ids: NodeIdentity[] = [...validatorIds, observerId]
  readonly cores: Core[]
  /** cores that receive nothing and send nothing */
  readonly down = new Set<number>()
  /** every action each core emitted, in order */
  readonly emitted: CoreAction[][]
  /** messages the network refused, with the validation code */
  readonly dropped: { sent: Sent; code: string }[] = []
  /** actions the `hold` predicate kept back, to be released by the test */
  readonly held: Sent[] = []
  /** timers the cores set and that have not fired yet */
  readonly timers: { core: number; key: string; at: number }[] = []
  hold: ((s: Sent) => boolean) | null = null
  now = T0
  private readonly queue: Sent[] = []
  private nextRequestId = 1

  constructor(init: NetInit = {}) {
    this.cores = this.ids.map(
      (id) =>
        new Core({
          seed: 1,
          genesis,
          self: id.peerIdString,
          signer: id.signer,
          batchWaitMs: init.batchWaitMs ?? 0,
          ...(init.batchTxs ? { batchTxs: init.batchTxs } : {}),
          ...(init.poolLimits ? { poolLimits: init.poolLimits } : {}),
          ...(init.maxWaitingTxs ? { maxWaitingTxs: init.maxWaitingTxs } : {}),
        }),
    )
    this.emitted = this.cores.map(() => [])
  }

  indexOf(peer: string): number {
    const i = this.ids.findIndex((id) => id.peerIdString === peer)
    if (i < 0) throw new Error(`no core ${peer}`)
    return i
  }

  peer(i: number): string {
    return this.ids[i]!.peerIdString
  }

  /** Feed one event to core `i` (nothing if it is down) and queue what it emits. */
  step(i: number, event: EventIn): CoreAction[] {
    if (this.down.has(i)) return []
    const actions = this.cores[i]!.step({ ...event, now: this.now } as CoreEvent)
    this.emitted[i]!.push(...actions)
    for (const action of actions) {
      if (action.type === 'set-timer') this.timers.push({ core: i, key: action.key, at: action.at })
      this.queue.push({ from: i, action })
    }
    return actions
  }

  /** Deliver queued messages, first in first out, until none is left. */
  run(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      if (guard > 20_000) throw new Error('the network does not settle')
      this.deliver(this.queue.shift()!)
    }
  }

  /** Deliver the held messages that match, in the order they were held, then settle. */
  release(match: (s: Sent) => boolean = () => true): number {
    const out = this.held.filter(match)
    for (const s of out) this.held.splice(this.held.indexOf(s), 1)
    for (const s of out) this.deliver(s, true)
    this.run()
    return out.length
  }

  /** Put an action on the wire as if core `from` had emitted it. */
  inject(from: number, action: CoreAction): void {
    this.queue.push({ from, action })
  }

  tick(): void {
    for (let i = 0; i < this.cores.length; i++) this.step(i, { type: 'tick' })
    this.run()
  }

  /** Move the clock to `t`, firing every timer due by then at its time, earliest first. */
  advanceTo(t: number): void {
    for (;;) {
      const due = this.timers
        .filter((x) => x.at <= t)
        .sort((a, b) => a.at - b.at || a.core - b.core)[0]
      if (due == null) break
      this.timers.splice(this.timers.indexOf(due), 1)
      this.now = Math.max(this.now, due.at)
      this.step(due.core, { type: 'timer', key: due.key })
      this.run()
    }
    this.now = t
  }

  /** A client submits `tx` to core `at`; returns its hash and the client result. */
  submit(at: number, tx: Tx): { hash: string; result: ClientResult } {
    const requestId = this.nextRequestId++
    const actions = this.step(at, { type: 'client-tx', requestId, tx })
    this.run()
    return { hash: toHex(txHash(tx)), result: clientResult(actions, requestId) }
  }

  /** A client registers `who` through core `at`; the registration is gossiped. */
  register(at: number, who: AccountIdentity, username: string): ClientResult {
    const requestId = this.nextRequestId++
    const actions = this.step(at, {
      type: 'client-account',
      requestId,
      reg: registrationOf(who, username),
    })
    this.run()
    return clientResult(actions, requestId)
  }

  private deliver(s: Sent, released = false): void {
    const { from, action } = s
    if (this.down.has(from)) return
    if (!released && this.hold?.(s)) {
      this.held.push(s)
      return
    }
    const sender = this.peer(from)
    if (action.type === 'send-batch-vote') {
      const to = this.indexOf(action.to)
      // as the node: the vote must verify and come from its voter
      if (!verifyBatchVote(CHAIN_ID, action.vote) || peerIdToString(action.vote.voter) !== sender) {
        this.dropped.push({ sent: s, code: 'BAD_VOTE' })
        return
      }
      this.step(to, { type: 'batch-vote', vote: action.vote, from: sender })
      return
    }
    if (action.type !== 'publish') return
    let event: EventIn
    try {
      switch (action.topic) {
        case 'tx':
          validateTxBatch(ctx, action.message)
          event = { type: 'tx-batch', batch: action.message, from: sender }
          break
        case 'prepare':
          validateBatchPrepare(ctx, action.message)
          event = { type: 'batch-prepare', msg: action.message, from: sender }
          break
        case 'commit':
          validateBatchCommit(ctx, action.message)
          event = { type: 'batch-commit', msg: action.message, from: sender }
          break
        case 'accounts':
          validateAccount(ctx, action.message)
          event = { type: 'account', reg: action.message, from: sender }
          break
        default:
          return // block rounds: not part of these tests
      }
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      this.dropped.push({ sent: s, code: err.code })
      return
    }
    for (let j = 0; j < this.cores.length; j++) if (j !== from) this.step(j, event)
  }

  // ---------------------------------------------------------------- what happened

  statuses(i: number, hash: string): TxStatus[] {
    return this.emitted[i]!.flatMap((a) =>
      a.type === 'tx-status' && a.hash === hash ? [a.status] : [],
    )
  }

  poolPuts(i: number, hash?: string): Extract<PersistOp, { op: 'pool-put' }>[] {
    return this.emitted[i]!.flatMap((a) =>
      a.type === 'persist'
        ? a.ops.flatMap((op) =>
            op.op === 'pool-put' && (hash === undefined || op.hash === hash) ? [op] : [],
          )
        : [],
    )
  }

  published(i: number, topic: string): CoreAction[] {
    return this.emitted[i]!.filter((a) => a.type === 'publish' && a.topic === topic)
  }

  /** The TxBatches core `i` published, in order. */
  batches(i: number): TxBatch[] {
    return this.emitted[i]!.flatMap((a) =>
      a.type === 'publish' && a.topic === 'tx' ? [a.message] : [],
    )
  }

  prepares(i: number): BatchPrepare[] {
    return this.emitted[i]!.flatMap((a) =>
      a.type === 'publish' && a.topic === 'prepare' ? [a.message] : [],
    )
  }

  commits(i: number): BatchCommit[] {
    return this.emitted[i]!.flatMap((a) =>
      a.type === 'publish' && a.topic === 'commit' ? [a.message] : [],
    )
  }

  /** The batch votes core `from` sent in `phase`, as emitted. */
  votesSent(from: number, phase: Phase): BatchVote[] {
    return this.emitted[from]!.flatMap((a) =>
      a.type === 'send-batch-vote' && a.vote.phase === phase ? [a.vote] : [],
    )
  }

  fetches(i: number): Extract<CoreAction, { type: 'fetch-batch' }>[] {
    return this.emitted[i]!.flatMap((a) => (a.type === 'fetch-batch' ? [a] : []))
  }

  /** Core `i`'s running round (it is the target) that holds tx `hash`. */
  roundOf(i: number, hash: string): TargetRound | undefined {
    return [...this.cores[i]!.txRounds.target.rounds.values()].find((r) =>
      r.txHashes.includes(hash),
    )
  }
}

function clientResult(actions: CoreAction[], requestId: number): ClientResult {
  const found = actions.find((a) => a.type === 'client-result' && a.requestId === requestId)
  if (found?.type !== 'client-result') throw new Error(`no client-result for ${requestId}`)
  return found.result
}

const isVote =
  (phase: Phase, from?: number) =>
  (s: Sent): boolean =>
    s.action.type === 'send-batch-vote' &&
    s.action.vote.phase === phase &&
    (from === undefined || s.from === from)

const voteFrom =
  (from: number) =>
  (s: Sent): boolean =>
    s.action.type === 'send-batch-vote' && s.from === from

const isPublish =
  (topic: string) =>
  (s: Sent): boolean =>
    s.action.type === 'publish' && s.action.topic === topic

/** The tx hashes of a batch, in batch order. */
const hashesOf = (batch: TxBatch): string[] => batchDigest(batch).txHashesHex

/** What a batch vote rejects: tx index → reason. */
function rejectsOf(vote: BatchVote): Record<number, RejectReason | undefined> {
  return Object.fromEntries(
    vote.rejected.map((i, k) => [i, rejectReasonFromWire(vote.reasons[k]!)]),
  )
}

/** The batch vote `who` signs: a permit of every tx but those in `rejects`. */
function voteBy(
  who: NodeIdentity,
  phase: Phase,
  batch: Uint8Array,
  count: number,
  rejects: Record<number, RejectReason> = {},
): BatchVote {
  const rejected = Object.keys(rejects)
    .map(Number)
    .sort((a, b) => a - b)
  return signBatchVote(who.signer, CHAIN_ID, {
    phase,
    batch,
    count,
    rejected,
    reasons: rejected.map((i) => rejectReasonToWire(rejects[i]!)),
    voter: who.peerId,
  })
}

/** A batch of `txs` signed by `target`. */
function batchBy(target: NodeIdentity, txs: Tx[], seq = 1): TxBatch {
  return signTxBatch(target.signer, CHAIN_ID, batchHeader(target.peerId, seq, txs), txs)
}

/** A certificate of the votes of `signers` on `batch` (all permits unless told). */
function certOf(
  phase: Phase,
  signers: NodeIdentity[],
  batch: Uint8Array,
  count: number,
  rejects: Record<number, RejectReason> = {},
): BatchCertificate {
  return { phase, batch, count, votes: signers.map((s) => voteBy(s, phase, batch, count, rejects)) }
}

/** A network where alice is registered everywhere. */
function netWithAlice(init: NetInit = {}): Net {
  const net = new Net(init)
  const r = net.register(0, alice, 'alice')
  expect(r).toMatchObject({ ok: true, address: alice.address })
  for (const core of net.cores) expect(core.pool.pendingAccount(alice.address)).toBeDefined()
  return net
}

function validationError(fn: () => void): ValidationError {
  try {
    fn()
  } catch (err) {
    if (err instanceof ValidationError) return err
    throw new Error(`expected a ValidationError, got ${String(err)}`)
  }
  throw new Error('expected a ValidationError, but the message was accepted')
}

const ALL = [0, 1, 2, 3, OBS]

// ------------------------------------------------------------------ 1. permit quorum

describe('a tx with a quorum of permits', () => {
  it.each([
    { who: 'a validator', target: 0 },
    { who: 'an observer', target: OBS },
  ])('commits on every node when $who is the target', ({ target }) => {
    const net = netWithAlice()
    const tx = signedTx(alice, { nonce: 0 })
    const { hash, result } = net.submit(target, tx)
    expect(result).toEqual({ ok: true, hash, status: 'pending' })

    // one batch of this one tx, signed by the target
    const batches = net.batches(target)
    expect(batches).toHaveLength(1)
    const batch = batches[0]!
    expect(batch.txs).toEqual([tx])
    expect(peerIdToString(batch.target)).toBe(net.peer(target))
    expect(() => validateTxBatch(ctx, batch)).not.toThrow()
    const d = batchDigest(batch)

    // the target went through every status, in order
    expect(net.statuses(target, hash)).toEqual(['pending', 'prepared', 'committed'])
    const record = net.cores[target]!.tx(hash)!
    expect(record.status).toBe('committed')
    expect(record.target).toBe(net.peer(target))
    // the target counted q permits per phase (the last answer came after the phase was over)
    for (const phase of ['prePrepare', 'prepare'] as const) {
      expect(record.votes[phase]).toHaveLength(Q)
      expect(record.votes[phase].every((v) => v.result === 'permit')).toBe(true)
      expect(new Set(record.votes[phase].map((v) => v.voter)).size).toBe(Q)
      for (const v of record.votes[phase]) expect(validatorSet.has(v.voter)).toBe(true)
    }
    expect(net.prepares(target)).toHaveLength(1)
    const commits = net.commits(target)
    expect(commits).toHaveLength(1)
    const tally = verifyBatchCertificate(
      CHAIN_ID,
      commits[0]!.cert!,
      { phase: Phase.PREPARE, batch: d.hash, count: 1 },
      validatorSet,
    )
    expect(tally.certified).toEqual([true])
    expect(new Set(tally.voters).size).toBe(Q)
    expect(net.cores[target]!.txRounds.target.rounds.size).toBe(0)

    for (const i of ALL) {
      const core = net.cores[i]!
      expect(core.pool.get(hash)?.status, `pool of core ${i}`).toBe('committed')
      expect(core.tx(hash)?.status, `log of core ${i}`).toBe('committed')
      expect(core.pool.committed().map((e) => e.hash)).toEqual([hash])
      const puts = net.poolPuts(i, hash)
      expect(puts, `pool-put of core ${i}`).toHaveLength(1)
      expect(puts[0]!.tx).toEqual(tx)
      // the batch whose commit certificate committed it
      expect(toHex(puts[0]!.batch)).toBe(d.hashHex)
      expect(core.txRounds.batch(d.hashHex)).toBeDefined()
    }
    // an observer never votes
    expect(net.emitted[OBS]!.filter((a) => a.type === 'send-batch-vote')).toEqual([])
    // every message that crossed the network passed validation
    expect(net.dropped).toEqual([])
  })

  it('moves a validator’s copy to prepared on the Prepare, before the Commit', () => {
    const net = netWithAlice()
    net.hold = isPublish('commit')
    const { hash } = net.submit(0, signedTx(alice))
    for (const i of [1, 2, 3]) {
      expect(net.cores[i]!.pool.get(hash)?.status).toBe('prepared')
      expect(net.cores[i]!.tx(hash)?.status).toBe('prepared')
      // it learned the pre-prepare permits from the certificate
      expect(net.cores[i]!.tx(hash)?.votes.prePrepare).toHaveLength(Q)
    }
    expect(net.cores[0]!.pool.get(hash)?.status).toBe('committed')
    expect(net.release()).toBe(1)
    for (const i of [1, 2, 3]) expect(net.cores[i]!.pool.get(hash)?.status).toBe('committed')
  })

  it('answers a resubmission of the same tx without a second round', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    net.down.add(2).add(3)
    const { hash } = net.submit(0, tx)
    const again = net.submit(0, tx)
    expect(again.result).toEqual({ ok: true, hash, status: 'pending' })
    expect(net.batches(0)).toHaveLength(1)
    expect(net.cores[0]!.txRounds.target.rounds.size).toBe(1)
    expect(net.cores[0]!.txRounds.target.waiting.size).toBe(0)
    expect(net.cores[0]!.pool.sizes().pending).toBe(1)
  })

  it('takes as its own a tx that another target’s round left here, when a client sends it: that target may be down', () => {
    for (const phase of ['pending', 'prepared'] as const) {
      const net = netWithAlice()
      const tx = signedTx(alice)
      // target 1 runs the round, then goes down: its votes (or its Commit) never come
      net.hold =
        phase === 'pending'
          ? (s) => s.action.type === 'send-batch-vote' && s.action.to === net.peer(1)
          : isPublish('commit')
      const { hash } = net.submit(1, tx)
      net.down.add(1)
      expect(net.cores[0]!.tx(hash)?.status, phase).toBe(phase)
      expect(net.cores[0]!.pool.has(hash)).toBe(true)
      net.hold = null

      // the client sends it to node 0, which runs a round of its own, and it commits
      const again = net.submit(0, tx)
      expect(again.result, phase).toEqual({ ok: true, hash, status: phase })
      expect(net.batches(0).map(hashesOf), phase).toEqual([[hash]])
      for (const i of [0, 2, 3, OBS])
        expect(net.cores[i]!.pool.get(hash)?.status, `${phase}: core ${i}`).toBe('committed')
      expect(net.cores[0]!.tx(hash)?.status).toBe('committed')

      // and once more: now it drives it, so no third round
      expect(net.submit(0, tx).result).toEqual({ ok: true, hash, status: 'committed' })
      expect(net.batches(0)).toHaveLength(1)
    }
  })
})

// ------------------------------------------------------------------ 2. reject quorum

describe('a tx that more than n - q validators reject', () => {
  it.each([
    {
      how: 'its sender is unknown to two validators',
      code: RejectReason.UNKNOWN_SENDER,
      rejecters: [2, 3],
      setup: (net: Net) => {
        net.down.add(2).add(3)
        expect(net.register(0, alice, 'alice').ok).toBe(true)
        net.down.clear()
        expect(net.cores[2]!.pool.pendingAccount(alice.address)).toBeUndefined()
      },
    },
    {
      how: 'two validators hold a conflicting tx at the same nonce',
      code: RejectReason.NONCE_USED,
      rejecters: [2, 3],
      setup: (net: Net) => {
        expect(net.register(0, alice, 'alice').ok).toBe(true)
        // a conflicting tx reaches only cores 2 and 3 (0 and 1 are cut off meanwhile)
        net.down.add(0).add(1)
        const conflict = signedTx(alice, { nonce: 0, data: utf8.encode('other') })
        const { hash } = net.submit(2, conflict)
        net.down.clear()
        expect(net.cores[3]!.pool.get(hash)?.status).toBe('pending')
        expect(net.cores[2]!.pool.get(hash)?.status).toBe('pending')
      },
    },
  ])('fails with the reject reason when $how', ({ code, rejecters, setup }) => {
    const net = new Net()
    setup(net)
    // hold the votes for core 0 to count them one by one
    const toTarget = (s: Sent) => s.action.type === 'send-batch-vote' && s.action.to === net.peer(0)
    net.hold = toTarget
    const tx = signedTx(alice, { nonce: 0 })
    const { hash, result } = net.submit(0, tx)
    expect(result).toMatchObject({ ok: true, status: 'pending' })
    net.hold = null
    expect(net.held).toHaveLength(3)
    const [batch] = net.batches(0)
    for (const r of rejecters) {
      const [vote] = net
        .votesSent(r, Phase.PRE_PREPARE)
        .filter((v) => toHex(v.batch) === toHex(batchDigest(batch!).hash))
      expect(vote?.count).toBe(1)
      expect(rejectsOf(vote!)).toEqual({ 0: code })
    }
    expect(net.votesSent(1, Phase.PRE_PREPARE).at(-1)?.rejected).toEqual([])

    // the first reject alone leaves a quorum possible
    net.release(voteFrom(rejecters[0]!))
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
    net.release(voteFrom(1))
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
    // the second makes it impossible: 2 rejects > n - q = 1
    net.release(voteFrom(rejecters[1]!))
    const record = net.cores[0]!.tx(hash)!
    expect(record.status).toBe('failed')
    expect(record.reason?.code).toBe(code)
    expect(record.reason?.message).toContain('rejected by 2 of 4 validators')
    expect(record.reason?.rejectedBy).toBe(2)
    const failed = net.emitted[0]!.filter((a) => a.type === 'tx-status' && a.hash === hash)
    expect(failed.at(-1)).toMatchObject({ status: 'failed', reason: { code } })
    expect(net.cores[0]!.pool.has(hash)).toBe(false)
    expect(net.cores[0]!.txRounds.target.rounds.size).toBe(0)

    // nothing is committed anywhere
    expect(net.published(0, 'prepare')).toEqual([])
    expect(net.published(0, 'commit')).toEqual([])
    for (const i of ALL) {
      expect(net.cores[i]!.pool.get(hash)?.status).not.toBe('committed')
      expect(net.cores[i]!.pool.committed()).toEqual([])
      expect(net.poolPuts(i, hash)).toEqual([])
    }
  })
})

describe('a tx that failed', () => {
  it('can be submitted again once the cause is gone, and then commits', () => {
    const net = new Net()
    net.down.add(2).add(3)
    expect(net.register(0, alice, 'alice').ok).toBe(true)
    net.down.clear()
    const tx = signedTx(alice)
    const { hash } = net.submit(0, tx)
    expect(net.cores[0]!.tx(hash)?.status).toBe('failed')
    expect(net.cores[0]!.tx(hash)?.reason?.code).toBe('UNKNOWN_SENDER')

    // the registration reaches cores 2 and 3 after all
    const [gossip] = net.published(0, 'accounts')
    if (gossip?.type !== 'publish' || gossip.topic !== 'accounts') throw new Error('no gossip')
    for (const j of [2, 3]) net.step(j, { type: 'account', reg: gossip.message, from: net.peer(0) })
    const again = net.submit(0, tx)
    expect(again.result).toEqual({ ok: true, hash, status: 'pending' })
    const record = net.cores[0]!.tx(hash)!
    expect(record.status).toBe('committed')
    expect(record.reason).toBeNull()
    // the votes of the failed round are gone: only the new round's permits
    expect(record.votes.prePrepare.map((v) => v.result)).toEqual(['permit', 'permit', 'permit'])
    // it ran in a second batch, a new one (another batch counter, so another hash)
    const [first, second] = net.batches(0)
    expect(second).toBeDefined()
    expect(hashesOf(second!)).toEqual([hash])
    expect(batchDigest(second!).hashHex).not.toBe(batchDigest(first!).hashHex)
    for (const i of [0, 1, 2, 3]) {
      expect(net.cores[i]!.pool.get(hash)?.status).toBe('committed')
      expect(net.poolPuts(i, hash).map((p) => toHex(p.batch))).toEqual([
        batchDigest(second!).hashHex,
      ])
    }
  })
})

// ------------------------------------------------------------------ 3. duplicates

describe('duplicate votes', () => {
  it.each([
    { phase: Phase.PRE_PREPARE, status: 'pending', field: 'prePrepare' },
    { phase: Phase.PREPARE, status: 'prepared', field: 'prepare' },
  ] as const)('a $phase vote delivered twice counts once', ({ phase, status, field }) => {
    const net = netWithAlice()
    // cores 2 and 3 answer this phase late
    net.hold = (s) => isVote(phase, 2)(s) || isVote(phase, 3)(s)
    const { hash } = net.submit(0, signedTx(alice))
    const round = net.roundOf(0, hash)!
    expect(round.phase).toBe(phase === Phase.PRE_PREPARE ? 'pre-prepare' : 'prepare')
    expect(net.cores[0]!.tx(hash)?.status).toBe(status)
    expect(round.votes.size).toBe(2)
    expect(round.txs[0]!.signMap.size).toBe(2)

    // core 1's vote of this phase, again
    const [again] = net.votesSent(1, phase)
    net.step(0, { type: 'batch-vote', vote: again!, from: net.peer(1) })
    net.run()
    expect(round.votes.size).toBe(2)
    expect(round.txs[0]!.signMap.size).toBe(2)
    expect(round.txs[0]!.responseCount).toBe(2)
    expect(net.cores[0]!.tx(hash)?.status).toBe(status)
    expect(net.cores[0]!.tx(hash)?.votes[field]).toHaveLength(2)
    expect(net.cores[0]!.evidence.list()).toEqual([])

    // a third distinct permit makes the quorum
    net.hold = null
    net.release(isVote(phase, 2))
    expect(net.cores[0]!.tx(hash)?.status).toBe('committed')
  })

  it('counts a validator that permits then rejects once, and keeps the evidence', () => {
    const net = netWithAlice()
    net.hold = (s) => isVote(Phase.PRE_PREPARE, 2)(s) || isVote(Phase.PRE_PREPARE, 3)(s)
    const { hash } = net.submit(0, signedTx(alice))
    const round = net.roundOf(0, hash)!
    expect(round.txs[0]!.signMap.size).toBe(2)

    // core 1 now also rejects the same tx: a properly signed, contradictory vote
    const reject = voteBy(validatorIds[1]!, Phase.PRE_PREPARE, batchDigest(round.batch).hash, 1, {
      0: RejectReason.NONCE_USED,
    })
    net.step(0, { type: 'batch-vote', vote: reject, from: net.peer(1) })
    expect(round.txs[0]!.responseCount).toBe(2)
    expect(round.txs[0]!.signMap.has(net.peer(1))).toBe(true)
    expect(round.txs[0]!.rejects.size).toBe(0)
    const evidence = net.cores[0]!.evidence.list()
    expect(evidence).toHaveLength(1)
    expect(peerIdToString(evidence[0]!.offender)).toBe(net.peer(1))
    expect(evidence[0]!.kind).toBe(EvidenceKind.TX_VOTE)
    expect(evidence[0]!.firstBatchVote!.rejected).toEqual([])
    expect(rejectsOf(evidence[0]!.secondBatchVote!)).toEqual({ 0: RejectReason.NONCE_USED })
    expect(verifyBatchVote(CHAIN_ID, evidence[0]!.firstBatchVote!)).toBe(true)
    expect(verifyBatchVote(CHAIN_ID, evidence[0]!.secondBatchVote!)).toBe(true)

    // and again: still counted once (no second piece of evidence for the same question either)
    net.step(0, { type: 'batch-vote', vote: reject, from: net.peer(1) })
    expect(round.txs[0]!.responseCount).toBe(2)
    expect(round.txs[0]!.rejects.size).toBe(0)
    expect(net.cores[0]!.evidence.list()).toHaveLength(1)
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
  })
})

// ------------------------------------------------------------------ 3b. lying validators and peers

describe('a Byzantine validator or peer in a tx round', () => {
  it('a vote for another phase or another batch size is not counted, so the certificate stays valid', () => {
    const net = netWithAlice()
    net.hold = (s) => isVote(Phase.PRE_PREPARE, 2)(s) || isVote(Phase.PRE_PREPARE, 3)(s)
    const { hash } = net.submit(0, signedTx(alice))
    const round = net.roundOf(0, hash)!
    const batchHash = batchDigest(round.batch).hash
    expect(round.votes.size).toBe(2)
    // validator 2 signs permits that name the right batch, but for the next phase, or as if
    // the batch had 2 txs: poisoned votes, each properly signed
    const poisoned = [
      voteBy(validatorIds[2]!, Phase.PREPARE, batchHash, 1),
      voteBy(validatorIds[2]!, Phase.PRE_PREPARE, batchHash, 2),
    ]
    for (const v of poisoned) {
      expect(verifyBatchVote(CHAIN_ID, v)).toBe(true)
      net.step(0, { type: 'batch-vote', vote: v, from: net.peer(2) })
    }
    expect(round.votes.size).toBe(2)
    expect(round.txs[0]!.signMap.size).toBe(2)
    expect(round.txs[0]!.responseCount).toBe(2)
    // the honest third permit makes a certificate every node accepts
    net.hold = null
    net.release(isVote(Phase.PRE_PREPARE, 3))
    const [prepare] = net.prepares(0)
    expect(prepare).toBeDefined()
    expect(() => validateBatchPrepare(ctx, prepare!)).not.toThrow()
    expect(prepare!.cert!.votes.map((v) => peerIdToString(v.voter))).not.toContain(net.peer(2))
    expect(net.cores[0]!.tx(hash)?.status).toBe('committed')
  })

  it('a copy of a tx with a forged signature under its hash is neither kept nor committed', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const hash = toHex(txHash(tx))
    const forged: Tx = { ...tx, signature: new Uint8Array(tx.signature.length).fill(7) }
    expect(toHex(txHash(forged))).toBe(hash) // the hash leaves the signature out
    // a target (here: core 3) batches the forged copy and gets it to validator 1
    const batch = batchBy(validatorIds[3]!, [forged])
    // a gate that knows alice's key refuses it (BAD_TX_SIGNATURE) ...
    const gate = { ...ctx, ...Core.gateView(() => net.cores[1]!) }
    expect(validationError(() => validateTxBatch(gate, batch)).code).toBe('BAD_TX_SIGNATURE')
    // ... and the core, given it anyway, rejects it and keeps nothing of it
    const actions = net.step(1, { type: 'tx-batch', batch, from: net.peer(3) })
    const votes = actions.flatMap((a) => (a.type === 'send-batch-vote' ? [a.vote] : []))
    expect(votes.map(rejectsOf)).toEqual([{ 0: RejectReason.BAD_SIGNATURE }])
    expect(net.cores[1]!.txBody(hash)).toBeUndefined()
    expect(net.cores[1]!.tx(hash)).toBeUndefined()
    expect(net.cores[1]!.pool.has(hash)).toBe(false)
    // the genuine tx goes through its round, and validator 1 commits the genuine bytes
    net.submit(0, tx)
    expect(net.cores[1]!.pool.get(hash)?.status).toBe('committed')
    expect(net.cores[1]!.pool.get(hash)!.tx.signature).toEqual(tx.signature)
    expect(net.cores[1]!.txBody(hash)!.signature).toEqual(tx.signature)
  })

  it('a forged copy of a committed batch is refused and its server reported; the genuine one is taken', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const hash = toHex(txHash(tx))
    const batch = batchBy(validatorIds[0]!, [tx])
    const d = batchDigest(batch)
    // validator 2 learns of the batch from its Commit alone: q PREPARE permits of the others
    const commit: BatchCommit = {
      batch: d.hash,
      cert: certOf(
        Phase.PREPARE,
        [0, 1, 3].map((i) => validatorIds[i]!),
        d.hash,
        1,
      ),
    }
    expect(() => validateBatchCommit(ctx, commit)).not.toThrow()
    const asked = net.step(2, { type: 'batch-commit', msg: commit, from: net.peer(0) })
    expect(asked).toContainEqual({ type: 'fetch-batch', hash: d.hashHex, hint: net.peer(0) })
    expect(net.cores[2]!.pool.has(hash)).toBe(false)

    // a liar serves the batch re-signed by itself: the same hash, not the target's signature
    const liar = net.peer(3)
    const resigned: TxBatch = {
      ...batchBy(validatorIds[3]!, [tx]),
      target: validatorIds[0]!.peerId,
    }
    expect(batchDigest(resigned).hashHex).toBe(d.hashHex)
    const after = net.step(2, { type: 'batch-fetched', batch: resigned, from: liar })
    expect(after).toContainEqual(expect.objectContaining({ type: 'misbehaving', peer: liar }))
    expect(net.cores[2]!.pool.get(hash)).toBeUndefined()
    expect(net.cores[2]!.txRounds.batch(d.hashHex)).toBeUndefined()
    expect(net.poolPuts(2, hash)).toEqual([])

    // the genuine batch, from an honest peer, is taken
    net.step(2, { type: 'batch-fetched', batch, from: net.peer(1) })
    expect(net.cores[2]!.pool.get(hash)?.status).toBe('committed')
    expect(net.cores[2]!.pool.get(hash)!.tx.signature).toEqual(tx.signature)
    expect(net.poolPuts(2, hash).map((p) => toHex(p.batch))).toEqual([d.hashHex])
  })

  it('keeps no body, log record or vote-worthy state for a batch tx of an unknown sender', () => {
    const net = netWithAlice()
    const stranger = accountIdentity('stranger')
    const tx = signedTx(stranger)
    const hash = toHex(txHash(tx))
    const batch = batchBy(validatorIds[3]!, [tx])
    const actions = net.step(1, { type: 'tx-batch', batch, from: net.peer(3) })
    const votes = actions.flatMap((a) => (a.type === 'send-batch-vote' ? [a.vote] : []))
    expect(votes.map(rejectsOf)).toEqual([{ 0: RejectReason.UNKNOWN_SENDER }])
    expect(votes[0]!.batch).toEqual(batchDigest(batch).hash)
    expect(net.cores[1]!.txBody(hash)).toBeUndefined()
    expect(net.cores[1]!.tx(hash)).toBeUndefined()
    expect(net.cores[1]!.pool.has(hash)).toBe(false)
  })
})

// ------------------------------------------------------------------ 4. non-validator votes

describe('votes from outside the validator set', () => {
  it('ignores a permit signed by a non-validator', () => {
    const net = netWithAlice()
    net.hold = (s) => isVote(Phase.PRE_PREPARE, 2)(s) || isVote(Phase.PRE_PREPARE, 3)(s)
    const { hash } = net.submit(0, signedTx(alice))
    const round = net.roundOf(0, hash)!
    expect(round.txs[0]!.signMap.size).toBe(2)

    // straight to the core, past the router's checks: the signature itself is valid
    const stray = voteBy(observerId, Phase.PRE_PREPARE, batchDigest(round.batch).hash, 1)
    expect(verifyBatchVote(CHAIN_ID, stray)).toBe(true)
    net.step(0, { type: 'batch-vote', vote: stray, from: observerId.peerIdString })
    net.run()
    expect(round.votes.size).toBe(2)
    expect(round.txs[0]!.signMap.size).toBe(2)
    expect(round.txs[0]!.responseCount).toBe(2)
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
    expect(net.cores[0]!.tx(hash)?.votes.prePrepare.map((v) => v.voter)).not.toContain(
      observerId.peerIdString,
    )
    expect(net.published(0, 'prepare')).toEqual([])
  })

  it('does not let a non-validator reject count toward failure either', () => {
    const net = netWithAlice()
    net.hold = isVote(Phase.PRE_PREPARE)
    const { hash } = net.submit(0, signedTx(alice))
    const round = net.roundOf(0, hash)!
    const strangers = [observerId, nodeIdentity('stranger-a'), nodeIdentity('stranger-b')]
    for (const who of strangers) {
      const v = voteBy(who, Phase.PRE_PREPARE, batchDigest(round.batch).hash, 1, {
        0: RejectReason.BAD_SIGNATURE,
      })
      net.step(0, { type: 'batch-vote', vote: v, from: who.peerIdString })
    }
    expect(round.txs[0]!.rejects.size).toBe(0)
    expect(round.votes.size).toBe(1) // the target's own
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
  })
})

// ------------------------------------------------------------------ 5. timeout

describe('the round deadline', () => {
  it('fails a round that lacks a quorum (2 validators down) at txRoundMs with TIMEOUT', () => {
    const net = netWithAlice()
    net.down.add(2).add(3)
    const { hash } = net.submit(0, signedTx(alice))
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')

    net.now = T0 + TX_ROUND_MS - 1
    net.tick()
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
    expect(net.cores[0]!.pool.has(hash)).toBe(true)

    net.now = T0 + TX_ROUND_MS + 1
    net.tick()
    const record = net.cores[0]!.tx(hash)!
    expect(record.status).toBe('failed')
    expect(record.reason?.code).toBe('TIMEOUT')
    expect(record.reason?.message).toContain('2 of 3 permits')
    expect(record.reason?.message).toContain('no answer from 2 of 4 validators')
    expect(net.statuses(0, hash)).toEqual(['pending', 'failed'])
    expect(net.cores[0]!.pool.has(hash)).toBe(false)
    expect(net.cores[0]!.txRounds.target.rounds.size).toBe(0)
    for (const i of ALL) expect(net.poolPuts(i, hash)).toEqual([])

    // a validator that permitted keeps its copy until the round is long over
    expect(net.cores[1]!.pool.get(hash)?.status).toBe('pending')
    net.now = T0 + 2 * TX_ROUND_MS + 1
    net.tick()
    expect(net.cores[1]!.pool.has(hash)).toBe(false)
    // a later tick does not report the failure twice
    expect(net.statuses(0, hash)).toEqual(['pending', 'failed'])
  })

  it('commits with 1 validator down, and a later tick leaves it committed', () => {
    const net = netWithAlice()
    net.down.add(3)
    const { hash } = net.submit(0, signedTx(alice))
    for (const i of [0, 1, 2, OBS]) expect(net.cores[i]!.pool.get(hash)?.status).toBe('committed')
    expect(net.cores[3]!.pool.has(hash)).toBe(false)
    net.now = T0 + 10 * TX_ROUND_MS
    net.tick()
    for (const i of [0, 1, 2, OBS]) {
      expect(net.cores[i]!.pool.get(hash)?.status).toBe('committed')
      expect(net.cores[i]!.tx(hash)?.status).toBe('committed')
    }
    expect(net.statuses(0, hash)).toEqual(['pending', 'prepared', 'committed'])
  })
})

// ------------------------------------------------------------------ 6. forged certificates

describe('forged certificates', () => {
  const target = validatorIds[0]!
  const batch = batchBy(target, [signedTx(alice)])
  const subject = batchDigest(batch).hash
  const other = batchDigest(batchBy(target, [signedTx(alice, { nonce: 9 })], 2)).hash
  const [v0, v1, v2, v3] = validatorIds as [NodeIdentity, NodeIdentity, NodeIdentity, NodeIdentity]

  const cert = (phase: Phase, signers: NodeIdentity[], about = subject): BatchCertificate =>
    certOf(phase, signers, about, 1)
  const tampered = (c: BatchCertificate): BatchCertificate => {
    const sig = new Uint8Array(c.votes[1]!.signature)
    sig[0]! ^= 0x01
    return { ...c, votes: c.votes.map((v, i) => (i === 1 ? { ...v, signature: sig } : v)) }
  }
  /** one vote of the certificate replaced by `vote` */
  const withVote = (c: BatchCertificate, index: number, vote: BatchVote): BatchCertificate => ({
    ...c,
    votes: c.votes.map((v, i) => (i === index ? vote : v)),
  })
  const rejectVotes = (phase: Phase): BatchCertificate =>
    certOf(phase, [v0, v1, v2], subject, 1, { 0: RejectReason.NONCE_USED })
  /** a signed reject with its rejected list stripped after signing: it reads as a permit */
  const turnedPermit = (phase: Phase): BatchVote => ({
    ...voteBy(v2, phase, subject, 1, { 0: RejectReason.NONCE_USED }),
    rejected: [],
    reasons: [],
  })

  const prepareWith = (c: BatchCertificate): BatchPrepare => ({
    target: target.peerId,
    batch: subject,
    cert: c,
  })
  const commitWith = (c: BatchCertificate): BatchCommit => ({ batch: subject, cert: c })

  const forgeries = (right: Phase, wrong: Phase) => [
    { name: 'too few voters', code: 'CERT_TOO_FEW_SIGNERS', cert: cert(right, [v0, v1]) },
    { name: 'a duplicated voter', code: 'CERT_DUPLICATE_SIGNER', cert: cert(right, [v0, v1, v1]) },
    {
      name: 'a non-validator voter',
      code: 'CERT_NOT_A_VALIDATOR',
      cert: cert(right, [v0, v1, observerId]),
    },
    { name: 'the wrong phase', code: 'CERT_WRONG_PHASE', cert: cert(wrong, [v0, v1, v2]) },
    { name: 'another batch', code: 'CERT_WRONG_SUBJECT', cert: cert(right, [v0, v1, v2], other) },
    {
      name: 'a vote for another batch',
      code: 'CERT_WRONG_SUBJECT',
      cert: withVote(cert(right, [v0, v1, v2]), 2, voteBy(v2, right, other, 1)),
    },
    {
      name: 'a vote for another batch size',
      code: 'CERT_WRONG_SUBJECT',
      cert: withVote(cert(right, [v0, v1, v2]), 2, voteBy(v2, right, subject, 2)),
    },
    {
      name: 'a vote of another phase',
      code: 'CERT_WRONG_SUBJECT',
      cert: withVote(cert(right, [v0, v1, v2]), 2, voteBy(v2, wrong, subject, 1)),
    },
    {
      name: 'a tampered signature',
      code: 'CERT_BAD_SIGNATURE',
      cert: tampered(cert(right, [v0, v1, v2])),
    },
    {
      name: 'a reject turned into a permit',
      code: 'CERT_BAD_SIGNATURE',
      cert: withVote(cert(right, [v0, v1, v2]), 2, turnedPermit(right)),
    },
    { name: 'signed rejects', code: 'CERT_TOO_FEW_SIGNERS', cert: rejectVotes(right) },
  ]

  it('accepts a well-formed Prepare and Commit (the forgeries differ from these in one way)', () => {
    expect(() =>
      validateBatchPrepare(ctx, prepareWith(cert(Phase.PRE_PREPARE, [v0, v1, v2]))),
    ).not.toThrow()
    expect(() =>
      validateBatchPrepare(ctx, prepareWith(cert(Phase.PRE_PREPARE, [v3, v1, v2, v0]))),
    ).not.toThrow()
    expect(() =>
      validateBatchCommit(ctx, commitWith(cert(Phase.PREPARE, [v1, v2, v3]))),
    ).not.toThrow()
    // q permits and one reject: still q permits for the tx
    const mixed = withVote(
      cert(Phase.PREPARE, [v0, v1, v2, v3]),
      3,
      voteBy(v3, Phase.PREPARE, subject, 1, { 0: RejectReason.UNKNOWN_TX }),
    )
    expect(() => validateBatchCommit(ctx, commitWith(mixed))).not.toThrow()
    expect(tallyBatch(mixed, Q)).toMatchObject({ permits: [3], certified: [true] })
  })

  it.each(forgeries(Phase.PRE_PREPARE, Phase.PREPARE))(
    'rejects a Prepare whose certificate has $name ($code)',
    ({ code, cert: c }) => {
      const err = validationError(() => validateBatchPrepare(ctx, prepareWith(c)))
      expect(err.action).toBe('reject')
      expect(err.code).toBe(code)
    },
  )

  it.each(forgeries(Phase.PREPARE, Phase.PRE_PREPARE))(
    'rejects a Commit whose certificate has $name ($code)',
    ({ code, cert: c }) => {
      const err = validationError(() => validateBatchCommit(ctx, commitWith(c)))
      expect(err.action).toBe('reject')
      expect(err.code).toBe(code)
    },
  )

  it('rejects a batch not signed by the target it names (the Prepare’s certificate is bound to it)', () => {
    // BatchPrepare carries no signature of its own: it names a batch whose hash covers the
    // target, and the batch is what the target signs
    const byAnother = signTxBatch(
      v1.signer,
      CHAIN_ID,
      batchHeader(target.peerId, 1, batch.txs),
      batch.txs,
    )
    expect(batchDigest(byAnother).hashHex).toBe(batchDigest(batch).hashHex)
    const err = validationError(() => validateTxBatch(ctx, byAnother))
    expect(err.action).toBe('reject')
    expect(err.code).toBe('BAD_SIGNATURE')
    expect(() => validateTxBatch(ctx, batch)).not.toThrow()
  })

  it('drops a forged Prepare in the network, so no validator votes on it', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    net.hold = (s) => s.action.type === 'send-batch-vote'
    const { hash } = net.submit(0, tx)
    net.hold = null
    net.held.splice(0)
    const [published] = net.batches(0)
    const d = batchDigest(published!)
    // core 0 publishes a Prepare whose certificate has only two voters
    const forged: BatchPrepare = {
      target: target.peerId,
      batch: d.hash,
      cert: certOf(Phase.PRE_PREPARE, [v0, v1], d.hash, 1),
    }
    net.inject(0, { type: 'publish', topic: 'prepare', message: forged })
    net.run()
    expect(net.dropped.map((x) => x.code)).toEqual(['CERT_TOO_FEW_SIGNERS'])
    for (const i of [1, 2, 3]) {
      expect(net.votesSent(i, Phase.PREPARE)).toEqual([])
      expect(net.cores[i]!.pool.get(hash)?.status).toBe('pending')
    }
  })
})

// ------------------------------------------------------------------ 7. admission

describe('admission of a client tx', () => {
  const stranger = accountIdentity('stranger')

  interface Case {
    name: string
    code: string
    httpStatus?: number
    poolLimits?: PoolLimits
    /** make the state the refusal needs; return the tx to refuse */
    arrange: (net: Net) => Tx
  }

  const cases: Case[] = [
    {
      name: 'a signature by another key',
      code: 'BAD_SIGNATURE',
      arrange: () => ({ ...signedTx(stranger), from: alice.from }),
    },
    {
      name: 'a tampered signature',
      code: 'BAD_SIGNATURE',
      arrange: () => {
        const tx = signedTx(alice)
        const signature = new Uint8Array(tx.signature)
        signature[10]! ^= 0xff
        return { ...tx, signature }
      },
    },
    {
      name: 'a sender without an account',
      code: 'UNKNOWN_SENDER',
      arrange: () => signedTx(stranger),
    },
    {
      name: 'a nonce below the account’s next nonce',
      code: 'NONCE_USED',
      arrange: (net) => {
        // the authority's account is final (genesis); as if blocks had used nonces 0..2
        net.cores[0]!.ledger.account(authority.address)!.nextNonce = 3
        return signedTx(authority, { nonce: 2 })
      },
    },
    {
      name: 'a nonce taken by a pooled tx',
      code: 'NONCE_USED',
      arrange: (net) => {
        net.down.add(1).add(2).add(3) // keep the first one pending
        expect(net.submit(0, signedTx(alice, { nonce: 0 })).result.ok).toBe(true)
        return signedTx(alice, { nonce: 0, data: utf8.encode('conflict') })
      },
    },
    {
      name: 'gas above the balance',
      code: 'INSUFFICIENT_GAS',
      arrange: () => signedTx(alice, { gas: 1 }),
    },
    {
      name: 'gas above the balance net of pending gas',
      code: 'INSUFFICIENT_GAS',
      arrange: (net) => {
        net.down.add(1).add(2).add(3)
        expect(net.submit(0, signedTx(authority, { nonce: 0, gas: 600 })).result.ok).toBe(true)
        return signedTx(authority, { nonce: 1, gas: GRANT - 600 + 1 })
      },
    },
    {
      name: 'a gas grant signed by a non-authority',
      code: 'UNAUTHORIZED',
      arrange: () =>
        signedTx(alice, {
          kind: TxKind.GAS_GRANT,
          data: GasGrantCodec.encode({ to: alice.from, amount: 10 }),
        }),
    },
    {
      name: 'another chain',
      code: 'WRONG_CHAIN',
      arrange: () => signedTx(alice, { chainId: 'other-chain' }),
    },
    {
      name: 'a full pool (maxTxs 1, one tx in it)',
      code: 'POOL_FULL',
      httpStatus: 503,
      poolLimits: { maxTxs: 1, maxBytes: 1 << 20 },
      arrange: (net) => {
        net.down.add(1).add(2).add(3)
        expect(net.submit(0, signedTx(authority, { nonce: 0 })).result.ok).toBe(true)
        return signedTx(alice, { nonce: 0 })
      },
    },
  ]

  it.each(cases)('refuses $name with $code', ({ code, httpStatus, poolLimits, arrange }) => {
    const net = netWithAlice(poolLimits ? { poolLimits } : {})
    const tx = arrange(net)
    const core = net.cores[0]!
    const sizesBefore = core.pool.sizes()
    const batchesBefore = net.batches(0).length
    const timersBefore = net.timers.length
    const { hash, result } = net.submit(0, tx)
    expect(result).toMatchObject({ ok: false, code, httpStatus: httpStatus ?? 400 })
    if (!result.ok) expect(result.message.length).toBeGreaterThan(0)
    // nothing entered the pool, no round started or waits, nothing went out
    expect(core.pool.has(hash)).toBe(false)
    expect(core.pool.sizes()).toEqual(sizesBefore)
    expect(net.roundOf(0, hash)).toBeUndefined()
    expect(core.txRounds.target.waiting.has(hash)).toBe(false)
    expect(net.batches(0)).toHaveLength(batchesBefore)
    expect(net.timers).toHaveLength(timersBefore)
  })

  it('admits what the refusals lack: the right key, a free nonce, covered gas, an authority grant', () => {
    const net = netWithAlice({ poolLimits: { maxTxs: 2, maxBytes: 1 << 20 } })
    net.down.add(1).add(2).add(3)
    const grant = signedTx(authority, {
      kind: TxKind.GAS_GRANT,
      gas: GRANT,
      data: GasGrantCodec.encode({ to: alice.from, amount: 10 }),
    })
    expect(net.submit(0, grant).result).toMatchObject({ ok: true, status: 'pending' })
    expect(net.submit(0, signedTx(alice, { nonce: 4 })).result).toMatchObject({ ok: true })
    expect(net.cores[0]!.pool.sizes().pending).toBe(2)
    expect(net.cores[0]!.account(alice.address)?.pendingNonce).toBe(5)
  })
})

// ------------------------------------------------------------------ 8. restore

describe('restore', () => {
  const accountsPut = (net: Net, i: number) =>
    net.emitted[i]!.flatMap((a) =>
      a.type === 'persist' ? a.ops.filter((op) => op.op === 'account-pending-put') : [],
    ) as Extract<PersistOp, { op: 'account-pending-put' }>[]

  it('brings back a committed tx and the pending accounts from the persisted ops', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const { hash } = net.submit(0, tx)
    const puts = net.poolPuts(1)
    expect(puts).toHaveLength(1)
    expect(toHex(puts[0]!.batch)).toBe(batchDigest(net.batches(0)[0]!).hashHex)
    const accounts = accountsPut(net, 1)
    expect(accounts.map((a) => a.address)).toEqual([alice.address])

    const id = validatorIds[1]!
    const restarted = new Core({ seed: 1, genesis, self: id.peerIdString, signer: id.signer })
    restarted.restore(
      {
        committed: puts.map(({ hash, tx, batch }) => ({ hash, tx, batch })),
        pendingAccounts: accounts.map(({ address, reg }) => ({ address, reg })),
      },
      T0 + 5_000,
    )
    expect(restarted.pool.get(hash)?.status).toBe('committed')
    expect(restarted.pool.committed().map((e) => e.hash)).toEqual([hash])
    expect(restarted.tx(hash)?.status).toBe('committed')
    expect(restarted.txBody(hash)).toEqual(tx)
    expect(restarted.account(alice.address)?.status).toBe('pending')
    expect(restarted.account(alice.address)?.pendingNonce).toBe(1)

    // it is not forgotten by time, and its nonce stays taken
    restarted.step({ type: 'tick', now: T0 + 100 * TX_ROUND_MS })
    expect(restarted.pool.get(hash)?.status).toBe('committed')
    const replay = restarted.step({
      type: 'client-tx',
      now: T0 + 100 * TX_ROUND_MS,
      requestId: 1,
      tx: signedTx(alice, { nonce: 0, data: utf8.encode('again') }),
    })
    expect(clientResult(replay, 1)).toMatchObject({ ok: false, code: 'NONCE_USED' })
    // the same tx again is answered as committed, not run again
    const same = restarted.step({
      type: 'client-tx',
      now: T0 + 100 * TX_ROUND_MS,
      requestId: 2,
      tx,
    })
    expect(clientResult(same, 2)).toEqual({ ok: true, hash, status: 'committed' })
    expect(same.some((a) => a.type === 'publish' || a.type === 'set-timer')).toBe(false)
    expect(restarted.txRounds.target.waiting.size).toBe(0)
  })

  it('drops a restored committed tx whose nonce the chain has used, from the store too', () => {
    const net = netWithAlice()
    const { hash } = net.submit(0, signedTx(alice))
    const puts = net.poolPuts(1)
    expect(puts.map((p) => p.hash)).toEqual([hash])
    const id = validatorIds[1]!
    const restarted = new Core({ seed: 1, genesis, self: id.peerIdString, signer: id.signer })
    // the chain on its disk is past alice's nonce 0 (a store from before the rule kept the tx)
    restarted.restoreChain(
      {
        head: { height: 1, hash: hashOf('block 1'), time: T0, stateRoot: hashOf('root 1') },
        accounts: [
          {
            address: alice.address,
            username: 'alice',
            data: '',
            keyType: 'ed25519',
            publicKey: alice.signer.publicKey,
            registeredAt: 1,
            nextNonce: 1,
            missingNonces: [],
            hasTransacted: true,
            lastBlockIndex: 1,
            gasUsed: 0,
            expiredGas: 0,
            lots: [],
          },
        ],
        unclaimed: [],
        signState: null,
      },
      T0,
    )
    restarted.restore(
      { committed: puts.map(({ hash, tx, batch }) => ({ hash, tx, batch })), pendingAccounts: [] },
      T0,
    )
    expect(restarted.pool.has(hash)).toBe(false)
    expect(restarted.pool.sizes().committed).toBe(0)
    const actions = restarted.step({ type: 'tick', now: T0 })
    const dels = actions.flatMap((a) => (a.type === 'persist' ? a.ops : []))
    expect(dels).toContainEqual({ op: 'pool-del', hash })
  })

  it('counts restored txs toward the pool’s byte bound as before the restart', () => {
    const net = netWithAlice()
    const { hash } = net.submit(0, signedTx(alice))
    const before = net.cores[1]!.pool.sizes()
    expect(before.bytes).toBeGreaterThan(0)
    const id = validatorIds[1]!
    const restarted = new Core({ seed: 1, genesis, self: id.peerIdString, signer: id.signer })
    restarted.restore(
      {
        committed: net.poolPuts(1).map(({ hash, tx, batch }) => ({ hash, tx, batch })),
        pendingAccounts: [],
      },
      T0,
    )
    expect(restarted.pool.get(hash)?.status).toBe('committed')
    expect(restarted.pool.sizes().bytes).toBe(before.bytes)
  })
})

// ------------------------------------------------------------------ the round window

describe('a target runs a window of batches and queues the rest', () => {
  /** every vote addressed to core 0: none of its rounds can end while they are held */
  const votesToTarget = (s: Sent): boolean =>
    s.action.type === 'send-batch-vote' && s.action.to === validatorIds[0]!.peerIdString

  it('starts at most the window, answers every tx pending, and starts the rest in order as rounds end', () => {
    const net = netWithAlice()
    const rounds = net.cores[0]!.txRounds.target
    const window = rounds.window.size
    const extra = 5
    net.hold = votesToTarget
    const orderedHashes: string[] = []
    for (let nonce = 0; nonce < window + extra; nonce++) {
      const { hash, result } = net.submit(0, signedTx(alice, { nonce }))
      expect(result).toEqual({ ok: true, hash, status: 'pending' })
      orderedHashes.push(hash)
    }
    // one batch per tx while the window has room (batchWaitMs 0), then they wait
    expect(net.batches(0).map(hashesOf)).toEqual(orderedHashes.slice(0, window).map((h) => [h]))
    expect(rounds.rounds.size).toBe(window)
    expect([...rounds.waiting.keys()]).toEqual(orderedHashes.slice(window))
    // a waiting tx is held in the target's pool (its nonce is taken) but nowhere else yet
    const waitingHash = orderedHashes[window]!
    expect(net.cores[0]!.pool.has(waitingHash)).toBe(true)
    expect(net.cores[2]!.pool.has(waitingHash)).toBe(false)

    net.hold = null
    net.release()
    // every round ended; the waiting txs went out together, in arrival order, in the batch
    // that the first free slot started; and all committed everywhere
    expect(net.batches(0).map(hashesOf)).toEqual([
      ...orderedHashes.slice(0, window).map((h) => [h]),
      orderedHashes.slice(window),
    ])
    expect(rounds.rounds.size).toBe(0)
    expect(rounds.waiting.size).toBe(0)
    for (const hash of orderedHashes)
      for (const i of ALL) expect(net.cores[i]!.tx(hash)?.status, `core ${i}`).toBe('committed')
  })

  it('runs a waiting batch’s deadline from its start, and halves the window on a timeout', () => {
    const net = netWithAlice()
    const rounds = net.cores[0]!.txRounds.target
    const window = rounds.window.size
    net.hold = votesToTarget
    const hashes = Array.from(
      { length: window + 1 },
      (_, nonce) => net.submit(0, signedTx(alice, { nonce })).hash,
    )
    const last = hashes[window]!
    expect(rounds.waiting.has(last)).toBe(true)

    // the running rounds reach their deadline without a vote; they fail
    net.now += TX_ROUND_MS
    net.tick()
    for (const hash of hashes.slice(0, window)) {
      expect(net.cores[0]!.tx(hash)?.status).toBe('failed')
      expect(net.cores[0]!.tx(hash)?.reason?.code).toBe('TIMEOUT')
    }
    expect(rounds.window.size).toBe(window / 2)
    // the waiting tx started only now: pending, with a full round ahead of it
    expect(net.cores[0]!.tx(last)?.status).toBe('pending')
    expect(net.roundOf(0, last)?.deadline).toBe(net.now + TX_ROUND_MS)

    // and it commits once the votes flow
    net.hold = null
    net.release()
    expect(net.cores[0]!.tx(last)?.status).toBe('committed')
  })

  it('refuses with POOL_FULL (503) when too many txs already wait, and takes none of it', () => {
    const net = netWithAlice({ maxWaitingTxs: 2 })
    const rounds = net.cores[0]!.txRounds.target
    const window = rounds.window.size
    net.hold = votesToTarget
    for (let nonce = 0; nonce < window + 2; nonce++)
      expect(net.submit(0, signedTx(alice, { nonce })).result).toMatchObject({ ok: true })
    expect(rounds.waiting.size).toBe(2)
    const tx = signedTx(alice, { nonce: window + 2 })
    // what the API asks before it reads a body says the same as a submission
    const ahead = net.cores[0]!.txAdmission(net.now)
    const { hash, result } = net.submit(0, tx)
    expect(result).toMatchObject({ ok: false, code: 'POOL_FULL', httpStatus: 503 })
    expect(result.ok === false && result.message).toMatch(/2 txs already wait for a round/)
    expect(ahead).toEqual({ room: 0, refusal: result })
    expect(net.cores[0]!.pool.has(hash)).toBe(false)
    expect(rounds.waiting.has(hash)).toBe(false)
  })

  it('takes only what it can end in time: beyond that, 503 POOL_FULL with a Retry-After, and nothing taken', () => {
    // one tx a batch: the floor before any round committed is a couple of batches
    const net = netWithAlice({ batchTxs: 1, maxWaitingTxs: 10_000 })
    const rounds = net.cores[0]!.txRounds.target
    net.hold = votesToTarget
    const floor = ADMISSION_FLOOR_BATCHES
    for (let nonce = 0; nonce < floor; nonce++) {
      // room for the rest of the floor; what is beyond it is refused as the submission would be
      const { room, refusal } = net.cores[0]!.txAdmission(net.now)
      expect(room).toBe(floor - nonce)
      expect(refusal.message).toMatch(new RegExp(`holds ${floor} txs for rounds`))
      expect(net.submit(0, signedTx(alice, { nonce })).result).toMatchObject({ ok: true })
    }
    const tx = signedTx(alice, { nonce: floor })
    const ahead = net.cores[0]!.txAdmission(net.now)
    const { hash, result } = net.submit(0, tx)
    expect(ahead).toEqual({ room: 0, refusal: result })
    expect(result).toMatchObject({ ok: false, code: 'POOL_FULL', httpStatus: 503 })
    if (result.ok) throw new Error('expected a refusal')
    expect(result.message).toMatch(new RegExp(`holds ${floor} txs for rounds`))
    // no round has ended: it cannot say when, so it names the longest wait
    expect(result.retryAfterMs).toBe(MAX_RETRY_AFTER_MS)
    expect(net.cores[0]!.pool.has(hash)).toBe(false)
    expect(rounds.waiting.has(hash)).toBe(false)
    // the rounds end: it takes txs again
    net.hold = null
    expect(net.release()).toBeGreaterThan(0)
    net.run()
    for (let nonce = 0; nonce < floor; nonce++)
      expect(net.cores[0]!.tx(toHex(txHash(signedTx(alice, { nonce }))))?.status).toBe('committed')
    expect(net.cores[0]!.txAdmission(net.now).room).toBeGreaterThan(0)
    expect(net.submit(0, tx).result).toMatchObject({ ok: true })
  })

  it('takes no new tx while a few blocks’ worth of committed txs wait for blocks: 503 with Retry-After', () => {
    const net = netWithAlice()
    const pool = net.cores[0]!.pool
    // committed txs of other targets, waiting for blocks (the pool does not check them)
    const filler = signedTx(alice, { nonce: 99 })
    for (let i = 0; i < MAX_COMMITTED_BACKLOG; i++) {
      const h = `${i.toString(16).padStart(8, '0')}${'0'.repeat(56)}`
      pool.add(h, filler, 100, T0)
      pool.markCommitted(h)
    }
    const ahead = net.cores[0]!.txAdmission(net.now)
    const { hash, result } = net.submit(0, signedTx(alice, { nonce: 0 }))
    expect(result).toMatchObject({
      ok: false,
      code: 'POOL_FULL',
      httpStatus: 503,
      retryAfterMs: BACKLOG_RETRY_AFTER_MS,
    })
    expect(ahead).toEqual({ room: 0, refusal: result })
    expect(result.ok === false && result.message).toMatch(/committed txs already wait for a block/)
    expect(pool.has(hash)).toBe(false)
  })

  it('does not run a waiting tx that another target got committed meanwhile', () => {
    const net = netWithAlice()
    const rounds = net.cores[0]!.txRounds.target
    const window = rounds.window.size
    // fill core 0's window with rounds that cannot end
    net.hold = votesToTarget
    for (let nonce = 0; nonce < window; nonce++) net.submit(0, signedTx(alice, { nonce }))
    const tx = signedTx(alice, { nonce: window })
    const { hash } = net.submit(0, tx)
    expect(rounds.waiting.has(hash)).toBe(true)
    // the same tx through core 2: its round commits (only votes to core 0 are held)
    net.submit(2, tx)
    expect(net.batches(2).map(hashesOf)).toEqual([[hash]])
    expect(net.cores[0]!.tx(hash)?.status).toBe('committed')
    net.hold = null
    net.release()
    // core 0 never ran a round of its own for it
    expect(net.batches(0).flatMap(hashesOf)).not.toContain(hash)
    expect(net.batches(0)).toHaveLength(window)
    expect(rounds.waiting.has(hash)).toBe(false)
    expect(net.cores[0]!.pool.get(hash)?.status).toBe('committed')
  })
})

// ------------------------------------------------------------------ 9. batching

describe('batching', () => {
  const WAIT = 10

  it('sends the client txs that arrive within batchWaitMs in one TxBatch, and commits them in one round', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    const txs = [0, 1, 2].map((nonce) => signedTx(alice, { nonce }))
    const hashes: string[] = []
    for (const [k, tx] of txs.entries()) {
      net.now = T0 + 3 * k // within WAIT of the first
      const { hash, result } = net.submit(0, tx)
      expect(result).toEqual({ ok: true, hash, status: 'pending' })
      hashes.push(hash)
    }
    // nothing went out yet: the batch timer waits for the first tx's WAIT to pass
    expect(net.batches(0)).toEqual([])
    expect([...net.cores[0]!.txRounds.target.waiting.keys()]).toEqual(hashes)
    const timers = net.emitted[0]!.filter((a) => a.type === 'set-timer' && a.key === 'tx-batch')
    expect(timers).toEqual([{ type: 'set-timer', key: 'tx-batch', at: T0 + WAIT }])
    net.advanceTo(T0 + WAIT - 1)
    expect(net.batches(0)).toEqual([])

    net.advanceTo(T0 + WAIT)
    const batches = net.batches(0)
    expect(batches).toHaveLength(1)
    const batch = batches[0]!
    expect(batch.txs).toEqual(txs)
    const d = batchDigest(batch)
    expect(d.txHashesHex).toEqual(hashes)

    // one round: one Prepare and one Commit, certifying all three txs
    expect(net.prepares(0)).toHaveLength(1)
    const commits = net.commits(0)
    expect(commits).toHaveLength(1)
    const tally = verifyBatchCertificate(
      CHAIN_ID,
      commits[0]!.cert!,
      { phase: Phase.PREPARE, batch: d.hash, count: 3 },
      validatorSet,
    )
    expect(tally.certified).toEqual([true, true, true])
    // each validator answered each phase with one vote for the whole batch
    for (const i of [1, 2, 3]) {
      for (const phase of [Phase.PRE_PREPARE, Phase.PREPARE]) {
        const votes = net.votesSent(i, phase)
        expect(votes).toHaveLength(1)
        expect(votes[0]).toMatchObject({ count: 3, rejected: [], reasons: [] })
        expect(votes[0]!.batch).toEqual(d.hash)
      }
    }
    for (const hash of hashes) {
      expect(net.statuses(0, hash)).toEqual(['pending', 'prepared', 'committed'])
      expect(net.cores[0]!.tx(hash)?.votes.prePrepare).toHaveLength(Q)
      for (const i of ALL) {
        expect(net.cores[i]!.pool.get(hash)?.status, `core ${i}`).toBe('committed')
        expect(net.poolPuts(i, hash).map((p) => toHex(p.batch))).toEqual([d.hashHex])
      }
    }
    // committed in batch order
    for (const i of ALL) expect(net.cores[i]!.pool.committed().map((e) => e.hash)).toEqual(hashes)
    expect(net.cores[0]!.txRounds.target.rounds.size).toBe(0)
    expect(net.cores[0]!.txRounds.target.waiting.size).toBe(0)
    expect(net.dropped).toEqual([])
  })

  it('waits BUSY_WAIT_FACTOR times batchWaitMs while its rate fills a batch in that time, with no round running', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    // enough committed in the last second that the longer wait gathers BUSY_GATHER_TXS txs
    const busyWait = WAIT * BUSY_WAIT_FACTOR
    const burst = Math.ceil((BUSY_GATHER_TXS * 1_000) / busyWait)
    for (let nonce = 0; nonce < burst; nonce++)
      expect(net.submit(0, signedTx(alice, { nonce })).result).toMatchObject({ ok: true })
    net.advanceTo(T0 + WAIT)
    expect(net.commits(0)).toHaveLength(1)
    expect(net.cores[0]!.txRounds.target.rounds.size).toBe(0)

    // a lone tx now: no round runs, but at this rate more are due, so it waits the longer time
    const t1 = T0 + 100
    net.now = t1
    expect(net.submit(0, signedTx(alice, { nonce: burst })).result).toMatchObject({ ok: true })
    net.advanceTo(t1 + busyWait - 1)
    expect(net.batches(0)).toHaveLength(1)
    net.advanceTo(t1 + busyWait)
    expect(net.batches(0)).toHaveLength(2)
    expect(net.batches(0)[1]!.txs).toHaveLength(1)
  })

  it('sends a lone tx after batchWaitMs when its rate would not fill the longer wait', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    expect(net.submit(0, signedTx(alice, { nonce: 0 })).result).toMatchObject({ ok: true })
    net.advanceTo(T0 + WAIT)
    expect(net.commits(0)).toHaveLength(1)
    // one tx a second is far from BUSY_GATHER_TXS in the longer wait
    const t1 = T0 + 100
    net.now = t1
    expect(net.submit(0, signedTx(alice, { nonce: 1 })).result).toMatchObject({ ok: true })
    net.advanceTo(t1 + WAIT - 1)
    expect(net.batches(0)).toHaveLength(1)
    net.advanceTo(t1 + WAIT)
    expect(net.batches(0)).toHaveLength(2)
  })

  it('fails alone, with its reason, a tx of the batch that more than n - q validators reject; the others commit', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    // bob's registration reaches only cores 0, 1 and the observer
    net.down.add(2).add(3)
    expect(net.register(0, bob, 'bob').ok).toBe(true)
    net.down.clear()
    expect(net.cores[2]!.pool.pendingAccount(bob.address)).toBeUndefined()
    const txs = [
      signedTx(alice, { nonce: 0 }),
      signedTx(bob, { nonce: 0 }),
      signedTx(alice, { nonce: 1 }),
    ]
    const [a, b, c] = txs.map((tx) => net.submit(0, tx).hash) as [string, string, string]
    net.advanceTo(T0 + WAIT)

    const [batch] = net.batches(0)
    expect(batch?.txs).toEqual(txs)
    const d = batchDigest(batch!)
    // validators 2 and 3 reject bob's tx alone, with its reason
    for (const i of [2, 3]) {
      const [vote] = net.votesSent(i, Phase.PRE_PREPARE)
      expect(rejectsOf(vote!)).toEqual({ 1: RejectReason.UNKNOWN_SENDER })
    }
    expect(net.votesSent(1, Phase.PRE_PREPARE)[0]!.rejected).toEqual([])

    const failed = net.cores[0]!.tx(b)!
    expect(failed.status).toBe('failed')
    expect(failed.reason?.code).toBe('UNKNOWN_SENDER')
    expect(failed.reason?.message).toContain('rejected by 2 of 4 validators')
    expect(net.statuses(0, b)).toEqual(['pending', 'failed'])
    expect(net.cores[0]!.pool.has(b)).toBe(false)

    // the Prepare certifies a and c only; the validators' PREPARE votes say b is not prepared
    const [prepare] = net.prepares(0)
    expect(tallyBatch(prepare!.cert!, Q).certified).toEqual([true, false, true])
    for (const i of [1, 2, 3]) {
      const [vote] = net.votesSent(i, Phase.PREPARE)
      expect(rejectsOf(vote!)).toEqual({ 1: RejectReason.NOT_PREPARED })
    }
    const [commit] = net.commits(0)
    const tally = verifyBatchCertificate(
      CHAIN_ID,
      commit!.cert!,
      { phase: Phase.PREPARE, batch: d.hash, count: 3 },
      validatorSet,
    )
    expect(tally.certified).toEqual([true, false, true])

    for (const hash of [a, c]) {
      expect(net.statuses(0, hash)).toEqual(['pending', 'prepared', 'committed'])
      expect(net.cores[0]!.tx(hash)?.reason).toBeNull()
    }
    for (const i of ALL) {
      expect(
        net.cores[i]!.pool.committed().map((e) => e.hash),
        `core ${i}`,
      ).toEqual([a, c])
      expect(net.cores[i]!.pool.get(b)?.status).not.toBe('committed')
      expect(net.poolPuts(i).map((p) => p.hash)).toEqual([a, c])
    }
  })

  it('ends a phase at the grace after q validators answered, failing alone the tx still short of q permits', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    // bob's registration reaches only cores 0, 1 and the observer; validator 3 is down
    net.down.add(2).add(3)
    expect(net.register(0, bob, 'bob').ok).toBe(true)
    net.down.delete(2)
    const a = net.submit(0, signedTx(alice, { nonce: 0 })).hash
    const b = net.submit(0, signedTx(bob, { nonce: 0 })).hash
    net.advanceTo(T0 + WAIT)
    // 0, 1 and 2 answered: a has q permits, b has 2 permits and 1 reject, 3 is silent
    const round = net.roundOf(0, a)!
    expect(round.phase).toBe('pre-prepare')
    expect(round.votes.size).toBe(Q)
    expect(round.quorumAt).toBe(T0 + WAIT)
    // the quorum came at once: the grace is its floor, a share of txRoundMs
    const graceMs = GRACE_SHARE * TX_ROUND_MS
    expect(graceMs).toBeGreaterThan(MIN_GRACE_MS)
    const grace = { core: 0, key: `tx-grace:${round.hash}`, at: T0 + WAIT + graceMs }
    expect(net.timers).toContainEqual(grace)
    expect(net.prepares(0)).toEqual([])
    net.advanceTo(grace.at - 1)
    expect(net.prepares(0)).toEqual([])
    expect(net.cores[0]!.tx(b)?.status).toBe('pending')

    // the grace is over: b fails, a goes on and commits; one reject (f = 1) names no reason
    // (it could be a lie), so b fails NO_QUORUM, with what the rejecter said in its message
    net.advanceTo(grace.at)
    const failed = net.cores[0]!.tx(b)!
    expect(failed.status).toBe('failed')
    expect(failed.reason?.code).toBe('NO_QUORUM')
    expect(failed.reason?.message).toContain('rejected by 1 of 4 validators (1 UNKNOWN_SENDER)')
    expect(failed.reason?.rejectedBy).toBeUndefined()
    expect(failed.reason?.message).toContain('2 of 3 permits in pre-prepare')
    expect(tallyBatch(net.prepares(0)[0]!.cert!, Q).certified).toEqual([true, false])
    expect(net.cores[0]!.tx(a)?.status).toBe('committed')
    for (const i of [0, 1, 2, OBS]) {
      expect(
        net.cores[i]!.pool.committed().map((e) => e.hash),
        `core ${i}`,
      ).toEqual([a])
    }
  })

  it('a lone Byzantine reject names no reason: a slow honest permit within the grace commits the tx, past it the tx fails NO_QUORUM', () => {
    // validator 3 lies: NONCE_USED for a tx whose nonce is free; validator 2 answers late
    const lying = (net: Net): string => {
      net.down.add(3) // only its lie reaches the target
      net.hold = isVote(Phase.PRE_PREPARE, 2)
      const { hash } = net.submit(0, signedTx(alice, { nonce: 0 }))
      net.advanceTo(T0 + WAIT)
      const round = net.roundOf(0, hash)!
      const lie = voteBy(validatorIds[3]!, Phase.PRE_PREPARE, fromHex(round.hash), 1, {
        0: RejectReason.NONCE_USED,
      })
      net.step(0, { type: 'batch-vote', vote: lie, from: net.peer(3) })
      net.run()
      expect(round.votes.size).toBe(Q)
      expect(round.txs[0]!.rejects.size).toBe(1)
      return hash
    }
    const graceMs = GRACE_SHARE * TX_ROUND_MS

    // the honest permit comes after twice the quorum's time (0 ms here) but within the grace
    const slow = netWithAlice({ batchWaitMs: WAIT })
    const a = lying(slow)
    slow.advanceTo(T0 + WAIT + graceMs - 1)
    expect(slow.cores[0]!.tx(a)?.status).toBe('pending')
    slow.release(isVote(Phase.PRE_PREPARE, 2))
    expect(slow.cores[0]!.tx(a)?.status).toBe('committed')
    for (const i of [0, 1, 2, OBS])
      expect(slow.cores[i]!.pool.get(a)?.status, `core ${i}`).toBe('committed')

    // it does not come: the tx fails, retryable, and the lie is only quoted
    const lost = netWithAlice({ batchWaitMs: WAIT })
    const b = lying(lost)
    lost.advanceTo(T0 + WAIT + graceMs)
    const failed = lost.cores[0]!.tx(b)!
    expect(failed.status).toBe('failed')
    expect(failed.reason?.code).toBe('NO_QUORUM')
    expect(failed.reason?.message).toContain('(1 NONCE_USED)')
    expect(failed.reason?.message).toContain('the others did not answer in time')
  })

  it('cuts a batch at batchTxs txs and sends the rest in the next', () => {
    const net = netWithAlice({ batchWaitMs: WAIT, batchTxs: 3 })
    const hashes = Array.from(
      { length: 7 },
      (_, nonce) => net.submit(0, signedTx(alice, { nonce })).hash,
    )
    // two full batches went out at once, the seventh tx waits for the timer
    expect(net.batches(0).map(hashesOf)).toEqual([hashes.slice(0, 3), hashes.slice(3, 6)])
    expect([...net.cores[0]!.txRounds.target.waiting.keys()]).toEqual([hashes[6]])
    net.advanceTo(T0 + WAIT)
    const batches = net.batches(0).map(hashesOf)
    expect(batches).toEqual([hashes.slice(0, 3), hashes.slice(3, 6), hashes.slice(6)])
    expect(net.commits(0)).toHaveLength(3)
    for (const hash of hashes)
      for (const i of ALL)
        expect(net.cores[i]!.pool.get(hash)?.status, `core ${i}`).toBe('committed')
    for (const i of ALL) expect(net.cores[i]!.pool.committed().map((e) => e.hash)).toEqual(hashes)
  })

  it('cuts a batch before it would pass MAX_TX_BATCH_BYTES and sends the rest in the next', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    // only the target's side matters here: no one votes
    net.down.add(1).add(2).add(3).add(OBS)
    const big = (nonce: number): Tx =>
      signedTx(alice, { nonce, data: new Uint8Array(MAX_TX_DATA_BYTES).fill(nonce & 0xff) })
    const bytes = TxCodec.encode(big(0)).length
    const fit = Math.floor(MAX_TX_BATCH_BYTES / bytes)
    expect(fit).toBeLessThan(512) // the byte bound, not the default batchTxs, cuts it
    const txs = Array.from({ length: fit + 2 }, (_, nonce) => big(nonce))
    for (const tx of txs) expect(net.submit(0, tx).result).toMatchObject({ ok: true })
    expect(net.batches(0)).toEqual([])
    net.advanceTo(T0 + WAIT)
    // the full one goes at once; the rest, a partial batch, waits longer while that round runs
    expect(net.batches(0)).toHaveLength(1)
    net.advanceTo(T0 + WAIT * BUSY_WAIT_FACTOR - 1)
    expect(net.batches(0)).toHaveLength(1)
    net.advanceTo(T0 + WAIT * BUSY_WAIT_FACTOR)

    const batches = net.batches(0)
    expect(batches).toHaveLength(2)
    const [first, second] = batches as [TxBatch, TxBatch]
    // the first is as full as the bound allows: one tx more would pass it
    expect(TxBatchCodec.encode(first).length).toBeLessThanOrEqual(MAX_TX_BATCH_BYTES)
    const next = txs[first.txs.length]!
    expect(TxBatchCodec.encode({ ...first, txs: [...first.txs, next] }).length).toBeGreaterThan(
      MAX_TX_BATCH_BYTES,
    )
    // and a node decodes it: it is within the codec's limit
    expect(TxBatchCodec.decode(TxBatchCodec.encode(first)).txs).toHaveLength(first.txs.length)
    // the rest, in arrival order, in the second
    expect([...first.txs, ...second.txs]).toEqual(txs)
    expect(second.txs.length).toBeGreaterThan(0)
    expect(() => validateTxBatch(ctx, first)).not.toThrow()
    expect(() => validateTxBatch(ctx, second)).not.toThrow()
  })

  it('a validator that missed the batch asks for it on the Prepare and commits on the Commit once it arrives', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    // the TxBatch reaches validators 1 and 2 only (3 and the observer miss it)
    net.hold = isPublish('tx')
    const txs = [signedTx(alice, { nonce: 0 }), signedTx(alice, { nonce: 1 })]
    const hashes = txs.map((tx) => net.submit(0, tx).hash)
    net.advanceTo(T0 + WAIT)
    net.hold = null
    const [held] = net.held.splice(0)
    const action = held!.action
    if (action.type !== 'publish' || action.topic !== 'tx') throw new Error('expected a TxBatch')
    const d = batchDigest(action.message)
    for (const j of [1, 2])
      net.step(j, { type: 'tx-batch', batch: action.message, from: net.peer(0) })
    net.run()
    for (const hash of hashes) expect(net.cores[0]!.tx(hash)?.status).toBe('committed')

    // validator 3 never saw the batch: it has nothing to vote on the Prepare, and asks for it
    // then, naming the peer that sent the Prepare (the observer, which does not vote, too)
    expect(net.votesSent(3, Phase.PREPARE)).toEqual([])
    for (const i of [3, OBS]) {
      expect(net.fetches(i)).toEqual([{ type: 'fetch-batch', hash: d.hashHex, hint: net.peer(0) }])
      for (const hash of hashes) expect(net.cores[i]!.pool.has(hash)).toBe(false)
      expect(net.poolPuts(i)).toEqual([])
    }
    // the batch, as a peer that holds it serves it
    const served = net.cores[1]!.txRounds.batch(d.hashHex)
    expect(served).toBeDefined()
    for (const i of [3, OBS]) {
      net.step(i, { type: 'batch-fetched', batch: served!, from: net.peer(1) })
      for (const hash of hashes) {
        expect(net.cores[i]!.pool.get(hash)?.status, `core ${i}`).toBe('committed')
        expect(net.cores[i]!.tx(hash)?.status).toBe('committed')
      }
      expect(net.poolPuts(i).map((p) => [p.hash, toHex(p.batch)])).toEqual(
        hashes.map((h) => [h, d.hashHex]),
      )
      // it now holds the batch, to serve it in turn; a second copy changes nothing
      expect(net.cores[i]!.txRounds.batch(d.hashHex)).toBeDefined()
      net.step(i, { type: 'batch-fetched', batch: served!, from: net.peer(2) })
      expect(net.poolPuts(i)).toHaveLength(2)
    }
  })

  it('a committed batch lets go of its txs: the hashes stay to read late certificates, the last settled are still served', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    const txs = [signedTx(alice, { nonce: 0 }), signedTx(alice, { nonce: 1 })]
    const hashes = txs.map((tx) => net.submit(0, tx).hash)
    net.advanceTo(T0 + WAIT)
    net.run()
    const [batch] = net.batches(0)
    const d = batchDigest(batch!)
    for (const i of ALL) {
      const rounds = net.cores[i]!.txRounds
      for (const hash of hashes) expect(net.cores[i]!.tx(hash)?.status).toBe('committed')
      // the entry keeps a slot per tx hash, no more: the txs are in the pool now
      expect(rounds.sizes(), `core ${i}`).toMatchObject({
        batches: 1,
        batchBytes: 64 + txs.length * SETTLED_TX_BYTES,
        settledBatches: 1,
      })
      // still served whole to a peer that missed it
      expect(rounds.batch(d.hashHex)?.txs).toEqual(txs)
    }
    // a Commit delivered again finds the batch settled: nothing is committed or written twice
    const [commit] = net.commits(0)
    for (const i of [1, 2, 3, OBS]) {
      const before = net.poolPuts(i).length
      net.step(i, { type: 'batch-commit', msg: commit!, from: net.peer(0) })
      expect(net.poolPuts(i)).toHaveLength(before)
      expect(net.fetches(i)).toEqual([])
    }
  })

  it('serves only the last SETTLED_BATCHES settled batches whole', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    const first = net.submit(0, signedTx(alice, { nonce: 0 })).hash
    net.advanceTo(T0 + WAIT)
    net.run()
    const firstBatch = batchDigest(net.batches(0)[0]!).hashHex
    // one tx a batch: spaced so that the target's rate never makes a partial batch wait longer
    for (let nonce = 1; nonce <= SETTLED_BATCHES; nonce++) {
      net.submit(0, signedTx(alice, { nonce }))
      net.advanceTo(T0 + WAIT * BUSY_WAIT_FACTOR * (nonce + 1))
      net.run()
    }
    expect(net.cores[0]!.tx(first)?.status).toBe('committed')
    expect(net.batches(0).length).toBe(SETTLED_BATCHES + 1)
    for (const i of [0, 1]) {
      const rounds = net.cores[i]!.txRounds
      expect(rounds.sizes().settledBatches).toBeLessThanOrEqual(SETTLED_BATCHES)
      // the oldest is told unknown; its hashes stay (a late certificate can still be read)
      expect(rounds.batch(firstBatch)).toBeUndefined()
      expect(rounds.sizes().batches).toBe(SETTLED_BATCHES + 1)
      const last = batchDigest(net.batches(0).at(-1)!).hashHex
      expect(rounds.batch(last)).toBeDefined()
    }
  })

  it('refuses, before it counts or stores anything, a batch vote that names no batch of its or names it with the wrong size', () => {
    const net = netWithAlice({ batchWaitMs: WAIT })
    net.hold = (s) => isVote(Phase.PRE_PREPARE, 2)(s) || isVote(Phase.PRE_PREPARE, 3)(s)
    const txs = [signedTx(alice, { nonce: 0 }), signedTx(alice, { nonce: 1 })]
    const hashes = txs.map((tx) => net.submit(0, tx).hash)
    net.advanceTo(T0 + WAIT)
    const round = net.roundOf(0, hashes[0]!)!
    const d = batchDigest(round.batch)
    expect(round.votes.size).toBe(2)
    const v2 = validatorIds[2]!
    const logBefore = hashes.map((h) => net.cores[0]!.tx(h)!.votes.prePrepare.length)
    // properly signed by validator 2: rejecting everything, in a batch that does not exist,
    // and in this batch as if it had one tx or three
    const wrong = [
      voteBy(v2, Phase.PRE_PREPARE, hashOf('no such batch'), 2, {
        0: RejectReason.NONCE_USED,
        1: RejectReason.NONCE_USED,
      }),
      voteBy(v2, Phase.PRE_PREPARE, d.hash, 1, { 0: RejectReason.NONCE_USED }),
      voteBy(v2, Phase.PRE_PREPARE, d.hash, 3, {
        0: RejectReason.NONCE_USED,
        1: RejectReason.NONCE_USED,
      }),
    ]
    for (const v of wrong) {
      expect(verifyBatchVote(CHAIN_ID, v)).toBe(true)
      const out = net.step(0, { type: 'batch-vote', vote: v, from: v2.peerIdString })
      expect(out.filter((a) => a.type !== 'trace')).toEqual([])
    }
    expect(round.votes.has(v2.peerIdString)).toBe(false)
    expect(round.txs.map((t) => t.rejects.size)).toEqual([0, 0])
    expect(hashes.map((h) => net.cores[0]!.tx(h)!.votes.prePrepare.length)).toEqual(logBefore)
    expect(net.cores[0]!.evidence.list()).toEqual([])
    // a vote whose batch was changed after signing does not get past the node's check
    const honest = net.held.find(isVote(Phase.PRE_PREPARE, 2))!
    if (honest.action.type !== 'send-batch-vote') throw new Error('expected a batch vote')
    const relabelled = { ...honest.action.vote, batch: hashOf('another batch') }
    expect(verifyBatchVote(CHAIN_ID, relabelled)).toBe(false)
    net.hold = null
    net.inject(2, { ...honest.action, vote: relabelled })
    net.run()
    expect(net.dropped.map((x) => x.code)).toEqual(['BAD_VOTE'])
    expect(round.votes.has(v2.peerIdString)).toBe(false)

    // validator 2's honest vote still counts: nothing of the wrong ones stood in for it
    net.release(isVote(Phase.PRE_PREPARE, 2))
    expect(net.cores[0]!.evidence.list()).toEqual([])
    for (const hash of hashes) expect(net.cores[0]!.tx(hash)?.status).toBe('committed')
    expect(tallyBatch(net.prepares(0)[0]!.cert!, Q).voters).toContain(v2.peerIdString)
  })

  it('refuses, before anything is stored, a batch whose target signature does not hold', () => {
    const net = netWithAlice()
    const txs = [signedTx(alice, { nonce: 0 }), signedTx(alice, { nonce: 1 })]
    const genuine = batchBy(validatorIds[0]!, txs)
    const d = batchDigest(genuine)
    // signed by core 1 in core 0's name; and core 0's batch with a tx added after signing
    const inTheNameOf = signTxBatch(validatorIds[1]!.signer, CHAIN_ID, d.header, txs)
    const extended: TxBatch = { ...genuine, txs: [...txs, signedTx(alice, { nonce: 2 })] }
    for (const forged of [inTheNameOf, extended]) {
      expect(validationError(() => validateTxBatch(ctx, forged))).toMatchObject({
        action: 'reject',
        code: 'BAD_SIGNATURE',
      })
      net.inject(1, { type: 'publish', topic: 'tx', message: forged })
    }
    net.run()
    expect(net.dropped.map((x) => x.code)).toEqual(['BAD_SIGNATURE', 'BAD_SIGNATURE'])
    for (const i of ALL) {
      expect(net.cores[i]!.txRounds.batch(d.hashHex)).toBeUndefined()
      expect(net.cores[i]!.txRounds.batch(batchDigest(extended).hashHex)).toBeUndefined()
      for (const tx of extended.txs) {
        const hash = toHex(txHash(tx))
        expect(net.cores[i]!.tx(hash)).toBeUndefined()
        expect(net.cores[i]!.pool.has(hash)).toBe(false)
      }
      expect(net.emitted[i]!.filter((a) => a.type === 'send-batch-vote')).toEqual([])
    }
    // nor does a fetched copy whose signature fails get stored in place of the batch
    const commit: BatchCommit = {
      batch: d.hash,
      cert: certOf(
        Phase.PREPARE,
        [0, 1, 2].map((i) => validatorIds[i]!),
        d.hash,
        2,
      ),
    }
    net.step(3, { type: 'batch-commit', msg: commit, from: net.peer(0) })
    const out = net.step(3, { type: 'batch-fetched', batch: inTheNameOf, from: net.peer(1) })
    expect(out).toContainEqual(expect.objectContaining({ type: 'misbehaving', peer: net.peer(1) }))
    expect(net.cores[3]!.txRounds.batch(d.hashHex)).toBeUndefined()
    expect(net.poolPuts(3)).toEqual([])
    // the genuine one is still awaited, and taken
    net.step(3, { type: 'batch-fetched', batch: genuine, from: net.peer(0) })
    expect(net.poolPuts(3).map((p) => p.hash)).toEqual(txs.map((tx) => toHex(txHash(tx))))
  })
})

// ------------------------------------------------------------------ forged copies of a batch

describe('a batch is its bytes: a forged copy is another batch', () => {
  it('a copy with a forged tx signature fails the target’s signature; a Byzantine target’s second batch is another hash, and its forged bytes are never committed', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const hash = toHex(txHash(tx))
    const forgedTx = { ...tx, signature: new Uint8Array(tx.signature.length).fill(7) }
    const genuine = batchBy(validatorIds[3]!, [tx])
    const d = batchDigest(genuine)
    // a relay swaps the tx's signature: the header binds it, so the target's signature fails
    const relayed: TxBatch = { ...genuine, txs: [forgedTx] }
    expect(batchDigest(relayed).hashHex).not.toBe(d.hashHex)
    expect(validationError(() => validateTxBatch(ctx, relayed)).code).toBe('BAD_SIGNATURE')
    // a Byzantine target (core 3) signs a second batch with the forged copy for validator 1
    const copy = batchBy(validatorIds[3]!, [forgedTx])
    expect(batchDigest(copy).hashHex).not.toBe(d.hashHex)
    const votes = net.step(1, { type: 'tx-batch', batch: copy, from: net.peer(3) })
    expect(votes.flatMap((a) => (a.type === 'send-batch-vote' ? [rejectsOf(a.vote)] : []))).toEqual(
      [{ 0: RejectReason.BAD_SIGNATURE }],
    )
    // the others permitted the genuine batch: its commit certificate names the genuine hash
    const commit: BatchCommit = {
      batch: d.hash,
      cert: certOf(
        Phase.PREPARE,
        [0, 2, 3].map((i) => validatorIds[i]!),
        d.hash,
        1,
      ),
    }
    expect(() => validateBatchCommit(ctx, commit)).not.toThrow()
    const onCommit = net.step(1, { type: 'batch-commit', msg: commit, from: net.peer(3) })
    // validator 1 never saw that batch: it asks for it and commits nothing meanwhile
    expect(onCommit).toContainEqual({ type: 'fetch-batch', hash: d.hashHex, hint: net.peer(3) })
    expect(net.poolPuts(1, hash)).toEqual([])
    expect(net.cores[1]!.pool.get(hash)?.status).not.toBe('committed')
    // the genuine batch comes: the genuine bytes are committed
    net.step(1, { type: 'batch-fetched', batch: genuine, from: net.peer(2) })
    expect(net.cores[1]!.pool.get(hash)?.status).toBe('committed')
    expect(net.poolPuts(1, hash).map((p) => p.tx.signature)).toEqual([tx.signature])
  })

  it('a fetched copy that is another batch is not taken; one under a forged target signature is refused and its server reported; the genuine one is taken', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const hash = toHex(txHash(tx))
    const batch = batchBy(validatorIds[0]!, [tx])
    const d = batchDigest(batch)
    const commit: BatchCommit = {
      batch: d.hash,
      cert: certOf(
        Phase.PREPARE,
        [0, 1, 3].map((i) => validatorIds[i]!),
        d.hash,
        1,
      ),
    }
    net.step(2, { type: 'batch-commit', msg: commit, from: net.peer(0) })
    const liar = net.peer(3)
    // a copy with a forged tx signature is another batch: nothing asked for it
    const copy: TxBatch = {
      ...batch,
      txs: [{ ...tx, signature: new Uint8Array(tx.signature.length).fill(9) }],
    }
    expect(batchDigest(copy).hashHex).not.toBe(d.hashHex)
    expect(net.step(2, { type: 'batch-fetched', batch: copy, from: liar })).toEqual([])
    expect(net.cores[2]!.txRounds.batch(batchDigest(copy).hashHex)).toBeUndefined()
    // the asked-for bytes under a forged target signature: refused, its server reported
    const unsigned: TxBatch = { ...batch, signature: new Uint8Array(batch.signature.length) }
    expect(batchDigest(unsigned).hashHex).toBe(d.hashHex)
    const after = net.step(2, { type: 'batch-fetched', batch: unsigned, from: liar })
    expect(after).toContainEqual(expect.objectContaining({ type: 'misbehaving', peer: liar }))
    expect(net.cores[2]!.txRounds.batch(d.hashHex)).toBeUndefined()
    expect(net.cores[2]!.pool.get(hash)?.status).not.toBe('committed')
    net.step(2, { type: 'batch-fetched', batch, from: net.peer(1) })
    expect(net.cores[2]!.pool.get(hash)?.status).toBe('committed')
    expect(net.cores[2]!.txRounds.batch(d.hashHex)?.signature).toEqual(batch.signature)
  })

  it('a batch fetched on the Prepare (which asks for it) is kept for the Commit, without a second fetch', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const hash = toHex(txHash(tx))
    const batch = batchBy(validatorIds[0]!, [tx])
    const d = batchDigest(batch)
    const signers = [0, 1, 2].map((i) => validatorIds[i]!)
    const prepare: BatchPrepare = {
      target: validatorIds[0]!.peerId,
      batch: d.hash,
      cert: certOf(Phase.PRE_PREPARE, signers, d.hash, 1),
    }
    const onPrepare = net.step(3, { type: 'batch-prepare', msg: prepare, from: net.peer(0) })
    expect(onPrepare).toContainEqual({ type: 'fetch-batch', hash: d.hashHex, hint: net.peer(0) })
    // it has nothing to vote on yet
    expect(onPrepare.filter((a) => a.type === 'send-batch-vote')).toEqual([])
    net.step(3, { type: 'batch-fetched', batch, from: net.peer(0) })
    const commit: BatchCommit = { batch: d.hash, cert: certOf(Phase.PREPARE, signers, d.hash, 1) }
    const onCommit = net.step(3, { type: 'batch-commit', msg: commit, from: net.peer(0) })
    expect(onCommit.filter((a) => a.type === 'fetch-batch')).toEqual([])
    expect(net.cores[3]!.pool.get(hash)?.status).toBe('committed')
  })

  it('a Prepare that names another target than its batch’s is dropped: no vote goes to it', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const batch = batchBy(validatorIds[0]!, [tx])
    const d = batchDigest(batch)
    net.step(3, { type: 'tx-batch', batch, from: net.peer(0) })
    const signers = [0, 1, 2].map((i) => validatorIds[i]!)
    const lie: BatchPrepare = {
      target: validatorIds[2]!.peerId,
      batch: d.hash,
      cert: certOf(Phase.PRE_PREPARE, signers, d.hash, 1),
    }
    expect(net.step(3, { type: 'batch-prepare', msg: lie, from: net.peer(2) })).toEqual([])
    const honest: BatchPrepare = { ...lie, target: validatorIds[0]!.peerId }
    const votes = net
      .step(3, { type: 'batch-prepare', msg: honest, from: net.peer(0) })
      .filter((a) => a.type === 'send-batch-vote')
    expect(votes.map((a) => a.type === 'send-batch-vote' && a.to)).toEqual([net.peer(0)])
  })
})
