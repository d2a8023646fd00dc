import { type Command, Option } from 'commander'
import { resolveNodeConfig, type StartFlags } from '../../node/config/node-config.js'
import { applyHeapGrowth, DEFAULT_HEAP_GROWTH_PERCENT } from '../../node/heap.js'
import { runNode } from '../../node/run.js'
import { collect, intOption } from '../options.js'
import { print } from '../output.js'
import { progressReporter } from '../progress.js'

interface StartOpts extends StartFlags {
  home: string
  json?: boolean
  verbose?: boolean
  logFormat: 'text' | 'json'
  quiet?: boolean
  supervised?: boolean
  heapGrowth: number
}

export function startCommand(program: Command): void {
  program
    .command('start')
    .description('run a node: a validator if its peer id is in genesis, an observer otherwise')
    .requiredOption('--home <dir>', 'node home: node-key.json, config.json, data/, node.log')
    .option('--genesis <file>', 'genesis file (default: config.json, else HOME/genesis.json)')
    .option(
      '--listen <multiaddr>',
      'P2P listen address, repeatable (default /ip4/127.0.0.1/tcp/26600)',
      collect,
    )
    .option(
      '--bootstrap <multiaddr>',
      'peer to connect to, /ip4/…/tcp/…/p2p/<id>, repeatable',
      collect,
    )
    .option(
      '--bootstrap-file <file>',
      'bootstrap list {"peers": [...]} (default ./bootstrap-peers.json)',
    )
    .option('--api <host:port>', 'HTTP API address, or "off" (default 127.0.0.1:8080)')
    .option(
      '--sync-threshold <blocks>',
      'a validator this far behind leaves consensus to catch up first (default 8)',
      intOption,
    )
    .option(
      '--heap-growth <percent>',
      'percent the heap may grow past its live set before a full garbage collection (0: V8 decides, up to 4x)',
      intOption,
      DEFAULT_HEAP_GROWTH_PERCENT,
    )
    .option('--log-format <format>', 'text or json', 'text')
    .option('--quiet', 'log to HOME/node.log only, not to stderr')
    .option('--json', 'print one JSON line when the node is up')
    .addOption(new Option('--supervised', 'exit when stdin closes (used by devnet)').hideHelp())
    .addHelpText(
      'after',
      `
HOME/config.json, when present, gives genesis, listen, bootstrap, bootstrapFile
and api (paths relative to HOME); flags override it. A home without a node key
gets one. Logs go to stderr and HOME/node.log; --verbose tells each round.
Ctrl-C (SIGINT) or SIGTERM stops the node cleanly. On Linux, run it with
MALLOC_ARENA_MAX=2 in its environment: less memory outside the heap under load
(docs/OPERATIONS.md §6.3; the devnet sets it for its nodes).`,
    )
    .action(async (opts: StartOpts, cmd: Command) => {
      const verbose = cmd.optsWithGlobals().verbose === true
      if (opts.logFormat !== 'text' && opts.logFormat !== 'json') {
        throw new Error('--log-format must be text or json')
      }
      try {
        applyHeapGrowth(opts.heapGrowth)
      } catch (err) {
        throw new Error(`--heap-growth: ${(err as Error).message}`)
      }
      const config = await resolveNodeConfig(opts.home, opts)
      const running = await runNode(config, {
        level: verbose ? 'debug' : 'info',
        format: opts.logFormat,
        stderr: opts.quiet !== true,
      })
      const { node, api } = running
      const progress = progressReporter(process.stderr, running.log.child('sync'))
      node.on('sync-progress', (p) => progress.update(p))
      node.on('sync-done', (p) => progress.done(p))
      // a write that failed leaves the core ahead of its disk: nothing it decides may go out, so
      // the process ends (exit 1) for its supervisor to restart it from what is on disk
      let stopping = false
      node.on('fatal', () => {
        if (stopping) return // a write cut short by our own stop is not a failing disk
        stopping = true
        setTimeout(() => process.exit(1), 5_000).unref()
        running
          .stop()
          .catch(() => {})
          .finally(() => process.exit(1))
      })
      const info = {
        peerId: node.peerId,
        role: node.role,
        chainId: node.chainId,
        listen: node.multiaddrs(),
        api: api?.url ?? null,
        home: config.home,
      }
      if (opts.json) print(JSON.stringify(info))
      else {
        print(`bftchain ${info.role} ${info.peerId} on chain ${info.chainId}`)
        for (const a of info.listen) print(`  p2p  ${a}`)
        print(`  api  ${info.api ?? 'off'}`)
      }
      await new Promise<void>((resolveStop) => {
        let signals = 0
        const onSignal = (sig: NodeJS.Signals): void => {
          signals++
          if (signals > 1) {
            running.log.warn('second signal: exiting now', { signal: sig })
            process.exit(1)
          }
          running.log.info('stopping', { signal: sig })
          stopping = true
          running.stop().then(
            () => {
              // nothing must keep a stopped node alive (stdin of --supervised, a stray socket)
              process.stdin.destroy()
              setTimeout(() => process.exit(0), 3_000).unref()
              resolveStop()
            },
            (err) => {
              running.log.error('stop failed', { err })
              process.exit(1)
            },
          )
        }
        process.on('SIGINT', onSignal)
        process.on('SIGTERM', onSignal)
        if (opts.supervised) {
          // the supervisor is gone when our stdin closes: do not outlive it
          process.stdin.on('end', () => onSignal('SIGTERM'))
          process.stdin.resume()
        }
      })
    })
}
