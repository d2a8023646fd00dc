/**
 * The admission gauge (consensus/admission-gauge.ts): a target holds what its rounds end in
 * time, by the rate they ended at lately, and names a fair Retry-After when it refuses.
 */
import { describe, expect, it } from 'vitest'
import {
  AdmissionGauge,
  MAX_RETRY_AFTER_MS,
  MIN_RETRY_AFTER_MS,
  RATE_WINDOW_MS,
} from '../../src/core/consensus/admission-gauge.js'

const gauge = () => new AdmissionGauge({ floor: 100, max: 10_000, horizonMs: 5_000 })

describe('the admission gauge', () => {
  it('holds the floor before any round ended, and names the longest wait', () => {
    const g = gauge()
    expect(g.rate(0)).toBe(0)
    expect(g.capacity(0)).toBe(100)
    expect(g.retryAfterMs(0, 100)).toBe(MAX_RETRY_AFTER_MS)
  })

  it('holds what it ends in its horizon at the rate it measured, within floor and max', () => {
    const g = gauge()
    // 400 txs a second for 4 s
    for (let t = 0; t <= 4_000; t += 250) g.ended(t, 100)
    expect(g.rate(4_000)).toBe(425) // 1,700 txs over 4 s
    expect(g.capacity(4_000)).toBe(2_125) // 5 s of it
    // the wait: until half the capacity is free again, at that rate (2.5 s), in steps of 10 ms
    expect(g.retryAfterMs(4_000, 2_125)).toBe(2_500)
    expect(g.retryAfterMs(4_000, 1_500)).toBe(Math.ceil(((1_500 - 2_125 / 2) * 100) / 425) * 10)
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

  it('names a wait of at least MIN_RETRY_AFTER_MS and at most MAX_RETRY_AFTER_MS', () => {
    const g = gauge()
    g.ended(0, 1)
    expect(g.retryAfterMs(1_000, 1_000_000)).toBe(MAX_RETRY_AFTER_MS)
    for (let t = 0; t < 1_000; t += 10) g.ended(t, 1_000)
    expect(g.retryAfterMs(1_000, 1)).toBe(MIN_RETRY_AFTER_MS)
  })

  it('under load names less than a second: about half the horizon', () => {
    // a target ending 1,000 txs a second, with a 1 s horizon (the default: a tenth of 10 s)
    const g = new AdmissionGauge({ floor: 100, max: 100_000, horizonMs: 1_000 })
    for (let t = 0; t < 10_000; t += 100) g.ended(t, 100)
    expect(g.capacity(10_000)).toBe(1_000)
    // full: half of it is free again in half a second; a client told "1 s" would find it idle
    expect(g.retryAfterMs(10_000, 1_000)).toBe(500)
  })
})
