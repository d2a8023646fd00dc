/**
 * The runtime of one node: opens its store, creates libp2p, wires the six
 * gossip topics and the three direct protocols, and keeps the peer manager
 * running. Consensus (later) plugs in through the event bus: accepted gossip
 * and votes go out as events; actions come back as publish/send calls.
 */
import { randomInt } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Genesis, genesisHash } from '../../core/chain/genesis.js'
import { verifyBatchVote, verifyVote } from '../../core/chain/signatures.js'
import { batchDigest } from '../../core/chain/tx-batch.js'
import type { ValidatorSet } from '../../core/chain/validator-set.js'
import type { AccountRegistration, Tx } from '../../core/codec/index.js'
import {
  type BatchVote,
  type Evidence,
  EvidenceKind,
  FinalizedBlockCodec,
  type HistoryRequest,
  type HistoryResponse,
  MAX_HISTORY_RESPONSE_BYTES,
  Phase,
  Role,
  type Vote,
  type VoteBatch,
  type VoteBatchReply,
} from '../../core/codec/index.js'
import { Core, type TxAdmission } from '../../core/consensus/core.js'
import { GossipGate } from '../../core/consensus/gossip-gate.js'
import type { Reason } from '../../core/consensus/reasons.js'
import type { TxRecord } from '../../core/consensus/tx-log.js'
import {
  type ClientResult,
  type CoreAction,
  reached,
  type TxStatus,
} from '../../core/consensus/types.js'
import { ed25519Backend } from '../../core/crypto/ed25519.js'
import { fromHex, toHex } from '../../core/crypto/hash.js'
import { peerIdToString, shortPeerId } from '../../core/crypto/peer-id.js'
import type { NodeIdentity } from '../keys/node-key.js'
import type { Logger } from '../log.js'
import { NodeMetrics, Registry } from '../metrics.js'
import { createNodeLibp2p, type NodeLibp2p } from '../p2p/create-libp2p.js'
import { GossipNetwork } from '../p2p/gossip.js'
import { type PeerChainStatus, PeerManager, type PeerView } from '../p2p/peers.js'
import { HISTORY_PROTOCOL, VOTE_PROTOCOL } from '../p2p/protocols.js'
import { Reputation } from '../p2p/reputation.js'
import { ReqResp } from '../p2p/reqresp.js'
import type { TopicName } from '../p2p/topics.js'
import { Store } from '../store/index.js'
import { Syncer, type SyncerOptions, type SyncProgress } from '../sync/syncer.js'
import { ChainQuery } from './chain-query.js'
import { addChainOps, loadChain } from './chain-store.js'
import { CompactBlocks, compactMessage } from './compact-blocks.js'
import { CoreTimers } from './core-timers.js'
import { CoreDriver } from './driver.js'
import { addEvidenceOps, loadEvidence } from './evidence-store.js'
import { coreEventOf, type GossipEvent, ingressHandlers } from './ingress.js'
import { loadPool, PoolRecords } from './pool-store.js'
import { type ValidatorActivity, ValidatorActivityTracker } from './validator-activity.js'
import { type VoteOutcome, VoteSender } from './vote-sender.js'

export interface ChainNodeInit {
  /** how catching up fetches blocks (tests tune it) */
  sync?: Partial<SyncerOptions>
  /** a validator further behind than this many blocks leaves consensus to catch up */
  syncThreshold?: number
  /** the tx batches this node runs as a target (config.json batchTxs, batchWaitMs) */
  batchTxs?: number
  batchWaitMs?: number
  home: string
  genesis: Genesis
  identity: NodeIdentity
  listen: string[]
  bootstrap: string[]
  log: Logger
  /** also export libp2p's and the process's metrics (one node per process: libp2p's are global) */
  p2pMetrics?: boolean
}

export interface NodeEvents {
  gossip: [event: GossipEvent]
  vote: [vote: Vote, from: string]
  'batch-vote': [vote: BatchVote, from: string]
  'peer:join': [peerId: string, status: PeerChainStatus]
  'peer:leave': [peerId: string]
  'tx-status': [hash: string, status: TxStatus, reason: Reason | null]
  /** a block became final: height, hash (hex), and what it held */
  block: [height: number, hash: string, info: FinalBlockInfo]
  /** a block round began, or learnt its leader */
  round: [height: number, round: number, leader: string | null]
  'sync-progress': [progress: SyncProgress]
  'sync-done': [progress: SyncProgress]
  /** a validator was caught signing two different answers to one question */
  evidence: [evidence: Evidence]
  /** a synced batch of the core's writes is on disk, after `seconds` */
  'store-write': [seconds: number]
  /** the node cannot go on (its store failed) */
  fatal: [err: Error]
}

export interface FinalBlockInfo {
  round: number
  txs: number
  /** txs with a failed receipt */
  failed: number
  accounts: number
}

export interface NodeStatus {
  chainId: string
  genesisHash: string
  peerId: string
  role: 'validator' | 'observer'
  height: number
  headHash: string
  round: number | null
  leader: string | null
  mempool: { pending: number; committed: number; accounts: number }
  /** the tx rounds this node is the target of: running, admitted and waiting, the window */
  txRounds: { running: number; waiting: number; window: number }
  peers: number
  syncing: SyncProgress | null
  listen: string[]
}

export interface ValidatorsView {
  chainId: string
  quorum: number
  faultTolerance: number
  validators: ({ peerId: string; connected: boolean; self: boolean } & ValidatorActivity)[]
}

/** Reputation cost of a vote that does not check out. */
const BAD_VOTE_PENALTY = 10
/** Reputation cost of going beyond a budget (rounds per target, a forged tx copy). */
const MISBEHAVING_PENALTY = 5
/** Reputation cost of equivocation evidence against a validator. */
const EVIDENCE_PENALTY = 25

export class ChainNode extends EventEmitter<NodeEvents> {
  readonly chainId: string
  readonly genesisHash: Uint8Array
  readonly validators: ValidatorSet
  readonly peerId: string
  /** Prometheus metrics (GET /metrics) */
  readonly metrics: NodeMetrics
  readonly role: 'validator' | 'observer'
  readonly reputation = new Reputation((peerId, reason) => {
    this.log.warn('peer banned; disconnecting', { peer: shortPeerId(peerId), reason })
    this.libp2p.hangUp(peerIdFromString(peerId)).catch(() => {})
  })
  readonly reqresp: ReqResp
  readonly gossip: GossipNetwork
  readonly peers: PeerManager
  readonly core: Core
  readonly driver: CoreDriver
  private readonly votes: VoteSender
  readonly syncer: Syncer
  /** proposals travel compact on gossip; this rebuilds them (compact-blocks.ts) */
  readonly compact: CompactBlocks
  /** the core's timers (core-timers.ts: a timer never reaches the core before its time) */
  private readonly timers = new CoreTimers((key, now) =>
    this.driver.push({ type: 'timer', now, key }),
  )
  /** the last 100 commit certificates' signers, by head (GET /validators) */
  private readonly activity: ValidatorActivityTracker
  /** the head as it is on disk: what we tell peers and clients (the core's may be a write ahead) */
  private durable: { height: number; hash: Uint8Array }
  /** the pool bucket's writer: which record holds each committed tx (pool-store.ts) */
  readonly poolRecords = new PoolRecords()
  private started = false
  /** when the last block became final here (for its log line) */
  private lastFinalAt = Date.now()

  private constructor(
    init: ChainNodeInit,
    readonly libp2p: NodeLibp2p,
    readonly store: Store,
    private readonly log: Logger,
    registry: Registry,
  ) {
    super()
    this.chainId = init.genesis.chainId
    this.genesisHash = genesisHash(init.genesis)
    this.core = new Core({
      genesis: init.genesis,
      self: init.identity.peerId,
      signer: init.identity.signer,
      seed: randomInt(2 ** 31),
      syncThreshold: init.syncThreshold,
      batchTxs: init.batchTxs,
      batchWaitMs: init.batchWaitMs,
    })
    this.validators = this.core.validators
    this.durable = { height: 0, hash: this.core.head.hash }
    this.peerId = init.identity.peerId
    this.role = this.core.isValidator ? 'validator' : 'observer'
    this.driver = new CoreDriver(
      this.core,
      {
        persist: async (ops) => {
          const batch = store.batch()
          this.poolRecords.addOps(batch, store, ops)
          addChainOps(batch, store, ops)
          addEvidenceOps(batch, store, ops)
          const started = performance.now()
          await batch.write()
          this.emit('store-write', (performance.now() - started) / 1000)
        },
        execute: (action) => this.execute(action),
        fatal: (err) => {
          log.error('store write failed; the node stops', { err })
          this.emit('fatal', err)
        },
      },
      log.child('core'),
    )
    this.reqresp = new ReqResp(libp2p, this.reputation, log.child('reqresp'))
    this.gossip = new GossipNetwork(
      libp2p.pubsub,
      this.chainId,
      this.reputation,
      log.child('gossip'),
    )
    this.peers = new PeerManager({
      libp2p,
      reqresp: this.reqresp,
      gossip: this.gossip,
      reputation: this.reputation,
      log: log.child('peers'),
      chainId: this.chainId,
      genesisHash: this.genesisHash,
      isValidator: (id) => this.validators.has(id),
      localStatus: () => ({
        chainId: this.chainId,
        genesisHash: this.genesisHash,
        height: this.durable.height,
        headHash: this.durable.hash,
        role: this.role === 'validator' ? Role.VALIDATOR : Role.OBSERVER,
      }),
      bootstrap: init.bootstrap,
    })
    this.votes = new VoteSender((target, batch) =>
      this.reqresp.request(target, VOTE_PROTOCOL, batch),
    )
    const query = new ChainQuery(store, this.core)
    this.activity = new ValidatorActivityTracker((from, to) => query.commitSigners(from, to))
    this.compact = new CompactBlocks({
      body: (hash) => this.core.txBody(hash),
      fetch: async (peer, hash) =>
        (
          await this.reqresp.request(peer, HISTORY_PROTOCOL, {
            fromHeight: 0,
            toHeight: 0,
            blockHash: hash,
          })
        ).block ?? null,
      peers: () => this.peers.chainPeers(),
      deliver: (msg, from) => this.driver.push({ type: 'block-sync', now: Date.now(), msg, from }),
      misbehaving: (peer, reason) => this.misbehaving(peer, reason),
      log: (msg, fields) => this.log.debug(msg, fields),
    })
    this.syncer = new Syncer(
      {
        clock: {
          now: Date.now,
          every: (ms, fn) => {
            const timer = setInterval(fn, ms)
            timer.unref()
            return () => clearInterval(timer)
          },
        },
        fetch: (peer, from, to, timeoutMs, done) => {
          this.reqresp
            .request(
              peer,
              HISTORY_PROTOCOL,
              { fromHeight: from, toHeight: to },
              { signal: AbortSignal.timeout(timeoutMs) },
            )
            .then(
              (res) => done({ blocks: res.blocks }),
              (err: Error) => done({ failed: err.message }),
            )
        },
        reputation: this.reputation,
        log: log.child('sync'),
        height: () => this.core.head.height,
        peers: () =>
          this.peers
            .chainPeers()
            .map((peerId) => ({ peerId, height: this.peers.peerStatus(peerId)?.height ?? 0 })),
        push: (blocks, from) => {
          for (const block of blocks)
            this.driver.push({ type: 'block-fetched', now: Date.now(), block, from })
        },
        disconnect: (peerId) => {
          this.libp2p.hangUp(peerIdFromString(peerId)).catch(() => {})
        },
        done: () => this.driver.push({ type: 'sync-done', now: Date.now() }),
      },
      init.sync,
    )
    this.syncer.on('progress', (p) => this.emit('sync-progress', p))
    this.syncer.on('done', (p) => this.emit('sync-done', p))
    this.peers.on('peer:status', (id, s) => {
      if (s.height > this.core.head.height)
        this.driver.push({ type: 'peer-height', now: Date.now(), height: s.height, from: id })
    })
    this.peers.on('peer:join', (id, s) => this.emit('peer:join', id, s))
    this.peers.on('peer:leave', (id) => this.emit('peer:leave', id))
    this.metrics = new NodeMetrics(this, registry)
  }

  /** Open the store and build libp2p; nothing listens until start(). */
  static async create(init: ChainNodeInit): Promise<ChainNode> {
    const log = init.log
    const store = await Store.open(join(init.home, 'data'))
    const registry = new Registry()
    try {
      // the gater needs the node (refusals) and the node needs libp2p: bind late
      let node: ChainNode | null = null
      const libp2p = await createNodeLibp2p({
        privateKey: init.identity.privateKey,
        chainId: init.genesis.chainId,
        listen: init.listen,
        bootstrap: init.bootstrap.filter((a) => !a.endsWith(`/p2p/${init.identity.peerId}`)),
        connectionGater: PeerManager.gater((id) => node?.peers.isRefused(id) ?? false),
        appScore: (id) => node?.reputation.score(id) ?? 0,
        metrics: init.p2pMetrics ? registry : undefined,
      })
      node = new ChainNode(init, libp2p, store, log, registry)
      const chain = await loadChain(store)
      if (chain) node.core.restoreChain(chain, Date.now())
      node.durable = { height: node.core.head.height, hash: node.core.head.hash }
      node.core.restore(await loadPool(store, node.poolRecords), Date.now())
      node.core.evidence.restore(await loadEvidence(store))
      return node
    } catch (err) {
      await store.close()
      throw err
    }
  }

  async start(): Promise<void> {
    const handlers = ingressHandlers(
      {
        chainId: this.chainId,
        validators: this.validators,
        ...Core.gateView(() => this.core),
        now: Date.now,
        gate: new GossipGate(),
        relayGapMs: this.core.relayGapMs,
        claim: (validator, head) =>
          this.driver.push({ type: 'height-claim', now: Date.now(), validator, head }),
        misbehaving: (peer, reason) => this.misbehaving(peer, reason),
      },
      (event) => {
        this.emit('gossip', event)
        this.onGossip(event)
      },
    )
    for (const [name, handler] of Object.entries(handlers)) {
      this.gossip.register(name as TopicName, handler as Parameters<GossipNetwork['register']>[1])
    }
    await this.libp2p.start()
    this.gossip.start()
    await this.reqresp.handle(VOTE_PROTOCOL, (batch, from) => this.onVotes(batch, from))
    await this.reqresp.handle(HISTORY_PROTOCOL, (req) => this.onHistory(req))
    await this.peers.start()
    this.driver.start()
    this.driver.push({ type: 'tick', now: Date.now() })
    this.started = true
    this.log.info('node started', {
      peerId: this.peerId,
      role: this.role,
      chainId: this.chainId,
      height: this.core.head.height,
      listen: this.multiaddrs().join(','),
      ed25519: ed25519Backend,
    })
  }

  async stop(): Promise<void> {
    if (this.started) {
      this.started = false
      this.driver.stop()
      this.syncer.stop()
      this.timers.clearAll()
      this.peers.stop()
      this.gossip.stop()
      await this.libp2p.stop()
    }
    await this.store.close()
    this.log.info('node stopped')
  }

  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((m) => m.toString())
  }

  status(): NodeStatus {
    return {
      chainId: this.chainId,
      genesisHash: toHex(this.genesisHash),
      peerId: this.peerId,
      role: this.role,
      height: this.durable.height,
      headHash: toHex(this.durable.hash),
      round: this.core.blocks.active ? this.core.blocks.round : null,
      leader: this.core.blocks.active ? this.core.blocks.leader() : null,
      mempool: (() => {
        const sizes = this.core.pool.sizes()
        return {
          pending: sizes.pending + sizes.prepared,
          committed: sizes.committed,
          accounts: sizes.accounts,
        }
      })(),
      txRounds: {
        running: this.core.txRounds.target.rounds.size,
        waiting: this.core.txRounds.target.waiting.size,
        window: this.core.txRounds.target.window.size,
      },
      peers: this.peers.chainPeers().length,
      syncing: this.syncer.progress(),
      listen: this.multiaddrs(),
    }
  }

  peerViews(): PeerView[] {
    return this.peers.views()
  }

  async validatorsView(): Promise<ValidatorsView> {
    const connected = new Set(this.peers.chainPeers())
    const offenders = this.core.evidence.list().map((e) => peerIdToString(e.offender))
    const activity = await this.activity.activity(
      this.durable.height,
      this.validators.ids,
      offenders,
    )
    return {
      chainId: this.chainId,
      quorum: this.validators.quorum,
      faultTolerance: this.validators.f,
      validators: this.validators.ids.map((peerId) => ({
        peerId,
        connected: connected.has(peerId),
        self: peerId === this.peerId,
        ...activity.get(peerId)!,
      })),
    }
  }

  /** Publish on a topic; resolves to the number of peers it went to. */
  publish<K extends TopicName>(
    topic: K,
    message: Extract<GossipEvent, { topic: K }>['message'],
  ): Promise<number> {
    return this.gossip.publish(topic, message)
  }

  /** Send a block vote to a validator and get its reply. Throws RequestError. */
  sendVote(target: string, vote: Vote): Promise<VoteOutcome> {
    return this.votes.send(target, vote)
  }

  /** Send a batch vote to the batch's target and get its reply. */
  sendBatchVote(target: string, vote: BatchVote): Promise<VoteOutcome> {
    return this.votes.sendBatchVote(target, vote)
  }

  /**
   * A batch of votes from one peer: cheap checks before any signature, and the first bad
   * signature ends the batch (the rest is refused unchecked), so a batch of forgeries costs one
   * check, and nothing more once the sender is banned.
   */
  private onVotes(batch: VoteBatch, from: string): VoteBatchReply {
    const refused: VoteBatchReply['refused'] = []
    if (!this.validators.has(from) || this.reputation.isBanned(from)) {
      refused.push({ index: 0, error: this.validators.has(from) ? 'banned' : 'not a validator' })
      return { refused }
    }
    // block votes first, then batch votes (indexed after them in the reply)
    const all = [
      ...batch.votes.map((vote) => () => this.onVote(vote, from)),
      ...batch.batchVotes.map((vote) => () => this.onBatchVote(vote, from)),
    ]
    for (const [index, check] of all.entries()) {
      const outcome = check()
      if (outcome.accepted) continue
      refused.push({ index, error: outcome.error })
      if (outcome.error === 'bad signature') {
        for (let rest = index + 1; rest < all.length; rest++)
          refused.push({ index: rest, error: 'not checked: the batch had a forged vote' })
        break
      }
    }
    return { refused }
  }

  private onBatchVote(vote: BatchVote, from: string): VoteOutcome {
    const voter = peerIdToString(vote.voter)
    if (voter !== from) {
      this.reputation.penalize(from, BAD_VOTE_PENALTY, 'vote relayed for another voter')
      return { accepted: false, error: 'a vote must come from its voter' }
    }
    // a batch this node does not run is not worth a signature check
    if (!this.core.txRounds.target.rounds.has(toHex(vote.batch)))
      return { accepted: false, error: 'no such batch here' }
    if (!verifyBatchVote(this.chainId, vote)) {
      this.reputation.penalize(from, BAD_VOTE_PENALTY, 'bad vote signature')
      return { accepted: false, error: 'bad signature' }
    }
    this.emit('batch-vote', vote, from)
    this.driver.push({ type: 'batch-vote', now: Date.now(), vote, from })
    return { accepted: true, error: '' }
  }

  private onVote(vote: Vote, from: string): VoteOutcome {
    const voter = peerIdToString(vote.voter)
    if (voter !== from) {
      this.reputation.penalize(from, BAD_VOTE_PENALTY, 'vote relayed for another voter')
      return { accepted: false, error: 'a vote must come from its voter' }
    }
    if (!this.validators.has(voter)) {
      return { accepted: false, error: 'not a validator' }
    }
    if (vote.phase !== Phase.BLOCK_PERMIT && vote.phase !== Phase.BLOCK_COMMIT) {
      // tx votes travel as batch votes: this one could only poison a certificate
      this.reputation.penalize(from, BAD_VOTE_PENALTY, 'a tx-phase vote outside a batch')
      return { accepted: false, error: 'tx votes are batch votes' }
    }
    if (!verifyVote(this.chainId, vote)) {
      this.reputation.penalize(from, BAD_VOTE_PENALTY, 'bad vote signature')
      return { accepted: false, error: 'bad signature' }
    }
    this.log.debug('vote received', {
      from: shortPeerId(from),
      phase: vote.phase,
      result: vote.result,
    })
    this.emit('vote', vote, from)
    this.driver.push({ type: 'vote', now: Date.now(), vote, from })
    return { accepted: true, error: '' }
  }

  // ------------------------------------------------------------------ core wiring

  private onGossip(event: GossipEvent): void {
    if (event.topic === 'block-sync' && event.message.prepare?.compact != null) {
      this.compact.receive(event.message, event.from)
      return
    }
    this.driver.push(coreEventOf(event, Date.now()))
  }

  private execute(
    action: Exclude<CoreAction, { type: 'persist' } | { type: 'client-result' }>,
  ): void {
    switch (action.type) {
      case 'publish':
        this.gossip
          .publish(
            action.topic,
            action.topic === 'block-sync' ? compactMessage(action.message) : action.message,
          )
          .catch((err: Error) => {
            this.log.warn('publish failed', { topic: action.topic, err })
          })
        break
      case 'send-vote':
        this.sendVote(action.to, action.vote).then(
          (reply) => {
            if (!reply.accepted)
              this.log.debug('vote refused', { to: shortPeerId(action.to), error: reply.error })
          },
          (err: Error) => this.log.debug('vote not delivered', { to: shortPeerId(action.to), err }),
        )
        break
      case 'tx-status':
        // several per tx on every node: not even the fields are made unless they are logged
        if (this.log.isDebug())
          this.log.debug('tx status', {
            tx: action.hash.slice(0, 16),
            status: action.status,
            reason: action.reason?.code,
          })
        this.emit('tx-status', action.hash, action.status, action.reason)
        break
      case 'send-batch-vote':
        this.sendBatchVote(action.to, action.vote).then(
          (reply) => {
            if (!reply.accepted)
              this.log.debug('batch vote refused', {
                to: shortPeerId(action.to),
                error: reply.error,
              })
          },
          (err: Error) =>
            this.log.debug('batch vote not delivered', { to: shortPeerId(action.to), err }),
        )
        break
      case 'fetch-batch':
        void this.fetchBatch(action.hash, action.hint)
        break
      case 'set-timer':
        this.timers.set(action.key, action.at)
        break
      case 'fetch-block':
        this.syncer.fetchFrom(action.height, action.hint)
        break
      case 'sync-needed':
        this.syncer.request(action.height, action.hint)
        break
      case 'block-rejected':
        this.syncer.onRejected(action.height, action.from, action.reason)
        break
      case 'block-final': {
        const now = Date.now()
        this.log.info('block final', {
          height: action.height,
          hash: action.hash.slice(0, 16),
          rounds: action.round + 1,
          leader: shortPeerId(action.proposer),
          txs: action.txs,
          failed: action.failed || undefined,
          accounts: action.accounts || undefined,
          // since the block before it became final here (the first after a start: since the start)
          ms: now - this.lastFinalAt,
          signers: action.signers.map(shortPeerId).join(','),
        })
        this.lastFinalAt = now
        this.durable = { height: action.height, hash: fromHex(action.hash) }
        this.emit('block', action.height, action.hash, {
          round: action.round,
          txs: action.txs,
          failed: action.failed,
          accounts: action.accounts,
        })
        this.syncer.onApplied(action.height)
        break
      }
      case 'round-failed':
        this.log.info('round failed', {
          height: action.height,
          round: action.round,
          leader: action.leader ? shortPeerId(action.leader) : undefined,
          why: action.why,
        })
        break
      case 'round':
        this.log.debug('round', {
          height: action.height,
          round: action.round,
          leader: action.leader ? shortPeerId(action.leader) : undefined,
        })
        this.emit('round', action.height, action.round, action.leader)
        break
      case 'trace':
        this.log.debug(action.msg, action.fields)
        break
      case 'fault':
        this.log.error('consensus fault', { message: action.message })
        break
      case 'misbehaving':
        this.misbehaving(action.peer, action.reason)
        break
      case 'evidence':
        this.log.warn('equivocation evidence', {
          offender: shortPeerId(peerIdToString(action.evidence.offender)),
          kind: EvidenceKind[action.evidence.kind],
          height: action.evidence.height,
          round: action.evidence.round,
        })
        this.emit('evidence', action.evidence)
        // proven Byzantine: its standing falls (a repeat offender is cut off)
        this.reputation.penalize(
          peerIdToString(action.evidence.offender),
          EVIDENCE_PENALTY,
          `signed two answers (${EvidenceKind[action.evidence.kind]})`,
        )
        break
    }
  }

  /** A peer whose valid messages go beyond what it may send: its reputation pays. */
  private misbehaving(peer: string, reason: string): void {
    this.reputation.penalize(peer, MISBEHAVING_PENALTY, reason)
  }

  /** Ask the hinted peer, then the others, for a tx batch; the first matching answer goes to the core. */
  private async fetchBatch(hash: string, hint: string | null): Promise<void> {
    const peers = [...new Set([...(hint ? [hint] : []), ...this.peers.chainPeers()])]
    for (const peer of peers.slice(0, 8)) {
      try {
        const res = await this.reqresp.request(peer, HISTORY_PROTOCOL, {
          fromHeight: 0,
          toHeight: 0,
          batchHash: fromHex(hash),
        })
        if (res.batch == null) continue
        if (batchDigest(res.batch).hashHex === hash) {
          this.driver.push({ type: 'batch-fetched', now: Date.now(), batch: res.batch, from: peer })
          return
        }
        // asked for one batch, it served another: its lie, not ours to pass on
        this.misbehaving(peer, 'served a batch that does not match the hash asked for')
      } catch (err) {
        this.log.debug('batch fetch failed', {
          batch: hash.slice(0, 16),
          peer: shortPeerId(peer),
          err,
        })
      }
    }
    this.log.warn('no peer could give a committed batch', { batch: hash.slice(0, 16) })
  }

  // ------------------------------------------------------------------ client requests

  /** A client's tx: this node becomes its round's target. */
  submitTx(tx: Tx): Promise<ClientResult> {
    return this.driver.request((requestId, now) => ({ type: 'client-tx', now, requestId, tx }))
  }

  /**
   * How many more client txs this node takes now, and the answer (POOL_FULL, with when to try
   * again) for any beyond that: asked before a request's txs are read.
   */
  txAdmission(): TxAdmission {
    return this.core.txAdmission(Date.now())
  }

  registerAccount(reg: AccountRegistration): Promise<ClientResult> {
    return this.driver.request((requestId, now) => ({
      type: 'client-account',
      now,
      requestId,
      reg,
    }))
  }

  txRecord(hash: string): TxRecord | undefined {
    return this.core.tx(hash)
  }

  /**
   * Resolve when `hash` reaches `status` (or fails), or after `timeoutMs`
   * with whatever it is then.
   */
  waitForTx(
    hash: string,
    status: 'committed' | 'final',
    timeoutMs: number,
  ): Promise<TxRecord | undefined> {
    const done = (r: TxRecord | undefined) => reached(r?.status, status)
    if (done(this.core.tx(hash))) return Promise.resolve(this.core.tx(hash))
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer)
        this.off('tx-status', onStatus)
        resolve(this.core.tx(hash))
      }
      const onStatus = (h: string): void => {
        if (h === hash && done(this.core.tx(hash))) finish()
      }
      const timer = setTimeout(finish, timeoutMs)
      this.on('tx-status', onStatus)
    })
  }

  private async onHistory(req: HistoryRequest): Promise<HistoryResponse> {
    if (req.txHash != null) {
      const tx = this.core.txBody(toHex(req.txHash))
      return tx ? { blocks: [], tx, error: '' } : { blocks: [], error: 'unknown tx' }
    }
    if (req.blockHash != null) {
      const block = this.core.proposedBlock(toHex(req.blockHash))
      return block ? { blocks: [], block, error: '' } : { blocks: [], error: 'unknown block' }
    }
    if (req.batchHash != null) {
      const batch = this.core.txRounds.batch(toHex(req.batchHash))
      return batch ? { blocks: [], batch, error: '' } : { blocks: [], error: 'unknown batch' }
    }
    const blocks: HistoryResponse['blocks'] = []
    let bytes = 0
    const to = Math.min(req.toHeight, this.durable.height)
    for await (const [, value] of this.store.blocks.entries({ gte: req.fromHeight, lte: to })) {
      bytes += value.length
      if (bytes > MAX_HISTORY_RESPONSE_BYTES / 2 && blocks.length > 0) break
      blocks.push(FinalizedBlockCodec.decode(value))
    }
    return { blocks, error: '' }
  }
}
