/**
 * The runtime of one node: opens its store, creates libp2p, wires the six
 * gossip topics and the three direct protocols, and keeps the peer manager
 * running. Consensus (later) plugs in through the event bus: accepted gossip
 * and votes go out as events; actions come back as publish/send calls.
 */
import { EventEmitter } from 'node:events'
import { join } from 'node:path'
import { type Genesis, genesisHash } from '../../core/chain/genesis.js'
import { verifyVote } from '../../core/chain/signatures.js'
import { ValidatorSet } from '../../core/chain/validator-set.js'
import {
  FinalizedBlockCodec,
  type HistoryRequest,
  type HistoryResponse,
  MAX_HISTORY_RESPONSE_BYTES,
  Role,
  type Vote,
  type VoteReply,
} from '../../core/codec/index.js'
import { toHex } from '../../core/crypto/hash.js'
import { peerIdToString, shortPeerId } from '../../core/crypto/peer-id.js'
import type { NodeIdentity } from '../keys/node-key.js'
import type { Logger } from '../log.js'
import { createNodeLibp2p, type NodeLibp2p } from '../p2p/create-libp2p.js'
import { GossipNetwork } from '../p2p/gossip.js'
import { type PeerChainStatus, PeerManager, type PeerView } from '../p2p/peers.js'
import { HISTORY_PROTOCOL, VOTE_PROTOCOL } from '../p2p/protocols.js'
import { Reputation } from '../p2p/reputation.js'
import { ReqResp } from '../p2p/reqresp.js'
import type { TopicName } from '../p2p/topics.js'
import { Store } from '../store/index.js'
import { type ChainHead, readHead } from './head.js'
import { type GossipEvent, ingressHandlers } from './ingress.js'

export interface ChainNodeInit {
  home: string
  genesis: Genesis
  identity: NodeIdentity
  listen: string[]
  bootstrap: string[]
  log: Logger
}

export interface NodeEvents {
  gossip: [event: GossipEvent]
  vote: [vote: Vote, from: string]
  'peer:join': [peerId: string, status: PeerChainStatus]
  'peer:leave': [peerId: string]
}

export interface NodeStatus {
  chainId: string
  genesisHash: string
  peerId: string
  role: 'validator' | 'observer'
  height: number
  headHash: string
  round: number | null
  leader: string | null
  mempool: { pending: number; committed: number }
  peers: number
  syncing: null
  listen: string[]
}

export interface ValidatorsView {
  chainId: string
  quorum: number
  faultTolerance: number
  validators: { peerId: string; connected: boolean; self: boolean }[]
}

/** Reputation cost of a vote that does not check out. */
const BAD_VOTE_PENALTY = 10

export class ChainNode extends EventEmitter<NodeEvents> {
  readonly chainId: string
  readonly genesisHash: Uint8Array
  readonly validators: ValidatorSet
  readonly peerId: string
  readonly role: 'validator' | 'observer'
  readonly reputation = new Reputation()
  readonly reqresp: ReqResp
  readonly gossip: GossipNetwork
  readonly peers: PeerManager
  private head: ChainHead
  private started = false

  private constructor(
    init: ChainNodeInit,
    readonly libp2p: NodeLibp2p,
    readonly store: Store,
    head: ChainHead | null,
    private readonly log: Logger,
  ) {
    super()
    this.chainId = init.genesis.chainId
    this.genesisHash = genesisHash(init.genesis)
    this.validators = new ValidatorSet(init.genesis.validators)
    this.peerId = init.identity.peerId
    this.role = this.validators.has(this.peerId) ? 'validator' : 'observer'
    this.head = head ?? { height: 0, hash: this.genesisHash }
    this.reqresp = new ReqResp(libp2p, this.reputation, log.child('reqresp'))
    this.gossip = new GossipNetwork(
      libp2p.pubsub,
      this.chainId,
      this.reputation,
      log.child('gossip'),
    )
    this.peers = new PeerManager({
      libp2p,
      reqresp: this.reqresp,
      gossip: this.gossip,
      reputation: this.reputation,
      log: log.child('peers'),
      chainId: this.chainId,
      genesisHash: this.genesisHash,
      isValidator: (id) => this.validators.has(id),
      localStatus: () => ({
        chainId: this.chainId,
        genesisHash: this.genesisHash,
        height: this.head.height,
        headHash: this.head.hash,
        role: this.role === 'validator' ? Role.VALIDATOR : Role.OBSERVER,
      }),
      bootstrap: init.bootstrap,
    })
    this.peers.on('peer:join', (id, s) => this.emit('peer:join', id, s))
    this.peers.on('peer:leave', (id) => this.emit('peer:leave', id))
  }

  /** Open the store and build libp2p; nothing listens until start(). */
  static async create(init: ChainNodeInit): Promise<ChainNode> {
    const log = init.log
    const store = await Store.open(join(init.home, 'data'))
    try {
      const head = await readHead(store)
      // the gater needs the node (refusals) and the node needs libp2p: bind late
      let node: ChainNode | null = null
      const libp2p = await createNodeLibp2p({
        privateKey: init.identity.privateKey,
        chainId: init.genesis.chainId,
        listen: init.listen,
        bootstrap: init.bootstrap.filter((a) => !a.endsWith(`/p2p/${init.identity.peerId}`)),
        connectionGater: PeerManager.gater((id) => node?.peers.isRefused(id) ?? false),
        appScore: (id) => node?.reputation.score(id) ?? 0,
      })
      node = new ChainNode(init, libp2p, store, head, log)
      return node
    } catch (err) {
      await store.close()
      throw err
    }
  }

  async start(): Promise<void> {
    const handlers = ingressHandlers(
      { chainId: this.chainId, validators: this.validators },
      (event) => this.emit('gossip', event),
    )
    for (const [name, handler] of Object.entries(handlers)) {
      this.gossip.register(name as TopicName, handler as Parameters<GossipNetwork['register']>[1])
    }
    await this.libp2p.start()
    this.gossip.start()
    await this.reqresp.handle(VOTE_PROTOCOL, (vote, from) => this.onVote(vote, from))
    await this.reqresp.handle(HISTORY_PROTOCOL, (req) => this.onHistory(req))
    await this.peers.start()
    this.started = true
    this.log.info('node started', {
      peerId: this.peerId,
      role: this.role,
      chainId: this.chainId,
      height: this.head.height,
      listen: this.multiaddrs().join(','),
    })
  }

  async stop(): Promise<void> {
    if (this.started) {
      this.started = false
      this.peers.stop()
      this.gossip.stop()
      await this.libp2p.stop()
    }
    await this.store.close()
    this.log.info('node stopped')
  }

  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((m) => m.toString())
  }

  status(): NodeStatus {
    return {
      chainId: this.chainId,
      genesisHash: toHex(this.genesisHash),
      peerId: this.peerId,
      role: this.role,
      height: this.head.height,
      headHash: toHex(this.head.hash),
      round: null,
      leader: null,
      mempool: { pending: 0, committed: 0 },
      peers: this.peers.chainPeers().length,
      syncing: null,
      listen: this.multiaddrs(),
    }
  }

  peerViews(): PeerView[] {
    return this.peers.views()
  }

  validatorsView(): ValidatorsView {
    const connected = new Set(this.peers.chainPeers())
    return {
      chainId: this.chainId,
      quorum: this.validators.quorum,
      faultTolerance: this.validators.f,
      validators: this.validators.ids.map((peerId) => ({
        peerId,
        connected: connected.has(peerId),
        self: peerId === this.peerId,
      })),
    }
  }

  /** Publish on a topic; resolves to the number of peers it went to. */
  publish<K extends TopicName>(
    topic: K,
    message: Extract<GossipEvent, { topic: K }>['message'],
  ): Promise<number> {
    return this.gossip.publish(topic, message)
  }

  /** Send a vote to the round's target or leader and get its reply. Throws RequestError. */
  sendVote(target: string, vote: Vote): Promise<VoteReply> {
    return this.reqresp.request(target, VOTE_PROTOCOL, vote)
  }

  private onVote(vote: Vote, from: string): VoteReply {
    const voter = peerIdToString(vote.voter)
    if (voter !== from) {
      this.reputation.penalize(from, BAD_VOTE_PENALTY, 'vote relayed for another voter')
      return { accepted: false, error: 'a vote must come from its voter' }
    }
    if (!this.validators.has(voter)) {
      return { accepted: false, error: 'not a validator' }
    }
    if (!verifyVote(this.chainId, vote)) {
      this.reputation.penalize(from, BAD_VOTE_PENALTY, 'bad vote signature')
      return { accepted: false, error: 'bad signature' }
    }
    this.log.debug('vote received', {
      from: shortPeerId(from),
      phase: vote.phase,
      result: vote.result,
    })
    this.emit('vote', vote, from)
    return { accepted: true, error: '' }
  }

  private async onHistory(req: HistoryRequest): Promise<HistoryResponse> {
    if (req.txHash != null) return { blocks: [], error: 'tx lookup is not available yet' }
    const blocks: HistoryResponse['blocks'] = []
    let bytes = 0
    const to = Math.min(req.toHeight, this.head.height)
    for await (const [, value] of this.store.blocks.entries({ gte: req.fromHeight, lte: to })) {
      bytes += value.length
      if (bytes > MAX_HISTORY_RESPONSE_BYTES / 2 && blocks.length > 0) break
      blocks.push(FinalizedBlockCodec.decode(value))
    }
    return { blocks, error: '' }
  }
}
