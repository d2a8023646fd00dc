/**
 * The hand-made encodings of the codec layer (core/codec/splice.ts) against protons' own: a tx in
 * one allocation must give M.Tx.encode's bytes for every tx, plain or not (a tx outside plain
 * values goes to protons), and so must the batch and the final block built from it; the codecs
 * that check a decode is canonical with them still refuse what is not.
 */
import { describe, expect, it, vi } from 'vitest'
import { FinalizedBlockCodec, TxBatchCodec, TxCodec, TxKind } from '../../src/core/codec/index.js'
import * as M from '../../src/core/codec/messages.js'
import {
  encodeFinalizedBlockWith,
  encodeReceipts,
  encodeTx,
  encodeTxBatchWith,
} from '../../src/core/codec/splice.js'
import { toHex } from '../../src/core/crypto/hash.js'
import { hashOf, nodeIdentity, signatureOf } from './fixtures.js'

/** A small deterministic generator (mulberry32), so a failing case can be found again. */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const EDGE_NUMBERS = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1]
const CHAIN_IDS = ['', 'c', 'bftchain-test', 'x'.repeat(64), 'ünï', 'tab\there', '\u{1F600}']

function randomTx(r: () => number): M.Tx {
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
  const bytes = (max: number): Uint8Array =>
    Uint8Array.from({ length: Math.floor(r() * max) }, () => Math.floor(r() * 256))
  return {
    chainId: pick(CHAIN_IDS),
    kind: r() < 0.5 ? TxKind.DATA : TxKind.GAS_GRANT,
    from: r() < 0.1 ? new Uint8Array(0) : bytes(40),
    nonce: r() < 0.5 ? pick(EDGE_NUMBERS) : Math.floor(r() * 1e6),
    gas: r() < 0.5 ? pick(EDGE_NUMBERS) : Math.floor(r() * 1e6),
    data: r() < 0.05 ? bytes(20_000) : bytes(300),
    signature: r() < 0.1 ? new Uint8Array(0) : bytes(300),
  }
}

const hex = (b: Uint8Array): string => toHex(b)

describe('hand-made encodings (codec/splice.ts)', () => {
  it('a tx: M.Tx.encode’s bytes for 3,000 random txs and every edge value', () => {
    const r = rng(7)
    for (let i = 0; i < 3_000; i++) {
      const tx = randomTx(r)
      expect(hex(encodeTx(tx)), JSON.stringify({ i })).toBe(hex(M.Tx.encode(tx)))
    }
    // fields left out, and values protons is left to (negative, fractional, beyond 2^53)
    const odd: Partial<M.Tx>[] = [
      {},
      { chainId: 'c' },
      { nonce: -1 },
      { gas: 1.5 },
      { nonce: 2 ** 60 },
      { kind: TxKind.GAS_GRANT },
    ]
    const outcome = (f: () => Uint8Array): string => {
      try {
        return hex(f())
      } catch (err) {
        return `throws ${(err as Error).name}`
      }
    }
    for (const tx of odd) expect(outcome(() => encodeTx(tx))).toBe(outcome(() => M.Tx.encode(tx)))
  })

  it('a batch and a final block of random txs: the generated codecs’ bytes', () => {
    const r = rng(11)
    const target = nodeIdentity('target')
    for (let i = 0; i < 50; i++) {
      const txs = Array.from({ length: Math.floor(r() * 40) }, () => randomTx(r))
      const batch = {
        target: target.peerId,
        seq: i * 1_000,
        txs,
        signature: signatureOf(target, 'b'),
      }
      expect(hex(encodeTxBatchWith(batch))).toBe(hex(M.TxBatch.encode(batch)))
      const finalized: M.FinalizedBlock = {
        block: {
          header: {
            chainId: 'bftchain-test',
            height: i,
            round: 0,
            parentHash: hashOf('p'),
            proposer: target.peerId,
            time: 1_700_000_000_000 + i,
            txRoot: hashOf('t'),
            accountsRoot: hashOf('a'),
            stateRoot: hashOf('s'),
          },
          txs,
          accounts: [],
        },
        commitCert: {
          phase: M.Phase.BLOCK_COMMIT,
          subject: hashOf('b'),
          height: i,
          round: 0,
          signatures: [{ voter: target.peerId, signature: signatureOf(target, 'c') }],
        },
      }
      expect(hex(encodeFinalizedBlockWith(finalized))).toBe(hex(M.FinalizedBlock.encode(finalized)))
    }
  })

  it('a block’s receipts: M.Receipts.encode’s bytes for 2,000 random ones and every edge value', () => {
    const r = rng(11)
    const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)]!
    const REASONS = ['', 'NONCE_USED', 'INSUFFICIENT_GAS', 'x'.repeat(200), 'ünï', '\u{1F600}']
    const STATUSES = [
      M.ReceiptStatus.OK,
      M.ReceiptStatus.FAILED,
      M.ReceiptStatus.RECEIPT_UNSPECIFIED,
    ]
    const receipt = (): M.Receipt => ({
      hash:
        r() < 0.1
          ? new Uint8Array(0)
          : Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256)),
      status: r() < 0.02 ? STATUSES[2]! : pick(STATUSES.slice(0, 2)),
      reason: r() < 0.05 ? pick(REASONS) : pick(REASONS.slice(0, 4)),
      draws: Array.from({ length: Math.floor(r() * 4) }, () => ({
        index: r() < 0.5 ? pick(EDGE_NUMBERS) : Math.floor(r() * 1e6),
        useGas: r() < 0.5 ? pick(EDGE_NUMBERS) : Math.floor(r() * 1e6),
      })),
    })
    for (let i = 0; i < 2_000; i++) {
      const receipts: M.Receipts = {
        txs: Array.from({ length: Math.floor(r() * 8) }, receipt),
        accounts: Array.from({ length: Math.floor(r() * 3) }, receipt),
      }
      expect(toHex(encodeReceipts(receipts))).toBe(toHex(M.Receipts.encode(receipts)))
    }
    // a block of 2,000 plain receipts, as a final block has: made by hand, not by protons
    const block: M.Receipts = {
      txs: Array.from({ length: 2_000 }, (_, i) => ({
        hash: hashOf(`tx ${i}`),
        status: i % 7 === 0 ? M.ReceiptStatus.FAILED : M.ReceiptStatus.OK,
        reason: i % 7 === 0 ? 'NONCE_USED' : '',
        draws:
          i % 7 === 0
            ? []
            : [
                { index: i, useGas: 21 },
                { index: i + 1, useGas: 2 ** 40 },
              ],
      })),
      accounts: [],
    }
    const protons = vi.spyOn(M.Receipts, 'encode')
    const ours = encodeReceipts(block)
    expect(protons).not.toHaveBeenCalled()
    protons.mockRestore()
    expect(toHex(ours)).toBe(toHex(M.Receipts.encode(block)))
  })

  it('the codecs built on them still refuse a non-canonical encoding', () => {
    const tx: M.Tx = {
      chainId: 'bftchain-test',
      kind: TxKind.DATA,
      from: hashOf('from'),
      nonce: 3,
      gas: 2,
      data: new Uint8Array([1, 2]),
      signature: new Uint8Array(64).fill(9),
    }
    const bytes = TxCodec.encode(tx)
    expect(TxCodec.decode(bytes)).toEqual(tx)
    // the same tx with its nonce as a two-byte varint (0x83 0x00), then with an unknown field
    const nonce = bytes.indexOf(0x20)
    const long = new Uint8Array([
      ...bytes.subarray(0, nonce + 1),
      0x83,
      0x00,
      ...bytes.subarray(nonce + 2),
    ])
    expect(() => TxCodec.decode(long)).toThrow(/NON_CANONICAL/)
    expect(() => TxCodec.decode(new Uint8Array([...bytes, 0x40, 0x01]))).toThrow(/NON_CANONICAL/)
    const target = nodeIdentity('target')
    const batch = TxBatchCodec.encode({
      target: target.peerId,
      seq: 1,
      txs: [tx],
      signature: signatureOf(target, 'b'),
    })
    expect(() => TxBatchCodec.decode(new Uint8Array([...batch, 0x28, 0x00]))).toThrow(
      /NON_CANONICAL/,
    )
    expect(FinalizedBlockCodec.name).toBe('FinalizedBlock')
  })
})
