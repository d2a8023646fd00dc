import type { Command } from 'commander'
import type { NodeStatus } from '../../node/node/chain-node.js'
import { apiRequest, DEFAULT_API_URL } from '../client.js'
import { print, printJson, table } from '../output.js'

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('height, head hash, round, leader, role, mempool sizes, peers, sync progress')
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document')
    .action(async (opts: { api: string; json?: boolean }) => {
      const s = await apiRequest<NodeStatus>(opts.api, 'status')
      if (opts.json) {
        printJson(s)
        return
      }
      print(
        table([
          ['chain', s.chainId],
          ['peer id', `${s.peerId} (${s.role})`],
          ['height', String(s.height)],
          ['head', s.headHash],
          ['round', s.round == null ? '-' : String(s.round)],
          ['leader', s.leader ?? '-'],
          [
            'mempool',
            `${s.mempool.pending} pending, ${s.mempool.committed} committed, ${s.mempool.accounts} registrations`,
          ],
          [
            'tx rounds',
            `${s.txRounds.running} running (window ${s.txRounds.window}), ${s.txRounds.waiting} waiting`,
          ],
          ['peers', String(s.peers)],
          [
            'syncing',
            s.syncing == null
              ? 'no'
              : `${s.syncing.current}/${s.syncing.to} (from ${s.syncing.from}, ${s.syncing.blocksPerSec} blocks/s)`,
          ],
        ]),
      )
    })
}
