import { describe, expect, it } from 'vitest'
import { TxCodec, TxKind } from '../../src/core/codec/index.js'
import { Tx } from '../../src/core/codec/messages.js'
import { MAX_REMEMBERED_BYTES } from '../../src/core/codec/repeated-string.js'

// the raw protons codec: the same generated decoder the wire codecs call, without their checks
const encode = (chainId: string): Uint8Array =>
  Tx.encode({
    chainId,
    kind: TxKind.DATA,
    from: new Uint8Array(32).fill(1),
    nonce: 7,
    gas: 1,
    data: new Uint8Array([1, 2, 3]),
    signature: new Uint8Array(64).fill(9),
  })

describe('chain ids read while their bytes repeat (repeated-string.ts)', () => {
  it('decodes every chain id as protons did, repeated, changed, empty or not ASCII', () => {
    for (const id of ['bench', 'bench', 'other', '', 'bench', 'ünï-çødé', 'ünï-çødé', 'x'])
      expect(Tx.decode(encode(id)).chainId).toBe(id)
  })

  it('reads bytes that changed since, the same buffer included: what it remembers is a copy', () => {
    const first = encode('devnet-7')
    Tx.decode(first)
    // change the message's buffer after the read: what was remembered is a copy
    const at = first.indexOf(0x64) // 'd'
    first[at] = 0x44 // 'D'
    expect(Tx.decode(first).chainId).toBe('Devnet-7')
    expect(Tx.decode(encode('devnet-7')).chainId).toBe('devnet-7')
  })

  it('reads the rest of the message after a remembered string', () => {
    const a = Tx.decode(encode('chain-a'))
    const b = Tx.decode(encode('chain-a'))
    expect(b).toEqual(a)
    expect(b.nonce).toBe(7)
    expect(b.signature).toEqual(new Uint8Array(64).fill(9))
  })

  it('does not remember a long string, and still decodes it', () => {
    const long = 'a'.repeat(MAX_REMEMBERED_BYTES + 1)
    expect(Tx.decode(encode(long)).chainId).toBe(long)
    expect(Tx.decode(encode(long)).chainId).toBe(long)
    expect(Tx.decode(encode('short')).chainId).toBe('short')
  })

  it('fails on a truncated string as protons does, remembered bytes or not', () => {
    const bytes = encode('bench')
    Tx.decode(bytes)
    // the chain id field (tag, length 5, 'bench') cut inside its bytes
    expect(() => Tx.decode(bytes.subarray(0, 4))).toThrow(RangeError)
    expect(() => TxCodec.decode(bytes.subarray(0, 4))).toThrow()
  })
})
