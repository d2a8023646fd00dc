/**
 * In-process networks of real libp2p nodes on 127.0.0.1 with OS-chosen
 * ports, for integration tests. Every node is stopped in reverse order of
 * start by `stopAll` (call it in afterEach).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Genesis, parseGenesis } from '../../../src/core/chain/genesis.js'
import { sha256 } from '../../../src/core/crypto/hash.js'
import { identityFromSeed, type NodeIdentity } from '../../../src/node/keys/node-key.js'
import { createLogger, type Logger, silentLogger, stderrSink } from '../../../src/node/log.js'
import { ChainNode, type ChainNodeInit } from '../../../src/node/node/chain-node.js'

export function testLogger(): Logger {
  return process.env.BFTCHAIN_TEST_LOGS
    ? createLogger({ level: 'debug', format: 'text', sinks: [stderrSink] })
    : silentLogger
}

/** Deterministic node identities: the same label gives the same peer id. */
export function identity(label: string): Promise<NodeIdentity> {
  return identityFromSeed(sha256(new TextEncoder().encode(`test-node:${label}`)))
}

/** Consensus timeouts for tests: blocks in a fraction of a second on loopback. */
export const FAST_TIMEOUTS = {
  txRoundMs: 5_000,
  roundMs: 1_500,
  roundMaxMs: 10_000,
  blockIntervalMs: 100,
  electionMinMs: 20,
  electionMaxMs: 200,
}

export function makeGenesis(
  validators: NodeIdentity[],
  chainId = 'bftchain-test',
  extra: { authorities?: unknown[]; timeouts?: Record<string, number> } = {},
): Genesis {
  return parseGenesis({
    chainId,
    genesisTime: '2026-01-01T00:00:00.000Z',
    validators: validators.map((v) => v.peerId),
    authorities: extra.authorities ?? [],
    gasWindowMs: 0,
    ...(extra.timeouts ? { timeouts: extra.timeouts } : {}),
  })
}

export class TestNet {
  readonly nodes: ChainNode[] = []
  private readonly dirs: string[] = []

  async startNode(opts: {
    genesis: Genesis
    identity: NodeIdentity
    bootstrap?: string[]
    home?: string
    sync?: ChainNodeInit['sync']
  }): Promise<ChainNode> {
    const home = opts.home ?? (await mkdtemp(join(tmpdir(), 'bftchain-it-')))
    if (!this.dirs.includes(home)) this.dirs.push(home)
    const node = await ChainNode.create({
      home,
      genesis: opts.genesis,
      identity: opts.identity,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: opts.bootstrap ?? [],
      log: testLogger(),
      sync: opts.sync,
    })
    this.nodes.push(node)
    await node.start()
    return node
  }

  /** Stop one node (its home stays, so it can start again). */
  async stopNode(node: ChainNode): Promise<void> {
    await node.stop()
    this.nodes.splice(this.nodes.indexOf(node), 1)
  }

  /** Stop every node, last started first, and remove their homes. */
  async stopAll(): Promise<void> {
    for (const node of [...this.nodes].reverse()) await node.stop().catch(() => {})
    this.nodes.length = 0
    for (const dir of this.dirs.splice(0)) await rm(dir, { recursive: true, force: true })
  }
}

/** Poll `check` until it holds or the deadline passes; the error names what was awaited. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((r) => setTimeout(r, everyMs))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
