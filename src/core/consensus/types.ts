/**
 * The core's interface with the shell: events in, actions out (etcd raft's
 * Step/Ready). Every event carries the time it happened; the core never
 * reads a clock, a socket or the disk.
 */
import type {
  AccountRegistration,
  BatchCommit,
  BatchPrepare,
  BatchVote,
  BlockSyncMessage,
  ElectionMessage,
  Evidence,
  FinalizedBlock,
  Receipts,
  SignState,
  Tx,
  TxBatch,
  Vote,
} from '../codec/index.js'
import type { PeerIdString } from '../crypto/peer-id.js'
import type { AccountState, Unclaimed } from '../state/ledger.js'
import type { Reason } from './reasons.js'

export type TxStatus = 'pending' | 'prepared' | 'committed' | 'final' | 'failed'

const STATUS_RANK: Record<TxStatus, number> = {
  pending: 0,
  prepared: 1,
  committed: 2,
  final: 3,
  failed: 4,
}

/** Has a tx got to `wanted` (or failed, which ends every wait)? The API, the client and the CLI ask. */
export function reached(status: TxStatus | undefined, wanted: 'committed' | 'final'): boolean {
  return status != null && (status === 'failed' || STATUS_RANK[status] >= STATUS_RANK[wanted])
}

export type CoreEvent =
  /** time passes: deadlines are checked */
  | { type: 'tick'; now: number }
  /** a client submits a tx to this node, which becomes the round's target */
  | { type: 'client-tx'; now: number; requestId: number; tx: Tx }
  /** a client registers an account through this node */
  | { type: 'client-account'; now: number; requestId: number; reg: AccountRegistration }
  /** a target's batch of txs (the gossip gate checked the target's signature over it) */
  | { type: 'tx-batch'; now: number; batch: TxBatch; from: PeerIdString }
  /** a batch's PRE_PREPARE votes (their certificate checked) */
  | { type: 'batch-prepare'; now: number; msg: BatchPrepare; from: PeerIdString }
  /** a batch's PREPARE votes (their certificate checked) */
  | { type: 'batch-commit'; now: number; msg: BatchCommit; from: PeerIdString }
  /** a block vote for a round this node leads */
  | { type: 'vote'; now: number; vote: Vote; from: PeerIdString }
  /** a validator's answer to a batch this node is the target of (signature checked) */
  | { type: 'batch-vote'; now: number; vote: BatchVote; from: PeerIdString }
  | { type: 'account'; now: number; reg: AccountRegistration; from: PeerIdString }
  /** a batch the core asked for (fetch-batch) arrived */
  | { type: 'batch-fetched'; now: number; batch: TxBatch; from: PeerIdString }
  /** a timer the core set (set-timer) fired */
  | { type: 'timer'; now: number; key: string }
  | { type: 'election'; now: number; msg: ElectionMessage; from: PeerIdString }
  | { type: 'block-sync'; now: number; msg: BlockSyncMessage; from: PeerIdString }
  /** the shell stopped catching up (caught up, or no peer has the blocks) */
  | { type: 'sync-done'; now: number }
  /** a peer says its chain is this high (its status answer) */
  | { type: 'peer-height'; now: number; height: number; from: PeerIdString }
  /**
   * a validator signed a message for a height whose parent is `head` (the gossip gate checked
   * the signature and did not forward it: it is far ahead of this node)
   */
  | { type: 'height-claim'; now: number; validator: PeerIdString; head: number }
  /** a final block from history (fetch-block, sync-needed), in height order */
  | { type: 'block-fetched'; now: number; block: FinalizedBlock; from: PeerIdString }

export type Publish =
  | { type: 'publish'; topic: 'tx'; message: TxBatch }
  | { type: 'publish'; topic: 'prepare'; message: BatchPrepare }
  | { type: 'publish'; topic: 'commit'; message: BatchCommit }
  | { type: 'publish'; topic: 'accounts'; message: AccountRegistration }
  | { type: 'publish'; topic: 'block-sync'; message: BlockSyncMessage }
  | { type: 'publish'; topic: 'election'; message: ElectionMessage }

export type ClientResult =
  | { ok: true; hash?: string; address?: string; status: string }
  | {
      ok: false
      code: string
      message: string
      httpStatus: number
      /** a refusal for load: when to try again, in ms (Retry-After-Ms; Retry-After rounds it up to whole seconds) */
      retryAfterMs?: number
    }

/** What a final block changes on disk, in one batch. */
export interface BlockFinalOp {
  op: 'block-final'
  height: number
  hash: string
  finalized: FinalizedBlock
  receipts: Receipts
  accounts: AccountState[]
  unclaimed: [string, Unclaimed][]
  stateRoot: Uint8Array
  /** committed txs the block included (or made useless): out of the pool */
  poolDeletes: string[]
  accountDeletes: string[]
}

export type PersistOp =
  | BlockFinalOp
  | { op: 'sign-state'; state: SignState }
  /** a committed tx, with the batch whose commit certificate committed it */
  | { op: 'pool-put'; hash: string; tx: Tx; batch: Uint8Array }
  | { op: 'pool-del'; hash: string }
  | { op: 'account-pending-put'; address: string; reg: AccountRegistration }
  | { op: 'account-pending-del'; address: string }
  /** equivocation evidence (bounded: `evict` is the record it pushed out) */
  | { op: 'evidence-put'; key: string; evidence: Evidence; evict: string | null }

export type CoreAction =
  | Publish
  /** send a block vote to a validator (each block vote goes to every validator) */
  | { type: 'send-vote'; to: PeerIdString; vote: Vote }
  /** send a batch vote to the batch's target */
  | { type: 'send-batch-vote'; to: PeerIdString; vote: BatchVote }
  /** answer the client request `requestId` */
  | { type: 'client-result'; requestId: number; result: ClientResult }
  /** a tx changed status (waiting clients, logs, events) */
  | { type: 'tx-status'; hash: string; status: TxStatus; reason: Reason | null }
  /** get a tx batch we lack from a peer (hint: who probably has it) */
  | { type: 'fetch-batch'; hash: string; hint: PeerIdString | null }
  /** write these before carrying out the actions that follow them */
  | { type: 'persist'; ops: PersistOp[] }
  /** fire a 'timer' event with this key at `at` (ms) */
  | { type: 'set-timer'; key: string; at: number }
  /** the block of a Final we saw is missing: get it from history */
  | { type: 'fetch-block'; height: number; hash: string; hint: PeerIdString | null }
  /** the chain is ahead of us (a Final or a peer says so): catch up to `height` */
  | { type: 'sync-needed'; height: number; hint: PeerIdString | null }
  /** a block from history did not append: the peer that sent it lied or lags */
  | { type: 'block-rejected'; height: number; from: PeerIdString; reason: string }
  /** a block became final here */
  | {
      type: 'block-final'
      height: number
      hash: string
      round: number
      txs: number
      accounts: number
      failed: number
      /** the block's proposer */
      proposer: PeerIdString
      /** the validators whose commit votes made it final */
      signers: PeerIdString[]
    }
  /** a round of the current height timed out, and why as this node saw it */
  | {
      type: 'round-failed'
      height: number
      round: number
      leader: PeerIdString | null
      why: string
    }
  /** the round changed, or its leader became known */
  | { type: 'round'; height: number; round: number; leader: PeerIdString | null }
  /** a peer sent what an honest one never does (its reputation pays; the core cannot disconnect) */
  | { type: 'misbehaving'; peer: PeerIdString; reason: string }
  /** a validator was caught signing two different answers to one question */
  | { type: 'evidence'; evidence: Evidence }
  /** something that must never happen did (a final block that does not execute to its root) */
  | { type: 'fault'; message: string }
  /** the story of a round, for --verbose */
  | { type: 'trace'; msg: string; fields: Record<string, string | number | boolean | null> }
