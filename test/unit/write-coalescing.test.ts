import type { MessageStream } from '@libp2p/interface'
import { Uint8ArrayList } from 'uint8arraylist'
import { describe, expect, it } from 'vitest'
import { coalesceWrites, FLUSH_BYTES } from '../../src/node/p2p/write-coalescing.js'

/** A connection that records its writes and answers `answer` (false: full until 'drain'). */
class FakeConnection extends EventTarget {
  status = 'open'
  writeStatus = 'writable'
  writeBufferLength = 7
  answer = true
  aborted: Error | null = null
  readonly writes: (Uint8Array | Uint8ArrayList)[] = []
  readonly log = Object.assign(() => {}, { newScope: () => 'scoped' })

  send(data: Uint8Array | Uint8ArrayList): boolean {
    if (this.writeStatus !== 'writable') throw new Error(`stream is ${this.writeStatus}`)
    this.writes.push(data)
    return this.answer
  }

  async close(): Promise<void> {
    this.status = 'closed'
    this.writeStatus = 'closed'
  }

  abort(err: Error): void {
    this.status = 'aborted'
    this.writeStatus = 'closed'
    this.aborted = err
  }

  direction(): string {
    return `dir:${this.status}`
  }

  bytes(): number[][] {
    return this.writes.map((w) => [...(w instanceof Uint8Array ? w : w.subarray())])
  }
}

const endOfTurn = () => new Promise<void>((resolve) => setImmediate(resolve))
const wrap = (fake: FakeConnection, opts?: Parameters<typeof coalesceWrites>[1]) =>
  coalesceWrites(fake as unknown as MessageStream, opts)

describe('coalesced writes', () => {
  it('gives the connection what one turn wrote as one write, in order, after the turn', async () => {
    const fake = new FakeConnection()
    const conn = wrap(fake)
    expect(conn.send(Uint8Array.of(1, 2))).toBe(true)
    expect(conn.send(new Uint8ArrayList(Uint8Array.of(3), Uint8Array.of(4, 5)))).toBe(true)
    expect(conn.send(Uint8Array.of(6))).toBe(true)
    expect(fake.writes).toHaveLength(0)
    expect(conn.writeBufferLength).toBe(7 + 6)
    await endOfTurn()
    expect(fake.bytes()).toEqual([[1, 2, 3, 4, 5, 6]])
    conn.send(Uint8Array.of(7))
    await endOfTurn()
    expect(fake.bytes()).toEqual([[1, 2, 3, 4, 5, 6], [7]])
  })

  it('flattened, a turn is one contiguous buffer (one socket write)', async () => {
    const fake = new FakeConnection()
    const conn = wrap(fake, { flatten: true })
    conn.send(new Uint8ArrayList(Uint8Array.of(1), Uint8Array.of(2)))
    conn.send(Uint8Array.of(3))
    await endOfTurn()
    expect(fake.writes).toHaveLength(1)
    expect(fake.writes[0]).toBeInstanceOf(Uint8Array)
    expect(fake.bytes()).toEqual([[1, 2, 3]])
  })

  it('answers false once the connection is full, and flushes and answers true after drain', async () => {
    const fake = new FakeConnection()
    const conn = wrap(fake)
    fake.answer = false
    // not known to be full yet
    expect(conn.send(Uint8Array.of(1))).toBe(true)
    await endOfTurn()
    expect(fake.writes).toHaveLength(1)
    // now the muxer must pause: the write still waits, in order
    expect(conn.send(Uint8Array.of(2))).toBe(false)
    expect(conn.send(Uint8Array.of(3))).toBe(false)
    fake.answer = true
    fake.dispatchEvent(new Event('drain'))
    // flushed at the drain, before the muxer resumes
    expect(fake.bytes()).toEqual([[1], [2, 3]])
    expect(conn.send(Uint8Array.of(4))).toBe(true)
    await endOfTurn()
    expect(fake.bytes()).toEqual([[1], [2, 3], [4]])
  })

  it('flushes at once a turn that reaches flushBytes', () => {
    const fake = new FakeConnection()
    const conn = wrap(fake, { flushBytes: 4 })
    conn.send(Uint8Array.of(1, 2, 3))
    expect(fake.writes).toHaveLength(0)
    conn.send(Uint8Array.of(4))
    expect(fake.bytes()).toEqual([[1, 2, 3, 4]])
    expect(FLUSH_BYTES).toBeGreaterThanOrEqual(64 * 1024)
  })

  it('flushes before it closes; an abort drops what waits', async () => {
    const fake = new FakeConnection()
    const conn = wrap(fake)
    conn.send(Uint8Array.of(1))
    await conn.close()
    expect(fake.bytes()).toEqual([[1]])
    expect(fake.status).toBe('closed')

    const other = new FakeConnection()
    const aborted = wrap(other)
    aborted.send(Uint8Array.of(9))
    aborted.abort(new Error('reset by peer'))
    await endOfTurn()
    expect(other.writes).toHaveLength(0)
    expect(other.aborted?.message).toBe('reset by peer')
  })

  it('a write to a closed connection throws the connection’s own error, at once', async () => {
    const fake = new FakeConnection()
    const conn = wrap(fake)
    await fake.close()
    expect(() => conn.send(Uint8Array.of(1))).toThrow('stream is closed')
  })

  it('a write the connection refuses after the turn aborts it (the order could not be kept)', async () => {
    const fake = new FakeConnection()
    const conn = wrap(fake)
    fake.send = () => {
      throw new Error('socket gone')
    }
    conn.send(Uint8Array.of(1))
    await endOfTurn()
    expect(fake.aborted?.message).toBe('socket gone')
  })

  it('passes the rest of the connection through: its own values as they are, methods bound', () => {
    const fake = new FakeConnection()
    const conn = wrap(fake) as unknown as FakeConnection
    expect(conn.log.newScope()).toBe('scoped')
    const direction = conn.direction
    expect(direction()).toBe('dir:open')
    conn.status = 'closing'
    expect(fake.status).toBe('closing')
  })
})
