/**
 * Nodes as child processes of the built CLI (`npm test` builds it first), for
 * tests of what a user runs: real files, real signals, kill -9.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { expect } from 'vitest'
import { freePortRange } from '../../support/ports.js'

export const ROOT = join(import.meta.dirname, '../../..')
export const CLI = join(ROOT, 'bin/bftchain.js')
const run = promisify(execFile)

export { freePortRange }

/** Build the CLI if this test run was started without `npm test` (which builds). */
export async function ensureBuilt(): Promise<void> {
  if (existsSync(join(ROOT, 'dist/src/cli/main.js'))) return
  await run(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: ROOT,
    },
  )
}

/** Run a CLI command to completion. */
export async function cli(
  args: string[],
  opts: { cwd?: string } = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      // above the longest wait a test asks a command for (`--timeout-ms 30000`), plus its start
      timeout: 60_000,
    })
    return { stdout, stderr, code: 0 }
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; code?: number }
    return {
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
      code: typeof e.code === 'number' ? e.code : 1,
    }
  }
}

export interface NodeProcess {
  proc: ChildProcess
  info: { peerId: string; listen: string[]; api: string | null; role: string }
  stderr: string[]
  exited: Promise<number | null>
}

/** `bftchain start --json` in a child; resolves once the node prints its ready line. */
export async function startNodeProcess(args: string[], timeoutMs = 30_000): Promise<NodeProcess> {
  const proc = spawn(process.execPath, [CLI, 'start', '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const stderr: string[] = []
  createInterface({ input: proc.stderr! }).on('line', (l) => stderr.push(l))
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  const info = await new Promise<NodeProcess['info']>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node did not start in ${timeoutMs} ms:\n${stderr.join('\n')}`)),
      timeoutMs,
    )
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line)
        clearTimeout(timer)
        resolve(parsed)
      } catch {
        /* not the ready line */
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`node exited (${code}) before it was ready:\n${stderr.join('\n')}`))
    })
  })
  return { proc, info, stderr, exited }
}

/** SIGTERM and wait; SIGKILL after a grace period. */
export async function stopNodeProcess(n: NodeProcess, graceMs = 10_000): Promise<number | null> {
  if (n.proc.exitCode != null || n.proc.signalCode != null) return n.proc.exitCode
  n.proc.kill('SIGTERM')
  const timer = setTimeout(() => n.proc.kill('SIGKILL'), graceMs)
  const code = await n.exited
  clearTimeout(timer)
  return code
}

/** GET `api` + `path` as JSON; null on an error status, a network error or after 2 s. */
export async function getJson<T>(api: string, path: string): Promise<T | null> {
  try {
    const res = await fetch(`${api}${path}`, { signal: AbortSignal.timeout(2_000) })
    return res.ok ? ((await res.json()) as T) : null
  } catch {
    return null
  }
}

/** What `bftchain testnet --json` made, and the port ranges it was given. */
export interface ProcessTestnet {
  dir: string
  homes: { home: string; peerId: string }[]
  p2pBase: number
  apiBase: number
  genesisFile: string
}

/**
 * The node processes and temp dirs of one test, for `afterEach(() => group.cleanup())`:
 * whatever a test started or made is stopped and removed, even when it fails.
 */
export class ProcessGroup {
  private readonly running: NodeProcess[] = []
  private readonly dirs: string[] = []

  /** A fresh directory under the OS temp dir, removed by cleanup(). */
  async tempDir(prefix: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    this.dirs.push(dir)
    return dir
  }

  /** startNodeProcess, stopped by cleanup() unless killed or stopped before. */
  async start(args: string[], timeoutMs?: number): Promise<NodeProcess> {
    const n = await startNodeProcess(args, timeoutMs)
    this.running.push(n)
    return n
  }

  /** kill -9, and wait for the process to be gone. */
  async kill9(n: NodeProcess): Promise<void> {
    n.proc.kill('SIGKILL')
    await n.exited
    this.untrack(n)
  }

  /** SIGTERM and wait (stopNodeProcess). */
  async stop(n: NodeProcess): Promise<number | null> {
    const code = await stopNodeProcess(n)
    this.untrack(n)
    return code
  }

  /**
   * `bftchain testnet --validators N --json` into a new temp dir, on free port
   * ranges: `p2pPorts` and `apiPorts` ports from p2pBase and apiBase (default N each).
   */
  async testnet(
    validators: number,
    opts: { prefix?: string; p2pPorts?: number; apiPorts?: number } = {},
  ): Promise<ProcessTestnet> {
    const dir = await this.tempDir(opts.prefix ?? 'bftchain-testnet-')
    const p2pBase = await freePortRange(opts.p2pPorts ?? validators)
    const apiBase = await freePortRange(opts.apiPorts ?? validators)
    const made = await cli([
      'testnet',
      '--validators',
      String(validators),
      '--out',
      dir,
      '--base-port',
      String(p2pBase),
      '--api-base-port',
      String(apiBase),
      '--json',
    ])
    expect(made.code, made.stderr).toBe(0)
    const net = JSON.parse(made.stdout) as {
      genesisFile: string
      homes: { home: string; peerId: string }[]
    }
    return {
      dir,
      homes: net.homes,
      p2pBase,
      apiBase,
      genesisFile: net.genesisFile,
    }
  }

  /** Stop the tracked nodes, last started first, then remove the temp dirs. */
  async cleanup(): Promise<void> {
    for (const n of this.running.splice(0).reverse()) await stopNodeProcess(n)
    // BFTCHAIN_KEEP_TEST_DIRS=1 keeps them (their node.log files) to look at a failure
    if (process.env.BFTCHAIN_KEEP_TEST_DIRS) console.log(`kept ${this.dirs.splice(0).join(' ')}`)
    else for (const d of this.dirs.splice(0)) await rm(d, { recursive: true, force: true })
  }

  private untrack(n: NodeProcess): void {
    const i = this.running.indexOf(n)
    if (i >= 0) this.running.splice(i, 1)
  }
}
