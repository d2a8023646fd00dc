/**
 * Equivocation evidence on disk, in the store's `evidence` bucket: one
 * record per question the core's EvidenceBook keeps, under the book's own
 * key (`kind|offender|height|round|question`), the encoded Evidence as the
 * value. The book is bounded (MAX_EVIDENCE): the op that adds a record names
 * the one it pushed out, deleted in the same batch, so the disk holds what
 * the book holds.
 *
 * The book's order is the order records were seen; the disk keeps it in
 * each record's `seenAt`, so loading sorts by it (ties by key). The sort is
 * over at most MAX_EVIDENCE records, once, at start.
 */
import { DecodeError, type Evidence, EvidenceCodec } from '../../core/codec/index.js'
import type { PersistOp } from '../../core/consensus/types.js'
import { type Store, StoreError, type WriteBatch } from '../store/index.js'

/** What EvidenceBook.restore takes: the records, oldest first. */
export type SavedEvidence = { key: string; evidence: Evidence }[]

export function addEvidenceOps(batch: WriteBatch, store: Store, ops: PersistOp[]): void {
  for (const op of ops) {
    if (op.op !== 'evidence-put') continue
    batch.put(store.evidence, op.key, EvidenceCodec.encode(op.evidence))
    if (op.evict != null) batch.del(store.evidence, op.evict)
  }
}

/** Every evidence record on disk, oldest first (by seenAt, then key). StoreError 'CORRUPT' on bad bytes. */
export async function loadEvidence(store: Store): Promise<SavedEvidence> {
  const saved: SavedEvidence = []
  for await (const [key, value] of store.evidence.entries()) {
    let evidence: Evidence
    try {
      evidence = EvidenceCodec.decode(value)
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err
      throw new StoreError('CORRUPT', `evidence record ${key}: ${err.message}`, { cause: err })
    }
    saved.push({ key, evidence })
  }
  return saved.sort(
    (a, b) => a.evidence.seenAt - b.evidence.seenAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  )
}
