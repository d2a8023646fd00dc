/**
 * The vote sender: per target, one request in flight; the votes that gather
 * meanwhile go in the next request, and each vote learns its own outcome.
 */
import { describe, expect, it } from 'vitest'
import type { BatchVote, Vote, VoteBatch, VoteBatchReply } from '../../src/core/codec/index.js'
import { VoteSender } from '../../src/node/node/vote-sender.js'

interface Call {
  target: string
  batch: VoteBatch
  answer: (reply: VoteBatchReply) => void
}

/** A sender whose requests wait until the test answers them. */
function held(): { sender: VoteSender; calls: Call[] } {
  const calls: Call[] = []
  const sender = new VoteSender(
    (target, batch) =>
      new Promise((answer) => {
        calls.push({ target, batch, answer })
      }),
  )
  return { sender, calls }
}

const turn = () => new Promise((r) => setImmediate(r))
const vote = (i: number) => ({ height: i }) as unknown as Vote
const batchVote = (i: number) => ({ count: i }) as unknown as BatchVote

describe('VoteSender', () => {
  it('gathers what comes while a request is in flight into the next one, and reads refusals by index', async () => {
    const { sender, calls } = held()
    const first = sender.sendBatchVote('target', batchVote(1))
    await turn()
    const later = [2, 3, 4].map((i) => sender.sendBatchVote('target', batchVote(i)))
    await turn()
    // one request in flight per target
    expect(calls).toHaveLength(1)
    calls[0]!.answer({ refused: [] })
    expect(await first).toEqual({ accepted: true, error: '' })
    await turn()
    expect(calls).toHaveLength(2)
    expect(calls[1]!.batch).toEqual({ votes: [], batchVotes: [2, 3, 4].map(batchVote) })
    calls[1]!.answer({ refused: [{ index: 1, error: 'no such batch here' }] })
    expect(await Promise.all(later)).toEqual([
      { accepted: true, error: '' },
      { accepted: false, error: 'no such batch here' },
      { accepted: true, error: '' },
    ])
  })

  it('sends block votes and batch votes to one target in one request, batch votes indexed after the block votes', async () => {
    const { sender, calls } = held()
    const outcomes = [
      sender.send('target', vote(1)),
      sender.sendBatchVote('target', batchVote(2)),
      sender.send('target', vote(3)),
    ]
    await turn()
    expect(calls).toHaveLength(1)
    expect(calls[0]!.batch).toEqual({ votes: [vote(1), vote(3)], batchVotes: [batchVote(2)] })
    calls[0]!.answer({ refused: [{ index: 2, error: 'no such batch here' }] })
    expect(await Promise.all(outcomes)).toEqual([
      { accepted: true, error: '' },
      { accepted: false, error: 'no such batch here' },
      { accepted: true, error: '' },
    ])
  })

  it('answers every vote of a failed request with the failure', async () => {
    const sender = new VoteSender(() => Promise.reject(new Error('stream reset')))
    expect(await sender.send('target', vote(1))).toEqual({
      accepted: false,
      error: 'stream reset',
    })
  })
})
