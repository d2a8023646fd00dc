/**
 * A node's disk in the simulation: the real shell's batch writers
 * (src/node/node/pool-store.ts PoolRecords, chain-store.ts addChainOps) run
 * against an in-memory key-value map in place of LevelDB, so the simulated
 * disk holds exactly what the real store would. The disk survives a crash;
 * what a restarted node reads back mirrors loadChain and loadPool, in the
 * store's key order (the pool bucket is read back by the real PoolRecords).
 */
import { txHashHex } from '../../src/core/chain/tx.js'
import {
  type FinalizedBlock,
  FinalizedBlockCodec,
  PoolTxsCodec,
  type SignState,
  SignStateCodec,
} from '../../src/core/codec/index.js'
import type { RestoredChain, RestoredPool } from '../../src/core/consensus/core.js'
import type { PersistOp } from '../../src/core/consensus/types.js'
import { fromHex, toHex } from '../../src/core/crypto/hash.js'
import { decodeAccount, decodeUnclaimed } from '../../src/core/state/records.js'
import { addChainOps, SIGN_STATE_KEY } from '../../src/node/node/chain-store.js'
import { addEvidenceOps } from '../../src/node/node/evidence-store.js'
import { type ChainHead, decodeHead, HEAD_KEY } from '../../src/node/node/head.js'
import { PoolRecords } from '../../src/node/node/pool-store.js'
import type { Store, WriteBatch } from '../../src/node/store/index.js'

/** The repositories of the real Store, by name. */
const REPOS = [
  'meta',
  'blocks',
  'blockHashIndex',
  'txIndex',
  'accounts',
  'state',
  'pool',
  'receipts',
  'evidence',
] as const
type RepoName = (typeof REPOS)[number]

/** Keys as the real store orders them: heights as fixed-width numbers, bytes as hex. */
function keyString(key: unknown): string {
  if (typeof key === 'number') return key.toString(16).padStart(16, '0')
  if (typeof key === 'string') return key
  if (key instanceof Uint8Array) return toHex(key)
  throw new TypeError(`unexpected store key ${String(key)}`)
}

function copyValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.slice()
  if (typeof value === 'object' && value !== null) return structuredClone(value)
  return value
}

type Op =
  | { type: 'put'; repo: RepoName; key: string; value: unknown }
  | { type: 'del'; repo: RepoName; key: string }

/** Stands in for the store's WriteBatch: collects puts and dels, applied all at once. */
class MemoryBatch {
  readonly ops: Op[] = []

  put(repo: RepoName, key: unknown, value: unknown): this {
    this.ops.push({ type: 'put', repo, key: keyString(key), value: copyValue(value) })
    return this
  }

  del(repo: RepoName, key: unknown): this {
    this.ops.push({ type: 'del', repo, key: keyString(key) })
    return this
  }
}

/** The fake Store the writers see: each repository is just its name. */
const FAKE_STORE = Object.fromEntries(REPOS.map((r) => [r, r])) as unknown as Store

export class SimDisk {
  private readonly kv = new Map<RepoName, Map<string, unknown>>(
    REPOS.map((r) => [r, new Map<string, unknown>()]),
  )
  /** batches written, for statistics */
  writes = 0
  /** the pool bucket's writer, as a node process holds one; made anew when a node restarts */
  private pool = new PoolRecords()

  /** One atomic batch, exactly as ChainNode's persist effect builds it. */
  write(ops: PersistOp[]): void {
    const batch = new MemoryBatch()
    this.pool.addOps(batch as unknown as WriteBatch, FAKE_STORE, ops)
    addChainOps(batch as unknown as WriteBatch, FAKE_STORE, ops)
    addEvidenceOps(batch as unknown as WriteBatch, FAKE_STORE, ops)
    for (const op of batch.ops) {
      const repo = this.kv.get(op.repo)!
      if (op.type === 'put') repo.set(op.key, op.value)
      else repo.delete(op.key)
    }
    this.writes++
  }

  private sorted(repo: RepoName): [string, unknown][] {
    return [...this.kv.get(repo)!.entries()].sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
    )
  }

  head(): ChainHead | null {
    const bytes = this.kv.get('meta')!.get(HEAD_KEY) as Uint8Array | undefined
    return bytes == null ? null : decodeHead(bytes)
  }

  /** The final block at `height`, decoded afresh (nothing shared with the writer). */
  block(height: number): FinalizedBlock | undefined {
    const bytes = this.blockBytes(height)
    return bytes == null ? undefined : FinalizedBlockCodec.decode(bytes)
  }

  blockBytes(height: number): Uint8Array | undefined {
    return this.kv.get('blocks')!.get(keyString(height)) as Uint8Array | undefined
  }

  /** What this validator last recorded signing (its SignState), decoded afresh. */
  signState(): SignState | null {
    const bytes = this.kv.get('meta')!.get(SIGN_STATE_KEY) as Uint8Array | undefined
    return bytes == null ? null : SignStateCodec.decode(bytes)
  }

  /** What ChainNode.create hands to core.restoreChain (chain-store.ts loadChain). */
  loadChain(): RestoredChain | null {
    const head = this.head()
    const signBytes = this.kv.get('meta')!.get(SIGN_STATE_KEY) as Uint8Array | undefined
    const signState = signBytes ? SignStateCodec.decode(signBytes) : null
    if (head == null) {
      return signState
        ? {
            head: { height: 0, hash: new Uint8Array(32), time: 0, stateRoot: new Uint8Array(32) },
            accounts: [],
            unclaimed: [],
            signState,
          }
        : null
    }
    const accounts = this.sorted('accounts').map(([k, v]) => decodeAccount(k, v as Uint8Array))
    const unclaimed: RestoredChain['unclaimed'] = this.sorted('state').map(([k, v]) => [
      k,
      decodeUnclaimed(v as Uint8Array),
    ])
    return { head, accounts, unclaimed, signState }
  }

  /** What ChainNode.create hands to core.restore (pool-store.ts loadPool), by a fresh writer. */
  loadPool(): RestoredPool {
    this.pool = new PoolRecords()
    // the tx index's keys are the hashes' hex here (keyString)
    const txIndex = this.kv.get('txIndex')!
    return this.pool.restore(
      this.sorted('pool').map(([k, v]): [Uint8Array, Uint8Array] => [fromHex(k), v as Uint8Array]),
      (hash) => txIndex.has(hash),
    )
  }

  /**
   * The committed txs the pool bucket keeps for a restart (those the tx index does not have), and
   * how many of its records keep none (each should have gone with its last tx).
   */
  poolKept(): { hashes: Set<string>; spent: number } {
    const txIndex = this.kv.get('txIndex')!
    const hashes = new Set<string>()
    let spent = 0
    for (const [k, v] of this.sorted('pool')) {
      if (k.startsWith('01') && !txIndex.has(k.slice(2))) hashes.add(k.slice(2))
      if (!k.startsWith('03')) continue
      let kept = 0
      for (const { tx } of PoolTxsCodec.decode(v as Uint8Array).txs) {
        const hash = txHashHex(tx!)
        if (txIndex.has(hash)) continue
        hashes.add(hash)
        kept++
      }
      if (kept === 0) spent++
    }
    return { hashes, spent }
  }

  /** The accounts and unclaimed gas on disk, as records (for the end-of-run checks). */
  ledgerRecords(): {
    accounts: ReturnType<typeof decodeAccount>[]
    unclaimed: RestoredChain['unclaimed']
  } {
    return {
      accounts: this.sorted('accounts').map(([k, v]) => decodeAccount(k, v as Uint8Array)),
      unclaimed: this.sorted('state').map(([k, v]) => [k, decodeUnclaimed(v as Uint8Array)]),
    }
  }
}
