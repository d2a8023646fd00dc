import { access, readFile, writeFile } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { Command } from 'commander'
import { prometheusConfig } from '../../node/prometheus-config.js'
import { createTestnet, TESTNET_GENESIS } from '../../node/testnet.js'
import { superviseDevnet } from '../devnet-supervisor.js'
import { intOption } from '../options.js'
import { print } from '../output.js'

export function devnetCommand(program: Command): void {
  program
    .command('devnet')
    .description('a local N-validator network: `testnet` if DIR is new, then start every node')
    .option('--validators <n>', 'validators of a new network', intOption, 4)
    .option('--dir <dir>', 'network directory', './devnet')
    .option('--base-port <p>', 'P2P port of node0 (new network only)', intOption)
    .option('--api-base-port <a>', 'API port of node0 (new network only)', intOption)
    .option(
      '--prometheus',
      'also write DIR/prometheus.yml: a Prometheus scrape config for the nodes (dashboard: deploy/grafana/bftchain.json)',
    )
    .addHelpText(
      'after',
      `
Runs each node as a child process (each logs to its home, DIR/node0/node.log
and so on) and prints
their peer ids, addresses and API URLs. Ctrl-C stops them all cleanly; run it
again to resume the same chain from DIR.`,
    )
    .action(
      async (
        opts: {
          validators: number
          dir: string
          basePort?: number
          apiBasePort?: number
          prometheus?: boolean
        },
        cmd: Command,
      ) => {
        const dir = resolve(opts.dir)
        const exists = await access(join(dir, TESTNET_GENESIS)).then(
          () => true,
          () => false,
        )
        let homes: string[]
        if (!exists) {
          const net = await createTestnet({
            validators: opts.validators,
            out: dir,
            basePort: opts.basePort,
            apiBasePort: opts.apiBasePort,
          })
          print(`made a new ${opts.validators}-validator network in ${dir}`)
          homes = net.homes.map((h) => h.home)
        } else {
          homes = await existingHomes(dir)
          print(`resuming the network in ${dir} (${homes.length} nodes)`)
        }
        if (opts.prometheus) {
          const file = join(dir, 'prometheus.yml')
          await writeFile(file, prometheusConfig(await scrapeTargets(homes)))
          print(`wrote ${file}: prometheus --config.file=${file}`)
        }
        const code = await superviseDevnet({
          homes,
          verbose: cmd.optsWithGlobals().verbose === true,
        })
        process.exitCode = code
      },
    )
}

/** Each home's API address, from its config.json (a node without an API is left out). */
async function scrapeTargets(homes: string[]): Promise<{ name: string; api: string }[]> {
  const targets: { name: string; api: string }[] = []
  for (const home of homes) {
    const config = JSON.parse(await readFile(join(home, 'config.json'), 'utf8')) as {
      api?: unknown
    }
    if (typeof config.api === 'string' && config.api !== '')
      targets.push({ name: basename(home), api: config.api.replace(/^https?:\/\//, '') })
  }
  return targets
}

async function existingHomes(dir: string): Promise<string[]> {
  const homes: string[] = []
  for (let i = 0; ; i++) {
    const home = join(dir, `node${i}`)
    const ok = await access(join(home, 'config.json')).then(
      () => true,
      () => false,
    )
    if (!ok) break
    homes.push(home)
  }
  if (homes.length === 0) throw new Error(`${dir} has a genesis.json but no node0/config.json`)
  return homes
}
