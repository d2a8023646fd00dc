/**
 * The client library as a user imports it (`bftchain/client`, the package's
 * built export), against a node in this process: keys, registration,
 * signing, submitting one tx and many, waiting, reading, the event stream,
 * and its errors with the API's codes and fields.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type AccountKey,
  accountKeyFile,
  BftchainClient,
  BftchainError,
  buildTx,
  generateAccountKey,
  readAccountKey,
  writeAccountKey,
} from 'bftchain/client'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type ApiServer, startApi } from '../../src/api/server.js'
import { addressOf, toHex } from '../../src/core/crypto/index.js'
import { silentLogger } from '../../src/node/log.js'
import { identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'
import { ensureBuilt } from './helpers/processes.js'

const net = new TestNet()
let api: ApiServer
let client: BftchainClient

beforeAll(() => ensureBuilt())
beforeEach(async () => {
  const id = await identity('client-0')
  const node = await net.startNode({ genesis: makeGenesis([id]), identity: id })
  api = await startApi(node, { host: '127.0.0.1', port: 0 }, silentLogger)
  client = new BftchainClient({ url: api.url })
})
afterEach(async () => {
  await api.close()
  await net.stopAll()
})

function newKey(username: string): AccountKey {
  const signer = generateAccountKey('ed25519')
  return { signer, username, address: toHex(addressOf(signer.publicKey)) }
}

async function registered(username: string): Promise<AccountKey> {
  const key = newKey(username)
  expect(await client.register(key, username)).toMatchObject({ address: key.address, username })
  await waitFor(
    `${username} final`,
    async () => (await client.account(key.address)).status === 'final',
  )
  return key
}

describe('bftchain/client', () => {
  it('reads the node: status, validators, blocks', async () => {
    const status = await client.status()
    expect(status).toMatchObject({ chainId: 'bftchain-test', role: 'validator' })
    expect(await client.chainId()).toBe(status.chainId)
    expect((await client.validators()).validators).toHaveLength(1)
    await registered('alice')
    // the block is on disk (what /blocks serves) a write after the core has it
    await waitFor('block 1 served', async () => (await client.status()).height >= 1)
    const head = await client.block('latest')
    expect(head.height).toBeGreaterThanOrEqual(1)
    expect((await client.blocks(1, head.height)).map((b) => b.height)).toContain(head.height)
  })

  it('signs and sends a tx, waits for it final, and finds it with its votes and block', async () => {
    const alice = await registered('alice')
    const sent = await client.send(alice, { kind: 'data', data: 'hello' }, { wait: 'final' })
    expect(sent.status).toBe('final')
    const seen = await client.tx(sent.hash)
    expect(seen.status).toBe('final')
    expect(seen.block).toMatchObject({ height: expect.any(Number) })
    // the next nonce counts it
    expect(await client.nextNonce(alice.address)).toBe(1)
    // waitFor on a final tx answers at once
    expect((await client.waitFor(sent.hash, 'final', 5_000)).status).toBe('final')
  })

  it('submits many in one request: a result per tx, an error for the refused one', async () => {
    const alice = await registered('alice')
    const chainId = await client.chainId()
    const a = buildTx(alice, chainId, 0, { kind: 'data', data: 'one' })
    const b = buildTx(alice, chainId, 1, { kind: 'data', data: 'two' })
    const again = buildTx(alice, chainId, 1, { kind: 'data', data: 'two, again' })
    const answers = await client.submitMany([a.tx, b.tx, again.tx])
    expect(answers[0]).toMatchObject({ hash: a.hash })
    expect(answers[1]).toMatchObject({ hash: b.hash })
    expect(answers[2]).toBeInstanceOf(BftchainError)
    expect((answers[2] as BftchainError).code).toMatch(/NONCE|DUPLICATE/)
    const last = await client.waitFor(b.hash, 'committed', 30_000)
    expect(['committed', 'final']).toContain(last.status)
  })

  it('errors carry the API code, the status and the field', async () => {
    const missing = await client.account('00'.repeat(32)).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(BftchainError)
    expect(missing).toMatchObject({ status: 404, code: 'NOT_FOUND' })

    const alice = await registered('alice')
    const { tx } = buildTx(alice, await client.chainId(), 0, { kind: 'data', data: 'x' })
    const bad = (await client
      .submit({ ...tx, nonce: -1 } as never)
      .catch((e: unknown) => e)) as BftchainError
    expect(bad).toBeInstanceOf(BftchainError)
    expect(bad).toMatchObject({ status: 400, code: 'MALFORMED', field: 'nonce' })
    expect(bad.message).toMatch(/^MALFORMED: nonce/)

    const forged = { ...buildTx(alice, await client.chainId(), 0, { kind: 'data', data: 'y' }).tx }
    forged.data = new TextEncoder().encode('not what was signed')
    const refused = await client.submit(forged).catch((e: unknown) => e)
    expect(refused).toMatchObject({ status: 400, code: 'BAD_SIGNATURE' })

    expect(() => buildTx(alice, 'c', 0, { kind: 'data', data: new Uint8Array(40_000) })).toThrow(
      expect.objectContaining({ code: 'TOO_LARGE', field: 'data' }),
    )
    const nobody = await new BftchainClient('http://127.0.0.1:1').status().catch((e: unknown) => e)
    expect(nobody).toMatchObject({ status: 0, code: 'UNREACHABLE' })
    expect(() => new BftchainClient('not a url')).toThrow(
      expect.objectContaining({ code: 'BAD_URL' }),
    )
  })

  it('waits as a node refusing for load asks (Retry-After-Ms, else Retry-After) before trying again', async () => {
    // a node stand-in: 503 POOL_FULL with the headers below, then 202
    const answers: { headers: Record<string, string> }[] = []
    const seen: number[] = []
    const server = createServer((_req, res) => {
      seen.push(performance.now())
      const next = answers.shift()
      if (next == null) {
        res.writeHead(202, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ hash: 'ab'.repeat(32), status: 'pending' }))
        return
      }
      res.writeHead(503, { 'content-type': 'application/json', ...next.headers })
      res.end(JSON.stringify({ error: { code: 'POOL_FULL', message: 'this node is full' } }))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const { tx } = buildTx(newKey('ruth'), 'test-chain', 0, { kind: 'data', data: 'x' })
      // without retries: the error names the wait, in ms and in whole seconds
      answers.push({ headers: { 'retry-after': '1', 'retry-after-ms': '350' } })
      const refused = await new BftchainClient({ url }).submit(tx).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(BftchainError)
      expect(refused).toMatchObject({
        status: 503,
        code: 'POOL_FULL',
        retryAfterMs: 350,
        retryAfterS: 1,
      })
      // with retries: it tries again no sooner than each answer asked
      seen.length = 0
      answers.push({ headers: { 'retry-after': '1', 'retry-after-ms': '300' } })
      answers.push({ headers: { 'retry-after': '1' } }) // no Retry-After-Ms: whole seconds
      const client = new BftchainClient({ url, poolFullRetries: 2 })
      expect(await client.submit(tx)).toMatchObject({ status: 'pending' })
      expect(seen).toHaveLength(3)
      expect(seen[1]! - seen[0]!).toBeGreaterThanOrEqual(300 - 5)
      expect(seen[2]! - seen[1]!).toBeGreaterThanOrEqual(1_000 - 5)
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('follows the event stream as an async iterator', async () => {
    const stop = new AbortController()
    const seen: string[] = []
    const reading = (async () => {
      for await (const ev of client.events(['block'], stop.signal)) {
        seen.push(ev.type)
        if (ev.type === 'block') {
          expect(ev.data).toMatchObject({ height: expect.any(Number) })
          stop.abort()
        }
      }
    })()
    await registered('bob') // a block
    await reading
    expect(seen).toContain('block')
  })

  it('writes and reads account key files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bftchain-client-'))
    try {
      const key = newKey('carol')
      const file = join(dir, 'carol.key.json')
      await writeAccountKey(file, accountKeyFile(key.signer, 'carol'))
      const back = await readAccountKey(file)
      expect(back).toMatchObject({ address: key.address, username: 'carol' })
      await expect(writeAccountKey(file, accountKeyFile(key.signer, 'carol'))).rejects.toThrow(
        /already exists/,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
