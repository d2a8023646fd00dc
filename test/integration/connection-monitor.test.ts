/**
 * libp2p's connection monitor cuts a connection whose ping is not answered in time. A validator
 * whose event loop is busy for a few seconds (a loaded machine) must keep its connections: the
 * votes on them would be lost (create-libp2p.ts, PING_TIMEOUT_MS). The peer is a process of its
 * own whose event loop the test stalls; libp2p's own 5 s floor is the control.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { createNodeLibp2p, PING_TIMEOUT_MS } from '../../src/node/p2p/create-libp2p.js'
import { ensureBuilt } from './helpers/processes.js'

const PEER = join(import.meta.dirname, 'helpers/stalling-peer.mjs')
/** how long the peer's event loop is blocked: past libp2p's own floor, well under ours */
const STALL_MS = 7_000

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Peer {
  proc: ChildProcess
  addr: string
  next: () => Promise<Record<string, unknown>>
}

async function startPeer(): Promise<Peer> {
  await ensureBuilt()
  const proc = spawn(process.execPath, [PEER], { stdio: ['pipe', 'pipe', 'inherit'] })
  cleanups.push(async () => {
    if (proc.exitCode != null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGKILL')
    await exited
  })
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]()
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next()
    if (done) throw new Error('the peer process ended')
    return JSON.parse(value as string) as Record<string, unknown>
  }
  const { addr } = (await next()) as { addr: string }
  return { proc, addr, next }
}

/**
 * A node that pings its connections every 1.5 s, with the given timeout floor: during the stall
 * five pings at most wait, within PING_STREAMS.
 */
async function startNode(pingTimeoutMs: number) {
  const node = await createNodeLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    chainId: 'monitor-test',
    listen: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap: [],
    connectionGater: {},
    appScore: () => 0,
    connectionMonitor: { pingEveryMs: 1_500, pingTimeoutMs },
  })
  await node.start()
  cleanups.push(async () => {
    await node.stop()
  })
  return node
}

/** Connect, stall the peer's event loop for STALL_MS, then say whether the connection is open. */
async function survivesStall(pingTimeoutMs: number): Promise<boolean> {
  const peer = await startPeer()
  const node = await startNode(pingTimeoutMs)
  const conn = await node.dial(multiaddr(peer.addr))
  // pings answered first: the monitor's timeout starts from their round trips
  await new Promise((resolve) => setTimeout(resolve, 3_500))
  expect(conn.status).toBe('open')
  peer.proc.stdin!.write(`stall ${STALL_MS}\n`)
  expect(await peer.next()).toEqual({ stalled: STALL_MS })
  // the pings sent during the stall are answered now, or were given up on
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  return conn.status === 'open' && node.getConnections().length > 0
}

describe('connection monitor', () => {
  it('keeps the connection of a peer whose event loop is busy for longer than libp2p waits by default', async () => {
    expect(STALL_MS).toBeLessThan(PING_TIMEOUT_MS)
    expect(await survivesStall(PING_TIMEOUT_MS)).toBe(true)
  }, 30_000)

  it("control: with libp2p's own 5 s floor the same stall cuts the connection", async () => {
    expect(await survivesStall(5_000)).toBe(false)
  }, 30_000)
})
