/**
 * The HTTP API of one running validator (a chain of one: its own vote is a
 * quorum), through fastify's inject: every route's answers and every kind of
 * bad input, which must get a 4xx with a code and leave the pool untouched.
 */
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildApi } from '../../src/api/server.js'
import { accountToJson, txToJson } from '../../src/core/chain/json.js'
import { signAccount, signTx } from '../../src/core/chain/signatures.js'
import { MAX_TX_DATA_BYTES, TxKind } from '../../src/core/codec/index.js'
import { addressOf, type Signer, SignKind, sign, toHex } from '../../src/core/crypto/index.js'
import { generateAccountKey, parseAccountKey } from '../../src/node/keys/account-key.js'
import { silentLogger } from '../../src/node/log.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'

const net = new TestNet()
let node: ChainNode
let app: FastifyInstance

beforeEach(async () => {
  const id = await identity('api-0')
  node = await net.startNode({ genesis: makeGenesis([id]), identity: id })
  app = buildApi(node, silentLogger)
})
afterEach(async () => {
  await app.close()
  await net.stopAll()
})

async function registered(name: string): Promise<Signer> {
  const key = generateAccountKey('ed25519')
  const res = await app.inject({
    method: 'POST',
    url: '/accounts',
    payload: accountToJson(signAccount(key, { chainId: node.chainId, username: name, data: 'hi' })),
  })
  expect(res.statusCode, res.body).toBe(202)
  // at the instant it is admitted no block holds it yet (the next one is an election timer away)
  expect(res.json().status).toBe('pending')
  return key
}

/** Wait for `key`'s registration to be in a block: the pool holds nothing more of it. */
function final(key: Signer): Promise<void> {
  const address = toHex(addressOf(key.publicKey))
  return waitFor(`${address} final`, () => node.core.account(address)?.status === 'final')
}

function txBody(key: Signer, nonce: number, data = 'hello') {
  return txToJson(
    signTx(key, {
      chainId: node.chainId,
      kind: TxKind.DATA,
      from: addressOf(key.publicKey),
      nonce,
      gas: 0,
      data: new TextEncoder().encode(data),
    }),
  )
}

describe('HTTP API', () => {
  it('GET /status, /peers, /validators', async () => {
    const status = (await app.inject('/status')).json()
    expect(status).toMatchObject({
      chainId: 'bftchain-test',
      role: 'validator',
      height: 0,
      peers: 0,
    })
    expect((await app.inject('/peers')).json()).toEqual([])
    const v = (await app.inject('/validators')).json()
    expect(v).toMatchObject({
      quorum: 1,
      faultTolerance: 0,
      validators: [{ peerId: node.peerId, self: true }],
    })
  })

  it('registers a client-made key, shows it, and answers a login challenge', async () => {
    const key = await registered('alice')
    const address = toHex(addressOf(key.publicKey))
    const account = (await app.inject(`/accounts/${address}`)).json()
    // pending until a block takes it, which may have happened by now on a slow machine
    expect(account).toMatchObject({
      address,
      username: 'alice',
      data: 'hi',
      nonce: 0,
      pendingNonce: 0,
    })
    await final(key)
    expect((await app.inject(`/accounts/${address}`)).json()).toMatchObject({
      address,
      status: 'final',
      nonce: 0,
    })

    const { nonce } = (
      await app.inject({ method: 'POST', url: '/accounts/challenge', payload: { address } })
    ).json()
    const signature = Buffer.from(
      sign(key, node.chainId, SignKind.Login, Buffer.from(nonce, 'hex')),
    ).toString('base64')
    const login = await app.inject({
      method: 'POST',
      url: '/accounts/login',
      payload: { address, nonce, signature },
    })
    expect(login.statusCode).toBe(200)
    expect(login.json().username).toBe('alice')
    // a challenge answers once
    const again = await app.inject({
      method: 'POST',
      url: '/accounts/login',
      payload: { address, nonce, signature },
    })
    expect(again.statusCode).toBe(401)
    // another key's signature is refused
    const other = generateAccountKey('ed25519')
    const c2 = (
      await app.inject({ method: 'POST', url: '/accounts/challenge', payload: { address } })
    ).json()
    const forged = Buffer.from(
      sign(other, node.chainId, SignKind.Login, Buffer.from(c2.nonce, 'hex')),
    ).toString('base64')
    const bad = await app.inject({
      method: 'POST',
      url: '/accounts/login',
      payload: { address, nonce: c2.nonce, signature: forged },
    })
    expect(bad.statusCode).toBe(401)
    expect(bad.json().error.code).toBe('UNAUTHORIZED')
  })

  it('makes a key for a client that sends only {username, data}, and returns it without keeping it', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/accounts',
      payload: { username: 'bob', data: 'made here' },
    })
    expect(res.statusCode, res.body).toBe(201)
    const body = res.json()
    const key = parseAccountKey(body.keyFile, 'response')
    expect(key.address).toBe(body.address)
    expect((await app.inject(`/accounts/${body.address}`)).json().username).toBe('bob')
  })

  it('refuses duplicate usernames and keys with 409', async () => {
    const key = await registered('carol')
    const again = await app.inject({
      method: 'POST',
      url: '/accounts',
      payload: accountToJson(
        signAccount(key, { chainId: node.chainId, username: 'carol2', data: '' }),
      ),
    })
    expect(again.statusCode).toBe(409)
    expect(again.json().error.code).toBe('ALREADY_REGISTERED')
    const taken = await app.inject({
      method: 'POST',
      url: '/accounts',
      payload: accountToJson(
        signAccount(generateAccountKey('ed25519'), {
          chainId: node.chainId,
          username: 'carol',
          data: '',
        }),
      ),
    })
    expect(taken.statusCode).toBe(409)
    expect(taken.json().error.code).toBe('USERNAME_TAKEN')
  })

  it('commits a tx with ?wait=committed and shows it with its votes', async () => {
    const key = await registered('dave')
    const res = await app.inject({
      method: 'POST',
      url: '/transactions?wait=committed',
      payload: txBody(key, 0),
    })
    expect(res.statusCode, res.body).toBe(200)
    const { hash, status } = res.json()
    expect(status).toBe('committed')
    const shown = (await app.inject(`/transactions/${hash}`)).json()
    expect(shown).toMatchObject({
      hash,
      status: 'committed',
      target: node.peerId,
      tx: { data: 'hello', nonce: 0 },
    })
    expect(shown.votes.prePrepare).toEqual([{ voter: node.peerId, result: 'permit', reason: null }])
    expect(shown.votes.prepare).toEqual([{ voter: node.peerId, result: 'permit', reason: null }])
    const account = (await app.inject(`/accounts/${toHex(addressOf(key.publicKey))}`)).json()
    expect(account.pendingNonce).toBe(1)
  })

  it('takes a JSON array of txs for load and answers each', async () => {
    const key = await registered('erin')
    const payload = [txBody(key, 0, 'a'), txBody(key, 1, 'b'), { ...txBody(key, 2, 'c'), nonce: 9 }]
    const res = await app.inject({ method: 'POST', url: '/transactions', payload })
    expect(res.statusCode).toBe(202)
    const body = res.json()
    expect(body).toHaveLength(3)
    expect(body[0].status).toBeDefined()
    expect(body[1].status).toBeDefined()
    expect(body[2].error.code).toBe('BAD_SIGNATURE')
  })

  it('a node refusing for load answers 503 POOL_FULL with Retry-After and Retry-After-Ms, for one tx and in an array', async () => {
    const key = await registered('gail')
    // the core's refusal for load, as tx-rounds.ts gives it when more is in hand than it ends in time
    const refusal = {
      ok: false as const,
      code: 'POOL_FULL',
      message: 'this node holds 4096 txs for rounds, as many as it ends in 5 s at its rate',
      httpStatus: 503,
      retryAfterMs: 0,
    }
    const submit = node.submitTx.bind(node)
    node.submitTx = async () => refusal
    try {
      // the wait itself in Retry-After-Ms, and in whole seconds, rounded up, in HTTP's Retry-After
      for (const [ms, seconds] of [
        [6_250, '7'],
        [320, '1'],
      ] as const) {
        refusal.retryAfterMs = ms
        const one = await app.inject({
          method: 'POST',
          url: '/transactions',
          payload: txBody(key, 0),
        })
        expect(one.statusCode).toBe(503)
        expect(one.headers['retry-after']).toBe(seconds)
        expect(one.headers['retry-after-ms']).toBe(String(ms))
        expect(one.json().error).toEqual({ code: 'POOL_FULL', message: refusal.message })
        const many = await app.inject({
          method: 'POST',
          url: '/transactions',
          payload: [txBody(key, 0), txBody(key, 1)],
        })
        expect(many.statusCode).toBe(202)
        expect(many.headers['retry-after']).toBe(seconds)
        expect(many.headers['retry-after-ms']).toBe(String(ms))
        expect(many.json().map((r: { error: { code: string } }) => r.error.code)).toEqual([
          'POOL_FULL',
          'POOL_FULL',
        ])
      }
    } finally {
      node.submitTx = submit
    }
    // taken again: no Retry-After on a 202 of txs taken
    const ok = await app.inject({ method: 'POST', url: '/transactions', payload: [txBody(key, 0)] })
    expect(ok.statusCode).toBe(202)
    expect(ok.headers['retry-after']).toBeUndefined()
    expect(ok.headers['retry-after-ms']).toBeUndefined()
  })

  it('a node with no room refuses what it cannot take unread: 503 for a whole request, POOL_FULL past its room in an array', async () => {
    const key = await registered('hana')
    const refusal = {
      ok: false as const,
      code: 'POOL_FULL',
      message: '8192 txs already wait for a round at this node',
      httpStatus: 503,
      retryAfterMs: 3_000,
    }
    const admission = node.txAdmission.bind(node)
    const submit = node.submitTx.bind(node)
    let submitted = 0
    let room = 0
    node.txAdmission = () => ({ room, refusal })
    node.submitTx = async (tx) => {
      submitted++
      return submit(tx)
    }
    try {
      for (const payload of [[txBody(key, 0), txBody(key, 1)], txBody(key, 0), '{"not json']) {
        const res = await app.inject({
          method: 'POST',
          url: '/transactions',
          headers: { 'content-type': 'application/json' },
          payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
        })
        // a whole-request refusal: not 202 with an answer per tx, and not 400 for the bad body
        // (it was never read)
        expect(res.statusCode).toBe(503)
        expect(res.headers['retry-after']).toBe('3')
        expect(res.json().error).toEqual({ code: 'POOL_FULL', message: refusal.message })
      }
      expect(submitted).toBe(0)
      // room for one: the first is taken, the rest refused in order and not read (the third is
      // malformed, and not answered 400)
      room = 1
      const some = await app.inject({
        method: 'POST',
        url: '/transactions',
        payload: [txBody(key, 0), txBody(key, 1), { nonce: 'x' }],
      })
      expect(some.statusCode).toBe(202)
      expect(some.headers['retry-after']).toBe('3')
      const answers = some.json()
      expect(answers[0].status).toBe('pending')
      expect(answers.slice(1)).toEqual([
        { error: { code: 'POOL_FULL', message: refusal.message } },
        { error: { code: 'POOL_FULL', message: refusal.message } },
      ])
      expect(submitted).toBe(1)
    } finally {
      node.txAdmission = admission
      node.submitTx = submit
    }
    // room again: the rest is taken
    const ok = await app.inject({
      method: 'POST',
      url: '/transactions',
      payload: [txBody(key, 0), txBody(key, 1)],
    })
    expect(ok.statusCode).toBe(202)
    expect(ok.json().every((r: { status?: string }) => r.status === 'pending')).toBe(true)
  })

  const bad: [string, (key: Signer) => unknown, number, string][] = [
    ['malformed JSON', () => '{"chainId": ', 400, 'MALFORMED'],
    ['not an object', () => 42, 400, 'MALFORMED'],
    ['an unknown field', (k) => ({ ...txBody(k, 0), extra: 1 }), 400, 'MALFORMED'],
    ['a bad hex address', (k) => ({ ...txBody(k, 0), from: 'xyz' }), 400, 'MALFORMED'],
    ['a negative nonce', (k) => ({ ...txBody(k, 0), nonce: -1 }), 400, 'MALFORMED'],
    ['a bad signature', (k) => ({ ...txBody(k, 0), nonce: 3 }), 400, 'BAD_SIGNATURE'],
    ['oversized data', (k) => txBody(k, 0, 'x'.repeat(MAX_TX_DATA_BYTES + 1)), 400, 'TOO_LARGE'],
    ['another chain', (k) => ({ ...txBody(k, 0), chainId: 'elsewhere' }), 400, 'WRONG_CHAIN'],
    ['an unknown sender', () => txBody(generateAccountKey('ed25519'), 0), 400, 'UNKNOWN_SENDER'],
    [
      'gas the sender does not have',
      (k) =>
        txToJson(
          signTx(k, {
            chainId: node.chainId,
            kind: TxKind.DATA,
            from: addressOf(k.publicKey),
            nonce: 0,
            gas: 5,
            data: new Uint8Array(0),
          }),
        ),
      400,
      'INSUFFICIENT_GAS',
    ],
    [
      'a gas grant by a non-authority',
      (k) =>
        txToJson(
          signTx(k, {
            chainId: node.chainId,
            kind: TxKind.GAS_GRANT,
            from: addressOf(k.publicKey),
            nonce: 0,
            gas: 0,
            data: new Uint8Array([10, 32, ...new Uint8Array(32), 16, 1]),
          }),
        ),
      400,
      'UNAUTHORIZED',
    ],
  ]

  it.each(bad)('refuses %s and keeps the pool as it was', async (_label, body, status, code) => {
    const key = await registered('frank')
    // the pool at rest: only this request could change it now
    await final(key)
    const before = node.core.pool.sizes()
    const res = await app.inject({
      method: 'POST',
      url: '/transactions',
      headers: { 'content-type': 'application/json' },
      payload: typeof body(key) === 'string' ? (body(key) as string) : JSON.stringify(body(key)),
    })
    expect(res.statusCode, res.body).toBe(status)
    expect(res.json().error.code).toBe(code)
    expect(res.json().error.message.length).toBeGreaterThan(0)
    expect(node.core.pool.sizes()).toEqual(before)
  })

  it('refuses a used nonce', async () => {
    const key = await registered('gina')
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/transactions?wait=committed',
          payload: txBody(key, 0, 'one'),
        })
      ).statusCode,
    ).toBe(200)
    const res = await app.inject({
      method: 'POST',
      url: '/transactions',
      payload: txBody(key, 0, 'two'),
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('NONCE_USED')
  })

  it('answers unknown things with 404 and bad paths with 400, in the error format', async () => {
    const missing = await app.inject(`/transactions/${'ab'.repeat(32)}`)
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } })
    expect((await app.inject('/accounts/nothex')).statusCode).toBe(400)
    expect((await app.inject('/nowhere')).json().error.code).toBe('NOT_FOUND')
  })
})
