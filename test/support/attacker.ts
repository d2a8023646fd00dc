/**
 * A Byzantine node for the process tests: a real ChainNode — the project's
 * own libp2p stack and its honest core — holding a validator's key (or a key
 * of its own, as a non-validator peer), whose strategies rewrite what it
 * sends and add attacks of their own. The strategies are the simulation's
 * (test/sim/byzantine.ts); two more belong to a process only:
 *
 *   status-lie   answers every status request with a head a million blocks ahead
 *   flood-txs    publishes tx batches (itself as target) of ten 30 KiB txs under
 *                keys nobody registered, 100 batches (1,000 txs, 30 MB) a second
 *                (an observer's budget is far smaller, in rounds and in bytes)
 *
 *   tsx test/support/attacker.ts --home DIR --genesis FILE --listen MA
 *       [--bootstrap MA ...] --strategies capture,flood,status-lie,...
 *
 * Prints one JSON line {"peerId", "listen"} once it runs; runs until killed.
 */
import { randomBytes } from 'node:crypto'
import { batchHeader, signTx, signTxBatch } from '../../src/core/chain/signatures.js'
import { type TxBatch, TxKind } from '../../src/core/codec/index.js'
import type { CoreAction } from '../../src/core/consensus/types.js'
import { addressOf, type Signer } from '../../src/core/crypto/keys.js'
import { peerIdFromString } from '../../src/core/crypto/peer-id.js'
import { loadGenesis } from '../../src/node/config/genesis-file.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import { loadOrCreateNodeKey } from '../../src/node/keys/node-key.js'
import { silentLogger } from '../../src/node/log.js'
import { ChainNode } from '../../src/node/node/chain-node.js'
import type { TopicName } from '../../src/node/p2p/topics.js'
import { Adversary, isStrategy, LIE_AHEAD, type Strategy } from '../sim/byzantine.js'
import { Rng } from '../sim/rng.js'

const PROCESS_STRATEGIES = ['status-lie', 'flood-txs'] as const

function args(argv: string[]): {
  home: string
  genesis: string
  listen: string
  bootstrap: string[]
  strategies: string[]
} {
  const out = {
    home: '',
    genesis: '',
    listen: '/ip4/127.0.0.1/tcp/0',
    bootstrap: [] as string[],
    strategies: [] as string[],
  }
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1] ?? ''
    switch (argv[i]) {
      case '--home':
        out.home = v
        break
      case '--genesis':
        out.genesis = v
        break
      case '--listen':
        out.listen = v
        break
      case '--bootstrap':
        out.bootstrap.push(v)
        break
      case '--strategies':
        out.strategies = v.split(',').filter((s) => s !== '')
        break
      default:
        throw new Error(`unknown argument ${argv[i]}`)
    }
    i++
  }
  for (const s of out.strategies)
    if (!isStrategy(s) && !(PROCESS_STRATEGIES as readonly string[]).includes(s))
      throw new Error(`unknown strategy ${s}`)
  return out
}

async function main(): Promise<void> {
  const opts = args(process.argv.slice(2))
  const genesis = await loadGenesis(opts.genesis)
  const { identity } = await loadOrCreateNodeKey(opts.home)
  const node = await ChainNode.create({
    home: opts.home,
    genesis,
    identity,
    listen: [opts.listen],
    bootstrap: opts.bootstrap,
    log: silentLogger,
  })
  const strategies = opts.strategies.filter(isStrategy) as Strategy[]
  const adversary = new Adversary(
    {
      chainId: genesis.chainId,
      validatorIds: genesis.validators,
      core: () => node.core,
      // gossipsub sends to everyone: an equivocation is then seen whole, as evidence
      publish: (_from, p) => {
        node.gossip.publish(p.topic, p.message).catch(() => {})
      },
      publishBytes: (_from, topic, bytes) => {
        node.libp2p.pubsub.publish(node.gossip.topic(topic as TopicName), bytes).catch(() => {})
      },
      sendVote: (_from, to, vote) => {
        node.sendVote(to, vote).catch(() => {})
      },
      sendBatchVote: (_from, to, vote) => {
        node.sendBatchVote(to, vote).catch(() => {})
      },
      trace: () => {},
    },
    0,
    { signer: identity.signer, peerIdString: identity.peerId },
    strategies,
    new Rng(Number.parseInt(identity.peerId.slice(-6), 36) >>> 0),
  )
  // what the honest core sends goes through the strategies first
  const shell = node as unknown as { execute(a: CoreAction): void }
  const execute = shell.execute.bind(node)
  shell.execute = (a) => {
    for (const out of adversary.outgoing([a])) execute(out)
  }
  if (opts.strategies.includes('status-lie')) {
    const status = node.peers.status.bind(node.peers)
    node.peers.status = () => {
      const s = status()
      return { ...s, height: s.height + LIE_AHEAD }
    }
  }
  const flood = opts.strategies.includes('flood-txs')
    ? floodMessages(node, identity.signer, genesis.chainId)
    : null
  await node.start()
  setInterval(() => adversary.tick(), 250).unref()
  if (flood) floodTxs(node, flood)
  process.stdout.write(
    `${JSON.stringify({ peerId: identity.peerId, listen: node.multiaddrs() })}\n`,
  )
  const stop = (): void => {
    node.stop().finally(() => process.exit(0))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

/**
 * Batches of unregistered senders' 30 KiB txs, ten to a batch, 100 batches (30 MB) a second,
 * without end. They are made before the node starts, so the flood costs this process little CPU
 * (on a shared test machine the honest nodes' CPU is what matters).
 */
function floodMessages(node: ChainNode, signer: Signer, chainId: string): TxBatch[] {
  const target = peerIdFromString(node.peerId)
  const key = generateAccountKey('ed25519')
  const data = randomBytes(30 * 1024)
  const tx = (nonce: number) =>
    signTx(key, { chainId, kind: TxKind.DATA, from: addressOf(key.publicKey), nonce, gas: 0, data })
  return Array.from({ length: 200 }, (_, b) => {
    const txs = Array.from({ length: 10 }, (_, i) => tx(b * 10 + i))
    return signTxBatch(signer, chainId, batchHeader(target, b + 1, txs), txs)
  })
}

function floodTxs(node: ChainNode, batches: TxBatch[]): void {
  let next = 0
  setInterval(() => {
    for (let i = 0; i < 2; i++) {
      node.gossip.publish('tx', batches[next]!).catch(() => {})
      next = (next + 1) % batches.length
    }
  }, 20).unref()
}

main().catch((err) => {
  process.stderr.write(`attacker: ${(err as Error).stack}\n`)
  process.exit(1)
})
