// A libp2p node of the built code (dist) in its own process, driven line by line on stdin, for
// the connection monitor's test (connection-monitor.test.ts). Arguments: the monitor's ping
// interval and timeout floor in ms (none: the node's defaults). It prints {"addr": ...} once it
// listens, then answers each command with one JSON line:
//   dial ADDR    → {"dialed": true}
//   stall MS     → blocks its event loop for MS ms (nothing read, nothing answered), then {"stalled": MS}
//   connections  → {"open": N}, its open connections
import { createInterface } from 'node:readline'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { createNodeLibp2p } from '../../../dist/src/node/p2p/create-libp2p.js'

const [pingEveryMs, pingTimeoutMs] = process.argv.slice(2).map(Number)
const node = await createNodeLibp2p({
  privateKey: await generateKeyPair('Ed25519'),
  chainId: 'monitor-test',
  listen: ['/ip4/127.0.0.1/tcp/0'],
  bootstrap: [],
  connectionGater: {},
  appScore: () => 0,
  ...(pingEveryMs > 0 ? { connectionMonitor: { pingEveryMs, pingTimeoutMs } } : {}),
})
await node.start()
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`)
say({ addr: node.getMultiaddrs()[0].toString() })
for await (const line of createInterface({ input: process.stdin })) {
  const [word, arg] = line.trim().split(' ')
  if (word === 'dial') {
    await node.dial(multiaddr(arg))
    say({ dialed: true })
  } else if (word === 'stall') {
    const until = Date.now() + Number(arg)
    while (Date.now() < until) {
      // busy: the event loop turns no more until the stall ends
    }
    say({ stalled: Number(arg) })
  } else if (word === 'connections') {
    say({ open: node.getConnections().filter((c) => c.status === 'open').length })
  }
}
await node.stop()
