/**
 * The admission gauge (consensus/admission-gauge.ts): a target holds what its rounds end in
 * time, by the rate they ended at lately, and names a fair Retry-After when it refuses.
 */
import { describe, expect, it } from 'vitest'
import {
  AdmissionGauge,
  MAX_RETRY_AFTER_S,
  RATE_WINDOW_MS,
} from '../../src/core/consensus/admission-gauge.js'

const gauge = () => new AdmissionGauge({ floor: 100, max: 10_000, horizonMs: 5_000 })

describe('the admission gauge', () => {
  it('holds the floor before any round ended, and names the longest wait', () => {
    const g = gauge()
    expect(g.rate(0)).toBe(0)
    expect(g.capacity(0)).toBe(100)
    expect(g.retryAfterS(0, 100)).toBe(MAX_RETRY_AFTER_S)
  })

  it('holds what it ends in its horizon at the rate it measured, within floor and max', () => {
    const g = gauge()
    // 400 txs a second for 4 s
    for (let t = 0; t <= 4_000; t += 250) g.ended(t, 100)
    expect(g.rate(4_000)).toBe(425) // 1,700 txs over 4 s
    expect(g.capacity(4_000)).toBe(2_125) // 5 s of it
    // the wait: until half the capacity is free again, at that rate
    expect(g.retryAfterS(4_000, 2_125)).toBe(Math.ceil((2_125 - 2_125 / 2) / 425))
    // a huge rate is held to max
    for (let t = 4_000; t < 5_000; t += 10) g.ended(t, 2_000)
    expect(g.capacity(5_000)).toBe(10_000)
  })

  it('forgets rounds older than its window: a node that stopped ending rounds falls back to the floor', () => {
    const g = gauge()
    for (let t = 0; t < 2_000; t += 100) g.ended(t, 500)
    expect(g.capacity(2_000)).toBeGreaterThan(100)
    const later = 2_000 + RATE_WINDOW_MS + 1
    expect(g.rate(later)).toBe(0)
    expect(g.capacity(later)).toBe(100)
  })

  it('a Retry-After is at least a second and at most MAX_RETRY_AFTER_S', () => {
    const g = gauge()
    g.ended(0, 1)
    expect(g.retryAfterS(1_000, 1_000_000)).toBe(MAX_RETRY_AFTER_S)
    for (let t = 0; t < 1_000; t += 10) g.ended(t, 1_000)
    expect(g.retryAfterS(1_000, 1)).toBe(1)
  })
})
