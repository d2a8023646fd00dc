// A libp2p node of the built code (dist) in its own process, whose event loop a test can stall:
// it prints {"addr": ...} once it listens; each stdin line `stall MS` blocks it for MS ms, then
// it prints {"stalled": MS}. For the connection monitor's test (connection-monitor.test.ts).

import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNodeLibp2p } from '../../../dist/src/node/p2p/create-libp2p.js'

const node = await createNodeLibp2p({
  privateKey: await generateKeyPair('Ed25519'),
  chainId: 'monitor-test',
  listen: ['/ip4/127.0.0.1/tcp/0'],
  bootstrap: [],
  connectionGater: {},
  appScore: () => 0,
})
await node.start()
process.stdout.write(`${JSON.stringify({ addr: node.getMultiaddrs()[0].toString() })}\n`)
for await (const line of createInterface({ input: process.stdin })) {
  const [word, ms] = line.trim().split(' ')
  if (word !== 'stall') continue
  const until = Date.now() + Number(ms)
  while (Date.now() < until) {
    // a busy event loop: nothing is read, nothing is answered
  }
  process.stdout.write(`${JSON.stringify({ stalled: Number(ms) })}\n`)
}
await node.stop()
