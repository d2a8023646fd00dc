import { describe, expect, it } from 'vitest'
import { CoreTimers, type TimerClock } from '../../src/node/node/core-timers.js'

/** A clock whose timers fire when the test says, reading whatever time the test sets. */
function manualClock() {
  let now = 1_000
  let next = 1
  const pending = new Map<number, { fn: () => void; ms: number }>()
  const clock: TimerClock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const id = next++
      pending.set(id, { fn, ms })
      return id
    },
    clearTimeout: (id) => pending.delete(id as number),
  }
  return {
    clock,
    set: (t: number) => {
      now = t
    },
    /** fire every pending timer, whatever the clock reads */
    fireAll: () => {
      const due = [...pending.values()]
      pending.clear()
      for (const t of due) t.fn()
    },
    pending,
  }
}

describe('the core timers in the shell', () => {
  it('never hands the core a time before the timer’s own, when the timer fires a moment early', () => {
    const m = manualClock()
    const fired: [string, number][] = []
    const timers = new CoreTimers((key, now) => fired.push([key, now]), m.clock)
    timers.set('propose:2:0', 1_100)
    expect([...m.pending.values()].map((t) => t.ms)).toEqual([100])
    m.set(1_099) // setTimeout came back a millisecond before Date.now() reached `at`
    m.fireAll()
    expect(fired).toEqual([['propose:2:0', 1_100]])
    // a late one keeps its own, later time
    timers.set('round:2:0', 1_200)
    m.set(1_250)
    m.fireAll()
    expect(fired.at(-1)).toEqual(['round:2:0', 1_250])
    expect(timers.size).toBe(0)
  })

  it('replaces a timer set again under the same key, and clears them all', () => {
    const m = manualClock()
    const fired: string[] = []
    const timers = new CoreTimers((key) => fired.push(key), m.clock)
    timers.set('tx-batch', 1_010)
    timers.set('tx-batch', 1_020)
    timers.set('heartbeat:1:0', 1_500)
    expect(m.pending.size).toBe(2)
    timers.clearAll()
    expect(m.pending.size).toBe(0)
    m.fireAll()
    expect(fired).toEqual([])
  })
})
