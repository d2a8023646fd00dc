/**
 * Byzantine peers as real processes on the project's own libp2p stack
 * (test/support/attacker.ts, the simulation's strategies in a ChainNode):
 *  - validator 3 of 4 replaced by an attacker holding its key: it captures
 *    elections and proposes nothing, floods proposals, signs two answers,
 *    poisons its tx votes, lies about its height and replays old messages;
 *  - a non-validator peer that lies in its status and floods tx batches;
 *  - validator 3 run twice with one key (twins).
 * The honest validators keep finalising client txs, agree on every block,
 * stay under the memory bound of docs/THREAT-MODEL.md, and the attacker's
 * standing falls (evidence and score; a non-validator is cut off).
 */
import { spawn } from 'node:child_process'
import { cp, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pathToFileURL } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { txToJson } from '../../src/core/chain/json.js'
import { signTx } from '../../src/core/chain/signatures.js'
import { type Tx, TxKind } from '../../src/core/codec/index.js'
import { addressOf } from '../../src/core/crypto/index.js'
import { type AccountKey, parseAccountKey } from '../../src/node/keys/account-key.js'
import { freePortRange } from '../support/ports.js'
import { waitFor } from './helpers/net.js'
import {
  ensureBuilt,
  getJson,
  type NodeProcess,
  ProcessGroup,
  type ProcessTestnet,
  ROOT,
} from './helpers/processes.js'

const group = new ProcessGroup()
const attackers: { kill(): void; exited: Promise<unknown> }[] = []
beforeAll(ensureBuilt, 120_000)
afterEach(async () => {
  for (const a of attackers.splice(0)) {
    a.kill()
    await a.exited
  }
  await group.cleanup()
})

/** Resident memory an honest node may use under these attacks (docs/THREAT-MODEL.md). */
const RSS_BOUND_MB = 400
const TXS = 40

interface Status {
  height: number
  headHash: string
}
interface PeerView {
  peerId: string
  score: number
}

/** Fast rounds, so a test sees many heights under attack. */
async function fastGenesis(net: ProcessTestnet): Promise<{ chainId: string }> {
  const genesis = JSON.parse(await readFile(net.genesisFile, 'utf8'))
  genesis.timeouts = {
    txRoundMs: 10_000,
    roundMs: 1_000,
    roundMaxMs: 8_000,
    blockIntervalMs: 200,
    electionMinMs: 50,
    electionMaxMs: 300,
  }
  await writeFile(net.genesisFile, JSON.stringify(genesis))
  return genesis
}

function startAttacker(opts: {
  home: string
  genesisFile: string
  port: number
  bootstrap: string[]
  strategies: string[]
}): Promise<{ peerId: string }> {
  // tsx's loader in this very process (its CLI would fork a child that a kill leaves behind)
  const proc = spawn(
    process.execPath,
    [
      '--import',
      pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href,
      join(ROOT, 'test/support/attacker.ts'),
      '--home',
      opts.home,
      '--genesis',
      opts.genesisFile,
      '--listen',
      `/ip4/127.0.0.1/tcp/${opts.port}`,
      ...opts.bootstrap.flatMap((b) => ['--bootstrap', b]),
      '--strategies',
      opts.strategies.join(','),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const stderr: string[] = []
  createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l))
  const exited = new Promise((resolve) => proc.on('exit', resolve))
  attackers.push({ kill: () => proc.kill('SIGKILL'), exited })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`attacker did not start:\n${stderr.join('\n')}`)),
      60_000,
    )
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      clearTimeout(timer)
      resolve(JSON.parse(line))
    })
    void exited.then(() => reject(new Error(`attacker exited:\n${stderr.join('\n')}`)))
  })
}

function bootstrapOf(net: ProcessTestnet, i: number): string {
  return `/ip4/127.0.0.1/tcp/${net.p2pBase + i}/p2p/${net.homes[i]!.peerId}`
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
      signal: AbortSignal.timeout(10_000),
    })
    return { status: res.status, body: (await res.json()) as T }
  } catch {
    return null
  }
}

function countOf(xs: string[]): Map<string, number> {
  const m = new Map<string, number>()
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1)
  return m
}

/** Resident set size of a process, in MB (Linux /proc). */
async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

/** A data tx of `key`'s account at `nonce`. */
function dataTx(key: AccountKey, chainId: string, label: string, nonce: number): Tx {
  return signTx(key.signer, {
    chainId,
    kind: TxKind.DATA,
    from: addressOf(key.signer.publicKey),
    nonce,
    gas: 0,
    data: new TextEncoder().encode(`${label} ${nonce}`),
  })
}

/**
 * An account made by the first honest node, then TXS data txs from it spread over the honest
 * nodes (one account's txs to one node at a time, in nonce order); waits until every one is
 * final on every honest node, and checks they agree on every block and stay within memory.
 * Returns the account's key, for more txs.
 */
async function txsFinalUnderAttack(
  honest: NodeProcess[],
  chainId: string,
  label: string,
): Promise<AccountKey> {
  const apis = honest.map((n) => n.info.api!)
  const first = apis[0]!
  const made = await post<{ keyFile: unknown }>(first, '/accounts', { username: label, data: '' })
  expect(made?.status).toBe(201)
  const key = parseAccountKey(made!.body.keyFile, 'response')
  await waitFor(
    `${label}'s account to be final`,
    async () =>
      (await getJson<{ status: string }>(first, `/accounts/${key.address}`))?.status === 'final',
    90_000,
    250,
  )
  const txs = Array.from({ length: TXS }, (_, nonce) => dataTx(key, chainId, label, nonce))
  // a careful client: each tx to a node (ten in a row to one), and a tx whose round did not
  // finish (TIMEOUT or NO_QUORUM: nothing was committed) sent again, as docs/API.md tells
  const sentTo: string[] = []
  const send = async (nonce: number): Promise<string> => {
    let accepted: { status: number; body: { hash: string } } | null = null
    const api = apis[Math.floor(nonce / 10) % apis.length]!
    await waitFor(
      `tx ${nonce} to be taken`,
      async () => {
        accepted = await post<{ hash: string }>(api, '/transactions', txToJson(txs[nonce]!))
        return accepted?.status === 202
      },
      30_000,
      200,
    )
    sentTo[nonce] = api
    return accepted!.body.hash
  }
  const hashes: string[] = []
  for (let nonce = 0; nonce < TXS; nonce++) hashes.push(await send(nonce))
  let peakRss = 0
  let last = ''
  await waitFor(
    `all ${TXS} txs final on every honest node`,
    async () => {
      for (const n of honest) peakRss = Math.max(peakRss, await rssMb(n.proc.pid!))
      const seen: string[] = []
      for (const [nonce, h] of hashes.entries()) {
        const atTarget = await getJson<{ status: string; reason?: { code: string } }>(
          sentTo[nonce]!,
          `/transactions/${h}`,
        )
        // its round did not finish (nothing was committed): the same tx again
        const code = atTarget?.status === 'failed' ? atTarget.reason?.code : undefined
        if (code === 'TIMEOUT' || code === 'NO_QUORUM') await send(nonce)
      }
      for (const api of apis)
        for (const h of hashes) {
          const t = await getJson<{ status: string; reason?: { code: string } }>(
            api,
            `/transactions/${h}`,
          )
          seen.push(`${t?.status ?? 'unknown'}${t?.reason ? `:${t.reason.code}` : ''}`)
        }
      last = JSON.stringify(Object.fromEntries(countOf(seen)))
      return seen.every((x) => x === 'final')
    },
    180_000,
    500,
  ).catch(async (err: Error) => {
    // what each honest node says of the first txs that are not final everywhere, for the record
    const told: string[] = []
    for (const [nonce, h] of hashes.entries()) {
      const views = await Promise.all(
        apis.map((a) =>
          getJson<{ status: string; reason?: { message: string } }>(a, `/transactions/${h}`),
        ),
      )
      if (views.every((v) => v?.status === 'final')) continue
      const each = views.map((v) => `${v?.status ?? 'unknown'} ${v?.reason?.message ?? ''}`.trim())
      told.push(`nonce ${nonce} (sent to ${sentTo[nonce]}): ${each.join(' | ')}`)
      if (told.length === 8) break
    }
    throw new Error(
      `${err.message}; tx statuses on the honest nodes: ${last}; not final:\n${told.join('\n')}`,
    )
  })
  expect(peakRss, 'peak RSS of an honest node (MB)').toBeLessThan(RSS_BOUND_MB)
  // agreement: the same block at every height, on every honest node
  const heights = await Promise.all(
    apis.map(async (a) => (await getJson<Status>(a, '/status'))!.height),
  )
  const top = Math.min(...heights)
  for (let h = 1; h <= top; h++) {
    const blocks = await Promise.all(
      apis.map(async (a) => (await getJson<{ hash: string }>(a, `/blocks/${h}`))?.hash),
    )
    expect(new Set(blocks).size, `one block at height ${h}`).toBe(1)
  }
  return key
}

// each test: the network, the attack, an account and TXS txs final everywhere (bounded waits)
describe('Byzantine peers as processes', { timeout: 300_000 }, () => {
  it('validator 3 of 4 attacks with its own key: the three honest ones finalise, agree, and hold evidence against it', async () => {
    const net = await group.testnet(4, { prefix: 'bftchain-byz-' })
    const genesis = await fastGenesis(net)
    const honest: NodeProcess[] = []
    for (const h of net.homes.slice(0, 3))
      honest.push(await group.start(['--home', h.home, '--quiet']))
    const attacker = await startAttacker({
      home: net.homes[3]!.home,
      genesisFile: net.genesisFile,
      port: net.p2pBase + 3,
      bootstrap: [bootstrapOf(net, 0), bootstrapOf(net, 1)],
      strategies: [
        'capture',
        'flood',
        'double-vote',
        'poison',
        'height-lie',
        'status-lie',
        'replay',
      ],
    })
    expect(attacker.peerId).toBe(net.homes[3]!.peerId)
    const key = await txsFinalUnderAttack(honest, genesis.chainId, 'alice')
    // the honest nodes caught it signing two answers (whoever got both copies in time: on a
    // loaded machine its answers may all come after the round they answer is over, so a tx
    // each poll gives it more rounds to answer twice) ...
    let nonce = TXS
    await waitFor(
      'evidence against the attacker',
      async () => {
        const tx = dataTx(key, genesis.chainId, 'alice', nonce++)
        await post(honest[nonce % honest.length]!.info.api!, '/transactions', txToJson(tx))
        const lists = await Promise.all(
          honest.map((n) => getJson<{ offender: string }[]>(n.info.api!, '/evidence')),
        )
        return lists.some((ev) => (ev ?? []).some((e) => e.offender === attacker.peerId))
      },
      60_000,
      500,
    )
    // ... and every one of them thinks less of it: cut off, or connected with a score below zero
    for (const n of honest) {
      await waitFor(
        'the attacker to lose standing',
        async () => {
          const peers = (await getJson<PeerView[]>(n.info.api!, '/peers')) ?? []
          const seen = peers.find((p) => p.peerId === attacker.peerId)
          return seen == null || seen.score < 0
        },
        60_000,
        500,
      )
    }
  })

  it('a non-validator that lies about its height and floods tx batches is cut off; the chain goes on', async () => {
    const net = await group.testnet(4, { prefix: 'bftchain-liar-' })
    const genesis = await fastGenesis(net)
    const honest: NodeProcess[] = []
    for (const h of net.homes) honest.push(await group.start(['--home', h.home, '--quiet']))
    const liarHome = await group.tempDir('bftchain-liar-home-')
    const liar = await startAttacker({
      home: liarHome,
      genesisFile: net.genesisFile,
      port: await freePortRange(1),
      bootstrap: [bootstrapOf(net, 0), bootstrapOf(net, 2)],
      strategies: ['status-lie', 'flood-txs'],
    })
    await txsFinalUnderAttack(honest, genesis.chainId, 'bob')
    for (const n of honest) {
      await waitFor(
        'the liar to be disconnected',
        async () => {
          const peers = (await getJson<PeerView[]>(n.info.api!, '/peers')) ?? []
          return peers.every((p) => p.peerId !== liar.peerId)
        },
        60_000,
        500,
      )
    }
  })

  it('validator 3 run twice with one key (twins): safe and live', async () => {
    const net = await group.testnet(4, { prefix: 'bftchain-twins-', p2pPorts: 5, apiPorts: 5 })
    const genesis = await fastGenesis(net)
    const honest: NodeProcess[] = []
    for (const h of net.homes.slice(0, 3))
      honest.push(await group.start(['--home', h.home, '--quiet']))
    // twin A: validator 3's own home; twin B: a copy of its key in a home of its own
    await group.start(['--home', net.homes[3]!.home, '--quiet'])
    const twinHome = await group.tempDir('bftchain-twin-')
    await cp(join(net.homes[3]!.home, 'node-key.json'), join(twinHome, 'node-key.json'))
    await group.start([
      '--home',
      twinHome,
      '--genesis',
      net.genesisFile,
      '--listen',
      `/ip4/127.0.0.1/tcp/${net.p2pBase + 4}`,
      '--api',
      `127.0.0.1:${net.apiBase + 4}`,
      '--bootstrap',
      bootstrapOf(net, 1),
      '--bootstrap',
      bootstrapOf(net, 2),
      '--quiet',
    ])
    await txsFinalUnderAttack(honest, genesis.chainId, 'carol')
  })
})
