/**
 * A deterministic simulation of n validators running the pure core
 * (DESIGN §1, §10): a virtual clock, a seeded network that delays,
 * reorders, drops, duplicates and partitions, nodes that crash (sometimes
 * between writing a batch and sending what depends on it) and restart from
 * their simulated disk, clients that send txs — and the invariants checked
 * after every step. Everything random comes from one seed: the same seed
 * and validator count replay the same run, event for event.
 *
 * A run has two phases: faults (crashes, partitions, drops, the workload),
 * then healing (every node up, no partition, no drops, no new txs) until
 * the chain settles — every node at one head, nothing left to decide — or
 * a deadline, which is a Liveness violation.
 *
 * The node is modelled on the real shell (src/node/node): one event per
 * driver cycle, its persist ops written in one batch before its other
 * actions go out; timers by key (a new one replaces the old); a tick every
 * 250 ms; status refreshes that tell each node its peers' heights; catch-up
 * by the shell's own Syncer (src/node/sync/syncer.ts) on the virtual clock,
 * its history requests over the simulated network; tx bodies fetched from
 * peers (ChainNode.fetchTx).
 */
import { createHash } from 'node:crypto'
import { type Genesis, genesisTimeMs, parseGenesis } from '../../src/core/chain/genesis.js'
import { txHash } from '../../src/core/chain/tx.js'
import { batchDigest } from '../../src/core/chain/tx-batch.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import {
  type AccountRegistration,
  AccountRegistrationCodec,
  type BatchVote,
  FinalizedBlockCodec,
  GasGrantCodec,
  Phase,
  ReceiptStatus,
  rejectReasonFromWire,
  type Tx,
  TxBatchCodec,
  TxCodec,
  TxKind,
  type Vote,
  VoteResult,
} from '../../src/core/codec/index.js'
import { FUTURE_ROUNDS, type UnsafeFlags } from '../../src/core/consensus/block-rounds.js'
import { Core } from '../../src/core/consensus/core.js'
import { MAX_EVIDENCE } from '../../src/core/consensus/evidence.js'
import { GossipGate, MAX_CHECKED, MAX_TARGETS } from '../../src/core/consensus/gossip-gate.js'
import type { Reason } from '../../src/core/consensus/reasons.js'
import { livenessBoundMs } from '../../src/core/consensus/round-sync.js'
import { TX_LOG_BODY_BYTES, TX_LOG_CAPACITY } from '../../src/core/consensus/tx-log.js'
import {
  MAX_AWAITING_BODIES,
  SEEN_BATCH_BYTES,
  SEEN_BATCHES,
  SETTLED_BATCH_BYTES,
  SETTLED_BATCHES,
} from '../../src/core/consensus/tx-rounds.js'
import { DEFAULT_MAX_WAITING } from '../../src/core/consensus/tx-target.js'
import type { CoreAction, CoreEvent, PersistOp, Publish } from '../../src/core/consensus/types.js'
import type { ValidationContext } from '../../src/core/consensus/validation.js'
import { toHex } from '../../src/core/crypto/hash.js'
import { peerIdToString } from '../../src/core/crypto/peer-id.js'
import { LedgerState } from '../../src/core/state/ledger.js'
import { encodeAccount, encodeUnclaimed } from '../../src/core/state/records.js'
import type { LogFields, Logger } from '../../src/node/log.js'
import { Reputation } from '../../src/node/p2p/reputation.js'
import { Syncer, type SyncerDeps } from '../../src/node/sync/syncer.js'
import { accountIdentity, type NodeIdentity, nodeIdentity } from '../unit/fixtures.js'
import { Adversary, STRATEGIES, type Strategy } from './byzantine.js'
import { VirtualClock } from './clock.js'
import { SimDisk } from './disk.js'
import { type InvariantName, Invariants, SimViolation } from './invariants.js'
import { type Inbound, Network, type NetworkHost, type Topic } from './network.js'
import { Rng } from './rng.js'
import { Workload, type WorkloadHost } from './workload.js'

export { SimViolation } from './invariants.js'

// ------------------------------------------------------------------ configuration

/**
 * A bug planted to prove the invariants catch it: in every core (CoreInit.unsafe) a quorum of
 * 2f or a lock ignored; or in every shell, messages sent before the batch they depend on is
 * written (a crash between the two loses the batch, not the messages)
 */
export const PLANTED = [
  'quorum',
  'ignore-lock',
  'send-before-persist',
  'first-heard-election',
] as const
export type Planted = (typeof PLANTED)[number]

export interface Scenario {
  /** per copy of a message, in the fault phase */
  dropRate: number
  dupRate: number
  minDelayMs: number
  maxDelayMs: number
  /** virtual length of the fault phase */
  faultMs: number
  /** the healing phase's deadline: the chain must have settled by then */
  healMs: number
  /** in the healing phase, with work pending, some block must become final this often */
  livenessMs: number
  /** crashes planned in the fault phase (at most f nodes down at a time) */
  crashes: number
  /** the share of crashes that hit between a batch's write and its messages */
  tornCrashRate: number
  /** partitions planned in the fault phase (one at a time) */
  partitions: number
  /** partitions split the validators in two halves (else in two random sides) */
  halves: boolean
  /**
   * a scheduling adversary: the probability that an Add misses one validator
   * and that a Final is lost to everyone, its leader cut off for a while
   */
  isolateLeader: number
  gasWindowMs: number
  users: number
  /** each target runs at most this many tx rounds at once (the rest queue), or the default */
  maxTxRounds: number | undefined
  /** Byzantine validators (by genesis index) and what each does; at most f with the twins */
  byzantine: { validator: number; strategies: Strategy[] }[]
  /** validators (by genesis index) run twice, one key in two honest nodes (DiemBFT's Twins) */
  twins: number[]
  /** a client with up to this many txs in flight at once (pipeline.ts), or 0 for none */
  pipeline: number
}

export interface SimOptions {
  seed: number
  validators: number
  planted?: Planted | null
  /**
   * make f validators Byzantine with these strategies (replacing the seed's draw); 'twins' runs
   * them as twins instead
   */
  byzantine?: (Strategy | 'twins')[]
  /** replace parts of the seed's scenario (the replay command then no longer says it all) */
  scenario?: Partial<Scenario>
  /** a cap on events processed: a run that needs more is a Budget violation */
  maxEvents?: number
  /** keep every trace line (else the last few thousand, for failure reports) */
  trace?: boolean
  /** planted quorum: check certificates against the genesis quorum (Validity), not the planted one */
  strictValidity?: boolean
  /**
   * an honest node's message that receivers REJECT is a Wire violation (default); false: it is
   * only dropped, as the real network would (the planted-bug tests look past such bugs)
   */
  strictWire?: boolean
  /**
   * hold the settled chain to No loss, Conservation and Liveness at the end (default); false:
   * the run just ends (the planted-bug hunts look for one violation only)
   */
  endChecks?: boolean
}

export interface SimResult {
  seed: number
  validators: number
  scenario: Scenario
  /** sha256 over every event (time, node, kind), every action and the final heads */
  digest: string
  events: number
  virtualMs: number
  height: number
  txsTold: number
  stats: Record<string, number>
  trace: string[]
}

export const DEFAULT_MAX_EVENTS = 200_000
/** a healed network is a timely one: delays within the election timers' window */
const HEAL_MAX_DELAY_MS = 50
const TICK_MS = 250
const STATUS_REFRESH_MS = 2_000
const SETTLE_CHECK_MS = 250
/** how long a tx-body request that gets no answer takes to fail */
const REQUEST_TIMEOUT_MS = 2_000
const TRACE_KEEP = 4_000

export const CHAIN_ID = 'bftchain-sim'
export const GENESIS_TIME = '2026-01-01T00:00:00.000Z'
const AUTHORITY_GRANT = 1_000_000

/** The liveness bound after GST (round-sync.ts) for these timeouts, with the healed network's Δ. */
const LIVENESS_MS = (f: number): number => livenessBoundMs(TIMEOUTS, f, HEAL_MAX_DELAY_MS)

export const TIMEOUTS = {
  txRoundMs: 2_000,
  electionMinMs: 20,
  electionMaxMs: 200,
  roundMs: 500,
  roundMaxMs: 8_000,
  blockIntervalMs: 100,
}

/** The scenario of a seed: everything about the run's faults comes from (seed, n). */
export function scenarioFor(seed: number, n: number): Scenario {
  const r = new Rng(seed).fork(1 + n * 1000)
  const f = Math.floor((n - 1) / 3)
  return {
    dropRate: r.pick([0, 0.01, 0.03, 0.05, 0.1]),
    dupRate: r.pick([0, 0.02, 0.05]),
    minDelayMs: 1,
    maxDelayMs: r.pick([20, 80, 150, 300]),
    faultMs: 10_000,
    // the bound after GST for each height (docs/DESIGN.md), and time for a few heights
    healMs: 3 * LIVENESS_MS(f),
    livenessMs: LIVENESS_MS(f),
    crashes: r.int(0, 2 * f + 3),
    tornCrashRate: 0.5,
    partitions: r.int(0, 3),
    halves: r.chance(0.3),
    isolateLeader: r.chance(0.25) ? 0.5 : 0,
    gasWindowMs: r.pick([0, 0, 3_000, 15_000]),
    users: 3,
    // last, so the draws above stay what they were for every seed
    maxTxRounds: r.chance(0.5) ? 1 : undefined,
    ...byzantineFor(r, n, f),
    // after every other draw, so those stay what they were for every seed
    pipeline: r.chance(0.5) ? r.int(2, 9) : 0,
  }
}

/**
 * Who is Byzantine in a seed: in half the seeds nobody; else up to f validators, each with one
 * to three strategies, or (one seed in six of those) one validator run as twins.
 */
function byzantineFor(r: Rng, n: number, f: number): Pick<Scenario, 'byzantine' | 'twins'> {
  if (f === 0 || !r.chance(0.5)) return { byzantine: [], twins: [] }
  const who = r.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, r.int(1, f + 1))
  if (r.chance(1 / 6)) return { byzantine: [], twins: [who[0]!] }
  return {
    byzantine: who.map((validator) => ({
      validator,
      strategies: r.shuffle([...STRATEGIES]).slice(0, r.int(1, 4)),
    })),
    twins: [],
  }
}

export function replayCommand(o: {
  seed: number
  validators: number
  planted?: Planted | null
  strictValidity?: boolean
  byzantine?: string[]
}): string {
  const planted = o.planted ? ` --planted ${o.planted}` : ''
  const strict = o.strictValidity ? ' --strict-validity' : ''
  const byzantine = o.byzantine?.length ? ` --byzantine ${o.byzantine.join(',')}` : ''
  return `npm run sim -- --seed ${o.seed} --validators ${o.validators}${planted}${strict}${byzantine}`
}

/**
 * What a planted bug's run looks like: the conditions that expose it, and no end-of-run checks
 * or Wire verdicts (a hunt looks for the one violation the bug causes, past anything else).
 */
export function plantedDefaults(planted: Planted | null): Partial<SimOptions> {
  const hunt = { strictWire: false, endChecks: false }
  switch (planted) {
    case 'quorum':
      // halves that cannot hear each other: each has its "quorum" of 2f
      return { ...hunt, scenario: { partitions: 3, halves: true, crashes: 0, isolateLeader: 0 } }
    case 'ignore-lock':
      // the scheduling adversary: an Add misses one validator, a Final is lost with its leader
      return { ...hunt, scenario: { isolateLeader: 0.8, partitions: 0, crashes: 0 } }
    case 'send-before-persist':
      // crashes between a step's messages and its batch, as often as f allows
      return { ...hunt, scenario: { crashes: 10, tornCrashRate: 1 } }
    case 'first-heard-election':
      // the old election rule against a validator that asks first in every round
      return { ...hunt, endChecks: true, byzantine: ['capture'] }
    default:
      return {}
  }
}

export function simGenesis(ids: NodeIdentity[], gasWindowMs: number): Genesis {
  const authority = accountIdentity('authority')
  return parseGenesis({
    chainId: CHAIN_ID,
    genesisTime: GENESIS_TIME,
    validators: ids.map((v) => v.peerIdString),
    authorities: [
      {
        address: authority.address,
        keyType: 'ed25519',
        publicKey: Buffer.from(authority.signer.publicKey).toString('base64'),
        grant: AUTHORITY_GRANT,
      },
    ],
    gasWindowMs,
    timeouts: TIMEOUTS,
  })
}

// ------------------------------------------------------------------ one node

class SimNode {
  /** a Byzantine validator's strategies, or null for honest code (a twin runs honest code) */
  adversary: Adversary | null = null
  /** one of two nodes that share a validator's key */
  twin = false
  readonly disk = new SimDisk()
  core: Core | null = null
  /** one per life: a restart makes a new one */
  epoch = 0
  readonly timers = new Map<string, number>()
  /** the heights its peers last reported (status) */
  readonly peerHeights = new Map<number, number>()
  /** the shell's catch-up, one per life */
  syncer: Syncer | null = null
  /** this life's gossip gate (ingress.ts with its validation context) */
  validation: ValidationContext | null = null
  /** peers this life cut off for serving blocks that do not check out */
  readonly banned = new Set<number>()
  /** crash right after the next batch is written, before its messages go out */
  tornCrash = false
  /** tx hashes in the blocks on its disk */
  readonly chainTxs = new Set<string>()
  /** gas granted by the blocks on its disk */
  granted = 0
  lives = 0

  constructor(
    readonly index: number,
    readonly id: NodeIdentity,
    /** the validator it is, by genesis index */
    readonly validator: number,
  ) {}

  get up(): boolean {
    return this.core != null
  }

  /** honest: runs honest code under a key no other node holds */
  get honest(): boolean {
    return this.adversary == null && !this.twin
  }
}

// ------------------------------------------------------------------ the simulation

export class Simulation implements NetworkHost, WorkloadHost {
  readonly n: number
  readonly f: number
  readonly scenario: Scenario
  readonly genesis: Genesis
  readonly chainId = CHAIN_ID
  readonly txRoundMs = TIMEOUTS.txRoundMs
  readonly clock: VirtualClock
  readonly nodes: SimNode[]
  readonly net: Network
  readonly checker: Invariants
  readonly workload: Workload
  private readonly t0: number
  private readonly rng: { faults: Rng; net: Rng; work: Rng; adversary: Rng }
  private readonly byPeer = new Map<string, number>()
  private readonly digest = createHash('sha256')
  private readonly traceLines: string[] = []
  private readonly maxEvents: number
  private events = 0
  private refusals = 0
  private phase: 'faults' | 'healing' = 'faults'
  private healStart = 0
  private settled = false
  private lastProgress = 0
  private heightSum = 0
  private partitionToken = 0
  private readonly genesisGrant: number
  /** the validator set receivers check against (a planted quorum changes it) */
  private readonly believed: ValidatorSet
  /** the keys of Byzantine validators (strategies or twins): held to no invariant */
  readonly byzantineIds: Set<string>
  readonly validatorIds: readonly string[]
  private readonly stats = {
    crashes: 0,
    tornCrashes: 0,
    partitions: 0,
    isolations: 0,
    blocksFetched: 0,
    historyRequests: 0,
    txFetches: 0,
    /** client txs that had to wait for a tx round at their target (its window was full) */
    txsQueued: 0,
    steps: 0,
    writes: 0,
  }

  /** batch hash → its txs' hashes, for every TxBatch published (to read the indexes in votes) */
  private readonly batchTxs = new Map<string, string[]>()
  /** tx hash → the reasons honest validators rejected it for in its tx rounds */
  private readonly honestRejects = new Map<string, Set<string>>()

  readonly options: SimOptions

  constructor(given: SimOptions) {
    // a planted bug brings the conditions that expose it (so --planted alone replays the run)
    const options: SimOptions = { ...plantedDefaults(given.planted ?? null), ...given }
    options.scenario = { ...plantedDefaults(given.planted ?? null).scenario, ...given.scenario }
    this.options = options
    const { seed, validators: n } = options
    this.n = n
    this.f = Math.floor((n - 1) / 3)
    this.scenario = { ...scenarioFor(seed, n), ...options.scenario }
    this.maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS
    const ids = Array.from({ length: n }, (_, i) => nodeIdentity(`validator-${i}`))
    this.genesis = simGenesis(ids, this.scenario.gasWindowMs)
    this.validatorIds = this.genesis.validators
    this.genesisGrant = this.genesis.authorities.reduce((s, a) => s + a.grant, 0)
    this.t0 = genesisTimeMs(this.genesis) + 1_000
    this.clock = new VirtualClock(this.t0)
    const root = new Rng(seed)
    this.rng = {
      faults: root.fork(2),
      net: root.fork(3),
      work: root.fork(4),
      adversary: root.fork(5),
    }
    if (options.byzantine?.length) {
      // forced strategies: the last f validators (seed draws stay as they were otherwise)
      const who = Array.from({ length: this.f }, (_, k) => n - 1 - k)
      const strategies = options.byzantine.filter((x): x is Strategy => x !== 'twins')
      this.scenario.twins = options.byzantine.includes('twins') ? who : []
      this.scenario.byzantine =
        strategies.length > 0 ? who.map((validator) => ({ validator, strategies })) : []
    }
    this.nodes = ids.map((id, i) => new SimNode(i, id, i))
    ids.forEach((id, i) => {
      this.byPeer.set(id.peerIdString, i)
    })
    // a twin: a second node with the same key, honest code; both count as Byzantine
    for (const v of this.scenario.twins) {
      const twin = new SimNode(this.nodes.length, ids[v]!, v)
      twin.twin = true
      this.nodes[v]!.twin = true
      this.nodes.push(twin)
    }
    this.byzantineIds = new Set(
      [...this.scenario.twins, ...this.scenario.byzantine.map((b) => b.validator)].map(
        (v) => ids[v]!.peerIdString,
      ),
    )
    for (const b of this.scenario.byzantine) {
      const node = this.nodes[b.validator]!
      node.adversary = new Adversary(this, node.index, node.id, b.strategies, this.rng.adversary)
    }

    // what receivers accept: the genesis validators, or the planted quorum everywhere
    const genesisSet = new ValidatorSet(this.genesis.validators)
    const believed = new ValidatorSet(this.genesis.validators)
    const plantedQuorum = this.plantedUnsafe()?.quorum
    if (plantedQuorum != null) (believed as { quorum: number }).quorum = plantedQuorum
    const replay = replayCommand(options)
    this.checker = new Invariants({
      replay,
      chainId: CHAIN_ID,
      validators: options.strictValidity ? genesisSet : believed,
      byzantine: this.byzantineIds,
      now: () => this.clock.now,
      start: this.t0,
      where: () =>
        `seed ${seed}, n=${n}, t=+${this.clock.now - this.t0}ms, event ${this.events}, ${this.phase}`,
    })
    this.believed = believed
    for (const node of this.nodes) node.validation = this.gossipGate(node)
    this.net = new Network(
      this,
      this.rng.net,
      {
        dropRate: this.scenario.dropRate,
        dupRate: this.scenario.dupRate,
        minDelayMs: this.scenario.minDelayMs,
        maxDelayMs: this.scenario.maxDelayMs,
      },
      this.nodes.length,
    )
    const users = Array.from({ length: this.scenario.users }, (_, i) =>
      accountIdentity(`user-${i}`),
    )
    this.workload = new Workload(
      this,
      this.rng.work,
      accountIdentity('authority'),
      users,
      this.t0 + Math.floor(this.scenario.faultMs / 2),
      this.scenario.pipeline > 0
        ? { depth: this.scenario.pipeline, rng: root.fork(6), who: accountIdentity('piper') }
        : null,
    )
  }

  private plantedUnsafe(): UnsafeFlags | undefined {
    switch (this.options.planted) {
      case 'quorum':
        return { quorum: 2 * this.f }
      case 'ignore-lock':
        return { ignoreLock: true }
      case 'first-heard-election':
        return { firstHeardElection: true }
      default:
        return undefined
    }
  }

  // ---------------------------------------------------------------- host interfaces

  peerId(i: number): string {
    return this.nodes[i]!.id.peerIdString
  }

  indexOf(peerId: string): number {
    const i = this.byPeer.get(peerId)
    if (i == null) throw new Error(`unknown peer ${peerId}`)
    return i
  }

  /**
   * Where a direct message from `from` to `peerId` lands: the node with that key, or, for a
   * twinned key, the twin on `from`'s side of a partition (the first one otherwise), as a
   * libp2p dial would reach whichever node answers for the peer id.
   */
  route(from: number, peerId: string): number {
    const first = this.indexOf(peerId)
    if (!this.nodes[first]!.twin) return first
    const twins = this.nodes.filter((x) => x.twin && x.id.peerIdString === peerId)
    const reachable = twins.find((x) => x.index !== from && this.net.connected(from, x.index))
    return (reachable ?? twins[0]!).index
  }

  isByzantine(i: number): boolean {
    return !this.nodes[i]!.honest
  }

  // the adversary's wire (byzantine.ts)
  publish(from: number, p: Publish, to?: (i: number) => boolean): void {
    this.net.publish(from, p, to)
  }

  publishBytes(from: number, topic: Topic, bytes: Uint8Array): void {
    this.net.publishBytes(from, topic, bytes)
  }

  sendVote(from: number, toPeer: string, vote: Vote): void {
    this.net.sendVote(from, toPeer, vote)
  }

  sendBatchVote(from: number, toPeer: string, vote: BatchVote): void {
    this.net.sendBatchVote(from, toPeer, vote)
  }

  isUp(i: number): boolean {
    return this.nodes[i]!.up
  }

  epoch(i: number): number {
    return this.nodes[i]!.epoch
  }

  core(i: number): Core | null {
    return this.nodes[i]!.core
  }

  upNodes(): number[] {
    return this.nodes.filter((x) => x.up).map((x) => x.index)
  }

  validation(i: number): ValidationContext {
    return this.nodes[i]!.validation!
  }

  /**
   * A node's gossip gate as ChainNode builds it: the core's view, the node's clock, the gate's
   * memory (one per life: a restart forgets it), far-ahead claims queued as core events.
   */
  private gossipGate(node: SimNode): ValidationContext {
    const epoch = node.epoch
    return {
      chainId: CHAIN_ID,
      validators: this.believed,
      ...Core.gateView(() => node.core),
      now: () => this.clock.now,
      gate: new GossipGate(),
      relayGapMs: TIMEOUTS.roundMs / 2,
      claim: (validator, head) =>
        this.clock.schedule(this.clock.now, node.index, 'gossip:claim', () => {
          if (node.epoch !== epoch || node.core == null) return
          this.step(node, { type: 'height-claim', now: this.clock.now, validator, head })
        }),
      misbehaving: (peer, reason) =>
        this.trace(node.index, `misbehaving ${this.named(peer)}: ${reason}`),
      unsafeElection: this.options.planted === 'first-heard-election',
    }
  }

  deliver(to: number, epoch: number, event: Inbound, label: string): void {
    const node = this.nodes[to]!
    if (node.core == null || node.epoch !== epoch) return
    this.trace(to, `<- ${label}${describeInbound(event)}`)
    this.step(node, { ...event, now: this.clock.now } as CoreEvent)
  }

  refused(from: number, what: string, why: string): void {
    if (this.options.strictWire === false || !this.nodes[from]!.honest) {
      this.refusals++
      this.trace(from, `refused: ${what}: ${why}`)
      return
    }
    this.fail('Wire', `n${from} put on the wire a ${what} that receivers refuse: ${why}`, from)
  }

  submitTx(node: number, requestId: number, tx: Tx): void {
    const n = this.nodes[node]!
    if (n.core == null) return
    this.step(n, {
      type: 'client-tx',
      now: this.clock.now,
      requestId,
      tx: TxCodec.decode(TxCodec.encode(tx)),
    })
  }

  submitAccount(node: number, requestId: number, reg: AccountRegistration): void {
    const n = this.nodes[node]!
    if (n.core == null) return
    this.step(n, {
      type: 'client-account',
      now: this.clock.now,
      requestId,
      reg: AccountRegistrationCodec.decode(AccountRegistrationCodec.encode(reg)),
    })
  }

  trace(node: number, line: string): void {
    const who = node < 0 ? '--' : `n${node}`
    this.traceLines.push(`${String(this.clock.now - this.t0).padStart(6)} ${who} ${line}`)
    if (!this.options.trace && this.traceLines.length > TRACE_KEEP * 2)
      this.traceLines.splice(0, this.traceLines.length - TRACE_KEEP)
  }

  /** Peer ids (and their short forms) in a text, as the simulation names nodes: n0, n1, … */
  private named(text: string): string {
    let out = text
    for (const [i, node] of this.nodes.entries()) {
      const id = node.id.peerIdString
      out = out.replaceAll(id, `n${i}`).replaceAll(id.slice(-6), `n${i}`)
    }
    return out
  }

  private fail(invariant: InvariantName, detail: string, node: number | null = null): never {
    this.checker.fail(invariant, detail, node)
  }

  // ---------------------------------------------------------------- the node's shell

  /** One driver cycle: step the core, write its batch, then carry out the rest. */
  private step(node: SimNode, event: CoreEvent): void {
    const core = node.core
    if (core == null) return
    let actions: CoreAction[]
    try {
      actions = core.step(event)
    } catch (err) {
      if (err instanceof SimViolation) throw err
      this.fail(
        'Exception',
        `n${node.index} core.step(${event.type}) threw: ${(err as Error).stack}`,
        node.index,
      )
    }
    this.stats.steps++
    if (
      event.type === 'client-tx' &&
      node.core!.txRounds.target.waiting.has(toHex(txHash(event.tx)))
    )
      this.stats.txsQueued++
    this.carryOut(node, actions)
  }

  private carryOut(node: SimNode, actions: CoreAction[]): void {
    if (actions.length > 0)
      this.digest.update(`${node.index}:${actions.map((a) => a.type).join(',')}\n`)
    const ops: PersistOp[] = []
    for (const a of actions) if (a.type === 'persist') ops.push(...a.ops)
    if (
      node.tornCrash &&
      this.options.planted === 'send-before-persist' &&
      ops.some((op) => op.op === 'sign-state' || op.op === 'block-final')
    ) {
      // (only a batch whose loss matters: a signature, or a final block a client may be told of;
      // a lost pool entry or evidence record harms nobody, and would hide the bug behind luck)
      // the planted shell bug: out go the messages, then the crash takes the batch with it
      for (const a of actions) this.execute(node, a)
      this.stats.tornCrashes++
      this.crash(node, `planted: after ${actions.length - 1} actions, before writing their batch`)
      return
    }
    if (ops.length > 0) {
      const before = node.disk.head()
      node.disk.write(ops)
      this.stats.writes++
      for (const op of ops) {
        if (op.op !== 'block-final') continue
        this.checker.blockWritten(node.index, op, before, node.disk, node.core!, node.honest)
        for (const r of op.receipts.txs) {
          const hash = toHex(r.hash)
          // one tx, one block: a hash twice would turn a final tx's status into a failure
          if (node.chainTxs.has(hash) && node.honest)
            this.fail(
              'Validity',
              `tx ${hash.slice(0, 12)} is in a second block (${op.height})`,
              node.index,
            )
          node.chainTxs.add(hash)
        }
        op.finalized.block!.txs.forEach((tx, i) => {
          if (tx.kind === TxKind.GAS_GRANT && op.receipts.txs[i]!.status === ReceiptStatus.OK)
            node.granted += GasGrantCodec.decode(tx.data).amount
        })
      }
      if (node.tornCrash) {
        // the batch is on disk; what depended on it never leaves
        this.stats.tornCrashes++
        this.crash(node, `after writing a batch, before ${actions.length - 1} actions`)
        return
      }
    }
    // a Byzantine validator's strategies rewrite what its (honest) core sends
    const out = node.adversary ? node.adversary.outgoing(actions) : actions
    for (const a of out) this.execute(node, a)
    if (node.core != null) this.checker.durable(node.index, node.core, node.disk)
  }

  /** A Byzantine node heard a gossip message (its replays draw on them). */
  heard(i: number, p: Publish): void {
    this.nodes[i]!.adversary?.heard(p)
  }

  private execute(node: SimNode, a: CoreAction): void {
    const i = node.index
    switch (a.type) {
      case 'persist':
        return
      case 'publish':
        this.noteSigned(i, a)
        if (a.topic === 'tx') {
          const d = batchDigest(a.message)
          this.batchTxs.set(d.hashHex, d.txHashesHex)
        }
        if (node.adversary == null && a.topic === 'election' && a.message.vote) {
          const v = a.message.vote
          if (peerIdToString(v.voter) === node.id.peerIdString)
            this.checker.signedOnDisk(
              i,
              'election vote',
              v.height,
              v.round,
              'electionCandidate',
              v.candidate,
              node.disk,
            )
        }
        this.net.publish(i, a)
        return
      case 'send-vote': {
        const v = a.vote
        this.checker.signedVote(
          peerIdToString(v.voter),
          v.phase,
          v.height,
          v.round,
          v.result,
          v.subject,
          i,
        )
        if (
          node.adversary == null &&
          (v.phase === Phase.BLOCK_PERMIT || v.phase === Phase.BLOCK_COMMIT) &&
          peerIdToString(v.voter) === node.id.peerIdString
        ) {
          const permit = v.phase === Phase.BLOCK_PERMIT
          this.checker.signedOnDisk(
            i,
            `${Phase[v.phase]} vote`,
            v.height,
            v.round,
            permit ? 'permitSubject' : 'commitSubject',
            permit && v.result === VoteResult.REJECT ? new Uint8Array(0) : v.subject,
            node.disk,
          )
        }
        this.net.sendVote(i, a.to, v)
        return
      }
      case 'send-batch-vote':
        if (node.honest) this.noteHonestRejects(a.vote)
        this.net.sendBatchVote(i, a.to, a.vote)
        return
      case 'client-result':
        this.workload.onClientResult(i, a.requestId, a.result)
        return
      case 'tx-status':
        if (node.honest && a.status === 'failed' && a.reason != null)
          this.checkReason(i, a.hash, a.reason)
        this.workload.onTxStatus(i, a.hash, a.status, a.reason?.code ?? null)
        return
      case 'fetch-batch':
        this.fetchBatch(node, a.hash, a.hint)
        return
      case 'set-timer':
        this.setTimer(node, a.key, a.at)
        return
      case 'fetch-block':
        this.trace(i, `${a.type} ${a.height}`)
        node.syncer?.fetchFrom(a.height, a.hint)
        return
      case 'sync-needed':
        this.trace(i, `${a.type} ${a.height}`)
        node.syncer?.request(a.height, a.hint)
        return
      case 'block-rejected': {
        this.refused(this.indexOf(a.from), `history block ${a.height} (at n${i})`, a.reason)
        node.syncer?.onRejected(a.height, a.from, a.reason)
        return
      }
      case 'block-final':
        this.trace(
          i,
          `FINAL h${a.height} ${a.hash.slice(0, 10)} r${a.round} txs=${a.txs} accounts=${a.accounts} failed=${a.failed}`,
        )
        if (node.honest) this.checker.agree(i, a.height, a.hash)
        node.syncer?.onApplied(a.height)
        return
      case 'round':
        this.trace(
          i,
          `round h${a.height} r${a.round} leader=${a.leader ? `n${this.byPeer.get(a.leader)}` : '?'}`,
        )
        return
      case 'fault':
        this.fail('Fault', `n${i} reported: ${a.message}`, i)
        return
      default: {
        // the core's own story of its rounds (a 'trace' action), into the run's trace
        const t = a as { type: string; msg?: string; fields?: Record<string, unknown> }
        if (t.type === 'trace')
          this.trace(i, `· ${t.msg} ${this.named(JSON.stringify(t.fields ?? {}))}`)
        else this.trace(i, `${t.type} ${this.named(brief(a))}`)
      }
    }
  }

  /** The reasons an honest validator's batch vote gives, per tx. */
  private noteHonestRejects(vote: BatchVote): void {
    if (vote.rejected.length === 0) return
    const txs = this.batchTxs.get(toHex(vote.batch))
    if (txs == null) return
    vote.rejected.forEach((index, k) => {
      const tx = txs[index]
      const why = rejectReasonFromWire(vote.reasons[k]!)
      if (tx == null || why == null) return
      const set = this.honestRejects.get(tx) ?? new Set<string>()
      set.add(String(why))
      this.honestRejects.set(tx, set)
    })
  }

  /**
   * Honest reasons: a tx an honest target fails with validators' reject reason (a reason with
   * `rejectedBy`) was rejected for that reason by an honest validator at least, not only by
   * Byzantine ones (whose lie would send its client away).
   */
  private checkReason(i: number, hash: string, why: Reason): void {
    if (why.rejectedBy == null) return
    if (this.honestRejects.get(hash)?.has(why.code)) return
    this.fail(
      'Honest reasons',
      `n${i} failed tx ${hash.slice(0, 12)} with ${why.code}, a reason no honest validator gave it (${why.message})`,
      i,
    )
  }

  /** Remember what an honest validator signs in the block rounds, to catch it signing two. */
  private noteSigned(i: number, a: Extract<CoreAction, { type: 'publish' }>): void {
    if (a.topic === 'election' && a.message.vote) {
      const v = a.message.vote
      this.checker.signedElection(
        peerIdToString(v.voter),
        v.height,
        v.round,
        peerIdToString(v.candidate),
        i,
      )
    } else if (a.topic === 'block-sync') {
      const m = a.message
      const cert = m.add?.permitCert ?? m.final?.commitCert
      if (cert) {
        for (const s of cert.signatures)
          this.checker.signedVote(
            peerIdToString(s.voter),
            cert.phase,
            cert.height,
            cert.round,
            VoteResult.PERMIT,
            cert.subject,
            i,
          )
      }
      const e = m.prepare?.electionCert
      if (e) {
        for (const s of e.signatures)
          this.checker.signedElection(
            peerIdToString(s.voter),
            e.height,
            e.round,
            peerIdToString(e.candidate),
            i,
          )
      }
    }
  }

  private setTimer(node: SimNode, key: string, at: number): void {
    const epoch = node.epoch
    const id = (node.timers.get(key) ?? 0) + 1
    node.timers.set(key, id)
    this.clock.schedule(at, node.index, `timer:${key.split(':')[0]}`, () => {
      if (node.epoch !== epoch || node.timers.get(key) !== id) return
      node.timers.delete(key)
      this.trace(node.index, `timer ${key}`)
      this.step(node, { type: 'timer', now: this.clock.now, key })
    })
  }

  // ---------------------------------------------------------------- history and tx bodies

  /**
   * What the shell's Syncer of this life of `node` works with, as ChainNode gives it: the
   * clock, history requests, the reputation's bans, the driver's queue.
   */
  private syncDeps(node: SimNode): SyncerDeps {
    const epoch = node.epoch
    const alive = (): boolean => node.epoch === epoch && node.core != null
    // the node's own opinion of its peers, on the virtual clock: a peer it bans (a block that does
    // not check out, or stalls) is cut off from its catch-up (it keeps gossiping in this model)
    const reputation = new Reputation(
      (peerId, reason) => {
        if (!alive()) return
        const peer = this.indexOf(peerId)
        node.banned.add(peer)
        this.trace(node.index, `bans n${peer}: ${reason}`)
      },
      () => this.clock.now,
    )
    return {
      clock: {
        now: () => this.clock.now,
        // setInterval: runs until cancelled (a finished sync) or the node's life ends
        every: (ms, fn) => {
          let live = true
          const run = (): void => {
            if (!live || !alive()) return
            fn()
            this.clock.schedule(this.clock.now + ms, -1, 'sync:tick', run)
          }
          this.clock.schedule(this.clock.now + ms, -1, 'sync:tick', run)
          return () => {
            live = false
          }
        },
      },
      fetch: (peerId, from, to, timeoutMs, done) => {
        const peer = this.indexOf(peerId)
        this.stats.historyRequests++
        const sentAt = this.clock.now
        const through = this.net.requestGetsThrough(node.index, peer)
        // the request's AbortSignal.timeout
        const timeout = (): void =>
          this.clock.schedule(
            Math.max(this.clock.now, sentAt + timeoutMs),
            node.index,
            'history:timeout',
            () => {
              if (alive()) done({ failed: 'no answer in time' })
            },
          )
        this.clock.schedule(this.clock.now + this.net.delay(), peer, 'history:request', () => {
          const server = this.nodes[peer]!
          if (!through || server.core == null || !this.net.connected(node.index, peer)) {
            timeout()
            return
          }
          // the server's history handler: its final blocks from the store, up to its head
          const blocks: Uint8Array[] = []
          const top = Math.min(to, server.core.head.height)
          for (let h = from; h <= top; h++) blocks.push(server.disk.blockBytes(h)!)
          this.clock.schedule(
            this.clock.now + this.net.delay(),
            node.index,
            'history:response',
            () => {
              if (!alive()) return
              if (!this.net.connected(node.index, peer)) timeout()
              else {
                this.trace(
                  node.index,
                  `history from n${peer}: ${blocks.length} blocks from ${from}`,
                )
                done({ blocks: blocks.map((bytes) => FinalizedBlockCodec.decode(bytes)) })
              }
            },
          )
        })
      },
      reputation,
      log: this.traceLogger(node.index, 'sync'),
      height: () => node.core?.head.height ?? 0,
      peers: () =>
        this.net
          .peersOf(node.index)
          .filter((p) => !node.banned.has(p))
          .map((p) => ({ peerId: this.peerId(p), height: node.peerHeights.get(p) ?? 0 })),
      push: (blocks, from) => {
        // the driver's queue: one event per block, in order, after what is already queued
        for (const block of blocks) {
          this.clock.schedule(this.clock.now, node.index, 'sync:apply', () => {
            if (!alive()) return
            this.stats.blocksFetched++
            this.step(node, { type: 'block-fetched', now: this.clock.now, block, from })
          })
        }
      },
      // the reputation's ban has cut it off already
      disconnect: () => {},
      done: () => {
        this.clock.schedule(this.clock.now, node.index, 'sync:done', () => {
          if (!alive()) return
          this.trace(node.index, `sync done at ${node.core!.head.height}`)
          this.step(node, { type: 'sync-done', now: this.clock.now })
        })
      },
    }
  }

  /** A shell module's log lines, into the trace (peer ids as n0, n1, …). */
  private traceLogger(node: number, module: string): Logger {
    const line =
      (level: string) =>
      (msg: string, fields?: LogFields): void =>
        this.trace(node, `${module} ${level}: ${msg} ${this.named(JSON.stringify(fields ?? {}))}`)
    const logger: Logger = {
      error: line('error'),
      warn: line('warn'),
      info: line('info'),
      debug: line('debug'),
      isDebug: () => true,
      child: (m) => this.traceLogger(node, m),
    }
    return logger
  }

  /** ChainNode.fetchTx: ask the hinted peer, then the others, for a tx body. */
  private fetchBatch(node: SimNode, hash: string, hint: string | null): void {
    const epoch = node.epoch
    const hinted = hint == null ? [] : [this.byPeer.get(hint)].filter((x): x is number => x != null)
    const order = [...new Set([...hinted, ...this.net.peersOf(node.index)])]
      .filter((p) => p !== node.index)
      .slice(0, 8)
    const attempt = (k: number): void => {
      if (node.core == null || node.epoch !== epoch) return
      if (k >= order.length) {
        this.trace(node.index, `no peer could give batch ${hash.slice(0, 8)}`)
        return
      }
      const peer = order[k]!
      this.stats.txFetches++
      const through = this.net.requestGetsThrough(node.index, peer)
      this.clock.schedule(this.clock.now + this.net.delay(), peer, 'batch:request', () => {
        const batch = through ? this.nodes[peer]!.core?.txRounds.batch(hash) : undefined
        // what the server's answer is on the wire, and what the asker decodes afresh
        const bytes = batch != null ? TxBatchCodec.encode(batch) : null
        const back = through ? this.net.delay() : REQUEST_TIMEOUT_MS
        this.clock.schedule(this.clock.now + back, node.index, 'batch:response', () => {
          if (node.core == null || node.epoch !== epoch) return
          const got = bytes == null ? null : TxBatchCodec.decode(bytes)
          if (got == null || batchDigest(got).hashHex !== hash) {
            attempt(k + 1)
            return
          }
          this.step(node, {
            type: 'batch-fetched',
            now: this.clock.now,
            batch: got,
            from: this.peerId(peer),
          })
        })
      })
    }
    attempt(0)
  }

  /** The status protocol between two connected nodes: each learns the other's height. */
  private exchangeStatus(a: number, b: number): void {
    this.tellStatus(a, b)
    this.tellStatus(b, a)
  }

  /** `peer` answers `me`'s status request with its head (a height liar with a lie). */
  private tellStatus(me: number, peer: number): void {
    const node = this.nodes[me]!
    const other = this.nodes[peer]!
    if (node.core == null || other.core == null) return
    const real = other.core.head.height
    const height = other.adversary?.reportedHeight(real) ?? real
    node.peerHeights.set(peer, height)
    if (height > node.core.head.height)
      this.step(node, {
        type: 'peer-height',
        now: this.clock.now,
        height,
        from: this.peerId(peer),
      })
  }

  private refreshStatuses(): void {
    for (const node of this.nodes) {
      for (const peer of this.net.peersOf(node.index)) {
        if (node.core == null) break
        this.tellStatus(node.index, peer)
      }
    }
  }

  // ---------------------------------------------------------------- lives

  /** Start a node, or restart it from its disk: exactly what ChainNode.create and start do. */
  private boot(node: SimNode): void {
    node.epoch++
    node.lives++
    node.timers.clear()
    node.peerHeights.clear()
    node.banned.clear()
    node.syncer?.stop()
    node.syncer = new Syncer(this.syncDeps(node))
    node.validation = this.gossipGate(node)
    node.tornCrash = false
    const now = this.clock.now
    const core = new Core({
      genesis: this.genesis,
      self: node.id.peerIdString,
      signer: node.id.signer,
      seed: (this.options.seed * 7919 + node.index * 104_729 + node.epoch * 15_485_863) >>> 0,
      unsafe: this.plantedUnsafe(),
      maxTxRounds: this.scenario.maxTxRounds,
    })
    const chain = node.disk.loadChain()
    if (chain) core.restoreChain(chain, now)
    core.restore(node.disk.loadPool(), now)
    node.core = core
    this.trace(node.index, `boot (life ${node.lives}) at height ${core.head.height}`)
    this.carryOut(node, core.start(now))
    this.step(node, { type: 'tick', now })
    for (const peer of this.net.peersOf(node.index)) this.exchangeStatus(node.index, peer)
  }

  private crash(node: SimNode, how: string): void {
    if (node.core == null) return
    node.core = null
    node.tornCrash = false
    node.timers.clear()
    node.syncer?.stop()
    this.stats.crashes++
    this.trace(node.index, `CRASH ${how}`)
  }

  private down(): number {
    return this.nodes.filter((x) => !x.up || x.tornCrash).length
  }

  // ---------------------------------------------------------------- faults

  private planFaults(): void {
    const r = this.rng.faults
    const sc = this.scenario
    const end = this.t0 + sc.faultMs
    for (let k = 0; k < sc.crashes; k++) {
      const at = this.t0 + r.int(300, sc.faultMs - 300)
      const downFor = r.int(300, 4_000)
      const torn = r.chance(sc.tornCrashRate)
      const victim = r.int(0, this.n)
      this.clock.schedule(at, -1, 'fault:crash', () => {
        if (this.phase !== 'faults') return
        const node = this.nodes[victim]!
        if (!node.up || node.tornCrash || this.down() >= this.f) return
        if (torn) {
          node.tornCrash = true
          const epoch = node.epoch
          // no batch within a while: it goes down anyway
          this.clock.schedule(this.clock.now + 2_000, -1, 'fault:crash', () => {
            if (node.epoch === epoch && node.tornCrash)
              this.crash(node, 'after waiting for a batch')
          })
        } else this.crash(node, 'between steps')
        const epoch = node.epoch
        this.clock.schedule(Math.min(this.clock.now + downFor, end), -1, 'fault:restart', () => {
          if (this.phase === 'faults' && node.epoch === epoch && !node.up) this.boot(node)
        })
      })
    }
    for (let k = 0; k < (this.n >= 2 ? sc.partitions : 0); k++) {
      const at = this.t0 + r.int(0, sc.faultMs - 500)
      const length = r.int(500, 5_000)
      const sides = sc.halves ? this.halves(r) : this.randomSides(r)
      this.clock.schedule(at, -1, 'fault:partition', () => {
        if (this.phase !== 'faults' || this.net.partitioned) return
        this.partitionFor(sides, length, 'partition')
      })
    }
    if (sc.isolateLeader > 0) this.net.adversary = this.isolateLeaderAdversary()
  }

  /** Split the nodes in two halves (one larger by one when n is odd). */
  private halves(r: Rng): number[] {
    const order = r.shuffle(this.nodes.map((x) => x.index))
    const sides = new Array<number>(this.nodes.length).fill(0)
    order.slice(0, Math.floor(this.nodes.length / 2)).forEach((i) => {
      sides[i] = 1
    })
    return this.twinsApart(sides)
  }

  /** Split the nodes in two non-empty sides. */
  private randomSides(r: Rng): number[] {
    for (;;) {
      const sides = this.twinsApart(Array.from({ length: this.nodes.length }, () => r.int(0, 2)))
      if (sides.some((s) => s === 0) && sides.some((s) => s === 1)) return sides
    }
  }

  /** The Twins method: the two nodes of one key always on different sides. */
  private twinsApart(sides: number[]): number[] {
    for (const v of this.scenario.twins) {
      const [a, b] = this.nodes.filter((x) => x.validator === v)
      sides[a!.index] = 0
      sides[b!.index] = 1
    }
    return sides
  }

  private partitionFor(sides: number[], length: number, why: string): void {
    this.net.partition(sides)
    this.stats.partitions++
    const token = ++this.partitionToken
    this.trace(-1, `PARTITION (${why}) ${this.net.describePartition()} for ${length} ms`)
    this.clock.schedule(
      Math.min(this.clock.now + length, this.t0 + this.scenario.faultMs),
      -1,
      'fault:heal',
      () => {
        if (token !== this.partitionToken || !this.net.partitioned) return
        this.net.heal()
        this.trace(-1, 'partition healed')
        this.reconnectAll()
      },
    )
  }

  private reconnectAll(): void {
    for (let a = 0; a < this.n; a++)
      for (let b = a + 1; b < this.n; b++) if (this.net.connected(a, b)) this.exchangeStatus(a, b)
  }

  /**
   * A scheduling adversary, within the fault model (any message may be lost):
   * an Add misses one validator, and a Final is lost to everyone while its
   * leader is cut off. Honest validators locked on the block must keep the
   * others from finalising another one at that height.
   */
  private isolateLeaderAdversary(): (
    from: number,
    to: number,
    p: CoreAction & { type: 'publish' },
  ) => boolean {
    const r = this.rng.adversary
    let last: unknown = null
    let cut: number | 'all' | null = null
    return (from, to, p) => {
      if (this.phase !== 'faults' || p.topic !== 'block-sync') return false
      if (p.message !== last) {
        last = p.message
        cut = null
        const m = p.message.prepare ?? p.message.add
        const senderRound = this.nodes[from]!.core?.blocks.round ?? 0
        if (m != null && m.round < senderRound && r.chance(this.scenario.isolateLeader)) {
          // a proposal or Add of a round its sender has left: a relay of an earlier round; lost
          cut = 'all'
        } else if (p.message.add && r.chance(this.scenario.isolateLeader)) {
          const others = this.nodes.map((x) => x.index).filter((x) => x !== from)
          cut = r.pick(others)
        } else if (
          p.message.final &&
          r.chance(this.scenario.isolateLeader) &&
          !this.net.partitioned
        ) {
          cut = 'all'
          this.stats.isolations++
          const sides = this.nodes.map((x) => (x.index === from ? 1 : 0))
          this.partitionFor(sides, r.int(1_000, 3_000), `isolating the leader n${from}`)
        }
      }
      return cut === 'all' || cut === to
    }
  }

  // ---------------------------------------------------------------- bounded buffers

  /**
   * Bounded resources (DESIGN §10): whatever peers send, every structure an honest node keeps
   * stays within the bound docs/THREAT-MODEL.md gives it.
   */
  private checkBounds(node: SimNode): void {
    const core = node.core!
    const b = core.blocks.sizes()
    const n = this.n
    const over = (what: string, size: number, bound: number): void => {
      if (size > bound)
        this.fail('Bounds', `n${node.index} holds ${size} ${what} (bound ${bound})`, node.index)
    }
    const rounds = FUTURE_ROUNDS + 2
    over('round states', b.rounds, rounds)
    over('blocks of the height', b.blocks, 2 * rounds + 3)
    // the kept rounds' votes, and the next height's early ones (rounds 0..FUTURE_ROUNDS)
    over('election votes', b.electionVotes, rounds * n + (FUTURE_ROUNDS + 1) * n)
    over('block votes', b.blockVotes, rounds * 2 * n)
    over('evidence records', core.evidence.size, MAX_EVIDENCE)
    const gate = node.validation?.gate?.sizes()
    if (gate) {
      over('gate entries', gate.checked, MAX_CHECKED)
      over('target budgets', gate.targets, MAX_TARGETS)
    }
    const pool = core.pool.sizes()
    over('pool txs', pool.pending + pool.prepared + pool.committed, core.pool.limits.maxTxs)
    const tx = core.txRounds.sizes()
    over('seen tx bodies', tx.seen, 20_000)
    over('seen tx bytes', tx.seenBytes, 32 * 1024 * 1024)
    over('seen batches', tx.batches, SEEN_BATCHES)
    over('seen batch bytes', tx.batchBytes, SEEN_BATCH_BYTES)
    over('settled batches', tx.settledBatches, SETTLED_BATCHES)
    over('settled batch bytes', tx.settledBatchBytes, SETTLED_BATCH_BYTES)
    over('fetches of batches', tx.awaitingBody, MAX_AWAITING_BODIES)
    const log = core.txLog.sizes()
    over('tx log records', log.records, TX_LOG_CAPACITY)
    over('tx log body bytes', log.bodyBytes, TX_LOG_BODY_BYTES)
    over('waiting txs', core.txRounds.target.waiting.size, DEFAULT_MAX_WAITING)
  }

  // ---------------------------------------------------------------- healing and the end

  private startHealing(): void {
    this.phase = 'healing'
    this.healStart = this.clock.now
    this.trace(-1, 'HEALING: every node up, no partition, no drops, no new txs')
    this.net.faults.dropRate = 0
    this.net.faults.maxDelayMs = Math.min(this.net.faults.maxDelayMs, HEAL_MAX_DELAY_MS)
    this.net.adversary = null
    this.net.heal()
    this.workload.stopNewAt = this.clock.now
    for (const node of this.nodes) {
      if (node.tornCrash) node.tornCrash = false
      if (!node.up) this.boot(node)
    }
    this.reconnectAll()
    this.lastProgress = this.clock.now
    this.heightSum = this.sumHeights()
    this.clock.schedule(this.clock.now + SETTLE_CHECK_MS, -1, 'check:settle', () =>
      this.checkSettled(),
    )
  }

  private honestNodes(): SimNode[] {
    return this.nodes.filter((x) => x.honest)
  }

  /** Progress, as the honest nodes show it: the highest head and the lowest (one catching up). */
  private sumHeights(): number {
    const heads = this.honestNodes().map((x) => x.core?.head.height ?? 0)
    return Math.max(...heads) * 1_000_000 + Math.min(...heads)
  }

  private workPending(): boolean {
    const honest = this.honestNodes()
    const heads = new Set(honest.map((x) => (x.core ? toHex(x.core.head.hash) : 'down')))
    if (heads.size > 1) return true
    return honest.some((x) => {
      const s = x.core?.pool.sizes()
      return s != null && (s.committed > 0 || s.accounts > 0)
    })
  }

  private checkSettled(): void {
    const sum = this.sumHeights()
    if (sum > this.heightSum) {
      this.heightSum = sum
      this.lastProgress = this.clock.now
    }
    if (!this.workPending()) {
      this.settled = true
      return
    }
    if (
      this.clock.now - this.lastProgress > this.scenario.livenessMs &&
      this.options.endChecks !== false
    )
      this.fail(
        'Liveness',
        `no block final for ${this.scenario.livenessMs} ms of healing with work pending (the bound after GST, docs/DESIGN.md): ${this.describeNodes()}`,
      )
    this.clock.schedule(this.clock.now + SETTLE_CHECK_MS, -1, 'check:settle', () =>
      this.checkSettled(),
    )
  }

  describeNodes(): string {
    return this.nodes
      .map((x) => {
        const c = x.core
        if (c == null) return `n${x.index} down`
        const s = c.pool.sizes()
        const lock = c.blocks.lock()
        const who = x.adversary ? `[${x.adversary.strategies.join('+')}]` : x.twin ? '[twin]' : ''
        return `n${x.index}${who} h${c.head.height}:${toHex(c.head.hash).slice(0, 8)} r${c.blocks.round}${c.blocks.active ? '' : '(idle)'} committed=${s.committed} accounts=${s.accounts}${lock ? ` locked=r${lock.round}:${lock.hash.slice(0, 8)}` : ''}`
      })
      .join('; ')
  }

  /** The end of the healing phase: the chain has settled; hold it to the invariants. */
  private finalChecks(): void {
    if (this.options.endChecks === false) return
    if (!this.settled)
      this.fail(
        'Liveness',
        `the chain did not settle within ${this.clock.now - this.healStart} ms of healing: ${this.describeNodes()}`,
      )
    // No loss: what a client was told is committed (by an honest node) is in a block, on every
    // honest node
    for (const told of this.workload.told.values()) {
      if (!this.nodes[told.node]!.honest) continue
      for (const node of this.honestNodes()) {
        if (!node.chainTxs.has(told.hash))
          this.fail(
            'No loss',
            `tx ${told.hash.slice(0, 12)} of ${told.client}, told committed by n${told.node} at t=+${told.at - this.t0}ms, is in no final block on n${node.index} (height ${node.core!.head.height})`,
            node.index,
          )
      }
    }
    // Conservation, and the state every node holds (in memory and on disk) is one state
    let reference: string | null = null
    for (const node of this.honestNodes()) {
      const ledger = node.core!.ledger
      const sum = conservationSum(ledger)
      const expected = this.genesisGrant + node.granted
      if (sum.total !== expected)
        this.fail(
          'Conservation',
          `n${node.index}: balances ${sum.balances} + gas used ${sum.used} + expired ${sum.expired} = ${sum.total}, but grants are ${this.genesisGrant} + ${node.granted} = ${expected}`,
          node.index,
        )
      const memory = ledgerDigest(ledger.accounts.values(), ledger.unclaimed.entries())
      // what a restart would rebuild: genesis, then the records on disk
      const records = node.disk.ledgerRecords()
      const rebuilt = LedgerState.fromGenesis(this.genesis)
      for (const a of records.accounts) rebuilt.put(a)
      for (const [address, u] of records.unclaimed) rebuilt.unclaimed.set(address, u)
      const onDisk = ledgerDigest(rebuilt.accounts.values(), rebuilt.unclaimed.entries())
      if (memory !== onDisk)
        this.fail(
          'Durability',
          `n${node.index}'s ledger in memory differs from the ledger on its disk`,
          node.index,
        )
      // the pool bucket keeps exactly the committed txs the pool holds, and no record outlives
      // its last tx
      const kept = node.disk.poolKept()
      const committed = node.core!.pool.committed().map((e) => e.hash)
      if (
        kept.spent > 0 ||
        kept.hashes.size !== committed.length ||
        committed.some((h) => !kept.hashes.has(h))
      )
        this.fail(
          'Durability',
          `n${node.index}'s pool bucket keeps ${kept.hashes.size} committed txs (and ${kept.spent} records with none left) where its pool holds ${committed.length}`,
          node.index,
        )
      if (reference != null && memory !== reference)
        this.fail(
          'Agreement',
          `n${node.index}'s ledger differs from another honest node's at the same head`,
          node.index,
        )
      reference ??= memory
    }
  }

  // ---------------------------------------------------------------- the run

  run(): SimResult {
    const sc = this.scenario
    this.trace(
      -1,
      `scenario ${JSON.stringify(sc)}${this.options.planted ? ` planted=${this.options.planted}` : ''}`,
    )
    for (const node of this.nodes) this.boot(node)
    for (const node of this.nodes) {
      const tick = (): void => {
        if (node.core != null) {
          this.step(node, { type: 'tick', now: this.clock.now })
          if (node.honest) this.checkBounds(node)
          // a Byzantine validator's own attacks, on its clock (a silent one sends nothing)
          if (node.core != null && node.adversary && !node.adversary.has('silent'))
            node.adversary.tick()
        }
        this.clock.schedule(this.clock.now + TICK_MS, node.index, 'tick', tick)
      }
      this.clock.schedule(this.t0 + this.rng.faults.int(1, TICK_MS), node.index, 'tick', tick)
    }
    const refresh = (): void => {
      this.refreshStatuses()
      this.clock.schedule(this.clock.now + STATUS_REFRESH_MS, -1, 'status', refresh)
    }
    this.clock.schedule(this.t0 + STATUS_REFRESH_MS, -1, 'status', refresh)
    this.workload.start(this.t0 + 50)
    this.planFaults()
    this.clock.schedule(this.t0 + sc.faultMs, -1, 'heal', () => this.startHealing())
    const deadline = this.t0 + sc.faultMs + sc.healMs

    for (;;) {
      if (this.settled) break
      const next = this.clock.peekTime()
      if (next == null || next > deadline) break
      const item = this.clock.pop()!
      if (++this.events > this.maxEvents)
        this.fail('Budget', `more than ${this.maxEvents} events: ${this.describeNodes()}`)
      this.digest.update(`${item.at}|${item.node}|${item.label}\n`)
      item.run()
    }
    this.finalChecks()
    const heads = this.nodes.map((x) => `${x.core!.head.height}:${toHex(x.core!.head.hash)}`)
    this.digest.update(heads.join('\n'))
    return {
      seed: this.options.seed,
      validators: this.n,
      scenario: sc,
      digest: this.digest.digest('hex'),
      events: this.events,
      virtualMs: this.clock.now - this.t0,
      height: this.nodes[0]!.core!.head.height,
      txsTold: this.workload.told.size,
      stats: {
        ...this.stats,
        ...this.workload.stats,
        ...this.net.stats,
        refusals: this.refusals,
        ...Object.fromEntries([...this.workload.failures].map(([k, v]) => [`failed:${k}`, v])),
        ...this.workload.pipelineStats(),
        ...this.adversaryStats(),
      },
      trace: this.traceLines,
    }
  }

  /** What the Byzantine validators did, summed: `byzantine:<what>`. */
  private adversaryStats(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const node of this.nodes)
      for (const [k, v] of Object.entries(node.adversary?.stats ?? {}))
        out[`byzantine:${k}`] = (out[`byzantine:${k}`] ?? 0) + v
    const evidence = this.honestNodes().reduce((sum, x) => sum + (x.core?.evidence.size ?? 0), 0)
    if (evidence > 0) out['evidence kept'] = evidence
    return out
  }

  /** The digest of the run so far (the trace up to a violation). */
  digestSoFar(): string {
    return this.digest.copy().digest('hex')
  }

  get eventCount(): number {
    return this.events
  }

  /** The trace lines that involve `node` (and the world), the last `limit` of them. */
  recentTrace(node: number | null, limit = 80): string[] {
    const mine =
      node == null
        ? this.traceLines
        : this.traceLines.filter((l) => l.includes(` n${node} `) || l.includes(' -- '))
    return mine.slice(-limit)
  }
}

// ------------------------------------------------------------------ helpers

/** An action's plain fields (numbers, strings, booleans), for the trace. */
function brief(a: object): string {
  return Object.entries(a)
    .filter(([k, v]) => k !== 'type' && (typeof v !== 'object' || v === null))
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ')
}

function describeInbound(e: Inbound): string {
  switch (e.type) {
    case 'election': {
      const m = e.msg.request ?? e.msg.vote!
      return ` h${m.height} r${m.round} ${e.msg.request ? 'request' : 'vote'}`
    }
    case 'block-sync': {
      const m = e.msg
      if (m.prepare)
        return ` prepare h${m.prepare.height} r${m.prepare.round}${m.prepare.validRound != null ? ` vr${m.prepare.validRound}` : ''}`
      if (m.add)
        return ` add h${m.add.height} r${m.add.round} ${toHex(m.add.blockHash).slice(0, 8)}`
      return ` final h${m.final!.height} r${m.final!.round} ${toHex(m.final!.blockHash).slice(0, 8)}`
    }
    case 'vote':
      return ` phase=${e.vote.phase} h${e.vote.height} r${e.vote.round} result=${e.vote.result}`
    default:
      return ''
  }
}

/** Σ balances (live or not yet pruned lots), Σ gas used, Σ expired: accounts and unclaimed gas. */
export function conservationSum(ledger: LedgerState): {
  balances: number
  used: number
  expired: number
  total: number
} {
  let balances = 0
  let used = 0
  let expired = 0
  for (const a of ledger.accounts.values()) {
    for (const lot of a.lots) balances += lot.remaining
    used += a.gasUsed
    expired += a.expiredGas
  }
  for (const u of ledger.unclaimed.values()) {
    for (const lot of u.lots) balances += lot.remaining
    expired += u.expiredGas
  }
  return { balances, used, expired, total: balances + used + expired }
}

function ledgerDigest(
  accounts: Iterable<Parameters<typeof encodeAccount>[0]>,
  unclaimed: Iterable<[string, Parameters<typeof encodeUnclaimed>[0]]>,
): string {
  const h = createHash('sha256')
  for (const a of [...accounts].sort((x, y) => (x.address < y.address ? -1 : 1))) {
    h.update(a.address)
    h.update(encodeAccount(a))
  }
  for (const [address, u] of [...unclaimed]
    .filter(([, u]) => u.lots.length > 0 || u.expiredGas > 0)
    .sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    h.update(address)
    h.update(encodeUnclaimed(u))
  }
  return h.digest('hex')
}

/** Run one seed; a violation throws SimViolation. */
export function simulate(options: SimOptions): SimResult {
  const sim = new Simulation(options)
  try {
    return sim.run()
  } catch (err) {
    if (err instanceof SimViolation) {
      err.trace = options.trace
        ? sim.recentTrace(null, Number.POSITIVE_INFINITY)
        : sim.recentTrace(err.node)
      err.digest = sim.digestSoFar()
      err.events = sim.eventCount
    }
    throw err
  }
}
