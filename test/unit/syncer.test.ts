/**
 * The syncer's choice of whom to ask (node/sync/syncer.ts): a peer's status height is seconds
 * old under load, so a height a verified message named for a peer (the Final it sent) counts too.
 */
import { describe, expect, it } from 'vitest'
import type { FinalizedBlock } from '../../src/core/codec/index.js'
import { createLogger, type Logger, silentLogger } from '../../src/node/log.js'
import { Reputation } from '../../src/node/p2p/reputation.js'
import { type HistoryAnswer, Syncer, type SyncerOptions } from '../../src/node/sync/syncer.js'

interface Asked {
  peer: string
  from: number
  to: number
  done: (answer: HistoryAnswer) => void
}

/** A syncer whose peers all last reported `statusHeight`; requests are held for the test. */
function syncerAt(
  head: number,
  statusHeight: number,
  peers = ['A', 'B', 'C'],
  opts: Partial<SyncerOptions> = {},
  log: Logger = silentLogger,
) {
  const now = 1_000_000
  let height = head
  const asked: Asked[] = []
  const pushed: FinalizedBlock[] = []
  let gaveUp = 0
  const reputation = new Reputation(
    () => {},
    () => now,
  )
  const syncer = new Syncer(
    {
      clock: { now: () => now, every: () => () => {} },
      fetch: (peer, from, to, _timeoutMs, done) => asked.push({ peer, from, to, done }),
      reputation,
      log,
      height: () => height,
      peers: () => peers.map((peerId) => ({ peerId, height: statusHeight })),
      push: (blocks) => {
        pushed.push(...blocks)
        height += blocks.length
        syncer.onApplied(height)
      },
      disconnect: () => {},
      done: () => gaveUp++,
    },
    opts,
  )
  return {
    syncer,
    asked,
    pushed,
    reputation,
    gaveUps: () => gaveUp,
  }
}

const block = (height: number) => ({ block: { header: { height } } }) as unknown as FinalizedBlock

describe('Syncer: whom it asks', () => {
  it('asks the peer a verified Final named, though every status is older than the block', () => {
    const s = syncerAt(27, 27)
    s.syncer.fetchFrom(28, 'B')
    expect(s.gaveUps()).toBe(0)
    expect(s.asked).toHaveLength(1)
    expect(s.asked[0]).toMatchObject({ peer: 'B', from: 28, to: 28 })
    s.asked[0]!.done({ blocks: [block(28)] })
    expect(s.pushed.map((b) => b.block!.header!.height)).toEqual([28])
    expect(s.gaveUps()).toBe(1) // caught up: done
  })

  it('a claim names no one: with no status that high it gives up at once (back to consensus)', () => {
    const s = syncerAt(27, 27)
    // a validator's vote of height 29 says its head is 28: most often it is a few ms ahead of us
    s.syncer.request(28, 'B')
    expect(s.asked).toHaveLength(0)
    expect(s.gaveUps()).toBe(1)
  })

  it('a peer asked only on a named height that sends nothing is passed over, not penalized', () => {
    const s = syncerAt(27, 27)
    s.syncer.fetchFrom(28, 'B')
    s.asked[0]!.done({ blocks: [] })
    expect(s.reputation.score('B')).toBe(0)
    // nobody else can serve: back to consensus rather than stuck
    expect(s.gaveUps()).toBe(1)
  })

  it('a peer whose own status claimed the height and sends nothing pays for it', () => {
    const s = syncerAt(27, 30)
    s.syncer.request(28, null)
    expect(s.asked).toHaveLength(1)
    const first = s.asked[0]!
    first.done({ blocks: [] })
    expect(s.reputation.score(first.peer)).toBeLessThan(0)
    // and the range goes to another peer whose status has it
    expect(s.asked).toHaveLength(2)
    expect(s.asked[1]!.peer).not.toBe(first.peer)
  })

  it('names at most 1,024 peers: the least recently named goes first', () => {
    const peers = ['Q', 'P0', ...Array.from({ length: 1_024 }, (_, i) => `P${i + 1}`)]
    const s = syncerAt(10, 10, peers, { parallel: 1 })
    s.syncer.fetchFrom(11, 'Q') // in flight, held
    s.syncer.fetchFrom(2_000, 'P0') // the highest, named second
    for (let i = 1; i <= 1_024; i++) s.syncer.fetchFrom(11 + i, `P${i}`)
    // 1,026 named: Q and P0, the oldest, are forgotten; the next range goes to the highest left
    s.asked[0]!.done({ blocks: [block(11)] })
    expect(s.asked.map((a) => a.peer)).toEqual(['Q', 'P1024'])
  })
})

describe('Syncer: its log lines', () => {
  /** a logger at debug level whose lines are kept as `LEVEL msg` */
  function capture() {
    const lines: string[] = []
    const log = createLogger({
      level: 'debug',
      format: 'json',
      sinks: [
        {
          write: (line) => {
            const j = JSON.parse(line) as { level: string; msg: string }
            lines.push(`${j.level} ${j.msg}`)
          },
        },
      ],
    })
    return { log, lines }
  }

  it('one block behind with nobody to ask (a race under load): debug lines only', () => {
    const c = capture()
    const s = syncerAt(27, 27, ['A', 'B', 'C'], {}, c.log)
    s.syncer.request(28, 'B')
    expect(s.gaveUps()).toBe(1)
    expect(c.lines.some((l) => l.includes('no peer can serve'))).toBe(true)
    expect(c.lines.filter((l) => !l.startsWith('debug'))).toEqual([])
  })

  it('further behind with nobody to ask: a warning, and the sync told at info', () => {
    const c = capture()
    const s = syncerAt(27, 27, ['A', 'B', 'C'], {}, c.log)
    s.syncer.request(40, 'B')
    expect(s.gaveUps()).toBe(1)
    expect(c.lines).toContain('warn no peer can serve the blocks we lack; giving up for now')
    expect(c.lines).toContain('info syncing')
  })
})
