import type { Command } from 'commander'
import { DEFAULT_API_URL } from '../client.js'
import { intOption } from '../options.js'
import {
  buildTx,
  DEFAULT_WAIT_TIMEOUT_MS,
  fetchChainId,
  finishTx,
  loadKey,
  nextNonce,
  parseHex64,
  parseWait,
  positiveIntOption,
  submitTx,
} from '../signing.js'

interface GrantOpts {
  key: string
  to: string
  amount: number
  nonce?: number
  wait?: string | boolean
  timeoutMs: number
  api: string
  json?: boolean
}

export function gasCommand(program: Command): void {
  const gas = program.command('gas').description('gas credit: grants by a gas authority')

  gas
    .command('grant')
    .description('credit gas to an account: a gas-grant tx signed by an authority key')
    .requiredOption('--key <file>', 'the authority key file (an authority named in genesis)')
    .requiredOption('--to <address>', 'the account to credit (64 hex characters)')
    .requiredOption('--amount <n>', 'gas to credit', positiveIntOption)
    .option('--nonce <n>', "the tx's nonce (default: the next one, from the node)", intOption)
    .option(
      '--wait [status]',
      'wait until the grant is committed or final (--wait alone: final, in a block)',
    )
    .option('--timeout-ms <n>', 'how long --wait waits', positiveIntOption, DEFAULT_WAIT_TIMEOUT_MS)
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document: {hash, status, reason?, tx}')
    .addHelpText(
      'after',
      `
Only the authorities in genesis.json may grant gas; a grant signed by any
other key fails with UNAUTHORIZED. The credit counts once a block includes
the grant (bftchain balance ADDRESS). \`bftchain testnet\` writes an authority
key to DIR/authority.key.json.

Examples:
  bftchain gas grant --key devnet/authority.key.json --to ADDRESS --amount 1000
  bftchain gas grant --key devnet/authority.key.json --to ADDRESS --amount 50 --wait --json`,
    )
    .action(async (opts: GrantOpts) => {
      const wait = parseWait(opts.wait)
      const to = parseHex64(opts.to, '--to')
      const key = await loadKey(opts.key)
      const [chainId, nonce] = await Promise.all([
        fetchChainId(opts.api),
        opts.nonce ?? nextNonce(opts.api, key.address, 'authority'),
      ])
      const { tx, hash } = buildTx(key, chainId, nonce, {
        kind: 'gas-grant',
        to,
        amount: opts.amount,
      })
      const result = await submitTx(opts.api, tx, hash, wait, opts.timeoutMs)
      finishTx(
        result,
        opts,
        () => `granted ${opts.amount} gas to ${to}: tx ${result.sent.hash} ${result.sent.status}`,
      )
    })
}
