/**
 * Catch-up progress for `start`: a bar redrawn in place on a terminal, a log
 * line every few seconds otherwise (a file, a pipe, a service manager).
 */
import type { Logger } from '../node/log.js'
import { isOneBlockSync, type SyncProgress } from '../node/sync/syncer.js'

const BAR_WIDTH = 30
const REDRAW_MS = 200
const LOG_EVERY_MS = 5_000

export interface ProgressReporter {
  update(p: SyncProgress): void
  done(p: SyncProgress): void
}

export function progressBar(p: SyncProgress): string {
  const total = Math.max(1, p.to - p.from)
  const done = Math.min(total, Math.max(0, p.current - p.from))
  const filled = Math.round((done / total) * BAR_WIDTH)
  const pct = Math.floor((done / total) * 100)
  const eta = p.blocksPerSec > 0 ? `${Math.ceil((p.to - p.current) / p.blocksPerSec)}s` : '?'
  return `syncing [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${p.current}/${p.to} ${pct}% ${p.blocksPerSec} blocks/s eta ${eta}`
}

/** A catch-up of one block (isOneBlockSync: mostly a race) draws no bar and logs no line. */
export function progressReporter(stream: NodeJS.WriteStream, log: Logger): ProgressReporter {
  const shown = drawOrLog(stream, log)
  return {
    update: (p) => {
      if (!isOneBlockSync(p)) shown.update(p)
    },
    done: (p) => {
      if (!isOneBlockSync(p)) shown.done(p)
    },
  }
}

function drawOrLog(stream: NodeJS.WriteStream, log: Logger): ProgressReporter {
  let last = 0
  if (stream.isTTY) {
    return {
      update(p) {
        const now = Date.now()
        if (now - last < REDRAW_MS) return
        last = now
        stream.write(`\r${progressBar(p).padEnd(stream.columns ? stream.columns - 1 : 100)}`)
      },
      done(p) {
        stream.write(
          `\r${progressBar({ ...p, current: p.to }).padEnd(stream.columns ? stream.columns - 1 : 100)}\n`,
        )
      },
    }
  }
  return {
    update(p) {
      const now = Date.now()
      if (now - last < LOG_EVERY_MS) return
      last = now
      log.info('sync progress', { current: p.current, to: p.to, blocksPerSec: p.blocksPerSec })
    },
    done() {},
  }
}
