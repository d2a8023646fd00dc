/**
 * A burst of 2,000 txs on four validator processes sharing this machine's
 * cores, with the default 10 s tx round deadline: every tx ends final with an
 * ok receipt, none fails. Before targets ran a window of rounds, such a
 * burst saturated the CPUs, every round slowed down together and most txs
 * failed at their deadline (docs/PERFORMANCE.md, "The round window").
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { accountToJson, txToJson } from '../../src/core/chain/json.js'
import { signAccount, signTx } from '../../src/core/chain/signatures.js'
import { TxKind } from '../../src/core/codec/index.js'
import { addressOf, toHex } from '../../src/core/crypto/index.js'
import { generateAccountKey } from '../../src/node/keys/account-key.js'
import { waitFor } from './helpers/net.js'
import { ensureBuilt, getJson, ProcessGroup } from './helpers/processes.js'

const group = new ProcessGroup()
beforeAll(ensureBuilt, 120_000)
afterEach(() => group.cleanup())

const ACCOUNTS = 40
const TXS_PER_ACCOUNT = 50

interface Status {
  chainId: string
  height: number
  headHash: string
  mempool: { pending: number; committed: number }
  txRounds: { running: number; waiting: number; window: number }
}

interface BlockJson {
  height: number
  txs: { hash: string; status: 'ok' | 'failed'; reason: string | null }[]
}

async function post(
  api: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  })
  return { status: res.status, body: await res.json() }
}

describe('a burst of txs', () => {
  it('2,000 txs posted at once to four validators all end final, none failed', async () => {
    const net = await group.testnet(4, { prefix: 'bftchain-burst-' })
    const apis: string[] = []
    for (const h of net.homes)
      apis.push((await group.start(['--home', h.home, '--quiet'])).info.api!)
    await waitFor(
      'a full mesh',
      async () => {
        const peers = await Promise.all(apis.map((a) => getJson<unknown[]>(a, '/peers')))
        return peers.every((p) => p?.length === 3)
      },
      30_000,
      250,
    )
    const { chainId } = (await getJson<Status>(apis[0]!, '/status'))!

    // accounts, each registered through (and later sending to) one node
    const keys = Array.from({ length: ACCOUNTS }, () => generateAccountKey('ed25519'))
    for (const [i, key] of keys.entries()) {
      const reg = accountToJson(signAccount(key, { chainId, username: `burst-${i}`, data: '' }))
      expect((await post(apis[i % 4]!, '/accounts', reg)).status).toBe(202)
    }
    const addresses = keys.map((k) => toHex(addressOf(k.publicKey)))
    await waitFor(
      'every node to know every account',
      async () => {
        for (const api of apis)
          for (const a of addresses)
            if ((await getJson(api, `/accounts/${a}`)) == null) return false
        return true
      },
      30_000,
      250,
    )

    // the burst: each node gets its accounts' txs, in nonce order, in one array
    const perNode: unknown[][] = [[], [], [], []]
    const hashes = new Set<string>()
    for (let nonce = 0; nonce < TXS_PER_ACCOUNT; nonce++) {
      for (const [i, key] of keys.entries()) {
        const tx = signTx(key, {
          chainId,
          kind: TxKind.DATA,
          from: addressOf(key.publicKey),
          nonce,
          gas: 0,
          data: new TextEncoder().encode(`burst ${i}/${nonce}`),
        })
        perNode[i % 4]!.push(txToJson(tx))
      }
    }
    const answers = await Promise.all(perNode.map((txs, i) => post(apis[i]!, '/transactions', txs)))
    for (const a of answers) {
      expect(a.status).toBe(202)
      for (const r of a.body as { hash?: string; status?: string; error?: unknown }[]) {
        expect(r, JSON.stringify(r)).toMatchObject({ status: 'pending' })
        hashes.add(r.hash!)
      }
    }
    expect(hashes.size).toBe(ACCOUNTS * TXS_PER_ACCOUNT)

    // every one of them reaches a final block, with an ok receipt
    const receipts = new Map<string, BlockJson['txs'][number]>()
    let read = 0
    await waitFor(
      'every tx of the burst in a final block',
      async () => {
        const head = (await getJson<Status>(apis[0]!, '/status'))?.height ?? 0
        while (read < head) {
          const page = await getJson<BlockJson[]>(apis[0]!, `/blocks?from=${read + 1}&to=${head}`)
          if (page == null || page.length === 0) return false
          for (const b of page) for (const t of b.txs) receipts.set(t.hash, t)
          read = page[page.length - 1]!.height
        }
        const missing = [...hashes].filter((h) => !receipts.has(h)).length
        if (missing === 0) return true
        // nothing left anywhere to make them final: they failed in their rounds
        const all = await Promise.all(apis.map((a) => getJson<Status>(a, '/status')))
        const idle = all.every(
          (s) =>
            s != null &&
            s.height === read &&
            s.txRounds.running + s.txRounds.waiting + s.mempool.pending + s.mempool.committed === 0,
        )
        if (idle) throw new Error(`${missing} txs of the burst failed: in no block, in no pool`)
        return false
      },
      240_000,
      500,
    )
    const failed = [...hashes].map((h) => receipts.get(h)!).filter((r) => r.status !== 'ok')
    expect(failed).toEqual([])

    // and the nodes are done with it, on the same chain
    await waitFor(
      'every node at one head, with nothing left to do',
      async () => {
        const all = await Promise.all(apis.map((a) => getJson<Status>(a, '/status')))
        return all.every(
          (s) =>
            s != null &&
            s.headHash === all[0]!.headHash &&
            s.txRounds.running + s.txRounds.waiting === 0 &&
            s.mempool.pending + s.mempool.committed === 0,
        )
      },
      60_000,
      250,
    )

    // the metrics saw it: every tx of the burst final with an ok receipt, and libp2p's own
    const metrics = await (await fetch(`${apis[0]}/metrics`)).text()
    const okTxs = Number(/^bftchain_block_txs_total\{receipt="ok"\} (\d+)$/m.exec(metrics)?.[1])
    expect(okTxs).toBeGreaterThanOrEqual(ACCOUNTS * TXS_PER_ACCOUNT)
    expect(metrics).toMatch(/^libp2p_[a-z_]+ /m)

    // proposals travelled compact: the validators that did not lead a block got it by tx hashes
    // and made it whole, from the txs they held or fetched whole (compact-blocks.ts)
    let madeWhole = 0
    for (const api of apis) {
      const text = await (await fetch(`${api}/metrics`)).text()
      for (const outcome of ['rebuilt', 'fetched']) {
        const re = new RegExp(
          `^bftchain_compact_proposals_total\\{outcome="${outcome}"\\} (\\d+)$`,
          'm',
        )
        madeWhole += Number(re.exec(text)?.[1] ?? 0)
      }
    }
    expect(madeWhole).toBeGreaterThanOrEqual(apis.length - 1)
  }, 420_000)
})
