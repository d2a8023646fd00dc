/**
 * The chain's durable part: a final block lands in one synced batch with
 * everything it changes — the block and its certificate, the hash and tx
 * indexes, the receipts, the accounts and unclaimed gas it touched, the new
 * head, the pool entries it used up (pool-store.ts) — and the validator's sign state is
 * written before any vote that depends on it. A restart reads it all back.
 */
import { encodeFinalizedBlock, encodeSignState } from '../../core/chain/tx-encoding.js'
import { ReceiptsCodec, SignStateCodec } from '../../core/codec/index.js'
import { encodeReceipts } from '../../core/codec/splice.js'
import type { RestoredChain } from '../../core/consensus/core.js'
import type { PersistOp } from '../../core/consensus/types.js'
import { fromHex, toHex } from '../../core/crypto/hash.js'
import {
  decodeAccount,
  decodeUnclaimed,
  encodeAccount,
  encodeUnclaimed,
} from '../../core/state/records.js'
import type { Store, WriteBatch } from '../store/index.js'
import { encodeHead, readHead } from './head.js'
import { poolAccountKey } from './pool-store.js'

export const SIGN_STATE_KEY = 'sign-state'

export function addChainOps(batch: WriteBatch, store: Store, ops: PersistOp[]): void {
  for (const op of ops) {
    if (op.op === 'sign-state') {
      // SignStateCodec's bytes, with a valid block's txs spliced in (tx-encoding.ts)
      batch.put(store.meta, SIGN_STATE_KEY, encodeSignState(op.state))
      continue
    }
    if (op.op !== 'block-final') continue
    const block = op.finalized.block!
    const hash = fromHex(op.hash)
    // FinalizedBlockCodec's bytes, with each tx's own encoding spliced in
    batch.put(store.blocks, op.height, encodeFinalizedBlock(op.finalized))
    batch.put(store.blockHashIndex, hash, op.height)
    // checked as ReceiptsCodec checks, encoded by hand (codec/splice.ts): one or two messages a tx
    ReceiptsCodec.check(op.receipts)
    batch.put(store.receipts, op.height, encodeReceipts(op.receipts))
    const receipts = op.receipts.txs
    for (let index = 0; index < receipts.length; index++)
      batch.put(store.txIndex, receipts[index]!.hash, { height: op.height, index })
    for (const a of op.accounts) batch.put(store.accounts, fromHex(a.address), encodeAccount(a))
    for (const [address, u] of op.unclaimed) {
      if (u.lots.length === 0 && u.expiredGas === 0) batch.del(store.state, fromHex(address))
      else batch.put(store.state, fromHex(address), encodeUnclaimed(u))
    }
    // the committed txs it used up leave the pool bucket through PoolRecords (pool-store.ts)
    for (const a of op.accountDeletes) batch.del(store.pool, poolAccountKey(a))
    batch.put(
      store.meta,
      'head',
      encodeHead({ height: op.height, hash, time: block.header!.time, stateRoot: op.stateRoot }),
    )
    // a new height: what was signed at the old one no longer binds
    batch.del(store.meta, SIGN_STATE_KEY)
  }
}

export async function loadChain(store: Store): Promise<RestoredChain | null> {
  const head = await readHead(store)
  const signBytes = await store.meta.get(SIGN_STATE_KEY)
  const signState = signBytes ? SignStateCodec.decode(signBytes) : null
  if (head == null) {
    return signState
      ? {
          head: { height: 0, hash: new Uint8Array(32), time: 0, stateRoot: new Uint8Array(32) },
          accounts: [],
          unclaimed: [],
          signState,
        }
      : null
  }
  const accounts = []
  for await (const [k, v] of store.accounts.entries()) accounts.push(decodeAccount(toHex(k), v))
  const unclaimed: RestoredChain['unclaimed'] = []
  for await (const [k, v] of store.state.entries()) unclaimed.push([toHex(k), decodeUnclaimed(v)])
  return { head, accounts, unclaimed, signState }
}
