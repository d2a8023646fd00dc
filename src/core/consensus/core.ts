/**
 * The consensus core: one object per node, `step(event) → actions`. It owns
 * the ledger, the pool and the rounds; the shell (src/node) feeds it events
 * and carries out its actions, persisting before it sends what depends on
 * the writes. Deterministic: no clock, no randomness, no I/O.
 */

import { type Genesis, genesisHash } from '../chain/genesis.js'
import { keyTypeOf } from '../chain/signatures.js'
import { txSenderHex, txSize } from '../chain/tx.js'
import { ValidatorSet } from '../chain/validator-set.js'
import type { AccountRegistration, Block, SignState, Tx } from '../codec/index.js'
import { Phase } from '../codec/index.js'
import type { Signer } from '../crypto/keys.js'
import { type PeerIdString, peerIdToString } from '../crypto/peer-id.js'
import { DEFAULT_POOL_LIMITS, Mempool, type PoolLimits } from '../mempool/mempool.js'
import { genesisStateRoot } from '../state/execute.js'
import { type AccountState, LedgerState, nonceUsedBy, type Unclaimed } from '../state/ledger.js'
import { AccountRegistry } from './accounts.js'
import { senderKey } from './admission.js'
import { BlockRounds, type Head, type UnsafeFlags } from './block-rounds.js'
import { EvidenceBook } from './evidence.js'
import { SeededRandom } from './random.js'
import { TxLog, type TxRecord } from './tx-log.js'
import { TxRounds } from './tx-rounds.js'
import type { ClientResult, CoreAction, CoreEvent } from './types.js'
import type { ValidationContext } from './validation.js'

/** What a node takes of client txs now: `room` more, and `refusal` is the answer beyond that. */
export interface TxAdmission {
  room: number
  refusal: Extract<ClientResult, { ok: false }>
}

export interface CoreInit {
  genesis: Genesis
  self: PeerIdString
  signer: Signer
  /** seeds the election timers' jitter (the core's only randomness) */
  seed: number
  poolLimits?: PoolLimits
  /** admitted txs that may wait for a tx round at this node (default DEFAULT_MAX_WAITING) */
  maxWaitingTxs?: number
  /** tx batches this node runs at once as a target, at most (default DEFAULT_MAX_BATCHES) */
  maxTxRounds?: number
  /** txs in one batch, at most (default DEFAULT_BATCH_TXS) */
  batchTxs?: number
  /** a waiting tx joins a batch this long after it came, at the latest (default DEFAULT_BATCH_WAIT_MS) */
  batchWaitMs?: number
  /** test-only: plant a consensus bug to prove the simulation catches it */
  unsafe?: UnsafeFlags
  /** a validator further behind than this many blocks leaves consensus to catch up */
  syncThreshold?: number
}

/** What a restarted node finds in its store. */
export interface RestoredPool {
  /** committed txs, with the batch that committed each */
  committed: { hash: string; tx: Tx; batch: Uint8Array }[]
  pendingAccounts: { address: string; reg: AccountRegistration }[]
}

/** The chain a restarted node finds in its store. */
export interface RestoredChain {
  head: { height: number; hash: Uint8Array; time: number; stateRoot: Uint8Array }
  accounts: AccountState[]
  unclaimed: [string, Unclaimed][]
  signState: SignState | null
}

export interface AccountView {
  address: string
  username: string
  data: string
  keyType: 'ed25519' | 'rsa'
  publicKey: Uint8Array
  status: 'pending' | 'final'
  nonce: number
  pendingNonce: number
  registeredAt: number | null
}

export class Core {
  readonly chainId: string
  readonly validators: ValidatorSet
  readonly self: PeerIdString
  readonly isValidator: boolean
  readonly pool: Mempool
  readonly txLog = new TxLog()
  readonly txRounds: TxRounds
  readonly accounts: AccountRegistry
  readonly blocks: BlockRounds
  readonly genesisHash: Uint8Array
  /** equivocation evidence gathered by the tx and block rounds */
  readonly evidence: EvidenceBook
  ledger: LedgerState
  private out: CoreAction[] = []

  constructor(init: CoreInit) {
    this.chainId = init.genesis.chainId
    this.genesisHash = genesisHash(init.genesis)
    this.validators = new ValidatorSet(init.genesis.validators)
    this.self = init.self
    this.isValidator = this.validators.has(init.self)
    this.pool = new Mempool(init.poolLimits ?? DEFAULT_POOL_LIMITS)
    this.ledger = LedgerState.fromGenesis(init.genesis)
    this.evidence = new EvidenceBook(this.out)
    const ledger = () => this.ledger
    this.txRounds = new TxRounds(
      {
        chainId: this.chainId,
        validators: this.validators,
        self: init.self,
        signer: init.signer,
        txRoundMs: init.genesis.timeouts.txRoundMs,
        maxWaiting: init.maxWaitingTxs,
        maxRounds: init.maxTxRounds,
        batchTxs: init.batchTxs,
        batchWaitMs: init.batchWaitMs,
      },
      ledger,
      this.pool,
      this.txLog,
      this.evidence,
      this.out,
    )
    this.accounts = new AccountRegistry(this.chainId, ledger, this.pool, this.out)
    this.blocks = new BlockRounds(
      {
        chainId: this.chainId,
        validators: this.validators,
        self: init.self,
        signer: init.signer,
        timeouts: init.genesis.timeouts,
        genesis: init.genesis,
        unsafe: init.unsafe,
        syncThreshold: init.syncThreshold,
      },
      ledger,
      this.pool,
      this.txLog,
      new SeededRandom(init.seed),
      this.evidence,
      this.out,
      BlockRounds.genesisHead(init.genesis, this.genesisHash, genesisStateRoot(this.genesisHash)),
    )
  }

  /** one re-announcement of a message is forwarded at most this often: half a round */
  get relayGapMs(): number {
    return this.blocks.timeouts.roundMs / 2
  }

  get head(): Head {
    return this.blocks.head
  }

  /** Put back the chain the store kept: head, ledger, and this validator's sign state and lock. */
  restoreChain(saved: RestoredChain, now: number): void {
    if (saved.head.height > 0) {
      for (const a of saved.accounts) this.ledger.put(a)
      for (const [address, u] of saved.unclaimed) this.ledger.unclaimed.set(address, u)
      this.blocks.head = { ...saved.head, finalAt: now }
      this.blocks.resetHeight()
    }
    if (saved.signState) this.blocks.restoreSignState(saved.signState, now)
  }

  /**
   * Put back what the store kept: committed txs and pending registrations. A committed tx at a
   * nonce the chain has used can never apply (only a store written by an older build, before
   * blocks refused such txs, holds one): it is dropped from the store instead.
   */
  restore(saved: RestoredPool, now: number): void {
    const stale: string[] = []
    for (const { hash, tx } of saved.committed) {
      if (nonceUsedBy(this.ledger, txSenderHex(tx), tx.nonce)) {
        stale.push(hash)
        continue
      }
      this.pool.add(hash, tx, txSize(tx), now)
      this.pool.markCommitted(hash)
      const record = this.txLog.touch(hash, tx)
      this.txLog.advance(record, 'committed')
    }
    for (const { address, reg } of saved.pendingAccounts) this.pool.addAccount(address, reg)
    if (stale.length > 0)
      this.out.push({ type: 'persist', ops: stale.map((hash) => ({ op: 'pool-del', hash })) })
  }

  /** Start the block rounds if there is work (call once after restoring). */
  start(now: number): CoreAction[] {
    this.blocks.maybeActivate(now)
    return this.out.splice(0)
  }

  step(event: CoreEvent): CoreAction[] {
    switch (event.type) {
      case 'tick':
        this.txRounds.tick(event.now)
        break
      case 'timer':
        if (event.key.startsWith('tx-')) this.txRounds.target.onTimer(event.key, event.now)
        else this.blocks.onTimer(event.key, event.now)
        break
      case 'election':
        this.blocks.onElection(event.msg, event.now)
        break
      case 'block-sync':
        this.blocks.onBlockSync(event.msg, event.from, event.now)
        break
      case 'block-fetched':
        this.blocks.onFetched(event.block, event.from, event.now)
        break
      case 'sync-done':
        this.blocks.syncDone(event.now)
        break
      case 'peer-height':
        this.blocks.peerHeight(event.height, event.from)
        break
      case 'height-claim':
        this.blocks.heightClaim(event.validator, event.head)
        break
      case 'client-tx':
        this.txRounds.target.submit(event.requestId, event.tx, event.now)
        break
      case 'client-account':
        this.accounts.submit(event.requestId, event.reg)
        break
      case 'tx-batch':
        this.txRounds.onTxBatch(event.batch, event.now)
        break
      case 'batch-prepare':
        this.txRounds.onBatchPrepare(
          peerIdToString(event.msg.target),
          event.msg.cert!,
          event.from,
          event.now,
        )
        break
      case 'batch-commit':
        this.txRounds.onBatchCommit(event.msg.cert!, event.from, event.now)
        break
      case 'vote':
        if (event.vote.phase === Phase.BLOCK_PERMIT || event.vote.phase === Phase.BLOCK_COMMIT)
          this.blocks.onVote(event.vote, event.now)
        break
      case 'batch-vote':
        this.txRounds.target.onBatchVote(event.vote, event.now)
        break
      case 'account':
        this.accounts.onGossip(event.reg)
        break
      case 'batch-fetched':
        this.txRounds.onBatchFetched(event.batch, event.from, event.now)
        break
    }
    this.blocks.maybeActivate(event.now)
    return this.out.splice(0)
  }

  // ------------------------------------------------------------------ queries

  /**
   * What the gossip gate (validation.ts) reads of a node's core, for the core of `core()` now
   * (the simulation's node gets a new core on each restart).
   */
  static gateView(
    core: () => Core | null,
  ): Pick<ValidationContext, 'height' | 'round' | 'proposal' | 'senderKey' | 'accountRoom'> {
    return {
      accountRoom: (bytes) => !(core()?.pool.isAccountsFull(bytes) ?? false),
      height: () => core()?.blocks.height ?? 0,
      round: () => core()?.blocks.round ?? 0,
      proposal: (height, round) => core()?.blocks.proposalOf(height, round) ?? null,
      senderKey: (address) => {
        const c = core()
        if (c == null) return null
        return senderKey({ chainId: c.chainId, ledger: c.ledger, pool: c.pool, now: 0 }, address)
      },
    }
  }

  tx(hash: string): TxRecord | undefined {
    return this.txLog.get(hash)
  }

  /**
   * How many more client txs this node takes now (tx-target.ts `room`), and the answer for any
   * beyond that (POOL_FULL, with when to try again).
   */
  txAdmission(now: number): TxAdmission {
    const target = this.txRounds.target
    const room = target.room(now)
    // `room` is what is left of a bound, so taking it meets that bound: the refusal names it
    const refusal = target.refusal(now, room) ?? {
      ok: false,
      code: 'POOL_FULL',
      message: `this node takes ${room} more txs now; try the rest again later`,
      httpStatus: 503,
      retryAfterMs: target.retryAfterMs(now, room),
    }
    return { room, refusal }
  }

  txBody(hash: string): Tx | undefined {
    return this.txRounds.body(hash)
  }

  /** A block proposed at the current height, by its hash (to serve a peer rebuilding a compact one). */
  proposedBlock(hash: string): Block | undefined {
    return this.blocks.proposedBlock(hash)
  }

  account(address: string): AccountView | undefined {
    const final = this.ledger.account(address)
    if (final) {
      return {
        address,
        username: final.username,
        data: final.data,
        keyType: final.keyType,
        publicKey: final.publicKey,
        status: 'final',
        nonce: final.nextNonce,
        pendingNonce: this.pool.nextNonce(address, final.nextNonce),
        registeredAt: final.registeredAt,
      }
    }
    const pending = this.pool.pendingAccount(address)
    if (pending == null) return undefined
    return {
      address,
      username: pending.username,
      data: pending.data,
      keyType: keyTypeOf(pending.keyType),
      publicKey: pending.publicKey,
      status: 'pending',
      nonce: 0,
      pendingNonce: this.pool.nextNonce(address, 0),
      registeredAt: null,
    }
  }
}
