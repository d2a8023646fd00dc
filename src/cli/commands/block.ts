import type { Command } from 'commander'
import type { TxJson } from '../../core/chain/json.js'
import { apiCall, DEFAULT_API_URL } from '../client.js'
import { CliError, print, printJson, table } from '../output.js'

/** GET /blocks/:height */
interface BlockView {
  height: number
  hash: string
  header: {
    chainId: string
    height: number
    round: number
    parentHash: string
    proposer: string
    time: string | number
    txRoot: string
    accountsRoot: string
    stateRoot: string
  }
  txs: (TxJson & { hash: string; status?: 'ok' | 'failed'; reason?: string | null })[]
  accounts: {
    address: string
    username: string
    status?: 'ok' | 'failed'
    reason?: string | null
  }[]
  certificate: { phase?: string; round: number; signers: string[] } | null
}

export function blockCommand(program: Command): void {
  const block = program.command('block').description('blocks of the chain')

  block
    .command('show')
    .description('a block: header, certificate signers, txs, accounts')
    .argument('<height>', 'a block height, or "latest"')
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document')
    .addHelpText(
      'after',
      `
Examples:
  bftchain block show latest
  bftchain block show 12 --api http://127.0.0.1:8081 --json`,
    )
    .action(async (height: string, opts: { api: string; json?: boolean }) => {
      if (height !== 'latest' && !(/^\d+$/.test(height) && Number.isSafeInteger(Number(height)))) {
        throw new CliError(
          `HEIGHT must be a block height (a whole number) or "latest", not "${height}"`,
        )
      }
      const { body: b } = await apiCall<BlockView>(opts.api, `blocks/${height}`)
      if (opts.json) {
        printJson(b)
        return
      }
      printBlock(b)
    })
}

function printBlock(b: BlockView): void {
  const h = b.header
  const time = typeof h.time === 'number' ? new Date(h.time).toISOString() : h.time
  print(
    table([
      ['height', String(b.height)],
      ['hash', b.hash],
      ['chain', h.chainId],
      ['round', String(h.round)],
      ['parent', h.parentHash],
      ['proposer', h.proposer],
      ['time', time],
      ['tx root', h.txRoot],
      ['accounts root', h.accountsRoot],
      ['state root', h.stateRoot],
    ]),
  )
  print()
  const signers = b.certificate?.signers ?? []
  print(
    b.certificate
      ? `certificate: round ${b.certificate.round}, ${signers.length} signers`
      : 'certificate: none',
  )
  for (const s of signers) print(`  ${s}`)
  print()
  if (b.txs.length === 0) print('txs: none')
  else {
    print(`txs: ${b.txs.length}`)
    print(
      table([
        ['#', 'hash', 'kind', 'from', 'nonce', 'gas', 'status'],
        ...b.txs.map((t, i) => [
          String(i),
          t.hash,
          t.kind,
          t.from,
          String(t.nonce),
          String(t.gas),
          t.status === 'failed' && t.reason ? `failed (${t.reason})` : (t.status ?? '-'),
        ]),
      ]),
    )
  }
  print()
  if (b.accounts.length === 0) print('accounts: none')
  else {
    print(`accounts: ${b.accounts.length}`)
    print(
      table([
        ['address', 'username', 'status'],
        ...b.accounts.map((a) => [
          a.address,
          a.username,
          a.status === 'failed' && a.reason ? `failed (${a.reason})` : (a.status ?? '-'),
        ]),
      ]),
    )
  }
}
