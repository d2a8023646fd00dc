import { afterEach, describe, expect, it, vi } from 'vitest'
import { printTx, type TxView } from '../../src/cli/commands/tx.js'

/** `tx show` prints a record whatever the node still holds of it. */
describe('tx show', () => {
  afterEach(() => vi.restoreAllMocks())

  function printed(t: TxView): string {
    const out: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk))
      return true
    })
    printTx(t)
    return out.join('')
  }

  const base: TxView = {
    hash: 'ab'.repeat(32),
    status: 'final',
    reason: null,
    tx: null,
    target: null,
    votes: { prePrepare: [], prepare: [] },
    block: { height: 7, index: 2 },
  }

  it('a record whose body the node gave up prints what it has, not a crash', () => {
    const text = printed(base)
    expect(text).toMatch(/status\s+final/)
    expect(text).toMatch(/not held by this node any more/)
    expect(text).toMatch(/height 7, tx 2/)
  })

  it('a record with its body prints the body', () => {
    const text = printed({
      ...base,
      tx: {
        chainId: 'c',
        kind: 'data',
        from: 'cd'.repeat(32),
        nonce: 3,
        gas: 0,
        data: 'hello',
        signature: '',
      } as never,
    })
    expect(text).toMatch(/nonce\s+3/)
    expect(text).toMatch(/"hello"/)
  })
})
