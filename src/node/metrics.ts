/**
 * The node's Prometheus metrics (GET /metrics, SPEC): its own — heights,
 * rounds, peers, pool and tx-round sizes read at each scrape; final blocks,
 * txs by outcome, votes and round changes counted as they happen; the time
 * between final blocks and from a tx's admission here to its commit; the
 * equivocation evidence found, by kind, and the records held — and,
 * when the node runs as a process, libp2p's (connections, streams, bytes by
 * protocol, gossipsub) and the Node.js process's, in the same registry.
 *
 * One registry per node, so several nodes in one process (the tests) keep
 * their numbers apart.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { ChainNode } from './node/chain-node.js'
import { evidenceKindName } from './node/evidence-view.js'
import type { TopicTraffic } from './p2p/gossip.js'

/** how many admitted txs' start times are kept to measure their commit latency */
const LATENCY_TRACKED = 20_000

export class NodeMetrics {
  private readonly admittedAt = new Map<string, number>()
  private lastFinalAt: number | null = null
  private lastRound = ''

  constructor(
    node: ChainNode,
    readonly registry: Registry = new Registry(),
    private readonly now: () => number = Date.now,
  ) {
    const r = this.registry
    const gauge = (name: string, help: string, read: () => number | null): void => {
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          const v = read()
          if (v != null) this.set(v)
        },
      })
    }
    gauge('bftchain_height', 'height of the last final block', () => node.status().height)
    gauge(
      'bftchain_round',
      'current block round, -1 when none runs',
      () => node.status().round ?? -1,
    )
    gauge('bftchain_peers', 'connected peers of this chain', () => node.status().peers)
    gauge(
      'bftchain_pool_pending_txs',
      'txs pending or prepared in the pool',
      () => poolOf(node).pending,
    )
    gauge(
      'bftchain_pool_committed_txs',
      'committed txs waiting for a block',
      () => poolOf(node).committed,
    )
    gauge(
      'bftchain_pool_accounts',
      'registrations waiting for a block',
      () => poolOf(node).accounts,
    )
    gauge(
      'bftchain_tx_rounds_running',
      'tx rounds this node runs as target',
      () => node.status().txRounds.running,
    )
    gauge(
      'bftchain_tx_rounds_waiting',
      'admitted txs waiting for a round here',
      () => node.status().txRounds.waiting,
    )
    gauge(
      'bftchain_tx_round_window',
      'tx rounds this node may run at once',
      () => node.status().txRounds.window,
    )
    gauge('bftchain_syncing', '1 while catching up', () => (node.status().syncing ? 1 : 0))
    gauge(
      'bftchain_evidence_records',
      'equivocation evidence records held (bounded, persisted)',
      () => node.core.evidence.size,
    )
    gauge('bftchain_core_queue_events', 'events waiting for the core', () => node.driver.queued)
    const readCounter = (name: string, help: string, read: () => number): void => {
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset()
          this.inc(read())
        },
      })
    }
    readCounter(
      'bftchain_core_dropped_network_events_total',
      'network events dropped because the core queue was full',
      () => node.driver.droppedNetworkEvents,
    )
    const byTopic = (
      name: string,
      help: string,
      read: (t: TopicTraffic) => { out: number; in: number },
    ): void => {
      new Counter({
        name,
        help,
        labelNames: ['topic', 'direction'],
        registers: [r],
        collect() {
          this.reset()
          for (const [topic, t] of node.gossip.stats.byTopic) {
            const v = read(t)
            this.inc({ topic, direction: 'out' }, v.out)
            this.inc({ topic, direction: 'in' }, v.in)
          }
        },
      })
    }
    byTopic(
      'bftchain_gossip_messages_total',
      'gossip messages published (out) and accepted from peers (in, duplicates not counted), per topic',
      (t) => ({ out: t.published, in: t.accepted }),
    )
    byTopic(
      'bftchain_gossip_bytes_total',
      'bytes of the messages counted in bftchain_gossip_messages_total',
      (t) => ({ out: t.publishedBytes, in: t.acceptedBytes }),
    )
    readCounter(
      'bftchain_gossip_rate_limited_total',
      'gossip messages ignored undecoded: their peer was over its rate on the topic',
      () => node.gossip.stats.rateLimited,
    )
    new Counter({
      name: 'bftchain_compact_proposals_total',
      help: 'compact proposals received, by outcome: rebuilt from held txs, fetched whole, or not found',
      labelNames: ['outcome'],
      registers: [r],
      collect() {
        this.reset()
        for (const [outcome, n] of Object.entries(node.compact.counts)) this.inc({ outcome }, n)
      },
    })

    const blocks = new Counter({
      name: 'bftchain_blocks_final_total',
      help: 'blocks that became final here',
      registers: [r],
    })
    const blockTxs = new Counter({
      name: 'bftchain_block_txs_total',
      help: 'txs in final blocks, by receipt',
      labelNames: ['receipt'],
      registers: [r],
    })
    const blockInterval = new Histogram({
      name: 'bftchain_block_interval_seconds',
      help: 'time between two final blocks',
      buckets: [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64],
      registers: [r],
    })
    const rounds = new Counter({
      name: 'bftchain_block_rounds_total',
      help: 'block rounds begun (round > 0 means the one before timed out)',
      labelNames: ['first'],
      registers: [r],
    })
    // counted in a plain table and handed to the counter when scraped: a labelled inc hashes and
    // checks its labels on every call, and each tx changes status four times on every node
    const statusCounts = new Map<string, number>()
    const txStatus: Counter<'status'> = new Counter({
      name: 'bftchain_tx_status_total',
      help: 'tx status changes seen here',
      labelNames: ['status'],
      registers: [r],
      collect() {
        txStatus.reset()
        for (const [status, n] of statusCounts) txStatus.inc({ status }, n)
      },
    })
    const targetFailed = new Counter({
      name: 'bftchain_target_txs_failed_total',
      help: 'txs this node took as their target that failed before any block, by reason',
      labelNames: ['reason'],
      registers: [r],
    })
    const storeWrite = new Histogram({
      name: 'bftchain_store_write_seconds',
      help: 'how long one synced batch of the core writes took (votes and replies wait for it)',
      registers: [r],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    })
    node.on('store-write', (seconds) => storeWrite.observe(seconds))
    const commitLatency = new Histogram({
      name: 'bftchain_tx_commit_seconds',
      help: 'from a tx admitted here (as its target) to committed',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32],
      registers: [r],
    })
    const votes = new Counter({
      name: 'bftchain_votes_received_total',
      help: 'votes received over /bftchain/vote/1 and accepted, block votes and tx batch votes',
      registers: [r],
    })
    const evidence = new Counter({
      name: 'bftchain_evidence_total',
      help: 'equivocation evidence found here (two signed answers to one question), by kind',
      labelNames: ['kind'],
      registers: [r],
    })

    node.on('block', (_height, _hash, info) => {
      blocks.inc()
      blockTxs.inc({ receipt: 'ok' }, info.txs - info.failed)
      if (info.failed > 0) blockTxs.inc({ receipt: 'failed' }, info.failed)
      const t = this.now()
      if (this.lastFinalAt != null) blockInterval.observe((t - this.lastFinalAt) / 1000)
      this.lastFinalAt = t
    })
    node.on('round', (height, round) => {
      // a round is announced when it begins and again when its leader is elected: count it once
      const key = `${height}/${round}`
      if (key === this.lastRound) return
      this.lastRound = key
      rounds.inc({ first: round === 0 ? 'yes' : 'no' })
    })
    node.on('tx-status', (hash, status, reason) => {
      statusCounts.set(status, (statusCounts.get(status) ?? 0) + 1)
      if (
        status === 'failed' &&
        (this.admittedAt.has(hash) || node.core.tx(hash)?.target === node.peerId)
      )
        targetFailed.inc({ reason: reason?.code ?? 'unknown' })
      if (status === 'pending' && node.core.tx(hash)?.target === node.peerId) this.track(hash)
      else if (status === 'committed') {
        const at = this.admittedAt.get(hash)
        if (at != null) {
          commitLatency.observe((this.now() - at) / 1000)
          this.admittedAt.delete(hash)
        }
      } else if (status === 'failed') this.admittedAt.delete(hash)
    })
    node.on('vote', () => votes.inc())
    node.on('batch-vote', () => votes.inc())
    node.on('evidence', (e) => evidence.inc({ kind: evidenceKindName(e.kind) }))
  }

  private track(hash: string): void {
    this.admittedAt.set(hash, this.now())
    if (this.admittedAt.size > LATENCY_TRACKED) {
      const oldest = this.admittedAt.keys().next().value
      if (oldest !== undefined) this.admittedAt.delete(oldest)
    }
  }
}

export { Registry }

function poolOf(node: ChainNode): { pending: number; committed: number; accounts: number } {
  return node.status().mempool
}
