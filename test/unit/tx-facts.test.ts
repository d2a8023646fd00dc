/**
 * What a node takes from one encoding of a tx (chain/tx.ts): its size, its hash, its leaf in a
 * block's txRoot and its signed bytes must be exactly what encoding the tx anew gives, whatever
 * the tx holds (empty fields, long data and RSA signatures make multi-byte lengths), and one
 * signature check per object must stand for the key it was made under only.
 */
import { describe, expect, it } from 'vitest'
import { signTx, verifyTx } from '../../src/core/chain/signatures.js'
import { txBody, txHash, txRootLeaf, txSize } from '../../src/core/chain/tx.js'
import { type Tx, TxCodec, TxKind } from '../../src/core/codec/index.js'
import { sha256, toHex } from '../../src/core/crypto/hash.js'
import { addressOf } from '../../src/core/crypto/keys.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import { accountIdentity, CHAIN_ID } from './fixtures.js'

const EMPTY = new Uint8Array(0)
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
})
