import { describe, expect, it } from 'vitest'
import { dropOldest, lowWater } from '../../src/core/fifo.js'

describe('dropping the oldest entries of a bounded table', () => {
  it('drops from the front, in insertion order, while asked, and says which before each goes', () => {
    const table = new Map<number, string>()
    for (let i = 0; i < 10; i++) table.set(i, `v${i}`)
    const seen: string[] = []
    dropOldest(
      table,
      () => table.size > 6,
      (k) => seen.push(table.get(k)!),
    )
    expect(seen).toEqual(['v0', 'v1', 'v2', 'v3'])
    expect([...table.keys()]).toEqual([4, 5, 6, 7, 8, 9])
    const set = new Set(['a', 'b', 'c'])
    dropOldest(set, () => set.size > 1)
    expect([...set]).toEqual(['c'])
  })

  it('trims to a sixteenth below the bound, and never to nothing', () => {
    expect(lowWater(50_000)).toBe(46_875)
    expect(lowWater(16)).toBe(15)
    expect(lowWater(1)).toBe(0)
  })
})
