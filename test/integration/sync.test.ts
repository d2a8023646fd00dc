/**
 * Joining the network: an observer that joins a chain hundreds of blocks long
 * fetches and checks it all; a peer that serves forged history is dropped and
 * the chain comes from an honest one; a validator down for many blocks
 * catches up and votes again.
 */
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { signAccount, signTx } from '../../src/core/chain/signatures.js'
import { FinalizedBlockCodec, TxKind } from '../../src/core/codec/index.js'
import { addressOf, type Signer, toHex } from '../../src/core/crypto/index.js'
import { peerIdToString } from '../../src/core/crypto/peer-id.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { HISTORY_PROTOCOL } from '../../src/node/p2p/protocols.js'
import { Store } from '../../src/node/store/index.js'
import { buildChain } from '../support/chain-builder.js'
import { FAST_TIMEOUTS, identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'

const net = new TestNet()
afterEach(() => net.stopAll())

const TIMEOUTS = FAST_TIMEOUTS

async function homeWithChain(build: (store: Store) => Promise<unknown>): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), 'bftchain-sync-'))
  const store = await Store.open(join(home, 'data'))
  try {
    await build(store)
  } finally {
    await store.close()
  }
  return home
}

async function headOf(
  node: ChainNode,
): Promise<{ height: number; hash: string; stateRoot: string }> {
  const head = node.core.head
  return { height: head.height, hash: toHex(head.hash), stateRoot: toHex(head.stateRoot) }
}

describe('joining the network', () => {
  it('an observer joining a chain of 300 blocks reaches the same head hash and state root', async () => {
    const ids = await Promise.all([0, 1, 2, 3].map((i) => identity(`sync-${i}`)))
    const genesis = makeGenesis(ids, 'bftchain-test', { timeouts: TIMEOUTS })
    const spec = { genesis, validators: ids, blocks: 300, txsPerBlock: 5 }
    const homes: string[] = []
    for (let i = 0; i < 2; i++) homes.push(await homeWithChain((s) => buildChain(spec, [s])))
    // two validators that hold the chain; the observer bootstraps to one of them
    const a = await net.startNode({ genesis, identity: ids[0]!, home: homes[0]! })
    await net.startNode({ genesis, identity: ids[1]!, home: homes[1]!, bootstrap: a.multiaddrs() })
    expect((await headOf(a)).height).toBe(300)

    const observerId = await identity('sync-observer')
    const observer = await net.startNode({
      genesis,
      identity: observerId,
      bootstrap: a.multiaddrs(),
    })
    expect(observer.role).toBe('observer')
    await waitFor(
      'the observer to reach height 300',
      () => observer.status().height >= 300,
      60_000,
      100,
    )
    expect(await headOf(observer)).toEqual(await headOf(a))
    // every block, byte for byte
    for (const h of [1, 2, 150, 299, 300]) {
      expect(Buffer.from((await observer.store.blocks.get(h))!)).toEqual(
        Buffer.from((await a.store.blocks.get(h))!),
      )
    }
    expect(observer.status().syncing).toBeNull()
  })

  it('a peer serving a forged certificate is dropped, and the chain comes from an honest peer', async () => {
    const ids = await Promise.all([0, 1, 2, 3].map((i) => identity(`forge-${i}`)))
    const genesis = makeGenesis(ids, 'bftchain-test', { timeouts: TIMEOUTS })
    const honestHome = await homeWithChain((s) =>
      buildChain({ genesis, validators: ids, blocks: 120, txsPerBlock: 3 }, [s]),
    )
    // the liar's chain is longer (so it looks best) and certified by only two validators
    const liarHome = await homeWithChain((s) =>
      buildChain({ genesis, validators: ids.slice(0, 2), blocks: 150, txsPerBlock: 3 }, [s]),
    )
    const honest = await net.startNode({ genesis, identity: ids[0]!, home: honestHome })
    const liarId = await identity('forge-liar')
    const liar = await net.startNode({ genesis, identity: liarId, home: liarHome })
    expect(liar.core.head.height).toBe(150)

    const observerId = await identity('forge-observer')
    const observer = await net.startNode({
      genesis,
      identity: observerId,
      bootstrap: [...liar.multiaddrs(), ...honest.multiaddrs()],
    })
    await waitFor(
      'the observer to drop the liar',
      () => observer.peers.isRefused(liarId.peerId),
      30_000,
      100,
    )
    await waitFor(
      'the observer to sync from the honest peer',
      () => observer.status().height >= 120,
      60_000,
      100,
    )
    expect(await headOf(observer)).toEqual(await headOf(honest))
    expect(observer.reputation.score(liarId.peerId)).toBeLessThan(-100)
    // the ban hangs up on the liar; the connection closes on its own time
    await waitFor('the connection to the liar to close', () =>
      observer.peerViews().every((v) => v.peerId !== liarId.peerId),
    )
  })

  it('a peer that stalls is penalised and passed over, and the chain comes from another', async () => {
    const ids = await Promise.all([0, 1, 2, 3].map((i) => identity(`stall-${i}`)))
    const genesis = makeGenesis(ids, 'bftchain-test', { timeouts: TIMEOUTS })
    const spec = { genesis, validators: ids, blocks: 200, txsPerBlock: 2 }
    const honest = await net.startNode({
      genesis,
      identity: ids[0]!,
      home: await homeWithChain((s) => buildChain(spec, [s])),
    })
    const stallerId = await identity('stall-staller')
    const staller = await net.startNode({
      genesis,
      identity: stallerId,
      home: await homeWithChain((s) => buildChain(spec, [s])),
    })
    // it says it has the chain, and never answers a history request
    await staller.libp2p.unhandle(HISTORY_PROTOCOL.protocol)
    await staller.libp2p.handle(HISTORY_PROTOCOL.protocol, () => {}, { maxInboundStreams: 64 })

    const observer = await net.startNode({
      genesis,
      identity: await identity('stall-observer'),
      bootstrap: [...staller.multiaddrs(), ...honest.multiaddrs()],
      // short enough to make the stalls cost little, long enough that the honest peer's
      // answers (three nodes share this thread) never time out: five stalls ban a peer
      sync: { requestTimeoutMs: 2_000, rangeSize: 20 },
    })
    await waitFor('the observer to sync', () => observer.status().height >= 200, 60_000, 100)
    expect(await headOf(observer)).toEqual(await headOf(honest))
    expect(observer.reputation.score(stallerId.peerId)).toBeLessThan(0)
  })

  it('a validator down for many blocks catches up, then votes again', async () => {
    const ids = await Promise.all([0, 1, 2, 3].map((i) => identity(`rejoin-${i}`)))
    const genesis = makeGenesis(ids, 'bftchain-test', { timeouts: TIMEOUTS })
    const nodes: ChainNode[] = [await net.startNode({ genesis, identity: ids[0]! })]
    for (const id of ids.slice(1))
      nodes.push(await net.startNode({ genesis, identity: id, bootstrap: nodes[0]!.multiaddrs() }))
    await waitFor('a full mesh', () => nodes.every((n) => n.peers.chainPeers().length === 3))
    const key: Signer = generateAccountKey('ed25519')
    const chainId = genesis.chainId
    expect(
      (await nodes[0]!.registerAccount(signAccount(key, { chainId, username: 'rejoin', data: '' })))
        .ok,
    ).toBe(true)
    await waitFor(
      'the account to be final',
      () => nodes.every((n) => n.core.account(toHex(addressOf(key.publicKey)))?.status === 'final'),
      20_000,
    )

    const down = nodes[3]!
    const home = (down.store.location as string).replace(/\/data$/, '')
    await net.stopNode(down)
    const live = nodes.slice(0, 3)
    let nonce = 0
    const send = async (via: ChainNode) => {
      const tx = signTx(key, {
        chainId,
        kind: TxKind.DATA,
        from: addressOf(key.publicKey),
        nonce: nonce++,
        gas: 0,
        data: new Uint8Array([1]),
      })
      const r = await via.submitTx(tx)
      expect(r.ok, JSON.stringify(r)).toBe(true)
      return r.ok ? r.hash! : ''
    }
    // many blocks while it is down: more than the sync threshold (8)
    while (live[0]!.core.head.height < 20)
      await live[0]!.waitForTx(await send(live[nonce % 3]!), 'final', 20_000)
    const missed = live[0]!.core.head.height

    const back = await net.startNode({
      genesis,
      identity: ids[3]!,
      home,
      bootstrap: nodes[0]!.multiaddrs(),
    })
    await waitFor('it to catch up', () => back.status().height >= missed, 60_000, 100)
    // and vote again: its signature appears in a later block's commit certificate
    const votedIn = async (): Promise<boolean> => {
      await send(live[nonce % 3]!)
      const head = back.core.head.height
      for (let h = missed + 1; h <= head; h++) {
        const bytes = await back.store.blocks.get(h)
        if (!bytes) continue
        const cert = FinalizedBlockCodec.decode(bytes).commitCert!
        if (cert.signatures.some((s) => peerIdToString(s.voter) === ids[3]!.peerId)) return true
      }
      return false
    }
    await waitFor('its vote in a commit certificate', votedIn, 60_000, 500)
    expect(back.core.blocks.syncing).toBe(false)
  })
})

describe('observers', () => {
  it('an observer relays, serves and takes client txs as their target, but never votes', async () => {
    const ids = await Promise.all([0, 1, 2, 3].map((i) => identity(`obs-${i}`)))
    const genesis = makeGenesis(ids, 'bftchain-test', { timeouts: TIMEOUTS })
    const nodes: ChainNode[] = [await net.startNode({ genesis, identity: ids[0]! })]
    for (const id of ids.slice(1))
      nodes.push(await net.startNode({ genesis, identity: id, bootstrap: nodes[0]!.multiaddrs() }))
    const observerId = await identity('obs-observer')
    const observer = await net.startNode({
      genesis,
      identity: observerId,
      bootstrap: nodes[0]!.multiaddrs(),
    })
    await waitFor(
      'a full mesh',
      () => [...nodes, observer].every((n) => n.peers.chainPeers().length === 4),
      20_000,
    )
    const votes: string[] = []
    for (const n of nodes) n.on('vote', (v) => votes.push(peerIdToString(v.voter)))

    const key = generateAccountKey('ed25519')
    const chainId = genesis.chainId
    const reg = await observer.registerAccount(
      signAccount(key, { chainId, username: 'watcher', data: '' }),
    )
    expect(reg.ok).toBe(true)
    await waitFor(
      'the account to be final on the observer',
      () => observer.core.account(toHex(addressOf(key.publicKey)))?.status === 'final',
      20_000,
    )
    const tx = signTx(key, {
      chainId,
      kind: TxKind.DATA,
      from: addressOf(key.publicKey),
      nonce: 0,
      gas: 0,
      data: new Uint8Array([7]),
    })
    const sent = await observer.submitTx(tx)
    expect(sent.ok).toBe(true)
    const record = await observer.waitForTx(sent.ok ? sent.hash! : '', 'final', 30_000)
    expect(record?.status).toBe('final')
    expect(record?.target).toBe(observerId.peerId)
    // q validator permits in each phase, none from the observer
    expect(record?.votes.prePrepare.map((v) => v.voter)).not.toContain(observerId.peerId)
    expect(record?.votes.prePrepare.length).toBeGreaterThanOrEqual(3)
    expect(votes).not.toContain(observerId.peerId)
    // the Final reaches the observer and node 0 each in its own time
    await waitFor(
      'node 0 at the height of the observer',
      () => nodes[0]!.status().height >= observer.status().height,
    )
    expect(observer.status()).toMatchObject({ role: 'observer', height: nodes[0]!.status().height })
  })
})
