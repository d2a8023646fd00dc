/**
 * The three-phase vote over real libp2p nodes: accounts register through one
 * node and reach all; 200 txs submitted across the four nodes commit on
 * every node; with one validator stopped they still commit; with two stopped
 * they fail at the deadline with a clear reason and nothing is committed.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { signAccount, signTx } from '../../src/core/chain/signatures.js'
import { TxKind } from '../../src/core/codec/index.js'
import { addressOf, type Signer, toHex } from '../../src/core/crypto/index.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'

const net = new TestNet()
afterEach(() => net.stopAll())

const TX_ROUND_MS = 3_000

async function network(txRoundMs = TX_ROUND_MS): Promise<ChainNode[]> {
  const ids = await Promise.all([0, 1, 2, 3].map((i) => identity(`tx-${i}`)))
  const genesis = makeGenesis(ids, 'bftchain-test', { timeouts: { txRoundMs } })
  const first = await net.startNode({ genesis, identity: ids[0]! })
  const nodes = [first]
  for (const id of ids.slice(1))
    nodes.push(await net.startNode({ genesis, identity: id, bootstrap: first.multiaddrs() }))
  await waitFor('a full mesh', () => nodes.every((n) => n.peers.chainPeers().length === 3))
  await waitFor('gossip meshes', () =>
    nodes.every((n) =>
      (['tx', 'prepare', 'commit', 'accounts'] as const).every(
        (t) => n.gossip.subscribers(t).length === 3,
      ),
    ),
  )
  return nodes
}

async function register(nodes: ChainNode[], count: number): Promise<Signer[]> {
  const keys = Array.from({ length: count }, () => generateAccountKey('ed25519'))
  for (const [i, key] of keys.entries()) {
    const node = nodes[i % nodes.length]!
    const result = await node.registerAccount(
      signAccount(key, { chainId: node.chainId, username: `user-${i}`, data: '' }),
    )
    expect(result, JSON.stringify(result)).toMatchObject({ ok: true, status: 'pending' })
  }
  const addresses = keys.map((k) => toHex(addressOf(k.publicKey)))
  // known: pending, or already final (a block may take them while the others arrive)
  await waitFor('every node to know every account', () =>
    nodes.every((n) => addresses.every((a) => n.core.account(a) != null)),
  )
  return keys
}

function dataTx(chainId: string, key: Signer, nonce: number) {
  return signTx(key, {
    chainId,
    kind: TxKind.DATA,
    from: addressOf(key.publicKey),
    nonce,
    gas: 0,
    data: new TextEncoder().encode(`record ${nonce}`),
  })
}

describe('transactions: pre-prepare, prepare, commit', () => {
  it('200 txs submitted across all four nodes reach committed on every node', async () => {
    // four nodes share one JS thread here: give 200 concurrent rounds the default deadline
    const nodes = await network(10_000)
    const keys = await register(nodes, 10)
    const chainId = nodes[0]!.chainId
    const submissions = []
    for (let nonce = 0; nonce < 20; nonce++) {
      for (const [k, key] of keys.entries()) {
        const target = nodes[(nonce * keys.length + k) % 4]!
        submissions.push(target.submitTx(dataTx(chainId, key, nonce)))
      }
    }
    const results = await Promise.all(submissions)
    expect(results.filter((r) => !r.ok)).toEqual([])
    const hashes = results.map((r) => (r.ok ? r.hash! : ''))
    expect(new Set(hashes).size).toBe(200)
    // committed, or already further: final in a block
    const done = (n: ChainNode, h: string) =>
      ['committed', 'final'].includes(n.txRecord(h)?.status ?? '')
    await waitFor(
      '200 txs committed on every node',
      () => nodes.every((n) => hashes.every((h) => done(n, h))),
      60_000,
      200,
    )
    for (const n of nodes) {
      for (const h of hashes) {
        const inPool = n.core.pool.get(h)
        // committed txs wait in the pool, committed, until a block takes them
        if (n.txRecord(h)?.status === 'committed') expect(inPool?.status).toBe('committed')
      }
    }
    // the target counted q permits in each phase
    const record = nodes[0]!.txRecord(hashes[0]!)!
    expect(
      record.votes.prePrepare.filter((v) => v.result === 'permit').length,
    ).toBeGreaterThanOrEqual(3)
    expect(record.votes.prepare.filter((v) => v.result === 'permit').length).toBeGreaterThanOrEqual(
      3,
    )
  })

  it('with one validator stopped txs still commit; with two they fail at the deadline, committed nowhere', async () => {
    const nodes = await network()
    const [key] = await register(nodes, 1)
    const chainId = nodes[0]!.chainId
    await net.stopNode(nodes[3]!)
    const live = nodes.slice(0, 3)

    const one = await live[1]!.submitTx(dataTx(chainId, key!, 0))
    expect(one.ok).toBe(true)
    const committed = await live[1]!.waitForTx(one.ok ? one.hash! : '', 'committed', 20_000)
    expect(committed?.status).toBe('committed')
    // in the pool with its certificate, or already further: final in a block
    await waitFor('committed on the live nodes', () =>
      live.every(
        (n) =>
          n.core.pool.get(committed!.hash)?.status === 'committed' ||
          n.txRecord(committed!.hash)?.status === 'final',
      ),
    )

    await net.stopNode(nodes[2]!)
    const two = live.slice(0, 2)
    const started = Date.now()
    const r = await two[0]!.submitTx(dataTx(chainId, key!, 1))
    expect(r.ok).toBe(true)
    const failed = await two[0]!.waitForTx(r.ok ? r.hash! : '', 'committed', 20_000)
    expect(failed?.status).toBe('failed')
    expect(Date.now() - started).toBeGreaterThanOrEqual(TX_ROUND_MS - 300)
    expect(failed?.reason?.code).toBe('TIMEOUT')
    expect(failed?.reason?.message).toMatch(/2 of 3 permits in pre-prepare/)
    // nothing is half-committed: no node holds it as committed
    for (const n of two) expect(n.core.pool.get(failed!.hash)?.status).not.toBe('committed')
    expect(two[1]!.txRecord(failed!.hash)?.status).not.toBe('committed')
  })

  it('refuses bad input at the target with a code, and nothing enters the pool', async () => {
    const nodes = await network()
    const [key] = await register(nodes, 1)
    const chainId = nodes[0]!.chainId
    const stranger = generateAccountKey('ed25519')
    const unknown = await nodes[0]!.submitTx(dataTx(chainId, stranger, 0))
    expect(unknown).toMatchObject({ ok: false, code: 'UNKNOWN_SENDER', httpStatus: 400 })
    const forged = { ...dataTx(chainId, key!, 0), nonce: 5 } // signature no longer matches
    expect(await nodes[0]!.submitTx(forged)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' })
    const other = dataTx('other-chain', key!, 0)
    expect(await nodes[0]!.submitTx(other)).toMatchObject({ ok: false, code: 'WRONG_CHAIN' })
    expect(nodes[0]!.core.pool.sizes()).toMatchObject({ pending: 0, prepared: 0, committed: 0 })
  })
})
