import { describe, expect, it } from 'vitest'
import { accountsRoot, blockHash, sortTxs, txRoot } from '../../src/core/chain/block.js'
import { signBlockPrepare } from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import {
  type Block,
  type BlockPrepare,
  type BlockSyncMessage,
  BlockSyncMessageCodec,
  DecodeError,
  HistoryRequestCodec,
  type Tx,
} from '../../src/core/codec/index.js'
import { BlockPrepare as BlockPrepareMessage } from '../../src/core/codec/messages.js'
import { validateBlockSync } from '../../src/core/consensus/validation.js'
import { toHex } from '../../src/core/crypto/hash.js'
import {
  CompactBlocks,
  type CompactDeps,
  compactMessage,
  isBlock,
  MAX_FETCHES,
  rebuild,
} from '../../src/node/node/compact-blocks.js'
import {
  accountIdentity,
  CHAIN_ID,
  electionCertificate,
  hashOf,
  registrationOf,
  signedTx,
  validators,
} from './fixtures.js'

const [v0, v1, v2, v3] = validators(4) as [
  ReturnType<typeof validators>[0],
  ReturnType<typeof validators>[0],
  ReturnType<typeof validators>[0],
  ReturnType<typeof validators>[0],
]
const ctx = {
  chainId: CHAIN_ID,
  validators: new ValidatorSet([v0, v1, v2, v3].map((v) => v.peerIdString)),
}

function txsOf(n: number, label = 'a'): Tx[] {
  return sortTxs(
    Array.from({ length: n }, (_, i) =>
      signedTx(accountIdentity(`${label}${i % 7}`), { nonce: Math.floor(i / 7) }),
    ),
  )
}

function proposal(txs: Tx[], height = 1, round = 0): BlockPrepare {
  const accounts = [registrationOf(accountIdentity('newcomer'), 'newcomer')]
  const block: Block = {
    header: {
      chainId: CHAIN_ID,
      height,
      round,
      parentHash: hashOf('parent'),
      proposer: v0.peerId,
      time: 1_000,
      txRoot: txRoot(txs),
      accountsRoot: accountsRoot(accounts),
      stateRoot: hashOf('state'),
    },
    txs,
    accounts,
  }
  return signBlockPrepare(v0.signer, CHAIN_ID, {
    height,
    round,
    block,
    electionCert: electionCertificate(v0, [v0, v1, v2], height, round),
  })
}

function holding(txs: Tx[]): (hash: string) => Tx | undefined {
  const byHash = new Map(txs.map((tx) => [toHex(txHash(tx)), tx]))
  return (hash) => byHash.get(hash)
}

/** the message as a peer decodes it off the wire */
function wire(m: BlockSyncMessage): BlockSyncMessage {
  return BlockSyncMessageCodec.decode(BlockSyncMessageCodec.encode(m))
}

describe('compact proposals', () => {
  const txs = txsOf(60)
  const whole = proposal(txs)

  it('travel as tx hashes and rebuild to the very proposal the leader signed', () => {
    const compact = wire(compactMessage({ prepare: whole, relay: 2 }))
    expect(compact.prepare!.block).toBeUndefined()
    expect(compact.prepare!.compact!.txHashes).toHaveLength(60)
    expect(compact.relay).toBe(2)
    const small = BlockSyncMessageCodec.encode(compact).length
    const big = BlockSyncMessageCodec.encode({ prepare: whole }).length
    expect(small).toBeLessThan(big / 2)

    const rebuilt = rebuild(compact.prepare!, holding(txs))
    expect(rebuilt.ok).toBe(true)
    if (!rebuilt.ok) return
    expect(BlockPrepareMessage.encode(rebuilt.prepare)).toEqual(BlockPrepareMessage.encode(whole))
  })

  it('leave everything but a proposal as it is', () => {
    const final: BlockSyncMessage = {
      final: { height: 1, round: 0, blockHash: hashOf('b'), commitCert: undefined },
    }
    expect(compactMessage(final)).toBe(final)
  })

  it('pass gossip validation on the leader signature over the header, and fail it on a changed header', () => {
    const compact = wire(compactMessage({ prepare: whole }))
    expect(() => validateBlockSync(ctx, compact)).not.toThrow()
    const forged = structuredClone(compact)
    forged.prepare!.compact!.header!.txRoot = hashOf('other txs')
    expect(() => validateBlockSync(ctx, forged)).toThrow(/BAD_SIGNATURE/)
  })

  it('say what is missing, and refuse a rebuild from another copy of a tx', () => {
    const compact = compactMessage({ prepare: whole }).prepare!
    expect(rebuild(compact, holding(txs.slice(5)))).toEqual({
      ok: false,
      missing: 5,
      mismatch: false,
    })
    // the same tx (same hash: the signature is not in it) under another signature
    const copies = txs.map((tx, i) => (i === 3 ? { ...tx, signature: hashOf('x').slice() } : tx))
    const other = new Map(copies.map((tx) => [toHex(txHash(tx)), tx]))
    expect(rebuild(compact, (h) => other.get(h))).toEqual({
      ok: false,
      missing: 0,
      mismatch: true,
    })
  })

  it('are refused by the codec with both forms or neither', () => {
    const compact = compactMessage({ prepare: whole }).prepare!
    const both = BlockSyncMessageCodec.encode({ prepare: { ...compact, block: whole.block } })
    expect(() => BlockSyncMessageCodec.decode(both)).toThrow(DecodeError)
    const neither = BlockSyncMessageCodec.encode({ prepare: { ...compact, compact: undefined } })
    expect(() => BlockSyncMessageCodec.decode(neither)).toThrow(/exactly one of block, compact/)
    const badHash = structuredClone(compact)
    badHash.compact!.txHashes[0] = new Uint8Array(31)
    expect(() =>
      BlockSyncMessageCodec.decode(BlockSyncMessageCodec.encode({ prepare: badHash })),
    ).toThrow(/compact.txHashes\[0\]/)
  })

  it('let a peer ask for one proposed block by hash, and nothing else with it', () => {
    const ask = { fromHeight: 0, toHeight: 0, blockHash: hashOf('b') }
    expect(HistoryRequestCodec.decode(HistoryRequestCodec.encode(ask)).blockHash).toEqual(
      hashOf('b'),
    )
    expect(() =>
      HistoryRequestCodec.decode(HistoryRequestCodec.encode({ ...ask, txHash: hashOf('t') })),
    ).toThrow(DecodeError)
  })

  it('check a served block against its hash and its body', () => {
    const hash = toHex(blockHash(whole.block!.header!))
    expect(isBlock(whole.block!, hash)).toBe(true)
    expect(isBlock({ ...whole.block!, txs: txs.slice(1) }, hash)).toBe(false)
    expect(isBlock({ ...whole.block!, accounts: [] }, hash)).toBe(false)
    expect(isBlock(whole.block!, toHex(hashOf('another')))).toBe(false)
  })
})

describe('CompactBlocks', () => {
  const txs = txsOf(30)
  const whole = proposal(txs)
  const hash = blockHash(whole.block!.header!)
  const leader = v0.peerIdString
  const relayer = v1.peerIdString

  function harness(
    held: Tx[],
    serve: (peer: string) => Block | null | 'throw',
    others: string[] = [v2.peerIdString, v3.peerIdString],
  ) {
    const asked: string[] = []
    const hashes = new Set<string>()
    const delivered: { m: BlockSyncMessage; from: string }[] = []
    const blamed: string[] = []
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const deps: CompactDeps = {
      body: holding(held),
      fetch: async (peer, h) => {
        hashes.add(toHex(h))
        asked.push(peer)
        await gate
        const b = serve(peer)
        if (b === 'throw') throw new Error('stream reset')
        return b
      },
      peers: () => others,
      deliver: (m, from) => delivered.push({ m, from }),
      misbehaving: (peer) => blamed.push(peer),
      log: () => {},
    }
    return { blocks: new CompactBlocks(deps), asked, hashes, delivered, blamed, release }
  }
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setImmediate(r))
    expect(cond()).toBe(true)
  }

  it('hands a rebuilt proposal to the core at once, its relay kept', () => {
    const h = harness(txs, () => null)
    h.blocks.receive(compactMessage({ prepare: whole, relay: 3 }), relayer)
    expect(h.delivered).toHaveLength(1)
    expect(h.delivered[0]!.m.relay).toBe(3)
    expect(h.delivered[0]!.m.prepare!.block).toEqual(whole.block)
    expect(h.delivered[0]!.from).toBe(relayer)
    expect(h.asked).toEqual([])
    expect(h.blocks.counts).toEqual({ rebuilt: 1, fetched: 0, failed: 0 })
  })

  it('fetches a block it cannot rebuild: the relayer, then the leader, then the others; a liar pays', async () => {
    const lie: Block = { ...whole.block!, txs: txs.slice(1) }
    const h = harness(txs.slice(2), (peer) =>
      peer === relayer ? 'throw' : peer === leader ? lie : whole.block!,
    )
    const m = compactMessage({ prepare: whole })
    h.blocks.receive(m, relayer)
    h.blocks.receive(m, relayer) // the same block again while it is fetched: not asked twice
    h.release()
    await until(() => h.delivered.length === 1)
    expect(h.asked).toEqual([relayer, leader, v2.peerIdString])
    expect([...h.hashes]).toEqual([toHex(hash)])
    expect(h.blamed).toEqual([leader])
    expect(h.delivered[0]!.m.prepare!.block).toEqual(whole.block)
    expect(h.delivered[0]!.m.prepare!.compact).toBeUndefined()
    expect(h.delivered[0]!.from).toBe(relayer)
    expect(h.blocks.counts).toEqual({ rebuilt: 0, fetched: 1, failed: 0 })
  })

  it('gives up when no peer has it, and fetches a bounded number of blocks at once', async () => {
    const h = harness([], () => null)
    for (let r = 0; r < MAX_FETCHES + 3; r++) {
      h.blocks.receive(compactMessage({ prepare: proposal(txs, 1, r) }), relayer)
    }
    // each fetch asks its first peer, and only MAX_FETCHES of them started
    await until(() => h.asked.length === MAX_FETCHES)
    h.release()
    await until(() => h.blocks.counts.failed === MAX_FETCHES)
    expect(h.delivered).toEqual([])
    expect(h.asked.length).toBe(MAX_FETCHES * 4) // relayer, leader and the two others, each
  })
})
