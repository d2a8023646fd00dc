/**
 * Blocks over real libp2p nodes: under a stream of txs the validators elect
 * leaders and finalise blocks; every node holds the same block hash and
 * state root at every height; txs become final; a restarted node catches up.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { blockHash } from '../../src/core/chain/block.js'
import { verifyCertificate } from '../../src/core/chain/certificates.js'
import type { Genesis } from '../../src/core/chain/genesis.js'
import { signAccount, signTx } from '../../src/core/chain/signatures.js'
import { BlockCodec, FinalizedBlockCodec, Phase, TxKind } from '../../src/core/codec/index.js'
import { addressOf, type Signer, toHex } from '../../src/core/crypto/index.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import type { NodeIdentity } from '../../src/node/keys/node-key.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { FAST_TIMEOUTS, identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'

const net = new TestNet()
afterEach(() => net.stopAll())

const TIMEOUTS = FAST_TIMEOUTS

async function network(
  n = 4,
): Promise<{ nodes: ChainNode[]; ids: NodeIdentity[]; genesis: Genesis }> {
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => identity(`blk-${i}`)))
  const genesis = makeGenesis(ids, 'bftchain-test', { timeouts: TIMEOUTS })
  const first = await net.startNode({ genesis, identity: ids[0]! })
  const nodes = [first]
  for (const id of ids.slice(1))
    nodes.push(await net.startNode({ genesis, identity: id, bootstrap: first.multiaddrs() }))
  await waitFor('a full mesh', () => nodes.every((x) => x.peers.chainPeers().length === n - 1))
  await waitFor('gossip meshes', () =>
    nodes.every(
      (x) =>
        x.gossip.subscribers('block-sync').length === n - 1 &&
        x.gossip.subscribers('election').length === n - 1,
    ),
  )
  return { nodes, ids, genesis }
}

async function register(node: ChainNode, name: string): Promise<Signer> {
  const key = generateAccountKey('ed25519')
  const r = await node.registerAccount(
    signAccount(key, { chainId: node.chainId, username: name, data: '' }),
  )
  expect(r.ok, JSON.stringify(r)).toBe(true)
  return key
}

const tx = (chainId: string, key: Signer, nonce: number) =>
  signTx(key, {
    chainId,
    kind: TxKind.DATA,
    from: addressOf(key.publicKey),
    nonce,
    gas: 0,
    data: new TextEncoder().encode(`r${nonce}`),
  })

async function sameChain(nodes: ChainNode[], height: number): Promise<void> {
  for (let h = 1; h <= height; h++) {
    const blocks = await Promise.all(nodes.map((n) => n.store.blocks.get(h)))
    const hashes = new Set(
      blocks.map((b) =>
        b ? toHex(FinalizedBlockCodec.decode(b).block!.header!.stateRoot) : 'missing',
      ),
    )
    expect(hashes.size, `state roots at height ${h}`).toBe(1)
    // the same block, byte for byte; each node keeps the q commit votes it counted itself
    const raw = new Set(
      blocks.map((b) =>
        b ? toHex(BlockCodec.encode(FinalizedBlockCodec.decode(b).block!)) : 'missing',
      ),
    )
    expect(raw.size, `blocks at height ${h}`).toBe(1)
    for (const b of blocks) {
      const fb = FinalizedBlockCodec.decode(b!)
      verifyCertificate(
        nodes[0]!.chainId,
        fb.commitCert!,
        { phase: Phase.BLOCK_COMMIT, subject: blockHash(fb.block!.header!), height: h },
        nodes[0]!.validators,
      )
    }
  }
}

describe('blocks', () => {
  it('finalises blocks under a stream of txs; every node agrees on hashes and state roots', async () => {
    const { nodes } = await network()
    const chainId = nodes[0]!.chainId
    const keys = [await register(nodes[0]!, 'alice'), await register(nodes[1]!, 'bob')]
    await waitFor(
      'accounts final',
      () =>
        nodes.every((n) =>
          keys.every((k) => n.core.account(toHex(addressOf(k.publicKey)))?.status === 'final'),
        ),
      20_000,
    )
    const hashes: string[] = []
    for (let i = 0; i < 30; i++) {
      const r = await nodes[i % 4]!.submitTx(tx(chainId, keys[i % 2]!, Math.floor(i / 2)))
      expect(r.ok, JSON.stringify(r)).toBe(true)
      if (r.ok) hashes.push(r.hash!)
      await new Promise((res) => setTimeout(res, 50))
    }
    await waitFor(
      'every tx final on every node',
      () => nodes.every((n) => hashes.every((h) => n.txRecord(h)?.status === 'final')),
      30_000,
      200,
    )
    const height = Math.min(...nodes.map((n) => n.core.head.height))
    expect(height).toBeGreaterThanOrEqual(2)
    await waitFor(
      'equal heights',
      () => nodes.every((n) => n.core.head.height === nodes[0]!.core.head.height),
      20_000,
    )
    await sameChain(nodes, nodes[0]!.core.head.height)
    expect(nodes.every((n) => n.core.pool.sizes().committed === 0)).toBe(true)
    expect(nodes[0]!.core.account(toHex(addressOf(keys[0]!.publicKey)))?.nonce).toBe(15)
  })

  it('a node that was stopped catches up after restart', async () => {
    const { nodes, ids, genesis } = await network()
    const chainId = nodes[0]!.chainId
    const key = await register(nodes[0]!, 'carol')
    await waitFor(
      'account final',
      () => nodes.every((n) => n.core.account(toHex(addressOf(key.publicKey)))?.status === 'final'),
      20_000,
    )
    const home = (nodes[3]!.store.location as string).replace(/\/data$/, '')
    await net.stopNode(nodes[3]!)
    const live = nodes.slice(0, 3)
    for (let i = 0; i < 10; i++) {
      const r = await live[i % 3]!.submitTx(tx(chainId, key, i))
      expect(r.ok).toBe(true)
      const done = await live[i % 3]!.waitForTx(r.ok ? r.hash! : '', 'final', 20_000)
      expect(done?.status, `tx ${i}`).toBe('final')
    }
    const height = live[0]!.core.head.height
    expect(height).toBeGreaterThanOrEqual(3)
    const again = await net.startNode({
      genesis,
      identity: ids[3]!,
      bootstrap: nodes[0]!.multiaddrs(),
      home,
    })
    await waitFor(
      'the restarted node to catch up',
      () => again.core.head.height >= height,
      30_000,
      200,
    )
    await sameChain([live[0]!, again], height)
  })
})
