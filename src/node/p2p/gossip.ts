/**
 * The six gossip topics on gossipsub. Each registered topic has a validator
 * in gossipsub's `topicValidators` that decodes (with the codec's size limit)
 * and checks the message synchronously: ACCEPT, IGNORE or REJECT (the
 * sender's score drops). Accepted messages reach the topic's handler, which
 * must only queue work: nothing here awaits inside gossipsub.
 *
 * Before any decoding, a message is IGNOREd (not forwarded) when its
 * propagation source — the connected peer that sent it, the only sender
 * StrictNoSign lets us know — is banned or over its rate on the topic.
 */

import type { GossipSub, Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { DecodeError, type WireCodec } from '../../core/codec/index.js'
import { ValidationError } from '../../core/consensus/validation.js'
import type { Logger } from '../log.js'
import { TokenBuckets } from './rate-limiter.js'
import type { Reputation } from './reputation.js'
import { stringifyTopic, type TopicName } from './topics.js'

export interface GossipHandler<T> {
  codec: WireCodec<T>
  /** Fast and synchronous; throw the core's ValidationError to IGNORE or REJECT. */
  validate(message: T, from: string): void
  /** Queue the work; never await here. `from` is the peer that forwarded it. */
  handle(message: T, from: string): void
}

/** Reputation cost of one rejected gossip message. */
export const REJECT_PENALTY = 10

export interface GossipRate {
  /** messages a peer may send at once on the topic */
  burst: number
  /** and per second after that */
  perSecond: number
}

/**
 * Gossip messages per propagation source (the directly connected peer) and
 * topic, checked before decoding: a token bucket of `burst`, refilled at
 * `perSecond`. Sized for honest peak load with headroom: 4 validators at
 * 2,000 tx/s put one PrePrepare, one Prepare and one Commit per tx on `tx`,
 * `prepare` and `commit`, and gossipsub hands the validator each message
 * once (duplicates are dropped by its seen cache first), so one peer relays
 * at most the whole topic's rate; block-sync carries a few messages per
 * block, election a few per validator per round, accounts what clients
 * register. Beyond the rate a message is IGNOREd (not forwarded, not
 * decoded). Eviction: the tables of buckets are bounded by
 * GOSSIP_RATE_LIMIT_PEERS. Penalty: GOSSIP_RATE_PENALTY.
 */
export const GOSSIP_RATE_LIMITS: Readonly<Record<TopicName, GossipRate>> = {
  tx: { burst: 10_000, perSecond: 5_000 },
  prepare: { burst: 10_000, perSecond: 5_000 },
  commit: { burst: 10_000, perSecond: 5_000 },
  'block-sync': { burst: 200, perSecond: 50 },
  accounts: { burst: 2_000, perSecond: 500 },
  election: { burst: 1_000, perSecond: 200 },
}

/**
 * Peers whose gossip rate is tracked per topic: 1,024 buckets (about 100
 * bytes each) per topic, far more than the node's connections (64), since
 * only connected peers send gossip. Eviction: least recently used first
 * (an idle peer's bucket is full again anyway). Penalty: none.
 */
export const GOSSIP_RATE_LIMIT_PEERS = 1_024

/**
 * Reputation cost of going over a topic's gossip rate: 1 point, at most once
 * per GOSSIP_RATE_PENALTY_EVERY_MS per (peer, topic). Over the rate we only
 * know the relay, which may be honest and forwarding someone else's flood:
 * one topic flooded for good settles near -57 with the reputation's decay
 * (never a ban on its own), all six flooded at once reach the ban in about
 * three minutes. The real defence is that nothing over the rate is decoded.
 */
export const GOSSIP_RATE_PENALTY = 1
export const GOSSIP_RATE_PENALTY_EVERY_MS = 10_000

export interface GossipOptions {
  /** per-topic rates, over GOSSIP_RATE_LIMITS (tests set them low) */
  rateLimits?: Partial<Record<TopicName, GossipRate>>
  /** buckets per topic (default GOSSIP_RATE_LIMIT_PEERS) */
  maxRateLimitPeers?: number
  now?: () => number
}

/** The methods of the gossipsub class that its exported type leaves out: cast at this one place. */
export interface GossipSubInternals extends GossipSub {
  getScore(peerId: string): number
  isStarted(): boolean
  reportMessageValidationResult(msgId: string, source: string, result: TopicValidatorResult): void
}

export interface GossipStats {
  accepted: number
  /** all ignored messages, the two kinds below included */
  ignored: number
  rejected: number
  published: number
  /** ignored undecoded: the propagation source was over its rate on the topic */
  rateLimited: number
  /** ignored undecoded: the propagation source is banned */
  fromBanned: number
  /** per topic: messages (and their bytes) this node published, and accepted from others */
  byTopic: Map<TopicName, TopicTraffic>
}

export interface TopicTraffic {
  published: number
  publishedBytes: number
  accepted: number
  acceptedBytes: number
}

export class GossipNetwork {
  private readonly handlers = new Map<TopicName, GossipHandler<unknown>>()
  /** the decoded form of each accepted message, so it is decoded once */
  private readonly decoded = new WeakMap<Message, unknown>()
  /** per topic: a token bucket per propagation source */
  private readonly rates = new Map<TopicName, TokenBuckets>()
  /** per (topic, peer): may it be penalised for its rate again? one token per interval */
  private readonly ratePenalties: TokenBuckets
  readonly stats: GossipStats = {
    accepted: 0,
    ignored: 0,
    rejected: 0,
    published: 0,
    rateLimited: 0,
    fromBanned: 0,
    byTopic: new Map(),
  }

  constructor(
    private readonly pubsub: GossipSubInternals,
    private readonly chainId: string,
    private readonly reputation: Reputation,
    private readonly log: Logger,
    private readonly options: GossipOptions = {},
  ) {
    this.ratePenalties = new TokenBuckets(
      1,
      1000 / GOSSIP_RATE_PENALTY_EVERY_MS,
      options.now ?? Date.now,
      options.maxRateLimitPeers ?? GOSSIP_RATE_LIMIT_PEERS,
    )
  }

  /** The rate a topic's gossip is limited to, per propagation source. */
  rateLimit(name: TopicName): GossipRate {
    return this.options.rateLimits?.[name] ?? GOSSIP_RATE_LIMITS[name]
  }

  /** Propagation sources whose rate on a topic is tracked now (at most GOSSIP_RATE_LIMIT_PEERS). */
  rateLimitedPeers(name: TopicName): number {
    return this.rates.get(name)?.size ?? 0
  }

  topic(name: TopicName): string {
    return stringifyTopic({ chainId: this.chainId, name })
  }

  register<T>(name: TopicName, handler: GossipHandler<T>): void {
    if (this.handlers.has(name)) throw new Error(`topic ${name} already has a handler`)
    this.handlers.set(name, handler as GossipHandler<unknown>)
    const rate = this.rateLimit(name)
    this.rates.set(
      name,
      new TokenBuckets(
        rate.burst,
        rate.perSecond,
        this.options.now ?? Date.now,
        this.options.maxRateLimitPeers ?? GOSSIP_RATE_LIMIT_PEERS,
      ),
    )
  }

  start(): void {
    for (const [name, handler] of this.handlers) {
      const topic = this.topic(name)
      this.pubsub.topicValidators.set(topic, (peerId, msg) =>
        this.validate(name, handler, peerId.toString(), msg),
      )
      this.pubsub.subscribe(topic)
    }
    this.pubsub.addEventListener('gossipsub:message', this.onMessage)
  }

  stop(): void {
    this.pubsub.removeEventListener('gossipsub:message', this.onMessage)
    for (const name of this.handlers.keys()) {
      const topic = this.topic(name)
      this.pubsub.topicValidators.delete(topic)
      if (this.pubsub.isStarted()) this.pubsub.unsubscribe(topic)
    }
  }

  /** Publish on a topic; resolves to the number of peers it was sent to. */
  async publish<T>(name: TopicName, message: T): Promise<number> {
    const handler = this.handlers.get(name) as GossipHandler<T> | undefined
    if (handler == null) throw new Error(`topic ${name} is not registered`)
    const data = handler.codec.encode(message)
    const result = await this.pubsub.publish(this.topic(name), data)
    this.stats.published++
    const traffic = this.traffic(name)
    traffic.published++
    traffic.publishedBytes += data.length
    return result.recipients.length
  }

  /** Peers subscribed to a topic. */
  subscribers(name: TopicName): string[] {
    return this.pubsub.getSubscribers(this.topic(name)).map((p) => p.toString())
  }

  score(peerId: string): number {
    return this.pubsub.getScore(peerId)
  }

  private traffic(name: TopicName): TopicTraffic {
    let t = this.stats.byTopic.get(name)
    if (t == null) {
      t = { published: 0, publishedBytes: 0, accepted: 0, acceptedBytes: 0 }
      this.stats.byTopic.set(name, t)
    }
    return t
  }

  private validate(
    name: TopicName,
    handler: GossipHandler<unknown>,
    from: string,
    msg: Message,
  ): TopicValidatorResult {
    // cheap checks first: nothing from a banned or flooding peer is decoded
    if (this.reputation.isBanned(from)) {
      this.stats.ignored++
      this.stats.fromBanned++
      return TopicValidatorResult.Ignore
    }
    if (this.rates.get(name)?.take(from) === false) {
      this.stats.ignored++
      this.stats.rateLimited++
      if (this.ratePenalties.take(`${name} ${from}`)) {
        this.reputation.penalize(from, GOSSIP_RATE_PENALTY, `${name}: over the gossip rate limit`)
        this.log.debug('gossip over the rate limit', { topic: name, peer: from })
      }
      return TopicValidatorResult.Ignore
    }
    try {
      const message = handler.codec.decode(msg.data)
      handler.validate(message, from)
      this.decoded.set(msg, message)
      this.stats.accepted++
      const traffic = this.traffic(name)
      traffic.accepted++
      traffic.acceptedBytes += msg.data.length
      return TopicValidatorResult.Accept
    } catch (err) {
      const action =
        err instanceof DecodeError ? 'reject' : err instanceof ValidationError ? err.action : null
      if (action == null) {
        // our bug, not the peer's: never penalise for it
        this.log.error('gossip validator failed', { topic: name, err })
        this.stats.ignored++
        return TopicValidatorResult.Ignore
      }
      if (action === 'reject') {
        this.stats.rejected++
        this.reputation.penalize(from, REJECT_PENALTY, `${name}: ${(err as Error).message}`)
        this.log.debug('gossip rejected', {
          topic: name,
          peer: from,
          reason: (err as Error).message,
        })
        return TopicValidatorResult.Reject
      }
      this.stats.ignored++
      return TopicValidatorResult.Ignore
    }
  }

  private readonly onMessage = (
    event: CustomEvent<{ propagationSource: { toString(): string }; msg: Message }>,
  ): void => {
    const { msg, propagationSource } = event.detail
    const name = msg.topic.slice(msg.topic.lastIndexOf('/') + 1) as TopicName
    const handler = this.handlers.get(name)
    const message = this.decoded.get(msg)
    if (handler == null || message === undefined) return
    this.decoded.delete(msg)
    try {
      handler.handle(message, propagationSource.toString())
    } catch (err) {
      this.log.error('gossip handler failed', { topic: name, err })
    }
  }
}
