/**
 * POST /transactions?wait= holds requests, and their number is bounded: one
 * validator of two is up, so no tx gets committed and every waiting request
 * stays held; beyond the bound a request is refused with 503
 * TOO_MANY_WAITING and Retry-After before its tx is submitted, and a client
 * that disconnects frees its place at once. Real HTTP over loopback (a
 * disconnect cannot be injected).
 */
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildApi } from '../../src/api/server.js'
import { MAX_WAITING_REQUESTS, WAIT_RETRY_AFTER_S } from '../../src/api/tx-waiters.js'
import { txToJson } from '../../src/core/chain/json.js'
import { signTx } from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import { type Tx, TxKind } from '../../src/core/codec/index.js'
import { addressOf, type Signer, toHex } from '../../src/core/crypto/index.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import { silentLogger } from '../../src/node/log.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'

const MAX = 2
const net = new TestNet()
let node: ChainNode
let app: FastifyInstance
let port: number
let authority: Signer
const open: { destroy(): void }[] = []

beforeEach(async () => {
  const ids = await Promise.all([identity('api-wait-0'), identity('api-wait-1')])
  authority = generateAccountKey('ed25519')
  // two validators, one started: the quorum (2) is never reached, so no tx is ever committed
  const genesis = makeGenesis(ids, 'bftchain-test', {
    authorities: [
      {
        address: toHex(addressOf(authority.publicKey)),
        keyType: 'ed25519',
        publicKey: Buffer.from(authority.publicKey).toString('base64'),
        grant: 1_000,
      },
    ],
    timeouts: { txRoundMs: 120_000 },
  })
  node = await net.startNode({ genesis, identity: ids[0]! })
  app = buildApi(node, silentLogger, { maxWaitingRequests: MAX })
  await app.listen({ host: '127.0.0.1', port: 0 })
  port = (app.server.address() as AddressInfo).port
})
afterEach(async () => {
  for (const r of open.splice(0)) r.destroy()
  await app.close()
  await net.stopAll()
})

function dataTx(nonce: number): Tx {
  return signTx(authority, {
    chainId: node.chainId,
    kind: TxKind.DATA,
    from: addressOf(authority.publicKey),
    nonce,
    gas: 0,
    data: new TextEncoder().encode(`wait ${nonce}`),
  })
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: { error?: { code: string; message: string }; hash?: string; status?: string }
}

/** POST over a connection of its own; `abort` closes that connection. */
function post(path: string, tx: Tx): { answer: Promise<Answer>; abort: () => void } {
  const body = JSON.stringify(txToJson(tx))
  const req = request({
    host: '127.0.0.1',
    port,
    path,
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  })
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) }),
      )
    })
    req.on('error', reject)
  })
  req.end(body)
  open.push(req)
  return { answer, abort: () => req.destroy() }
}

const WAIT = '/transactions?wait=committed&timeoutMs=120000'

describe('POST /transactions?wait=: bounded waiting', () => {
  it('holds at most the bound, refuses beyond it with Retry-After, and frees a place on disconnect', async () => {
    expect(MAX_WAITING_REQUESTS).toBe(1_000)
    const first = post(WAIT, dataTx(0))
    const second = post(WAIT, dataTx(1))
    await waitFor('two requests waiting', () => app.txWaiters.size === MAX)
    await waitFor('both txs submitted', () =>
      [0, 1].every((n) => node.txRecord(toHex(txHash(dataTx(n)))) != null),
    )
    expect(app.txWaiters.hashes).toBe(2)

    // the third is refused, and its tx was never submitted
    const third = await post(WAIT, dataTx(2)).answer
    expect(third.status).toBe(503)
    expect(third.body.error?.code).toBe('TOO_MANY_WAITING')
    expect(third.headers['retry-after']).toBe(String(WAIT_RETRY_AFTER_S))
    expect(third.headers['retry-after-ms']).toBe(String(WAIT_RETRY_AFTER_S * 1_000))
    expect(node.txRecord(toHex(txHash(dataTx(2))))).toBeUndefined()

    // without wait= a tx is taken as ever
    const plain = await post('/transactions', dataTx(2)).answer
    expect(plain.status).toBe(202)
    expect(app.txWaiters.size).toBe(MAX)

    // a client that goes away frees its place
    first.abort()
    await expect(first.answer).rejects.toThrow()
    await waitFor('the place to be free', () => app.txWaiters.size === MAX - 1)
    expect(app.txWaiters.hashes).toBe(1)
    const fourth = post(WAIT, dataTx(3))
    await waitFor('the new request waiting', () => app.txWaiters.size === MAX)

    // closing the server answers the held requests with where their txs stand
    await app.close()
    const [a, b] = await Promise.all([second.answer, fourth.answer])
    for (const r of [a, b]) {
      expect(r.status).toBe(202)
      expect(r.body.status).toBe('pending')
    }
    expect(app.txWaiters.size).toBe(0)
  })

  it('a request that times out leaves its place too', async () => {
    const r = await post('/transactions?wait=final&timeoutMs=200', dataTx(0)).answer
    expect(r.status).toBe(202)
    expect(r.body.status).toBe('pending')
    expect(app.txWaiters.size).toBe(0)
    expect(app.txWaiters.hashes).toBe(0)
    // the bounds' counters are in the metrics
    const metrics = (await app.inject('/metrics')).body
    expect(metrics).toMatch(/^bftchain_core_dropped_network_events_total 0$/m)
    expect(metrics).toMatch(/^bftchain_gossip_rate_limited_total 0$/m)
    expect(metrics).toMatch(/^bftchain_core_queue_events \d+$/m)
  })
})
