/**
 * Peer exchange's table and its learning rules (src/node/p2p/peer-table.ts):
 * at most 8 entries from any one peer, only certified addresses for
 * non-validators (a bad record costs its sender), exchanged entries dropped
 * after 3 failed dials, the oldest unconnected exchanged entry replaced when
 * the table is full, bootstrap entries kept for good.
 */
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import type { PeerAddress } from '../../src/core/codec/index.js'
import { sha256 } from '../../src/core/crypto/hash.js'
import { peerIdFromString as peerIdBytes } from '../../src/core/crypto/peer-id.js'
import {
  BAD_PEER_RECORD_PENALTY,
  DIAL_BACKOFF_MIN_MS,
  type LearnContext,
  learnPeers,
  MAX_EXCHANGE_DIAL_FAILURES,
  MAX_PEERS_PER_SOURCE,
  MAX_WANTED_PEERS,
  openPeerRecord,
  PeerTable,
  usableAddrs,
} from '../../src/node/p2p/peer-table.js'

interface TestPeer {
  key: Ed25519PrivateKey
  id: string
}

async function peer(label: string): Promise<TestPeer> {
  const key = await generateKeyPairFromSeed(
    'Ed25519',
    sha256(new TextEncoder().encode(`peer-table:${label}`)),
  )
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

async function recordOf(p: TestPeer, addrs: string[], signer = p): Promise<Uint8Array> {
  const record = new PeerRecord({
    peerId: peerIdFromPrivateKey(p.key),
    multiaddrs: addrs.map((a) => multiaddr(a)),
  })
  const envelope = await RecordEnvelope.seal(record, signer.key)
  return envelope.marshal()
}

const bytesOf = (a: string) => multiaddr(a).bytes

function context(
  over: Partial<LearnContext> = {},
): LearnContext & { penalties: { peerId: string; amount: number }[] } {
  const penalties: { peerId: string; amount: number }[] = []
  return {
    self: 'self',
    isValidator: () => false,
    isRefused: () => false,
    penalize: (peerId, amount) => penalties.push({ peerId, amount }),
    penalties,
    ...over,
  }
}

const A = 'sender-a'
const B = 'sender-b'

describe('peer exchange bounds', () => {
  it('has the documented bounds', () => {
    expect(MAX_WANTED_PEERS).toBe(64)
    expect(MAX_PEERS_PER_SOURCE).toBe(8)
    expect(MAX_EXCHANGE_DIAL_FAILURES).toBe(3)
  })

  it('64 bogus peers from one peer fill at most 8 entries, and unsigned ones are never dialled', async () => {
    const table = new PeerTable({ isConnected: () => false })
    const unsigned: PeerAddress[] = []
    const signed: PeerAddress[] = []
    for (let i = 0; i < 32; i++) {
      const p = await peer(`bogus-${i}`)
      unsigned.push({ peerId: peerIdBytes(p.id), addrs: [bytesOf(`/ip4/10.0.0.${i}/tcp/4001`)] })
      signed.push({
        peerId: peerIdBytes(p.id),
        // what the sender claims, unsigned, and what the peer signed: only the latter counts
        addrs: [bytesOf(`/ip4/10.9.9.${i}/tcp/4001`)],
        record: await recordOf(p, [`/ip4/10.1.0.${i}/tcp/4001`]),
      })
    }
    const ctx = context()
    // two statuses (a status carries at most 32 peers)
    const first = await learnPeers(table, A, unsigned, ctx)
    expect(first).toMatchObject({ certified: 0, unsigned: 32 })
    expect(table.size).toBe(0)
    await learnPeers(table, A, signed, ctx)
    expect(table.size).toBe(MAX_PEERS_PER_SOURCE)
    expect(table.learntFrom(A)).toBe(MAX_PEERS_PER_SOURCE)
    expect(ctx.penalties).toEqual([])

    const dialled = table.due(0, () => false).flatMap((e) => e.addrs.map(String))
    expect(dialled).toHaveLength(8)
    expect(dialled.every((a) => a.startsWith('/ip4/10.1.0.'))).toBe(true)
    expect(table.due(0, () => false).every((e) => e.certified && e.learnedFrom === A)).toBe(true)

    // another peer has its own 8
    const more: PeerAddress[] = []
    for (let i = 0; i < 10; i++) {
      const p = await peer(`from-b-${i}`)
      more.push({
        peerId: peerIdBytes(p.id),
        addrs: [],
        record: await recordOf(p, [`/ip4/10.2.0.${i}/tcp/4001`]),
      })
    }
    await learnPeers(table, B, more, ctx)
    expect(table.learntFrom(B)).toBe(8)
    expect(table.size).toBe(16)
  })

  it('checks no signature once a sender has no room left', async () => {
    const table = new PeerTable({ isConnected: () => false })
    let opened = 0
    const ctx = context({
      openRecord: (bytes, id) => {
        opened++
        return openPeerRecord(bytes, id)
      },
    })
    const peers: PeerAddress[] = []
    for (let i = 0; i < 20; i++) {
      const p = await peer(`quota-${i}`)
      peers.push({
        peerId: peerIdBytes(p.id),
        addrs: [],
        record: await recordOf(p, ['/ip4/10.3.0.1/tcp/1']),
      })
    }
    await learnPeers(table, A, peers, ctx)
    expect(opened).toBe(MAX_PEERS_PER_SOURCE)
    // known entries are not checked again either
    await learnPeers(table, B, peers.slice(0, 8), ctx)
    expect(opened).toBe(MAX_PEERS_PER_SOURCE)
  })

  it('a record that does not certify, or is of another peer, costs the sender and is not taken', async () => {
    const table = new PeerTable({ isConnected: () => false })
    const x = await peer('x')
    const y = await peer('y')
    const good = await recordOf(x, ['/ip4/10.4.0.1/tcp/1'])
    const k1Key = await generateKeyPair('secp256k1')
    const k1Record = (
      await RecordEnvelope.seal(
        new PeerRecord({
          peerId: peerIdFromPrivateKey(k1Key),
          multiaddrs: [multiaddr('/ip4/10.4.0.9/tcp/1')],
        }),
        k1Key,
      )
    ).marshal()
    const tampered = new Uint8Array(good)
    tampered[tampered.length - 1]! ^= 0xff
    const ctx = context()
    const out = await learnPeers(
      table,
      A,
      [
        { peerId: peerIdBytes(x.id), addrs: [], record: tampered },
        // y's own valid record, passed off as x's
        {
          peerId: peerIdBytes(x.id),
          addrs: [],
          record: await recordOf(y, ['/ip4/10.4.0.2/tcp/1']),
        },
        // a record of x signed by y
        {
          peerId: peerIdBytes(x.id),
          addrs: [],
          record: await recordOf(x, ['/ip4/10.4.0.3/tcp/1'], y),
        },
        { peerId: peerIdBytes(y.id), addrs: [], record: new Uint8Array([1, 2, 3]) },
        // a valid record, but of a secp256k1 key (no bftchain node has one; a status names
        // Ed25519 peer ids only), given for x
        { peerId: peerIdBytes(x.id), addrs: [], record: k1Record },
      ],
      ctx,
    )
    expect(out.badRecords).toBe(5)
    expect(table.size).toBe(0)
    expect(ctx.penalties).toEqual(Array(5).fill({ peerId: A, amount: BAD_PEER_RECORD_PENALTY }))
    // the real one is taken
    await learnPeers(table, A, [{ peerId: peerIdBytes(x.id), addrs: [], record: good }], ctx)
    expect(table.get(x.id)).toMatchObject({ certified: true, learnedFrom: A })
    expect(table.get(x.id)!.addrs.map(String)).toEqual(['/ip4/10.4.0.1/tcp/1'])
  })

  it('a genesis validator is dialled on unsigned addresses; ourselves and refused peers never', async () => {
    const table = new PeerTable({ isConnected: () => false })
    const v = await peer('validator')
    const me = await peer('me')
    const banned = await peer('banned')
    const ctx = context({
      self: me.id,
      isValidator: (id) => id === v.id || id === banned.id,
      isRefused: (id) => id === banned.id,
    })
    const entries = [v, me, banned].map((p) => ({
      peerId: peerIdBytes(p.id),
      addrs: [bytesOf('/ip4/10.5.0.1/tcp/1'), bytesOf('/ip4/0.0.0.0/tcp/1')],
    }))
    const out = await learnPeers(table, A, entries, ctx)
    expect(out).toMatchObject({ validators: 1, skipped: 2 })
    expect([...table.values()].map((e) => e.peerId)).toEqual([v.id])
    // the wildcard address is not dialled
    expect(table.get(v.id)).toMatchObject({ certified: false })
    expect(table.get(v.id)!.addrs.map(String)).toEqual(['/ip4/10.5.0.1/tcp/1'])
  })
})

describe('PeerTable', () => {
  const ma = (i: number) => [multiaddr(`/ip4/10.6.0.${i}/tcp/1`)]

  it('drops an exchanged entry after 3 failed dials, freeing its sender a place', () => {
    const table = new PeerTable({ isConnected: () => false })
    table.addBootstrap('boot', ma(0))
    table.addExchanged('x', ma(1), A, true)
    expect(table.dialFailed('x', 0)).toEqual({ dropped: false, retryInMs: DIAL_BACKOFF_MIN_MS })
    expect(table.get('x')!.nextDialAt).toBe(DIAL_BACKOFF_MIN_MS)
    expect(table.due(0, () => false).map((e) => e.peerId)).toEqual(['boot'])
    table.connected('x') // a success starts the count over
    expect(table.get('x')!.failures).toBe(0)
    for (let i = 1; i < MAX_EXCHANGE_DIAL_FAILURES; i++) table.dialFailed('x', 0)
    expect(table.dialFailed('x', 0).dropped).toBe(true)
    expect(table.has('x')).toBe(false)
    expect(table.learntFrom(A)).toBe(0)
    // a bootstrap entry never goes
    for (let i = 0; i < 20; i++) expect(table.dialFailed('boot', 0).dropped).toBe(false)
    expect(table.get('boot')!.nextDialAt).toBe(30_000)
  })

  it('when full, replaces the oldest exchanged entry that is not connected; never a bootstrap one', () => {
    const connected = new Set<string>()
    const table = new PeerTable({
      isConnected: (id) => connected.has(id),
      maxEntries: 4,
      maxPerSource: 10,
    })
    table.addBootstrap('boot', ma(0))
    table.addExchanged('e1', ma(1), A, true)
    table.addExchanged('e2', ma(2), B, true)
    table.addExchanged('e3', ma(3), A, true)
    connected.add('e1')
    expect(table.addExchanged('e4', ma(4), B, true)).toBe(true)
    // e1 is older but connected: e2 went
    expect([...table.values()].map((e) => e.peerId)).toEqual(['boot', 'e1', 'e3', 'e4'])
    expect(table.learntFrom(B)).toBe(1)
    connected.add('e3')
    connected.add('e4')
    // everything exchanged is connected: no room
    expect(table.hasRoomFor('e5', A)).toBe(false)
    expect(table.addExchanged('e5', ma(5), A, true)).toBe(false)
    expect(table.size).toBe(4)
    // an entry being dialled is not replaced either
    connected.delete('e4')
    table.get('e4')!.dialing = true
    expect(table.addExchanged('e5', ma(5), A, true)).toBe(false)
    table.get('e4')!.dialing = false
    expect(table.addExchanged('e5', ma(5), A, true)).toBe(true)
    expect(table.has('boot')).toBe(true)
  })

  it('removes an entry found on another chain, bootstrap or not', () => {
    const table = new PeerTable({ isConnected: () => false })
    table.addBootstrap('boot', ma(0))
    table.addExchanged('x', ma(1), A, true)
    expect(table.remove('x')).toBe(true)
    expect(table.remove('boot')).toBe(true)
    expect(table.size).toBe(0)
    expect(table.learntFrom(A)).toBe(0)
  })

  it('dials only usable addresses of the peer itself', () => {
    const addrs = [
      '/ip4/10.7.0.1/tcp/1',
      '/ip4/0.0.0.0/tcp/1',
      '/ip6/::/tcp/1',
      '/ip4/10.7.0.2/tcp/0',
      '/ip4/10.7.0.3/tcp/1/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
    ].map((a) => multiaddr(a))
    expect(usableAddrs(addrs, '12D3KooWSomeoneElse').map(String)).toEqual(['/ip4/10.7.0.1/tcp/1'])
    expect(usableAddrs(addrs, '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo')).toHaveLength(
      2,
    )
  })
})
