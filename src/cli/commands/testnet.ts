import type { Command } from 'commander'
import { createTestnet, DEFAULT_API_BASE_PORT, DEFAULT_BASE_PORT } from '../../node/testnet.js'
import { intOption } from '../options.js'
import { print, printJson, table } from '../output.js'

export function testnetCommand(program: Command): void {
  program
    .command('testnet')
    .description('make the files of an N-validator network: genesis, keys, configs, bootstrap list')
    .requiredOption('--validators <n>', 'number of validators (1..64)', intOption)
    .requiredOption('--out <dir>', 'directory to write (DIR/genesis.json, DIR/node0…)')
    .option(
      '--base-port <p>',
      'P2P port of node0; node i listens on P+i',
      intOption,
      DEFAULT_BASE_PORT,
    )
    .option(
      '--api-base-port <a>',
      'API port of node0; node i serves on A+i',
      intOption,
      DEFAULT_API_BASE_PORT,
    )
    .option(
      '--chain-id <id>',
      'chain id (default: bftchain-devnet-<8 random hex>, so no two networks share one; signatures bind it)',
    )
    .option('--host <ip>', 'IP the nodes listen on and are reached at', '127.0.0.1')
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `
Writes DIR/genesis.json, DIR/authority.key.json (a gas authority, mode 0600),
DIR/bootstrap-peers.json and DIR/node<i>/{node-key.json,config.json}.
Start each node with: bftchain start --home DIR/node<i>`,
    )
    .action(
      async (opts: {
        validators: number
        out: string
        basePort: number
        apiBasePort: number
        chainId?: string
        host: string
        json?: boolean
      }) => {
        const net = await createTestnet({
          validators: opts.validators,
          out: opts.out,
          basePort: opts.basePort,
          apiBasePort: opts.apiBasePort,
          chainId: opts.chainId,
          host: opts.host,
        })
        if (opts.json) {
          printJson(net)
          return
        }
        print(
          `made a ${opts.validators}-validator network in ${net.dir} (chain ${net.genesis.chainId})`,
        )
        print(
          table([
            ['home', 'peer id', 'listen', 'api'],
            ...net.homes.map((h) => [h.name, h.peerId, h.listen, `http://${h.api}`]),
          ]),
        )
        print(`\nstart a node: bftchain start --home ${net.homes[0]!.home}`)
      },
    )
}
