/**
 * The peers a node wants to stay connected to: its bootstrap peers, kept for
 * good, and the peers it learnt by exchange (the `peers` of a Status), which
 * must earn their place. Pure bookkeeping (no libp2p, no clock of its own),
 * so the rules are unit-tested; PeerManager dials what `due` returns.
 *
 * Peer exchange on a peer's word alone would let any peer make us dial any
 * address, and fill the table for good. So an exchanged entry comes with
 * proof: the peer's own signed peer record (a libp2p envelope, its addresses
 * signed by its key) that must open and certify for the peer id it claims,
 * and only the record's addresses are dialled. The one exception is a
 * genesis validator: its peer id is known, so dialling it on unsigned
 * addresses can only reach it (Noise authenticates the id) or fail.
 */
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { MAX_PEER_ADDRS, MAX_PEER_RECORD_BYTES, type Status } from '../../core/codec/index.js'
import { bytesEqual } from '../../core/crypto/hash.js'
import { peerIdToString } from '../../core/crypto/peer-id.js'
import { peerIdOfAddr } from '../config/multiaddrs.js'

export const DIAL_BACKOFF_MIN_MS = 1_000
export const DIAL_BACKOFF_MAX_MS = 30_000

/**
 * Entries in the table of wanted peers: 64 (each a few addresses). Eviction:
 * when full, a new exchanged entry replaces the oldest exchanged entry that
 * is not connected; if every exchanged entry is connected the new one is not
 * taken. Bootstrap entries are never evicted (the operator chose them; they
 * count toward the bound but may exceed it). Penalty: none (see the per-source
 * bound: no one peer can fill the table).
 */
export const MAX_WANTED_PEERS = 64
/**
 * Exchanged entries learnt from any one peer that the table holds at once: 8.
 * Eviction: none — beyond it that peer's further entries are not taken, and a
 * place frees when one of its entries leaves (dial failures, another chain,
 * replaced when the table is full). Penalty: none (an honest peer may know
 * many peers). Checked before any record signature is verified, so it also
 * bounds the signature checks one status costs.
 */
export const MAX_PEERS_PER_SOURCE = 8
/**
 * Failed dials after which an exchanged entry is dropped: 3 (bootstrap
 * entries are retried forever, with a backoff capped at DIAL_BACKOFF_MAX_MS).
 * A dropped peer may be learnt again from a later status.
 */
export const MAX_EXCHANGE_DIAL_FAILURES = 3
/**
 * Reputation cost, to the sender of a status, of each peer record in it that
 * does not open and certify, or certifies another peer than the one it is
 * given for. An honest node only passes on records that libp2p's identify
 * certified, so this is never an honest relay's fault.
 */
export const BAD_PEER_RECORD_PENALTY = 2

export interface WantedPeer {
  readonly peerId: string
  readonly addrs: Multiaddr[]
  /** bootstrap peers are retried forever; exchanged ones until MAX_EXCHANGE_DIAL_FAILURES */
  readonly source: 'bootstrap' | 'exchange'
  /** who told us of it (exchange only) */
  readonly learnedFrom: string | null
  /** the addresses come from the peer's own signed record */
  readonly certified: boolean
  failures: number
  nextDialAt: number
  dialing: boolean
}

export interface PeerTableOptions {
  isConnected: (peerId: string) => boolean
  maxEntries?: number
  maxPerSource?: number
  maxFailures?: number
}

export class PeerTable {
  /** in insertion order: the first exchanged entry is the oldest */
  private readonly entries = new Map<string, WantedPeer>()
  /** learnt-from peer → how many of its entries the table holds */
  private readonly perSource = new Map<string, number>()
  private readonly maxEntries: number
  private readonly maxPerSource: number
  private readonly maxFailures: number

  constructor(private readonly opts: PeerTableOptions) {
    this.maxEntries = opts.maxEntries ?? MAX_WANTED_PEERS
    this.maxPerSource = opts.maxPerSource ?? MAX_PEERS_PER_SOURCE
    this.maxFailures = opts.maxFailures ?? MAX_EXCHANGE_DIAL_FAILURES
  }

  get size(): number {
    return this.entries.size
  }

  get(peerId: string): WantedPeer | undefined {
    return this.entries.get(peerId)
  }

  has(peerId: string): boolean {
    return this.entries.has(peerId)
  }

  values(): IterableIterator<WantedPeer> {
    return this.entries.values()
  }

  /** Exchanged entries learnt from `source` held now. */
  learntFrom(source: string): number {
    return this.perSource.get(source) ?? 0
  }

  /** A bootstrap peer: kept for good (it takes over an exchanged entry of the same peer). */
  addBootstrap(peerId: string, addrs: Multiaddr[]): void {
    this.remove(peerId)
    this.entries.set(peerId, entry(peerId, addrs, 'bootstrap', null, false))
  }

  /**
   * Could an exchanged entry for `peerId` learnt from `source` get in now?
   * Cheap: asked before any record signature is checked.
   */
  hasRoomFor(peerId: string, source: string): boolean {
    if (this.entries.has(peerId) || this.learntFrom(source) >= this.maxPerSource) return false
    return this.entries.size < this.maxEntries || this.evictable() != null
  }

  /** Take an exchanged entry, replacing the oldest unconnected one when full; false if no room. */
  addExchanged(peerId: string, addrs: Multiaddr[], source: string, certified: boolean): boolean {
    if (addrs.length === 0 || !this.hasRoomFor(peerId, source)) return false
    if (this.entries.size >= this.maxEntries) {
      const victim = this.evictable()
      if (victim == null) return false
      this.remove(victim.peerId)
    }
    this.entries.set(peerId, entry(peerId, addrs, 'exchange', source, certified))
    this.perSource.set(source, this.learntFrom(source) + 1)
    return true
  }

  /** The oldest exchanged entry that is not connected (nor being dialled), if any. */
  private evictable(): WantedPeer | undefined {
    for (const e of this.entries.values())
      if (e.source === 'exchange' && !e.dialing && !this.opts.isConnected(e.peerId)) return e
    return undefined
  }

  /** Drop an entry (e.g. the peer is on another chain). */
  remove(peerId: string): boolean {
    const e = this.entries.get(peerId)
    if (e == null) return false
    this.entries.delete(peerId)
    if (e.learnedFrom != null) {
      const n = this.learntFrom(e.learnedFrom) - 1
      if (n > 0) this.perSource.set(e.learnedFrom, n)
      else this.perSource.delete(e.learnedFrom)
    }
    return true
  }

  /** The peer is connected: its backoff starts over. */
  connected(peerId: string): void {
    const e = this.entries.get(peerId)
    if (e == null) return
    e.failures = 0
    e.nextDialAt = 0
  }

  /**
   * A dial failed: back off (doubling, capped), or drop an exchanged entry
   * that failed MAX_EXCHANGE_DIAL_FAILURES times.
   */
  dialFailed(peerId: string, now: number): { dropped: boolean; retryInMs: number } {
    const e = this.entries.get(peerId)
    if (e == null) return { dropped: true, retryInMs: 0 }
    e.failures++
    if (e.source === 'exchange' && e.failures >= this.maxFailures) {
      this.remove(peerId)
      return { dropped: true, retryInMs: 0 }
    }
    const retryInMs = Math.min(DIAL_BACKOFF_MAX_MS, DIAL_BACKOFF_MIN_MS * 2 ** (e.failures - 1))
    e.nextDialAt = now + retryInMs
    return { dropped: false, retryInMs }
  }

  /** Entries to dial now: not connected, not being dialled, past their backoff, not refused. */
  due(now: number, isRefused: (peerId: string) => boolean): WantedPeer[] {
    const out: WantedPeer[] = []
    for (const e of this.entries.values()) {
      if (e.dialing || e.nextDialAt > now || isRefused(e.peerId)) continue
      if (this.opts.isConnected(e.peerId)) continue
      out.push(e)
    }
    return out
  }
}

function entry(
  peerId: string,
  addrs: Multiaddr[],
  source: WantedPeer['source'],
  learnedFrom: string | null,
  certified: boolean,
): WantedPeer {
  return {
    peerId,
    addrs,
    source,
    learnedFrom,
    certified,
    failures: 0,
    nextDialAt: 0,
    dialing: false,
  }
}

/**
 * Addresses another machine could dial: no wildcard, no port 0, none naming
 * another peer; at most MAX_PEER_ADDRS.
 */
export function usableAddrs(addrs: Multiaddr[], peerId?: string): Multiaddr[] {
  return addrs
    .filter((a) => {
      const text = a.toString()
      if (text.includes('/0.0.0.0/') || text.includes('/::/') || text.endsWith('/tcp/0'))
        return false
      const named = peerIdOfAddr(a)
      return peerId == null || named == null || named === peerId
    })
    .slice(0, MAX_PEER_ADDRS)
}

export interface OpenedPeerRecord {
  peerId: string
  multiaddrs: Multiaddr[]
  seq: bigint
}

/**
 * Open a libp2p signed peer record given for `peerId`: cheap checks first —
 * the envelope parses, its key is an Ed25519 key (every bftchain node's
 * identity is) whose peer id is `peerId`, its payload is a peer record naming
 * that peer — and only then is the signature verified, for the peer-record
 * domain. Throws otherwise.
 */
export async function openPeerRecord(bytes: Uint8Array, peerId: string): Promise<OpenedPeerRecord> {
  if (bytes.length > MAX_PEER_RECORD_BYTES) throw new Error('peer record too large')
  const envelope = RecordEnvelope.createFromProtobuf(bytes)
  if (envelope.publicKey.type !== 'Ed25519') throw new Error('not an Ed25519 key')
  const signer = peerIdFromPublicKey(envelope.publicKey)
  if (signer.toString() !== peerId) throw new Error('the record is of another peer')
  if (!bytesEqual(envelope.payloadType, PeerRecord.CODEC)) throw new Error('not a peer record')
  const record = PeerRecord.createFromProtobuf(envelope.payload)
  if (!record.peerId.equals(signer))
    throw new Error('the record names another peer than its signer')
  if (!(await envelope.validate(PeerRecord.DOMAIN))) throw new Error('bad signature')
  return { peerId: signer.toString(), multiaddrs: record.multiaddrs, seq: record.seqNumber }
}

export interface LearnContext {
  self: string
  isValidator: (peerId: string) => boolean
  isRefused: (peerId: string) => boolean
  penalize: (peerId: string, amount: number, reason: string) => void
  /** default openPeerRecord */
  openRecord?: (bytes: Uint8Array, peerId: string) => Promise<OpenedPeerRecord>
}

export interface LearnOutcome {
  /** entries taken, by kind of proof */
  certified: number
  validators: number
  /** entries not taken: no record and not a validator */
  unsigned: number
  /** records that did not certify (each penalised) */
  badRecords: number
  /** entries not looked at: known, refused, ourselves, no room */
  skipped: number
}

/**
 * Peer exchange: take what a status's `peers` tell of, from `from` (the peer
 * that sent the status), into the table — in the order cheap checks first,
 * signatures last, and only while there is room for that peer's entries.
 */
export async function learnPeers(
  table: PeerTable,
  from: string,
  peers: Status['peers'],
  ctx: LearnContext,
): Promise<LearnOutcome> {
  const open = ctx.openRecord ?? openPeerRecord
  const out: LearnOutcome = { certified: 0, validators: 0, unsigned: 0, badRecords: 0, skipped: 0 }
  for (const p of peers) {
    let id: string
    try {
      id = peerIdToString(p.peerId)
    } catch {
      out.skipped++
      continue
    }
    if (id === ctx.self || ctx.isRefused(id) || !table.hasRoomFor(id, from)) {
      out.skipped++
      continue
    }
    let addrs: Multiaddr[] = []
    let certified = false
    if (p.record != null) {
      try {
        const opened = await open(p.record, id)
        if (opened.peerId !== id) throw new Error('the record is of another peer')
        addrs = usableAddrs(opened.multiaddrs, id)
        certified = true
      } catch (err) {
        out.badRecords++
        ctx.penalize(
          from,
          BAD_PEER_RECORD_PENALTY,
          `status: bad peer record: ${(err as Error).message}`,
        )
      }
    }
    if (!certified) {
      if (!ctx.isValidator(id)) {
        out.unsigned++
        continue
      }
      addrs = usableAddrs(parseAddrs(p.addrs), id)
    }
    // the table may have changed while a signature was checked: addExchanged checks again
    if (table.addExchanged(id, addrs, from, certified)) {
      if (certified) out.certified++
      else out.validators++
    } else out.skipped++
  }
  return out
}

function parseAddrs(raw: Uint8Array[]): Multiaddr[] {
  const addrs: Multiaddr[] = []
  for (const a of raw) {
    try {
      addrs.push(multiaddr(a))
    } catch {
      /* a bad address from a peer is skipped, not fatal */
    }
  }
  return addrs
}
