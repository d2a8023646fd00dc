import { describe, expect, it } from 'vitest'
import { dropOldest, lowWater, SizedFifo } from '../../src/core/fifo.js'

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

describe('a table bounded in entries and bytes', () => {
  it('keeps the first value of a key, and drops the oldest in a chunk past either bound', () => {
    const t = new SizedFifo<number, { bytes: number }>(32, 1_000)
    for (let i = 0; i < 32; i++) t.add(i, { bytes: 10 })
    t.add(0, { bytes: 500 }) // held already: its first value stays
    expect([t.size, t.bytes]).toEqual([32, 320])
    t.add(32, { bytes: 10 }) // one over the count: down to its low water, oldest first
    expect(t.size).toBe(lowWater(32))
    expect(t.has(0)).toBe(false)
    expect(t.has(32)).toBe(true)
    t.add(33, { bytes: 800 }) // over the bytes: the oldest go until both are under
    expect(t.bytes).toBeLessThanOrEqual(lowWater(1_000))
    expect(t.size).toBeLessThanOrEqual(lowWater(32))
    expect(t.get(33)).toEqual({ bytes: 800 })
  })

  it('counts an entry that let go of part of itself, and never grows one', () => {
    const t = new SizedFifo<string, { bytes: number }>(8, 100)
    t.add('a', { bytes: 60 })
    t.add('b', { bytes: 30 })
    t.shrink('a', 10)
    expect([t.bytes, t.get('a')?.bytes]).toEqual([40, 10])
    t.shrink('a', 50) // more than it holds: unchanged
    t.shrink('nobody', 1)
    expect(t.bytes).toBe(40)
    // the freed bytes make room: 60 more fit without dropping anything
    t.add('c', { bytes: 60 })
    expect([t.size, t.bytes]).toEqual([3, 100])
  })

  it('tells its owner of each entry the bounds push out, and not of one it takes out itself', () => {
    const dropped: string[] = []
    const t = new SizedFifo<string, { bytes: number }>(100, 64, (k) => dropped.push(k))
    t.add('a', { bytes: 30 })
    t.add('b', { bytes: 30 })
    t.delete('a')
    expect([t.size, t.bytes, dropped]).toEqual([1, 30, []])
    t.delete('a') // gone already: nothing changes
    t.add('c', { bytes: 30 })
    t.add('d', { bytes: 30 }) // 90 > 64: the oldest go, down to the low water (60)
    expect(dropped).toEqual(['b'])
    expect([t.size, t.bytes]).toEqual([2, 60])
  })
})
