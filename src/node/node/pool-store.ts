/**
 * The pool's durable part in the store's `pool` bucket: committed txs with
 * the batch that committed them (key 0x01 ++ tx hash) and pending account registrations
 * (key 0x02 ++ address), so a restart loses no tx a client was told is
 * committed.
 */

import { encodePoolTx } from '../../core/chain/tx-encoding.js'
import { PoolRecordCodec } from '../../core/codec/index.js'
import type { RestoredPool } from '../../core/consensus/core.js'
import type { PersistOp } from '../../core/consensus/types.js'
import { toHex } from '../../core/crypto/hash.js'
import type { Store, WriteBatch } from '../store/index.js'

const TX = 0x01
const ACCOUNT = 0x02

export const poolTxKey = (hash: string): Uint8Array => key(TX, hash)
export const poolAccountKey = (address: string): Uint8Array => key(ACCOUNT, address)

function key(kind: number, hex: string): Uint8Array {
  // the hex is the core's own (a tx hash or an address it made with toHex): written straight into
  // the key, without fromHex's check of every character (a put and a delete per committed tx)
  const out = new Uint8Array(1 + hex.length / 2)
  out[0] = kind
  const written = Buffer.from(out.buffer, out.byteOffset + 1, out.length - 1).write(hex, 'hex')
  if (written * 2 !== hex.length) throw new Error(`pool key: not hex: ${hex.slice(0, 16)}…`)
  return out
}

export function addPoolOps(batch: WriteBatch, store: Store, ops: PersistOp[]): void {
  for (const op of ops) {
    switch (op.op) {
      case 'pool-put':
        // PoolRecordCodec's bytes, with the tx's own encoding spliced in
        batch.put(store.pool, key(TX, op.hash), encodePoolTx(op.tx, op.batch))
        break
      case 'pool-del':
        batch.del(store.pool, key(TX, op.hash))
        break
      case 'account-pending-put':
        batch.put(store.pool, key(ACCOUNT, op.address), PoolRecordCodec.encode({ account: op.reg }))
        break
      case 'account-pending-del':
        batch.del(store.pool, key(ACCOUNT, op.address))
        break
    }
  }
}

export async function loadPool(store: Store): Promise<RestoredPool> {
  const saved: RestoredPool = { committed: [], pendingAccounts: [] }
  for await (const [k, v] of store.pool.entries()) {
    const record = PoolRecordCodec.decode(v)
    const id = toHex(k.subarray(1))
    if (k[0] === TX && record.tx && record.batch) {
      saved.committed.push({ hash: id, tx: record.tx, batch: record.batch })
    } else if (k[0] === ACCOUNT && record.account) {
      saved.pendingAccounts.push({ address: id, reg: record.account })
    }
  }
  return saved
}
