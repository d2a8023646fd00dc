import type { Command } from 'commander'
import type { PeerView } from '../../node/p2p/peers.js'
import { apiRequest, DEFAULT_API_URL } from '../client.js'
import { print, printJson, table } from '../output.js'

export function peersCommand(program: Command): void {
  program
    .command('peers')
    .description(
      'the debug view of peers: id, address, direction, validator?, height, latency, score, topics',
    )
    .option('--api <url>', 'node API', DEFAULT_API_URL)
    .option('--json', 'print one JSON document')
    .action(async (opts: { api: string; json?: boolean }) => {
      const peers = await apiRequest<PeerView[]>(opts.api, 'peers')
      if (opts.json) {
        printJson(peers)
        return
      }
      if (peers.length === 0) {
        print('no peers connected')
        return
      }
      print(
        table([
          ['peer id', 'address', 'dir', 'validator', 'height', 'latency', 'score', 'topics'],
          ...peers.map((p) => [
            p.peerId,
            p.addrs[0] ?? '',
            p.direction === 'inbound' ? 'in' : 'out',
            p.validator ? 'yes' : 'no',
            p.height == null ? '?' : String(p.height),
            p.latencyMs == null ? '-' : `${p.latencyMs}ms`,
            String(p.score),
            p.topics.join(','),
          ]),
        ]),
      )
    })
}
