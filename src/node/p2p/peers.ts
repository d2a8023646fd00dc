/**
 * Who we are connected to and why. Runs the status handshake on every new
 * connection (a peer on another chain is disconnected and never redialled),
 * keeps the bootstrap peers and the peers learnt by exchange connected with
 * a capped exponential backoff, measures latency, and answers the debug
 * view of peers.
 */
import { EventEmitter } from 'node:events'
import type { ConnectionGater, IdentifyResult, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { MAX_STATUS_PEERS, Role, type Status } from '../../core/codec/index.js'
import { bytesEqual, toHex } from '../../core/crypto/hash.js'
import {
  peerIdFromString as peerIdBytes,
  peerIdToString,
  shortPeerId,
} from '../../core/crypto/peer-id.js'
import { peerIdOfAddr } from '../config/multiaddrs.js'
import type { Logger } from '../log.js'
import type { NodeLibp2p } from './create-libp2p.js'
import { RequestError } from './errors.js'
import type { GossipNetwork } from './gossip.js'
import { STATUS_PROTOCOL } from './protocols.js'
import type { Reputation } from './reputation.js'
import type { ReqResp } from './reqresp.js'
import { TOPIC_NAMES } from './topics.js'

export const DIAL_BACKOFF_MIN_MS = 1_000
export const DIAL_BACKOFF_MAX_MS = 30_000
const KEEPALIVE_TICK_MS = 1_000
const PING_EVERY_MS = 15_000
/** heights move: ask every chain peer for its status this often */
const STATUS_REFRESH_MS = 10_000
const MAX_WANTED_PEERS = 64

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

interface Wanted {
  addrs: Multiaddr[]
  /** bootstrap peers are retried forever; exchanged ones are too while wanted */
  source: 'bootstrap' | 'exchange'
  failures: number
  nextDialAt: number
  dialing: boolean
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
  private readonly wanted = new Map<string, Wanted>()
  private readonly handshaking = new Set<string>()
  /** where each connected peer says it listens (identify) */
  private readonly listenAddrs = new Map<string, Multiaddr[]>()
  private timer: NodeJS.Timeout | null = null
  private pingTimer: NodeJS.Timeout | null = null
  private refreshTimer: NodeJS.Timeout | null = null
  private stopped = false

  constructor(private readonly init: PeerManagerInit) {
    super()
    this.libp2p = init.libp2p
    this.log = init.log
    const self = init.libp2p.peerId.toString()
    for (const addr of init.bootstrap) {
      const ma = multiaddr(addr)
      const id = peerIdOfAddr(ma)
      if (id == null || id === self) continue
      this.want(id, [ma], 'bootstrap')
    }
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

  /** Our status with up to MAX_STATUS_PEERS peers we know how to reach (peer exchange). */
  status(): Status {
    const peers: Status['peers'] = []
    for (const id of this.statuses.keys()) {
      if (peers.length >= MAX_STATUS_PEERS) break
      const addrs = this.dialableAddrs(id)
      if (addrs.length === 0) continue
      peers.push({ peerId: peerIdBytes(id), addrs: addrs.slice(0, 4).map((a) => a.bytes) })
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
    const w = this.wanted.get(peerId)
    if (w) {
      w.failures = 0
      w.nextDialAt = 0
    }
    void this.handshake(peerId)
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const { peerId, listenAddrs } = event.detail
    // only addresses another machine could dial: no wildcard, no port 0
    const usable = listenAddrs.filter((a) => {
      const text = a.toString()
      return !text.includes('/0.0.0.0/') && !text.includes('/::/') && !text.endsWith('/tcp/0')
    })
    if (usable.length > 0) this.listenAddrs.set(peerId.toString(), usable.slice(0, 4))
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peerId = event.detail.toString()
    this.listenAddrs.delete(peerId)
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
        this.wanted.delete(peerId)
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
    this.learn(remote.peers)
  }

  /** Peer exchange: remember the peers a remote knows, to dial them. */
  private learn(peers: Status['peers']): void {
    const self = this.libp2p.peerId.toString()
    for (const p of peers) {
      let id: string
      try {
        id = peerIdToString(p.peerId)
      } catch {
        continue
      }
      if (id === self || this.wanted.has(id) || this.isRefused(id)) continue
      if (this.wanted.size >= MAX_WANTED_PEERS) break
      const addrs: Multiaddr[] = []
      for (const a of p.addrs) {
        try {
          addrs.push(multiaddr(a))
        } catch {
          /* a bad address from a peer is skipped, not fatal */
        }
      }
      if (addrs.length > 0) this.want(id, addrs, 'exchange')
    }
  }

  private want(peerId: string, addrs: Multiaddr[], source: Wanted['source']): void {
    this.wanted.set(peerId, { addrs, source, failures: 0, nextDialAt: 0, dialing: false })
  }

  private dialableAddrs(peerId: string): Multiaddr[] {
    return this.listenAddrs.get(peerId) ?? this.wanted.get(peerId)?.addrs ?? []
  }

  /** Dial wanted peers that are not connected, each with its own capped backoff. */
  private keepAlive(): void {
    if (this.stopped) return
    const now = Date.now()
    for (const [peerId, w] of this.wanted) {
      if (w.dialing || w.nextDialAt > now || this.isRefused(peerId)) continue
      if (this.libp2p.getConnections(peerIdFromString(peerId)).length > 0) continue
      w.dialing = true
      const target = w.addrs.map((a) => (peerIdOfAddr(a) ? a : a.encapsulate(`/p2p/${peerId}`)))
      this.libp2p
        .dial(target, { signal: AbortSignal.timeout(10_000) })
        .then(() => {
          if (w.failures > 0) this.log.info('peer reachable again', { peer: shortPeerId(peerId) })
          w.failures = 0
        })
        .catch((err: Error) => {
          w.failures++
          const backoff = Math.min(DIAL_BACKOFF_MAX_MS, DIAL_BACKOFF_MIN_MS * 2 ** (w.failures - 1))
          w.nextDialAt = Date.now() + backoff
          const fields = {
            peer: shortPeerId(peerId),
            addr: w.addrs[0]?.toString(),
            failures: w.failures,
            retryInMs: backoff,
            err: err.message,
          }
          // say it once at info, then quietly: a down peer must not flood the log
          if (w.failures === 1 && w.source === 'bootstrap')
            this.log.info('cannot reach bootstrap peer; will retry', fields)
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
