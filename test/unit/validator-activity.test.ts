/**
 * Validator activity (src/node/node/validator-activity.ts): the counts over
 * a window of commit certificates and evidence, and the tracker's reads —
 * none at an unchanged head, only the new blocks at a new one, never more
 * than the window, one read for concurrent calls.
 */
import { describe, expect, it } from 'vitest'
import {
  ACTIVITY_WINDOW,
  type CommitSigners,
  ValidatorActivityTracker,
  validatorActivity,
} from '../../src/node/node/validator-activity.js'

const V = ['a', 'b', 'c', 'd']

/** A chain whose block h was signed by everyone but `absent(h)`. */
function chain(absent: (h: number) => string | null) {
  const reads: [number, number][] = []
  const read = async (from: number, to: number): Promise<CommitSigners[]> => {
    reads.push([from, to])
    const out: CommitSigners[] = []
    for (let h = Math.max(1, from); h <= to; h++)
      out.push({ height: h, signers: V.filter((v) => v !== absent(h)) })
    return out
  }
  return { reads, read }
}

describe('validatorActivity', () => {
  it('counts signatures, the last signed height and evidence per validator', () => {
    const window: CommitSigners[] = [
      { height: 7, signers: ['a', 'b', 'c'] },
      { height: 8, signers: ['a', 'b', 'd'] },
      { height: 9, signers: ['a', 'c', 'd', 'stranger'] },
    ]
    const got = validatorActivity(V, window, ['d', 'd', 'stranger', 'b'])
    expect(Object.fromEntries(got)).toEqual({
      a: { lastSignedHeight: 9, signedRecent: 3, recentWindow: 3, evidence: 0 },
      b: { lastSignedHeight: 8, signedRecent: 2, recentWindow: 3, evidence: 1 },
      c: { lastSignedHeight: 9, signedRecent: 2, recentWindow: 3, evidence: 0 },
      d: { lastSignedHeight: 9, signedRecent: 2, recentWindow: 3, evidence: 2 },
    })
    // a signer not in the set is not counted, and gets no entry
    expect(got.has('stranger')).toBe(false)
  })

  it('a validator that signed nothing in the window has no last signed height', () => {
    const got = validatorActivity(V, [{ height: 1, signers: ['a', 'b', 'c'] }], [])
    expect(got.get('d')).toEqual({
      lastSignedHeight: null,
      signedRecent: 0,
      recentWindow: 1,
      evidence: 0,
    })
    // genesis only: an empty window
    expect(validatorActivity(V, [], []).get('a')).toEqual({
      lastSignedHeight: null,
      signedRecent: 0,
      recentWindow: 0,
      evidence: 0,
    })
  })

  it('a signer named twice in one certificate counts once', () => {
    const got = validatorActivity(V, [{ height: 4, signers: ['a', 'a', 'b'] }], [])
    expect(got.get('a')?.signedRecent).toBe(1)
  })
})

describe('ValidatorActivityTracker', () => {
  it('reads each block once: nothing at an unchanged head, only new blocks at a new one', async () => {
    const { reads, read } = chain((h) => (h % 10 === 0 ? 'd' : null))
    const tracker = new ValidatorActivityTracker(read)

    const at0 = await tracker.activity(0, V, [])
    expect(at0.get('a')?.recentWindow).toBe(0)
    expect(reads).toEqual([]) // genesis: no block to read

    const at5 = await tracker.activity(5, V, [])
    expect(at5.get('d')).toMatchObject({ lastSignedHeight: 5, signedRecent: 5, recentWindow: 5 })
    await tracker.activity(5, V, [])
    await tracker.activity(5, V, [])
    expect(reads).toEqual([[1, 5]])

    const at12 = await tracker.activity(12, V, [])
    expect(reads).toEqual([
      [1, 5],
      [6, 12],
    ])
    expect(at12.get('d')).toMatchObject({
      lastSignedHeight: 12,
      signedRecent: 11,
      recentWindow: 12,
    })
    expect(at12.get('a')).toMatchObject({ lastSignedHeight: 12, signedRecent: 12 })
  })

  it('keeps the last 100 certificates and never reads more than 100 blocks', async () => {
    const { reads, read } = chain((h) => (h <= 950 ? null : 'c'))
    const tracker = new ValidatorActivityTracker(read)
    // far behind (a node that caught up 1,000 blocks at once): only the last 100
    const at1000 = await tracker.activity(1000, V, [])
    expect(reads).toEqual([[901, 1000]])
    expect(tracker.heights()).toHaveLength(ACTIVITY_WINDOW)
    expect(tracker.heights()[0]).toBe(901)
    expect(at1000.get('c')).toEqual({
      lastSignedHeight: 950,
      signedRecent: 50,
      recentWindow: 100,
      evidence: 0,
    })
    expect(at1000.get('a')?.signedRecent).toBe(100)

    // a few more: the window slides, and only those are read
    const at1003 = await tracker.activity(1003, V, ['c'])
    expect(reads.at(-1)).toEqual([1001, 1003])
    expect(tracker.heights()[0]).toBe(904)
    expect(tracker.heights().at(-1)).toBe(1003)
    expect(at1003.get('c')).toMatchObject({ signedRecent: 47, recentWindow: 100, evidence: 1 })

    // a jump of more than a window drops the whole window and reads 100 again
    await tracker.activity(1500, V, [])
    expect(reads.at(-1)).toEqual([1401, 1500])
    for (const [from, to] of reads) expect(to - from + 1).toBeLessThanOrEqual(ACTIVITY_WINDOW)
  })

  it('concurrent calls at one head share one read; a stale head gets the newer window', async () => {
    const { reads, read } = chain(() => null)
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const slow = async (from: number, to: number) => {
      await gate
      return read(from, to)
    }
    const tracker = new ValidatorActivityTracker(slow)
    const calls = [
      tracker.activity(20, V, []),
      tracker.activity(20, V, []),
      tracker.activity(20, V, []),
    ]
    release()
    const answers = await Promise.all(calls)
    expect(reads).toEqual([[1, 20]])
    for (const a of answers) expect(a.get('b')?.signedRecent).toBe(20)

    const stale = await tracker.activity(15, V, [])
    expect(stale.get('b')).toMatchObject({ lastSignedHeight: 20, recentWindow: 20 })
    expect(reads).toEqual([[1, 20]])
  })

  it('a failed read is reported and retried by the next call', async () => {
    const { reads, read } = chain(() => null)
    let fail = true
    const tracker = new ValidatorActivityTracker(async (from, to) => {
      if (fail) throw new Error('disk says no')
      return read(from, to)
    })
    await expect(tracker.activity(3, V, [])).rejects.toThrow('disk says no')
    fail = false
    expect((await tracker.activity(3, V, [])).get('a')?.signedRecent).toBe(3)
    expect(reads).toEqual([[1, 3]])
  })
})
