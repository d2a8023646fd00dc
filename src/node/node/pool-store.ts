/**
 * The pool's durable part in the store's `pool` bucket, so a restart loses no
 * tx a client was told is committed:
 *
 * - key 0x03 ++ record number (8 bytes, big-endian): the txs that committed in
 *   one write, each with the batch whose commit certificate committed it
 *   (PoolTxs). A record is written once and deleted once none of its txs can
 *   still go in a block: each is in a final block, or its nonce is used. One
 *   put and one delete per write, not per tx: at 2,000 tx/s a validator's store
 *   took three operations per tx (a put and a delete here, the tx index), each
 *   also work for LevelDB's own thread;
 * - key 0x02 ++ address: an account registration waiting for a block;
 * - key 0x01 ++ tx hash: a committed tx as stores before records kept it, read
 *   back and deleted as before.
 *
 * Bounds: a record holds at most MAX_POOL_RECORD_TXS txs and about
 * MAX_POOL_RECORD_BYTES; the tables below hold one entry per committed tx not
 * yet deleted and one per record, so they are as large as the pool's committed
 * list (bounded by the pool).
 */

import { txHashHex } from '../../core/chain/tx.js'
import { encodePoolTxs, type PoolTx, poolTxSize } from '../../core/chain/tx-encoding.js'
import {
  MAX_POOL_RECORD_BYTES,
  MAX_POOL_RECORD_TXS,
  PoolRecordCodec,
  PoolTxsCodec,
} from '../../core/codec/index.js'
import type { RestoredPool } from '../../core/consensus/core.js'
import type { PersistOp } from '../../core/consensus/types.js'
import { fromHex, toHex } from '../../core/crypto/hash.js'
import type { Store, WriteBatch } from '../store/index.js'

/** a committed tx kept alone (stores written before records) */
const TX = 0x01
const ACCOUNT = 0x02
const RECORD = 0x03

export const poolAccountKey = (address: string): Uint8Array => key(ACCOUNT, address)

function key(kind: number, hex: string): Uint8Array {
  // the hex is the core's own (a tx hash or an address it made with toHex): written straight into
  // the key, without fromHex's check of every character
  const out = new Uint8Array(1 + hex.length / 2)
  out[0] = kind
  const written = Buffer.from(out.buffer, out.byteOffset + 1, out.length - 1).write(hex, 'hex')
  if (written * 2 !== hex.length) throw new Error(`pool key: not hex: ${hex.slice(0, 16)}…`)
  return out
}

function recordKey(n: number): Uint8Array {
  const out = new Uint8Array(9)
  out[0] = RECORD
  const view = new DataView(out.buffer)
  view.setUint32(1, Math.floor(n / 2 ** 32))
  view.setUint32(5, n % 2 ** 32)
  return out
}

function recordNumber(k: Uint8Array): number {
  const view = new DataView(k.buffer, k.byteOffset, k.byteLength)
  return view.getUint32(1) * 2 ** 32 + view.getUint32(5)
}

/**
 * The writer of the pool bucket, and what it remembers between writes: the record that holds each
 * committed tx, and how many of each record's txs are still to delete. `restore` reads the bucket
 * back and takes the counting up where the disk stands.
 */
export class PoolRecords {
  private next = 0
  private readonly recordOf = new Map<string, number>()
  private readonly left = new Map<number, number>()
  /** txs an older store kept alone (key 0x01), read back at the last restore */
  private readonly alone = new Set<string>()
  /** records read back with nothing left in them, to delete with the next write */
  private empty: number[] = []

  /** Records on disk and the txs they still hold (for tests). */
  get size(): { records: number; txs: number } {
    return { records: this.left.size, txs: this.recordOf.size }
  }

  /** Add the pool's share of `ops` to `batch`: committed txs, their deletes, accounts. */
  addOps(batch: WriteBatch, store: Store, ops: PersistOp[]): void {
    for (const n of this.empty) batch.del(store.pool, recordKey(n))
    this.empty = []
    let committed: PoolTx[] = []
    let hashes: string[] = []
    let bytes = 0
    /** hashes put in this write, not in a record yet */
    const pending = new Set<string>()
    const close = (): void => {
      if (committed.length === 0) return
      const n = this.next++
      batch.put(store.pool, recordKey(n), encodePoolTxs(committed))
      for (const h of hashes) this.recordOf.set(h, n)
      this.left.set(n, hashes.length)
      committed = []
      hashes = []
      bytes = 0
    }
    for (const op of ops) {
      switch (op.op) {
        case 'pool-put': {
          // a tx kept already (it committed again after a restart) is not counted twice
          if (this.recordOf.has(op.hash) || this.alone.has(op.hash) || pending.has(op.hash)) break
          pending.add(op.hash)
          const part = { tx: op.tx, batch: op.batch }
          const size = poolTxSize(part)
          if (
            committed.length >= MAX_POOL_RECORD_TXS ||
            (committed.length > 0 && bytes + size > MAX_POOL_RECORD_BYTES)
          )
            close()
          committed.push(part)
          hashes.push(op.hash)
          bytes += size
          break
        }
        // the puts before a delete are recorded first: it may be of one of them
        case 'pool-del':
          close()
          this.drop(batch, store, op.hash)
          break
        case 'block-final':
          close()
          for (const h of op.poolDeletes) this.drop(batch, store, h)
          break
        case 'account-pending-put':
          batch.put(
            store.pool,
            key(ACCOUNT, op.address),
            PoolRecordCodec.encode({ account: op.reg }),
          )
          break
        case 'account-pending-del':
          batch.del(store.pool, key(ACCOUNT, op.address))
          break
      }
    }
    close()
  }

  /** A committed tx can no longer go in a block: its record goes once all of its txs have. */
  private drop(batch: WriteBatch, store: Store, hash: string): void {
    const n = this.recordOf.get(hash)
    if (this.alone.delete(hash) || n === undefined) {
      // kept alone by an older store (or deleted already: deleting nothing is harmless)
      batch.del(store.pool, key(TX, hash))
      if (n === undefined) return
    }
    this.recordOf.delete(hash)
    const left = (this.left.get(n) ?? 1) - 1
    if (left > 0) {
      this.left.set(n, left)
      return
    }
    this.left.delete(n)
    batch.del(store.pool, recordKey(n))
  }

  /**
   * What the bucket's entries (in key order, as the store reads them) hold for the core to
   * restore; the counting starts over from them. A record's txs come back in the order they
   * committed, but for those `isFinal` says a final block holds (the tx index): a record stays on
   * disk until the last of its txs is used up, so it may still hold some that are. (The core
   * drops those whose nonce is used, too.)
   */
  restore(
    entries: Iterable<[Uint8Array, Uint8Array]>,
    isFinal: (hash: string) => boolean = () => false,
  ): RestoredPool {
    this.recordOf.clear()
    this.left.clear()
    this.alone.clear()
    this.empty = []
    this.next = 0
    const saved: RestoredPool = { committed: [], pendingAccounts: [] }
    for (const [k, v] of entries) {
      if (k[0] === RECORD && k.length === 9) {
        const n = recordNumber(k)
        let count = 0
        for (const { tx, batch } of PoolTxsCodec.decode(v).txs) {
          const hash = txHashHex(tx!)
          if (this.recordOf.has(hash) || this.alone.has(hash) || isFinal(hash)) continue
          saved.committed.push({ hash, tx: tx!, batch: batch! })
          this.recordOf.set(hash, n)
          count++
        }
        if (count > 0) this.left.set(n, count)
        else this.empty.push(n)
        this.next = Math.max(this.next, n + 1)
        continue
      }
      const record = PoolRecordCodec.decode(v)
      const id = toHex(k.subarray(1))
      if (k[0] === TX && record.tx && record.batch) {
        saved.committed.push({ hash: id, tx: record.tx, batch: record.batch })
        this.alone.add(id)
      } else if (k[0] === ACCOUNT && record.account) {
        saved.pendingAccounts.push({ address: id, reg: record.account })
      }
    }
    return saved
  }
}

/** The hashes of the txs the bucket's records hold (to ask the tx index about them first). */
export function recordedTxHashes(entries: Iterable<[Uint8Array, Uint8Array]>): string[] {
  const out: string[] = []
  for (const [k, v] of entries)
    if (k[0] === RECORD && k.length === 9)
      for (const { tx } of PoolTxsCodec.decode(v).txs) out.push(txHashHex(tx!))
  return out
}

/** Read the pool bucket back into `records`: what the core restores. */
export async function loadPool(store: Store, records: PoolRecords): Promise<RestoredPool> {
  const entries: [Uint8Array, Uint8Array][] = []
  for await (const entry of store.pool.entries()) entries.push(entry)
  const final = new Set<string>()
  for (const hash of recordedTxHashes(entries))
    if (await store.txIndex.has(fromHex(hash))) final.add(hash)
  return records.restore(entries, (hash) => final.has(hash))
}
