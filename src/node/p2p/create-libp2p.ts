/**
 * The libp2p node: TCP, Noise, yamux then mplex, identify, ping, bootstrap
 * and gossipsub (StrictNoSign: every message carries its own signatures, so
 * message ids are content hashes and duplicates collapse).
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub } from '@libp2p/gossipsub'
import { createPeerScoreParams, createTopicScoreParams } from '@libp2p/gossipsub/score'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, Ed25519PrivateKey } from '@libp2p/interface'
import { mplex } from '@libp2p/mplex'
import { ping } from '@libp2p/ping'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Registry } from 'prom-client'
import { MAX_GOSSIP_BYTES } from '../../core/codec/index.js'
import type { GossipSubInternals } from './gossip.js'
import { stringifyTopic, TOPIC_NAMES } from './topics.js'
import { coalescingEncrypter } from './write-coalescing.js'

/**
 * libp2p's connection monitor pings each connection every MONITOR_PING_EVERY_MS and cuts it when
 * a ping is not answered in time: that is how a peer that vanished without closing (a host that
 * died, a network that split) is noticed. Its own floor of 5 s cut live validators under load: at
 * n = 10 on two cores, saturated, a ping queued behind gossip and a busy event loop took longer,
 * six connections a run were aborted, the votes on them were lost, and rounds timed out (715 of
 * 100,000 txs failed with TIMEOUT; docs/PERFORMANCE.md). A connection is cut now when a ping is
 * not answered in PING_TIMEOUT_MS (more once pings have been slow: the timeout follows their
 * moving average, up to PING_TIMEOUT_MAX_MS), so a dead one is noticed within about 40 s
 * (CometBFT waits 45 s for a pong).
 */
export const MONITOR_PING_EVERY_MS = 10_000
export const PING_TIMEOUT_MS = 30_000
export const PING_TIMEOUT_MAX_MS = 60_000

/**
 * Ping streams we open per connection at once: the monitor's (one every MONITOR_PING_EVERY_MS,
 * each open up to PING_TIMEOUT_MAX_MS: at most 6) and the peer manager's (peers.ts: one every
 * 15 s, open 5 s at most). Past it a new ping fails, and the monitor cuts the connection for that
 * as for a lost ping.
 */
export const PING_STREAMS = 8

/** messages this large or larger are announced with IDONTWANT to mesh peers */
export const IDONTWANT_MIN_BYTES = 16 * 1024

export interface Libp2pInit {
  privateKey: Ed25519PrivateKey
  chainId: string
  listen: string[]
  bootstrap: string[]
  connectionGater: ConnectionGater
  /** the node's own opinion of a peer, added to gossipsub's score */
  appScore: (peerId: string) => number
  maxConnections?: number
  /** libp2p's Prometheus metrics (and the process's) go to this registry */
  metrics?: Registry
  /** the connection monitor's ping interval and timeout floor, for tests (MONITOR_PING_EVERY_MS, PING_TIMEOUT_MS) */
  connectionMonitor?: { pingEveryMs: number; pingTimeoutMs: number }
}

export async function createNodeLibp2p(init: Libp2pInit) {
  const topics = Object.fromEntries(
    TOPIC_NAMES.map((name) => [
      stringifyTopic({ chainId: init.chainId, name }),
      createTopicScoreParams({
        topicWeight: 1,
        timeInMeshWeight: 0.01,
        timeInMeshQuantum: 1_000,
        timeInMeshCap: 100,
        firstMessageDeliveriesWeight: 0.5,
        firstMessageDeliveriesDecay: 0.9,
        firstMessageDeliveriesCap: 20,
        // a quiet topic is normal here (no blocks without txs): never penalise silence
        meshMessageDeliveriesWeight: 0,
        meshFailurePenaltyWeight: 0,
        invalidMessageDeliveriesWeight: -20,
        invalidMessageDeliveriesDecay: 0.9,
      }),
    ]),
  )
  const node = await createLibp2p({
    start: false,
    privateKey: init.privateKey,
    addresses: { listen: init.listen },
    transports: [tcp()],
    // one socket write per turn of the event loop and connection, not three or four per yamux
    // frame (write-coalescing.ts)
    connectionEncrypters: [coalescingEncrypter(noise())],
    streamMuxers: [yamux(), mplex()],
    connectionGater: init.connectionGater,
    connectionManager: { maxConnections: init.maxConnections ?? 64 },
    connectionMonitor: {
      pingInterval: init.connectionMonitor?.pingEveryMs ?? MONITOR_PING_EVERY_MS,
      pingTimeout: {
        minTimeout: init.connectionMonitor?.pingTimeoutMs ?? PING_TIMEOUT_MS,
        maxTimeout: Math.max(
          PING_TIMEOUT_MAX_MS,
          init.connectionMonitor?.pingTimeoutMs ?? PING_TIMEOUT_MS,
        ),
      },
    },
    ...(init.metrics
      ? {
          metrics: prometheusMetrics({ registry: init.metrics, preserveExistingMetrics: true }),
        }
      : {}),
    peerDiscovery:
      init.bootstrap.length > 0 ? [bootstrap({ list: init.bootstrap, timeout: 0 })] : [],
    services: {
      identify: identify(),
      // libp2p's connection monitor pings every connection every 10 s and aborts the connection
      // if its ping fails; the peer manager pings too (latency for the debug view). With ping's
      // default of one outbound stream, the two collided under load: the monitor's stream was
      // refused ("Too many outbound protocol streams"), it aborted the connection, and the votes
      // on it were lost (txs failed with TIMEOUT at 200 tx/s). Room for both, each way.
      ping: ping({ maxOutboundStreams: PING_STREAMS, maxInboundStreams: 2 * PING_STREAMS }),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictNoSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        ignoreDuplicatePublishError: true,
        floodPublish: true,
        heartbeatInterval: 700,
        // IDONTWANT (gossipsub 1.2) tells mesh peers not to forward a message we already have. For
        // a small message it costs more than the copy it saves: each is a frame to every mesh
        // peer, and a tx round sends thousands of small messages a second (batches of a few txs,
        // certificates); measured at 200 tx/s on four validators it doubled the frames. Large
        // messages (a full batch, a block) still use it.
        idontwantMinDataSize: IDONTWANT_MIN_BYTES,
        maxInboundDataLength: MAX_GOSSIP_BYTES + 4096,
        allowedTopics: Object.keys(topics),
        scoreParams: createPeerScoreParams({
          topics,
          appSpecificScore: init.appScore,
          appSpecificWeight: 1,
          // a permissioned chain often runs several nodes per host: no IP colocation penalty
          IPColocationFactorWeight: 0,
        }),
      }),
    },
  })
  return Object.assign(node, { pubsub: node.services.pubsub as unknown as GossipSubInternals })
}

export type NodeLibp2p = Awaited<ReturnType<typeof createNodeLibp2p>>
