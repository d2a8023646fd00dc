/**
 * Votes leave in batches: all the votes for one target that gather while a
 * request to it is in flight go in the next request, one stream each. Under
 * load this turns thousands of tiny exchanges into a few large ones; idle, a
 * vote leaves on the next turn of the event loop.
 */
import type { Vote, VoteBatch, VoteBatchReply } from '../../core/codec/index.js'
import { MAX_VOTE_BATCH } from '../../core/codec/index.js'

export interface VoteOutcome {
  accepted: boolean
  error: string
}

interface Queue {
  votes: Vote[]
  waiters: ((o: VoteOutcome) => void)[]
  inFlight: boolean
}

export class VoteSender {
  private readonly queues = new Map<string, Queue>()

  constructor(
    private readonly request: (target: string, batch: VoteBatch) => Promise<VoteBatchReply>,
  ) {}

  send(target: string, vote: Vote): Promise<VoteOutcome> {
    let q = this.queues.get(target)
    if (q == null) {
      q = { votes: [], waiters: [], inFlight: false }
      this.queues.set(target, q)
    }
    const queue = q
    return new Promise((resolve) => {
      queue.votes.push(vote)
      queue.waiters.push(resolve)
      if (!queue.inFlight && queue.votes.length === 1) setImmediate(() => void this.flush(target))
    })
  }

  private async flush(target: string): Promise<void> {
    const q = this.queues.get(target)
    if (q == null || q.inFlight || q.votes.length === 0) return
    const votes = q.votes.splice(0, MAX_VOTE_BATCH)
    const waiters = q.waiters.splice(0, votes.length)
    q.inFlight = true
    try {
      const reply = await this.request(target, { votes })
      const refused = new Map(reply.refused.map((r) => [r.index, r.error]))
      waiters.forEach((w, i) => {
        const error = refused.get(i)
        w(error == null ? { accepted: true, error: '' } : { accepted: false, error })
      })
    } catch (err) {
      for (const w of waiters) w({ accepted: false, error: (err as Error).message })
    } finally {
      q.inFlight = false
      if (q.votes.length > 0) setImmediate(() => void this.flush(target))
      else this.queues.delete(target)
    }
  }
}
