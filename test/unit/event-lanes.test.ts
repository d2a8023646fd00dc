/**
 * The driver's two lanes (node/event-lanes.ts): consensus events go first, a tx event still
 * gets through after every CONSENSUS_PER_TX of them, and each lane keeps its order.
 */
import { describe, expect, it } from 'vitest'
import type { CoreEvent } from '../../src/core/consensus/types.js'
import { CONSENSUS_PER_TX, EventLanes, TX_LANE } from '../../src/node/node/event-lanes.js'

const tx = (i: number): CoreEvent => ({ type: 'tx-batch', now: i, batch: {} as never, from: 'p' })
const vote = (i: number): CoreEvent => ({ type: 'vote', now: i, vote: {} as never, from: 'p' })

function drain(lanes: EventLanes): string[] {
  const out: string[] = []
  for (let e = lanes.shift(); e != null; e = lanes.shift()) out.push(`${e.type}:${e.now}`)
  return out
}

describe('the event lanes', () => {
  it('step consensus first, yet one tx event after every CONSENSUS_PER_TX, each lane in order', () => {
    const lanes = new EventLanes()
    for (let i = 0; i < 3; i++) lanes.push(tx(i))
    for (let i = 0; i < 10; i++) lanes.push(vote(i))
    expect(lanes.length).toBe(13)
    const order = drain(lanes)
    expect(order.slice(0, CONSENSUS_PER_TX + 1)).toEqual([
      ...Array.from({ length: CONSENSUS_PER_TX }, (_, i) => `vote:${i}`),
      'tx-batch:0',
    ])
    expect(order.filter((e) => e.startsWith('vote'))).toEqual(
      Array.from({ length: 10 }, (_, i) => `vote:${i}`),
    )
    expect(order.filter((e) => e.startsWith('tx'))).toEqual([
      'tx-batch:0',
      'tx-batch:1',
      'tx-batch:2',
    ])
    expect(lanes.length).toBe(0)
  })

  it('a lane alone drains in order; a big queue drains in linear time', () => {
    const lanes = new EventLanes()
    const n = 200_000
    for (let i = 0; i < n; i++) lanes.push(tx(i))
    let last = -1
    let count = 0
    for (let e = lanes.shift(); e != null; e = lanes.shift()) {
      expect(e.now).toBe(last + 1)
      last = e.now
      count++
    }
    expect(count).toBe(n)
  })

  it('puts client requests and tx-phase messages in the tx lane, and the rest in consensus', () => {
    for (const t of ['client-tx', 'batch-vote', 'batch-commit', 'account'] as const)
      expect(TX_LANE.has(t)).toBe(true)
    for (const t of ['vote', 'election', 'block-sync', 'timer', 'tick', 'block-fetched'] as const)
      expect(TX_LANE.has(t)).toBe(false)
  })
})
