/**
 * npm run bench:sync -- [--blocks N] [--txs-per-block N] [--runs N] [--peers N]
 *
 * How fast a fresh observer catches up: a chain of N blocks (default 10,000
 * holding 100,000 txs) is built and certified offline into the stores of
 * `--peers` validator homes, those validators run as processes on loopback,
 * and a fresh observer process syncs from them, checking every block
 * (commit certificate, parent, roots, tx signatures, state root). Prints one
 * JSON line per run and a summary line with the medians.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nodeProcessEnv } from '../src/cli/node-process-env.js'
import { parseGenesis } from '../src/core/chain/genesis.js'
import { readNodeKey } from '../src/node/keys/node-key.js'
import { Store } from '../src/node/store/index.js'
import { buildChain } from '../test/support/chain-builder.js'
import { freePort } from '../test/support/ports.js'
import { flag, median } from './bench-util.js'

const ROOT = join(import.meta.dirname, '..')
const CLI = join(ROOT, 'bin/bftchain.js')

const blocks = flag('blocks', 10_000)
const txsPerBlock = flag('txs-per-block', 10)
const runs = flag('runs', 1)
const peers = flag('peers', 2)

interface Status {
  height: number
  headHash: string
  syncing: { blocksPerSec: number } | null
}

async function status(api: string): Promise<Status | null> {
  try {
    const r = await fetch(`${api}/status`, { signal: AbortSignal.timeout(2_000) })
    return r.ok ? ((await r.json()) as Status) : null
  } catch {
    return null
  }
}

function startNode(args: string[]): {
  stop: () => Promise<void>
  ready: Promise<{ api: string; listen: string[] }>
} {
  const proc = spawn(process.execPath, [CLI, 'start', '--json', '--quiet', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: nodeProcessEnv(),
  })
  const ready = new Promise<{ api: string; listen: string[] }>((resolve, reject) => {
    proc.stdout!.once('data', (d) => resolve(JSON.parse(String(d))))
    proc.once('exit', (code) => reject(new Error(`node exited with ${code}`)))
  })
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode != null) return resolve()
      proc.once('exit', () => resolve())
      proc.kill('SIGTERM')
    })
  return { stop, ready }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bftchain-bench-sync-'))
  try {
    execFileSync(process.execPath, [CLI, 'testnet', '--validators', '4', '--out', dir, '--json'], {
      stdio: 'ignore',
    })
    const genesisFile = join(dir, 'genesis.json')
    const genesis = parseGenesis({
      ...JSON.parse(await readFile(genesisFile, 'utf8')),
      // in the past, so the blocks' times (one a second) are too
      genesisTime: new Date(Date.now() - (blocks + 3_600) * 1_000).toISOString(),
    })
    await writeFile(genesisFile, JSON.stringify(genesis, null, 2))
    const validators = await Promise.all(
      [0, 1, 2, 3].map((i) => readNodeKey(join(dir, `node${i}`, 'node-key.json'))),
    )
    const stores = await Promise.all(
      Array.from({ length: peers }, (_, i) => Store.open(join(dir, `node${i}`, 'data'))),
    )
    const started = performance.now()
    const built = await buildChain(
      { genesis, validators, blocks, txsPerBlock, accounts: 64 },
      stores,
    )
    for (const s of stores) await s.close()
    process.stderr.write(
      `built ${blocks} blocks, ${built.txs} txs into ${peers} homes in ${Math.round(performance.now() - started)} ms\n`,
    )

    const servers = []
    for (let i = 0; i < peers; i++) {
      const api = await freePort()
      const p2p = await freePort()
      const n = startNode([
        '--home',
        join(dir, `node${i}`),
        '--listen',
        `/ip4/127.0.0.1/tcp/${p2p}`,
        '--api',
        `127.0.0.1:${api}`,
        '--bootstrap-file',
        genesisFile.replace('genesis.json', 'bootstrap-peers.json'),
      ])
      servers.push({ ...n, info: await n.ready })
    }
    const bootstrap = servers.flatMap((s) => ['--bootstrap', s.info.listen[0]!])
    const results: { blocksPerSec: number; txsPerSec: number; seconds: number }[] = []
    for (let run = 1; run <= runs; run++) {
      const home = await mkdtemp(join(tmpdir(), 'bftchain-bench-observer-'))
      const api = await freePort()
      const t0 = performance.now()
      const observer = startNode([
        '--home',
        home,
        '--genesis',
        genesisFile,
        '--listen',
        '/ip4/127.0.0.1/tcp/0',
        '--api',
        `127.0.0.1:${api}`,
        ...bootstrap,
      ])
      await observer.ready
      const url = `http://127.0.0.1:${api}`
      const deadline = Date.now() + 30 * 60_000
      let s: Status | null = null
      while (Date.now() < deadline) {
        s = await status(url)
        if (s && s.height >= blocks) break
        await new Promise((r) => setTimeout(r, 100))
      }
      const seconds = (performance.now() - t0) / 1000
      await observer.stop()
      await rm(home, { recursive: true, force: true })
      if (!s || s.height < blocks)
        throw new Error(`run ${run}: the observer did not finish in 30 minutes`)
      const result = {
        bench: 'sync',
        run,
        blocks,
        txs: built.txs,
        peers,
        seconds: Math.round(seconds * 100) / 100,
        blocksPerSec: Math.round(blocks / seconds),
        txsPerSec: Math.round(built.txs / seconds),
      }
      results.push(result)
      process.stdout.write(`${JSON.stringify(result)}\n`)
    }
    for (const s of servers) await s.stop()
    process.stdout.write(
      `${JSON.stringify({
        bench: 'sync',
        summary: true,
        runs,
        blocks,
        txs: built.txs,
        medianSeconds: median(results.map((r) => r.seconds)),
        medianBlocksPerSec: median(results.map((r) => r.blocksPerSec)),
        medianTxsPerSec: median(results.map((r) => r.txsPerSec)),
      })}\n`,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

main().catch((err) => {
  process.stderr.write(`bench:sync failed: ${(err as Error).message}\n`)
  process.exit(1)
})
