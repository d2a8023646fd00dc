/** The tx-round congestion window (src/core/consensus/round-window.ts). */
import { describe, expect, it } from 'vitest'
import { RoundWindow, roundWindowOptions } from '../../src/core/consensus/round-window.js'

const opts = { initial: 8, min: 2, max: 20, lateMs: 1_000, coolDownMs: 500 }

describe('RoundWindow', () => {
  it('defaults from the tx round deadline: late at a third of it, cool-down a quarter', () => {
    expect(roundWindowOptions(9_000)).toMatchObject({ lateMs: 3_000, coolDownMs: 2_250 })
    expect(new RoundWindow(roundWindowOptions(9_000)).size).toBe(64)
  })

  it('a node capped at one round at a time never runs more, and never fewer', () => {
    const w = new RoundWindow(roundWindowOptions(9_000, 1))
    expect(w.size).toBe(1)
    for (let i = 0; i < 10; i++) w.onEnd(10, i)
    expect(w.size).toBe(1)
    w.onTimeout(100_000)
    expect(w.size).toBe(1)
  })

  it('grows by one per round in time until the first congestion (slow start), capped at max', () => {
    const w = new RoundWindow(opts)
    for (let i = 0; i < 5; i++) w.onEnd(100, i)
    expect(w.size).toBe(13)
    for (let i = 0; i < 50; i++) w.onEnd(100, i)
    expect(w.size).toBe(20)
  })

  it('halves on a late round or a timeout, at most once per cool-down, never below min', () => {
    const w = new RoundWindow(opts)
    w.onEnd(1_001, 0) // late
    expect(w.size).toBe(4)
    w.onTimeout(100) // within the cool-down: the same burst
    w.onEnd(5_000, 499)
    expect(w.size).toBe(4)
    w.onTimeout(500)
    expect(w.size).toBe(2)
    w.onTimeout(10_000)
    expect(w.size).toBe(2)
  })

  it('after a congestion grows by one per window of rounds in time (additive increase)', () => {
    const w = new RoundWindow(opts)
    w.onTimeout(0)
    expect(w.size).toBe(4)
    for (let i = 0; i < 3; i++) w.onEnd(100, 1_000)
    expect(w.size).toBe(4)
    w.onEnd(100, 1_000)
    expect(w.size).toBe(5)
    for (let i = 0; i < 5; i++) w.onEnd(100, 1_000)
    expect(w.size).toBe(6)
  })
})
