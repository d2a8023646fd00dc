// Opening the node's one LevelDB, with its failures turned into StoreErrors.

import { mkdir } from 'node:fs/promises'
import { ClassicLevel } from 'classic-level'
import { StoreError } from './errors.js'

/** The raw database: Uint8Array keys and values, nothing else. */
export type Database = ClassicLevel<Uint8Array, Uint8Array>

/** Creates `dir` if needed and opens the LevelDB in it; throws StoreError 'LOCKED' or 'OPEN_FAILED'. */
export async function openDatabase(dir: string): Promise<Database> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (err) {
    throw new StoreError('OPEN_FAILED', `cannot create database directory ${dir}: ${reason(err)}`, {
      cause: err,
    })
  }
  const db: Database = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
    keyEncoding: 'view',
    valueEncoding: 'view',
  })
  try {
    await db.open()
  } catch (err) {
    if (isLocked(err)) {
      throw new StoreError('LOCKED', `${dir} is in use by another bftchain process`, { cause: err })
    }
    throw new StoreError('OPEN_FAILED', `cannot open database at ${dir}: ${reason(err)}`, {
      cause: err,
    })
  }
  return db
}

function codeOf(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined
}

/** classic-level reports LEVEL_DATABASE_NOT_OPEN with the cause LEVEL_LOCKED. */
function isLocked(err: unknown): boolean {
  const cause = err instanceof Error ? err.cause : undefined
  return codeOf(err) === 'LEVEL_LOCKED' || codeOf(cause) === 'LEVEL_LOCKED'
}

function reason(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined
  if (cause instanceof Error) return cause.message
  return err instanceof Error ? err.message : String(err)
}
