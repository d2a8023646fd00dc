/**
 * Read queries over the final chain (DESIGN §8, §9): blocks with their
 * receipts and certificates, a tx by hash through the tx index, and an
 * account's balance from the ledger in memory. Every answer is a point
 * lookup or a bounded range of the store, or the account's own lots:
 * nothing here scans the chain.
 */
import { blockHash } from '../../core/chain/block.js'
import { type TxJson, txToJson } from '../../core/chain/json.js'
import { txHash } from '../../core/chain/tx.js'
import type { Receipt, Receipts } from '../../core/codec/index.js'
import {
  FinalizedBlockCodec,
  type FinalizedBlock as FinalizedBlockMessage,
  ReceiptStatus,
  ReceiptsCodec,
} from '../../core/codec/index.js'
import type { Core } from '../../core/consensus/core.js'
import type { Reason } from '../../core/consensus/reasons.js'
import { fromHex, toHex } from '../../core/crypto/hash.js'
import { addressOf } from '../../core/crypto/keys.js'
import { peerIdToString } from '../../core/crypto/peer-id.js'
import { type GasLot, isLive } from '../../core/state/ledger.js'
import type { Store } from '../store/index.js'
import { readHead } from './head.js'
import type { CommitSigners } from './validator-activity.js'

/** Blocks one range query may return. */
export const MAX_BLOCKS_PER_QUERY = 100
/**
 * Encoded block bytes one range query reads: past it the range ends early (at least one block),
 * and the caller asks again from the next height. 1 MiB is about 6,000 txs in full blocks: under
 * 100 ms of a quiet core to read, view and serialize (16 MiB, 44,000 txs, took 400 ms there, and
 * stopped a loaded validator's event loop for about 2 s; docs/PERFORMANCE.md).
 */
export const MAX_RANGE_BYTES = 1024 * 1024

export interface GasDrawView {
  /** the block of the lot it drew from (0: genesis) */
  blockIndex: number
  useGas: number
}

export type BlockTxView = TxJson & {
  hash: string
  status: 'ok' | 'failed'
  reason: string | null
  draws: GasDrawView[]
}

export interface BlockAccountView {
  address: string
  username: string
  status: 'ok' | 'failed'
  reason: string | null
}

export interface BlockView {
  height: number
  hash: string
  header: {
    chainId: string
    height: number
    round: number
    parentHash: string
    /** peer id of the leader that proposed it */
    proposer: string
    /** ISO 8601 */
    time: string
    timeMs: number
    txRoot: string
    accountsRoot: string
    stateRoot: string
  }
  txs: BlockTxView[]
  accounts: BlockAccountView[]
  /** the commit certificate that made it final */
  certificate: { phase: string; round: number; signers: string[] }
}

/** A tx as its block has it: where it stands and how it ended. */
export interface FinalTxView {
  hash: string
  status: 'final' | 'failed'
  reason: Reason | null
  tx: TxJson
  block: { height: number; index: number }
  draws: GasDrawView[]
}

export interface LotView {
  blockIndex: number
  /** the granting block's time, ms */
  time: number
  remaining: number
  /** when it stops counting, ms (null: never) */
  expiresAt: number | null
}

/** The original design's balance tuple, plus the balance net of pooled txs. */
export interface BalanceView {
  address: string
  /**
   * 'final': an account in a block; 'pending': registered, waiting for a
   * block; null: no account (its gas waits unclaimed)
   */
  account: 'final' | 'pending' | null
  hasTransaction: boolean
  lastBlockIndex: number | null
  gasUsed: number
  /** live gas now */
  balance: number
  /** balance less the gas of the sender's txs in the pool (not yet in a block) */
  pendingBalance: number
  /** the live lots, oldest first: the order txs draw from */
  lots: LotView[]
  /** credit that expired unspent, including lots that have expired since the account last moved */
  expiredGas: number
}

/** The store answered with bytes that do not decode: ours to report (500), not the caller's. */
export class ChainQueryError extends Error {}

function peerIdText(bytes: Uint8Array): string {
  try {
    return peerIdToString(bytes)
  } catch {
    return toHex(bytes)
  }
}

function draws(r: Receipt | undefined): GasDrawView[] {
  return (r?.draws ?? []).map((d) => ({ blockIndex: d.index, useGas: d.useGas }))
}

function failedReason(r: Receipt, height: number): Reason {
  return { code: r.reason, message: `failed in block ${height}: ${r.reason}` }
}

export class ChainQuery {
  constructor(
    private readonly store: Store,
    private readonly core: Core,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The height of the last final block on disk (0: only the genesis). */
  async headHeight(): Promise<number> {
    return (await readHead(this.store))?.height ?? 0
  }

  /** The final block at `height`, or null when there is none (yet). */
  async block(height: number): Promise<BlockView | null> {
    if (height < 1) return null
    const bytes = await this.store.blocks.get(height)
    if (bytes == null) return null
    const receipts = await this.store.receipts.get(height)
    return this.blockView(height, bytes, receipts)
  }

  /** The head block, or null at genesis. */
  async latest(): Promise<BlockView | null> {
    const height = await this.headHeight()
    return height === 0 ? null : this.block(height)
  }

  /**
   * Final blocks in [from, to], ascending; heights not final yet are absent. A range whose blocks
   * pass `maxBytes` (encoded) ends early, with at least one block: the lowest heights are kept,
   * or with `newest`, the highest (a page of the latest blocks).
   */
  async blocks(
    from: number,
    to: number,
    opts: { newest?: boolean; maxBytes?: number } = {},
  ): Promise<BlockView[]> {
    if (to < from) return []
    if (to - from + 1 > MAX_BLOCKS_PER_QUERY) {
      throw new RangeError(`at most ${MAX_BLOCKS_PER_QUERY} blocks per query`)
    }
    const maxBytes = opts.maxBytes ?? MAX_RANGE_BYTES
    const found: [number, Uint8Array][] = []
    let bytes = 0
    const range = { gte: Math.max(1, from), lte: to, reverse: opts.newest === true }
    for await (const entry of this.store.blocks.entries(range)) {
      // full blocks are large: a range stops early rather than build a huge answer
      bytes += entry[1].length
      if (bytes > maxBytes && found.length > 0) break
      found.push(entry)
    }
    if (opts.newest) found.reverse()
    // a block and its receipts land in one batch: a block read first has its receipts
    const receipts = await this.store.receipts.getMany(found.map(([h]) => h))
    return found.map(([h, bytes], i) => this.blockView(h, bytes, receipts[i]))
  }

  /** Who signed the commit certificates of the final blocks in [from, to] (validator-activity.ts). */
  async commitSigners(from: number, to: number): Promise<CommitSigners[]> {
    if (to - from + 1 > MAX_BLOCKS_PER_QUERY)
      throw new RangeError(`at most ${MAX_BLOCKS_PER_QUERY} blocks per query`)
    const out: CommitSigners[] = []
    for await (const [height, bytes] of this.store.blocks.entries({
      gte: Math.max(1, from),
      lte: to,
    })) {
      const signatures = this.decodeBlock(height, bytes).commitCert?.signatures ?? []
      out.push({ height, signers: signatures.map((s) => peerIdText(s.voter)) })
    }
    return out
  }

  /** A tx that is in a final block, from the tx index; null when no final block holds it. */
  async finalTx(hash: string): Promise<FinalTxView | null> {
    const at = await this.store.txIndex.get(fromHex(hash))
    if (at == null) return null
    const [bytes, receiptBytes] = await Promise.all([
      this.store.blocks.get(at.height),
      this.store.receipts.get(at.height),
    ])
    if (bytes == null)
      throw new ChainQueryError(`tx ${hash} is indexed at missing block ${at.height}`)
    const fb = this.decodeBlock(at.height, bytes)
    const tx = fb.block?.txs[at.index]
    const receipt = receiptBytes
      ? this.decodeReceipts(at.height, receiptBytes).txs[at.index]
      : undefined
    if (tx == null || receipt == null || toHex(receipt.hash) !== hash) {
      throw new ChainQueryError(`tx ${hash}: block ${at.height} has no such tx at ${at.index}`)
    }
    const ok = receipt.status === ReceiptStatus.OK
    return {
      hash,
      status: ok ? 'final' : 'failed',
      reason: ok ? null : failedReason(receipt, at.height),
      tx: txToJson(tx),
      block: { height: at.height, index: at.index },
      draws: draws(receipt),
    }
  }

  /**
   * The balance of `address` at the node's clock, from the ledger in memory
   * (O(its lots)); null when the address has neither an account nor gas.
   */
  balance(address: string): BalanceView | null {
    const ledger = this.core.ledger
    const now = this.clock()
    const windowMs = ledger.gasWindowMs
    const account = ledger.account(address)
    const unclaimed = account ? undefined : ledger.unclaimed.get(address)
    const pending = account ? false : this.core.pool.pendingAccount(address) != null
    if (account == null && unclaimed == null && !pending) return null

    const lots: readonly GasLot[] = account?.lots ?? unclaimed?.lots ?? []
    const live: LotView[] = []
    let balance = 0
    // lots stay in the ledger until their account next moves: count the lapsed ones as expired now
    let lapsed = 0
    for (const lot of lots) {
      if (isLive(lot, now, windowMs)) {
        balance += lot.remaining
        live.push({
          blockIndex: lot.blockIndex,
          time: lot.time,
          remaining: lot.remaining,
          expiresAt: windowMs === 0 ? null : lot.time + windowMs,
        })
      } else if (lot.remaining > 0) lapsed += lot.remaining
    }
    const pendingGas = this.core.pool.pendingGas(address)
    const lastLot = lots.length > 0 ? Math.max(...lots.map((l) => l.blockIndex)) : null
    return {
      address,
      account: account ? 'final' : pending ? 'pending' : null,
      hasTransaction: account?.hasTransacted ?? false,
      lastBlockIndex: account ? account.lastBlockIndex : lastLot,
      gasUsed: account?.gasUsed ?? 0,
      balance,
      pendingBalance: Math.max(0, balance - pendingGas),
      lots: live,
      expiredGas: (account?.expiredGas ?? unclaimed?.expiredGas ?? 0) + lapsed,
    }
  }

  private decodeBlock(height: number, bytes: Uint8Array): FinalizedBlockMessage {
    try {
      return FinalizedBlockCodec.decode(bytes)
    } catch (err) {
      throw new ChainQueryError(
        `block ${height} on disk does not decode: ${(err as Error).message}`,
      )
    }
  }

  private decodeReceipts(height: number, bytes: Uint8Array): Receipts {
    try {
      return ReceiptsCodec.decode(bytes)
    } catch (err) {
      throw new ChainQueryError(
        `receipts of block ${height} on disk do not decode: ${(err as Error).message}`,
      )
    }
  }

  private blockView(height: number, bytes: Uint8Array, receiptBytes?: Uint8Array): BlockView {
    const fb = this.decodeBlock(height, bytes)
    const block = fb.block!
    const header = block.header!
    const receipts = receiptBytes
      ? this.decodeReceipts(height, receiptBytes)
      : { txs: [], accounts: [] }
    const cert = fb.commitCert
    return {
      height: header.height,
      hash: toHex(blockHash(header)),
      header: {
        chainId: header.chainId,
        height: header.height,
        round: header.round,
        parentHash: toHex(header.parentHash),
        proposer: peerIdText(header.proposer),
        time: new Date(header.time).toISOString(),
        timeMs: header.time,
        txRoot: toHex(header.txRoot),
        accountsRoot: toHex(header.accountsRoot),
        stateRoot: toHex(header.stateRoot),
      },
      txs: block.txs.map((tx, i) => {
        const r = receipts.txs[i]
        const ok = r?.status === ReceiptStatus.OK
        return {
          hash: toHex(r ? r.hash : txHash(tx)),
          status: ok ? 'ok' : 'failed',
          reason: ok ? null : (r?.reason ?? 'NO_RECEIPT'),
          ...txToJson(tx),
          draws: draws(r),
        }
      }),
      accounts: block.accounts.map((reg, i) => {
        const r = receipts.accounts[i]
        const ok = r?.status === ReceiptStatus.OK
        return {
          address: toHex(addressOf(reg.publicKey)),
          username: reg.username,
          status: ok ? 'ok' : 'failed',
          reason: ok ? null : (r?.reason ?? 'NO_RECEIPT'),
        }
      }),
      certificate: {
        phase: cert?.phase ?? 'PHASE_UNSPECIFIED',
        round: cert?.round ?? header.round,
        signers: (cert?.signatures ?? []).map((s) => peerIdText(s.voter)),
      },
    }
  }
}
