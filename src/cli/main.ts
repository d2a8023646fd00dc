/**
 * The bftchain command line (SPEC "Commands"). Every command prints human
 * text, or one JSON document with --json; every error is one line on stderr
 * and a non-zero exit.
 */
import { Command, CommanderError } from 'commander'
import { VERSION } from '../version.js'
import { accountCommand } from './commands/account.js'
import { balanceCommand } from './commands/balance.js'
import { blockCommand } from './commands/block.js'
import { devnetCommand } from './commands/devnet.js'
import { evidenceCommand } from './commands/evidence.js'
import { gasCommand } from './commands/gas.js'
import { initCommand } from './commands/init.js'
import { peersCommand } from './commands/peers.js'
import { startCommand } from './commands/start.js'
import { statusCommand } from './commands/status.js'
import { testnetCommand } from './commands/testnet.js'
import { txCommand } from './commands/tx.js'
import { watchCommand } from './commands/watch.js'
import { reportError } from './output.js'

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('bftchain')
    .description('a permissioned BFT blockchain node on libp2p')
    .version(VERSION)
    .option('-v, --verbose', 'debug logs, and stack traces on errors')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
  for (const add of [
    initCommand,
    testnetCommand,
    startCommand,
    devnetCommand,
    statusCommand,
    peersCommand,
    accountCommand,
    gasCommand,
    txCommand,
    balanceCommand,
    blockCommand,
    evidenceCommand,
    watchCommand,
  ]) {
    add(program)
  }
  for (const cmd of program.commands) cmd.exitOverride()
  return program
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or help / version)
      process.exitCode = err.exitCode
      return
    }
    process.exitCode = reportError(err, program.opts().verbose === true)
  }
}

await main(process.argv)
