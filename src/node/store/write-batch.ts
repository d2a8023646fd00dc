// WriteBatch: the only way to write. Everything put in one batch lands together, or none of it.

import type { Database } from './database.js'
import { StoreError } from './errors.js'
import type { Repository } from './repository.js'

type Operation =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array }

/**
 * Operations are encoded as they are added, so a bad key or value throws here, before the disk
 * is touched; a batch whose building threw refuses to write. A batch is written at most once.
 */
export class WriteBatch {
  private readonly ops: Operation[] = []
  private failed = false
  private failure: unknown
  private written = false

  constructor(private readonly db: Database) {}

  put<K, V>(repo: Repository<K, V>, key: K, value: V): this {
    return this.add(repo, () => ({
      type: 'put',
      key: repo.encodeKey(key),
      value: repo.encodeValue(value),
    }))
  }

  del<K, V>(repo: Repository<K, V>, key: K): this {
    return this.add(repo, () => ({ type: 'del', key: repo.encodeKey(key) }))
  }

  get size(): number {
    return this.ops.length
  }

  /** Writes every operation atomically with `sync: true` (on disk when this resolves). */
  async write(): Promise<void> {
    if (this.written) throw new StoreError('BATCH_WRITTEN', 'this batch was already written')
    this.written = true
    if (this.failed) {
      throw new StoreError('BATCH_INCOMPLETE', 'an operation of this batch failed to encode', {
        cause: this.failure,
      })
    }
    // the operations, encoded and checked as they were added, go into classic-level's chained
    // batch one call each: about half the main thread's time per operation of an array batch
    // (which abstract-level copies and checks once more, then the binding reads back field by
    // field); a final block writes one operation per tx (the tx index). Made here, not as they
    // are added, so a batch that is never written holds no native memory.
    let chained: ReturnType<Database['batch']> | undefined
    try {
      chained = this.db.batch()
      for (const op of this.ops) {
        if (op.type === 'put') chained.put(op.key, op.value)
        else chained.del(op.key)
      }
      await chained.write({ sync: true })
    } catch (err) {
      // idempotent: frees the native batch if a put threw before write() (which closes it itself)
      await chained?.close().catch(() => {})
      const detail = err instanceof Error ? err.message : String(err)
      throw new StoreError('WRITE_FAILED', `batch of ${this.ops.length} not written: ${detail}`, {
        cause: err,
      })
    }
  }

  private add<K, V>(repo: Repository<K, V>, encode: () => Operation): this {
    if (this.written) throw new StoreError('BATCH_WRITTEN', 'this batch was already written')
    if (repo.db !== this.db) throw new Error('repository belongs to another database')
    try {
      this.ops.push(encode())
    } catch (err) {
      if (!this.failed) {
        this.failed = true
        this.failure = err
      }
      throw err
    }
    return this
  }
}
