/**
 * kill -9 of the current leader in the middle of a round, with real
 * processes under a stream of txs: the others elect a new leader and
 * finalise the next block within a bounded number of rounds, and they agree
 * on every block.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { txToJson } from '../../src/core/chain/json.js'
import { signTx } from '../../src/core/chain/signatures.js'
import { TxKind } from '../../src/core/codec/index.js'
import { addressOf } from '../../src/core/crypto/index.js'
import { parseAccountKey } from '../../src/node/keys/account-key.js'
import { waitFor } from './helpers/net.js'
import { ensureBuilt, getJson, type NodeProcess, ProcessGroup } from './helpers/processes.js'

const group = new ProcessGroup()
beforeAll(ensureBuilt, 120_000)
afterEach(() => group.cleanup())

interface Status {
  peerId: string
  height: number
  headHash: string
  round: number | null
  leader: string | null
}

async function post<T>(
  api: string,
  path: string,
  body: unknown,
): Promise<{ status: number; body: T } | null> {
  try {
    const res = await fetch(`${api}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5_000),
    })
    return { status: res.status, body: (await res.json()) as T }
  } catch {
    return null
  }
}

describe('leader crash', () => {
  it('kill -9 of the leader mid-round: a new leader finalises the next block within bounded rounds', async () => {
    const net = await group.testnet(4, { prefix: 'bftchain-leader-' })
    const { genesisFile } = net
    const genesis = JSON.parse(await readFile(genesisFile, 'utf8'))
    genesis.timeouts = {
      txRoundMs: 4_000,
      roundMs: 1_000,
      roundMaxMs: 8_000,
      blockIntervalMs: 200,
      electionMinMs: 50,
      electionMaxMs: 300,
    }
    await writeFile(genesisFile, JSON.stringify(genesis))

    const nodes = new Map<string, NodeProcess>()
    for (const h of net.homes) {
      const n = await group.start(['--home', h.home, '--quiet'])
      nodes.set(n.info.peerId, n)
    }
    const apis = new Map([...nodes].map(([id, n]) => [id, n.info.api!]))
    const live = () =>
      [...apis.entries()].filter(
        ([id]) => nodes.get(id)!.proc.exitCode == null && nodes.get(id)!.proc.signalCode == null,
      )
    await waitFor(
      'a full mesh',
      async () => {
        const peers = await Promise.all(
          [...apis.values()].map((a) => getJson<unknown[]>(a, '/peers')),
        )
        return peers.every((p) => p?.length === 3)
      },
      30_000,
      250,
    )

    // an account made by the node for us, final in the first block
    const first = [...apis.values()][0]!
    const made2 = await post<{ address: string; keyFile: unknown }>(first, '/accounts', {
      username: 'loader',
      data: '',
    })
    expect(made2?.status).toBe(201)
    const key = parseAccountKey(made2!.body.keyFile, 'response')
    await waitFor(
      'the account to be final',
      async () =>
        (await getJson<{ status: string }>(first, `/accounts/${key.address}`))?.status === 'final',
      30_000,
      200,
    )

    // a steady stream of txs to the live nodes
    let nonce = 0
    let streaming = true
    const stream = (async () => {
      while (streaming) {
        const targets = live()
        const [, api] = targets[nonce % targets.length]!
        const tx = signTx(key.signer, {
          chainId: genesis.chainId,
          kind: TxKind.DATA,
          from: addressOf(key.signer.publicKey),
          nonce,
          gas: 0,
          data: new TextEncoder().encode(`tx ${nonce}`),
        })
        const r = await post(api, '/transactions', txToJson(tx))
        if (r?.status === 202) nonce++
        await new Promise((res) => setTimeout(res, 100))
      }
    })()

    try {
      await waitFor(
        'two blocks',
        async () => ((await getJson<Status>(first, '/status'))?.height ?? 0) >= 2,
        30_000,
        200,
      )
      // catch a round whose leader is known, and kill that leader
      let leader: string | null = null
      let height = 0
      await waitFor(
        'a round with a known leader',
        async () => {
          const s = await getJson<Status>(first, '/status')
          if (s?.leader && s.round != null) {
            leader = s.leader
            height = s.height + 1
            return true
          }
          return false
        },
        30_000,
        20,
      )
      await group.kill9(nodes.get(leader!)!)

      const others = live().map(([, api]) => api)
      expect(others).toHaveLength(3)
      // a final block at the height the dead leader was deciding, or the next one, by another leader
      await waitFor(
        'a final block after the crash',
        async () => {
          const heights = await Promise.all(
            others.map(async (a) => (await getJson<Status>(a, '/status'))?.height ?? 0),
          )
          return heights.every((h) => h >= height + 1)
        },
        60_000,
        200,
      )
      const rounds = await Promise.all(
        others.map(async (a) => (await getJson<Status>(a, '/status'))?.round),
      )
      for (const r of rounds) if (r != null) expect(r).toBeLessThanOrEqual(6)
    } finally {
      streaming = false
      await stream
    }

    // with the stream stopped, the three agree on the head
    const others = live().map(([, api]) => api)
    await waitFor(
      'equal heads',
      async () => {
        const st = await Promise.all(others.map((a) => getJson<Status>(a, '/status')))
        return st.every(
          (s) => s != null && s.height === st[0]!.height && s.headHash === st[0]!.headHash,
        )
      },
      30_000,
      250,
    )
  })
})
