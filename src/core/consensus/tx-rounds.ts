/**
 * The three-phase vote on txs (DESIGN §5), in batches: the validator side, and the tables both
 * sides share. The target side — the batches of the txs clients gave this node — is
 * tx-target.ts, reached as `target`.
 *
 * As a **validator** this admits each tx of a batch, answers the batch with one signed vote (a
 * permit for each tx but the ones it rejects, each with its reason), answers a BatchPrepare with
 * a PREPARE vote for each tx the certificate gave q permits (and whose body it holds), and on
 * BatchCommit moves the txs with q PREPARE permits to its committed list for a block. A batch it
 * missed is fetched from a peer when a certificate names it. Certificates reach this module
 * already verified (consensus/validation.ts).
 *
 * The tables: the tx bodies whose signatures checked out, the batches seen (whole until this
 * node committed them, then settled to their tx hashes) and the last batches settled, whole, to
 * serve peers. Each is bounded by count and bytes (docs/THREAT-MODEL.md).
 */

import { tallyBatch } from '../chain/certificates.js'
import { signBatchVote, verifyTxBatch } from '../chain/signatures.js'
import { txSenderHex, txSize } from '../chain/tx.js'
import { batchDigest } from '../chain/tx-batch.js'
import type { ValidatorSet } from '../chain/validator-set.js'
import {
  type BatchCertificate,
  MAX_TX_BYTES,
  Phase,
  RejectReason,
  rejectReasonToWire,
  type Tx,
  type TxBatch,
} from '../codec/index.js'
import { toHex } from '../crypto/hash.js'
import type { Signer } from '../crypto/keys.js'
import { type PeerIdString, peerIdFromString, peerIdToString } from '../crypto/peer-id.js'
import { SizedFifo } from '../fifo.js'
import type { Mempool } from '../mempool/mempool.js'
import { type Ledger, nonceUsedBy } from '../state/ledger.js'
import { admitTx } from './admission.js'
import type { EvidenceBook } from './evidence.js'
import { type Reason, reason } from './reasons.js'
import type { TxLog, VoteView } from './tx-log.js'
import { type TargetHost, TargetRounds } from './tx-target.js'
import type { CoreAction } from './types.js'

export interface TxRoundsConfig {
  chainId: string
  validators: ValidatorSet
  self: PeerIdString
  signer: Signer
  /** a round without its commit certificate after this long fails */
  txRoundMs: number
  /** admitted txs that may wait for a round at once (beyond: POOL_FULL, 503) */
  maxWaiting?: number
  /** the window of batches in flight never grows past this */
  maxRounds?: number
  /** txs in one batch, at most (default DEFAULT_BATCH_TXS) */
  batchTxs?: number
  /** a waiting tx goes in a batch this long after it came, at the latest (default DEFAULT_BATCH_WAIT_MS) */
  batchWaitMs?: number
}

/** commit certificates whose batch is being fetched, at most */
export const MAX_AWAITING_BODIES = 1_000
/** batches seen (their txs' signatures checked), kept to back a Prepare or a Commit */
export const SEEN_BATCHES = 4_096
/**
 * Heap bytes of the batches kept. A batch holds its txs (data + signature + TX_HEAP_BYTES each)
 * until this node has committed it (or, as its target, ended its round); then it settles and
 * keeps only their hashes (SETTLED_TX_BYTES each), to read a late certificate by index, while
 * its txs are in the pool or a block. 6 MiB hold about 60,000 settled tx hashes: 30 s at 2,000
 * tx/s, where a certificate comes within the round's deadline (txRoundMs, 10 s by default).
 * Before batches settled, 16 MiB of whole batches held their decoded txs about 12 s at that
 * rate: 13 MB of a loaded validator's heap (docs/PERFORMANCE.md).
 */
export const SEEN_BATCH_BYTES = 6 * 1024 * 1024
/**
 * Heap bytes a decoded tx costs beyond its data and signature: the Tx object, its three byte
 * views and their buffers, and its hex hash (measured in a heap snapshot: about 400).
 */
export const TX_HEAP_BYTES = 400
/**
 * Heap bytes a settled batch keeps per tx: a slot in its hash list and the hash's 64-character
 * string, which outlives the other tables' references to it.
 */
export const SETTLED_TX_BYTES = 96
/**
 * Settled batches whose txs are still kept, to serve a peer that missed one (it asks when a
 * certificate names a batch it lacks, often just as this node commits it): the last 256, and at
 * most 2 MiB of heap counted as in SEEN_BATCH_BYTES (about 1.5 s at 2,000 tx/s).
 */
export const SETTLED_BATCHES = 256
export const SETTLED_BATCH_BYTES = 2 * 1024 * 1024

export class TxRounds implements TargetHost {
  /** the batches of the txs clients gave this node */
  readonly target: TargetRounds
  /** tx bodies whose signature checked out, by tx hash, to back a Prepare or a Commit */
  private readonly seen = new SizedFifo<string, { tx: Tx; bytes: number }>(
    SEEN_TX_CAPACITY,
    SEEN_TX_BYTES,
  )
  /**
   * batches seen, by hash: their txs' hashes in order (what an index in a vote names), their
   * target, and the batch itself until this node has committed it (settle)
   */
  private readonly batches = new SizedFifo<
    string,
    { txHashes: string[]; target: PeerIdString; batch: TxBatch | null; bytes: number }
  >(SEEN_BATCHES, SEEN_BATCH_BYTES)
  /** the batches settled last, whole, to serve (SETTLED_BATCHES) */
  private readonly settled = new SizedFifo<string, { batch: TxBatch; bytes: number }>(
    SETTLED_BATCHES,
    SETTLED_BATCH_BYTES,
  )
  /** batches asked for by hash: with the commit certificate that waits for them, or null (a Prepare asked) */
  private readonly awaitingBody = new Map<string, BatchCertificate | null>()
  private readonly isValidator: boolean
  private readonly selfId: Uint8Array

  constructor(
    private readonly cfg: TxRoundsConfig,
    private readonly ledger: () => Ledger,
    private readonly pool: Mempool,
    private readonly log: TxLog,
    evidence: EvidenceBook,
    private readonly out: CoreAction[],
  ) {
    this.isValidator = cfg.validators.has(cfg.self)
    this.selfId = peerIdFromString(cfg.self)
    this.target = new TargetRounds(cfg, ledger, pool, log, evidence, out, this)
  }

  onTxBatch(batch: TxBatch, now: number): void {
    const d = batchDigest(batch)
    const target = peerIdToString(batch.target)
    if (target === this.cfg.self) return
    const ctx = { chainId: this.cfg.chainId, ledger: this.ledger(), pool: this.pool, now }
    const rejected: number[] = []
    const reasons: number[] = []
    batch.txs.forEach((tx, i) => {
      const hash = d.txHashesHex[i]!
      const bytes = txSize(tx)
      // admission checks the tx's signature first: only bytes that were verified are kept
      const verdict = admitTx(ctx, tx, hash, bytes)
      const genuine = verdict.ok ? !verdict.duplicate : verdict.signed
      if (genuine) {
        this.remember(hash, tx, bytes)
        this.log.touch(hash, tx).target ??= target
      }
      if (verdict.ok && !verdict.duplicate && this.isValidator) this.pool.add(hash, tx, bytes, now)
      if (!verdict.ok) {
        rejected.push(i)
        reasons.push(rejectReasonToWire(verdict.reason))
      }
    })
    this.keepBatch(d.hashHex, d.txHashesHex, batch)
    if (!this.isValidator) return
    this.out.push({
      type: 'send-batch-vote',
      to: target,
      vote: signBatchVote(this.cfg.signer, this.cfg.chainId, {
        phase: Phase.PRE_PREPARE,
        batch: d.hash,
        count: batch.txs.length,
        rejected,
        reasons,
        voter: this.selfId,
      }),
    })
  }

  /** q PRE_PREPARE permits for some txs of a batch (the certificate was checked). */
  onBatchPrepare(
    target: PeerIdString,
    cert: BatchCertificate,
    from: PeerIdString,
    now: number,
  ): void {
    if (target === this.cfg.self) return
    const hash = toHex(cert.batch)
    const seen = this.batches.get(hash)
    // the batch names its target (its hash covers it): a Prepare that names another is a lie
    // (a relay cannot be told from its author here, so nobody is blamed; it is dropped)
    if (seen != null && seen.target !== target) return
    const tally = tallyBatch(cert, this.cfg.validators.quorum)
    if (seen != null) {
      const permits = permitsOf(this.log, cert)
      seen.txHashes.forEach((h, i) => {
        if (!tally.certified[i]) return
        const record = this.log.touch(h)
        record.target ??= target
        this.log.certVotes(record, 'prePrepare', permits(i))
        if (this.log.advance(record, 'prepared')) this.status(h, 'prepared', null)
      })
    } else {
      // we missed the batch: it will be needed for the Commit; without it we have nothing to say
      this.awaitBatch(hash, null, from)
      return
    }
    if (!this.isValidator) return
    const rejected: number[] = []
    const reasons: number[] = []
    for (let i = 0; i < cert.count; i++) {
      if (!tally.certified[i]) {
        rejected.push(i)
        reasons.push(rejectReasonToWire(RejectReason.NOT_PREPARED))
        continue
      }
      const h = seen?.txHashes[i]
      const tx = h == null ? undefined : (this.pool.get(h)?.tx ?? this.seen.get(h)?.tx)
      if (h == null || tx == null) {
        rejected.push(i)
        reasons.push(rejectReasonToWire(RejectReason.UNKNOWN_TX))
        continue
      }
      // q validators hold it: so do we now, even if our own admission said no (but not at a
      // nonce the chain has used since)
      if (!this.pool.has(h)) {
        if (this.nonceUsed(h, tx)) {
          rejected.push(i)
          reasons.push(rejectReasonToWire(RejectReason.NONCE_USED))
          continue
        }
        this.pool.add(h, tx, txSize(tx), now)
      }
      this.pool.markPrepared(h)
    }
    this.out.push({
      type: 'send-batch-vote',
      to: target,
      vote: signBatchVote(this.cfg.signer, this.cfg.chainId, {
        phase: Phase.PREPARE,
        batch: cert.batch,
        count: cert.count,
        rejected,
        reasons,
        voter: this.selfId,
      }),
    })
  }

  /** q PREPARE permits for some txs of a batch (the certificate was checked): commit them. */
  onBatchCommit(cert: BatchCertificate, from: PeerIdString, now: number): void {
    const hash = toHex(cert.batch)
    const seen = this.batches.get(hash)
    if (seen == null) {
      this.awaitBatch(hash, cert, from)
      return
    }
    // settled: committed here already (a target publishes one Commit per batch)
    if (seen.batch == null) return
    this.commitBatch(hash, seen.txHashes, seen.batch, cert, now)
  }

  /** Ask for a batch we missed, once; a commit certificate that comes meanwhile waits with it. */
  private awaitBatch(hash: string, cert: BatchCertificate | null, from: PeerIdString): void {
    if (this.awaitingBody.has(hash)) {
      if (cert != null) this.awaitingBody.set(hash, cert)
      return
    }
    // bounded: the oldest fetch is given up (its txs still come in a block from others)
    if (this.awaitingBody.size >= MAX_AWAITING_BODIES) {
      const oldest = this.awaitingBody.keys().next().value
      if (oldest !== undefined) this.awaitingBody.delete(oldest)
    }
    this.awaitingBody.set(hash, cert)
    this.out.push({ type: 'fetch-batch', hash, hint: from })
  }

  private commitBatch(
    hash: string,
    txHashes: string[],
    batch: TxBatch,
    cert: BatchCertificate,
    now: number,
  ): void {
    const tally = tallyBatch(cert, this.cfg.validators.quorum)
    const permits = permitsOf(this.log, cert)
    txHashes.forEach((h, i) => {
      if (!tally.certified[i]) return
      // the batch's bytes are the ones q validators prepared (its hash binds them)
      const tx = batch.txs[i]!
      this.log.certVotes(this.log.touch(h), 'prepare', permits(i))
      this.commitLocally(h, tx, cert.batch, now)
    })
    this.settle(hash)
  }

  /**
   * A batch we asked for. Its hash binds every byte of it, each tx's signature too (its txsRoot is
   * made as a block's txRoot), so a copy that matches is the batch the certificates name: the txs that q
   * validators prepared are committed from it as they are. A copy whose target signature does
   * not hold is refused and its server reported (a node keeps and serves only signed batches).
   * Kept too when only a Prepare asked for it: the Commit that follows finds it here.
   */
  onBatchFetched(batch: TxBatch, from: PeerIdString, now: number): void {
    const d = batchDigest(batch)
    if (!this.awaitingBody.has(d.hashHex)) return
    if (!verifyTxBatch(this.cfg.chainId, d.header, batch.signature)) {
      this.out.push({
        type: 'misbehaving',
        peer: from,
        reason: `served a forged copy of batch ${d.hashHex}`,
      })
      return
    }
    const cert = this.awaitingBody.get(d.hashHex)
    this.awaitingBody.delete(d.hashHex)
    this.keepBatch(d.hashHex, d.txHashesHex, batch)
    if (cert != null) this.commitBatch(d.hashHex, d.txHashesHex, batch, cert, now)
  }

  commitLocally(hash: string, tx: Tx, batch: Uint8Array, now: number): void {
    if (!this.pool.has(hash)) {
      // its nonce is used: it is final already (a second round of it ended after its block),
      // or it can never apply; the pool holds no such tx, so no block proposes it again
      if (this.nonceUsed(hash, tx)) return
      this.pool.add(hash, tx, Math.min(txSize(tx), MAX_TX_BYTES), now)
    }
    if (this.pool.markCommitted(hash) == null) return // already committed here
    this.out.push({
      type: 'persist',
      ops: [{ op: 'pool-put', hash, tx, batch }],
    })
    const record = this.log.touch(hash, tx)
    if (this.log.advance(record, 'committed')) this.status(hash, 'committed', null)
  }

  /**
   * Has the chain used `tx`'s nonce? Then it fails here with NONCE_USED, unless it is final (a
   * block holds it: this is a late certificate of another round of it).
   */
  private nonceUsed(hash: string, tx: Tx): boolean {
    if (!nonceUsedBy(this.ledger(), txSenderHex(tx), tx.nonce)) return false
    const record = this.log.touch(hash)
    const why = reason(RejectReason.NONCE_USED, `nonce ${tx.nonce} is used`)
    if (this.log.failByChain(record, why)) this.status(hash, 'failed', why)
    return true
  }

  // ------------------------------------------------------------------ time
  // ------------------------------------------------------------------ time

  /** Fail the target's rounds past their deadline; forget uncommitted txs whose rounds are long over. */
  tick(now: number): void {
    this.target.expire(now)
    for (const e of this.pool.stale(now - 2 * this.cfg.txRoundMs)) {
      if (this.target.holds(e.hash)) continue
      this.pool.remove(e.hash)
    }
    this.target.drain(now)
  }

  // ------------------------------------------------------------------ tables

  private remember(hash: string, tx: Tx, bytes: number): void {
    this.seen.add(hash, { tx, bytes })
  }

  keepBatch(hash: string, txHashes: string[], batch: TxBatch): void {
    if (this.batches.has(hash)) return
    let bytes = 64
    for (const tx of batch.txs) bytes += tx.data.length + tx.signature.length + TX_HEAP_BYTES
    this.batches.add(hash, { txHashes, target: peerIdToString(batch.target), batch, bytes })
  }

  /**
   * This node is done with the batch's txs (it committed the ones certified, or, as the target,
   * the round ended): keep only their hashes, and the batch itself among the last few settled
   * to serve a peer that asks. A peer that asks later is told it is unknown; the txs reach it in
   * a block (compact blocks fetch what a node lacks).
   */
  settle(hash: string): void {
    const kept = this.batches.get(hash)
    if (kept == null || kept.batch == null) return
    this.settled.add(hash, { batch: kept.batch, bytes: kept.bytes })
    kept.batch = null
    this.batches.shrink(hash, 64 + kept.txHashes.length * SETTLED_TX_BYTES)
  }

  /** How much this node holds for tx rounds (the simulation checks the bounds). */
  sizes(): {
    seen: number
    seenBytes: number
    batches: number
    batchBytes: number
    settledBatches: number
    settledBatchBytes: number
    awaitingBody: number
  } {
    return {
      seen: this.seen.size,
      seenBytes: this.seen.bytes,
      batches: this.batches.size,
      batchBytes: this.batches.bytes,
      settledBatches: this.settled.size,
      settledBatchBytes: this.settled.bytes,
      awaitingBody: this.awaitingBody.size,
    }
  }

  /** A tx body this node can serve to a peer that lacks it. */
  body(hash: string): Tx | undefined {
    return this.pool.get(hash)?.tx ?? this.seen.get(hash)?.tx ?? this.log.get(hash)?.tx ?? undefined
  }

  /** A batch this node can serve to a peer that lacks it. */
  batch(hash: string): TxBatch | undefined {
    return this.batches.get(hash)?.batch ?? this.settled.get(hash)?.batch
  }

  private status(
    hash: string,
    status: 'pending' | 'prepared' | 'committed' | 'failed',
    why: Reason | null,
  ): void {
    this.out.push({ type: 'tx-status', hash, status, reason: why })
  }
}

/**
 * tx bodies kept from batches (signature checked), by count and encoded bytes; oldest go first.
 * A kept tx costs about 650 bytes of heap, so 10,000 are about 6.5 MB.
 */
export const SEEN_TX_CAPACITY = 10_000
export const SEEN_TX_BYTES = 16 * 1024 * 1024
/**
 * The permits of a certificate for each tx index: the voters' ids are read once per certificate,
 * and where no vote rejected anything every tx shares one frozen array.
 */
function permitsOf(log: TxLog, cert: BatchCertificate): (index: number) => readonly VoteView[] {
  const voters = cert.votes.map((v) => peerIdToString(v.voter))
  const all = log.permits(voters)
  if (cert.votes.every((v) => v.rejected.length === 0)) return () => all
  return (index) => log.permits(voters.filter((_, k) => !cert.votes[k]!.rejected.includes(index)))
}
