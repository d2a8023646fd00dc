/**
 * The six gossip topics on gossipsub. Each registered topic has a validator
 * in gossipsub's `topicValidators` that decodes (with the codec's size limit)
 * and checks the message synchronously: ACCEPT, IGNORE or REJECT (the
 * sender's score drops). Accepted messages reach the topic's handler, which
 * must only queue work: nothing here awaits inside gossipsub.
 */

import type { GossipSub, Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { DecodeError, type WireCodec } from '../../core/codec/index.js'
import { ValidationError } from '../../core/consensus/validation.js'
import type { Logger } from '../log.js'
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

/** The methods of the gossipsub class that its exported type leaves out: cast at this one place. */
export interface GossipSubInternals extends GossipSub {
  getScore(peerId: string): number
  isStarted(): boolean
  reportMessageValidationResult(msgId: string, source: string, result: TopicValidatorResult): void
}

export interface GossipStats {
  accepted: number
  ignored: number
  rejected: number
  published: number
}

export class GossipNetwork {
  private readonly handlers = new Map<TopicName, GossipHandler<unknown>>()
  /** the decoded form of each accepted message, so it is decoded once */
  private readonly decoded = new WeakMap<Message, unknown>()
  readonly stats: GossipStats = { accepted: 0, ignored: 0, rejected: 0, published: 0 }

  constructor(
    private readonly pubsub: GossipSubInternals,
    private readonly chainId: string,
    private readonly reputation: Reputation,
    private readonly log: Logger,
  ) {}

  topic(name: TopicName): string {
    return stringifyTopic({ chainId: this.chainId, name })
  }

  register<T>(name: TopicName, handler: GossipHandler<T>): void {
    if (this.handlers.has(name)) throw new Error(`topic ${name} already has a handler`)
    this.handlers.set(name, handler as GossipHandler<unknown>)
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
    const result = await this.pubsub.publish(this.topic(name), handler.codec.encode(message))
    this.stats.published++
    return result.recipients.length
  }

  /** Peers subscribed to a topic. */
  subscribers(name: TopicName): string[] {
    return this.pubsub.getSubscribers(this.topic(name)).map((p) => p.toString())
  }

  score(peerId: string): number {
    return this.pubsub.getScore(peerId)
  }

  private validate(
    name: TopicName,
    handler: GossipHandler<unknown>,
    from: string,
    msg: Message,
  ): TopicValidatorResult {
    try {
      const message = handler.codec.decode(msg.data)
      handler.validate(message, from)
      this.decoded.set(msg, message)
      this.stats.accepted++
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
