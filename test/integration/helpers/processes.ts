/**
 * Nodes as child processes of the built CLI (`npm test` builds it first), for
 * tests of what a user runs: real files, real signals, kill -9.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

export const ROOT = join(import.meta.dirname, '../../..')
export const CLI = join(ROOT, 'bin/bftchain.js')
const run = promisify(execFile)

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
      timeout: 30_000,
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

async function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** A base port P such that P..P+count-1 are free on 127.0.0.1 right now. */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000)
    let ok = true
    for (let i = 0; i < count && ok; i++) ok = await isFree(base + i)
    if (ok) return base
  }
  throw new Error('no free port range found')
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
