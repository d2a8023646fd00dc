/** `start`'s catch-up progress (cli/progress.ts): a one-block catch-up shows nothing. */
import { describe, expect, it } from 'vitest'
import { progressReporter } from '../../src/cli/progress.js'
import { createLogger } from '../../src/node/log.js'

function reporter(isTTY: boolean) {
  const written: string[] = []
  const logged: string[] = []
  const stream = { isTTY, columns: 80, write: (s: string) => written.push(s) }
  const log = createLogger({
    level: 'debug',
    format: 'json',
    sinks: [{ write: (line) => logged.push((JSON.parse(line) as { msg: string }).msg) }],
  })
  return {
    progress: progressReporter(stream as unknown as NodeJS.WriteStream, log),
    written,
    logged,
  }
}

const at = (from: number, to: number, current: number) => ({ from, to, current, blocksPerSec: 5 })

describe('progressReporter', () => {
  it('logs a catch-up of many blocks, and nothing for one block (a race consensus settles)', () => {
    const r = reporter(false)
    r.progress.update(at(27, 28, 28))
    r.progress.done(at(27, 28, 28))
    expect(r.logged).toEqual([])
    r.progress.update(at(27, 400, 100))
    expect(r.logged).toEqual(['sync progress'])
  })

  it('on a terminal: a bar for many blocks, none for one', () => {
    const r = reporter(true)
    r.progress.update(at(27, 28, 28))
    r.progress.done(at(27, 28, 28))
    expect(r.written).toEqual([])
    r.progress.update(at(27, 400, 100))
    r.progress.done(at(27, 400, 400))
    expect(r.written.join('')).toContain('syncing [')
    expect(r.written.join('')).toContain('400/400 100%')
  })
})
