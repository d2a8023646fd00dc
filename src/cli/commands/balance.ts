import type { Command } from 'commander'
import { apiCall, DEFAULT_API_URL } from '../client.js'
import { print, printJson, table } from '../output.js'
import { parseHex64 } from '../signing.js'

/** GET /accounts/:address/balance */
interface BalanceView {
  address: string
  /** final: an account in a block; pending: waiting for one; null: no account (gas waits unclaimed) */
  account?: 'final' | 'pending' | null
  hasTransaction: boolean
  lastBlockIndex: number | null
  gasUsed: number
  balance: number
  pendingBalance: number
  lots?: { blockIndex: number; time: number; remaining: number; expiresAt: number | null }[]
  expiredGas?: number
}

export function balanceCommand(program: Command): void {
  program
    .command('balance')
    .description('has-transacted, last block index, gas used, balance, pending balance')
    .argument('<address>', 'the account address (64 hex characters)')
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `
The balance is the gas credit of the final blocks (grants, first in first out,
less what txs used and what expired); the pending balance also takes off the
gas of the account's committed txs that no block holds yet.

Examples:
  bftchain balance "$(jq -r .address alice.key.json)"
  bftchain balance ADDRESS --api http://127.0.0.1:8081 --json`,
    )
    .action(async (address: string, opts: { api: string; json?: boolean }) => {
      const a = parseHex64(address, 'ADDRESS')
      const { body: b } = await apiCall<BalanceView>(opts.api, `accounts/${a}/balance`)
      if (opts.json) {
        printJson(b)
        return
      }
      const account =
        b.account === undefined
          ? []
          : [
              [
                'account',
                b.account === 'final'
                  ? 'final'
                  : b.account === 'pending'
                    ? 'pending (registered, waiting for a block)'
                    : 'none (the gas waits for the account to register)',
              ],
            ]
      print(
        table([
          ['address', a],
          ...account,
          ['has transacted', b.hasTransaction ? 'yes' : 'no'],
          ['last block', b.lastBlockIndex == null ? '-' : String(b.lastBlockIndex)],
          ['gas used', String(b.gasUsed)],
          ['balance', String(b.balance)],
          ['pending balance', String(b.pendingBalance)],
          ...(b.expiredGas === undefined ? [] : [['expired gas', String(b.expiredGas)]]),
        ]),
      )
      const lots = b.lots ?? []
      if (lots.length > 0) {
        print()
        print(`gas lots (spent oldest first): ${lots.length}`)
        print(
          table([
            ['block', 'granted', 'remaining', 'expires'],
            ...lots.map((l) => [
              String(l.blockIndex),
              new Date(l.time).toISOString(),
              String(l.remaining),
              l.expiresAt == null ? 'never' : new Date(l.expiresAt).toISOString(),
            ]),
          ]),
        )
      }
    })
}
