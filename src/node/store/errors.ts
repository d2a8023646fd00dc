// StoreError: what the store throws when the disk, not the caller, is the problem.

export type StoreErrorCode =
  /** another process (or another Store in this one) holds the database's LevelDB lock */
  | 'LOCKED'
  /** the database could not be opened or created for any other reason */
  | 'OPEN_FAILED'
  /** LevelDB rejected a batch; nothing of it was written */
  | 'WRITE_FAILED'
  /** write() on a batch that was already written (or attempted) */
  | 'BATCH_WRITTEN'
  /** write() on a batch whose building threw part way; it would be half of what was meant */
  | 'BATCH_INCOMPLETE'
  /** bytes on disk that do not decode as what their bucket holds */
  | 'CORRUPT'

export class StoreError extends Error {
  override readonly name = 'StoreError'
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
