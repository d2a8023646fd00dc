import { access } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
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
    .addHelpText(
      'after',
      `
Runs each node as a child process (logs in DIR/node<i>/node.log) and prints
their peer ids, addresses and API URLs. Ctrl-C stops them all cleanly; run it
again to resume the same chain from DIR.`,
    )
    .action(
      async (
        opts: { validators: number; dir: string; basePort?: number; apiBasePort?: number },
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
        const code = await superviseDevnet({
          homes,
          verbose: cmd.optsWithGlobals().verbose === true,
        })
        process.exitCode = code
      },
    )
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
