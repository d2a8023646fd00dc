import { describe, expect, it } from 'vitest'
import { DEFAULT_HEAP_GROWTH_PERCENT, heapGrowthFlag } from '../../src/node/heap.js'

describe('the heap growth of a node process (start --heap-growth)', () => {
  it('sets V8 heap growing percent to what was asked', () => {
    expect(heapGrowthFlag(DEFAULT_HEAP_GROWTH_PERCENT, [])).toBe(
      `--heap-growing-percent=${DEFAULT_HEAP_GROWTH_PERCENT}`,
    )
    expect(heapGrowthFlag(100, ['--enable-source-maps'])).toBe('--heap-growing-percent=100')
  })

  it('leaves V8 its own growth at 0', () => {
    expect(heapGrowthFlag(0, [])).toBeNull()
  })

  it("leaves the operator's own node flag alone", () => {
    expect(heapGrowthFlag(50, ['--heap-growing-percent=200'])).toBeNull()
    expect(heapGrowthFlag(50, ['--heap-growing-percent', '200'])).toBeNull()
    expect(heapGrowthFlag(50, ['--heap_growing_percent=200'])).toBeNull()
  })

  it('refuses what is not a whole percent from 0 to 1000', () => {
    for (const bad of [-1, 1.5, 1_001, Number.NaN])
      expect(() => heapGrowthFlag(bad, [])).toThrow(/whole percent from 0 to 1000/)
  })
})
