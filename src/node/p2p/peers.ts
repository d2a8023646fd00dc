/**
 * Who we are connected to and why. Runs the status handshake on every new
 * connection (a peer on another chain is disconnected and never redialled),
 * keeps the bootstrap peers and the peers learnt by exchange connected with
 * a capped exponential backoff, measures latency, and answers the debug
 * view of peers. The table of wanted peers and the rules of peer exchange
 * (bounds, eviction, signed peer records) are in peer-table.ts.
 */
import { EventEmitter } from 'node:events'
import type { ConnectionGater, IdentifyResult, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import {
  MAX_PEER_RECORD_BYTES,
  MAX_STATUS_BYTES,
  MAX_STATUS_PEERS,
  Role,
  type Status,
} from '../../core/codec/index.js'
import { bytesEqual, toHex } from '../../core/crypto/hash.js'
import { peerIdFromString as peerIdBytes, shortPeerId } from '../../core/crypto/peer-id.js'
import { peerIdOfAddr } from '../config/multiaddrs.js'
import type { Logger } from '../log.js'
import type { NodeLibp2p } from './create-libp2p.js'
import { RequestError } from './errors.js'
import type { GossipNetwork } from './gossip.js'
import { learnPeers, PeerTable, usableAddrs } from './peer-table.js'
import { STATUS_PROTOCOL } from './protocols.js'
import type { Reputation } from './reputation.js'
import type { ReqResp } from './reqresp.js'
import { TOPIC_NAMES } from './topics.js'

export {
  DIAL_BACKOFF_MAX_MS,
  DIAL_BACKOFF_MIN_MS,
  MAX_EXCHANGE_DIAL_FAILURES,
  MAX_PEERS_PER_SOURCE,
  MAX_WANTED_PEERS,
} from './peer-table.js'

const KEEPALIVE_TICK_MS = 1_000
const PING_EVERY_MS = 15_000
/** heights move: ask every chain peer for its status this often */
const STATUS_REFRESH_MS = 10_000
/** what the peers of our status may take: the rest of the message is far below 1 KiB */
const STATUS_PEERS_BUDGET = MAX_STATUS_BYTES - 1024
/**
 * Failed dials of a bootstrap peer before it is worth an info line: with the backoff (1 s, 2 s,
 * 4 s) the fourth comes about 7 s after the first, past the time a devnet's nodes take to start.
 */
export const BOOTSTRAP_REPORT_AFTER = 4

/** What a peer told us in its status. */
export interface PeerChainStatus {
  chainId: string
  height: number
  headHash: string
  role: 'validator' | 'observer'
}

export interface PeerView {
  peerId: string
  addrs: string[]
  direction: 'inbound' | 'outbound'
  validator: boolean
  height: number | null
  headHash: string | null
  role: 'validator' | 'observer' | null
  latencyMs: number | null
  score: number
  topics: string[]
}

export interface PeerManagerInit {
  libp2p: NodeLibp2p
  reqresp: ReqResp
  gossip: GossipNetwork
  reputation: Reputation
  log: Logger
  chainId: string
  genesisHash: Uint8Array
  isValidator: (peerId: string) => boolean
  /** our status, for the handshake */
  localStatus: () => Omit<Status, 'peers'>
  bootstrap: string[]
}

export interface PeerManagerEvents {
  /** handshake done: the peer is on our chain */
  'peer:join': [peerId: string, status: PeerChainStatus]
  'peer:leave': [peerId: string]
  /** a peer reported a height above ours */
  'peer:status': [peerId: string, status: PeerChainStatus]
}

export class PeerManager extends EventEmitter<PeerManagerEvents> {
  private readonly libp2p: NodeLibp2p
  private readonly log: Logger
  private readonly wrongChain = new Set<string>()
  private readonly statuses = new Map<string, PeerChainStatus>()
  private readonly latency = new Map<string, number>()
  /** the peers we keep connected: bootstrap and learnt by exchange */
  readonly wanted: PeerTable
  private readonly handshaking = new Set<string>()
  /** where each connected peer says it listens (identify) */
  private readonly listenAddrs = new Map<string, Multiaddr[]>()
  /** each connected peer's own signed peer record (identify stored it), passed on in our status */
  private readonly records = new Map<string, Uint8Array>()
  private timer: NodeJS.Timeout | null = null
  private pingTimer: NodeJS.Timeout | null = null
  private refreshTimer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(private readonly init: PeerManagerInit) {
    super()
    this.libp2p = init.libp2p
    this.log = init.log
    this.wanted = new PeerTable({ isConnected: (id) => this.isConnected(id) })
    const self = init.libp2p.peerId.toString()
    for (const addr of init.bootstrap) {
      const ma = multiaddr(addr)
      const id = peerIdOfAddr(ma)
      if (id == null || id === self) continue
      this.wanted.addBootstrap(id, [ma])
    }
  }

  private isConnected(peerId: string): boolean {
    return this.libp2p.getConnections(peerIdFromString(peerId)).length > 0
  }

  /** The gate libp2p consults: wrong-chain and banned peers are refused both ways. */
  static gater(isRefused: (peerId: string) => boolean): ConnectionGater {
    return {
      denyDialPeer: (peerId: PeerId) => isRefused(peerId.toString()),
      denyInboundEncryptedConnection: (peerId: PeerId) => isRefused(peerId.toString()),
      denyOutboundConnection: (peerId: PeerId) => isRefused(peerId.toString()),
    }
  }

  isRefused(peerId: string): boolean {
    return this.wrongChain.has(peerId) || this.init.reputation.isBanned(peerId)
  }

  async start(): Promise<void> {
    await this.init.reqresp.handle(STATUS_PROTOCOL, (remote, peerId) => {
      this.accept(peerId, remote)
      return this.status()
    })
    this.libp2p.addEventListener('peer:connect', this.onConnect)
    this.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => this.keepAlive(), KEEPALIVE_TICK_MS)
    this.timer.unref()
    this.pingTimer = setInterval(() => this.pingAll(), PING_EVERY_MS)
    this.pingTimer.unref()
    this.refreshTimer = setInterval(() => this.refreshStatuses(), STATUS_REFRESH_MS)
    this.refreshTimer.unref()
    this.keepAlive()
  }

  stop(): void {
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    if (this.pingTimer) clearInterval(this.pingTimer)
    if (this.refreshTimer) clearInterval(this.refreshTimer)
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.removeEventListener('peer:identify', this.onIdentify)
  }

  /**
   * Our status with up to MAX_STATUS_PEERS peers we know how to reach (peer
   * exchange), each with its own signed peer record when libp2p has one: a
   * receiver dials only certified addresses, except a validator's.
   */
  status(): Status {
    const peers: Status['peers'] = []
    let bytes = 0
    for (const id of this.statuses.keys()) {
      if (peers.length >= MAX_STATUS_PEERS) break
      const addrs = this.dialableAddrs(id)
        .slice(0, 4)
        .map((a) => a.bytes)
      const record = this.records.get(id)
      if (addrs.length === 0 && record == null) continue
      const peerId = peerIdBytes(id)
      const size =
        peerId.length + addrs.reduce((n, a) => n + a.length + 2, 0) + (record?.length ?? 0) + 16
      if (bytes + size > STATUS_PEERS_BUDGET) break
      bytes += size
      peers.push(record ? { peerId, addrs, record } : { peerId, addrs })
    }
    return { ...this.init.localStatus(), peers }
  }

  /** Peers that passed the handshake. */
  chainPeers(): string[] {
    return [...this.statuses.keys()]
  }

  peerStatus(peerId: string): PeerChainStatus | undefined {
    return this.statuses.get(peerId)
  }

  views(): PeerView[] {
    const out: PeerView[] = []
    for (const conn of this.libp2p.getConnections()) {
      const peerId = conn.remotePeer.toString()
      if (out.some((v) => v.peerId === peerId)) continue
      const s = this.statuses.get(peerId)
      out.push({
        peerId,
        addrs: [
          ...new Set([
            conn.remoteAddr.toString(),
            ...(this.listenAddrs.get(peerId) ?? []).map(String),
          ]),
        ],
        direction: conn.direction,
        validator: this.init.isValidator(peerId),
        height: s?.height ?? null,
        headHash: s?.headHash ?? null,
        role: s?.role ?? null,
        latencyMs: this.latency.get(peerId) ?? null,
        score: Math.round(this.init.gossip.score(peerId) * 100) / 100,
        topics: TOPIC_NAMES.filter((t) => this.init.gossip.subscribers(t).includes(peerId)),
      })
    }
    return out.sort((a, b) => a.peerId.localeCompare(b.peerId))
  }

  private readonly onConnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail.toString()
    this.wanted.connected(peerId)
    void this.handshake(peerId)
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId } = event.detail
    const id = peerId.toString()
    // only addresses another machine could dial: no wildcard, no port 0
    const usable = usableAddrs(event.detail.listenAddrs, id)
    if (usable.length > 0) this.listenAddrs.set(id, usable.slice(0, 4))
    // identify certified the peer's signed record and stored it: keep it to pass on
    this.libp2p.peerStore
      .get(peerId)
      .then((peer) => {
        const record = peer.peerRecordEnvelope
        if (record == null || record.length > MAX_PEER_RECORD_BYTES || !this.isConnected(id)) return
        this.records.set(id, record)
      })
      .catch(() => {})
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail.toString()
    this.listenAddrs.delete(peerId)
    this.records.delete(peerId)
    if (this.statuses.delete(peerId)) {
      this.log.info('peer left', { peer: shortPeerId(peerId) })
      this.emit('peer:leave', peerId)
    }
    this.latency.delete(peerId)
  }

  private async handshake(peerId: string): Promise<void> {
    if (this.handshaking.has(peerId) || this.stopped) return
    this.handshaking.add(peerId)
    try {
      for (let attempt = 1; attempt <= 2 && !this.stopped; attempt++) {
        try {
          const remote = await this.init.reqresp.request(peerId, STATUS_PROTOCOL, this.status())
          this.accept(peerId, remote)
          return
        } catch (err) {
          if (this.statuses.has(peerId) || this.wrongChain.has(peerId)) return
          if (this.libp2p.getConnections(peerIdFromString(peerId)).length === 0) return
          const code = err instanceof RequestError ? err.code : 'ERROR'
          this.log.debug('status handshake failed', { peer: shortPeerId(peerId), attempt, code })
        }
      }
      if (!this.statuses.has(peerId) && !this.stopped) {
        this.log.info('peer does not answer the status handshake; disconnecting', {
          peer: shortPeerId(peerId),
        })
        await this.libp2p.hangUp(peerIdFromString(peerId)).catch(() => {})
      }
    } finally {
      this.handshaking.delete(peerId)
    }
  }

  /** Check a remote status: same chain, or disconnect and refuse for good. */
  private accept(peerId: string, remote: Status): void {
    if (
      remote.chainId !== this.init.chainId ||
      !bytesEqual(remote.genesisHash, this.init.genesisHash)
    ) {
      if (!this.wrongChain.has(peerId)) {
        this.wrongChain.add(peerId)
        this.wanted.remove(peerId)
        this.log.warn('peer is on another chain; disconnected and refused', {
          peer: shortPeerId(peerId),
          chainId: remote.chainId,
          genesis: toHex(remote.genesisHash).slice(0, 16),
        })
      }
      // after this exchange completes: the remote must get our answer to learn it too
      setTimeout(() => {
        this.libp2p.hangUp(peerIdFromString(peerId)).catch(() => {})
      }, 100).unref()
      return
    }
    const status: PeerChainStatus = {
      chainId: remote.chainId,
      height: remote.height,
      headHash: toHex(remote.headHash),
      role: remote.role === Role.VALIDATOR ? 'validator' : 'observer',
    }
    const known = this.statuses.has(peerId)
    this.statuses.set(peerId, status)
    if (!known) {
      this.log.info('peer joined', {
        peer: shortPeerId(peerId),
        role: status.role,
        height: status.height,
        validator: this.init.isValidator(peerId),
      })
      this.emit('peer:join', peerId, status)
      this.pingOne(peerId)
    }
    this.emit('peer:status', peerId, status)
    void this.learn(peerId, remote.peers)
  }

  /** Peer exchange: remember the peers a remote knows, to dial them (peer-table.ts learnPeers). */
  private async learn(from: string, peers: Status['peers']): Promise<void> {
    if (peers.length === 0 || this.stopped) return
    try {
      const outcome = await learnPeers(this.wanted, from, peers, {
        self: this.libp2p.peerId.toString(),
        isValidator: this.init.isValidator,
        isRefused: (id) => this.isRefused(id),
        penalize: (id, amount, reason) => this.init.reputation.penalize(id, amount, reason),
      })
      if (outcome.certified + outcome.validators + outcome.badRecords > 0)
        this.log.debug('peer exchange', { from: shortPeerId(from), ...outcome })
    } catch (err) {
      this.log.error('peer exchange failed', { from: shortPeerId(from), err })
    }
  }

  private dialableAddrs(peerId: string): Multiaddr[] {
    return this.listenAddrs.get(peerId) ?? this.wanted.get(peerId)?.addrs ?? []
  }

  /** Dial wanted peers that are not connected, each with its own capped backoff. */
  private keepAlive(): void {
    if (this.stopped) return
    for (const w of this.wanted.due(Date.now(), (id) => this.isRefused(id))) {
      const peerId = w.peerId
      w.dialing = true
      const target = w.addrs.map((a) => (peerIdOfAddr(a) ? a : a.encapsulate(`/p2p/${peerId}`)))
      this.libp2p
        .dial(target, { signal: AbortSignal.timeout(10_000) })
        .then(() => {
          if (w.failures > 0) this.log.info('peer reachable again', { peer: shortPeerId(peerId) })
          w.failures = 0
        })
        .catch((err: Error) => {
          w.dialing = false
          // the entry may have left the table meanwhile (another chain, replaced)
          if (this.wanted.get(peerId) !== w) return
          const { dropped, retryInMs } = this.wanted.dialFailed(peerId, Date.now())
          const fields = {
            peer: shortPeerId(peerId),
            addr: w.addrs[0]?.toString(),
            failures: w.failures,
            retryInMs,
            err: err.message,
          }
          // say it once at info, and only once it is more than a peer still starting (a devnet's
          // nodes come up within seconds of each other); otherwise quietly: a down peer must not
          // flood the log
          if (dropped) this.log.debug('exchanged peer unreachable; forgotten', fields)
          else if (w.failures === BOOTSTRAP_REPORT_AFTER && w.source === 'bootstrap')
            this.log.info('cannot reach bootstrap peer; will keep retrying', fields)
          else this.log.debug('dial failed', fields)
        })
        .finally(() => {
          w.dialing = false
        })
    }
  }

  /** Exchange statuses again with every chain peer: fresh heights, and more peers to learn. */
  private refreshStatuses(): void {
    for (const peerId of this.statuses.keys()) {
      this.init.reqresp
        .request(peerId, STATUS_PROTOCOL, this.status())
        .then((remote) => this.accept(peerId, remote))
        .catch((err: Error) =>
          this.log.debug('status refresh failed', { peer: shortPeerId(peerId), err }),
        )
    }
  }

  private pingAll(): void {
    for (const peerId of this.statuses.keys()) void this.pingOne(peerId)
  }

  /** Measure the round trip to a peer; resolves when known (or failed). */
  pingOne(peerId: string): Promise<void> {
    return this.libp2p.services.ping
      .ping(peerIdFromString(peerId), { signal: AbortSignal.timeout(5_000) })
      .then((ms) => {
        this.latency.set(peerId, ms)
      })
      .catch(() => {
        this.latency.delete(peerId)
      })
  }
}
