/**
 * Votes leave in batches: all the votes for one target that gather while a
 * request to it is in flight go in the next request, on the target's session
 * stream (reqresp.ts). Under load this turns thousands of tiny exchanges into a
 * few large ones; idle, a vote leaves on the next turn of the event loop.
 */
import type { BatchVote, Vote, VoteBatch, VoteBatchReply } from '../../core/codec/index.js'
import { MAX_BATCH_VOTES_PER_REQUEST, MAX_VOTE_BATCH } from '../../core/codec/index.js'

export interface VoteOutcome {
  accepted: boolean
  error: string
}

interface Queue {
  votes: Vote[]
  waiters: ((o: VoteOutcome) => void)[]
  batchVotes: BatchVote[]
  batchWaiters: ((o: VoteOutcome) => void)[]
  inFlight: boolean
}

export class VoteSender {
  private readonly queues = new Map<string, Queue>()

  constructor(
    private readonly request: (target: string, batch: VoteBatch) => Promise<VoteBatchReply>,
  ) {}

  /** A block vote for a leader. */
  send(target: string, vote: Vote): Promise<VoteOutcome> {
    return this.enqueue(target, (q, resolve) => {
      q.votes.push(vote)
      q.waiters.push(resolve)
    })
  }

  /** A batch vote for a batch's target. */
  sendBatchVote(target: string, vote: BatchVote): Promise<VoteOutcome> {
    return this.enqueue(target, (q, resolve) => {
      q.batchVotes.push(vote)
      q.batchWaiters.push(resolve)
    })
  }

  private enqueue(
    target: string,
    add: (q: Queue, resolve: (o: VoteOutcome) => void) => void,
  ): Promise<VoteOutcome> {
    let q = this.queues.get(target)
    if (q == null) {
      q = { votes: [], waiters: [], batchVotes: [], batchWaiters: [], inFlight: false }
      this.queues.set(target, q)
    }
    const queue = q
    return new Promise((resolve) => {
      const idle = queue.votes.length + queue.batchVotes.length === 0
      add(queue, resolve)
      if (!queue.inFlight && idle) setImmediate(() => void this.flush(target))
    })
  }

  private async flush(target: string): Promise<void> {
    const q = this.queues.get(target)
    if (q == null || q.inFlight || q.votes.length + q.batchVotes.length === 0) return
    const votes = q.votes.splice(0, MAX_VOTE_BATCH)
    const waiters = q.waiters.splice(0, votes.length)
    const batchVotes = q.batchVotes.splice(0, MAX_BATCH_VOTES_PER_REQUEST)
    const batchWaiters = q.batchWaiters.splice(0, batchVotes.length)
    q.inFlight = true
    // batch votes are indexed after the block votes in the reply
    const all = [...waiters, ...batchWaiters]
    try {
      const reply = await this.request(target, { votes, batchVotes })
      const refused = new Map(reply.refused.map((r) => [r.index, r.error]))
      all.forEach((w, i) => {
        const error = refused.get(i)
        w(error == null ? { accepted: true, error: '' } : { accepted: false, error })
      })
    } catch (err) {
      for (const w of all) w({ accepted: false, error: (err as Error).message })
    } finally {
      q.inFlight = false
      if (q.votes.length + q.batchVotes.length > 0) setImmediate(() => void this.flush(target))
      else this.queues.delete(target)
    }
  }
}
