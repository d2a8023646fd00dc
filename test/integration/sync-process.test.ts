/**
 * kill -9 in the middle of catching up loses nothing: an observer process
 * syncing a long chain is killed, started again from the same home, and
 * finishes with the same head as the validators.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { parseGenesis } from '../../src/core/chain/genesis.js'
import { readNodeKey } from '../../src/node/keys/node-key.js'
import { Store } from '../../src/node/store/index.js'
import { buildChain } from '../support/chain-builder.js'
import { waitFor } from './helpers/net.js'
import { ensureBuilt, getJson, type NodeProcess, ProcessGroup } from './helpers/processes.js'

const group = new ProcessGroup()
beforeAll(ensureBuilt, 120_000)
afterEach(() => group.cleanup())

interface Status {
  height: number
  headHash: string
  role: string
  syncing: { from: number; to: number; current: number; blocksPerSec: number } | null
}

const status = (api: string) => getJson<Status>(api, '/status')

const BLOCKS = 2_500

describe('catching up, as processes', () => {
  it('kill -9 during catch-up, then a restart completes with the same head', async () => {
    // one API port more than the validators use, for the observer
    const net = await group.testnet(4, { prefix: 'bftchain-syncproc-', apiPorts: 5 })
    const { dir, genesisFile, apiBase: api } = net
    const genesis = parseGenesis({
      ...JSON.parse(await readFile(genesisFile, 'utf8')),
      genesisTime: new Date(Date.now() - (BLOCKS + 3_600) * 1_000).toISOString(),
    })
    await writeFile(genesisFile, JSON.stringify(genesis))
    const validators = await Promise.all(
      [0, 1, 2, 3].map((i) => readNodeKey(join(dir, `node${i}`, 'node-key.json'))),
    )
    const stores = await Promise.all([0, 1].map((i) => Store.open(join(dir, `node${i}`, 'data'))))
    const built = await buildChain({ genesis, validators, blocks: BLOCKS, txsPerBlock: 4 }, stores)
    for (const s of stores) await s.close()

    const servers: NodeProcess[] = []
    for (const i of [0, 1]) {
      servers.push(await group.start(['--home', join(dir, `node${i}`), '--quiet']))
    }
    const observerHome = join(dir, 'observer')
    const observerArgs = [
      '--home',
      observerHome,
      '--genesis',
      genesisFile,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--api',
      `127.0.0.1:${api + 4}`,
      '--bootstrap',
      servers[0]!.info.listen[0]!,
      '--quiet',
    ]
    const observer = await group.start(observerArgs)
    expect(observer.info.role).toBe('observer')
    const url = `http://127.0.0.1:${api + 4}`

    // kill it somewhere in the middle
    let seen: Status | null = null
    await waitFor(
      'the observer to be part way',
      async () => {
        seen = await status(url)
        return seen != null && seen.height >= 300
      },
      60_000,
      50,
    )
    expect(seen!.height).toBeLessThan(BLOCKS)
    expect(seen!.syncing).not.toBeNull()
    await group.kill9(observer)

    await group.start(observerArgs)
    const resumed = await status(url)
    // it starts from what it had on disk, not from zero
    expect(resumed?.height ?? 0).toBeGreaterThanOrEqual(seen!.height - 1)
    await waitFor(
      'the observer to finish',
      async () => (await status(url))?.height === BLOCKS,
      120_000,
      200,
    )
    const final = (await status(url))!
    expect(final.headHash).toBe(built.head.hash)
    expect((await status(servers[0]!.info.api!))!.headHash).toBe(built.head.hash)
    // without a terminal, progress goes to the log: where it started, and where it ended
    // (the log is written behind the node's back: it may lag the status a little)
    const logFile = join(observerHome, 'node.log')
    await waitFor('the end of the sync in the log', async () =>
      /synced height=2500/.test(await readFile(logFile, 'utf8')),
    )
    const log = await readFile(logFile, 'utf8')
    expect(log).toMatch(/INFO\s+sync\s+syncing from=\d+ to=\d+/)
    expect(log).toMatch(/INFO\s+sync\s+synced height=2500/)
  })
})
