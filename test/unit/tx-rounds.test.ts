/**
 * The three-phase tx vote (DESIGN §5) on n = 4 cores and an observer, wired
 * by a tiny deterministic router: publishes go to every other core that is
 * up, after the same validation the network applies (a message that fails
 * it is dropped); votes go to the addressed core after the signature and
 * voter checks the node makes. Time is a number the test moves.
 */
import { describe, expect, it } from 'vitest'
import { certificateFrom, verifyCertificate } from '../../src/core/chain/certificates.js'
import { genesisTimeMs } from '../../src/core/chain/genesis.js'
import {
  signPrePrepare,
  signPrepare,
  signVote,
  verifyVote,
} from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import {
  type Certificate,
  type Commit,
  EvidenceKind,
  GasGrantCodec,
  Phase,
  type Prepare,
  RejectReason,
  type Tx,
  TxKind,
  type Vote,
  VoteResult,
} from '../../src/core/codec/index.js'
import { Core } from '../../src/core/consensus/core.js'
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
  validateCommit,
  validatePrePrepare,
  validatePrepare,
} from '../../src/core/consensus/validation.js'
import { fromHex, toHex } from '../../src/core/crypto/hash.js'
import { peerIdToString } from '../../src/core/crypto/peer-id.js'
import type { PoolLimits } from '../../src/core/mempool/mempool.js'
import {
  type AccountIdentity,
  accountIdentity,
  CHAIN_ID,
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

  /** Feed one event to core `i` (nothing if it is down) and queue what it emits. */
  step(i: number, event: EventIn): CoreAction[] {
    if (this.down.has(i)) return []
    const actions = this.cores[i]!.step({ ...event, now: this.now } as CoreEvent)
    this.emitted[i]!.push(...actions)
    for (const action of actions) this.queue.push({ from: i, action })
    return actions
  }

  /** Deliver queued messages, first in first out, until none is left. */
  run(): void {
    for (let guard = 0; this.queue.length > 0; guard++) {
      if (guard > 10_000) throw new Error('the network does not settle')
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
    const sender = this.ids[from]!.peerIdString
    if (action.type === 'send-vote') {
      const to = this.indexOf(action.to)
      // as the node: the vote must verify and come from its voter
      if (!verifyVote(CHAIN_ID, action.vote) || peerIdToString(action.vote.voter) !== sender) {
        this.dropped.push({ sent: s, code: 'BAD_VOTE' })
        return
      }
      this.step(to, { type: 'vote', vote: action.vote, from: sender })
      return
    }
    if (action.type !== 'publish') return
    let event: EventIn
    try {
      switch (action.topic) {
        case 'tx':
          validatePrePrepare(ctx, action.message)
          event = { type: 'pre-prepare', msg: action.message, from: sender }
          break
        case 'prepare':
          validatePrepare(ctx, action.message)
          event = { type: 'prepare', msg: action.message, from: sender }
          break
        case 'commit':
          validateCommit(ctx, action.message)
          event = { type: 'commit', msg: action.message, from: sender }
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

  poolPuts(i: number, hash: string): Extract<PersistOp, { op: 'pool-put' }>[] {
    return this.emitted[i]!.flatMap((a) =>
      a.type === 'persist'
        ? a.ops.flatMap((op) => (op.op === 'pool-put' && op.hash === hash ? [op] : []))
        : [],
    )
  }

  published(i: number, topic: string): CoreAction[] {
    return this.emitted[i]!.filter((a) => a.type === 'publish' && a.topic === topic)
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
    s.action.type === 'send-vote' &&
    s.action.vote.phase === phase &&
    (from === undefined || s.from === from)

const voteFrom =
  (from: number) =>
  (s: Sent): boolean =>
    s.action.type === 'send-vote' && s.from === from

/** The vote `who` signs on a tx. */
function voteBy(who: NodeIdentity, phase: Phase, subject: Uint8Array, why = RejectReason.NONE) {
  return signVote(who.signer, CHAIN_ID, {
    phase,
    subject,
    height: 0,
    round: 0,
    result: why === RejectReason.NONE ? VoteResult.PERMIT : VoteResult.REJECT,
    reason: why,
    voter: who.peerId,
  })
}

/** The votes core `from` sent, as emitted. */
function votesSent(net: Net, from: number, phase: Phase): Vote[] {
  return net.emitted[from]!.flatMap((a) =>
    a.type === 'send-vote' && a.vote.phase === phase ? [a.vote] : [],
  )
}

/** A network where alice is registered everywhere. */
function netWithAlice(init: NetInit = {}): Net {
  const net = new Net(init)
  const r = net.register(0, alice, 'alice')
  expect(r).toMatchObject({ ok: true, address: alice.address })
  for (const core of net.cores) expect(core.pool.pendingAccount(alice.address)).toBeDefined()
  return net
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

    // the target went through every status, in order
    expect(net.statuses(target, hash)).toEqual(['pending', 'prepared', 'committed'])
    const record = net.cores[target]!.tx(hash)!
    expect(record.status).toBe('committed')
    expect(record.target).toBe(net.ids[target]!.peerIdString)
    // the target counted q permits per phase (the last answer came after the phase was over)
    for (const phase of ['prePrepare', 'prepare'] as const) {
      expect(record.votes[phase]).toHaveLength(Q)
      expect(record.votes[phase].every((v) => v.result === 'permit')).toBe(true)
      expect(new Set(record.votes[phase].map((v) => v.voter)).size).toBe(Q)
      for (const v of record.votes[phase]) expect(validatorSet.has(v.voter)).toBe(true)
    }
    expect(net.published(target, 'prepare')).toHaveLength(1)
    expect(net.published(target, 'commit')).toHaveLength(1)
    expect(net.cores[target]!.txRounds.rounds.has(hash)).toBe(false)

    for (const i of ALL) {
      const core = net.cores[i]!
      expect(core.pool.get(hash)?.status, `pool of core ${i}`).toBe('committed')
      expect(core.tx(hash)?.status, `log of core ${i}`).toBe('committed')
      expect(core.pool.committed().map((e) => e.hash)).toEqual([hash])
      const puts = net.poolPuts(i, hash)
      expect(puts, `pool-put of core ${i}`).toHaveLength(1)
      const put = puts[0]!
      expect(put.tx).toEqual(tx)
      const signers = verifyCertificate(
        CHAIN_ID,
        put.commitCert,
        { phase: Phase.PREPARE, subject: fromHex(hash) },
        validatorSet,
      )
      expect(new Set(signers).size).toBe(Q)
      expect(core.pool.get(hash)?.commitCert).toEqual(put.commitCert)
    }
    // an observer never votes
    expect(net.emitted[OBS]!.filter((a) => a.type === 'send-vote')).toEqual([])
    // every message that crossed the network passed validation
    expect(net.dropped).toEqual([])
  })

  it('moves a validator’s copy to prepared on the Prepare, before the Commit', () => {
    const net = netWithAlice()
    net.hold = (s) => s.action.type === 'publish' && s.action.topic === 'commit'
    const { hash } = net.submit(0, signedTx(alice))
    for (const i of [1, 2, 3]) {
      expect(net.cores[i]!.pool.get(hash)?.status).toBe('prepared')
      expect(net.cores[i]!.tx(hash)?.status).toBe('prepared')
      // it learned the pre-prepare permits from the certificate
      expect(net.cores[i]!.tx(hash)?.votes.prePrepare).toHaveLength(Q)
    }
    expect(net.cores[0]!.pool.get(hash)?.status).toBe('committed')
    net.release()
    for (const i of [1, 2, 3]) expect(net.cores[i]!.pool.get(hash)?.status).toBe('committed')
  })

  it('lets a validator that missed the PrePrepare fetch the body on Commit', () => {
    const net = netWithAlice()
    // core 3 misses the PrePrepare: it rejects the Prepare (UNKNOWN_TX) and fetches on Commit
    net.hold = (s) => s.action.type === 'publish' && s.action.topic === 'tx'
    const tx = signedTx(alice)
    const { hash } = net.submit(0, tx)
    net.hold = null
    const [held] = net.held.splice(0)
    const action = held!.action
    if (action.type !== 'publish' || action.topic !== 'tx') throw new Error('expected a PrePrepare')
    for (const j of [1, 2]) {
      net.step(j, { type: 'pre-prepare', msg: action.message, from: net.ids[0]!.peerIdString })
    }
    net.run()
    expect(net.cores[0]!.tx(hash)?.status).toBe('committed')
    const rejects = votesSent(net, 3, Phase.PREPARE)
    expect(rejects.map((v) => v.reason)).toEqual([RejectReason.UNKNOWN_TX])
    const fetch = net.emitted[3]!.find((a) => a.type === 'fetch-tx')
    expect(fetch).toEqual({ type: 'fetch-tx', hash, hint: net.ids[0]!.peerIdString })
    expect(net.cores[3]!.pool.has(hash)).toBe(false)
    net.step(3, { type: 'tx-fetched', tx, from: net.ids[0]!.peerIdString })
    expect(net.cores[3]!.pool.get(hash)?.status).toBe('committed')
    expect(net.poolPuts(3, hash)).toHaveLength(1)
  })

  it('answers a resubmission of the same tx without a second round', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    net.down.add(2).add(3)
    const { hash } = net.submit(0, tx)
    const again = net.submit(0, tx)
    expect(again.result).toEqual({ ok: true, hash, status: 'pending' })
    expect(net.published(0, 'tx')).toHaveLength(1)
    expect(net.cores[0]!.txRounds.rounds.size).toBe(1)
    expect(net.cores[0]!.pool.sizes().pending).toBe(1)
  })
})

// ------------------------------------------------------------------ 2. reject quorum

describe('a tx that more than n - q validators reject', () => {
  it.each([
    {
      how: 'its sender is unknown to two validators',
      code: 'UNKNOWN_SENDER',
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
      code: 'NONCE_USED',
      rejecters: [2, 3],
      setup: (net: Net) => {
        expect(net.register(0, alice, 'alice').ok).toBe(true)
        // a conflicting tx reaches only cores 2 and 3 (0 and 1 are cut off meanwhile)
        net.down.add(0).add(1)
        const conflict = signedTx(alice, { nonce: 0, data: new TextEncoder().encode('other') })
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
    const toTarget = (s: Sent) =>
      s.action.type === 'send-vote' && s.action.to === net.ids[0]!.peerIdString
    net.hold = toTarget
    const tx = signedTx(alice, { nonce: 0 })
    const { hash, result } = net.submit(0, tx)
    expect(result).toMatchObject({ ok: true, status: 'pending' })
    net.hold = null
    expect(net.held).toHaveLength(3)
    for (const r of rejecters) {
      const [vote] = votesSent(net, r, Phase.PRE_PREPARE).filter((v) => toHex(v.subject) === hash)
      expect(vote?.result).toBe(VoteResult.REJECT)
      expect(vote?.reason).toBe(code)
    }

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
    const failed = net.emitted[0]!.filter((a) => a.type === 'tx-status' && a.hash === hash)
    expect(failed.at(-1)).toMatchObject({ status: 'failed', reason: { code } })
    expect(net.cores[0]!.pool.has(hash)).toBe(false)
    expect(net.cores[0]!.txRounds.rounds.has(hash)).toBe(false)

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
    for (const j of [2, 3]) {
      net.step(j, { type: 'account', reg: gossip.message, from: net.ids[0]!.peerIdString })
    }
    const again = net.submit(0, tx)
    expect(again.result).toEqual({ ok: true, hash, status: 'pending' })
    const record = net.cores[0]!.tx(hash)!
    expect(record.status).toBe('committed')
    expect(record.reason).toBeNull()
    // the votes of the failed round are gone: only the new round's permits
    expect(record.votes.prePrepare.map((v) => v.result)).toEqual(['permit', 'permit', 'permit'])
    for (const i of [0, 1, 2, 3]) expect(net.cores[i]!.pool.get(hash)?.status).toBe('committed')
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
    const round = net.cores[0]!.txRounds.rounds.get(hash)!
    expect(net.cores[0]!.tx(hash)?.status).toBe(status)
    expect(round.signMap.size).toBe(2)

    // core 1's vote of this phase, again
    const [again] = votesSent(net, 1, phase)
    net.step(0, { type: 'vote', vote: again!, from: net.ids[1]!.peerIdString })
    net.run()
    expect(round.signMap.size).toBe(2)
    expect(round.responseCount).toBe(2)
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
    const round = net.cores[0]!.txRounds.rounds.get(hash)!
    expect(round.signMap.size).toBe(2)

    // core 1 now also rejects the same tx: a properly signed, contradictory vote
    const reject = voteBy(
      validatorIds[1]!,
      Phase.PRE_PREPARE,
      fromHex(hash),
      RejectReason.NONCE_USED,
    )
    net.step(0, { type: 'vote', vote: reject, from: net.ids[1]!.peerIdString })
    expect(round.responseCount).toBe(2)
    expect(round.signMap.has(validatorIds[1]!.peerIdString)).toBe(true)
    expect(round.rejects.size).toBe(0)
    const evidence = net.cores[0]!.evidence.list()
    expect(evidence).toHaveLength(1)
    expect(peerIdToString(evidence[0]!.offender)).toBe(validatorIds[1]!.peerIdString)
    expect(evidence[0]!.kind).toBe(EvidenceKind.TX_VOTE)
    expect(evidence[0]!.firstVote!.result).toBe(VoteResult.PERMIT)
    expect(evidence[0]!.secondVote!.result).toBe(VoteResult.REJECT)
    expect(evidence[0]!.secondVote!.reason).toBe(RejectReason.NONCE_USED)

    // and again: still counted once (a second piece of evidence is fine, a second count is not)
    net.step(0, { type: 'vote', vote: reject, from: net.ids[1]!.peerIdString })
    expect(round.responseCount).toBe(2)
    expect(round.rejects.size).toBe(0)
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
  })
})

// ------------------------------------------------------------------ 3b. lying validators and peers

describe('a Byzantine validator or peer in a tx round', () => {
  it('a vote with a foreign height or round is not counted, so the certificate stays valid', () => {
    const net = netWithAlice()
    net.hold = (s) => isVote(Phase.PRE_PREPARE, 2)(s) || isVote(Phase.PRE_PREPARE, 3)(s)
    const { hash } = net.submit(0, signedTx(alice))
    const round = net.cores[0]!.txRounds.rounds.get(hash)!
    expect(round.signMap.size).toBe(2)
    // validator 2 signs a permit for the right tx, but at height 5, round 3: a poisoned vote
    const poisoned = signVote(validatorIds[2]!.signer, CHAIN_ID, {
      phase: Phase.PRE_PREPARE,
      subject: fromHex(hash),
      height: 5,
      round: 3,
      result: VoteResult.PERMIT,
      reason: RejectReason.NONE,
      voter: validatorIds[2]!.peerId,
    })
    expect(verifyVote(CHAIN_ID, poisoned)).toBe(true)
    net.step(0, { type: 'vote', vote: poisoned, from: validatorIds[2]!.peerIdString })
    expect(round.signMap.size).toBe(2)
    expect(round.responseCount).toBe(2)
    // the honest third permit makes a certificate every node accepts
    net.hold = null
    net.release(isVote(Phase.PRE_PREPARE, 3))
    const [prepare] = net.published(0, 'tx').length ? net.published(0, 'prepare') : []
    const msg = (prepare as Extract<CoreAction, { type: 'publish'; topic: 'prepare' }>).message
    expect(() => validatePrepare(ctx, msg)).not.toThrow()
    expect(msg.cert!.signatures.map((x) => peerIdToString(x.voter))).not.toContain(
      validatorIds[2]!.peerIdString,
    )
  })

  it('a copy of a tx with a forged signature under its hash is neither kept nor committed', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const hash = toHex(txHash(tx))
    const forged: Tx = { ...tx, signature: new Uint8Array(tx.signature.length).fill(7) }
    expect(toHex(txHash(forged))).toBe(hash) // the hash leaves the signature out
    // a peer (here: core 3 as target) publishes the forged copy first to validator 1
    const target = validatorIds[3]!
    const pp = signPrePrepare(target.signer, CHAIN_ID, {
      origin: target.peerId,
      target: target.peerId,
      txHash: fromHex(hash),
      tx: forged,
    })
    const actions = net.step(1, { type: 'pre-prepare', msg: pp, from: target.peerIdString })
    const votes = actions.flatMap((a) => (a.type === 'send-vote' ? [a.vote] : []))
    expect(votes.map((v) => v.reason)).toEqual([RejectReason.BAD_SIGNATURE])
    expect(net.cores[1]!.txBody(hash)).toBeUndefined()
    expect(net.cores[1]!.tx(hash)).toBeUndefined()
    // the genuine tx goes through its round, and validator 1 commits the genuine bytes
    net.submit(0, tx)
    expect(net.cores[1]!.pool.get(hash)?.status).toBe('committed')
    expect(net.cores[1]!.pool.get(hash)!.tx.signature).toEqual(tx.signature)
  })

  it('a forged tx body served for a committed tx is refused and its server reported', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const hash = toHex(txHash(tx))
    // validator 2 learns of the tx from its Commit alone: q PREPARE permits of the others
    const cert = certificateFrom(
      [0, 1, 3].map((i) => voteBy(validatorIds[i]!, Phase.PREPARE, fromHex(hash))),
    )
    const commit: Commit = { txHash: fromHex(hash), cert }
    expect(() => validateCommit(ctx, commit)).not.toThrow()
    const asked = net.step(2, { type: 'commit', msg: commit, from: net.ids[0]!.peerIdString })
    expect(asked.some((a) => a.type === 'fetch-tx' && a.hash === hash)).toBe(true)
    const liar = net.ids[3]!.peerIdString
    const forged: Tx = { ...tx, signature: new Uint8Array(tx.signature.length).fill(9) }
    const after = net.step(2, { type: 'tx-fetched', tx: forged, from: liar })
    expect(after).toContainEqual(expect.objectContaining({ type: 'misbehaving', peer: liar }))
    expect(net.cores[2]!.pool.get(hash)).toBeUndefined()
    // the genuine body, from an honest peer, is taken
    net.step(2, { type: 'tx-fetched', tx, from: net.ids[0]!.peerIdString })
    expect(net.cores[2]!.pool.get(hash)?.status).toBe('committed')
    expect(net.cores[2]!.pool.get(hash)!.tx.signature).toEqual(tx.signature)
  })

  it('keeps no body, log record or vote-worthy state for a PrePrepare of an unknown sender', () => {
    const net = netWithAlice()
    const stranger = accountIdentity('stranger')
    const tx = signedTx(stranger)
    const hash = toHex(txHash(tx))
    const target = validatorIds[3]!
    const pp = signPrePrepare(target.signer, CHAIN_ID, {
      origin: target.peerId,
      target: target.peerId,
      txHash: fromHex(hash),
      tx,
    })
    const actions = net.step(1, { type: 'pre-prepare', msg: pp, from: target.peerIdString })
    expect(actions.flatMap((a) => (a.type === 'send-vote' ? [a.vote.reason] : []))).toEqual([
      RejectReason.UNKNOWN_SENDER,
    ])
    expect(net.cores[1]!.txBody(hash)).toBeUndefined()
    expect(net.cores[1]!.tx(hash)).toBeUndefined()
  })
})

// ------------------------------------------------------------------ 4. non-validator votes

describe('votes from outside the validator set', () => {
  it('ignores a permit signed by a non-validator', () => {
    const net = netWithAlice()
    net.hold = (s) => isVote(Phase.PRE_PREPARE, 2)(s) || isVote(Phase.PRE_PREPARE, 3)(s)
    const { hash } = net.submit(0, signedTx(alice))
    const round = net.cores[0]!.txRounds.rounds.get(hash)!
    expect(round.signMap.size).toBe(2)

    // straight to the core, past the router's checks: the signature itself is valid
    const stray = voteBy(observerId, Phase.PRE_PREPARE, fromHex(hash))
    expect(verifyVote(CHAIN_ID, stray)).toBe(true)
    net.step(0, { type: 'vote', vote: stray, from: observerId.peerIdString })
    net.run()
    expect(round.signMap.size).toBe(2)
    expect(round.responseCount).toBe(2)
    expect(net.cores[0]!.tx(hash)?.status).toBe('pending')
    expect(net.cores[0]!.tx(hash)?.votes.prePrepare.map((v) => v.voter)).not.toContain(
      observerId.peerIdString,
    )
    expect(net.published(0, 'prepare')).toEqual([])
  })

  it('does not let a non-validator reject count toward failure either', () => {
    const net = netWithAlice()
    net.hold = (s) => isVote(Phase.PRE_PREPARE)(s)
    const { hash } = net.submit(0, signedTx(alice))
    const strangers = [observerId, nodeIdentity('stranger-a'), nodeIdentity('stranger-b')]
    for (const who of strangers) {
      const v = voteBy(who, Phase.PRE_PREPARE, fromHex(hash), RejectReason.BAD_SIGNATURE)
      net.step(0, { type: 'vote', vote: v, from: who.peerIdString })
    }
    expect(net.cores[0]!.txRounds.rounds.get(hash)?.rejects.size).toBe(0)
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
    expect(net.cores[0]!.txRounds.rounds.has(hash)).toBe(false)
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
  const subject = txHash(signedTx(alice))
  const other = txHash(signedTx(alice, { nonce: 9 }))
  const [v0, v1, v2, v3] = validatorIds as [NodeIdentity, NodeIdentity, NodeIdentity, NodeIdentity]

  const cert = (phase: Phase, signers: NodeIdentity[], about = subject): Certificate =>
    certificateFrom(signers.map((s) => voteBy(s, phase, about)))
  const tampered = (c: Certificate): Certificate => {
    const sig = new Uint8Array(c.signatures[1]!.signature)
    sig[0]! ^= 0x01
    return {
      ...c,
      signatures: c.signatures.map((s, i) => (i === 1 ? { ...s, signature: sig } : s)),
    }
  }
  const rejectVotes = (phase: Phase): Certificate =>
    certificateFrom([v0, v1, v2].map((s) => voteBy(s, phase, subject, RejectReason.NONCE_USED)))

  const prepareWith = (c: Certificate): Prepare =>
    signPrepare(target.signer, CHAIN_ID, { target: target.peerId, txHash: subject, cert: c })
  const commitWith = (c: Certificate): Commit => ({ txHash: subject, cert: c })

  function validationError(fn: () => void): ValidationError {
    try {
      fn()
    } catch (err) {
      if (err instanceof ValidationError) return err
      throw new Error(`expected a ValidationError, got ${String(err)}`)
    }
    throw new Error('expected a ValidationError, but the message was accepted')
  }

  const forgeries = (right: Phase, wrong: Phase) => [
    { name: 'too few signers', code: 'CERT_TOO_FEW_SIGNERS', cert: cert(right, [v0, v1]) },
    {
      name: 'a duplicated signer',
      code: 'CERT_DUPLICATE_SIGNER',
      cert: cert(right, [v0, v1, v1]),
    },
    {
      name: 'a non-validator signer',
      code: 'CERT_NOT_A_VALIDATOR',
      cert: cert(right, [v0, v1, observerId]),
    },
    { name: 'the wrong phase', code: 'CERT_WRONG_PHASE', cert: cert(wrong, [v0, v1, v2]) },
    {
      name: 'another subject',
      code: 'CERT_WRONG_SUBJECT',
      cert: cert(right, [v0, v1, v2], other),
    },
    {
      name: 'a tampered signature',
      code: 'CERT_BAD_SIGNATURE',
      cert: tampered(cert(right, [v0, v1, v2])),
    },
    { name: 'signed rejects', code: 'CERT_BAD_SIGNATURE', cert: rejectVotes(right) },
  ]

  it('accepts a well-formed Prepare and Commit (the forgeries differ from these in one way)', () => {
    expect(() =>
      validatePrepare(ctx, prepareWith(cert(Phase.PRE_PREPARE, [v0, v1, v2]))),
    ).not.toThrow()
    expect(() =>
      validatePrepare(ctx, prepareWith(cert(Phase.PRE_PREPARE, [v3, v1, v2, v0]))),
    ).not.toThrow()
    expect(() => validateCommit(ctx, commitWith(cert(Phase.PREPARE, [v1, v2, v3])))).not.toThrow()
  })

  it.each(forgeries(Phase.PRE_PREPARE, Phase.PREPARE))(
    'rejects a Prepare whose certificate has $name ($code)',
    ({ code, cert: c }) => {
      const err = validationError(() => validatePrepare(ctx, prepareWith(c)))
      expect(err.action).toBe('reject')
      expect(err.code).toBe(code)
    },
  )

  it.each(forgeries(Phase.PREPARE, Phase.PRE_PREPARE))(
    'rejects a Commit whose certificate has $name ($code)',
    ({ code, cert: c }) => {
      const err = validationError(() => validateCommit(ctx, commitWith(c)))
      expect(err.action).toBe('reject')
      expect(err.code).toBe(code)
    },
  )

  it('rejects a Prepare not signed by the target it names', () => {
    const p = signPrepare(v1.signer, CHAIN_ID, {
      target: target.peerId,
      txHash: subject,
      cert: cert(Phase.PRE_PREPARE, [v0, v1, v2]),
    })
    const err = validationError(() => validatePrepare(ctx, p))
    expect(err.action).toBe('reject')
    expect(err.code).toBe('BAD_SIGNATURE')
  })

  it('drops a forged Prepare in the network, so no validator votes on it', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    net.hold = (s) => s.action.type === 'send-vote'
    const { hash } = net.submit(0, tx)
    net.hold = null
    net.held.splice(0)
    // core 0 publishes a Prepare whose certificate has only two signers
    const forged = signPrepare(target.signer, CHAIN_ID, {
      target: target.peerId,
      txHash: fromHex(hash),
      cert: certificateFrom([v0, v1].map((s) => voteBy(s, Phase.PRE_PREPARE, fromHex(hash)))),
    })
    net.inject(0, { type: 'publish', topic: 'prepare', message: forged })
    net.run()
    expect(net.dropped.map((d) => d.code)).toEqual(['CERT_TOO_FEW_SIGNERS'])
    for (const i of [1, 2, 3]) {
      expect(votesSent(net, i, Phase.PREPARE)).toEqual([])
      expect(net.cores[i]!.pool.get(hash)?.status).toBe('pending')
    }
  })
})

// ------------------------------------------------------------------ 7. admission

describe('admission of a client tx', () => {
  const stranger = accountIdentity('stranger')
  const utf8 = new TextEncoder()

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
    const publishedBefore = net.published(0, 'tx').length
    const { hash, result } = net.submit(0, tx)
    expect(result).toMatchObject({ ok: false, code, httpStatus: httpStatus ?? 400 })
    if (!result.ok) expect(result.message.length).toBeGreaterThan(0)
    // nothing entered the pool, no round started, nothing went out
    expect(core.pool.has(hash)).toBe(false)
    expect(core.pool.sizes()).toEqual(sizesBefore)
    expect(core.txRounds.rounds.has(hash)).toBe(false)
    expect(net.published(0, 'tx')).toHaveLength(publishedBefore)
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
  function committedOn(net: Net, i: number) {
    const put = net.emitted[i]!.flatMap((a) =>
      a.type === 'persist' ? a.ops.filter((op) => op.op === 'pool-put') : [],
    )
    return put as Extract<PersistOp, { op: 'pool-put' }>[]
  }

  it('brings back a committed tx and the pending accounts from the persisted ops', () => {
    const net = netWithAlice()
    const tx = signedTx(alice)
    const { hash } = net.submit(0, tx)
    const puts = committedOn(net, 1)
    expect(puts).toHaveLength(1)
    const accounts = net.emitted[1]!.flatMap((a) =>
      a.type === 'persist' ? a.ops.filter((op) => op.op === 'account-pending-put') : [],
    ) as Extract<PersistOp, { op: 'account-pending-put' }>[]
    expect(accounts.map((a) => a.address)).toEqual([alice.address])

    const id = validatorIds[1]!
    const restarted = new Core({ seed: 1, genesis, self: id.peerIdString, signer: id.signer })
    restarted.restore(
      {
        committed: puts.map(({ hash, tx, commitCert }) => ({ hash, tx, commitCert })),
        pendingAccounts: accounts.map(({ address, reg }) => ({ address, reg })),
      },
      T0 + 5_000,
    )
    expect(restarted.pool.get(hash)?.status).toBe('committed')
    expect(restarted.pool.get(hash)?.commitCert).toEqual(puts[0]!.commitCert)
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
      tx: signedTx(alice, { nonce: 0, data: new TextEncoder().encode('again') }),
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
    expect(same.some((a) => a.type === 'publish')).toBe(false)
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
        committed: committedOn(net, 1).map(({ hash, tx, commitCert }) => ({
          hash,
          tx,
          commitCert,
        })),
        pendingAccounts: [],
      },
      T0,
    )
    expect(restarted.pool.get(hash)?.status).toBe('committed')
    expect(restarted.pool.sizes().bytes).toBe(before.bytes)
  })
})

// ------------------------------------------------------------------ the round window

describe('a target runs a window of rounds and queues the rest', () => {
  /** every vote addressed to core 0: none of its rounds can end while they are held */
  const votesToTarget = (s: Sent): boolean =>
    s.action.type === 'send-vote' && s.action.to === validatorIds[0]!.peerIdString

  /** the tx hashes of the PrePrepares core `i` published, in order */
  const prePrepared = (net: Net, i: number): string[] =>
    net
      .published(i, 'tx')
      .map((a) => (a.type === 'publish' && a.topic === 'tx' ? toHex(a.message.txHash) : ''))

  it('starts at most the window, answers every tx pending, and starts the rest in order as rounds end', () => {
    const net = netWithAlice()
    const window = net.cores[0]!.txRounds.window.size
    const extra = 5
    net.hold = votesToTarget
    const orderedHashes: string[] = []
    for (let nonce = 0; nonce < window + extra; nonce++) {
      const { hash, result } = net.submit(0, signedTx(alice, { nonce }))
      expect(result).toEqual({ ok: true, hash, status: 'pending' })
      orderedHashes.push(hash)
    }
    const rounds = net.cores[0]!.txRounds
    expect(prePrepared(net, 0)).toEqual(orderedHashes.slice(0, window))
    expect(rounds.rounds.size).toBe(window)
    expect([...rounds.waiting.keys()]).toEqual(orderedHashes.slice(window))
    // a waiting tx is held in the target's pool (its nonce is taken) but nowhere else yet
    const waitingHash = orderedHashes[window]!
    expect(net.cores[0]!.pool.has(waitingHash)).toBe(true)
    expect(net.cores[2]!.pool.has(waitingHash)).toBe(false)

    net.hold = null
    net.release()
    // every round ended, the waiting ones started in arrival order, and all committed everywhere
    expect(prePrepared(net, 0)).toEqual(orderedHashes)
    expect(rounds.rounds.size).toBe(0)
    expect(rounds.waiting.size).toBe(0)
    for (const hash of orderedHashes)
      for (const i of ALL) expect(net.cores[i]!.tx(hash)?.status, `core ${i}`).toBe('committed')
  })

  it('runs a waiting round’s deadline from its start, and halves the window on a timeout', () => {
    const net = netWithAlice()
    const rounds = net.cores[0]!.txRounds
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
    for (const hash of hashes.slice(0, window))
      expect(net.cores[0]!.tx(hash)?.status).toBe('failed')
    expect(rounds.window.size).toBe(window / 2)
    // the waiting tx started only now: pending, with a full round ahead of it
    expect(net.cores[0]!.tx(last)?.status).toBe('pending')
    expect(rounds.rounds.get(last)?.deadline).toBe(net.now + TX_ROUND_MS)

    // and it commits once the votes flow
    net.hold = null
    net.release()
    expect(net.cores[0]!.tx(last)?.status).toBe('committed')
  })

  it('refuses with POOL_FULL (503) when too many txs already wait, and takes none of it', () => {
    const net = netWithAlice({ maxWaitingTxs: 2 })
    const rounds = net.cores[0]!.txRounds
    const window = rounds.window.size
    net.hold = votesToTarget
    for (let nonce = 0; nonce < window + 2; nonce++)
      expect(net.submit(0, signedTx(alice, { nonce })).result).toMatchObject({ ok: true })
    const tx = signedTx(alice, { nonce: window + 2 })
    const { hash, result } = net.submit(0, tx)
    expect(result).toMatchObject({ ok: false, code: 'POOL_FULL', httpStatus: 503 })
    expect(result.ok === false && result.message).toMatch(/2 txs already wait for a round/)
    expect(net.cores[0]!.pool.has(hash)).toBe(false)
    expect(rounds.waiting.has(hash)).toBe(false)
  })

  it('does not run a waiting tx that another target got committed meanwhile', () => {
    const net = netWithAlice()
    const rounds = net.cores[0]!.txRounds
    const window = rounds.window.size
    // fill core 0's window with rounds that cannot end
    net.hold = votesToTarget
    for (let nonce = 0; nonce < window; nonce++) net.submit(0, signedTx(alice, { nonce }))
    const tx = signedTx(alice, { nonce: window })
    const { hash } = net.submit(0, tx)
    expect(rounds.waiting.has(hash)).toBe(true)
    // the same tx through core 2: its round commits (only votes to core 0 are held)
    net.submit(2, tx)
    expect(net.cores[0]!.tx(hash)?.status).toBe('committed')
    net.hold = null
    net.release()
    // core 0 never ran a round of its own for it
    const own = prePrepared(net, 0).filter((h) => h === hash)
    expect(own).toEqual([])
    expect(rounds.waiting.has(hash)).toBe(false)
  })
})
