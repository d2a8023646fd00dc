/**
 * Equivocation evidence end to end: a chain of four validators of which two
 * run (no quorum, so everyone stays in round 0 of height 1); a third
 * validator's key signs two election votes for different candidates in that
 * round, and the second running node publishes both on `election`. The
 * first node must catch it, serve it at GET /evidence (with both signatures
 * checkable from the JSON alone), count it in /metrics, print it with
 * `bftchain evidence`, refuse bad queries with a 400, and serve it again
 * after a restart from the same home.
 */
import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type ApiServer, startApi } from '../../src/api/server.js'
import type { Genesis } from '../../src/core/chain/genesis.js'
import { signElectionVote, verifyElectionVote } from '../../src/core/chain/signatures.js'
import type { ElectionVote } from '../../src/core/codec/index.js'
import { fromHex } from '../../src/core/crypto/hash.js'
import { peerIdFromString, shortPeerId } from '../../src/core/crypto/peer-id.js'
import type { NodeIdentity } from '../../src/node/keys/node-key.js'
import { silentLogger } from '../../src/node/log.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import type { ElectionVoteJson, EvidenceJson } from '../../src/node/node/evidence-view.js'
import { identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'

// rounds that never time out within a test: the evidence is about round 0,
// and a node two rounds past it would ignore round-0 gossip as stale
const TIMEOUTS = {
  roundMs: 600_000,
  roundMaxMs: 600_000,
  blockIntervalMs: 100,
  electionMinMs: 20,
  electionMaxMs: 100,
  txRoundMs: 60_000,
}
const DEADLINE_MS = 60_000

const ROOT = resolve(import.meta.dirname, '../..')
const run = promisify(execFile)

/** The CLI from source (tsx), so the test needs no build of dist/. */
async function cli(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), join(ROOT, 'src/cli/main.ts'), ...args],
      { cwd: ROOT, timeout: 60_000 },
    )
    return { stdout, stderr, code: 0 }
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number }
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code ?? 1 }
  }
}

const net = new TestNet()
let ids: NodeIdentity[]
let genesis: Genesis
let home: string
let node: ChainNode
let relay: ChainNode
let api: ApiServer | null = null

beforeEach(async () => {
  ids = await Promise.all([0, 1, 2, 3].map((i) => identity(`evidence-${i}`)))
  genesis = makeGenesis(ids, 'bftchain-test', { timeouts: TIMEOUTS })
  home = await mkdtemp(join(tmpdir(), 'bftchain-it-evidence-'))
  node = await net.startNode({ genesis, identity: ids[0]!, home })
  relay = await net.startNode({ genesis, identity: ids[1]!, bootstrap: node.multiaddrs() })
  api = await startApi(node, { host: '127.0.0.1', port: 0 }, silentLogger)
})
afterEach(async () => {
  await api?.close()
  api = null
  await net.stopAll()
})

async function get(path: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${api!.url}${path}`)
  return { status: res.status, body: await res.json() }
}

async function metrics(): Promise<string> {
  return (await fetch(`${api!.url}/metrics`)).text()
}

/** The offender's two votes at (1, 0): for ids[0], then for ids[1]. */
function equivocation(offender: NodeIdentity): [ElectionVote, ElectionVote] {
  const vote = (candidate: NodeIdentity) =>
    signElectionVote(offender.signer, genesis.chainId, {
      height: 1,
      round: 0,
      candidate: peerIdFromString(candidate.peerId),
      voter: peerIdFromString(offender.peerId),
    })
  return [vote(ids[0]!), vote(ids[1]!)]
}

/** Publish both votes from the relay and wait until the node serves the record. */
async function equivocate(offender: NodeIdentity): Promise<EvidenceJson> {
  await waitFor(
    'the relay to see the node on the election topic',
    () => relay.gossip.subscribers('election').includes(node.peerId),
    DEADLINE_MS,
  )
  for (const vote of equivocation(offender)) {
    expect(await relay.publish('election', { vote })).toBeGreaterThan(0)
  }
  let record: EvidenceJson | undefined
  await waitFor(
    'GET /evidence to hold the record',
    async () => {
      const { body } = await get('/evidence')
      record = (body as EvidenceJson[])[0]
      return record != null
    },
    DEADLINE_MS,
  )
  return record!
}

/** The election vote a JSON half stands for, re-made from the JSON alone. */
function electionVoteOf(j: ElectionVoteJson): ElectionVote {
  return {
    height: j.height,
    round: j.round,
    candidate: peerIdFromString(j.candidate),
    voter: peerIdFromString(j.voter),
    signature: fromHex(j.signature),
  }
}

describe('equivocation evidence', () => {
  it('a node with none serves an empty list and refuses bad queries with a 400 and a code', async () => {
    expect(await get('/evidence')).toEqual({ status: 200, body: [] })
    for (const q of ['limit=abc', 'limit=0', 'limit=1001', 'limit=1.5', 'offender=nope']) {
      const { status, body } = await get(`/evidence?${q}`)
      expect(status, q).toBe(400)
      expect((body as { error: { code: string } }).error.code, q).toBe('MALFORMED')
    }
    expect(await metrics()).toMatch(/^bftchain_evidence_records 0$/m)
  })

  it('two election votes in one round are caught, served, counted and kept across a restart', async () => {
    const offender = ids[2]!
    const before = Date.now()
    const record = await equivocate(offender)

    expect(record).toMatchObject({
      kind: 'election-vote',
      offender: offender.peerId,
      height: 1,
      round: 0,
      first: { height: 1, round: 0, candidate: ids[0]!.peerId, voter: offender.peerId },
      second: { height: 1, round: 0, candidate: ids[1]!.peerId, voter: offender.peerId },
    })
    const seenAt = Date.parse(record.seenAt)
    expect(seenAt).toBeGreaterThanOrEqual(before - 1_000)
    expect(seenAt).toBeLessThanOrEqual(Date.now() + 1_000)
    // both halves check against the offender's key, from the JSON alone
    for (const half of [record.first, record.second]) {
      expect(verifyElectionVote(genesis.chainId, electionVoteOf(half as ElectionVoteJson))).toBe(
        true,
      )
    }

    // filters
    expect((await get(`/evidence?offender=${offender.peerId}`)).body).toEqual([record])
    expect((await get(`/evidence?offender=${ids[3]!.peerId}`)).body).toEqual([])
    expect((await get('/evidence?limit=1')).body).toEqual([record])
    expect((await get('/evidence?limit=abc')).status).toBe(400)

    // counted once it is on disk (the event follows the write)
    await waitFor(
      'the metrics to count the evidence',
      async () => /^bftchain_evidence_total\{kind="election-vote"\} 1$/m.test(await metrics()),
      DEADLINE_MS,
    )
    expect(await metrics()).toMatch(/^bftchain_evidence_records 1$/m)

    // persisted: the same record after a restart from the same home
    await api!.close()
    api = null
    await net.stopNode(node)
    node = await net.startNode({ genesis, identity: ids[0]!, home })
    api = await startApi(node, { host: '127.0.0.1', port: 0 }, silentLogger)
    expect(await get('/evidence')).toEqual({ status: 200, body: [record] })
    expect(await metrics()).toMatch(/^bftchain_evidence_records 1$/m)
  })

  it('`bftchain evidence` prints one line per record, or the API answer with --json', async () => {
    const empty = await cli(['evidence', '--api', api!.url])
    expect(empty.code, empty.stderr).toBe(0)
    expect(empty.stdout.trim()).toBe('no evidence')

    const offender = ids[2]!
    const record = await equivocate(offender)

    const human = await cli(['evidence', '--api', api!.url])
    expect(human.code, human.stderr).toBe(0)
    const lines = human.stdout.trim().split('\n')
    expect(lines).toHaveLength(2) // the header, one record
    expect(lines[1]).toContain('election-vote')
    expect(lines[1]).toContain(shortPeerId(offender.peerId))
    expect(lines[1]).toContain('1/0')
    expect(lines[1]).toContain(record.seenAt)
    expect(lines[1]).toContain(
      `voted for ${shortPeerId(ids[0]!.peerId)}, then for ${shortPeerId(ids[1]!.peerId)}`,
    )

    const json = await cli(['evidence', '--api', api!.url, '--json', '--limit', '5'])
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual([record])

    const other = await cli(['evidence', '--api', api!.url, '--offender', ids[3]!.peerId])
    expect(other.code, other.stderr).toBe(0)
    expect(other.stdout.trim()).toBe(`no evidence against ${ids[3]!.peerId}`)

    const bad = await cli(['evidence', '--api', api!.url, '--limit', '0'])
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/--limit/)

    const help = await cli(['evidence', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/equivocat/)
    expect(help.stdout).toMatch(/--offender/)
  })
})
