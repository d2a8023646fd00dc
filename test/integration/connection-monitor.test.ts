/**
 * libp2p's connection monitor cuts a connection whose ping is not answered in time. A validator
 * whose event loop is busy for a few seconds (a loaded machine) must keep its connections: the
 * votes on them would be lost (create-libp2p.ts, PING_TIMEOUT_MS). Two node processes
 * (helpers/stalling-peer.mjs): one pings, the other's event loop is stalled; libp2p's own 5 s
 * floor is the control.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { PING_TIMEOUT_MS } from '../../src/node/p2p/create-libp2p.js'
import { ensureBuilt } from './helpers/processes.js'

const PEER = join(import.meta.dirname, 'helpers/stalling-peer.mjs')
/** how long the peer's event loop is blocked: past libp2p's own floor, well under ours */
const STALL_MS = 7_000
/** the pinging node's interval: five pings at most wait during the stall, within PING_STREAMS */
const PING_EVERY_MS = 1_500

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

interface Peer {
  proc: ChildProcess
  addr: string
  /** send a command, and read its one-line answer */
  ask: (command: string) => Promise<Record<string, unknown>>
}

async function startPeer(args: string[] = []): Promise<Peer> {
  await ensureBuilt()
  const proc = spawn(process.execPath, [PEER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
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
  return {
    proc,
    addr,
    ask: (command) => {
      proc.stdin!.write(`${command}\n`)
      return next()
    },
  }
}

/** Connect, stall the dialled peer's event loop for STALL_MS: is the connection still open? */
async function survivesStall(pingTimeoutMs: number): Promise<boolean> {
  const stalled = await startPeer()
  const pinger = await startPeer([String(PING_EVERY_MS), String(pingTimeoutMs)])
  expect(await pinger.ask(`dial ${stalled.addr}`)).toEqual({ dialed: true })
  // pings answered first: the monitor's timeout starts from their round trips
  await new Promise((resolve) => setTimeout(resolve, 2 * PING_EVERY_MS))
  expect(await pinger.ask('connections')).toEqual({ open: 1 })
  expect(await stalled.ask(`stall ${STALL_MS}`)).toEqual({ stalled: STALL_MS })
  // the pings sent during the stall are answered now, or were given up on
  await new Promise((resolve) => setTimeout(resolve, PING_EVERY_MS))
  const { open } = (await pinger.ask('connections')) as { open: number }
  return open === 1
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
