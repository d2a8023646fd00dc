/**
 * Runs the nodes of a devnet as child processes: prints each one's peer id,
 * addresses and API once it is up, relays their log lines prefixed with the
 * node's name, and on Ctrl-C stops them all and waits for them to exit.
 * Each child runs in its own process group (so a terminal's Ctrl-C reaches
 * only the supervisor, which stops them once) and exits if the supervisor
 * disappears (its stdin closes).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { basename, join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { nodeProcessEnv } from './node-process-env.js'
import { print, table } from './output.js'

const CLI = fileURLToPath(new URL('./main.js', import.meta.url))
const STOP_GRACE_MS = 15_000

interface Child {
  name: string
  home: string
  proc: ChildProcess
  info: { peerId: string; listen: string[]; api: string | null } | null
  exited: boolean
}

export async function superviseDevnet(opts: {
  homes: string[]
  verbose: boolean
}): Promise<number> {
  const children: Child[] = opts.homes.map((home) => {
    const args = [CLI, 'start', '--home', home, '--json', '--supervised']
    if (opts.verbose) args.push('--verbose')
    const proc = spawn(process.execPath, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: nodeProcessEnv(),
    })
    return { name: basename(home), home, proc, info: null, exited: false }
  })

  let stopping = false
  let printed = false
  const width = Math.max(...children.map((c) => c.name.length))

  const printTable = (): void => {
    if (printed || children.some((c) => c.info == null && !c.exited)) return
    printed = true
    const rows = children
      .filter((c) => c.info != null)
      .map((c) => [c.name, c.info!.peerId, c.info!.listen[0] ?? '', c.info!.api ?? 'off'])
    print(table([['node', 'peer id', 'listen', 'api'], ...rows]))
    const logs = children.map(
      (c) => relative(process.cwd(), join(c.home, 'node.log')) || 'node.log',
    )
    const where = logs.length > 2 ? `${logs[0]} … ${logs.at(-1)}` : logs.join(', ')
    print(`\n${rows.length} nodes running; each logs to its home (${where}). Ctrl-C stops them.`)
    print(
      `try: npx bftchain peers   (or: npx bftchain status --api ${children[0]?.info?.api ?? ''})`,
    )
  }

  const exits = children.map(
    (c) =>
      new Promise<number>((resolveExit) => {
        createInterface({ input: c.proc.stdout! }).on('line', (line) => {
          try {
            c.info = JSON.parse(line)
            printTable()
          } catch {
            print(`${c.name.padEnd(width)} | ${line}`)
          }
        })
        createInterface({ input: c.proc.stderr! }).on('line', (line) => {
          process.stderr.write(`${c.name.padEnd(width)} | ${line}\n`)
        })
        c.proc.on('exit', (code, signal) => {
          c.exited = true
          if (!stopping) {
            process.stderr.write(
              `${c.name} exited (${signal ?? `code ${code}`}); see ${c.home}/node.log\n`,
            )
            printTable()
          }
          resolveExit(code ?? 1)
        })
      }),
  )

  const stopAll = (): void => {
    if (stopping) {
      for (const c of children) if (!c.exited) c.proc.kill('SIGKILL')
      return
    }
    stopping = true
    process.stderr.write('stopping all nodes…\n')
    for (const c of children) if (!c.exited) c.proc.kill('SIGTERM')
    setTimeout(() => {
      for (const c of children) if (!c.exited) c.proc.kill('SIGKILL')
    }, STOP_GRACE_MS).unref()
  }
  process.on('SIGINT', stopAll)
  process.on('SIGTERM', stopAll)

  const codes = await Promise.all(exits)
  process.off('SIGINT', stopAll)
  process.off('SIGTERM', stopAll)
  if (stopping) {
    print('all nodes stopped')
    return codes.every((c) => c === 0) ? 0 : 1
  }
  return 1
}
