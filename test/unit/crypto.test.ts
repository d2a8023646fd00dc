import { createHash, generateKeyPairSync, type KeyObject, sign as nodeSign } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import {
  addressOf,
  bytesEqual,
  exportPrivateKey,
  fromHex,
  isEd25519PeerIdBytes,
  isHash,
  KeyError,
  type KeyType,
  listRoot,
  PEER_ID_BYTES,
  PeerIdError,
  peerIdFromPublicKey,
  peerIdFromString,
  peerIdToPublicKey,
  peerIdToString,
  publicKeyObject,
  type Signer,
  SignKind,
  sha256,
  sha256Into,
  shortPeerId,
  sign,
  signerFromPrivateKey,
  signingBytes,
  toHex,
  verify,
} from '../../src/core/crypto/index.js'
import { CHAIN_ID, concatBytes, Xorshift } from './fixtures.js'

const utf8 = new TextEncoder()

function der(key: KeyObject, type: 'pkcs8' | 'spki'): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type }) as Buffer)
}

function rsaKeys(bits: number): { privateKey: Uint8Array; publicKey: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits })
  return { privateKey: der(privateKey, 'pkcs8'), publicKey: der(publicKey, 'spki') }
}

/** DER: a tag, its length, its content. */
function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return concatBytes([tag], len, content)
}

/** An RSA SPKI with a made-up modulus of exactly `bits` bits (parsing does not factor it). */
function rsaSpki(bits: number, e = Uint8Array.of(1, 0, 1)): Uint8Array {
  const n = new Xorshift(bits).bytes(Math.ceil(bits / 8))
  const topBits = bits % 8 || 8
  n[0] = ((n[0] as number) & ((1 << topBits) - 1)) | (1 << (topBits - 1))
  n[n.length - 1] = (n[n.length - 1] as number) | 1
  const modulus = tlv(0x02, (n[0] as number) & 0x80 ? concatBytes([0], n) : n)
  const exponent = tlv(0x02, e)
  const rsaKey = tlv(0x30, concatBytes(modulus, exponent))
  const algorithm = tlv(
    0x30,
    concatBytes(
      [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01], // rsaEncryption
      [0x05, 0x00],
    ),
  )
  return tlv(0x30, concatBytes(algorithm, tlv(0x03, concatBytes([0], rsaKey))))
}

const ed = (() => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const jwk = privateKey.export({ format: 'jwk' })
  return {
    pkcs8: der(privateKey, 'pkcs8'),
    seed: new Uint8Array(Buffer.from(jwk.d as string, 'base64url')),
    raw: der(publicKey, 'spki').subarray(12),
  }
})()
const rsa = rsaKeys(2048)

// ------------------------------------------------------------------ hashing and hex

describe('sha256', () => {
  it('matches the FIPS 180-2 vector for "abc"', () => {
    const h = sha256(utf8.encode('abc'))
    expect(toHex(h)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(h).toHaveLength(32)
    // a fresh 32-byte buffer, not a view of a shared pool
    expect(h.buffer.byteLength).toBe(32)
    expect(isHash(h)).toBe(true)
  })

  it('matches the vector for the empty input', () => {
    expect(toHex(sha256())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(toHex(sha256(new Uint8Array(0)))).toBe(toHex(sha256()))
  })

  it('gives what node:crypto gives on either side of where libsodium hands over to OpenSSL', () => {
    for (const length of [0, 1, 190, 511, 512, 513, 600, 4096, 100_000]) {
      const data = new Xorshift(length + 1).bytes(length)
      const expected = createHash('sha256').update(data).digest('hex')
      expect(toHex(sha256(data)), `${length} bytes`).toBe(expected)
      // into an array at an offset, the bytes around it left alone
      const out = new Uint8Array(40).fill(7)
      sha256Into(out, 4, data)
      expect(toHex(out.subarray(4, 36)), `${length} bytes`).toBe(expected)
      expect([...out.subarray(0, 4), ...out.subarray(36)]).toEqual(new Array(8).fill(7))
    }
  })

  it('hashes several parts as their concatenation', () => {
    expect(sha256(utf8.encode('a'), utf8.encode('bc'))).toEqual(sha256(utf8.encode('abc')))
  })

  it('listRoot is length-prefixed: [] and [x] and [x, y] all differ, order matters', () => {
    const x = sha256(utf8.encode('x'))
    const y = sha256(utf8.encode('y'))
    const roots = [listRoot([]), listRoot([x]), listRoot([x, y]), listRoot([y, x])].map(toHex)
    expect(new Set(roots).size).toBe(4)
    expect(listRoot([x, y])).toEqual(sha256(Uint8Array.of(0, 0, 0, 2), x, y))
  })

  it('isHash accepts only 32 bytes', () => {
    expect(isHash(new Uint8Array(31))).toBe(false)
    expect(isHash(new Uint8Array(33))).toBe(false)
    expect(isHash(undefined)).toBe(false)
  })

  it('bytesEqual compares length and content', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true)
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false)
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false)
  })
})

describe('hex', () => {
  it('round trips bytes through lower-case hex', () => {
    const bytes = new Xorshift(7).bytes(64)
    const hex = toHex(bytes)
    expect(hex).toMatch(/^[0-9a-f]{128}$/)
    expect(fromHex(hex)).toEqual(bytes)
    expect(fromHex('')).toEqual(new Uint8Array(0))
    expect(toHex(Uint8Array.of(0, 1, 0xab, 0xff))).toBe('0001abff')
  })

  it('encodes only the view of a subarray, not its whole buffer', () => {
    const whole = Uint8Array.of(1, 2, 3, 4, 5)
    expect(toHex(whole.subarray(1, 3))).toBe('0203')
  })

  it.each([
    ['upper case', 'ABCD'],
    ['mixed case', 'abCd'],
    ['odd length', 'abc'],
    ['non-hex characters', 'zz'],
    ['a 0x prefix', '0x00'],
    ['white space', 'ab cd'],
    ['a trailing newline', 'abcd\n'],
  ])('fromHex rejects %s', (_what, text) => {
    expect(() => fromHex(text)).toThrow()
  })
})

// ------------------------------------------------------------------ keys and signatures

interface KeyCase {
  type: KeyType
  signer: Signer
  other: Signer
}

const keyCases: [string, KeyCase][] = [
  [
    'ed25519',
    {
      type: 'ed25519',
      signer: signerFromPrivateKey('ed25519', ed.pkcs8),
      other: signerFromPrivateKey('ed25519', sha256(utf8.encode('other'))),
    },
  ],
  [
    'rsa-2048',
    {
      type: 'rsa',
      signer: signerFromPrivateKey('rsa', rsa.privateKey),
      other: signerFromPrivateKey('rsa', rsaKeys(2048).privateKey),
    },
  ],
]

describe.each(keyCases)('%s signatures', (_name, k) => {
  const body = utf8.encode('a tx body')
  const sig = sign(k.signer, CHAIN_ID, SignKind.Tx, body)

  it('verify accepts what sign made, deterministically', () => {
    expect(verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, body, sig)).toBe(true)
    expect(sign(k.signer, CHAIN_ID, SignKind.Tx, body)).toEqual(sig)
    if (k.type === 'ed25519') expect(sig).toHaveLength(64)
    else expect(sig).toHaveLength(256)
  })

  it('rejects a modified body', () => {
    const tampered = new Uint8Array(body)
    tampered[0] = (tampered[0] as number) ^ 1
    expect(verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, tampered, sig)).toBe(false)
    expect(
      verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, concatBytes(body, [0]), sig),
    ).toBe(false)
    expect(verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, body.subarray(1), sig)).toBe(
      false,
    )
  })

  it('rejects a modified signature at every byte', () => {
    for (const at of [0, 1, sig.length >> 1, sig.length - 1]) {
      const bad = new Uint8Array(sig)
      bad[at] = (bad[at] as number) ^ 0x80
      expect(verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, body, bad), `${at}`).toBe(
        false,
      )
    }
    expect(
      verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, body, sig.subarray(0, -1)),
    ).toBe(false)
    expect(
      verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, body, concatBytes(sig, [0])),
    ).toBe(false)
  })

  it('rejects the right signature under the wrong key', () => {
    expect(verify(k.type, k.other.publicKey, CHAIN_ID, SignKind.Tx, body, sig)).toBe(false)
  })

  it('rejects the signature on another chain', () => {
    expect(verify(k.type, k.signer.publicKey, 'other-chain', SignKind.Tx, body, sig)).toBe(false)
    expect(verify(k.type, k.signer.publicKey, `${CHAIN_ID}x`, SignKind.Tx, body, sig)).toBe(false)
  })

  it('rejects the signature as any other kind of message', () => {
    for (const kind of Object.values(SignKind)) {
      if (kind === SignKind.Tx) continue
      expect(verify(k.type, k.signer.publicKey, CHAIN_ID, kind, body, sig), kind).toBe(false)
    }
  })

  it('rejects the public key presented as the other key type', () => {
    const wrongType: KeyType = k.type === 'ed25519' ? 'rsa' : 'ed25519'
    expect(verify(wrongType, k.signer.publicKey, CHAIN_ID, SignKind.Tx, body, sig)).toBe(false)
  })

  it('never throws on garbage keys or signatures: it returns false', () => {
    const rng = new Xorshift(k.type === 'ed25519' ? 1 : 2)
    const keys = [
      new Uint8Array(0),
      new Uint8Array(32),
      new Uint8Array(31),
      rng.bytes(32),
      rng.bytes(33),
      rng.bytes(294),
      rng.bytes(5000),
      k.signer.publicKey.subarray(0, -1),
    ]
    const sigs = [new Uint8Array(0), new Uint8Array(64), rng.bytes(63), rng.bytes(256), sig]
    for (const key of keys) {
      for (const s of sigs) {
        for (const type of ['ed25519', 'rsa'] as const) {
          expect(verify(type, key, CHAIN_ID, SignKind.Tx, body, s)).toBe(false)
        }
      }
    }
    for (let i = 0; i < 200; i++) {
      const s = rng.bytes(1 + rng.int(600))
      expect(verify(k.type, k.signer.publicKey, CHAIN_ID, SignKind.Tx, body, s)).toBe(false)
    }
  })

  it('addressOf is the sha256 of the public key bytes', () => {
    expect(addressOf(k.signer.publicKey)).toEqual(sha256(k.signer.publicKey))
    expect(toHex(addressOf(k.signer.publicKey))).toHaveLength(64)
    expect(addressOf(k.other.publicKey)).not.toEqual(addressOf(k.signer.publicKey))
  })

  it('exports its private key as PKCS#8 DER that loads into the same signer', () => {
    const again = signerFromPrivateKey(k.type, exportPrivateKey(k.signer))
    expect(again.publicKey).toEqual(k.signer.publicKey)
    expect(sign(again, CHAIN_ID, SignKind.Tx, body)).toEqual(sig)
  })
})

describe('signerFromPrivateKey', () => {
  it('reads Ed25519 PKCS#8 DER, with the raw 32-byte public key', () => {
    const s = signerFromPrivateKey('ed25519', ed.pkcs8)
    expect(s.type).toBe('ed25519')
    expect(s.publicKey).toEqual(ed.raw)
    expect(s.publicKey).toHaveLength(32)
  })

  it('reads the 32-byte Ed25519 seed form, giving the same key as PKCS#8', () => {
    expect(ed.seed).toHaveLength(32)
    const fromSeed = signerFromPrivateKey('ed25519', ed.seed)
    expect(fromSeed.publicKey).toEqual(ed.raw)
    expect(exportPrivateKey(fromSeed)).toEqual(ed.pkcs8)
    const body = utf8.encode('seed')
    const sig = sign(fromSeed, CHAIN_ID, SignKind.Login, body)
    expect(verify('ed25519', ed.raw, CHAIN_ID, SignKind.Login, body, sig)).toBe(true)
  })

  it('reads RSA PKCS#8 DER, with the SPKI DER public key', () => {
    const s = signerFromPrivateKey('rsa', rsa.privateKey)
    expect(s.type).toBe('rsa')
    expect(s.publicKey).toEqual(rsa.publicKey)
    expect(publicKeyObject('rsa', s.publicKey).asymmetricKeyDetails?.modulusLength).toBe(2048)
  })

  it('rejects RSA keys under 2048 bits, for signing and for verifying', () => {
    const small = rsaKeys(1024)
    expect(() => signerFromPrivateKey('rsa', small.privateKey)).toThrow(KeyError)
    expect(() => publicKeyObject('rsa', small.publicKey)).toThrow(KeyError)
    // a genuine 1024-bit signature over the right bytes still does not verify
    const body = utf8.encode('weak')
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
    const weakSig = new Uint8Array(
      nodeSign('sha256', signingBytes(CHAIN_ID, SignKind.Tx, body), weak.privateKey),
    )
    expect(verify('rsa', der(weak.publicKey, 'spki'), CHAIN_ID, SignKind.Tx, body, weakSig)).toBe(
      false,
    )
  })

  it.each([
    [2047, false],
    [2048, true],
    [4096, true],
    [4097, false],
    [8192, false],
  ])('reads an RSA public key of %i bits: %s', (bits, ok) => {
    const spki = rsaSpki(bits)
    if (ok) expect(publicKeyObject('rsa', spki).asymmetricKeyDetails?.modulusLength).toBe(bits)
    else expect(() => publicKeyObject('rsa', spki)).toThrow(KeyError)
  })

  it('reads only RSA keys with the public exponent 65537 (a huge one makes every check dear)', () => {
    expect(() => publicKeyObject('rsa', rsaSpki(2048, Uint8Array.of(3)))).toThrow(/65537/)
    const huge = new Uint8Array(256).fill(0x7f)
    huge[255] = 0xff
    expect(() => publicKeyObject('rsa', rsaSpki(2048, huge))).toThrow(/65537/)
    // and a signature under such a key never verifies
    const e3 = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 })
    const body = utf8.encode('cheap to make, dear to check')
    const sig = new Uint8Array(
      nodeSign('sha256', signingBytes(CHAIN_ID, SignKind.Tx, body), e3.privateKey),
    )
    expect(verify('rsa', der(e3.publicKey, 'spki'), CHAIN_ID, SignKind.Tx, body, sig)).toBe(false)
  })

  it('the verified-signature cache tells (key, signature) apart from a shifted split of them', () => {
    const signer = signerFromPrivateKey('rsa', rsa.privateKey)
    const body = utf8.encode('cached once')
    const sig = sign(signer, CHAIN_ID, SignKind.Tx, body)
    expect(verify('rsa', signer.publicKey, CHAIN_ID, SignKind.Tx, body, sig)).toBe(true)
    // the key with the signature's first byte moved onto it, the signature one byte short:
    // the same bytes end to end, a different (key, signature) pair, and no valid signature
    const shiftedKey = concatBytes(signer.publicKey, sig.subarray(0, 1))
    const shortSig = sig.subarray(1)
    expect(verify('rsa', shiftedKey, CHAIN_ID, SignKind.Tx, body, shortSig)).toBe(false)
    const truncated = sig.subarray(0, sig.length - 1)
    expect(verify('rsa', signer.publicKey, CHAIN_ID, SignKind.Tx, body, truncated)).toBe(false)
  })

  it.each([
    ['empty bytes', 'ed25519', new Uint8Array(0)],
    ['random bytes', 'ed25519', new Xorshift(3).bytes(48)],
    ['a 31-byte seed', 'ed25519', new Uint8Array(31).fill(1)],
    ['a 33-byte seed', 'ed25519', new Uint8Array(33).fill(1)],
    ['truncated PKCS#8', 'ed25519', ed.pkcs8.subarray(0, -1)],
    ['empty bytes', 'rsa', new Uint8Array(0)],
    ['random bytes', 'rsa', new Xorshift(4).bytes(1200)],
    ['truncated PKCS#8', 'rsa', rsa.privateKey.subarray(0, 600)],
    ['a 32-byte "seed"', 'rsa', new Uint8Array(32).fill(1)],
    ['an SPKI public key', 'rsa', rsa.publicKey],
  ] as [string, KeyType, Uint8Array][])('rejects %s as %s with KeyError', (_what, type, bytes) => {
    expect(() => signerFromPrivateKey(type, bytes)).toThrow(KeyError)
  })

  it('rejects a key of the wrong type with KeyError', () => {
    expect(() => signerFromPrivateKey('rsa', ed.pkcs8)).toThrow(KeyError)
    expect(() => signerFromPrivateKey('ed25519', rsa.privateKey)).toThrow(KeyError)
    const p256 = der(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'pkcs8')
    expect(() => signerFromPrivateKey('ed25519', p256)).toThrow(KeyError)
    expect(() => signerFromPrivateKey('rsa', p256)).toThrow(KeyError)
    const x25519 = der(generateKeyPairSync('x25519').privateKey, 'pkcs8')
    expect(() => signerFromPrivateKey('ed25519', x25519)).toThrow(KeyError)
  })

  it('publicKeyObject rejects malformed keys with KeyError', () => {
    expect(() => publicKeyObject('ed25519', new Uint8Array(31))).toThrow(KeyError)
    expect(() => publicKeyObject('ed25519', rsa.publicKey)).toThrow(KeyError)
    expect(() => publicKeyObject('rsa', ed.raw)).toThrow(KeyError)
    expect(() => publicKeyObject('rsa', new Xorshift(5).bytes(294))).toThrow(KeyError)
    const ec = der(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 'spki')
    expect(() => publicKeyObject('rsa', ec)).toThrow(KeyError)
  })
})

describe('signingBytes', () => {
  const body = Uint8Array.of(9, 9)

  it('lays out len(chainId) chainId len(kind) kind body', () => {
    expect(signingBytes('ab', 'c' as SignKind, body)).toEqual(
      Uint8Array.of(2, 0x61, 0x62, 1, 0x63, 9, 9),
    )
  })

  it('is unambiguous: chainId "ab" kind "c" differs from chainId "a" kind "bc"', () => {
    const a = signingBytes('ab', 'c' as SignKind, body)
    const b = signingBytes('a', 'bc' as SignKind, body)
    expect(a).not.toEqual(b)
    // without the length prefixes both would read "abc" + body
    expect(a.subarray(1)).not.toEqual(b.subarray(1))
    // and the boundary between kind and body is fixed too
    expect(signingBytes('a', 'b' as SignKind, Uint8Array.of(0x63))).not.toEqual(
      signingBytes('a', 'bc' as SignKind, new Uint8Array(0)),
    )
  })

  it('so a signature for one split never verifies for the other', () => {
    const s = signerFromPrivateKey('ed25519', ed.seed)
    const sig = sign(s, 'ab', 'c' as SignKind, body)
    expect(verify('ed25519', s.publicKey, 'ab', 'c' as SignKind, body, sig)).toBe(true)
    expect(verify('ed25519', s.publicKey, 'a', 'bc' as SignKind, body, sig)).toBe(false)
  })

  it('counts UTF-8 bytes and refuses chain ids over 255 bytes', () => {
    expect(signingBytes('é', SignKind.Tx, body)[0]).toBe(2)
    expect(() => signingBytes('x'.repeat(256), SignKind.Tx, body)).toThrow(RangeError)
    expect(signingBytes('x'.repeat(255), SignKind.Tx, body)[0]).toBe(255)
  })

  it('gives every SignKind a distinct domain', () => {
    const kinds = Object.values(SignKind)
    const encoded = new Set(kinds.map((k) => toHex(signingBytes(CHAIN_ID, k, body))))
    expect(encoded.size).toBe(kinds.length)
  })
})

// ------------------------------------------------------------------ peer ids

describe('peer ids', () => {
  it('agree with libp2p on a real Ed25519 peer id', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey)
    const bytes = peerId.toMultihash().bytes

    expect(bytes).toHaveLength(PEER_ID_BYTES)
    expect(isEd25519PeerIdBytes(bytes)).toBe(true)
    expect(peerIdToString(bytes)).toBe(peerId.toString())
    expect(peerIdToString(bytes)).toMatch(/^12D3KooW/)
    expect(peerIdFromString(peerId.toString())).toEqual(bytes)
    expect(peerIdToPublicKey(bytes)).toEqual(privateKey.publicKey.raw)
    expect(peerIdFromPublicKey(privateKey.publicKey.raw)).toEqual(bytes)
  })

  it('check a signature made with node:crypto from the libp2p key seed', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const id = peerIdFromPrivateKey(privateKey)
    const signer = signerFromPrivateKey('ed25519', privateKey.raw.subarray(0, 32))
    const key = peerIdToPublicKey(peerIdFromString(id.toString()))
    expect(signer.publicKey).toEqual(key)

    const body = utf8.encode('election vote')
    const sig = sign(signer, CHAIN_ID, SignKind.ElectionVote, body)
    expect(verify('ed25519', key, CHAIN_ID, SignKind.ElectionVote, body, sig)).toBe(true)
    expect(verify('ed25519', key, CHAIN_ID, SignKind.ElectionRequest, body, sig)).toBe(false)

    // and libp2p's own signature over the same domain-separated bytes is the same signature
    const viaLibp2p = await privateKey.sign(signingBytes(CHAIN_ID, SignKind.ElectionVote, body))
    expect(new Uint8Array(viaLibp2p)).toEqual(sig)
    // libp2p verifies ours
    expect(
      await privateKey.publicKey.verify(signingBytes(CHAIN_ID, SignKind.ElectionVote, body), sig),
    ).toBe(true)
  })

  it('rejects non-Ed25519 libp2p peer ids with PeerIdError', async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1'))
    expect(() => peerIdFromString(secp.toString())).toThrow(PeerIdError)
    expect(() => peerIdToString(secp.toMultihash().bytes)).toThrow(PeerIdError)
    expect(() => peerIdToPublicKey(secp.toMultihash().bytes)).toThrow(PeerIdError)
    // an RSA peer id is a sha256 multihash ("Qm…"), with no key inside
    const rsaId = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'
    expect(() => peerIdFromString(rsaId)).toThrow(PeerIdError)
  })

  it.each([
    ['empty', ''],
    ['not base58', 'hello world'],
    ['base58 with forbidden characters', '12D3KooW0OIl'],
    ['a multiaddr', '/ip4/127.0.0.1/tcp/4001'],
  ])('rejects %s text with PeerIdError', (_what, text) => {
    expect(() => peerIdFromString(text)).toThrow(PeerIdError)
  })

  it('rejects a truncated, an extended or a CID-form peer id with PeerIdError', async () => {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const text = id.toString()
    expect(peerIdFromString(text)).toHaveLength(PEER_ID_BYTES)
    expect(() => peerIdFromString(text.slice(0, -1))).toThrow(PeerIdError)
    expect(() => peerIdFromString(`${text}1`)).toThrow(PeerIdError)
    expect(() => peerIdFromString(` ${text}`)).toThrow(PeerIdError)
    expect(() => peerIdFromString(id.toCID().toString())).toThrow(PeerIdError)
  })

  it('rejects wrong-size keys and garbage bytes with PeerIdError', () => {
    expect(() => peerIdFromPublicKey(new Uint8Array(31))).toThrow(PeerIdError)
    expect(() => peerIdFromPublicKey(new Uint8Array(33))).toThrow(PeerIdError)
    expect(() => peerIdToString(new Uint8Array(PEER_ID_BYTES))).toThrow(PeerIdError)
    expect(() => peerIdToPublicKey(new Xorshift(6).bytes(PEER_ID_BYTES))).toThrow(PeerIdError)
    const good = peerIdFromPublicKey(ed.raw)
    expect(() => peerIdToString(good.subarray(0, -1))).toThrow(PeerIdError)
    expect(() => peerIdToString(concatBytes(good, [0]))).toThrow(PeerIdError)
  })

  it('shortPeerId keeps the last 6 characters', () => {
    const id = peerIdToString(peerIdFromPublicKey(ed.raw))
    expect(shortPeerId(id)).toBe(`…${id.slice(-6)}`)
    expect(shortPeerId('abc')).toBe('abc')
  })
})
