/**
 * Compact proposals: a leader's BlockPrepare goes out on gossip with its txs
 * named by hash (CompactBlock), since every validator holds the committed
 * txs a leader proposes already; a block of 2,000 txs costs about 64 KB on
 * the wire instead of 500 KB, and no longer holds up the votes queued behind
 * it. The receiver rebuilds the block from the txs it holds and checks it
 * against the header's txRoot; when it lacks a tx, or holds another copy of
 * one (the same tx under another valid signature), it fetches the block
 * whole from the peer that relayed it, then from the leader, then from the
 * others. Nothing here is consensus: the core only ever sees blocks whole,
 * and the leader's signature is over the header's hash, so neither form can
 * change what is signed.
 *
 * Bounds: at most MAX_FETCHES blocks are fetched at once and each hash once
 * at a time (a flood of compact proposals costs gossip validation, which
 * already drops a leader's second distinct proposal of a round); a served
 * block that is not the one asked for costs its server reputation.
 */
import { accountsRoot, blockHash, txRoot } from '../../core/chain/block.js'
import { txHash } from '../../core/chain/tx.js'
import type { Block, BlockPrepare, BlockSyncMessage, Tx } from '../../core/codec/index.js'
import { bytesEqual, toHex } from '../../core/crypto/hash.js'
import { peerIdToString } from '../../core/crypto/peer-id.js'

/** Blocks fetched at once, at most (a proposal per round, a re-announced one or two beside it). */
export const MAX_FETCHES = 4
/** Peers asked for one block before giving up (the round's timeout then does the rest). */
export const MAX_FETCH_PEERS = 8

/** The message as it goes out on gossip: a proposal's block compact, anything else as it is. */
export function compactMessage(m: BlockSyncMessage): BlockSyncMessage {
  const p = m.prepare
  if (p?.block == null) return m
  const { header, txs, accounts } = p.block
  return {
    ...m,
    prepare: {
      ...p,
      block: undefined,
      compact: { header, txHashes: txs.map((tx) => txHash(tx)), accounts },
    },
  }
}

export type Rebuilt =
  | { ok: true; prepare: BlockPrepare }
  | { ok: false; missing: number; mismatch: boolean }

/** A compact proposal made whole from the txs at hand, or why not. */
export function rebuild(p: BlockPrepare, body: (hash: string) => Tx | undefined): Rebuilt {
  const c = p.compact!
  const txs: Tx[] = []
  let missing = 0
  for (const h of c.txHashes) {
    const tx = body(toHex(h))
    if (tx == null) missing++
    else txs.push(tx)
  }
  if (missing > 0) return { ok: false, missing, mismatch: false }
  const block: Block = { header: c.header, txs, accounts: c.accounts }
  // another copy of a tx (another valid signature) rebuilds another block: fetch the real one
  if (!bytesEqual(txRoot(txs), c.header!.txRoot)) return { ok: false, missing: 0, mismatch: true }
  return { ok: true, prepare: { ...p, compact: undefined, block } }
}

/** Whether a served block is the one asked for, body included. */
export function isBlock(block: Block, hash: string): boolean {
  const header = block.header!
  return (
    toHex(blockHash(header)) === hash &&
    bytesEqual(txRoot(block.txs), header.txRoot) &&
    bytesEqual(accountsRoot(block.accounts), header.accountsRoot)
  )
}

export interface CompactDeps {
  /** a tx body this node holds, by hex hash */
  body: (hash: string) => Tx | undefined
  /** ask one peer for a proposed block by its hash; null when it has none */
  fetch: (peer: string, hash: Uint8Array) => Promise<Block | null>
  /** the peers worth asking after the relayer and the leader */
  peers: () => string[]
  /** the message with its proposal made whole, for the core */
  deliver: (message: BlockSyncMessage, from: string) => void
  /** a peer served a block that is not the one asked for */
  misbehaving: (peer: string, reason: string) => void
  log: (msg: string, fields: Record<string, unknown>) => void
}

/** What the node counts of compact proposals (exported as metrics). */
export interface CompactCounts {
  rebuilt: number
  fetched: number
  failed: number
}

export class CompactBlocks {
  readonly counts: CompactCounts = { rebuilt: 0, fetched: 0, failed: 0 }
  private readonly inFlight = new Set<string>()

  constructor(private readonly deps: CompactDeps) {}

  /** A validated message with a compact proposal, from `from`: to the core whole, now or once fetched. */
  receive(m: BlockSyncMessage, from: string): void {
    const p = m.prepare!
    const rebuilt = rebuild(p, this.deps.body)
    if (rebuilt.ok) {
      this.counts.rebuilt++
      this.deps.deliver({ ...m, prepare: rebuilt.prepare }, from)
      return
    }
    const hash = toHex(blockHash(p.compact!.header!))
    if (this.inFlight.has(hash) || this.inFlight.size >= MAX_FETCHES) return
    this.deps.log('compact proposal: fetching the block', {
      height: p.height,
      round: p.round,
      missing: rebuilt.missing,
      mismatch: rebuilt.mismatch || undefined,
    })
    const leader = peerIdToString(p.electionCert!.candidate)
    const peers = [...new Set([from, leader, ...this.deps.peers()])].slice(0, MAX_FETCH_PEERS)
    this.inFlight.add(hash)
    void this.fetch(m, hash, peers, from).finally(() => this.inFlight.delete(hash))
  }

  private async fetch(
    m: BlockSyncMessage,
    hash: string,
    peers: string[],
    from: string,
  ): Promise<void> {
    const p = m.prepare!
    const bytes = blockHash(p.compact!.header!)
    for (const peer of peers) {
      let block: Block | null
      try {
        block = await this.deps.fetch(peer, bytes)
      } catch (err) {
        this.deps.log('block fetch failed', { peer, err })
        continue
      }
      if (block == null) continue
      if (!isBlock(block, hash)) {
        this.deps.misbehaving(peer, 'served a block that does not match the hash asked for')
        continue
      }
      this.counts.fetched++
      this.deps.deliver({ ...m, prepare: { ...p, compact: undefined, block } }, from)
      return
    }
    this.counts.failed++
    this.deps.log('no peer could give a proposed block', { height: p.height, round: p.round })
  }
}
