/**
 * Equivocation evidence on disk (src/node/node/evidence-store.ts) and as
 * JSON (evidence-view.ts): puts, evictions in the batch that makes them,
 * loading oldest first, a restart's restore giving the book back as it was,
 * and a JSON form from which both signatures check.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { evidenceRoutes } from '../../src/api/routes/evidence.js'
import {
  signBatchVote,
  signElectionVote,
  verifyBatchVote,
  verifyElectionVote,
  verifyVote,
} from '../../src/core/chain/signatures.js'
import {
  type BatchVote,
  type ElectionVote,
  type Evidence,
  EvidenceKind,
  Phase,
  RejectReason,
  rejectReasonToWire,
  type Vote,
  type VoteResult,
} from '../../src/core/codec/index.js'
import { EvidenceBook } from '../../src/core/consensus/evidence.js'
import type { CoreAction, PersistOp } from '../../src/core/consensus/types.js'
import { fromHex, toHex } from '../../src/core/crypto/hash.js'
import { peerIdFromString } from '../../src/core/crypto/peer-id.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { addEvidenceOps, loadEvidence } from '../../src/node/node/evidence-store.js'
import {
  type BatchVoteJson,
  evidenceToJson,
  type VoteJson,
} from '../../src/node/node/evidence-view.js'
import { Store, StoreError } from '../../src/node/store/index.js'
import {
  blockVoteBy,
  CHAIN_ID,
  hashOf,
  type NodeIdentity,
  signatureOf,
  validators,
} from './fixtures.js'

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

async function openStore(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'bftchain-evidence-'))
  cleanups.push(() => rm(dir, { recursive: true, force: true }))
  const store = await Store.open(dir)
  cleanups.push(() => store.close())
  return store
}

async function write(store: Store, ops: PersistOp[]): Promise<void> {
  const batch = store.batch()
  addEvidenceOps(batch, store, ops)
  await batch.write()
}

const [offender, a, b] = validators(3) as [NodeIdentity, NodeIdentity, NodeIdentity]

function electionVote(voter: NodeIdentity, candidate: NodeIdentity, height = 1, round = 0) {
  return signElectionVote(voter.signer, CHAIN_ID, {
    height,
    round,
    candidate: candidate.peerId,
    voter: voter.peerId,
  })
}

/** Election-vote evidence against `offender` at (height, 0), seen at `seenAt`. */
function electionEvidence(height: number, seenAt: number): Evidence {
  return {
    kind: EvidenceKind.ELECTION_VOTE,
    offender: offender.peerId,
    height,
    round: 0,
    seenAt,
    firstElection: electionVote(offender, a, height),
    secondElection: electionVote(offender, b, height),
  }
}

const put = (key: string, evidence: Evidence, evict: string | null = null): PersistOp => ({
  op: 'evidence-put',
  key,
  evidence,
  evict,
})

describe('evidence store', () => {
  it('loads what was put, oldest first, whatever the key order', async () => {
    const store = await openStore()
    // keys in the opposite order of the times they were seen
    await write(store, [put('z', electionEvidence(1, 1_000)), put('m', electionEvidence(2, 2_000))])
    await write(store, [put('a', electionEvidence(3, 3_000))])
    const saved = await loadEvidence(store)
    expect(saved.map((s) => s.key)).toEqual(['z', 'm', 'a'])
    expect(saved[0]!.evidence).toEqual(electionEvidence(1, 1_000))
    expect(saved.map((s) => s.evidence.height)).toEqual([1, 2, 3])
  })

  it('orders records seen in the same millisecond by key', async () => {
    const store = await openStore()
    await write(store, [put('k2', electionEvidence(1, 5)), put('k1', electionEvidence(2, 5))])
    expect((await loadEvidence(store)).map((s) => s.key)).toEqual(['k1', 'k2'])
  })

  it('deletes the evicted record in the batch that adds the new one', async () => {
    const store = await openStore()
    await write(store, [put('one', electionEvidence(1, 1)), put('two', electionEvidence(2, 2))])
    await write(store, [put('three', electionEvidence(3, 3), 'one')])
    expect((await loadEvidence(store)).map((s) => s.key)).toEqual(['two', 'three'])
    expect(await store.evidence.has('one')).toBe(false)
  })

  it('applies the ops of one batch in order', async () => {
    const store = await openStore()
    // kept, pushed out, and kept again (a new question under the same key) in one write
    await write(store, [
      put('x', electionEvidence(1, 1)),
      put('y', electionEvidence(2, 2), 'x'),
      put('x', electionEvidence(3, 3), 'y'),
    ])
    const saved = await loadEvidence(store)
    expect(saved.map((s) => [s.key, s.evidence.height])).toEqual([['x', 3]])
  })

  it('writes nothing for the other persist ops', async () => {
    const store = await openStore()
    const batch = store.batch()
    addEvidenceOps(batch, store, [
      { op: 'pool-del', hash: toHex(hashOf('tx')) },
      { op: 'account-pending-del', address: toHex(hashOf('account')) },
    ])
    expect(batch.size).toBe(0)
  })

  it('refuses a record that does not decode as evidence, naming its key', async () => {
    const store = await openStore()
    const batch = store.batch()
    batch.put(store.evidence, 'broken', Uint8Array.of(1, 2, 3))
    await batch.write()
    const err = await loadEvidence(store).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreError)
    expect((err as StoreError).code).toBe('CORRUPT')
    expect((err as StoreError).message).toMatch(/broken/)
  })

  it('a restart gives the bounded book back as it was, evictions included', async () => {
    const store = await openStore()
    const out: CoreAction[] = []
    const book = new EvidenceBook(out, 3)
    // five questions into a book of three: the first two are pushed out
    for (let h = 1; h <= 5; h++) {
      book.keep(
        offender.peerIdString,
        h,
        0,
        'election',
        {
          kind: EvidenceKind.ELECTION_VOTE,
          first: electionVote(offender, a, h),
          second: electionVote(offender, b, h),
        },
        1_000 + h,
      )
    }
    const ops = out.flatMap((x) => (x.type === 'persist' ? x.ops : []))
    expect(ops.filter((op) => op.op === 'evidence-put' && op.evict != null)).toHaveLength(2)
    // one write per keep, as the driver would (or all at once: the same)
    for (const op of ops) await write(store, [op])

    const saved = await loadEvidence(store)
    expect(saved).toHaveLength(3)
    const restored = new EvidenceBook([], 3)
    restored.restore(saved)
    expect(restored.size).toBe(3)
    expect(restored.list()).toEqual(book.list())
    expect(restored.list().map((e) => e.height)).toEqual([5, 4, 3])

    // the restored book goes on evicting its oldest, which the disk then deletes
    const after: CoreAction[] = []
    const again = new EvidenceBook(after, 3)
    again.restore(saved)
    again.keep(
      offender.peerIdString,
      6,
      0,
      'election',
      {
        kind: EvidenceKind.ELECTION_VOTE,
        first: electionVote(offender, a, 6),
        second: electionVote(offender, b, 6),
      },
      2_000,
    )
    const next = after.flatMap((x) => (x.type === 'persist' ? x.ops : []))
    expect(next).toHaveLength(1)
    expect(next[0]).toMatchObject({ op: 'evidence-put', evict: saved[0]!.key })
    await write(store, next)
    expect((await loadEvidence(store)).map((s) => s.evidence.height)).toEqual([4, 5, 6])
  })
})

const blockEvidence = (): Evidence => ({
  kind: EvidenceKind.BLOCK_VOTE,
  offender: offender.peerId,
  height: 4,
  round: 2,
  seenAt: 0,
  firstVote: blockVoteBy(offender, Phase.BLOCK_PERMIT, hashOf('block'), 4, 2),
  secondVote: blockVoteBy(
    offender,
    Phase.BLOCK_PERMIT,
    new Uint8Array(0),
    4,
    2,
    RejectReason.INVALID_BLOCK,
  ),
})

/** A validator that permitted a whole batch, then rejected its second tx (tx-rounds.ts keeps it). */
const batchVoteEvidence = (): Evidence => {
  const vote = (rejected: number[]): BatchVote =>
    signBatchVote(offender.signer, CHAIN_ID, {
      phase: Phase.PRE_PREPARE,
      batch: hashOf('batch'),
      count: 3,
      rejected,
      reasons: rejected.map(() => rejectReasonToWire(RejectReason.NONCE_USED)),
      voter: offender.peerId,
    })
  return {
    kind: EvidenceKind.TX_VOTE,
    offender: offender.peerId,
    height: 0,
    round: 0,
    seenAt: 5,
    firstBatchVote: vote([]),
    secondBatchVote: vote([1]),
  }
}

const proposalEvidence = (): Evidence => ({
  kind: EvidenceKind.PROPOSAL,
  offender: offender.peerId,
  height: 9,
  round: 1,
  seenAt: 0,
  firstProposal: {
    statement: { height: 9, round: 1, blockHash: hashOf('p1') },
    signature: signatureOf(offender, 'p1'),
  },
  secondProposal: {
    statement: { height: 9, round: 1, blockHash: hashOf('p2'), validRound: 0 },
    signature: signatureOf(offender, 'p2'),
  },
})

describe('evidence as JSON', () => {
  it('an election-vote pair: both votes in full, and both signatures check from the JSON', () => {
    const json = evidenceToJson(electionEvidence(7, Date.UTC(2026, 0, 2)))
    expect(json).toMatchObject({
      kind: 'election-vote',
      offender: offender.peerIdString,
      height: 7,
      round: 0,
      seenAt: '2026-01-02T00:00:00.000Z',
      first: { candidate: a.peerIdString, voter: offender.peerIdString, height: 7, round: 0 },
      second: { candidate: b.peerIdString, voter: offender.peerIdString, height: 7, round: 0 },
    })
    for (const side of [json.first, json.second]) {
      const v = side as { height: number; round: number; candidate: string; signature: string }
      const vote: ElectionVote = {
        height: v.height,
        round: v.round,
        candidate: peerIdFromString(v.candidate),
        voter: offender.peerId,
        signature: fromHex(v.signature),
      }
      expect(verifyElectionVote(CHAIN_ID, vote)).toBe(true)
    }
  })

  it('a block-vote pair: phase, result and reason by name, nil as an empty subject', () => {
    const evidence = blockEvidence()
    const json = evidenceToJson(evidence)
    expect(json.kind).toBe('block-vote')
    expect(json.first).toEqual({
      phase: 'BLOCK_PERMIT',
      subject: toHex(hashOf('block')),
      height: 4,
      round: 2,
      result: 'PERMIT',
      reason: 'NONE',
      voter: offender.peerIdString,
      signature: toHex(evidence.firstVote!.signature),
    })
    expect(json.second).toMatchObject({ subject: '', result: 'REJECT', reason: 'INVALID_BLOCK' })
    // the names are the protobuf enum's: the vote re-encodes as signed
    const back = (j: VoteJson): Vote => ({
      phase: j.phase as Phase,
      subject: fromHex(j.subject),
      height: j.height,
      round: j.round,
      result: j.result as VoteResult,
      reason: j.reason as RejectReason,
      voter: peerIdFromString(j.voter),
      signature: fromHex(j.signature),
    })
    expect(verifyVote(CHAIN_ID, back(json.first as VoteJson))).toBe(true)
    expect(verifyVote(CHAIN_ID, back(json.second as VoteJson))).toBe(true)
  })

  it('a proposal pair: statements by block hash, validRound null when unset', () => {
    const json = evidenceToJson(proposalEvidence())
    expect(json.kind).toBe('proposal')
    expect(json.first).toEqual({
      height: 9,
      round: 1,
      blockHash: toHex(hashOf('p1')),
      validRound: null,
      signature: toHex(signatureOf(offender, 'p1')),
    })
    expect(json.second).toMatchObject({ blockHash: toHex(hashOf('p2')), validRound: 0 })
  })

  it('a tx-vote pair: two answers to one batch, rejects and reasons by name; both signatures check', () => {
    const evidence = batchVoteEvidence()
    const json = evidenceToJson(evidence)
    expect(json.kind).toBe('tx-vote')
    expect(json.first).toEqual({
      phase: 'PRE_PREPARE',
      batch: toHex(hashOf('batch')),
      count: 3,
      rejected: [],
      reasons: [],
      voter: offender.peerIdString,
      signature: toHex(evidence.firstBatchVote!.signature),
    })
    expect(json.second).toMatchObject({ rejected: [1], reasons: ['NONCE_USED'] })
    const back = (j: BatchVoteJson): BatchVote => ({
      phase: j.phase as Phase,
      batch: fromHex(j.batch),
      count: j.count,
      rejected: j.rejected,
      reasons: j.reasons.map((r) => rejectReasonToWire(r as RejectReason)),
      voter: peerIdFromString(j.voter),
      signature: fromHex(j.signature),
    })
    expect(verifyBatchVote(CHAIN_ID, back(json.first as BatchVoteJson))).toBe(true)
    expect(verifyBatchVote(CHAIN_ID, back(json.second as BatchVoteJson))).toBe(true)
  })

  it('GET /evidence serialises every kind through its response schema, newest first', async () => {
    const book = new EvidenceBook([])
    const election = electionEvidence(7, 1)
    book.restore([
      { key: 't', evidence: batchVoteEvidence() },
      { key: 'e', evidence: election },
      { key: 'b', evidence: blockEvidence() },
      { key: 'p', evidence: proposalEvidence() },
    ])
    const app = Fastify()
    evidenceRoutes(app, { core: { evidence: book } } as unknown as ChainNode)
    cleanups.push(() => app.close())
    const res = await app.inject({ method: 'GET', url: '/evidence' })
    expect(res.statusCode, res.body).toBe(200)
    // what the schema lets through is exactly the JSON view of each record
    expect(res.json()).toEqual(
      [proposalEvidence(), blockEvidence(), election, batchVoteEvidence()].map((e) =>
        evidenceToJson(e),
      ),
    )
    const limited = await app.inject({ method: 'GET', url: '/evidence?limit=1' })
    expect(limited.json()).toEqual([evidenceToJson(proposalEvidence())])
    const theirs = await app.inject({
      method: 'GET',
      url: `/evidence?offender=${a.peerIdString}`,
    })
    expect(theirs.json()).toEqual([])
  })
})
