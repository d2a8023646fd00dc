/**
 * Block rounds (DESIGN §6) on n = 4 cores wired by a small deterministic
 * router on a virtual clock: election, proposal, permit votes, Add (lock),
 * commit votes, Final. Publishes go to every other core that is up, each
 * recipient validating the message as the node's topic validators do (a
 * message that fails is dropped); votes go to the addressed core after the
 * signature and voter checks the node makes; 'set-timer' actions come back
 * as 'timer' events when the clock reaches them. Nothing is random but the
 * cores' seeded election jitter, so every run replays.
 */
import { describe, expect, it } from 'vitest'
import { accountsRoot, blockHash, txRoot } from '../../src/core/chain/block.js'
import { certificateFrom, verifyCertificate } from '../../src/core/chain/certificates.js'
import { genesisHash, genesisTimeMs } from '../../src/core/chain/genesis.js'
import {
  signAdd,
  signBlockPrepare,
  signElectionRequest,
  signElectionVote,
  verifyBatchVote,
  verifyVote,
} from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import {
  type Block,
  type BlockPrepare,
  type BlockSyncMessage,
  type Certificate,
  type ElectionMessage,
  EvidenceKind,
  type FinalizedBlock,
  Phase,
  RejectReason,
  type SignState,
  type Tx,
  type Vote,
  VoteResult,
} from '../../src/core/codec/index.js'
import { type ChainTip, MAX_CLOCK_DRIFT_MS } from '../../src/core/consensus/block-check.js'
import { Core } from '../../src/core/consensus/core.js'
import {
  EarlyElectionVotes,
  LeaderReputation,
  rotationLeader,
} from '../../src/core/consensus/election.js'
import type {
  BlockFinalOp,
  ClientResult,
  CoreAction,
  CoreEvent,
  PersistOp,
} from '../../src/core/consensus/types.js'
import {
  ValidationError,
  validateAccount,
  validateBatchCommit,
  validateBatchPrepare,
  validateBlockSync,
  validateElection,
  validateTxBatch,
} from '../../src/core/consensus/validation.js'
import { bytesEqual, fromHex, toHex } from '../../src/core/crypto/hash.js'
import { peerIdToString } from '../../src/core/crypto/peer-id.js'
import { executeBlock, genesisStateRoot } from '../../src/core/state/execute.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import {
  type AccountIdentity,
  accountIdentity,
  blockVoteBy,
  CHAIN_ID,
  electionCertificate,
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
const ROUND_MS = 500
const validatorIds = validators(N)
const authority = accountIdentity('authority')
const alice = accountIdentity('alice')
const genesis = testGenesis(
  validatorIds.map((v) => v.peerIdString),
  authority,
  1000,
  {
    roundMs: ROUND_MS,
    electionMinMs: 10,
    electionMaxMs: 100,
    blockIntervalMs: 50,
    txRoundMs: 1000,
  },
)
const GENESIS_HASH = genesisHash(genesis)
const GENESIS_TIP: ChainTip = {
  height: 0,
  hash: GENESIS_HASH,
  time: genesisTimeMs(genesis),
  stateRoot: genesisStateRoot(GENESIS_HASH),
}
const validatorSet = new ValidatorSet(genesis.validators)
/** a minute after genesis */
const T0 = genesisTimeMs(genesis) + 60_000
/** every message takes this long */
const LATENCY = 1
/** how long a run may take on the virtual clock before the test gives up */
const PATIENCE_MS = 30_000

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
/** An event as a test writes it: the network adds the time. */
type EventIn = DistributiveOmit<CoreEvent, 'now'>

/** One action on its way from core `from`. */
interface Sent {
  from: number
  action: CoreAction
}

/** One call of a core's step: what went in and what came out. */
interface Step {
  core: number
  at: number
  event: CoreEvent
  actions: CoreAction[]
}

type Scheduled =
  | { at: number; seq: number; kind: 'deliver'; sent: Sent }
  | { at: number; seq: number; kind: 'timer'; core: number; key: string }

const seedOf = (i: number) => 7_000 + i

function newCore(id: NodeIdentity, seed: number): Core {
  return new Core({ seed, genesis, self: id.peerIdString, signer: id.signer })
}

class Net {
  readonly ids: NodeIdentity[] = [...validatorIds]
  readonly cores: Core[]
  /** cores that receive nothing and send nothing */
  readonly down = new Set<number>()
  /** every action each core emitted, in order */
  readonly emitted: CoreAction[][]
  readonly steps: Step[] = []
  /** messages the network refused, with the validation code */
  readonly dropped: { sent: Sent; to: number; code: string }[] = []
  /** messages the `hold` predicate kept back (per recipient), for the test to deliver */
  readonly held: { sent: Sent; to: number }[] = []
  hold: ((s: Sent, to: number) => boolean) | null = null
  /** called after every step */
  onStep: ((step: Step) => void) | null = null
  now = T0
  private agenda: Scheduled[] = []
  private seq = 0
  private nextRequestId = 1

  constructor() {
    this.cores = this.ids.map((id, i) => newCore(id, seedOf(i)))
    this.emitted = this.cores.map(() => [])
  }

  indexOf(peer: string): number {
    const i = this.ids.findIndex((id) => id.peerIdString === peer)
    if (i < 0) throw new Error(`no core ${peer}`)
    return i
  }

  /** Feed one event to core `i` (nothing if it is down) and schedule what it emits. */
  step(i: number, event: EventIn): CoreAction[] {
    if (this.down.has(i)) return []
    const full = { ...event, now: this.now } as CoreEvent
    const actions = this.cores[i]!.step(full)
    this.emitted[i]!.push(...actions)
    const step = { core: i, at: this.now, event: full, actions }
    this.steps.push(step)
    for (const action of actions) {
      if (action.type === 'set-timer') {
        this.schedule({ at: action.at, seq: 0, kind: 'timer', core: i, key: action.key })
      } else if (
        action.type === 'publish' ||
        action.type === 'send-vote' ||
        action.type === 'send-batch-vote'
      ) {
        this.schedule({
          at: this.now + LATENCY,
          seq: 0,
          kind: 'deliver',
          sent: { from: i, action },
        })
      }
    }
    this.onStep?.(step)
    return actions
  }

  private schedule(s: Scheduled): void {
    s.seq = this.seq++
    let lo = 0
    let hi = this.agenda.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const m = this.agenda[mid]!
      if (m.at < s.at || (m.at === s.at && m.seq < s.seq)) lo = mid + 1
      else hi = mid
    }
    this.agenda.splice(lo, 0, s)
  }

  /**
   * Run the agenda in time order until `done` holds, nothing is left, or
   * `patience` ms of virtual time have passed. Returns `done()`.
   */
  runUntil(done: () => boolean, patience = PATIENCE_MS): boolean {
    const deadline = this.now + patience
    while (!done()) {
      const next = this.agenda[0]
      if (next == null || next.at > deadline) break
      this.agenda.shift()
      this.now = Math.max(this.now, next.at)
      if (next.kind === 'timer') this.step(next.core, { type: 'timer', key: next.key })
      else this.deliver(next.sent)
    }
    return done()
  }

  /** Let `ms` of virtual time pass, running whatever falls in it. */
  runFor(ms: number): void {
    const until = this.now + ms
    this.runUntil(() => (this.agenda[0]?.at ?? Number.POSITIVE_INFINITY) > until, ms)
    this.now = until
  }

  /** Deliver a held message now (to its one recipient). */
  release(h: { sent: Sent; to: number }): void {
    this.held.splice(this.held.indexOf(h), 1)
    this.deliverTo(h.sent, h.to, true)
  }

  /** A client registers `who` through core `at`; the registration is gossiped. */
  register(at: number, who: AccountIdentity, username: string): ClientResult {
    const requestId = this.nextRequestId++
    const actions = this.step(at, {
      type: 'client-account',
      requestId,
      reg: registrationOf(who, username),
    })
    return clientResult(actions, requestId)
  }

  /** A client submits `tx` to core `at`. */
  submit(at: number, tx: Tx): ClientResult {
    const requestId = this.nextRequestId++
    return clientResult(this.step(at, { type: 'client-tx', requestId, tx }), requestId)
  }

  private deliver(sent: Sent): void {
    const { from, action } = sent
    if (this.down.has(from)) return
    if (action.type === 'send-vote' || action.type === 'send-batch-vote')
      this.deliverTo(sent, this.indexOf(action.to))
    else for (let j = 0; j < this.cores.length; j++) if (j !== from) this.deliverTo(sent, j)
  }

  private deliverTo(sent: Sent, to: number, released = false): void {
    const { from, action } = sent
    if (this.down.has(from) || this.down.has(to)) return
    if (!released && this.hold?.(sent, to)) {
      this.held.push({ sent, to })
      return
    }
    const sender = this.ids[from]!.peerIdString
    if (action.type === 'send-vote') {
      // as the node: the vote must verify and come from its voter
      if (!verifyVote(CHAIN_ID, action.vote) || peerIdToString(action.vote.voter) !== sender) {
        this.dropped.push({ sent, to, code: 'BAD_VOTE' })
        return
      }
      this.step(to, { type: 'vote', vote: action.vote, from: sender })
      return
    }
    if (action.type === 'send-batch-vote') {
      if (!verifyBatchVote(CHAIN_ID, action.vote) || peerIdToString(action.vote.voter) !== sender) {
        this.dropped.push({ sent, to, code: 'BAD_VOTE' })
        return
      }
      this.step(to, { type: 'batch-vote', vote: action.vote, from: sender })
      return
    }
    if (action.type !== 'publish') return
    // as the node's topic validators, with the recipient's height
    const ctx = {
      chainId: CHAIN_ID,
      validators: validatorSet,
      height: () => this.cores[to]!.blocks.height,
    }
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
        case 'election':
          validateElection(ctx, action.message)
          event = { type: 'election', msg: action.message, from: sender }
          break
        case 'block-sync':
          validateBlockSync(ctx, action.message)
          event = { type: 'block-sync', msg: action.message, from: sender }
          break
      }
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err
      this.dropped.push({ sent, to, code: err.code })
      return
    }
    this.step(to, event)
  }

  // ---------------------------------------------------------------- what happened

  ops(i: number): PersistOp[] {
    return this.emitted[i]!.flatMap((a) => (a.type === 'persist' ? a.ops : []))
  }

  signStates(i: number): SignState[] {
    return this.ops(i).flatMap((op) => (op.op === 'sign-state' ? [op.state] : []))
  }

  blockFinalOps(i: number): BlockFinalOp[] {
    return this.ops(i).flatMap((op) => (op.op === 'block-final' ? [op] : []))
  }

  finals(i: number): Extract<CoreAction, { type: 'block-final' }>[] {
    return this.emitted[i]!.flatMap((a) => (a.type === 'block-final' ? [a] : []))
  }

  /** The votes core `i` signed and sent over the network, each once (it sends each to every validator). */
  votesSent(i: number, phase?: Phase): Vote[] {
    const seen = new Set<string>()
    return this.emitted[i]!.flatMap((a) => {
      if (a.type !== 'send-vote' || (phase != null && a.vote.phase !== phase)) return []
      const key = toHex(a.vote.signature)
      if (seen.has(key)) return []
      seen.add(key)
      return [a.vote]
    })
  }

  published<T extends 'election' | 'block-sync'>(
    i: number,
    topic: T,
  ): (T extends 'election' ? ElectionMessage : BlockSyncMessage)[] {
    return this.emitted[i]!.flatMap((a) =>
      a.type === 'publish' && a.topic === topic ? [a.message] : [],
    ) as (T extends 'election' ? ElectionMessage : BlockSyncMessage)[]
  }

  /** The leader of (height, round) as some core learnt it, or -1. */
  leaderOf(height: number, round: number): number {
    for (const actions of this.emitted) {
      for (const a of actions) {
        if (a.type === 'round' && a.height === height && a.round === round && a.leader != null)
          return this.indexOf(a.leader)
      }
    }
    return -1
  }

  live(): number[] {
    return this.cores.map((_, i) => i).filter((i) => !this.down.has(i))
  }
}

function clientResult(actions: CoreAction[], requestId: number): ClientResult {
  const found = actions.find((a) => a.type === 'client-result' && a.requestId === requestId)
  if (found?.type !== 'client-result') throw new Error(`no client-result for ${requestId}`)
  return found.result
}

/**
 * What must hold after any run: no fault; no two cores final on different
 * blocks at one height; every final block carries a commit certificate of q
 * validators; no validator signed two election votes, two permits or two
 * commit votes for one (height, round).
 */
function checkSafety(net: Net): void {
  const byHeight = new Map<number, string>()
  net.cores.forEach((_, i) => {
    expect(
      net.emitted[i]!.filter((a) => a.type === 'fault'),
      `faults of core ${i}`,
    ).toEqual([])
    for (const op of net.blockFinalOps(i)) {
      const seen = byHeight.get(op.height)
      if (seen != null) expect(op.hash, `agreement at height ${op.height}`).toBe(seen)
      byHeight.set(op.height, op.hash)
      expect(toHex(blockHash(op.finalized.block!.header!))).toBe(op.hash)
      const signers = verifyCertificate(
        CHAIN_ID,
        op.finalized.commitCert!,
        { phase: Phase.BLOCK_COMMIT, subject: fromHex(op.hash), height: op.height },
        validatorSet,
      )
      expect(signers.length).toBeGreaterThanOrEqual(Q)
    }
    const keys = [
      ...net
        .published(i, 'election')
        .flatMap((m) => (m.vote ? [`election:${m.vote.height}:${m.vote.round}`] : [])),
      ...net
        .votesSent(i)
        .filter((v) => v.phase === Phase.BLOCK_PERMIT || v.phase === Phase.BLOCK_COMMIT)
        .map((v) => `${v.phase}:${v.height}:${v.round}`),
    ]
    expect(keys.length, `one signature per question at core ${i}`).toBe(new Set(keys).size)
  })
}

/**
 * What the network dropped beyond the leader's Add and Final for a height the recipient had
 * already decided (it counted the votes itself): those are expected, nothing else is.
 */
const unexpectedDrops = (net: Net) =>
  net.dropped.filter(
    (d) =>
      !(
        d.code === 'STALE_HEIGHT' &&
        d.sent.action.type === 'publish' &&
        d.sent.action.topic === 'block-sync' &&
        (d.sent.action.message.add != null || d.sent.action.message.final != null)
      ),
  )

const heads = (net: Net, cores = net.live()) => cores.map((i) => net.cores[i]!.head)

/** Whether every core that is up (now, or of `cores`) has a head at `height` or above. */
const allAtHeight = (net: Net, height: number, cores?: number[]) => () =>
  (cores ?? net.live()).every((i) => net.cores[i]!.head.height >= height)

/** A network where alice's registration is final in block 1 everywhere. */
function netAfterBlock1(): Net {
  const net = new Net()
  expect(net.register(0, alice, 'alice')).toMatchObject({ ok: true })
  expect(net.runUntil(allAtHeight(net, 1))).toBe(true)
  return net
}

/** The next block on `tip`, made by `proposer` in `round`, with no txs or registrations. */
function emptyBlock(
  tip: ChainTip,
  ledger: LedgerState,
  proposer: NodeIdentity,
  round: number,
  time: number,
): Block {
  const block: Block = {
    header: {
      chainId: CHAIN_ID,
      height: tip.height + 1,
      round,
      parentHash: tip.hash,
      proposer: proposer.peerId,
      time,
      txRoot: txRoot([]),
      accountsRoot: accountsRoot([]),
      stateRoot: new Uint8Array(32),
    },
    txs: [],
    accounts: [],
  }
  block.header!.stateRoot = executeBlock(ledger, block, tip.stateRoot).stateRoot
  return block
}

/** A BlockPrepare for (height, round) by `leader`, elected by three validators. */
function proposalBy(
  leader: NodeIdentity,
  height: number,
  round: number,
  block: Block,
  valid?: { round: number; cert: Certificate },
): BlockPrepare {
  const electors = validatorIds.filter((v) => v !== leader).slice(0, Q - 1)
  return signBlockPrepare(leader.signer, CHAIN_ID, {
    height,
    round,
    block,
    electionCert: electionCertificate(leader, [leader, ...electors], height, round),
    ...(valid ? { validRound: valid.round, validCert: valid.cert } : {}),
  })
}

/** The block votes of one phase in a list of actions, each once, with the validators it went to. */
function votesIn(actions: CoreAction[], phase: Phase): { vote: Vote; to: string[] }[] {
  const out: { vote: Vote; to: string[] }[] = []
  for (const a of actions) {
    if (a.type !== 'send-vote' || a.vote.phase !== phase) continue
    const same = out.find((o) => o.vote === a.vote)
    if (same) same.to.push(a.to)
    else out.push({ vote: a.vote, to: [a.to] })
  }
  return out
}

/** Every validator but core `i`: where each of its block votes goes. */
const othersOf = (i: number) => validatorIds.filter((_, k) => k !== i).map((v) => v.peerIdString)

const isCommitVote = (s: Sent) =>
  s.action.type === 'send-vote' && s.action.vote.phase === Phase.BLOCK_COMMIT

// ------------------------------------------------------------------ (a) a registration makes a block

describe('a registration', () => {
  it('ends in a block that is final on every core with the same hash and stateRoot', () => {
    const net = new Net()
    expect(net.register(0, alice, 'alice')).toMatchObject({ ok: true, address: alice.address })
    expect(net.runUntil(allAtHeight(net, 1))).toBe(true)

    const [first, ...rest] = heads(net)
    expect(first!.height).toBe(1)
    for (const head of rest) {
      expect(toHex(head.hash)).toBe(toHex(first!.hash))
      expect(toHex(head.stateRoot)).toBe(toHex(first!.stateRoot))
    }
    for (const i of net.live()) {
      const core = net.cores[i]!
      expect(core.account(alice.address)).toMatchObject({
        status: 'final',
        username: 'alice',
        registeredAt: 1,
      })
      expect(core.pool.pendingAccount(alice.address)).toBeUndefined()
      expect(core.pool.sizes().accounts).toBe(0)
      const [final] = net.finals(i)
      expect(final).toMatchObject({ height: 1, hash: toHex(first!.hash), accounts: 1, txs: 0 })
      const [op] = net.blockFinalOps(i)
      // for the node's log line: who proposed it, and whose commit votes made it final
      expect(final!.proposer).toBe(peerIdToString(op!.finalized.block!.header!.proposer))
      expect(final!.signers).toEqual(
        op!.finalized.commitCert!.signatures.map((sig) => peerIdToString(sig.voter)),
      )
      expect(final!.signers.length).toBeGreaterThanOrEqual(Q)
      expect(op!.finalized.block!.accounts.map((a) => a.username)).toEqual(['alice'])
      expect(op!.accountDeletes).toEqual([alice.address])
    }
    // the block's stateRoot is its execution's, from genesis
    const block = net.blockFinalOps(0)[0]!.finalized.block!
    const exec = executeBlock(LedgerState.fromGenesis(genesis), block, GENESIS_TIP.stateRoot)
    expect(toHex(exec.stateRoot)).toBe(toHex(first!.stateRoot))
    expect(toHex(block.header!.parentHash)).toBe(toHex(GENESIS_HASH))

    // with nothing left to decide, no further (empty) block is made
    net.runFor(10 * ROUND_MS)
    for (const i of net.live()) expect(net.cores[i]!.head.height).toBe(1)
    checkSafety(net)
    expect(unexpectedDrops(net)).toEqual([])
  })
})

describe('the safety check used here', () => {
  it('fails on a planted double vote and on a planted disagreement', () => {
    const net = netAfterBlock1()
    expect(() => checkSafety(net)).not.toThrow()
    const i = net.live().find((j) => net.votesSent(j, Phase.BLOCK_PERMIT).length > 0)!
    const permit = net.votesSent(i, Phase.BLOCK_PERMIT)[0]!
    const other = blockVoteBy(validatorIds[i]!, Phase.BLOCK_PERMIT, new Uint8Array(32), 1, 0)
    expect(other.round).toBe(permit.round)
    net.emitted[i]!.push({ type: 'send-vote', to: net.ids[0]!.peerIdString, vote: other })
    expect(() => checkSafety(net)).toThrow(/one signature per question/)
    net.emitted[i]!.pop()

    const op = net.blockFinalOps(1)[0]!
    const forked = { ...op, hash: toHex(new Uint8Array(32)) }
    net.emitted[1]!.push({ type: 'persist', ops: [forked] })
    expect(() => checkSafety(net)).toThrow(/agreement at height 1/)
  })
})

// ------------------------------------------------------------------ (b) a committed tx ends in a block

describe('a committed data tx', () => {
  it('ends in a final block: its record is final with {height, index}, no pool keeps it', () => {
    const net = netAfterBlock1()
    const tx = signedTx(alice, { nonce: 0, data: new TextEncoder().encode('a record') })
    const hash = toHex(txHash(tx))
    expect(net.submit(1, tx)).toEqual({ ok: true, hash, status: 'pending' })
    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)

    for (const i of net.live()) {
      const core = net.cores[i]!
      const record = core.tx(hash)
      expect(record?.status, `record at core ${i}`).toBe('final')
      expect(record?.block).toEqual({ height: 2, index: 0 })
      expect(core.pool.committed()).toEqual([])
      expect(core.pool.has(hash)).toBe(false)
      expect(core.account(alice.address)?.nonce).toBe(1)
      const op = net.blockFinalOps(i).find((o) => o.height === 2)!
      expect(op.finalized.block!.txs).toEqual([tx])
      expect(op.poolDeletes).toEqual([hash])
      expect(op.receipts.txs.map((r) => r.status)).toEqual(['OK'])
      // it was committed before it was final
      const statuses = net.emitted[i]!.flatMap((a) =>
        a.type === 'tx-status' && a.hash === hash ? [a.status] : [],
      )
      expect(statuses.at(-1)).toBe('final')
      expect(statuses).toContain('committed')
    }
    checkSafety(net)
    expect(unexpectedDrops(net)).toEqual([])
  })

  it('once final, its record lets go of the body: the block store serves it from then on', () => {
    const net = netAfterBlock1()
    const tx = signedTx(alice, { nonce: 0, data: new TextEncoder().encode('a record') })
    const hash = toHex(txHash(tx))
    net.submit(1, tx)
    expect(net.runUntil(() => net.cores[1]!.tx(hash)?.status === 'committed')).toBe(true)
    expect(net.cores[1]!.tx(hash)?.tx).not.toBeNull()
    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)
    for (const i of net.live()) {
      expect(net.cores[i]!.tx(hash)?.status).toBe('final')
      expect(net.cores[i]!.tx(hash)?.tx, `record at core ${i}`).toBeNull()
    }
  })

  it('is in one block only, when a second round of it commits after that block is final', () => {
    // a wallet gives one signed tx to two nodes at once: both run a round of it (two batches,
    // both certified); the second round's PREPARE votes reach its target only after the block
    // with the tx is final, so its commit certificate comes late everywhere
    const net = netAfterBlock1()
    const tx = signedTx(alice, { nonce: 0, data: new TextEncoder().encode('twice') })
    const hash = toHex(txHash(tx))
    net.hold = (s, to) =>
      to === 1 && s.action.type === 'send-batch-vote' && s.action.vote.phase === Phase.PREPARE
    expect(net.submit(0, tx)).toMatchObject({ ok: true, hash })
    expect(net.submit(1, tx)).toMatchObject({ ok: true, hash })
    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)
    expect(net.held.length).toBeGreaterThanOrEqual(Q - 1)
    net.hold = null
    for (const h of [...net.held]) net.release(h)
    net.runFor(3 * ROUND_MS)

    // the late certificate reached every core: the target published it, the others took it
    expect(
      net.emitted[1]!.filter((x) => x.type === 'publish' && x.topic === 'commit'),
    ).toHaveLength(1)
    for (const i of net.live()) {
      const core = net.cores[i]!
      const record = core.tx(hash)
      expect(record?.status, `record at core ${i}`).toBe('final')
      expect(record?.block).toEqual({ height: 2, index: 0 })
      expect(core.pool.has(hash), `pool of core ${i}`).toBe(false)
      expect(core.pool.sizes().committed).toBe(0)
      // no block after 2: nothing was left to decide
      expect(core.head.height).toBe(2)
      const inBlocks = net
        .blockFinalOps(i)
        .flatMap((op) => op.finalized.block!.txs.map((t) => toHex(txHash(t))))
      expect(inBlocks.filter((h) => h === hash)).toHaveLength(1)
      // and nothing told a client it failed
      const statuses = net.emitted[i]!.flatMap((a) =>
        a.type === 'tx-status' && a.hash === hash ? [a.status] : [],
      )
      expect(statuses).not.toContain('failed')
    }
    checkSafety(net)
  })

  it('a committed tx whose nonce another tx used in a final block leaves the pool, failed', () => {
    // the sender signed two txs with nonce 0; one runs on this network, the other's batch and
    // commit certificate (made on a replica of it) reach core 3 before the first's block
    const second = signedTx(alice, { nonce: 0, data: new TextEncoder().encode('second') })
    const b = toHex(txHash(second))
    const replica = netAfterBlock1()
    expect(replica.submit(1, second)).toMatchObject({ ok: true, hash: b })
    const published = (topic: 'tx' | 'commit') => () =>
      replica.emitted[1]!.find((x) => x.type === 'publish' && x.topic === topic)
    expect(replica.runUntil(() => published('commit')() != null)).toBe(true)
    const batch = published('tx')() as Extract<CoreAction, { type: 'publish'; topic: 'tx' }>
    const commit = published('commit')() as Extract<
      CoreAction,
      { type: 'publish'; topic: 'commit' }
    >

    const net = netAfterBlock1()
    const first = signedTx(alice, { nonce: 0, data: new TextEncoder().encode('first') })
    const a = toHex(txHash(first))
    expect(net.submit(0, first)).toMatchObject({ ok: true, hash: a })
    const from = net.ids[1]!.peerIdString
    net.step(3, { type: 'tx-batch', batch: batch.message, from })
    net.step(3, { type: 'batch-commit', msg: commit.message, from })
    const core = net.cores[3]!
    expect(core.pool.get(b)?.status).toBe('committed')

    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)
    net.runFor(3 * ROUND_MS)
    const block2 = net.blockFinalOps(3).find((op) => op.height === 2)!
    expect(block2.finalized.block!.txs.map((t) => toHex(txHash(t)))).toEqual([a])
    expect(block2.poolDeletes).toContain(b)
    expect(core.pool.has(b)).toBe(false)
    expect(core.pool.sizes().committed).toBe(0)
    expect(core.tx(b)?.status).toBe('failed')
    expect(core.tx(b)?.reason?.code).toBe('NONCE_USED')
    expect(core.tx(a)?.status).toBe('final')
    // nothing left to decide: no empty blocks for a tx that can never apply
    for (const i of net.live()) expect(net.cores[i]!.head.height, `core ${i}`).toBe(2)
    checkSafety(net)
  })

  it('is proposed even when the leader’s interval timer fires a moment early', () => {
    const net = netAfterBlock1()
    net.submit(1, signedTx(alice, { nonce: 0 }))
    const proposeTimer = () =>
      net.steps.find((s) =>
        s.actions.some((a) => a.type === 'set-timer' && a.key === 'propose:2:0'),
      )
    expect(net.runUntil(() => proposeTimer() != null)).toBe(true)
    const { core: leader, actions } = proposeTimer()!
    const at = (
      actions.find((a) => a.type === 'set-timer' && a.key === 'propose:2:0') as {
        at: number
      }
    ).at
    // the timer comes back a millisecond before its time
    net.now = Math.max(net.now, at - 1)
    const early = net.step(leader, { type: 'timer', key: 'propose:2:0' })
    expect(early.some((a) => a.type === 'publish' && a.topic === 'block-sync')).toBe(false)
    // it arms itself again, and the block goes out at its time
    expect(early).toContainEqual({ type: 'set-timer', key: 'propose:2:0', at })
    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)
    expect(net.finals(leader).find((f) => f.height === 2)).toMatchObject({ round: 0 })
    checkSafety(net)
  })

  it('is proposed no sooner than blockIntervalMs after the last block, its leader elected meanwhile', () => {
    const net = netAfterBlock1()
    const tx = signedTx(alice, { nonce: 0, data: new TextEncoder().encode('soon') })
    net.submit(1, tx)
    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)
    const at = (core: number, what: (a: CoreAction) => boolean) =>
      net.steps.find((s) => s.core === core && s.actions.some(what))?.at
    const proposal = net.steps.find((s) =>
      s.actions.some(
        (a) => a.type === 'publish' && a.topic === 'block-sync' && a.message.prepare?.height === 2,
      ),
    )!
    const leader = proposal.core
    const final1 = at(leader, (a) => a.type === 'block-final' && a.height === 1)!
    const elected = at(
      leader,
      (a) => a.type === 'round' && a.height === 2 && a.leader === net.ids[leader]!.peerIdString,
    )!
    const { blockIntervalMs } = genesis.timeouts
    // the election took place while txs gathered; the proposal waited out the interval
    expect(elected).toBeLessThan(final1 + blockIntervalMs)
    expect(proposal.at).toBeGreaterThanOrEqual(final1 + blockIntervalMs)
    checkSafety(net)
  })
})

// ------------------------------------------------------------------ (c) persistence before votes

describe('persistence', () => {
  it('persists the lock (sign state) before the commit vote leaves, and the block when final', () => {
    const net = new Net()
    net.register(0, alice, 'alice')
    expect(net.runUntil(allAtHeight(net, 1))).toBe(true)
    const leader = net.leaderOf(1, 0)
    expect(leader).toBeGreaterThanOrEqual(0)
    const hash = toHex(net.cores[0]!.head.hash)

    let checked = 0
    for (const i of net.live()) {
      if (i === leader) continue
      const steps = net.steps.filter(
        (s) => s.core === i && votesIn(s.actions, Phase.BLOCK_COMMIT).length > 0,
      )
      expect(steps, `core ${i} sent one commit vote`).toHaveLength(1)
      const { actions, event } = steps[0]!
      // it answered q permits: the last one it counted, or the leader's Add
      expect(
        (event.type === 'vote' && event.vote.phase === Phase.BLOCK_PERMIT) ||
          (event.type === 'block-sync' && event.msg.add != null),
      ).toBe(true)
      const voteAt = actions.findIndex(
        (a) => a.type === 'send-vote' && a.vote.phase === Phase.BLOCK_COMMIT,
      )
      const vote = (actions[voteAt] as Extract<CoreAction, { type: 'send-vote' }>).vote
      expect(toHex(vote.subject)).toBe(hash)
      expect(vote.result).toBe(VoteResult.PERMIT)
      const lockAt = actions.findIndex(
        (a) =>
          a.type === 'persist' &&
          a.ops.some(
            (op) =>
              op.op === 'sign-state' &&
              op.state.lockedRound === vote.round &&
              op.state.lockedHash != null &&
              toHex(op.state.lockedHash) === hash &&
              op.state.commitSubject != null &&
              toHex(op.state.commitSubject) === hash,
          ),
      )
      expect(lockAt, `core ${i} persisted its lock`).toBeGreaterThanOrEqual(0)
      expect(lockAt, `core ${i} persisted its lock before the vote`).toBeLessThan(voteAt)
      checked++
    }
    expect(checked).toBe(N - 1)

    // the leader locked on disk before it published the Final
    const leaderSteps = net.steps.filter((s) => s.core === leader)
    const flat = leaderSteps.flatMap((s) => s.actions)
    const finalAt = flat.findIndex(
      (a) => a.type === 'publish' && a.topic === 'block-sync' && a.message.final != null,
    )
    const lockAt = flat.findIndex(
      (a) =>
        a.type === 'persist' &&
        a.ops.some((op) => op.op === 'sign-state' && op.state.lockedHash != null),
    )
    expect(finalAt).toBeGreaterThanOrEqual(0)
    expect(lockAt).toBeGreaterThanOrEqual(0)
    expect(lockAt).toBeLessThan(finalAt)

    // every core persisted the final block, before it reported it
    for (const i of net.live()) {
      const step = net.steps.find(
        (s) => s.core === i && s.actions.some((a) => a.type === 'block-final'),
      )!
      const opAt = step.actions.findIndex(
        (a) =>
          a.type === 'persist' && a.ops.some((op) => op.op === 'block-final' && op.hash === hash),
      )
      const reportAt = step.actions.findIndex((a) => a.type === 'block-final')
      expect(opAt).toBeGreaterThanOrEqual(0)
      expect(opAt).toBeLessThan(reportAt)
      const [op] = net.blockFinalOps(i)
      expect(op).toMatchObject({ height: 1, hash })
      expect(toHex(op!.stateRoot)).toBe(toHex(net.cores[i]!.head.stateRoot))
      expect(op!.accounts.map((a) => a.address)).toEqual([alice.address])
    }
    checkSafety(net)
  })
})

// ------------------------------------------------------------------ (d) locking

/**
 * A network where every validator permitted block A in round 0 of height 1
 * and received the Add (so locked on A), but the commit votes were lost:
 * A is not final anywhere. The agenda is left as it is (round timers due).
 */
function lockedOnA() {
  const net = new Net()
  net.hold = (s) => isCommitVote(s)
  net.register(0, alice, 'alice')
  expect(net.runUntil(() => net.cores.every((c) => c.blocks.lock() != null))).toBe(true)
  // the commit votes of the three others are held (lost), none delivered
  expect(net.runUntil(() => net.held.length === N - 1)).toBe(true)
  const leader = net.leaderOf(1, 0)
  for (const h of net.held) expect(isCommitVote(h.sent)).toBe(true)
  const [add] = net.published(leader, 'block-sync').filter((m) => m.add != null)
  const lockA = net.cores[leader]!.blocks.lock()!
  for (const core of net.cores) {
    expect(core.blocks.lock()).toEqual({ round: 0, hash: lockA.hash })
    expect(core.head.height).toBe(0)
  }
  // a validator other than the leader: the one under test
  const x = (leader + 1) % N
  return {
    net,
    leader,
    x,
    hashA: lockA.hash,
    blockA: blockSeenBy(net, x, lockA.hash),
    addA: add!.add!,
  }
}

/** The block `hash` as core `i` got it in a proposal. */
function blockSeenBy(net: Net, i: number, hash: string): Block {
  for (const s of net.steps) {
    if (s.core !== i || s.event.type !== 'block-sync') continue
    const block = s.event.msg.prepare?.block
    if (block && toHex(blockHash(block.header!)) === hash) return block
  }
  throw new Error(`core ${i} never saw block ${hash}`)
}

/** The identity of the rotation leader of (height, round). */
function rotationIdentity(height: number, round: number): NodeIdentity {
  const id = rotationLeader(validatorSet, height, round)
  return validatorIds.find((v) => v.peerIdString === id)!
}

/** Time core `x` out of its rounds until it is in one (≥ 1) that another validator leads. */
function nextRoundLedByOther(net: Net, x: number): number {
  let r = net.cores[x]!.blocks.round
  do {
    net.now += ROUND_MS
    net.step(x, { type: 'timer', key: `round:1:${r}` })
    r = net.cores[x]!.blocks.round
  } while (rotationLeader(validatorSet, 1, r) === validatorIds[x]!.peerIdString)
  return r
}

describe('a validator locked on block A', () => {
  it('rejects (LOCKED) a proposal of another block B without a validRound in the next round', () => {
    const { net, x, hashA } = lockedOnA()
    const core = net.cores[x]!
    // x's round deadlines pass: the first round x does not lead itself
    const r = nextRoundLedByOther(net, x)
    expect(core.blocks.round).toBe(r)

    const proposer = rotationIdentity(1, r)
    const blockB = emptyBlock(GENESIS_TIP, LedgerState.fromGenesis(genesis), proposer, r, net.now)
    const hashB = toHex(blockHash(blockB.header!))
    expect(hashB).not.toBe(hashA)
    const prepare = proposalBy(proposer, 1, r, blockB)
    // it passes the gossip gate
    validateBlockSync({ chainId: CHAIN_ID, validators: validatorSet }, { prepare })
    const actions = net.step(x, {
      type: 'block-sync',
      msg: { prepare },
      from: proposer.peerIdString,
    })
    const votes = votesIn(actions, Phase.BLOCK_PERMIT)
    expect(votes).toHaveLength(1)
    expect(votes[0]!.to).toEqual(othersOf(x))
    expect(votes[0]!.vote).toMatchObject({
      height: 1,
      round: r,
      result: VoteResult.REJECT,
      reason: RejectReason.LOCKED,
    })
    expect(toHex(votes[0]!.vote.subject)).toBe(hashB)
    expect(core.blocks.lock()).toEqual({ round: 0, hash: hashA })

    // B itself is fine: a validator without the lock permits it
    const fresh = newCore(validatorIds[x]!, 99)
    for (let k = 0; k < r; k++) fresh.step({ type: 'timer', key: `round:1:${k}`, now: net.now })
    const freshVotes = votesIn(
      fresh.step({
        type: 'block-sync',
        msg: { prepare },
        from: proposer.peerIdString,
        now: net.now,
      }),
      Phase.BLOCK_PERMIT,
    )
    expect(freshVotes.map((v) => v.vote.result)).toEqual([VoteResult.PERMIT])
  })

  it('permits a re-proposal of A (validRound 0, with A’s permit certificate) in the next round', () => {
    const { net, x, hashA, blockA, addA } = lockedOnA()
    const r = nextRoundLedByOther(net, x)
    const proposer = rotationIdentity(1, r)
    const prepare = proposalBy(proposer, 1, r, blockA, { round: 0, cert: addA.permitCert! })
    // straight to the core (the gossip gate's view of re-proposals is tested below)
    const actions = net.step(x, {
      type: 'block-sync',
      msg: { prepare },
      from: proposer.peerIdString,
    })
    const votes = votesIn(actions, Phase.BLOCK_PERMIT)
    expect(votes).toHaveLength(1)
    expect(votes[0]!.vote).toMatchObject({
      round: r,
      result: VoteResult.PERMIT,
      reason: RejectReason.NONE,
    })
    expect(toHex(votes[0]!.vote.subject)).toBe(hashA)
  })

  // Every validator holds A as its valid block, so every later leader
  // re-proposes A (BlockPrepare round r+1, A's header round r). The gossip
  // gate (validateBlockSync) must let that through, or no block can ever
  // gather q permits again at this height.
  it('lets the network finalise A in a later round once commit votes flow again (liveness)', () => {
    const { net, hashA } = lockedOnA()
    net.hold = null
    net.held.splice(0) // round 0's commit votes are lost for good
    const done = net.runUntil(allAtHeight(net, 1), 20 * ROUND_MS)
    const refused = [...new Set(unexpectedDrops(net).map((d) => d.code))]
    expect({ final: done, refused }).toEqual({ final: true, refused: [] })
    for (const head of heads(net)) expect(toHex(head.hash)).toBe(hashA)
    checkSafety(net)
  })
})

// ------------------------------------------------------------------ (e) leader crash

describe('a leader that crashes right after its election', () => {
  it('is replaced: the others time out, move to round 1, elect another leader and finalise', () => {
    const net = new Net()
    let crashed = -1
    net.onStep = (step) => {
      if (crashed >= 0) return
      for (const a of step.actions) {
        if (a.type === 'round' && a.height === 1 && a.round === 0 && a.leader != null) {
          crashed = net.indexOf(a.leader)
          net.down.add(crashed)
          return
        }
      }
    }
    net.register(0, alice, 'alice')
    expect(net.runUntil(allAtHeight(net, 1))).toBe(true)
    expect(crashed).toBeGreaterThanOrEqual(0)
    const live = net.live()
    expect(live).toHaveLength(N - 1)
    expect(net.cores[crashed]!.head.height).toBe(0)

    const hash = toHex(net.cores[live[0]!]!.head.hash)
    for (const i of live) {
      expect(toHex(net.cores[i]!.head.hash)).toBe(hash)
      // its round-0 deadline fired, and it moved on
      expect(
        net.steps.some(
          (s) => s.core === i && s.event.type === 'timer' && s.event.key === 'round:1:0',
        ),
        `core ${i} timed out in round 0`,
      ).toBe(true)
      expect(
        net.emitted[i]!.some((a) => a.type === 'round' && a.height === 1 && a.round === 1),
      ).toBe(true)
      // the crashed leader's proposal never arrived: nobody voted in round 0
      expect(net.votesSent(i).filter((v) => v.round === 0)).toEqual([])
      const [final] = net.finals(i)
      expect(final!.round).toBeGreaterThanOrEqual(1)
      expect(net.cores[i]!.account(alice.address)?.status).toBe('final')
    }
    const block = net.blockFinalOps(live[0]!)[0]!.finalized.block!
    expect(peerIdToString(block.header!.proposer)).not.toBe(validatorIds[crashed]!.peerIdString)
    expect(net.leaderOf(1, block.header!.round)).not.toBe(crashed)
    checkSafety(net)
  })
})

// ------------------------------------------------------------------ (f) election

describe('the election', () => {
  /** A network where every core has started height 1 but no election timer has fired. */
  function activated(): Net {
    const net = new Net()
    net.register(0, alice, 'alice')
    expect(net.runUntil(() => net.cores.every((c) => c.blocks.active), 5)).toBe(true)
    for (const i of net.live()) expect(net.published(i, 'election')).toEqual([])
    return net
  }
  it('in round 0 the preferred candidate (h mod n in rotation order) asks first; the others only later', () => {
    const preferred = rotationLeader(validatorSet, 1, 0)
    const now = T0
    const timers = validatorIds.map((id, i) => {
      const core = newCore(id, seedOf(i))
      const actions = core.step({
        type: 'account',
        reg: registrationOf(alice, 'alice'),
        from: validatorIds[(i + 1) % N]!.peerIdString,
        now,
      })
      const at = actions.flatMap((a) =>
        a.type === 'set-timer' && a.key === 'election:1:0' ? [a.at] : [],
      )
      expect(at).toHaveLength(1)
      return { who: id.peerIdString, delay: at[0]! - now }
    })
    const { electionMinMs: min, electionMaxMs: max } = genesis.timeouts
    for (const t of timers) {
      if (t.who === preferred) expect(t.delay).toBe(min)
      else {
        expect(t.delay).toBeGreaterThanOrEqual(min + Math.floor((max - min) / 2))
        expect(t.delay).toBeLessThan(max)
      }
    }
  })

  const gate = { chainId: CHAIN_ID, validators: validatorSet }
  const request = (who: NodeIdentity, height: number, round: number): ElectionMessage => ({
    request: signElectionRequest(who.signer, CHAIN_ID, { height, round, candidate: who.peerId }),
  })
  const voteFor = (
    voter: NodeIdentity,
    candidate: NodeIdentity,
    round: number,
  ): ElectionMessage => ({
    vote: signElectionVote(voter.signer, CHAIN_ID, {
      height: 1,
      round,
      candidate: candidate.peerId,
      voter: voter.peerId,
    }),
  })
  const votesOf = (net: Net, i: number) =>
    net.published(i, 'election').flatMap((m) => (m.vote ? [m.vote] : []))

  it('a validator votes for the first candidate it hears of in a round, never for a second', () => {
    const net = activated()
    const x = 3
    const [a, b, c] = validatorIds as [NodeIdentity, NodeIdentity, NodeIdentity]
    const deliver = (from: NodeIdentity, msg: ElectionMessage) => {
      validateElection(gate, msg)
      net.step(x, { type: 'election', msg, from: from.peerIdString })
    }
    deliver(a, request(a, 1, 0))
    const first = votesOf(net, x)
    expect(first).toHaveLength(1)
    expect(peerIdToString(first[0]!.candidate)).toBe(a.peerIdString)
    expect(first[0]).toMatchObject({ height: 1, round: 0 })

    // a second candidate asks, and another validator votes for it: no second vote
    deliver(b, request(b, 1, 0))
    deliver(c, voteFor(c, b, 0))
    // x's own election timer fires: it has voted, so it does not ask to lead
    net.step(x, { type: 'timer', key: 'election:1:0' })
    expect(votesOf(net, x)).toHaveLength(1)
    expect(net.published(x, 'election').filter((m) => m.request != null)).toEqual([])
    // the vote was persisted before it went out, in the same step
    const [state] = net.signStates(x)
    expect(state).toMatchObject({ height: 1, round: 0 })
    expect(peerIdToString(state!.electionCandidate!)).toBe(a.peerIdString)
    const step = net.steps.find(
      (st) =>
        st.core === x &&
        st.actions.some((a) => a.type === 'publish' && a.topic === 'election' && a.message.vote),
    )!
    const persistAt = step.actions.findIndex(
      (a) => a.type === 'persist' && a.ops.some((op) => op.op === 'sign-state'),
    )
    const publishAt = step.actions.findIndex((a) => a.type === 'publish' && a.topic === 'election')
    expect(persistAt).toBeGreaterThanOrEqual(0)
    expect(persistAt).toBeLessThan(publishAt)

    // a new round is a new question, and from round 1 on it has one answer: the rotation leader
    const timedOut = net.step(x, { type: 'timer', key: 'round:1:0' })
    // the node says which round failed and why, as it saw it: its vote made no quorum
    expect(timedOut.filter((act) => act.type === 'round-failed')).toEqual([
      { type: 'round-failed', height: 1, round: 0, leader: null, why: 'no leader was elected' },
    ])
    expect(votesOf(net, x).map((v) => [v.round, peerIdToString(v.candidate)])).toEqual([
      [0, a.peerIdString],
      [1, rotationLeader(validatorSet, 1, 1)],
    ])
    // nobody may ask to lead a rotation round, and a vote for another candidate is refused
    expect(() => validateElection(gate, request(b, 1, 1))).toThrow(/ROTATION_ROUND/)
    const notLeader = validatorIds.find(
      (v) => v.peerIdString !== rotationLeader(validatorSet, 1, 1),
    )!
    expect(() => validateElection(gate, voteFor(c, notLeader, 1))).toThrow(/NOT_ROTATION_LEADER/)
  })

  it('a split round-0 election (no candidate can reach q) ends at once: on to round 1', () => {
    const net = activated()
    const x = 3
    const [a, b, c] = validatorIds as [NodeIdentity, NodeIdentity, NodeIdentity]
    const deliver = (from: NodeIdentity, msg: ElectionMessage) => {
      validateElection(gate, msg)
      net.step(x, { type: 'election', msg, from: from.peerIdString })
    }
    deliver(a, voteFor(a, a, 0)) // x follows: a has 2
    deliver(b, voteFor(b, b, 0)) // b has 1; one vote uncast could still make a's 3
    expect(net.cores[x]!.blocks.round).toBe(0)
    deliver(c, voteFor(c, b, 0)) // 2 and 2, every vote cast: nobody can lead round 0
    expect(net.cores[x]!.blocks.round).toBe(1)
    // it went on without its round timer, and votes for round 1's rotation leader
    expect(votesOf(net, x).map((v) => [v.round, peerIdToString(v.candidate)])).toEqual([
      [0, a.peerIdString],
      [1, rotationLeader(validatorSet, 1, 1)],
    ])
  })

  it('a request for a round the validator has not entered gets no vote there, ever', () => {
    const net = activated()
    const x = 3
    const a = validatorIds[0]!
    // a request for round 1 (refused by the gate anyway) and for the next height
    net.step(x, { type: 'election', msg: request(a, 1, 1), from: a.peerIdString })
    net.step(x, { type: 'election', msg: request(a, 2, 0), from: a.peerIdString })
    expect(votesOf(net, x)).toEqual([])
    // entering round 1, x votes for the rotation leader, not for the one that asked early
    net.step(x, { type: 'timer', key: 'round:1:0' })
    expect(votesOf(net, x).map((v) => [v.round, peerIdToString(v.candidate)])).toEqual([
      [1, rotationLeader(validatorSet, 1, 1)],
    ])
  })

  it('a preferred candidate that signed the last commit certificate gets every vote at once', () => {
    const net = netAfterBlock1()
    for (let nonce = 0; nonce < 4; nonce++) {
      net.submit(nonce % N, signedTx(alice, { nonce }))
      expect(net.runUntil(allAtHeight(net, nonce + 2))).toBe(true)
    }
    let fast = 0
    let timers = 0
    for (let height = 2; height <= 5; height++) {
      const preferred = rotationLeader(validatorSet, height, 0)
      for (const i of net.live()) {
        // each validator counted the commit votes of the block before itself: its own certificate
        const signers = net.finals(i).find((f) => f.height === height - 1)!.signers
        const entered = net.steps.find(
          (s) =>
            s.core === i &&
            s.actions.some((a) => a.type === 'round' && a.height === height && a.round === 0),
        )!
        const votedAtOnce = entered.actions.some(
          (a) =>
            a.type === 'publish' &&
            a.topic === 'election' &&
            a.message.vote?.height === height &&
            peerIdToString(a.message.vote.candidate) === preferred,
        )
        const timer = net.emitted[i]!.some(
          (a) => a.type === 'set-timer' && a.key === `election:${height}:0`,
        )
        if (signers.includes(preferred)) {
          // no timer, no request: it voted for the preferred candidate on entering round 0
          expect(votedAtOnce, `core ${i} at height ${height}`).toBe(true)
          expect(timer, `core ${i} at height ${height}`).toBe(false)
          fast++
        } else {
          // the preferred candidate was not live a moment ago, as far as it knows: the timers
          expect(timer, `core ${i} at height ${height}`).toBe(true)
          timers++
        }
      }
      // either way, round 0 elected the preferred candidate
      const round0 = net
        .live()
        .flatMap((i) => votesOf(net, i))
        .filter((v) => v.height === height && v.round === 0)
      expect(round0.map((v) => peerIdToString(v.candidate))).toEqual(round0.map(() => preferred))
    }
    expect(fast).toBeGreaterThan(0)
    expect(fast + timers).toBe(4 * N)
    checkSafety(net)
  })

  it('counts the next height’s votes that came before its own Final, and never follows them', () => {
    const x = 3
    /** a network where core x has not decided block 1 (no Final, no commit votes) while the others have */
    const behind = (): Net => {
      const net = new Net()
      net.hold = (s, to) =>
        to === x &&
        ((s.action.type === 'publish' &&
          s.action.topic === 'block-sync' &&
          s.action.message.final != null) ||
          (s.action.type === 'send-vote' && s.action.vote.phase === Phase.BLOCK_COMMIT))
      net.register(0, alice, 'alice')
      expect(net.runUntil(allAtHeight(net, 1, [0, 1, 2]))).toBe(true)
      expect(net.cores[x]!.head.height).toBe(0)
      net.hold = null
      return net
    }
    const preferred = validatorIds.find(
      (v) => v.peerIdString === rotationLeader(validatorSet, 2, 0),
    )!
    const electors = validatorIds.filter((v) => v !== validatorIds[x]!)
    const other = electors.find((v) => v !== preferred)!
    const vote2 = (voter: NodeIdentity, candidate: NodeIdentity): ElectionMessage => ({
      vote: signElectionVote(voter.signer, CHAIN_ID, {
        height: 2,
        round: 0,
        candidate: candidate.peerId,
        voter: voter.peerId,
      }),
    })
    const finish = (net: Net) => {
      for (const h of [...net.held]) net.release(h)
      expect(net.runUntil(allAtHeight(net, 1, [x]))).toBe(true)
    }

    // q votes for height 2 come early: x is in round 0 with its leader the moment it enters
    const a = behind()
    for (const voter of electors)
      a.step(x, { type: 'election', msg: vote2(voter, preferred), from: voter.peerIdString })
    expect(votesOf(a, x).filter((v) => v.height === 2)).toEqual([])
    finish(a)
    expect(a.cores[x]!.blocks.leader(0)).toBe(preferred.peerIdString)

    // one early vote for another candidate: counted, never followed
    const b = behind()
    b.step(x, { type: 'election', msg: vote2(other, other), from: other.peerIdString })
    finish(b)
    expect(b.cores[x]!.blocks.active).toBe(true)
    expect(
      votesOf(b, x).filter(
        (v) => v.height === 2 && peerIdToString(v.candidate) === other.peerIdString,
      ),
    ).toEqual([])
  })

  it('keeps the next height’s early votes within n × rounds, the first of each, one height only', () => {
    const early = new EarlyElectionVotes(2)
    const [a, b] = validatorIds as [NodeIdentity, NodeIdentity]
    const vote = (voter: NodeIdentity, height: number, round: number, candidate = voter) =>
      signElectionVote(voter.signer, CHAIN_ID, {
        height,
        round,
        candidate: candidate.peerId,
        voter: voter.peerId,
      })
    const first = vote(a, 5, 0)
    early.keep(first)
    early.keep(vote(a, 5, 0, b)) // a second vote of a in round 0: the first stays
    early.keep(vote(a, 5, 1))
    early.keep(vote(a, 5, 2)) // beyond the kept rounds
    early.keep(vote(b, 5, 0))
    expect(early.size).toBe(3)
    early.keep(vote(b, 4, 0)) // an older height is dropped
    expect(early.size).toBe(3)
    expect(early.take(6)).toEqual([]) // asked for another height: nothing, and all forgotten
    expect(early.size).toBe(0)
    early.keep(first)
    early.keep(vote(b, 6, 0)) // a newer height starts over
    expect(early.take(6).map((v) => v.height)).toEqual([6])
    expect(early.size).toBe(0)
  })

  it('a leader of a failed round is not voted for in round 0 of the next heights', () => {
    const reputation = new LeaderReputation(1, 4)
    const [a, b] = validatorIds.map((v) => v.peerIdString) as [string, string]
    reputation.failed(a, 5)
    expect(reputation.eligible(a, 6)).toBe(false)
    expect(reputation.eligible(a, 9)).toBe(false)
    expect(reputation.eligible(a, 10)).toBe(true)
    // at most f excluded: a newer failure takes the place of the older one
    reputation.failed(a, 5)
    reputation.failed(b, 6)
    expect(reputation.excluded(7)).toEqual([b])
  })

  it('a validator whose election vote is its first word in the round follows a vote it hears', () => {
    const net = activated()
    const x = 2
    const [a, b] = validatorIds as [NodeIdentity, NodeIdentity]
    const msg = voteFor(b, a, 0)
    validateElection(gate, msg)
    net.step(x, { type: 'election', msg, from: b.peerIdString })
    expect(votesOf(net, x).map((v) => peerIdToString(v.candidate))).toEqual([a.peerIdString])
  })

  it('never has a validator sign two election votes in one round across a run of blocks', () => {
    const net = netAfterBlock1()
    net.submit(2, signedTx(alice, { nonce: 0 }))
    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)
    net.submit(3, signedTx(alice, { nonce: 1 }))
    expect(net.runUntil(allAtHeight(net, 3))).toBe(true)
    const electionVotes = net.live().flatMap((i) => votesOf(net, i))
    expect(electionVotes.length).toBeGreaterThanOrEqual(3 * Q)
    checkSafety(net)
  })
})

// ------------------------------------------------------------------ (g) one vote per validator at the leader

describe('the leader counting block votes', () => {
  it('every validator locks and decides on its own count of the votes, without Add or Final', () => {
    const net = new Net()
    // the leader's Add and Final are lost on their way to everyone
    net.hold = (s) =>
      s.action.type === 'publish' &&
      s.action.topic === 'block-sync' &&
      (s.action.message.add != null || s.action.message.final != null)
    net.register(0, alice, 'alice')
    expect(net.runUntil(allAtHeight(net, 1))).toBe(true)
    const leader = net.leaderOf(1, 0)
    // the leader published both (for observers); no validator needed them
    const sync = net.published(leader, 'block-sync')
    expect(sync.some((m) => m.add != null) && sync.some((m) => m.final != null)).toBe(true)
    net.runFor(10)
    expect(net.held.length).toBeGreaterThan(0)
    expect(new Set(heads(net).map((h) => toHex(h.hash))).size).toBe(1)
    for (const i of net.live()) {
      // a commit certificate of q votes that it gathered itself
      const [op] = net.blockFinalOps(i)
      expect(op!.finalized.commitCert!.signatures).toHaveLength(Q)
      expect(net.cores[i]!.blocks.lock()).toBeNull() // a new height: no lock
    }
    checkSafety(net)
  })

  it('counts a validator’s repeated or conflicting second vote once', () => {
    const net = new Net()
    net.hold = (s) => s.action.type === 'send-vote' && s.action.vote.phase === Phase.BLOCK_PERMIT
    net.register(0, alice, 'alice')
    // every validator has answered the proposal, to every other; the answers are held
    expect(net.runUntil(() => net.held.length === N * (N - 1))).toBe(true)
    net.hold = null
    const leader = net.leaderOf(1, 0)
    const others = net.live().filter((i) => i !== leader)
    const [x, y] = others as [number, number]
    // what the leader counts: the permits addressed to it
    const heldFrom = (i: number) => net.held.find((h) => h.sent.from === i && h.to === leader)!
    const vx = (heldFrom(x).sent.action as Extract<CoreAction, { type: 'send-vote' }>).vote
    expect(vx.result).toBe(VoteResult.PERMIT)
    const adds = () => net.published(leader, 'block-sync').filter((m) => m.add != null)
    const evidence = () => net.cores[leader]!.evidence.list()

    net.release(heldFrom(x)) // 2 permits with the leader's own
    expect(adds()).toEqual([])
    // the same permit again
    net.step(leader, { type: 'vote', vote: vx, from: net.ids[x]!.peerIdString })
    expect(adds()).toEqual([])
    expect(evidence()).toEqual([])
    // a conflicting one: x now rejects the same block
    const reject = blockVoteBy(
      validatorIds[x]!,
      Phase.BLOCK_PERMIT,
      vx.subject,
      1,
      0,
      RejectReason.LOCKED,
    )
    net.step(leader, { type: 'vote', vote: reject, from: net.ids[x]!.peerIdString })
    expect(adds()).toEqual([])
    expect(evidence()).toHaveLength(1)
    expect(evidence()[0]).toMatchObject({ kind: EvidenceKind.BLOCK_VOTE, height: 1, round: 0 })
    expect(peerIdToString(evidence()[0]!.offender)).toBe(net.ids[x]!.peerIdString)
    expect(evidence()[0]!.firstVote).toEqual(vx)
    expect(evidence()[0]!.secondVote).toEqual(reject)

    // a third validator's permit makes the quorum: the Add has q distinct signers
    net.release(heldFrom(y))
    const [add] = adds()
    expect(add).toBeDefined()
    const signers = add!.add!.permitCert!.signatures.map((s) => peerIdToString(s.voter))
    expect(signers).toHaveLength(Q)
    expect(new Set(signers)).toEqual(new Set([leader, x, y].map((i) => net.ids[i]!.peerIdString)))
    expect(bytesEqual(add!.add!.blockHash, vx.subject)).toBe(true)
  })
})

// ------------------------------------------------------------------ (h) restart

describe('a validator restarted from its store', () => {
  it('keeps its lock (restoreChain with the persisted sign state) and stays bound by it', () => {
    const { net, x, hashA } = lockedOnA()
    const before = net.cores[x]!.blocks.lock()
    expect(before).toEqual({ round: 0, hash: hashA })
    const signState = net.signStates(x).at(-1)!
    expect(signState.lockedRound).toBe(0)

    const restarted = newCore(validatorIds[x]!, seedOf(x))
    const now = net.now + 1_000
    restarted.restoreChain(
      {
        head: {
          height: 0,
          hash: GENESIS_HASH,
          time: GENESIS_TIP.time,
          stateRoot: GENESIS_TIP.stateRoot,
        },
        accounts: [],
        unclaimed: [],
        signState,
      },
      now,
    )
    expect(restarted.blocks.lock()).toEqual(before)
    expect(restarted.blocks.height).toBe(1)
    // it resumes in the next round
    expect(restarted.blocks.round).toBe(1)

    // no second election vote in the round it had voted in
    const other = validatorIds.find(
      (v, i) => i !== x && v.peerIdString !== peerIdToString(signState.electionCandidate!),
    )!
    const again = restarted.step({
      type: 'election',
      msg: {
        request: signElectionRequest(other.signer, CHAIN_ID, {
          height: 1,
          round: 0,
          candidate: other.peerId,
        }),
      },
      from: other.peerIdString,
      now,
    })
    // (its only election word is its round-1 vote, for the rotation leader)
    const electionVotes = again.flatMap((a) =>
      a.type === 'publish' && a.topic === 'election' ? [a.message] : [],
    )
    expect(electionVotes.map((m) => [m.request != null, m.vote?.round])).toEqual([[false, 1]])

    // and the lock binds it: another block in round 1 is refused
    const proposer = validatorIds[(x + 2) % N]!
    const blockB = emptyBlock(GENESIS_TIP, LedgerState.fromGenesis(genesis), proposer, 1, now)
    const actions = restarted.step({
      type: 'block-sync',
      msg: { prepare: proposalBy(proposer, 1, 1, blockB) },
      from: proposer.peerIdString,
      now,
    })
    expect(votesIn(actions, Phase.BLOCK_PERMIT).map((v) => v.vote.reason)).toEqual([
      RejectReason.LOCKED,
    ])
  })

  it('does not sign a second election vote in the round it voted in before the restart', () => {
    const net = new Net()
    // no proposal gets through: the validators only vote in the election
    net.hold = (s) => s.action.type === 'publish' && s.action.topic === 'block-sync'
    net.register(0, alice, 'alice')
    const x = 1
    expect(net.runUntil(() => net.signStates(x).length > 0)).toBe(true)
    const signState = net.signStates(x).at(-1)!
    expect(signState).toMatchObject({ height: 1, round: 0 })
    expect(signState.lockedHash).toBeUndefined()
    const votedFor = peerIdToString(signState.electionCandidate!)

    const restarted = newCore(validatorIds[x]!, seedOf(x))
    const now = net.now + 1
    restarted.restoreChain(
      {
        head: {
          height: 0,
          hash: GENESIS_HASH,
          time: GENESIS_TIP.time,
          stateRoot: GENESIS_TIP.stateRoot,
        },
        accounts: [],
        unclaimed: [],
        signState,
      },
      now,
    )
    // it resumes in the round after the one it signed in: that one is never signed again
    expect(restarted.blocks.round).toBe(1)
    const elections = (actions: CoreAction[]) =>
      actions.filter(
        (a) =>
          a.type === 'publish' &&
          a.topic === 'election' &&
          (a.message.request ?? a.message.vote)!.round === 0,
      )
    // another candidate asks in the same round: no vote
    const other = validatorIds.find((v) => v.peerIdString !== votedFor && v !== validatorIds[x])!
    const request = signElectionRequest(other.signer, CHAIN_ID, {
      height: 1,
      round: 0,
      candidate: other.peerId,
    })
    expect(
      elections(
        restarted.step({ type: 'election', msg: { request }, from: other.peerIdString, now }),
      ),
    ).toEqual([])
    // its own election timer fires: it does not ask to lead either
    expect(
      elections(restarted.step({ type: 'timer', key: 'election:1:0', now: now + 200 })),
    ).toEqual([])
    // a core without the sign state would have voted: the check can fail
    const amnesiac = newCore(validatorIds[x]!, seedOf(x))
    const voted = elections(
      amnesiac.step({ type: 'election', msg: { request }, from: other.peerIdString, now }),
    )
    expect(voted).toHaveLength(1)
  })

  it('restores head, ledger and lock at height 2 from the persisted block and sign state', () => {
    const net = netAfterBlock1()
    net.hold = (s) => isCommitVote(s)
    net.submit(0, signedTx(alice, { nonce: 0 }))
    expect(
      net.runUntil(() => net.cores.every((c) => c.blocks.height === 2 && c.blocks.lock() != null)),
    ).toBe(true)
    const x = (net.leaderOf(2, 0) + 1) % N
    const old = net.cores[x]!
    const [op] = net.blockFinalOps(x)
    const signState = net.signStates(x).at(-1)!
    expect(signState.height).toBe(2)

    const restarted = newCore(validatorIds[x]!, seedOf(x))
    const now = net.now + 1_000
    restarted.restoreChain(
      {
        head: {
          height: op!.height,
          hash: fromHex(op!.hash),
          time: op!.finalized.block!.header!.time,
          stateRoot: op!.stateRoot,
        },
        accounts: op!.accounts,
        unclaimed: op!.unclaimed,
        signState,
      },
      now,
    )
    expect(toHex(restarted.head.hash)).toBe(toHex(old.head.hash))
    expect(toHex(restarted.head.stateRoot)).toBe(toHex(old.head.stateRoot))
    expect(restarted.account(alice.address)?.status).toBe('final')
    expect(restarted.blocks.height).toBe(2)
    expect(restarted.blocks.lock()).toEqual(old.blocks.lock())
    expect(restarted.blocks.round).toBe(1)

    // another block at height 2, round 1: refused for the lock
    const proposer = validatorIds[(x + 2) % N]!
    const blockB = emptyBlock(restarted.head, restarted.ledger, proposer, 1, now)
    const actions = restarted.step({
      type: 'block-sync',
      msg: { prepare: proposalBy(proposer, 2, 1, blockB) },
      from: proposer.peerIdString,
      now,
    })
    expect(votesIn(actions, Phase.BLOCK_PERMIT).map((v) => [v.vote.result, v.vote.reason])).toEqual(
      [[VoteResult.REJECT, RejectReason.LOCKED]],
    )
  })
})

// ------------------------------------------------------------------ catch-up

// ------------------------------------------------------------------ a clock behind

describe('a validator whose clock is behind the proposal', () => {
  // The time bound (MAX_CLOCK_DRIFT_MS) is a voting rule: a validator does
  // not permit a block from its future. It is not a finality rule: a block
  // with a commit certificate of q validators is final (DESIGN §6), and
  // checkBlock is to be called without a clock for it (block-rounds.ts
  // onFinal passes now = null).
  it('rejects the proposal, yet appends the block when its Final comes', () => {
    const x = 3
    const core = newCore(validatorIds[x]!, seedOf(x))
    const leader = validatorIds[0]!
    const now = T0
    const ahead = now + MAX_CLOCK_DRIFT_MS + 1
    const block = emptyBlock(GENESIS_TIP, LedgerState.fromGenesis(genesis), leader, 0, ahead)
    const hash = blockHash(block.header!)
    const prepare = proposalBy(leader, 1, 0, block)
    const answer = core.step({
      type: 'block-sync',
      msg: { prepare },
      from: leader.peerIdString,
      now,
    })
    expect(votesIn(answer, Phase.BLOCK_PERMIT).map((v) => v.vote.reason)).toEqual([
      RejectReason.INVALID_BLOCK,
    ])

    // the three others committed it: it is final
    const commitCert = certificateFrom(
      validatorIds.slice(0, Q).map((v) => blockVoteBy(v, Phase.BLOCK_COMMIT, hash, 1, 0)),
    )
    const final = { height: 1, round: 0, blockHash: hash, commitCert }
    validateBlockSync({ chainId: CHAIN_ID, validators: validatorSet }, { final })
    const actions = core.step({
      type: 'block-sync',
      msg: { final },
      from: leader.peerIdString,
      now: ahead + 1,
    })
    expect(actions.filter((a) => a.type === 'fault')).toEqual([])
    expect(core.head.height).toBe(1)
    expect(toHex(core.head.hash)).toBe(toHex(hash))
  })
})

describe('a node catching up from history', () => {
  /** A network with two final blocks (alice registers; alice writes), and its finalized blocks. */
  function twoBlocks() {
    const net = netAfterBlock1()
    net.submit(0, signedTx(alice, { nonce: 0 }))
    expect(net.runUntil(allAtHeight(net, 2))).toBe(true)
    const [fb1, fb2] = net.blockFinalOps(0).map((op) => op.finalized) as [
      FinalizedBlock,
      FinalizedBlock,
    ]
    expect(fb2.block!.txs).toHaveLength(1)
    return { net, fb1, fb2 }
  }

  it('appends final blocks fetched from history, in height order', () => {
    const { net, fb1, fb2 } = twoBlocks()
    const late = newCore(nodeIdentity('observer'), 5)
    const from = validatorIds[0]!.peerIdString
    late.step({ type: 'block-fetched', block: fb1, from, now: net.now })
    expect(late.head.height).toBe(1)
    late.step({ type: 'block-fetched', block: fb2, from, now: net.now })
    expect(late.head.height).toBe(2)
    expect(toHex(late.head.stateRoot)).toBe(toHex(net.cores[0]!.head.stateRoot))
    expect(late.account(alice.address)?.nonce).toBe(1)
  })

  // A peer may serve a final block's header and valid commit certificate
  // with a body that is not the block's. The node must refuse that copy and
  // still take the genuine block when it comes. (A mangled tx signature
  // even leaves the hash and the roots as they were: txRoot is over tx
  // hashes, which leave signatures out.)
  const bad: { name: string; copy: (fb: FinalizedBlock) => FinalizedBlock }[] = [
    {
      name: 'its txs left out',
      copy: (fb) => ({ ...fb, block: { ...fb.block!, txs: [] } }),
    },
    {
      name: 'a mangled tx signature',
      copy: (fb) => {
        const signature = new Uint8Array(fb.block!.txs[0]!.signature)
        signature[0]! ^= 0x01
        return { ...fb, block: { ...fb.block!, txs: [{ ...fb.block!.txs[0]!, signature }] } }
      },
    },
  ]

  it.each(bad)('appends the genuine block after refusing a copy with $name', ({ copy }) => {
    const { net, fb1, fb2 } = twoBlocks()
    const late = newCore(nodeIdentity('observer'), 5)
    const from = validatorIds[0]!.peerIdString
    const fetched = (block: FinalizedBlock) =>
      late.step({ type: 'block-fetched', block, from, now: net.now })
    fetched(fb1)
    expect(late.head.height).toBe(1)

    const forged = copy(fb2)
    // same header, so same hash, and the certificate is genuine
    expect(toHex(blockHash(forged.block!.header!))).toBe(toHex(blockHash(fb2.block!.header!)))
    expect(fetched(forged).some((a) => a.type === 'block-final')).toBe(false)
    expect(late.head.height).toBe(1)

    fetched(fb2)
    expect(late.head.height).toBe(2)
    expect(toHex(late.head.hash)).toBe(toHex(net.cores[0]!.head.hash))
  })
})

// ------------------------------------------------------------------ (j) Byzantine leaders and liars

describe('a Byzantine leader or a lying peer', () => {
  const T = T0 + 1_000
  /** A fresh validator core (validator 3) that has a pending registration, so it takes part. */
  function validatorWithWork(): Core {
    const core = newCore(validatorIds[3]!, seedOf(3))
    core.step({
      type: 'account',
      reg: registrationOf(alice, 'alice'),
      from: validatorIds[0]!.peerIdString,
      now: T,
    })
    return core
  }
  const leader = validatorIds[0]!
  const ledger = LedgerState.fromGenesis(genesis)
  const blockAt = (time: number) => emptyBlock(GENESIS_TIP, ledger, leader, 0, time)
  const prepare = (block: Block): BlockSyncMessage => ({
    prepare: proposalBy(leader, 1, 0, block),
  })
  const hashOf = (block: Block) => toHex(blockHash(block.header!))

  it('keeps one proposal of a flooding leader, records it once, and the gate drops the rest unchecked', () => {
    const x = validatorWithWork()
    const from = leader.peerIdString
    const first = blockAt(T - 100)
    const permits = votesIn(
      x.step({ type: 'block-sync', msg: prepare(first), from, now: T }),
      Phase.BLOCK_PERMIT,
    )
    expect(permits.map((a) => toHex(a.vote.subject))).toEqual([hashOf(first)])
    // forty more distinct, validly signed proposals of the same round
    for (let k = 1; k <= 40; k++) {
      const actions = x.step({
        type: 'block-sync',
        msg: prepare(blockAt(T - 100 + k)),
        from,
        now: T,
      })
      expect(votesIn(actions, Phase.BLOCK_PERMIT)).toEqual([])
    }
    expect(x.blocks.sizes().blocks).toBe(1)
    const evidence = x.evidence.list()
    expect(evidence.map((e) => e.kind)).toEqual([EvidenceKind.PROPOSAL])
    expect(peerIdToString(evidence[0]!.offender)).toBe(leader.peerIdString)
    // the gate now drops the leader's other proposals of the round before any signature check
    const gate = { chainId: CHAIN_ID, validators: validatorSet, ...Core.gateView(() => x) }
    const forged = prepare(blockAt(T + 500))
    forged.prepare!.signature = new Uint8Array(64)
    expect(() => validateBlockSync(gate, forged)).toThrow(/EQUIVOCATED_PROPOSAL/)
    // (without the gate's memory the same bytes are a forgery: REJECT)
    expect(() =>
      validateBlockSync({ chainId: CHAIN_ID, validators: validatorSet }, forged),
    ).toThrow(/BAD_SIGNATURE/)
  })

  it('locks on the block that q validators permitted, even if it was not the first it heard', () => {
    const x = validatorWithWork()
    const from = leader.peerIdString
    const a = blockAt(T - 100)
    const b = blockAt(T - 99)
    x.step({ type: 'block-sync', msg: prepare(a), from, now: T })
    x.step({ type: 'block-sync', msg: prepare(b), from, now: T }) // equivocation: dropped
    // q permits for B in round 0 (the others heard B first)
    const permitsB = [0, 1, 2].map((i) =>
      blockVoteBy(validatorIds[i]!, Phase.BLOCK_PERMIT, fromHex(hashOf(b)), 1, 0),
    )
    const add = signAdd(leader.signer, CHAIN_ID, {
      height: 1,
      round: 0,
      blockHash: fromHex(hashOf(b)),
      permitCert: certificateFrom(permitsB),
    })
    x.step({ type: 'block-sync', msg: { add }, from, now: T })
    expect(x.blocks.lock()).toBeNull() // B itself is not here yet
    // B comes again (a relay, or another peer's copy): it is certified, so it is kept
    const actions = x.step({ type: 'block-sync', msg: prepare(b), from, now: T })
    expect(x.blocks.lock()).toEqual({ round: 0, hash: hashOf(b) })
    expect(votesIn(actions, Phase.BLOCK_COMMIT).map((v) => toHex(v.vote.subject))).toEqual([
      hashOf(b),
    ])
  })

  it('a far-future height from one validator or any observer never takes it out of consensus', () => {
    const x = validatorWithWork()
    const observer = nodeIdentity('observer-liar')
    // an observer's status says 1,000,000: fetched in the background, voting goes on
    const a1 = x.step({
      type: 'peer-height',
      height: 1_000_000,
      from: observer.peerIdString,
      now: T,
    })
    expect(a1).toContainEqual(expect.objectContaining({ type: 'sync-needed' }))
    expect(x.blocks.syncing).toBe(false)
    // one validator's status and one validator's signed far-future message: still one word each
    x.step({ type: 'peer-height', height: 900, from: validatorIds[1]!.peerIdString, now: T })
    x.step({ type: 'height-claim', validator: validatorIds[1]!.peerIdString, head: 5_000, now: T })
    expect(x.blocks.syncing).toBe(false)
    expect(x.blocks.claims.trusted()).toBe(0)
    // a second validator says so too: f + 1 of them, one is honest
    x.step({ type: 'peer-height', height: 800, from: validatorIds[2]!.peerIdString, now: T })
    expect(x.blocks.claims.trusted()).toBe(800)
    expect(x.blocks.syncing).toBe(true)
    // and if no peer serves the blocks, it returns to consensus at once
    x.step({ type: 'sync-done', now: T + 1 })
    expect(x.blocks.syncing).toBe(false)
  })

  it('a commit certificate for a far-future height is proof enough', () => {
    const x = validatorWithWork()
    const subject = new Uint8Array(32).fill(5)
    const cert = certificateFrom(
      [0, 1, 2].map((i) => blockVoteBy(validatorIds[i]!, Phase.BLOCK_COMMIT, subject, 50, 0)),
    )
    const msg: BlockSyncMessage = {
      final: { height: 50, round: 0, blockHash: subject, commitCert: cert },
    }
    expect(() =>
      validateBlockSync({ chainId: CHAIN_ID, validators: validatorSet }, msg),
    ).not.toThrow()
    x.step({ type: 'block-sync', msg, from: validatorIds[0]!.peerIdString, now: T })
    expect(x.blocks.claims.trusted()).toBe(50)
    expect(x.blocks.syncing).toBe(true)
  })

  it('starts a round’s timer only once q validators are in it, and follows f + 1 to a later round', () => {
    const x = validatorWithWork()
    const roundTimers = (actions: CoreAction[]) =>
      actions.flatMap((a) => (a.type === 'set-timer' && a.key.startsWith('round:') ? [a.key] : []))
    // x's own election timer: it asks and votes; alone in round 0, no round timer
    const own = x.step({ type: 'timer', key: 'election:1:0', now: T + 1_000 })
    expect(roundTimers(own)).toEqual([])
    const vote = (i: number, round: number): ElectionMessage => ({
      vote: signElectionVote(validatorIds[i]!.signer, CHAIN_ID, {
        height: 1,
        round,
        candidate: validatorIds[3]!.peerId,
        voter: validatorIds[i]!.peerId,
      }),
    })
    expect(
      roundTimers(x.step({ type: 'election', msg: vote(0, 0), from: '', now: T + 1_001 })),
    ).toEqual([])
    // the third validator in round 0: q = 3, the timer starts
    expect(
      roundTimers(x.step({ type: 'election', msg: vote(1, 0), from: '', now: T + 1_002 })),
    ).toEqual(['round:1:0'])
    // one validator seen in round 5 moves nothing; a second one (f + 1 = 2) does
    const rot = (r: number) =>
      validatorIds.find((v) => v.peerIdString === rotationLeader(validatorSet, 1, r))!
    const rotVote = (i: number, r: number): ElectionMessage => ({
      vote: signElectionVote(validatorIds[i]!.signer, CHAIN_ID, {
        height: 1,
        round: r,
        candidate: rot(r).peerId,
        voter: validatorIds[i]!.peerId,
      }),
    })
    x.step({ type: 'election', msg: rotVote(0, 5), from: '', now: T + 1_003 })
    expect(x.blocks.round).toBe(0)
    x.step({ type: 'election', msg: rotVote(1, 5), from: '', now: T + 1_004 })
    expect(x.blocks.round).toBe(5)
  })

  it('a restarted validator that rejected in a round signs nothing more in it', () => {
    const { net } = lockedOnA()
    // every validator is locked on A: take one that does not lead round 1
    const proposerIndex = validatorIds.findIndex(
      (v) => v.peerIdString === rotationLeader(validatorSet, 1, 1),
    )
    const x = (proposerIndex + 1) % N
    const core = net.cores[x]!
    net.step(x, { type: 'timer', key: 'round:1:0' })
    expect(core.blocks.round).toBe(1)
    const proposer = validatorIds.find(
      (v) => v.peerIdString === rotationLeader(validatorSet, 1, 1),
    )!
    const blockB = emptyBlock(GENESIS_TIP, LedgerState.fromGenesis(genesis), proposer, 1, net.now)
    const msgB: BlockSyncMessage = { prepare: proposalBy(proposer, 1, 1, blockB) }
    const rejected = net.step(x, { type: 'block-sync', msg: msgB, from: proposer.peerIdString })
    expect(votesIn(rejected, Phase.BLOCK_PERMIT).map((v) => v.vote.reason)).toEqual([
      RejectReason.LOCKED,
    ])
    const signState = net.signStates(x).at(-1)!
    expect(signState).toMatchObject({ height: 1, round: 1, permitRejected: true })
    expect(signState.permitSubject).toBeUndefined()
    // restarted from that sign state
    const restarted = newCore(validatorIds[x]!, seedOf(x))
    restarted.restoreChain(
      {
        head: {
          height: 0,
          hash: GENESIS_HASH,
          time: GENESIS_TIP.time,
          stateRoot: GENESIS_TIP.stateRoot,
        },
        accounts: [],
        unclaimed: [],
        signState,
      },
      net.now,
    )
    expect(restarted.blocks.round).toBe(2)
    const again = restarted.step({
      type: 'block-sync',
      msg: msgB,
      from: proposer.peerIdString,
      now: net.now,
    })
    expect(votesIn(again, Phase.BLOCK_PERMIT)).toEqual([])
  })
})
