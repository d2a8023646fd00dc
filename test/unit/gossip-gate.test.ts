/**
 * The gossip gate's memory (consensus/gossip-gate.ts) through the topic validators that use it
 * (consensus/validation.ts): re-announcements are checked once and forwarded once per relay and
 * gap; replays cost no signature check; a target beyond its budget of tx rounds is dropped and
 * reported.
 */
import { describe, expect, it } from 'vitest'
import { batchHeader, signElectionVote, signTxBatch } from '../../src/core/chain/signatures.js'
import { ValidatorSet } from '../../src/core/chain/validator-set.js'
import type { ElectionMessage } from '../../src/core/codec/index.js'
import {
  GossipGate,
  OBSERVER_TARGET_BUDGET,
  VALIDATOR_TARGET_BUDGET,
} from '../../src/core/consensus/gossip-gate.js'
import {
  type ValidationContext,
  ValidationError,
  validateElection,
  validateTxBatch,
} from '../../src/core/consensus/validation.js'
import { accountIdentity, CHAIN_ID, nodeIdentity, signedTx, validators } from './fixtures.js'

const ids = validators(4)
const set = new ValidatorSet(ids.map((v) => v.peerIdString))

function context(now: { t: number }, reported: string[] = []): ValidationContext {
  return {
    chainId: CHAIN_ID,
    validators: set,
    height: () => 1,
    round: () => 0,
    now: () => now.t,
    gate: new GossipGate(),
    relayGapMs: 250,
    misbehaving: (peer) => reported.push(peer),
  }
}

const vote = (relay?: number): ElectionMessage => ({
  vote: signElectionVote(ids[1]!.signer, CHAIN_ID, {
    height: 1,
    round: 0,
    candidate: ids[2]!.peerId,
    voter: ids[1]!.peerId,
  }),
  relay,
})

function verdict(fn: () => void): string {
  try {
    fn()
    return 'accept'
  } catch (err) {
    if (err instanceof ValidationError) return `${err.action}:${err.code}`
    throw err
  }
}

describe('re-announced election votes', () => {
  it('are forwarded once per higher relay and gap, and never re-checked', () => {
    const now = { t: 1_000 }
    const ctx = context(now)
    expect(verdict(() => validateElection(ctx, vote()))).toBe('accept')
    // the same vote re-announced: forwarded
    now.t += 300
    expect(verdict(() => validateElection(ctx, vote(1)))).toBe('accept')
    // the same relay again, or a lower one, or a higher one too soon: dropped
    expect(verdict(() => validateElection(ctx, vote(1)))).toBe('ignore:DUPLICATE_RELAY')
    expect(verdict(() => validateElection(ctx, vote(2)))).toBe('ignore:DUPLICATE_RELAY')
    now.t += 300
    expect(verdict(() => validateElection(ctx, vote(2)))).toBe('accept')
  })

  it('a relay of a vote never checked is checked in full', () => {
    const ctx = context({ t: 0 })
    const forged = vote(3)
    forged.vote!.signature = new Uint8Array(64).fill(1)
    expect(verdict(() => validateElection(ctx, forged))).toBe('reject:BAD_SIGNATURE')
  })

  it('a vote for a round long left is dropped before its signature is checked', () => {
    const ctx = { ...context({ t: 0 }), round: () => 5 }
    const stale = vote()
    stale.vote!.signature = new Uint8Array(64).fill(1)
    expect(verdict(() => validateElection(ctx, stale))).toBe('ignore:STALE_ROUND')
  })

  it('a far-future height is noted as its signer’s word and not forwarded', () => {
    const claims: [string, number][] = []
    const ctx = { ...context({ t: 0 }), claim: (v: string, h: number) => claims.push([v, h]) }
    const far: ElectionMessage = {
      vote: signElectionVote(ids[1]!.signer, CHAIN_ID, {
        height: 9_999,
        round: 0,
        candidate: ids[2]!.peerId,
        voter: ids[1]!.peerId,
      }),
    }
    expect(verdict(() => validateElection(ctx, far))).toBe('ignore:FAR_AHEAD')
    expect(claims).toEqual([[ids[1]!.peerIdString, 9_998]])
  })
})

describe('tx rounds per target', () => {
  const alice = accountIdentity('alice')
  /** A target's batch of one tx of alice's (its own signed round). */
  const batchOf = (target: ReturnType<typeof nodeIdentity>, nonce: number, data?: Uint8Array) => {
    const tx = signedTx(alice, data == null ? { nonce } : { nonce, data })
    return signTxBatch(target.signer, CHAIN_ID, batchHeader(target.peerId, nonce + 1, [tx]), [tx])
  }

  it('an observer target beyond its burst is dropped and reported; its budget refills', () => {
    const now = { t: 0 }
    const reported: string[] = []
    const ctx = context(now, reported)
    const observer = nodeIdentity('flooding-observer')
    const burst = OBSERVER_TARGET_BUDGET.burst
    for (let i = 0; i < burst; i++)
      expect(verdict(() => validateTxBatch(ctx, batchOf(observer, i)))).toBe('accept')
    expect(verdict(() => validateTxBatch(ctx, batchOf(observer, burst)))).toBe(
      'ignore:TARGET_BUDGET',
    )
    expect(reported).toEqual([observer.peerIdString])
    now.t += 1_000
    expect(verdict(() => validateTxBatch(ctx, batchOf(observer, burst + 1)))).toBe('accept')
  })

  it('an observer target is held to its bytes too: 30 KiB txs run out long before the count', () => {
    const now = { t: 0 }
    const ctx = context(now)
    const observer = nodeIdentity('bulky-observer')
    const big = (nonce: number) => batchOf(observer, nonce, new Uint8Array(30 * 1024))
    let taken = 0
    while (verdict(() => validateTxBatch(ctx, big(taken))) === 'accept') taken++
    expect(taken).toBe(Math.floor(OBSERVER_TARGET_BUDGET.bytesBurst / (30 * 1024 + 64)))
    expect(taken).toBeLessThan(OBSERVER_TARGET_BUDGET.burst)
  })

  it('a validator target has the larger budget, and another target is not held to the first’s', () => {
    const ctx = context({ t: 0 })
    const observer = nodeIdentity('quiet-observer')
    for (let i = 0; i < OBSERVER_TARGET_BUDGET.burst + 10; i++)
      expect(verdict(() => validateTxBatch(ctx, batchOf(ids[0]!, i)))).toBe('accept')
    expect(VALIDATOR_TARGET_BUDGET.burst).toBeGreaterThan(OBSERVER_TARGET_BUDGET.burst)
    expect(verdict(() => validateTxBatch(ctx, batchOf(observer, 0)))).toBe('accept')
  })

  it('a forged batch does not spend the named target’s budget', () => {
    const ctx = context({ t: 0 })
    const victim = nodeIdentity('victim-observer')
    for (let i = 0; i < OBSERVER_TARGET_BUDGET.burst + 5; i++) {
      const forged = batchOf(victim, i)
      forged.signature = new Uint8Array(64).fill(3)
      expect(verdict(() => validateTxBatch(ctx, forged))).toBe('reject:BAD_SIGNATURE')
    }
    expect(verdict(() => validateTxBatch(ctx, batchOf(victim, 0)))).toBe('accept')
  })
})
