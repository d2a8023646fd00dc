/**
 * The chain over HTTP on one running validator (a chain of one: its own
 * vote is a quorum, so blocks finalise quickly): blocks by height, latest
 * and range, matching the store; txs that are final, or failed in their
 * block, found through the tx index even after a restart; balances from the
 * ledger — grants, first-in first-out draws, unclaimed gas, the pending
 * balance while a tx is committed but in no block — and bad input.
 */
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildApi } from '../../src/api/server.js'
import { accountsRoot, blockHash, sortTxs, txRoot } from '../../src/core/chain/block.js'
import type { Genesis } from '../../src/core/chain/genesis.js'
import { accountToJson, txToJson } from '../../src/core/chain/json.js'
import { signAccount, signTx, signVote } from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import {
  type AccountRegistration,
  type BlockHeader,
  FinalizedBlockCodec,
  GasGrantCodec,
  Phase,
  RejectReason,
  type Tx,
  TxKind,
  VoteResult,
} from '../../src/core/codec/index.js'
import { addressOf, fromHex, type Signer, toHex } from '../../src/core/crypto/index.js'
import { peerIdFromString } from '../../src/core/crypto/peer-id.js'
import { executeBlock } from '../../src/core/state/execute.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import type { NodeIdentity } from '../../src/node/keys/node-key.js'
import { silentLogger } from '../../src/node/log.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { ChainQuery } from '../../src/node/node/chain-query.js'
import { identity, makeGenesis, TestNet } from './helpers/net.js'

const TIMEOUTS = { roundMs: 1000, blockIntervalMs: 100, electionMinMs: 20, electionMaxMs: 100 }
const GRANT = 1_000

const net = new TestNet()
let id: NodeIdentity
let genesis: Genesis
let authority: Signer
let node: ChainNode
let app: FastifyInstance

beforeEach(async () => {
  id = await identity('chain-api-0')
  authority = generateAccountKey('ed25519')
  genesis = makeGenesis([id], 'bftchain-test', {
    authorities: [
      {
        address: hex(authority),
        keyType: 'ed25519',
        publicKey: Buffer.from(authority.publicKey).toString('base64'),
        grant: GRANT,
      },
    ],
    timeouts: TIMEOUTS,
  })
  node = await net.startNode({ genesis, identity: id })
  app = buildApi(node, silentLogger)
})
afterEach(async () => {
  await app.close()
  await net.stopAll()
})

const hex = (key: Signer) => toHex(addressOf(key.publicKey))
const utf8 = (s: string) => new TextEncoder().encode(s)

function dataTx(key: Signer, nonce: number, gas = 0, data = `record ${nonce}`): Tx {
  return signTx(key, {
    chainId: node.chainId,
    kind: TxKind.DATA,
    from: addressOf(key.publicKey),
    nonce,
    gas,
    data: utf8(data),
  })
}

function grantTx(nonce: number, to: string, amount: number): Tx {
  return signTx(authority, {
    chainId: node.chainId,
    kind: TxKind.GAS_GRANT,
    from: addressOf(authority.publicKey),
    nonce,
    gas: 0,
    data: GasGrantCodec.encode({ to: fromHex(to), amount }),
  })
}

async function register(name: string): Promise<Signer> {
  const key = generateAccountKey('ed25519')
  const res = await app.inject({
    method: 'POST',
    url: '/accounts',
    payload: accountToJson(signAccount(key, { chainId: node.chainId, username: name, data: '' })),
  })
  expect(res.statusCode, res.body).toBe(202)
  return key
}

/** POST /transactions?wait=…: the answer once the tx got there. */
async function send(tx: Tx, wait: 'committed' | 'final' = 'final') {
  const res = await app.inject({
    method: 'POST',
    url: `/transactions?wait=${wait}&timeoutMs=20000`,
    payload: txToJson(tx),
  })
  expect(res.statusCode, res.body).toBe(200)
  return res.json() as {
    hash: string
    status: string
    reason: { code: string; message: string } | null
    block: { height: number; index: number } | null
  }
}

async function get(url: string) {
  const res = await app.inject(url)
  return { status: res.statusCode, body: res.json() }
}

async function balanceOf(address: string) {
  const { status, body } = await get(`/accounts/${address}/balance`)
  expect(status, JSON.stringify(body)).toBe(200)
  return body
}

/** A 4xx in the SPEC format. */
async function refused(url: string, status: number, code: string, message?: RegExp) {
  const res = await app.inject(url)
  expect(res.statusCode, `${url}: ${res.body}`).toBe(status)
  const body = res.json()
  expect(Object.keys(body)).toEqual(['error'])
  expect(body.error.code, url).toBe(code)
  expect(typeof body.error.message).toBe('string')
  if (message) expect(body.error.message, url).toMatch(message)
}

/** What the store holds at `height`, decoded. */
async function stored(height: number) {
  const bytes = await node.store.blocks.get(height)
  expect(bytes, `block ${height} in the store`).toBeDefined()
  return FinalizedBlockCodec.decode(bytes!)
}

describe('chain API', () => {
  it('answers 404 for blocks before the first one, then serves blocks and final txs that match the store', async () => {
    await refused('/blocks/latest', 404, 'NOT_FOUND', /no blocks yet/)
    await refused('/blocks/1', 404, 'NOT_FOUND', /no blocks yet/)
    await refused('/blocks/0', 404, 'NOT_FOUND', /no blocks yet/)
    expect((await get('/blocks')).body).toEqual([])
    expect((await get('/blocks?from=1&to=10')).body).toEqual([])

    // a sender whose registration is still pending may send: both land in a block
    const alice = await register('alice')
    const sent = await send(dataTx(alice, 0, 0, 'hello'))
    expect(sent.status).toBe('final')
    expect(sent.block).toEqual({ height: expect.any(Number), index: 0 })
    const t1 = (await get(`/transactions/${sent.hash}`)).body
    expect(t1).toMatchObject({
      hash: sent.hash,
      status: 'final',
      reason: null,
      block: sent.block,
      tx: { kind: 'data', from: hex(alice), nonce: 0, data: 'hello' },
    })
    // the target counted its own permits
    expect(t1.votes.prePrepare).toEqual([{ voter: node.peerId, result: 'permit', reason: null }])
    const sent2 = await send(dataTx(alice, 1, 0, 'again'))
    expect(sent2.block!.height).toBeGreaterThanOrEqual(sent.block!.height)

    const head = (await get('/status')).body.height as number
    expect(head).toBeGreaterThanOrEqual(sent2.block!.height)
    const latest = (await get('/blocks/latest')).body
    expect(latest.height).toBe(head)
    expect(latest).toEqual((await get(`/blocks/${head}`)).body)

    for (let h = 1; h <= head; h++) {
      const b = (await get(`/blocks/${h}`)).body
      const fb = await stored(h)
      const header = fb.block!.header!
      expect(b.height).toBe(h)
      expect(b.hash).toBe(toHex(blockHash(header)))
      expect(b.header).toEqual({
        chainId: 'bftchain-test',
        height: h,
        round: header.round,
        parentHash: toHex(header.parentHash),
        proposer: node.peerId,
        time: new Date(header.time).toISOString(),
        timeMs: header.time,
        txRoot: toHex(header.txRoot),
        accountsRoot: toHex(header.accountsRoot),
        stateRoot: toHex(header.stateRoot),
      })
      if (h > 1) expect(b.header.parentHash).toBe((await get(`/blocks/${h - 1}`)).body.hash)
      expect(b.certificate).toEqual({
        phase: 'BLOCK_COMMIT',
        round: fb.commitCert!.round,
        signers: [node.peerId],
      })
      expect(b.txs.map((t: { hash: string }) => t.hash)).toEqual(
        fb.block!.txs.map((t) => toHex(txHash(t))),
      )
      expect(b.accounts.map((a: { username: string }) => a.username)).toEqual(
        fb.block!.accounts.map((a) => a.username),
      )
    }
    // the tx stands where its block says
    const inBlock = (await get(`/blocks/${sent.block!.height}`)).body
    expect(inBlock.txs[sent.block!.index]).toMatchObject({
      hash: sent.hash,
      status: 'ok',
      reason: null,
      kind: 'data',
      from: hex(alice),
      nonce: 0,
      gas: 0,
      data: 'hello',
      draws: [],
    })
    const registeredIn = (await get('/blocks?from=1&to=100')).body.find(
      (b: { accounts: { username: string }[] }) => b.accounts.some((a) => a.username === 'alice'),
    )
    expect(registeredIn.accounts).toContainEqual({
      address: hex(alice),
      username: 'alice',
      status: 'ok',
      reason: null,
    })

    // ranges: ascending, heights beyond the head simply absent
    const range = (await get(`/blocks?from=1&to=${head + 5}`)).body
    expect(range.map((b: { height: number }) => b.height)).toEqual(
      Array.from({ length: head }, (_, i) => i + 1),
    )
    expect(range[head - 1]).toEqual(latest)
    expect((await get(`/blocks?from=${head}&to=${head}`)).body).toEqual([latest])
    expect((await get(`/blocks?from=${head + 1}&to=${head + 100}`)).body).toEqual([])
    expect((await get('/blocks')).body).toEqual(range)
    // a range past its byte bound ends early, with one block at least: the lowest heights, or for
    // a page of the latest blocks (GET /blocks without `from`) the highest
    const heights = (blocks: { height: number }[]) => blocks.map((b) => b.height)
    const chainQuery = new ChainQuery(node.store, node.core)
    expect(head).toBeGreaterThan(1)
    expect(heights(await chainQuery.blocks(1, head, { maxBytes: 1 }))).toEqual([1])
    expect(heights(await chainQuery.blocks(1, head, { maxBytes: 1, newest: true }))).toEqual([head])
    expect(await chainQuery.blocks(1, head, { newest: true })).toEqual(range)

    // heights not final yet, and bad heights
    await refused(`/blocks/${head + 1}`, 404, 'NOT_FOUND', /not final yet/)
    await refused('/blocks/0', 404, 'NOT_FOUND', /genesis/)
    await refused('/blocks/abc', 400, 'MALFORMED')
    await refused('/blocks/-1', 400, 'MALFORMED')
    await refused('/blocks/1.5', 400, 'MALFORMED')
    await refused('/blocks/99999999999999999', 400, 'MALFORMED')
    await refused('/blocks/9999999999999999', 400, 'MALFORMED')
    await refused('/blocks?from=5&to=4', 400, 'MALFORMED')
    await refused('/blocks?from=1&to=101', 400, 'TOO_LARGE')
    await refused('/blocks?from=x', 400, 'MALFORMED')
    expect((await get('/blocks?from=1&to=100')).status).toBe(200)
    await refused(`/transactions/${'ab'.repeat(32)}`, 404, 'NOT_FOUND')
    await refused('/transactions/xyz', 400, 'MALFORMED')
  })

  it('grants raise a balance, a tx draws its gas from the oldest lot, and unclaimed gas waits for its account', async () => {
    const auth = await balanceOf(hex(authority))
    expect(auth).toEqual({
      address: hex(authority),
      account: 'final',
      hasTransaction: false,
      lastBlockIndex: 0,
      gasUsed: 0,
      balance: GRANT,
      pendingBalance: GRANT,
      lots: [
        { blockIndex: 0, time: Date.parse(genesis.genesisTime), remaining: GRANT, expiresAt: null },
      ],
      expiredGas: 0,
    })

    // a registered-but-pending account: known, with nothing yet. At the instant the node
    // admits it no block can hold it yet: the next block needs an election timer, which
    // fires later
    const alice = generateAccountKey('ed25519')
    const query = new ChainQuery(node.store, node.core)
    const admitted = await node.registerAccount(
      signAccount(alice, { chainId: node.chainId, username: 'alice', data: '' }),
    )
    const atAdmission = query.balance(hex(alice))
    expect(admitted.ok, JSON.stringify(admitted)).toBe(true)
    const nothingYet = { hasTransaction: false, balance: 0, pendingBalance: 0, lots: [] }
    expect(atAdmission).toMatchObject({ account: 'pending', ...nothingYet })
    // over HTTP, whichever side of that block we are on: still nothing
    const overHttp = await balanceOf(hex(alice))
    expect(overHttp).toMatchObject(nothingYet)
    expect(['pending', 'final']).toContain(overHttp.account)
    // alice's first tx: by the time it is final, so is her registration
    await send(dataTx(alice, 0))
    const g1 = await send(grantTx(0, hex(alice), 100))
    expect(g1).toMatchObject({ status: 'final', reason: null })
    const afterG1 = await balanceOf(hex(alice))
    expect(afterG1).toMatchObject({
      account: 'final',
      balance: 100,
      pendingBalance: 100,
      lastBlockIndex: g1.block!.height,
      lots: [{ blockIndex: g1.block!.height, remaining: 100 }],
    })
    const g2 = await send(grantTx(1, hex(alice), 50))
    expect(g2.block!.height).toBeGreaterThan(g1.block!.height)
    expect(await balanceOf(hex(alice))).toMatchObject({
      balance: 150,
      lots: [
        { blockIndex: g1.block!.height, remaining: 100 },
        { blockIndex: g2.block!.height, remaining: 50 },
      ],
    })
    // the grants cost the authority nothing (gas 0), and it has now transacted
    expect(await balanceOf(hex(authority))).toMatchObject({
      hasTransaction: true,
      balance: GRANT,
      gasUsed: 0,
      lastBlockIndex: g2.block!.height,
    })

    // 120 gas: all of the oldest lot, then 20 of the next
    const spend = await send(dataTx(alice, 1, 120))
    expect(spend).toMatchObject({ status: 'final', reason: null })
    const afterSpend = await balanceOf(hex(alice))
    expect(afterSpend).toEqual({
      address: hex(alice),
      account: 'final',
      hasTransaction: true,
      lastBlockIndex: spend.block!.height,
      gasUsed: 120,
      balance: 30,
      pendingBalance: 30,
      lots: [
        { blockIndex: g2.block!.height, time: expect.any(Number), remaining: 30, expiresAt: null },
      ],
      expiredGas: 0,
    })
    const shown = (await get(`/transactions/${spend.hash}`)).body
    expect(shown.draws).toEqual([
      { blockIndex: g1.block!.height, useGas: 100 },
      { blockIndex: g2.block!.height, useGas: 20 },
    ])
    const block = (await get(`/blocks/${spend.block!.height}`)).body
    expect(block.txs[spend.block!.index]).toMatchObject({
      hash: spend.hash,
      gas: 120,
      status: 'ok',
    })

    // gas granted to an address with no account waits there, unclaimed
    const bob = generateAccountKey('ed25519')
    await refused(`/accounts/${hex(bob)}/balance`, 404, 'NOT_FOUND')
    const g3 = await send(grantTx(2, hex(bob), 70))
    expect(await balanceOf(hex(bob))).toEqual({
      address: hex(bob),
      account: null,
      hasTransaction: false,
      lastBlockIndex: g3.block!.height,
      gasUsed: 0,
      balance: 70,
      pendingBalance: 70,
      lots: [
        { blockIndex: g3.block!.height, time: expect.any(Number), remaining: 70, expiresAt: null },
      ],
      expiredGas: 0,
    })

    await refused(`/accounts/${'0'.repeat(64)}/balance`, 404, 'NOT_FOUND', /no account/)
    await refused('/accounts/xyz/balance', 400, 'MALFORMED')
    await refused(`/accounts/${'A'.repeat(64)}/balance`, 400, 'MALFORMED')
  })

  it('the pending balance takes off the gas of committed txs that no block holds yet', async () => {
    const alice = await register('alice')
    await send(dataTx(alice, 0))
    await send(grantTx(0, hex(alice), 100))
    expect((await balanceOf(hex(alice))).pendingBalance).toBe(100)

    // at the instant the tx is committed here, no block can hold it yet: the
    // next block needs an election timer, which fires later
    const query = new ChainQuery(node.store, node.core)
    const tx = dataTx(alice, 1, 40)
    const hash = toHex(txHash(tx))
    const atCommit = new Promise<ReturnType<ChainQuery['balance']>>((resolve) => {
      const onStatus = (h: string, status: string) => {
        if (h !== hash || status !== 'committed') return
        node.off('tx-status', onStatus)
        resolve(query.balance(hex(alice)))
      }
      node.on('tx-status', onStatus)
    })
    const committed = await send(tx, 'committed')
    expect(['committed', 'final']).toContain(committed.status)
    expect(await atCommit).toMatchObject({ balance: 100, pendingBalance: 60, gasUsed: 0 })

    // over HTTP, whichever side of the block we are on, the two agree
    const now = await balanceOf(hex(alice))
    if (now.balance === 100) expect(now.pendingBalance).toBe(60)
    else expect(now).toMatchObject({ balance: 60, pendingBalance: 60, gasUsed: 40 })
    expect((await node.waitForTx(hash, 'final', 20_000))?.status).toBe('final')
    expect(await balanceOf(hex(alice))).toMatchObject({
      balance: 60,
      pendingBalance: 60,
      gasUsed: 40,
    })
  })

  it('shows a tx that failed in its block with the receipt reason, and final txs after a restart', async () => {
    const alice = await register('alice')
    const first = await send(dataTx(alice, 0))
    expect(first.status).toBe('final')

    // Two txs with the same nonce, both in one block (what two conflicting
    // commits would give): the block applies the first in canonical order and
    // records the second as failed. With one validator we can certify such a
    // block ourselves and hand it to the node as history.
    const a = dataTx(alice, 1, 0, 'one')
    const b = dataTx(alice, 1, 0, 'two')
    const txs = sortTxs([a, b])
    const [okTx, failedTx] = txs.map((t) => toHex(txHash(t)))
    // a registration whose username is taken fails too
    const mallory = generateAccountKey('ed25519')
    const accounts: AccountRegistration[] = [
      signAccount(mallory, { chainId: node.chainId, username: 'alice', data: '' }),
    ]
    const tip = node.core.head
    expect(node.core.pool.sizes()).toMatchObject({ committed: 0, accounts: 0 })
    const header: BlockHeader = {
      chainId: node.chainId,
      height: tip.height + 1,
      round: 0,
      parentHash: tip.hash,
      proposer: peerIdFromString(id.peerId),
      time: Math.max(tip.time + 1, Date.now()),
      txRoot: txRoot(txs),
      accountsRoot: accountsRoot(accounts),
      stateRoot: new Uint8Array(32),
    }
    header.stateRoot = executeBlock(
      node.core.ledger,
      { header, txs, accounts },
      tip.stateRoot,
    ).stateRoot
    const hash = blockHash(header)
    const vote = signVote(id.signer, node.chainId, {
      phase: Phase.BLOCK_COMMIT,
      subject: hash,
      height: header.height,
      round: 0,
      result: VoteResult.PERMIT,
      reason: RejectReason.NONE,
      voter: peerIdFromString(id.peerId),
    })
    const commitCert = {
      phase: Phase.BLOCK_COMMIT,
      subject: hash,
      height: header.height,
      round: 0,
      signatures: [{ voter: vote.voter, signature: vote.signature }],
    }
    const appended = new Promise<void>((resolve) => {
      const onBlock = (h: number) => {
        if (h !== header.height) return
        node.off('block', onBlock)
        resolve()
      }
      node.on('block', onBlock)
    })
    node.driver.push({
      type: 'block-fetched',
      now: Date.now(),
      block: { block: { header, txs, accounts }, commitCert },
      from: id.peerId,
    })
    await appended

    const block = (await get(`/blocks/${header.height}`)).body
    expect(block.hash).toBe(toHex(hash))
    expect(
      block.txs.map((t: { hash: string; status: string; reason: string | null }) => [
        t.hash,
        t.status,
        t.reason,
      ]),
    ).toEqual([
      [okTx, 'ok', null],
      [failedTx, 'failed', 'NONCE_USED'],
    ])
    expect(block.accounts).toEqual([
      { address: hex(mallory), username: 'alice', status: 'failed', reason: 'USERNAME_TAKEN' },
    ])
    const failed = (await get(`/transactions/${failedTx}`)).body
    expect(failed).toMatchObject({
      hash: failedTx,
      status: 'failed',
      reason: { code: 'NONCE_USED', message: expect.stringContaining(`block ${header.height}`) },
      block: { height: header.height, index: 1 },
      tx: { nonce: 1, data: txs[1] === a ? 'one' : 'two' },
    })
    expect((await get(`/transactions/${okTx}`)).body).toMatchObject({
      status: 'final',
      block: { height: header.height, index: 0 },
    })
    const before = await balanceOf(hex(alice))
    expect(before).toMatchObject({ hasTransaction: true, lastBlockIndex: header.height })

    // a restarted node's tx log is empty: the answers come from the tx index
    await app.close()
    const home = node.store.location.replace(/\/data$/, '')
    await net.stopNode(node)
    node = await net.startNode({ genesis, identity: id, home })
    app = buildApi(node, silentLogger)
    expect(node.txRecord(first.hash)).toBeUndefined()
    expect((await get(`/transactions/${first.hash}`)).body).toEqual({
      hash: first.hash,
      status: 'final',
      reason: null,
      tx: txToJson(dataTx(alice, 0)),
      target: null,
      votes: { prePrepare: [], prepare: [] },
      block: first.block,
      draws: [],
    })
    expect((await get(`/transactions/${failedTx}`)).body).toMatchObject({
      status: 'failed',
      reason: { code: 'NONCE_USED' },
      block: { height: header.height, index: 1 },
    })
    expect(await balanceOf(hex(alice))).toEqual(before)
    expect((await get('/blocks/latest')).body).toEqual(block)
  })
})
