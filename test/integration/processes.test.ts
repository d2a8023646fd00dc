/**
 * What a user runs, as child processes: `testnet --validators 3`, three
 * `start`s, `peers --json` on each, then kill -9 of one node and a restart
 * with the same peer id, to which the others reconnect.
 */
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from './helpers/net.js'
import {
  CLI,
  cli,
  ensureBuilt,
  freePortRange,
  type NodeProcess,
  ProcessGroup,
  ROOT,
} from './helpers/processes.js'

const group = new ProcessGroup()

beforeAll(ensureBuilt, 120_000)
afterEach(() => group.cleanup())

async function peersOf(api: string): Promise<string[]> {
  const r = await cli(['peers', '--json', '--api', api])
  if (r.code !== 0) return []
  return (JSON.parse(r.stdout) as { peerId: string }[]).map((p) => p.peerId).sort()
}

describe('nodes as processes', () => {
  it('testnet of 3, start all, peers lists the others; kill -9 and restart keeps the peer id', async () => {
    const net = await group.testnet(3, { prefix: 'bftchain-proc-' })
    expect(net.homes).toHaveLength(3)

    const nodes: NodeProcess[] = []
    for (const h of net.homes) {
      const n = await group.start(['--home', h.home, '--quiet'])
      nodes.push(n)
      expect(n.info.peerId).toBe(h.peerId)
      expect(n.info.role).toBe('validator')
    }
    const apis = nodes.map((n) => n.info.api!)
    const ids = net.homes.map((h) => h.peerId)
    const othersOf = (i: number) => ids.filter((_, j) => j !== i).sort()

    await waitFor(
      'every node to list the other two',
      async () => {
        const lists = await Promise.all(apis.map(peersOf))
        return lists.every((l, i) => JSON.stringify(l) === JSON.stringify(othersOf(i)))
      },
      30_000,
      250,
    )

    // kill -9 node 1, then start it again from the same home
    await group.kill9(nodes[1]!)
    await waitFor(
      'the others to notice',
      async () => (await peersOf(apis[0]!)).length === 1,
      30_000,
      250,
    )

    const again = await group.start(['--home', net.homes[1]!.home, '--quiet'])
    expect(again.info.peerId).toBe(ids[1])
    await waitFor(
      'every node to list the other two again',
      async () => {
        const lists = await Promise.all([apis[0]!, again.info.api!, apis[2]!].map(peersOf))
        return lists.every((l, i) => JSON.stringify(l) === JSON.stringify(othersOf(i)))
      },
      45_000,
      250,
    )
  })

  it('bad files and flags give one clear line and a non-zero exit', async () => {
    const dir = await group.tempDir('bftchain-bad-')
    const noGenesis = await cli(['start', '--home', dir, '--api', 'off'])
    expect(noGenesis.code).not.toBe(0)
    expect(
      noGenesis.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('error:')),
    ).toEqual([`error: ${join(dir, 'genesis.json')}: no such file`])
    expect(noGenesis.stderr).not.toMatch(/\n\s+at /) // no stack trace

    await writeFile(
      join(dir, 'genesis.json'),
      JSON.stringify({ chainId: 'x', genesisTime: 'soon', validators: [] }),
    )
    const badGenesis = await cli(['start', '--home', dir, '--api', 'off'])
    expect(badGenesis.code).not.toBe(0)
    expect(badGenesis.stderr).toContain(`${join(dir, 'genesis.json')}: genesisTime:`)

    const badFlag = await cli(['start', '--home', dir, '--listen', 'not-an-addr'])
    expect(badFlag.code).not.toBe(0)
    expect(badFlag.stderr).toMatch(/--listen: listen\[0\]: "not-an-addr" is not a multiaddr/)

    const noNode = await cli(['status', '--api', 'http://127.0.0.1:1'])
    expect(noNode.code).not.toBe(0)
    expect(noNode.stderr).toMatch(/cannot reach the node API at http:\/\/127\.0\.0\.1:1/)
  })

  it('a port in use is a clear error; an unreachable bootstrap peer is retried, not fatal', async () => {
    const net = await group.testnet(1, { prefix: 'bftchain-port-', p2pPorts: 2, apiPorts: 2 })
    const { p2pBase: p2p, apiBase: api, genesisFile } = net
    const home = net.homes[0]!.home
    // the bootstrap peer does not exist: the node stays up and retries
    const ghost = `/ip4/127.0.0.1/tcp/${p2p + 1}/p2p/12D3KooWHZi2oNpCMeFZqCw6Yxbxb4Ujun7vQu2KrSzVZupKBTPC`
    const first = await group.start(['--home', home, '--bootstrap', ghost])
    await waitFor(
      'the retry to be logged',
      () => first.stderr.some((l) => l.includes('cannot reach bootstrap peer; will keep retrying')),
      45_000,
    )
    expect(first.proc.exitCode).toBeNull()

    const second = await cli(['start', '--home', home, '--api', `127.0.0.1:${api + 1}`])
    expect(second.code).not.toBe(0)
    // the store is held by the first process before any port is tried
    expect(second.stderr).toMatch(/error: .*(in use by another bftchain process|already in use)/)

    const dir2 = await group.tempDir('bftchain-port2-')
    const startInDir2 = (listen: string, apiFlag: string) =>
      cli(['start', '--home', dir2, '--genesis', genesisFile, '--listen', listen, '--api', apiFlag])
    const third = await startInDir2(`/ip4/127.0.0.1/tcp/${p2p}`, 'off')
    expect(third.code).not.toBe(0)
    expect(third.stderr).toContain(
      `error: listen address /ip4/127.0.0.1/tcp/${p2p} is already in use`,
    )

    const fourth = await startInDir2(`/ip4/127.0.0.1/tcp/0`, `127.0.0.1:${api}`)
    expect(fourth.code).not.toBe(0)
    expect(fourth.stderr).toContain(`error: API address 127.0.0.1:${api} is already in use`)
  })
})

describe('devnet', () => {
  it('starts N nodes that list each other, stops them all on SIGINT, and resumes the same chain', async () => {
    const dir = await group.tempDir('bftchain-devnet-')
    const p2p = await freePortRange(4)
    const api = await freePortRange(4)

    const runDevnet = async (): Promise<string[]> => {
      const proc = spawn(
        process.execPath,
        [CLI, 'devnet', '--dir', dir, '--base-port', String(p2p), '--api-base-port', String(api)],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let out = ''
      proc.stdout!.on('data', (d) => (out += d))
      const exited = new Promise<number | null>((resolve) =>
        proc.on('exit', (code) => resolve(code)),
      )
      try {
        const apis = [0, 1, 2, 3].map((i) => `http://127.0.0.1:${api + i}`)
        await waitFor(
          '4 nodes that list 3 peers each',
          async () => {
            const lists = await Promise.all(apis.map(peersOf))
            return lists.every((l) => l.length === 3)
          },
          45_000,
          250,
        )
        const ids = await Promise.all(
          apis.map(
            async (a) =>
              JSON.parse((await cli(['status', '--json', '--api', a])).stdout).peerId as string,
          ),
        )
        expect(out).toContain('4 nodes running')
        proc.kill('SIGINT')
        expect(await exited).toBe(0)
        expect(out).toContain('all nodes stopped')
        return ids
      } finally {
        proc.kill('SIGKILL')
      }
    }

    const first = await runDevnet()
    // every node is down after the supervisor exits
    for (let i = 0; i < 4; i++)
      expect((await cli(['status', '--api', `http://127.0.0.1:${api + i}`])).code).not.toBe(0)
    const second = await runDevnet()
    expect(second).toEqual(first)
  })
})
