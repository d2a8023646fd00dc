/**
 * The messages and records that carry txs, encoded with each tx's own encoding spliced in
 * (chain/tx-encoding.ts), must be byte for byte what their codecs give: the target's batch, the
 * pool record of a committed tx and the final block, with lengths of one, two and three bytes,
 * empty lists and absent fields; and what they give must decode back.
 */
import { describe, expect, it } from 'vitest'
import {
  encodeBlock,
  encodeFinalizedBlock,
  encodePoolTxs,
  encodeTxBatch,
  poolTxSize,
} from '../../src/core/chain/tx-encoding.js'
import {
  type Block,
  FinalizedBlockCodec,
  Phase,
  PoolRecordCodec,
  PoolTxsCodec,
  type Tx,
  TxBatchCodec,
  TxCodec,
  TxKind,
} from '../../src/core/codec/index.js'
import * as M from '../../src/core/codec/messages.js'
import { toHex } from '../../src/core/crypto/hash.js'
import {
  accountIdentity,
  CHAIN_ID,
  hashOf,
  nodeIdentity,
  registrationOf,
  signatureOf,
  signedTx,
} from './fixtures.js'

const alice = accountIdentity('alice')
const target = nodeIdentity('target')

/** txs of 1-byte, 2-byte and 3-byte encoded lengths */
function txs(): Tx[] {
  return [
    signedTx(alice, { data: new Uint8Array(0) }),
    signedTx(alice, { nonce: 1, gas: 3, data: new Uint8Array(300).fill(1) }),
    signedTx(alice, { nonce: 2 ** 40, kind: TxKind.GAS_GRANT, data: new Uint8Array(20_000) }),
  ]
}

function block(list: Tx[], accounts = [registrationOf(alice, 'alice')]): Block {
  return {
    header: {
      chainId: CHAIN_ID,
      height: 7,
      round: 1,
      parentHash: hashOf('parent'),
      proposer: target.peerId,
      time: 1_700_000_000_000,
      txRoot: hashOf('txs'),
      accountsRoot: hashOf('accounts'),
      stateRoot: hashOf('state'),
    },
    txs: list,
    accounts,
  }
}

const hex = (b: Uint8Array): string => toHex(b)

describe('encodings with each tx spliced in', () => {
  it('a batch: what TxBatchCodec gives, and it decodes back', () => {
    for (const list of [txs(), txs().slice(0, 1), Array.from({ length: 40 }, () => txs()[1]!)]) {
      const batch = {
        target: target.peerId,
        seq: 300,
        txs: list,
        signature: signatureOf(target, 'b'),
      }
      const bytes = encodeTxBatch(batch)
      expect(hex(bytes)).toBe(hex(TxBatchCodec.encode(batch)))
      expect(TxBatchCodec.decode(bytes).txs.map((t) => hex(TxCodec.encode(t)))).toEqual(
        list.map((t) => hex(TxCodec.encode(t))),
      )
    }
  })

  it('a write’s record of committed txs: what PoolTxsCodec gives, each record its size', () => {
    const batchHash = hashOf('batch')
    // lengths across the one- and two-byte varints of a tx and of a record
    const big = (n: number) => ({ ...txs()[0]!, data: new Uint8Array(n).fill(7) })
    for (const list of [
      txs(),
      [big(0)],
      [big(60)],
      [big(100)],
      [big(20_000)],
      [...txs(), big(300)],
    ]) {
      const records = list.map((tx) => ({ tx, batch: batchHash }))
      const bytes = encodePoolTxs(records)
      expect(hex(bytes)).toBe(hex(PoolTxsCodec.encode({ txs: records })))
      expect(bytes.length).toBe(records.reduce((a, r) => a + poolTxSize(r), 0))
      const back = PoolTxsCodec.decode(bytes).txs
      expect(back.map((r) => hex(r.batch!))).toEqual(records.map(() => hex(batchHash)))
      expect(back.map((r) => hex(TxCodec.encode(r.tx!)))).toEqual(
        list.map((t) => hex(TxCodec.encode(t))),
      )
      // one record alone is what PoolRecordCodec gives, after its tag and length
      for (const r of records) {
        const one = encodePoolTxs([r])
        const body = PoolRecordCodec.encode(r)
        expect(hex(one.subarray(one.length - body.length))).toBe(hex(body))
      }
    }
  })

  it('a final block: what FinalizedBlockCodec gives, with and without txs and accounts', () => {
    const commitCert = {
      phase: Phase.BLOCK_COMMIT,
      subject: hashOf('block'),
      height: 7,
      round: 1,
      signatures: [{ voter: target.peerId, signature: signatureOf(target, 'c') }],
    }
    for (const b of [block(txs()), block([], []), block(txs(), []), block([], undefined)]) {
      expect(hex(encodeBlock(b))).toBe(hex(M.Block.encode(b)))
      const finalized = { block: b, commitCert }
      const bytes = encodeFinalizedBlock(finalized)
      expect(hex(bytes)).toBe(hex(M.FinalizedBlock.encode(finalized)))
      // a block of 2,000 small txs: the block's own length takes three bytes
      const big = { block: block(Array.from({ length: 2_000 }, () => txs()[0]!)), commitCert }
      expect(hex(encodeFinalizedBlock(big))).toBe(hex(M.FinalizedBlock.encode(big)))
    }
    const finalized = { block: block(txs()), commitCert }
    expect(FinalizedBlockCodec.decode(encodeFinalizedBlock(finalized)).block!.txs).toHaveLength(3)
  })
})
