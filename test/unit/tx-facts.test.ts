/**
 * What a node takes from one encoding of a tx (chain/tx.ts): its size, its hash, its leaf in a
 * block's txRoot and its signed bytes must be exactly what encoding the tx anew gives, whatever
 * the tx holds (empty fields, long data and RSA signatures make multi-byte lengths), and one
 * signature check per object must stand for the key it was made under only.
 */
import { describe, expect, it } from 'vitest'
import { signTx, verifyTx } from '../../src/core/chain/signatures.js'
import { txBody, txEncoding, txHash, txRootLeaf, txSize } from '../../src/core/chain/tx.js'
import { TxBatchWire } from '../../src/core/chain/tx-batch.js'
import { fieldSpans, type Tx, TxBatchCodec, TxCodec, TxKind } from '../../src/core/codec/index.js'
import { sha256, toHex } from '../../src/core/crypto/hash.js'
import { addressOf } from '../../src/core/crypto/keys.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import { accountIdentity, CHAIN_ID, nodeIdentity } from './fixtures.js'

const EMPTY = new Uint8Array(0)
const hex = (b: Uint8Array): string => toHex(b)
const alice = accountIdentity('alice')
const rsa = generateAccountKey('rsa')

function variants(): Tx[] {
  const base = { chainId: CHAIN_ID, kind: TxKind.DATA, from: alice.from, nonce: 0, gas: 0 }
  return [
    signTx(alice.signer, { ...base, data: EMPTY }),
    signTx(alice.signer, { ...base, nonce: 1, gas: 5, data: new Uint8Array([1, 2, 3]) }),
    signTx(alice.signer, { ...base, nonce: 2 ** 40, data: new Uint8Array(200).fill(7) }),
    signTx(alice.signer, { ...base, kind: TxKind.GAS_GRANT, data: new Uint8Array(20_000) }),
    signTx(rsa, { ...base, from: addressOf(rsa.publicKey), data: new Uint8Array([9]) }),
    // not signed at all (a client's malformed tx): no signature field in the encoding
    { ...base, data: new Uint8Array([4]), signature: EMPTY },
  ]
}

describe('a tx’s facts from one encoding', () => {
  it('are what encoding it anew gives: size, hash, txRoot leaf and signed bytes', () => {
    for (const tx of variants()) {
      const bytes = TxCodec.encode(tx)
      const body = TxCodec.encode({ ...tx, signature: EMPTY })
      // the object itself, and a decoded copy (the wire refuses a tx without a signature)
      const copies = tx.signature.length > 0 ? [tx, TxCodec.decode(bytes)] : [tx]
      for (const t of copies) {
        expect(toHex(txBody(t))).toBe(toHex(body))
        expect(txSize(t)).toBe(bytes.length)
        expect(toHex(txHash(t))).toBe(toHex(sha256(body)))
        expect(toHex(txRootLeaf(t))).toBe(toHex(sha256(bytes)))
      }
    }
  })

  it('checks a signature once per object, and only for the key it checked out under', () => {
    const [tx] = variants() as [Tx]
    const copy = TxCodec.decode(TxCodec.encode(tx))
    expect(verifyTx(copy, 'ed25519', alice.signer.publicKey)).toBe(true)
    // remembered: the same answer without the signed bytes (let go of after the check)
    expect(verifyTx(copy, 'ed25519', alice.signer.publicKey)).toBe(true)
    expect(toHex(txBody(copy))).toBe(toHex(TxCodec.encode({ ...tx, signature: EMPTY })))
    // another key is checked for real, and fails
    const bob = accountIdentity('bob')
    expect(verifyTx(copy, 'ed25519', bob.signer.publicKey)).toBe(false)
    // a copy with a forged signature fails, whatever an earlier object's check said
    const forged = { ...copy, signature: new Uint8Array(64).fill(1) }
    expect(verifyTx(forged, 'ed25519', alice.signer.publicKey)).toBe(false)
  })

  it('stay with their object: a copy made by spreading is another tx, with facts of its own', () => {
    const [tx] = variants() as [Tx]
    const hash = toHex(txHash(tx))
    const later = { ...tx, nonce: tx.nonce + 1 }
    expect(toHex(txHash(later))).toBe(toHex(sha256(TxCodec.encode({ ...later, signature: EMPTY }))))
    expect(toHex(txHash(later))).not.toBe(hash)
    expect(toHex(txHash(tx))).toBe(hash)
    // what a tx holds besides its fields is not enumerable: equality sees the fields alone
    expect(
      Object.getOwnPropertySymbols(tx).filter(
        (k) => Object.getOwnPropertyDescriptor(tx, k)?.enumerable,
      ),
    ).toEqual([])
    expect(tx).toStrictEqual(TxCodec.decode(TxCodec.encode(tx)))
    // a frozen tx cannot take a property: its facts are kept apart, and are the same
    const frozen = Object.freeze(TxCodec.decode(TxCodec.encode(tx)))
    expect(toHex(txHash(frozen))).toBe(hash)
    expect(verifyTx(frozen, 'ed25519', alice.signer.publicKey)).toBe(true)
    expect(txSize(frozen)).toBe(txSize(tx))
  })

  it('taken from a batch’s own bytes are what encoding each tx anew gives', () => {
    // signed txs only (the wire refuses a tx without a signature); a 20,000-byte one gives the
    // batch a three-byte length and itself a multi-byte one
    const txs = variants().filter((t) => t.signature.length > 0)
    const batch = {
      target: nodeIdentity('target').peerId,
      seq: 2 ** 33,
      txs,
      signature: new Uint8Array(64).fill(3),
    }
    const bytes = TxBatchCodec.encode(batch)
    const spans = fieldSpans(bytes, 3)
    expect(spans.map((s) => toHex(s))).toEqual(txs.map((t) => toHex(TxCodec.encode(t))))
    const decoded = TxBatchWire.decode(bytes)
    expect(decoded.txs).toHaveLength(txs.length)
    for (const [i, t] of decoded.txs.entries()) {
      const fresh = TxCodec.encode(txs[i]!)
      const body = TxCodec.encode({ ...txs[i]!, signature: EMPTY })
      expect(txSize(t)).toBe(fresh.length)
      expect(toHex(txHash(t))).toBe(toHex(sha256(body)))
      expect(toHex(txRootLeaf(t))).toBe(toHex(sha256(fresh)))
      expect(toHex(txBody(t))).toBe(toHex(body))
    }
    // what the plain codec refuses, the batch path refuses the same way
    const padded = new Uint8Array([...bytes, 0x28, 0x00])
    expect(() => TxBatchWire.decode(padded)).toThrow(/NON_CANONICAL/)
  })

  it('spans: a length-delimited field in wire order, and a throw for bytes it cannot walk', () => {
    // field 1 varint, field 3 twice, a fixed64 and a fixed32 between them
    const bytes = new Uint8Array([
      0x08, 0x96, 0x01, 0x1a, 0x02, 0xaa, 0xbb, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 0x00, 0x1d, 1,
      2, 3, 4, 0x22, 0x01, 0xcc,
    ])
    expect(fieldSpans(bytes, 3).map((s) => toHex(s))).toEqual(['aabb', ''])
    expect(fieldSpans(bytes, 4).map((s) => toHex(s))).toEqual(['cc'])
    expect(() => fieldSpans(new Uint8Array([0x1a, 0x05, 1]), 3)).toThrow(RangeError)
    expect(() => fieldSpans(new Uint8Array([0x0b]), 3)).toThrow(RangeError)
    expect(() => fieldSpans(new Uint8Array([0x08, 0x80]), 3)).toThrow(RangeError)
  })

  it('keeps the encoding of a tx made in memory in an array of its own, not a pooled slice', () => {
    for (const tx of variants()) {
      const bytes = txEncoding(tx)
      expect(hex(bytes)).toBe(hex(TxCodec.encode(tx)))
      expect(bytes.byteLength).toBe(bytes.buffer.byteLength)
    }
  })
})
