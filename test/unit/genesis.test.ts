import { generateKeyPairSync } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_TIMEOUTS,
  GenesisError,
  genesisHash,
  genesisQuorum,
  genesisTimeMs,
  parseGenesis,
} from '../../src/core/chain/genesis.js'
import { faultTolerance, quorum } from '../../src/core/chain/quorum.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import { addressOf, PeerIdError, toHex } from '../../src/core/crypto/index.js'
import { ed25519Signer, validators } from './fixtures.js'

// ------------------------------------------------------------------ a valid genesis

/** Four validators whose peer ids libp2p made. */
const libp2pIds = await Promise.all(
  [0, 1, 2, 3].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()),
)

const authority = ed25519Signer('authority')
const authorityEntry = {
  address: toHex(addressOf(authority.publicKey)),
  keyType: 'ed25519',
  publicKey: Buffer.from(authority.publicKey).toString('base64'),
  grant: 1_000_000,
}

type Json = Record<string, unknown>

function validGenesis(): Json {
  return {
    chainId: 'bftchain-test',
    genesisTime: '2026-01-01T00:00:00.000Z',
    validators: [...libp2pIds],
    authorities: [{ ...authorityEntry }],
  }
}

/** The GenesisError `fn` throws; fails if it throws anything else or nothing. */
function genesisError(fn: () => unknown): GenesisError {
  try {
    fn()
  } catch (err) {
    if (err instanceof GenesisError) return err
    throw new Error(`expected a GenesisError, got ${String(err)}`)
  }
  throw new Error('expected a GenesisError, but the genesis was accepted')
}

function authorities(g: Json): Json[] {
  return g.authorities as Json[]
}

describe('parseGenesis', () => {
  it('parses a valid genesis and fills in the defaults', () => {
    const g = parseGenesis(validGenesis())
    expect(g.chainId).toBe('bftchain-test')
    expect(g.genesisTime).toBe('2026-01-01T00:00:00.000Z')
    expect(g.validators).toEqual(libp2pIds)
    expect(g.authorities).toEqual([authorityEntry])
    expect(g.gasWindowMs).toBe(0)
    expect(g.timeouts).toEqual(DEFAULT_TIMEOUTS)
    // the defaults are a copy: changing one genesis cannot change another
    expect(g.timeouts).not.toBe(DEFAULT_TIMEOUTS)
    expect(genesisQuorum(g)).toBe(3)
    expect(genesisTimeMs(g)).toBe(Date.UTC(2026, 0, 1))
  })

  it('fills in keyType ed25519 and an empty authority list', () => {
    const source = validGenesis()
    const { keyType: _, ...withoutKeyType } = authorityEntry
    source.authorities = [withoutKeyType]
    expect(parseGenesis(source).authorities[0]?.keyType).toBe('ed25519')
    delete source.authorities
    expect(parseGenesis(source).authorities).toEqual([])
  })

  it('keeps explicit timeouts and gasWindowMs', () => {
    const source = {
      ...validGenesis(),
      gasWindowMs: 1_800_000,
      timeouts: { electionMinMs: 50, electionMaxMs: 51, roundMs: 1000 },
    }
    const g = parseGenesis(source)
    expect(g.gasWindowMs).toBe(1_800_000)
    expect(g.timeouts).toEqual({
      ...DEFAULT_TIMEOUTS,
      electionMinMs: 50,
      electionMaxMs: 51,
      roundMs: 1000,
    })
  })

  it('accepts an RSA authority with a matching address', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }) as Buffer)
    const source = validGenesis()
    authorities(source).push({
      address: toHex(addressOf(spki)),
      keyType: 'rsa',
      publicKey: Buffer.from(spki).toString('base64'),
      grant: 0,
    })
    expect(parseGenesis(source).authorities[1]?.keyType).toBe('rsa')
  })

  it('normalises a time with an offset to UTC', () => {
    const g = parseGenesis({ ...validGenesis(), genesisTime: '2026-01-01T09:00:00+09:00' })
    expect(g.genesisTime).toBe('2026-01-01T00:00:00.000Z')
  })

  const rejections: [string, string, (g: Json) => unknown][] = [
    ['null', '(root)', () => null],
    ['an array', '(root)', () => []],
    ['a string', '(root)', () => 'genesis'],
    ['an unknown top-level field', 'validator', (g) => ({ ...g, validator: [] })],
    ['a missing chainId', 'chainId', (g) => ({ ...g, chainId: undefined })],
    ['an empty chainId', 'chainId', (g) => ({ ...g, chainId: '' })],
    ['an upper-case chainId', 'chainId', (g) => ({ ...g, chainId: 'BFTChain' })],
    ['a chainId with a slash', 'chainId', (g) => ({ ...g, chainId: 'a/b' })],
    ['a chainId starting with "-"', 'chainId', (g) => ({ ...g, chainId: '-chain' })],
    ['a chainId of 65 characters', 'chainId', (g) => ({ ...g, chainId: 'c'.repeat(65) })],
    ['a numeric chainId', 'chainId', (g) => ({ ...g, chainId: 7 })],
    ['a genesisTime that is no time', 'genesisTime', (g) => ({ ...g, genesisTime: 'soon' })],
    ['an empty genesisTime', 'genesisTime', (g) => ({ ...g, genesisTime: '' })],
    ['a numeric genesisTime', 'genesisTime', (g) => ({ ...g, genesisTime: 1_767_225_600_000 })],
    ['empty validators', 'validators', (g) => ({ ...g, validators: [] })],
    ['validators not an array', 'validators', (g) => ({ ...g, validators: libp2pIds[0] })],
    ['missing validators', 'validators', (g) => ({ ...g, validators: undefined })],
    [
      'an invalid peer id at validators[2]',
      'validators[2]',
      (g) => ({ ...g, validators: libp2pIds.map((id, i) => (i === 2 ? `${id}x` : id)) }),
    ],
    [
      'a number at validators[1]',
      'validators[1]',
      (g) => ({ ...g, validators: libp2pIds.map((id, i) => (i === 1 ? 42 : id)) }),
    ],
    [
      'a duplicate validator',
      'validators[4]',
      (g) => ({ ...g, validators: [...libp2pIds, libp2pIds[1]] }),
    ],
    [
      '257 validators',
      'validators',
      (g) => ({ ...g, validators: validators(257).map((v) => v.peerIdString) }),
    ],
    ['authorities not an array', 'authorities', (g) => ({ ...g, authorities: {} })],
    ['an authority that is not an object', 'authorities[0]', (g) => ({ ...g, authorities: ['x'] })],
    [
      'an authority address not matching its key',
      'authorities[0].address',
      (g) => {
        authorities(g)[0] = {
          ...authorityEntry,
          address: toHex(addressOf(ed25519Signer('someone else').publicKey)),
        }
        return g
      },
    ],
    [
      'an authority address in upper case',
      'authorities[0].address',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, address: authorityEntry.address.toUpperCase() }
        return g
      },
    ],
    [
      'an authority publicKey of 31 bytes',
      'authorities[0].publicKey',
      (g) => {
        authorities(g)[0] = {
          ...authorityEntry,
          publicKey: Buffer.alloc(31, 1).toString('base64'),
        }
        return g
      },
    ],
    [
      'an authority publicKey that is not a string',
      'authorities[0].publicKey',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, publicKey: 12 }
        return g
      },
    ],
    [
      'an ed25519 authority key declared as rsa',
      'authorities[0].publicKey',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, keyType: 'rsa' }
        return g
      },
    ],
    [
      'an unknown keyType',
      'authorities[0].keyType',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, keyType: 'secp256k1' }
        return g
      },
    ],
    [
      'a negative grant',
      'authorities[0].grant',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, grant: -1 }
        return g
      },
    ],
    [
      'a fractional grant',
      'authorities[0].grant',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, grant: 0.5 }
        return g
      },
    ],
    [
      'a grant as a string',
      'authorities[0].grant',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, grant: '100' }
        return g
      },
    ],
    [
      'a grant over 2^53',
      'authorities[0].grant',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, grant: 2 ** 53 }
        return g
      },
    ],
    [
      'an unknown authority field',
      'authorities[0].balance',
      (g) => {
        authorities(g)[0] = { ...authorityEntry, balance: 5 }
        return g
      },
    ],
    [
      'a duplicate authority',
      'authorities[1].address',
      (g) => ({ ...g, authorities: [authorityEntry, authorityEntry] }),
    ],
    ['a negative gasWindowMs', 'gasWindowMs', (g) => ({ ...g, gasWindowMs: -1 })],
    ['timeouts not an object', 'timeouts', (g) => ({ ...g, timeouts: 5 })],
    [
      'electionMaxMs equal to electionMinMs',
      'timeouts.electionMaxMs',
      (g) => ({ ...g, timeouts: { electionMinMs: 300, electionMaxMs: 300 } }),
    ],
    [
      'electionMaxMs below electionMinMs',
      'timeouts.electionMaxMs',
      (g) => ({ ...g, timeouts: { electionMinMs: 700 } }),
    ],
    ['a zero roundMs', 'timeouts.roundMs', (g) => ({ ...g, timeouts: { roundMs: 0 } })],
    ['a zero txRoundMs', 'timeouts.txRoundMs', (g) => ({ ...g, timeouts: { txRoundMs: 0 } })],
    [
      'a negative blockIntervalMs',
      'timeouts.blockIntervalMs',
      (g) => ({ ...g, timeouts: { blockIntervalMs: -5 } }),
    ],
    [
      'a timeout over an hour',
      'timeouts.roundMaxMs',
      (g) => ({ ...g, timeouts: { roundMaxMs: 3_600_001 } }),
    ],
    [
      'roundMaxMs below roundMs',
      'timeouts.roundMaxMs',
      (g) => ({ ...g, timeouts: { roundMs: 5000, roundMaxMs: 4000 } }),
    ],
    ['an unknown timeout', 'timeouts.voteMs', (g) => ({ ...g, timeouts: { voteMs: 100 } })],
  ]

  it.each(rejections)('rejects %s with GenesisError(field %s)', (_what, field, make) => {
    const err = genesisError(() => parseGenesis(make(validGenesis())))
    expect(err.field).toBe(field)
    expect(err.message.startsWith(`${field}: `)).toBe(true)
    expect(err.reason.length).toBeGreaterThan(0)
  })

  it('rejects an Ed25519 peer id of another key type (secp256k1) at validators[2]', async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    const source = { ...validGenesis(), validators: [...libp2pIds.slice(0, 2), secp] }
    expect(genesisError(() => parseGenesis(source)).field).toBe('validators[2]')
  })

  // Date.parse reads a date-time without an offset as *local* time (ECMA-262 21.4.3.2) and
  // accepts non-ISO forms ("Jan 1 2026", "1"). The parsed genesisTime, and so the genesis
  // hash, would then depend on the time zone of the machine that reads genesis.json:
  // validators in different zones would compute different chain identities.
  it.each([
    ['no offset', '2026-01-01T00:00:00'],
    ['a space and no offset', '2026-01-01 00:00'],
    ['an English date', 'Jan 1 2026'],
    ['a bare number', '1'],
  ])('rejects a genesisTime with %s (time-zone dependent)', (_what, genesisTime) => {
    const err = genesisError(() => parseGenesis({ ...validGenesis(), genesisTime }))
    expect(err.field).toBe('genesisTime')
  })
})

// ------------------------------------------------------------------ genesis hash

describe('genesisHash', () => {
  const base = genesisHash(parseGenesis(validGenesis()))

  it('is a 32-byte hash, the same for the same genesis', () => {
    expect(base).toHaveLength(32)
    expect(genesisHash(parseGenesis(validGenesis()))).toEqual(base)
  })

  it('does not change with key order, white space or spelled-out defaults', () => {
    const g = validGenesis()
    const reordered = `{
      "authorities": [ { "grant": 1000000, "publicKey": "${authorityEntry.publicKey}",
                          "address": "${authorityEntry.address}" } ],
      "validators": ${JSON.stringify(g.validators, null, 4)},
      "genesisTime":   "2026-01-01T00:00:00.000Z",
      "timeouts": ${JSON.stringify(DEFAULT_TIMEOUTS)},
      "gasWindowMs": 0,
      "chainId": "bftchain-test"
    }`
    expect(genesisHash(parseGenesis(JSON.parse(reordered)))).toEqual(base)
    expect(genesisHash(parseGenesis(JSON.parse(JSON.stringify(g))))).toEqual(base)
    // the same instant written in another form
    expect(
      genesisHash(parseGenesis({ ...g, genesisTime: '2026-01-01T01:00:00.000+01:00' })),
    ).toEqual(base)
  })

  const changes: [string, (g: Json) => Json][] = [
    ['chainId', (g) => ({ ...g, chainId: 'bftchain-test2' })],
    ['genesisTime', (g) => ({ ...g, genesisTime: '2026-01-01T00:00:00.001Z' })],
    ['validator order', (g) => ({ ...g, validators: [...libp2pIds].reverse() })],
    ['one validator fewer', (g) => ({ ...g, validators: libp2pIds.slice(0, 3) })],
    [
      'one validator replaced',
      (g) => ({ ...g, validators: [...libp2pIds.slice(0, 3), validators(1)[0]?.peerIdString] }),
    ],
    ['no authorities', (g) => ({ ...g, authorities: [] })],
    ['a grant', (g) => ({ ...g, authorities: [{ ...authorityEntry, grant: 1_000_001 }] })],
    ['gasWindowMs', (g) => ({ ...g, gasWindowMs: 1 })],
    ...Object.keys(DEFAULT_TIMEOUTS).map(
      (key) =>
        [
          `timeouts.${key}`,
          (g: Json) => ({
            ...g,
            timeouts: {
              ...DEFAULT_TIMEOUTS,
              [key]: DEFAULT_TIMEOUTS[key as keyof typeof DEFAULT_TIMEOUTS] + 1,
            },
          }),
        ] as [string, (g: Json) => Json],
    ),
  ]

  it('does not depend on the time zone of the machine that reads genesis.json', () => {
    // Either every zone rejects the offset-less time, or every zone hashes it the same.
    const source = { ...validGenesis(), genesisTime: '2026-01-01T00:00:00' }
    const saved = process.env.TZ
    const outcomes = new Set<string>()
    const offsets = new Set<number>()
    try {
      for (const tz of ['UTC', 'Asia/Tokyo', 'America/New_York']) {
        process.env.TZ = tz
        offsets.add(new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset())
        try {
          outcomes.add(toHex(genesisHash(parseGenesis(source))))
        } catch (err) {
          if (!(err instanceof GenesisError)) throw err
          outcomes.add('rejected')
        }
      }
    } finally {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    }
    expect(offsets.size, 'this runtime honours TZ changes').toBe(3)
    expect([...outcomes]).toHaveLength(1)
  })

  it.each(changes)('changes when %s changes', (_what, change) => {
    expect(genesisHash(parseGenesis(change(validGenesis())))).not.toEqual(base)
  })

  it('gives every change a different hash', () => {
    const hashes = changes.map(([, change]) =>
      toHex(genesisHash(parseGenesis(change(validGenesis())))),
    )
    expect(new Set([...hashes, toHex(base)]).size).toBe(changes.length + 1)
  })
})

// ------------------------------------------------------------------ quorum

describe('quorum and fault tolerance', () => {
  const expected: [number, number, number][] = [
    [1, 1, 0],
    [2, 2, 0],
    [3, 3, 0],
    [4, 3, 1],
    [5, 4, 1],
    [6, 5, 1],
    [7, 5, 2],
    [8, 6, 2],
    [9, 7, 2],
    [10, 7, 3],
  ]

  it.each(expected)('n = %i: q = %i, f = %i', (n, q, f) => {
    expect(quorum(n)).toBe(q)
    expect(faultTolerance(n)).toBe(f)
  })

  it('two quorums share at least f + 1 validators (one honest), for n up to 100', () => {
    for (let n = 1; n <= 100; n++) {
      const q = quorum(n)
      const f = faultTolerance(n)
      expect(2 * q - n, `n = ${n}`).toBeGreaterThanOrEqual(f + 1)
      // and the honest validators alone make a quorum (liveness)
      expect(n - f, `n = ${n}`).toBeGreaterThanOrEqual(q)
      // f is the largest count that keeps n >= 3f + 1
      expect(n, `n = ${n}`).toBeGreaterThanOrEqual(3 * f + 1)
      expect(n, `n = ${n}`).toBeLessThan(3 * (f + 1) + 1)
    }
  })

  it.each([0, -1, 1.5, Number.NaN])('refuses a validator count of %s', (n) => {
    expect(() => quorum(n)).toThrow(RangeError)
  })
})

// ------------------------------------------------------------------ validator set

describe('ValidatorSet', () => {
  const ids = validators(4)
  const set = new ValidatorSet(ids.map((v) => v.peerIdString))
  const outsider = validators(5)[4]!

  it('knows its size, quorum and f', () => {
    expect(set.size).toBe(4)
    expect(set.quorum).toBe(3)
    expect(set.f).toBe(1)
    expect(set.ids).toEqual(ids.map((v) => v.peerIdString))
  })

  it('has its validators and no one else', () => {
    for (const v of ids) expect(set.has(v.peerIdString)).toBe(true)
    expect(set.has(outsider.peerIdString)).toBe(false)
    expect(set.has('')).toBe(false)
  })

  it('reads each validator public key out of its peer id', () => {
    for (const v of ids) expect(set.publicKey(v.peerIdString)).toEqual(v.signer.publicKey)
    expect(set.publicKey(outsider.peerIdString)).toBeUndefined()
  })

  it('indexes validators in genesis order', () => {
    ids.forEach((v, i) => {
      expect(set.indexOf(v.peerIdString)).toBe(i)
    })
    expect(set.indexOf(outsider.peerIdString)).toBe(-1)
  })

  it('matches libp2p peer ids from a parsed genesis', () => {
    const g = parseGenesis(validGenesis())
    const fromGenesis = new ValidatorSet(g.validators)
    expect(fromGenesis.quorum).toBe(genesisQuorum(g))
    expect(fromGenesis.publicKey(libp2pIds[3] as string)).toHaveLength(32)
  })

  it('keeps its own copy of the ids', () => {
    const list = ids.map((v) => v.peerIdString)
    const own = new ValidatorSet(list)
    list.pop()
    expect(own.ids).toHaveLength(4)
  })

  it('refuses an empty set and invalid peer ids', () => {
    expect(() => new ValidatorSet([])).toThrow(RangeError)
    expect(() => new ValidatorSet(['not-a-peer-id'])).toThrow(PeerIdError)
  })
})
