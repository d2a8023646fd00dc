/**
 * npm run bench:gossip -- [--nodes N] [--seconds S] [--size BYTES] [--runs N] [--publishers N]
 *                         [--window N]
 *
 * Raw gossipsub messages per second between `--nodes` libp2p nodes (default 4) in this one
 * process on 127.0.0.1: the transport's own ceiling, no codec, validator or consensus. The
 * nodes come from the node's own factory, createNodeLibp2p (src/node/p2p/create-libp2p.ts:
 * TCP, Noise, yamux then mplex, identify, ping, gossipsub with StrictNoSign, floodPublish and
 * the same score params), connect in a full mesh and subscribe to the `tx` topic. Once every
 * node sees the others subscribed and in its mesh, the first `--publishers` nodes (default
 * all) publish unique payloads of `--size` bytes (at least 12: run, publisher, sequence) for
 * `--seconds` (default 10). publish() resolves without waiting for the socket, so a publisher
 * keeps at most `--window` (default 64) messages not yet received by every other node; that
 * bounds memory. Receptions are counted per node; after the window the run drains for at
 * most 5 s. deliveredPerSec is receptions ÷ (publishing + drain) seconds; ratio is
 * receptions ÷ (published × (nodes − 1)), 1 when nothing is lost. All nodes share one event
 * loop, so this is the ceiling of one core running them all.
 *
 * Prints one JSON line per run and a summary line with the medians; logs go to stderr.
 * Nothing is asserted: this is a measurement.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNodeLibp2p, type NodeLibp2p } from '../src/node/p2p/create-libp2p.js'
import { stringifyTopic } from '../src/node/p2p/topics.js'
import { flag, median } from './bench-util.js'

const n = flag('nodes', 4)
const seconds = flag('seconds', 10)
const size = Math.max(12, flag('size', 256))
const runs = flag('runs', 3)
const publishers = Math.min(n, flag('publishers', n))
const window = flag('window', 64)
const DRAIN_MS = 5_000
/** gossipsub's default mesh degree D (not exported): a mesh holds min(n − 1, D) peers */
const MESH_D = 6
const MESH_DEADLINE_MS = 30_000
const chainId = 'bench-gossip'
const topic = stringifyTopic({ chainId, name: 'tx' })

/** the GossipSub class has it; the interface the factory returns does not */
const meshPeers = (node: NodeLibp2p): string[] =>
  (node.pubsub as unknown as { getMeshPeers(t: string): string[] }).getMeshPeers(topic)
const log = (msg: string) => process.stderr.write(`${msg}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const nodes: NodeLibp2p[] = []
const stopAll = () => Promise.allSettled(nodes.map((node) => node.stop()))
/** recv[j][p]: messages of publisher p received by node j in this run */
let recv: number[][] = []
let run = 0
const published: number[] = Array(n).fill(0)
/** per publisher: resolves its wait for room in the window */
const wake: ((() => void) | null)[] = Array(n).fill(null)
/** how many of publisher p's messages the slowest other node has yet to receive */
const behind = (p: number): number => {
  let least = published[p]!
  for (let j = 0; j < n; j++) if (j !== p) least = Math.min(least, recv[j]![p]!)
  return published[p]! - least
}

async function setup(): Promise<void> {
  for (let i = 0; i < n; i++) {
    const node = await createNodeLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      chainId,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: [],
      connectionGater: {},
      appScore: () => 0,
    })
    nodes.push(node)
    await node.start()
    node.pubsub.subscribe(topic)
    node.pubsub.addEventListener('message', (e) => {
      const d = e.detail.data
      const view = new DataView(d.buffer, d.byteOffset, d.byteLength)
      if (e.detail.topic !== topic || view.getUint32(0) !== run) return
      const p = view.getUint32(4)
      recv[i]![p]!++
      if (wake[p] != null && behind(p) < window) wake[p]!()
    })
  }
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) await nodes[i]!.dial(nodes[j]!.getMultiaddrs()[0]!)
  const want = Math.min(n - 1, MESH_D)
  const ready = () =>
    nodes.every(
      (node) =>
        node.pubsub.getSubscribers(topic).length === n - 1 && meshPeers(node).length >= want,
    )
  const deadline = Date.now() + MESH_DEADLINE_MS
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`meshes not formed in ${MESH_DEADLINE_MS} ms`)
    await sleep(50)
  }
}

async function publish(p: number, end: number, over: Promise<unknown>): Promise<void> {
  const data = new Uint8Array(size)
  const view = new DataView(data.buffer)
  view.setUint32(0, run)
  view.setUint32(4, p)
  while (Date.now() < end) {
    if (behind(p) >= window) {
      await Promise.race([new Promise<void>((r) => (wake[p] = r)), over])
      wake[p] = null
      continue
    }
    view.setUint32(8, published[p]!) // the sequence number
    await nodes[p]!.pubsub.publish(topic, data.slice())
    published[p]!++
  }
}

async function once(): Promise<Record<string, unknown>> {
  run++
  recv = nodes.map(() => Array(n).fill(0))
  published.fill(0)
  const t0 = Date.now()
  const end = t0 + seconds * 1_000
  const over = sleep(end - t0)
  await Promise.all(Array.from({ length: publishers }, (_, p) => publish(p, end, over)))
  const sent = published.reduce((a, b) => a + b, 0)
  const total = () => recv.flat().reduce((a, b) => a + b, 0)
  while (total() < sent * (n - 1) && Date.now() < end + DRAIN_MS) await sleep(10)
  const elapsed = (Date.now() - t0) / 1_000
  const delivered = total()
  return {
    nodes: n,
    publishers,
    size,
    seconds,
    publishedPerSec: Math.round(sent / seconds),
    deliveredPerSec: Math.round(delivered / elapsed),
    received: recv.map((r) => r.reduce((a, b) => a + b, 0)),
    ratio: sent === 0 ? 0 : Math.round((delivered / (sent * (n - 1))) * 10_000) / 10_000,
    drainMs: Math.max(0, Math.round(elapsed * 1_000 - seconds * 1_000)),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  }
}

async function main(): Promise<void> {
  const results: Record<string, unknown>[] = []
  try {
    await setup()
    log(`${n} nodes meshed on ${topic}; ${runs} run(s) of ${seconds} s, ${size} B messages`)
    for (let i = 0; i < runs; i++) {
      const r = await once()
      results.push(r)
      process.stdout.write(`${JSON.stringify(r)}\n`)
    }
    const med = (k: string) => median(results.map((r) => r[k] as number))
    const keys = ['publishedPerSec', 'deliveredPerSec', 'ratio', 'peakRssMb']
    const summary = Object.fromEntries(keys.map((k) => [k, med(k)]))
    process.stdout.write(`${JSON.stringify({ summary: 'median', runs, ...summary })}\n`)
  } finally {
    await stopAll()
  }
}

process.once('SIGINT', () => {
  void stopAll().then(() => process.exit(130))
})
await main()
