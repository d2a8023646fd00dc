// Store: the node's one LevelDB and its typed repositories (DESIGN §9).

import { Bucket } from './buckets.js'
import { type Database, openDatabase } from './database.js'
import {
  bytesCodec,
  fixedBytesCodec,
  heightCodec,
  type TxLocation,
  txLocationCodec,
  utf8Codec,
} from './keys.js'
import { Repository } from './repository.js'
import { WriteBatch } from './write-batch.js'

const HASH_BYTES = 32

export class Store {
  /** Small named records: 'head', 'sign-state'. */
  readonly meta: Repository<string, Uint8Array>
  /** Height -> encoded FinalizedBlock (the caller encodes; the store knows no codec). */
  readonly blocks: Repository<number, Uint8Array>
  /** Block hash -> height. */
  readonly blockHashIndex: Repository<Uint8Array, number>
  /** Tx hash -> where the tx was finalized. */
  readonly txIndex: Repository<Uint8Array, TxLocation>
  readonly accounts: Repository<Uint8Array, Uint8Array>
  readonly state: Repository<Uint8Array, Uint8Array>
  readonly pool: Repository<Uint8Array, Uint8Array>
  /** Height -> encoded Receipts of that block. */
  readonly receipts: Repository<number, Uint8Array>
  /** Evidence book key -> encoded Evidence (its seenAt orders the book; bounded by the core). */
  readonly evidence: Repository<string, Uint8Array>

  private constructor(private readonly db: Database) {
    const hash = fixedBytesCodec(HASH_BYTES)
    this.meta = new Repository(db, Bucket.meta, utf8Codec, bytesCodec)
    this.blocks = new Repository(db, Bucket.blocks, heightCodec, bytesCodec)
    this.blockHashIndex = new Repository(db, Bucket.blockHashIndex, hash, heightCodec)
    this.txIndex = new Repository(db, Bucket.txIndex, hash, txLocationCodec)
    this.accounts = new Repository(db, Bucket.accounts, bytesCodec, bytesCodec)
    this.state = new Repository(db, Bucket.state, bytesCodec, bytesCodec)
    this.pool = new Repository(db, Bucket.pool, bytesCodec, bytesCodec)
    this.receipts = new Repository(db, Bucket.receipts, heightCodec, bytesCodec)
    this.evidence = new Repository(db, Bucket.evidence, utf8Codec, bytesCodec)
  }

  /** Opens (creating if needed) the database in `dir`; StoreError 'LOCKED' if another process has it. */
  static async open(dir: string): Promise<Store> {
    return new Store(await openDatabase(dir))
  }

  get location(): string {
    return this.db.location
  }

  /** A new, empty batch over this store's repositories. */
  batch(): WriteBatch {
    return new WriteBatch(this.db)
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}
