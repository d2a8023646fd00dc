/**
 * GET /events (server-sent events), `bftchain watch` and GET /metrics on a
 * running chain of one validator (its own vote is a quorum): the status comes
 * first, then rounds, tx statuses and final blocks as they happen; peers
 * joining and leaving; ?types= filters; bad types, too many streams, and a
 * server that closes with streams open; the metrics count what happened; the
 * explorer page and its script.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type ApiServer, startApi } from '../../src/api/server.js'
import { readEvents, type ServerEvent } from '../../src/client/sse.js'
import type { Genesis } from '../../src/core/chain/genesis.js'
import { accountToJson, txToJson } from '../../src/core/chain/json.js'
import { signAccount, signTx } from '../../src/core/chain/signatures.js'
import { txHash } from '../../src/core/chain/tx.js'
import { TxKind } from '../../src/core/codec/index.js'
import { INITIAL_BATCH_WINDOW } from '../../src/core/consensus/tx-target.js'
import { addressOf, toHex } from '../../src/core/crypto/index.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import { silentLogger } from '../../src/node/log.js'
import type { ChainNode } from '../../src/node/node/chain-node.js'
import { identity, makeGenesis, TestNet, waitFor } from './helpers/net.js'
import { CLI, ensureBuilt } from './helpers/processes.js'

// txRoundMs: a tx round counts as late (and halves the round window the metrics test
// checks) after a third of it: 20 s, which no round on a loaded machine should take
const TIMEOUTS = {
  roundMs: 1000,
  blockIntervalMs: 100,
  electionMinMs: 20,
  electionMaxMs: 100,
  txRoundMs: 60_000,
}

const net = new TestNet()
let genesis: Genesis
let node: ChainNode
let api: ApiServer
const streams: AbortController[] = []

beforeAll(ensureBuilt, 120_000)
beforeEach(async () => {
  const id = await identity('events-0')
  genesis = makeGenesis([id], 'bftchain-test', { timeouts: TIMEOUTS })
  node = await net.startNode({ genesis, identity: id })
  api = await startApi(node, { host: '127.0.0.1', port: 0 }, silentLogger)
})
afterEach(async () => {
  for (const s of streams.splice(0)) s.abort()
  await api.close().catch(() => {}) // closed already by a test
  await net.stopAll()
})

/** Open /events; collect its events as they come. */
async function subscribe(query = ''): Promise<{ events: ServerEvent[]; ended: Promise<void> }> {
  const abort = new AbortController()
  streams.push(abort)
  const res = await fetch(`${api.url}/events${query}`, { signal: abort.signal })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
  const events: ServerEvent[] = []
  const ended = (async () => {
    try {
      for await (const e of readEvents(res.body!)) events.push(e)
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err
    }
  })()
  return { events, ended }
}

const data = (e: ServerEvent) => JSON.parse(e.data) as Record<string, unknown>

async function post(path: string, body: unknown): Promise<number> {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  await res.arrayBuffer()
  return res.status
}

/** Register an account and send one data tx from it; the tx hash. */
async function someActivity(): Promise<string> {
  const key = generateAccountKey('ed25519')
  const reg = signAccount(key, { chainId: node.chainId, username: `u${Date.now()}`, data: '' })
  expect(await post('/accounts', accountToJson(reg))).toBe(202)
  const tx = signTx(key, {
    chainId: node.chainId,
    kind: TxKind.DATA,
    from: addressOf(key.publicKey),
    nonce: 0,
    gas: 0,
    data: new TextEncoder().encode('watched'),
  })
  expect(await post('/transactions', txToJson(tx))).toBe(202)
  return toHex(txHash(tx))
}

describe('GET /events', () => {
  it('sends the status first, then rounds, tx statuses and final blocks, with increasing ids', async () => {
    const { events } = await subscribe()
    await waitFor('the status event', () => events.length > 0)
    expect(events[0]!.type).toBe('status')
    expect(data(events[0]!)).toMatchObject({ chainId: 'bftchain-test', peerId: node.peerId })

    const hash = await someActivity()
    // the node tells of the tx's final status, then of its block: wait for both
    await waitFor(
      'the tx final, and its block',
      () =>
        events.some(
          (e) => e.type === 'tx' && data(e).hash === hash && data(e).status === 'final',
        ) && events.some((e) => e.type === 'block' && (data(e).txs as number) > 0),
    )
    const statuses = events
      .filter((e) => e.type === 'tx' && data(e).hash === hash)
      .map((e) => data(e).status)
    expect(statuses).toEqual(['pending', 'prepared', 'committed', 'final'])
    const blocks = events.filter((e) => e.type === 'block').map(data)
    expect(blocks.some((b) => b.txs === 1)).toBe(true)
    for (const b of blocks) {
      expect(b).toMatchObject({ round: expect.any(Number), failed: 0 })
      expect(b.hash).toMatch(/^[0-9a-f]{64}$/)
    }
    const rounds = events.filter((e) => e.type === 'round').map(data)
    expect(rounds.length).toBeGreaterThan(0)
    expect(rounds.some((r) => r.leader === node.peerId)).toBe(true)
    const ids = events.map((e) => Number(e.id))
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true)
  })

  it('?types= keeps only those kinds; an unknown type is a 400', async () => {
    const { events } = await subscribe('?types=block')
    await someActivity()
    await waitFor('two blocks', () => events.filter((e) => e.type === 'block').length >= 1)
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(['status', 'block']))

    const bad = await fetch(`${api.url}/events?types=block,gossip`)
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { code: 'MALFORMED' } })
  })

  it('tells of peers joining and leaving', async () => {
    const { events } = await subscribe('?types=peer')
    const observer = await net.startNode({
      genesis,
      identity: await identity('events-observer'),
      bootstrap: node.multiaddrs(),
    })
    await waitFor('a join', () =>
      events.some((e) => e.type === 'peer' && data(e).change === 'join'),
    )
    expect(data(events.find((e) => e.type === 'peer')!)).toMatchObject({
      peerId: observer.peerId,
      change: 'join',
      role: 'observer',
    })
    await net.stopNode(observer)
    await waitFor('a leave', () =>
      events.some((e) => e.type === 'peer' && data(e).change === 'leave'),
    )
  })

  it('refuses a stream past the limit with 503, and closing the server ends open streams', async () => {
    const open = []
    for (let i = 0; i < 32; i++) open.push(await subscribe('?types=block'))
    const refused = await fetch(`${api.url}/events`)
    expect(refused.status).toBe(503)
    expect(await refused.json()).toMatchObject({ error: { code: 'TOO_MANY_STREAMS' } })
    // a closed stream frees its place
    streams[0]!.abort()
    await waitFor('the place to be free', async () => {
      const res = await fetch(`${api.url}/events?types=block`)
      const ok = res.status === 200
      await res.body?.cancel()
      return ok
    })
    await api.close()
    await Promise.all(open.slice(1).map((s) => s.ended))
  })
})

describe('bftchain watch', () => {
  const run = promisify(execFile)

  it('--json --count prints the status and the next events, one JSON line each, and exits', async () => {
    const watching = run(
      process.execPath,
      [CLI, 'watch', '--api', api.url, '--json', '--types', 'block', '--count', '1'],
      { timeout: 30_000 },
    )
    // the stream is open once the event hub listens to the node (only it listens for sync-done)
    await waitFor('watch to connect', () => node.listenerCount('sync-done') > 0, 20_000)
    await someActivity()
    const { stdout } = await watching
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ type: 'status', chainId: 'bftchain-test' })
    expect(lines[1]).toMatchObject({ type: 'block', height: expect.any(Number) })
  })

  it('a node that is not there is one clear error, not a retry loop', async () => {
    const err = await run(process.execPath, [CLI, 'watch', '--api', 'http://127.0.0.1:9'], {
      timeout: 30_000,
    }).catch((e: { code: number; stderr: string }) => e)
    expect(err).toMatchObject({ code: 1 })
    expect((err as { stderr: string }).stderr).toMatch(/cannot reach the node API/)
  })

  it('bad --types and --count are refused', async () => {
    for (const args of [
      ['--types', 'nope'],
      ['--count', '0'],
    ]) {
      const err = await run(process.execPath, [CLI, 'watch', '--api', api.url, ...args], {
        timeout: 30_000,
      }).catch((e: { code: number; stderr: string }) => e)
      expect(err, args.join(' ')).toMatchObject({ code: 1 })
      expect((err as { stderr: string }).stderr).toMatch(/unknown event type|--count/)
    }
  })
})

describe('GET /metrics', () => {
  const value = (text: string, series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `))
    if (line == null) throw new Error(`no ${series} in\n${text}`)
    return Number(line.slice(series.length + 1))
  }

  it('is Prometheus text that counts the blocks, txs and votes that happened', async () => {
    const before = await fetch(`${api.url}/metrics`)
    expect(before.status).toBe(200)
    expect(before.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const first = await before.text()
    expect(value(first, 'bftchain_blocks_final_total')).toBe(0)
    expect(first).toMatch(/^# HELP bftchain_height /m)

    const hash = await someActivity()
    // the core marks the tx final when it steps the block; the node tells of it (and the
    // metrics count it) once the block is on disk: wait for the node's head to get there
    await waitFor(
      'the tx final, and its block on disk',
      () =>
        node.core.tx(hash)?.status === 'final' &&
        node.status().height >= (node.core.tx(hash)?.block?.height ?? Number.POSITIVE_INFINITY),
    )
    const text = await (await fetch(`${api.url}/metrics`)).text()
    const height = node.status().height
    expect(value(text, 'bftchain_height')).toBe(height)
    expect(value(text, 'bftchain_blocks_final_total')).toBe(height)
    expect(value(text, 'bftchain_block_txs_total{receipt="ok"}')).toBe(1)
    expect(value(text, 'bftchain_tx_status_total{status="final"}')).toBe(1)
    expect(value(text, 'bftchain_tx_commit_seconds_count')).toBe(1)
    expect(value(text, 'bftchain_peers')).toBe(0)
    // a few batches at first, and one more per round that ended in time
    expect(value(text, 'bftchain_tx_round_window')).toBe(INITIAL_BATCH_WINDOW + 1)
  })
})

describe('GET / (the explorer)', () => {
  it('serves a page and a script that parses, uses the API it needs and only ids the page has', async () => {
    const page = await fetch(`${api.url}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/)
    const html = await page.text()
    expect(html).toContain('<script src="/explorer.js"></script>')
    // nothing from elsewhere: the page must work without the internet
    expect(html).not.toMatch(/(src|href)="https?:/)

    const js = await fetch(`${api.url}/explorer.js`)
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    const script = await js.text()
    expect(() => new Function(script)).not.toThrow()
    for (const path of ["'/events'", "'/peers'", "'/blocks'", "'/status'"])
      expect(script).toContain(path)
    // every element the script looks up is on the page
    const ids = [...script.matchAll(/\$\('([a-z]+)'\)/g)].map((m) => m[1]!)
    expect(ids.length).toBeGreaterThan(0)
    for (const id of new Set(ids)) expect(html, id).toContain(`id="${id}"`)
    // and it writes values as text, never as HTML
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
  })
})
