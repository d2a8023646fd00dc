/**
 * The gossip validators' cheap checks, through the topicValidators map that
 * GossipNetwork installs on a fake gossipsub: a banned propagation source or
 * one over its rate on a topic is IGNOREd before anything is decoded, the
 * latter with a small penalty at most once per interval; the tables of
 * buckets stay bounded.
 */
import type { Message } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { describe, expect, it } from 'vitest'
import type { WireCodec } from '../../src/core/codec/index.js'
import { silentLogger } from '../../src/node/log.js'
import {
  GOSSIP_RATE_LIMIT_PEERS,
  GOSSIP_RATE_LIMITS,
  GOSSIP_RATE_PENALTY,
  GOSSIP_RATE_PENALTY_EVERY_MS,
  GossipNetwork,
  type GossipOptions,
  type GossipSubInternals,
} from '../../src/node/p2p/gossip.js'
import { TokenBuckets } from '../../src/node/p2p/rate-limiter.js'
import { Reputation } from '../../src/node/p2p/reputation.js'
import { stringifyTopic, type TopicName } from '../../src/node/p2p/topics.js'

const CHAIN = 'bftchain-test'
type Validator = (peer: { toString(): string }, msg: Message) => TopicValidatorResult

/** Just what GossipNetwork touches of gossipsub. */
function fakePubsub() {
  const topicValidators = new Map<string, Validator>()
  const pubsub = {
    topicValidators,
    subscribe: () => {},
    unsubscribe: () => {},
    addEventListener: () => {},
    removeEventListener: () => {},
    isStarted: () => true,
    getSubscribers: () => [],
    getScore: () => 0,
  }
  return { pubsub: pubsub as unknown as GossipSubInternals, topicValidators }
}

function setup(options: GossipOptions = {}) {
  let now = 1_000_000
  const clock = () => now
  const reputation = new Reputation(() => {}, clock)
  const { pubsub, topicValidators } = fakePubsub()
  const gossip = new GossipNetwork(pubsub, CHAIN, reputation, silentLogger, {
    now: clock,
    ...options,
  })
  const decoded: { topic: TopicName; from: string }[] = []
  let current = ''
  for (const topic of ['tx', 'prepare', 'election'] as const) {
    const codec = {
      name: 'Fake',
      maxBytes: 1024,
      encode: (m: Uint8Array) => m,
      decode: (b: Uint8Array) => {
        decoded.push({ topic, from: current })
        return b
      },
      check: () => {},
    } as WireCodec<Uint8Array>
    gossip.register(topic, { codec, validate: () => {}, handle: () => {} })
  }
  gossip.start()
  const send = (topic: TopicName, peer: string): TopicValidatorResult => {
    const name = stringifyTopic({ chainId: CHAIN, name: topic })
    const validator = topicValidators.get(name)!
    const msg = { type: 'unsigned', topic: name, data: new Uint8Array([1]) } as Message
    current = peer
    return validator({ toString: () => peer }, msg)
  }
  return {
    gossip,
    reputation,
    decoded,
    send,
    advance: (ms: number) => {
      now += ms
    },
  }
}

const A = 'peer-a'
const B = 'peer-b'
const { Accept, Ignore } = TopicValidatorResult

describe('gossip rate limits', () => {
  it('defaults are generous for honest peak load', () => {
    for (const t of ['tx', 'prepare', 'commit'] as const)
      expect(GOSSIP_RATE_LIMITS[t]).toEqual({ burst: 10_000, perSecond: 5_000 })
    expect(GOSSIP_RATE_LIMITS['block-sync']).toEqual({ burst: 200, perSecond: 50 })
    expect(GOSSIP_RATE_LIMITS.election).toEqual({ burst: 1_000, perSecond: 200 })
    expect(GOSSIP_RATE_LIMITS.accounts).toEqual({ burst: 2_000, perSecond: 500 })
    const { gossip } = setup()
    expect(gossip.rateLimit('tx')).toEqual(GOSSIP_RATE_LIMITS.tx)
  })

  it('ignores, before decoding, what a peer sends beyond its burst on a topic', () => {
    const { gossip, reputation, decoded, send, advance } = setup({
      rateLimits: { tx: { burst: 5, perSecond: 10 } },
    })
    expect(gossip.rateLimit('tx')).toEqual({ burst: 5, perSecond: 10 })
    for (let i = 0; i < 5; i++) expect(send('tx', A)).toBe(Accept)
    expect(decoded).toHaveLength(5)
    expect(send('tx', A)).toBe(Ignore)
    expect(send('tx', A)).toBe(Ignore)
    expect(decoded).toHaveLength(5)
    expect(gossip.stats).toMatchObject({ accepted: 5, ignored: 2, rateLimited: 2, rejected: 0 })
    // per topic, only what was accepted counts (bftchain_gossip_messages_total)
    expect(gossip.stats.byTopic.get('tx')).toEqual({
      published: 0,
      publishedBytes: 0,
      accepted: 5,
      acceptedBytes: 5,
    })
    // a small penalty, once for the whole burst
    expect(reputation.score(A)).toBe(-GOSSIP_RATE_PENALTY)

    // the other peer and the other topics keep their own buckets
    expect(send('tx', B)).toBe(Accept)
    expect(send('prepare', A)).toBe(Accept)
    expect(reputation.score(B)).toBe(0)

    // refilled at 10 per second: one more after 100 ms
    advance(100)
    expect(send('tx', A)).toBe(Accept)
    expect(send('tx', A)).toBe(Ignore)
    // still within the penalty interval: no second penalty yet
    expect(reputation.score(A)).toBeCloseTo(-GOSSIP_RATE_PENALTY, 3)
    advance(GOSSIP_RATE_PENALTY_EVERY_MS)
    for (let i = 0; i < 5; i++) expect(send('tx', A)).toBe(Accept)
    expect(send('tx', A)).toBe(Ignore)
    expect(reputation.score(A)).toBeLessThan(-GOSSIP_RATE_PENALTY - 0.5)
  })

  it('a flood on one topic never bans the relay by itself', () => {
    const { reputation, send, advance } = setup({ rateLimits: { tx: { burst: 1, perSecond: 1 } } })
    // ten minutes of 100 messages per second over a limit of 1
    for (let s = 0; s < 600; s++) {
      for (let i = 0; i < 100; i++) send('tx', A)
      advance(1_000)
    }
    expect(reputation.isBanned(A)).toBe(false)
    expect(reputation.score(A)).toBeGreaterThan(-70)
  })

  it('ignores a banned peer before decoding', () => {
    const { gossip, reputation, decoded, send } = setup()
    reputation.ban(A)
    expect(send('tx', A)).toBe(Ignore)
    expect(send('election', A)).toBe(Ignore)
    expect(decoded).toEqual([])
    expect(gossip.stats).toMatchObject({ ignored: 2, fromBanned: 2, rateLimited: 0 })
    expect(send('tx', B)).toBe(Accept)
  })

  it('keeps the table of buckets bounded, least recently used out first', () => {
    const { gossip, send } = setup({
      maxRateLimitPeers: 4,
      rateLimits: { tx: { burst: 1, perSecond: 0.001 } },
    })
    expect(GOSSIP_RATE_LIMIT_PEERS).toBe(1_024)
    for (let i = 0; i < 50; i++) send('tx', `peer-${i}`)
    expect(gossip.rateLimitedPeers('tx')).toBe(4)
    // a busy peer stays tracked (and limited) while idle ones are evicted
    expect(send('tx', A)).toBe(Accept)
    for (let i = 0; i < 10; i++) {
      send('tx', `other-${i}`)
      expect(send('tx', A)).toBe(Ignore)
    }
    expect(gossip.rateLimitedPeers('tx')).toBe(4)
  })
})

describe('TokenBuckets', () => {
  it('evicts the least recently used key beyond maxKeys', () => {
    let now = 0
    const buckets = new TokenBuckets(1, 1, () => now, 2)
    expect(buckets.take('a')).toBe(true)
    expect(buckets.take('b')).toBe(true)
    expect(buckets.take('a')).toBe(false) // a is now the most recent
    expect(buckets.take('c')).toBe(true) // evicts b
    expect(buckets.size).toBe(2)
    expect(buckets.take('a')).toBe(false) // still tracked, still empty
    expect(buckets.take('b')).toBe(true) // forgotten: a full bucket again
    now += 1_000
    expect(buckets.take('b')).toBe(true)
  })
})
